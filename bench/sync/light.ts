/**
 * Light clients: real WebSocket connections that speak each peer's protocol
 * as far as the server can tell, without a replica behind them. One
 * benchmark process cannot run 100 full clients that each apply 1,000
 * transactions a second (see docs/benchmarks.md, sync (b)), so most of the
 * 100 clients of the propagation benchmark are these.
 *
 * - datsync: says hello, credits every records batch it receives (without
 *   decoding the transactions), and pushes transactions it authors with
 *   `LocalAuthor` against a replica state holding only its own writes, as a
 *   client's outbox would send them.
 * - Yjs: syncs the document once (sync step 1 and 2), then only sends the
 *   updates its own writes produce; updates from others arrive and are
 *   dropped unread.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { WebSocket } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { Attr, EntityId, Value, WriteIntent } from '../../crdt/index.js';
import { Decoder, HybridClock, LocalAuthor, mintReplicaId, OpKind, ReplicaState } from '../../crdt/index.js';
import { encodeClientMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { compileSchema } from '../../src/schema.js';
import { Random } from '../random.js';
import { within } from './time.js';
import { SCHEMA } from './workload.js';
import { ROOM } from './yjs-client.js';

const WELCOME = 64;
const RECORDS = 65;
const compiled = compileSchema(SCHEMA);

function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  socket.binaryType = 'nodebuffer';
  return within(
    60_000,
    new Promise<WebSocket>((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    }),
    'a light client connecting',
  );
}

export class LightDatsync {
  private readonly socket: WebSocket;
  private readonly author: LocalAuthor;
  private readonly view = new ReplicaState(compiled.specs);
  /** The entity this client writes, created by its first write. */
  entity: EntityId | undefined;
  received = 0;

  private constructor(socket: WebSocket, seed: number) {
    this.socket = socket;
    this.author = new LocalAuthor(mintReplicaId(new Random(seed).bytes(16)), 0, new HybridClock());
    socket.on('message', (data: Buffer) => {
      this.received++;
      if (data[0] !== RECORDS) return;
      const batch = new Decoder(data.subarray(1, 10)).varUint();
      socket.send(encodeClientMessage({ type: 'credit', batch }));
    });
  }

  /** Connects and says hello; resolves on the welcome. */
  static async connect(url: string, seed: number): Promise<LightDatsync> {
    const socket = await open(url);
    const client = new LightDatsync(socket, seed);
    const welcomed = new Promise<void>((resolve) => {
      const onMessage = (data: Buffer): void => {
        if (data[0] !== WELCOME) return;
        socket.off('message', onMessage);
        resolve();
      };
      socket.on('message', onMessage);
    });
    socket.send(
      encodeClientMessage({
        type: 'hello',
        version: PROTOCOL_VERSION,
        replicaId: client.author.replica,
        logId: null,
        position: 0,
        issuedUpTo: 0,
        schemaFingerprint: compiled.fingerprint,
        token: null,
        scopes: null,
      }),
    );
    await within(60_000, welcomed, 'a light client welcomed');
    return client;
  }

  /** Writes `values` into its entity (creating it on the first write) and pushes the transaction. */
  write(values: Readonly<Record<string, Value>>): void {
    const entity = this.entity ?? this.author.newEntityId(0);
    const intents: WriteIntent[] = Object.entries(values).map(([attribute, value]) => ({
      entity,
      attribute: attribute as Attr,
      kind: OpKind.Assert,
      value,
    }));
    const tx = this.author.author(intents, this.view, compiled.specs, Date.now());
    if (tx === null) return;
    this.entity = entity;
    this.view.applyTransaction(tx);
    this.socket.send(encodeClientMessage({ type: 'push', txs: [tx] }));
  }

  close(): void {
    this.socket.close();
  }
}

const MESSAGE_SYNC = 0;

export class LightYjs {
  private readonly socket: WebSocket;
  readonly doc = new Y.Doc();
  private listening = true;
  received = 0;

  private constructor(socket: WebSocket, clientId: number) {
    this.socket = socket;
    this.doc.clientID = clientId;
    socket.on('message', (data: Buffer) => {
      this.received++;
      if (!this.listening) return;
      const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, MESSAGE_SYNC);
      syncProtocol.readSyncMessage(decoder, reply, this.doc, this);
      if (encoding.length(reply) > 1) socket.send(encoding.toUint8Array(reply));
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this) return;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeUpdate(encoder, update);
      socket.send(encoding.toUint8Array(encoder));
    });
  }

  /** Connects and asks for the document (sync step 1). */
  static async connect(url: string, clientId: number): Promise<LightYjs> {
    const socket = await open(`${url}/${ROOM}`);
    const client = new LightYjs(socket, clientId);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, client.doc);
    socket.send(encoding.toUint8Array(encoder));
    return client;
  }

  /** Waits until `ready(doc)` holds, then stops reading what the server sends. */
  async settle(ready: (doc: Y.Doc) => boolean): Promise<void> {
    const deadline = performance.now() + 30_000;
    while (!ready(this.doc)) {
      if (performance.now() > deadline) throw new Error('a light Yjs client never received the document');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.listening = false;
  }

  close(): void {
    this.socket.close();
    this.doc.destroy();
  }
}
