/**
 * A thousand simulated clients on one in-process server: each connects
 * through `SyncCore.connect` with a transport that hands the server's frames
 * straight to it, says hello with its scope, and credits every batch it
 * receives, as the real client does. A client decodes only the headers it
 * needs (tag, batch, coverage, entry count), so the timed window holds the
 * server's work and next to nothing of the clients'.
 *
 * Credits are returned between transactions, outside the timed window: the
 * server never runs short of them, and no client's handling of a frame is
 * counted as the server's time.
 *
 * The server sends a transaction only to the clients it concerns (and its
 * writer); the others learn the new head when they ask for it (`ping`).
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Transaction } from '../../crdt/index.js';
import type { ScopeSpec } from '../../src/client/api.js';
import { encodeClientMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import type { Connection, SyncCore } from '../../src/server/core.js';
import type { Transport } from '../../src/server/transport.js';
import type { User } from './workload.js';
import { COMPILED, replicaOf } from './workload.js';

const Tag = { Welcome: 64, Records: 65, Reject: 66, Error: 67, Pong: 68, Registers: 69, Evict: 70, Snapshot: 71 } as const;

/** Reads an unsigned LEB128 number at `cursor.at` (the protocol's varUint), moving the cursor past it. */
function varUint(bytes: Uint8Array, cursor: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[cursor.at++] ?? 0;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
}

export class SimClient {
  readonly index: number;
  readonly replica: string;
  private connection: Connection | undefined;
  private readonly fleet: Fleet;
  private readonly credits: number[] = [];
  /** Log position the client has been sent records through. */
  through = 0;
  /** Frames carrying data for this client (entries, registers, evictions) since the last reset. */
  content = 0;
  /** When the client was last sent a frame other than a pong (ms, `performance.now`). */
  lastFrameAt = 0;
  welcomed = false;
  failure: string | undefined;

  constructor(fleet: Fleet, index: number, replica: string) {
    this.fleet = fleet;
    this.index = index;
    this.replica = replica;
  }

  connect(core: SyncCore<User>, user: string, scope: ScopeSpec | null): void {
    const transport: Transport = {
      send: (frame) => this.receive(frame),
      close: (code, reason) => {
        this.failure = `closed ${code} ${reason}`;
      },
      bufferedAmount: 0,
    };
    this.connection = core.connect(transport, { remoteAddress: 'sim', headers: {}, urlToken: null });
    this.send(
      encodeClientMessage({
        type: 'hello',
        version: PROTOCOL_VERSION,
        replicaId: this.replica as never,
        logId: null,
        position: 0,
        issuedUpTo: 0,
        schemaFingerprint: COMPILED.fingerprint,
        token: user,
        scopes: scope === null ? null : [scope],
      }),
    );
  }

  send(frame: Uint8Array): void {
    this.connection?.frame(frame);
  }

  private receive(frame: Uint8Array): void {
    const tag = frame[0];
    if (tag === Tag.Welcome) {
      this.welcomed = true;
      return;
    }
    if (tag === Tag.Error || tag === Tag.Reject) {
      this.failure = `server sent message ${tag}`;
      return;
    }
    if (tag === Tag.Pong) return;
    this.lastFrameAt = performance.now();
    const header = { at: 1 };
    this.credits.push(varUint(frame, header));
    if (tag === Tag.Records) {
      varUint(frame, header); // head
      const through = varUint(frame, header);
      if (varUint(frame, header) > 0) this.content++;
      if (through > this.through) {
        this.through = through;
        this.fleet.covered(this, through);
      }
    } else if (tag === Tag.Registers || tag === Tag.Evict) this.content++;
  }

  /** Returns the credits owed; true if there were any. */
  flushCredits(): boolean {
    if (this.credits.length === 0) return false;
    for (const batch of this.credits.splice(0, this.credits.length)) this.send(encodeClientMessage({ type: 'credit', batch }));
    return true;
  }
}

/** Lets pending promise continuations and I/O callbacks run. */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Fleet {
  readonly clients: SimClient[] = [];
  private waiting: { writer: SimClient; position: number; resolve: () => void } | undefined;

  add(core: SyncCore<User>, user: string, scope: ScopeSpec | null, seed: number): SimClient {
    const client = new SimClient(this, this.clients.length, replicaOf(seed));
    this.clients.push(client);
    client.connect(core, user, scope);
    return client;
  }

  /** Returns credits and lets the server answer them until nothing more is owed. */
  async settle(): Promise<void> {
    for (let rounds = 0; rounds < 100_000; rounds++) {
      await drain();
      let owed = false;
      for (const client of this.clients) owed = client.flushCredits() || owed;
      if (!owed) {
        await drain();
        if (!this.clients.some((c) => c.flushCredits())) return;
      }
    }
    throw new Error('the fleet never settled');
  }

  covered(client: SimClient, through: number): void {
    const waiting = this.waiting;
    if (waiting === undefined || client !== waiting.writer || through < waiting.position) return;
    this.waiting = undefined;
    waiting.resolve();
  }

  /**
   * Pushes `tx` from `writer`; resolves with the moment the push frame was
   * handed to the server and the moment the last frame the transaction
   * caused was handed to a client. The server sends them all in one go once
   * the transaction is durable, the writer's acknowledgement among them: by
   * the time the writer has it, so have the others.
   */
  async fanOut(writer: SimClient, tx: Transaction, position: number): Promise<{ start: number; end: number }> {
    for (const client of this.clients) {
      client.content = 0;
      client.lastFrameAt = 0;
    }
    const frame = encodeClientMessage({ type: 'push', txs: [tx] });
    const done = new Promise<void>((resolve) => {
      this.waiting = { writer, position, resolve };
    });
    const start = performance.now();
    writer.send(frame);
    await done;
    return { start, end: Math.max(...this.clients.map((client) => client.lastFrameAt)) };
  }

  /** Every client asks for the head, as `whenSynced` does; resolves once the server has answered them all. */
  async askHead(): Promise<void> {
    for (const client of this.clients) client.send(encodeClientMessage({ type: 'ping', id: 1 }));
    await this.settle();
  }
}
