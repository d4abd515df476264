/**
 * Bare protocol clients for the PostgreSQL benchmark: light enough that a
 * few dozen in the benchmark's process do not become what is measured.
 * Each says hello, takes the log stream (sending a credit per batch, as a
 * client must), and pushes transactions minted beforehand.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { Attr, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
import { HybridClock, LocalAuthor, mintReplicaId, OpKind, ReplicaState, transactionId } from '../../crdt/index.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { decodeServerMessage, encodeClientMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import type { SchemaInput } from '../../src/schema.js';
import { compileSchema } from '../../src/schema.js';

export const SCHEMA: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/status': { ':db/valueType': ':db.type/string' },
};

const specs = compileSchema(SCHEMA).specs;

/** A new replica and `count` transactions of it, each creating a task (two ops). */
export function mint(count: number, random: () => number): { replica: ReplicaId; txs: Transaction[] } {
  const bytes = new Uint8Array(16).map(() => Math.floor(random() * 256));
  const replica = mintReplicaId(bytes);
  const author = new LocalAuthor(replica, 0, new HybridClock());
  const state = new ReplicaState(specs);
  const txs: Transaction[] = [];
  for (let i = 0; i < count; i++) {
    const entity = author.newEntityId(0);
    const tx = author.author(
      [
        { entity, attribute: 'task/title' as Attr, kind: OpKind.Assert, value: `task ${i} of ${replica}` },
        { entity, attribute: 'task/status' as Attr, kind: OpKind.Assert, value: 'open' },
      ],
      state,
      specs,
      Date.now(),
    );
    if (tx === null) throw new Error('minted nothing');
    txs.push(tx);
  }
  return { replica, txs };
}

export interface WireEvents {
  /** Our own transactions the server accepted (by id). */
  acked?(ids: readonly TxId[]): void;
  /** Others' transactions received, with the time they arrived. */
  received?(ids: readonly TxId[], at: number): void;
}

export class Wire {
  private readonly socket: WebSocket;
  rejected = 0;

  private constructor(socket: WebSocket) {
    this.socket = socket;
  }

  /** Connects as `replica` and resolves once welcomed. */
  static open(url: string, replica: ReplicaId, events: WireEvents): Promise<Wire> {
    const socket = new WebSocket(url);
    socket.binaryType = 'nodebuffer';
    const wire = new Wire(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => {
        socket.send(
          encodeClientMessage({
            type: 'hello',
            version: PROTOCOL_VERSION,
            replicaId: replica,
            logId: null,
            position: 0,
            issuedUpTo: 0,
            schemaFingerprint: '',
            token: null,
            scopes: null,
          }),
        );
      });
      socket.on('message', (data: Buffer) => {
        const at = performance.now();
        const message: ServerMessage = decodeServerMessage(new Uint8Array(data), replica);
        if (message.type === 'welcome') resolve(wire);
        else if (message.type === 'reject') wire.rejected++;
        else if (message.type === 'records') {
          const own: TxId[] = [];
          const others: TxId[] = [];
          for (const entry of message.entries) {
            if ('own' in entry) own.push(entry.own);
            else others.push(transactionId(entry.tx));
          }
          socket.send(encodeClientMessage({ type: 'credit', batch: message.batch }));
          if (own.length > 0) events.acked?.(own);
          if (others.length > 0) events.received?.(others, at);
        }
      });
    });
  }

  push(txs: readonly Transaction[]): void {
    this.socket.send(encodeClientMessage({ type: 'push', txs }));
  }

  close(): void {
    this.socket.close();
  }
}
