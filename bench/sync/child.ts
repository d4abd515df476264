/**
 * The server side of the sync benchmarks, run in a child process of its own
 * (`bench/sync/servers.ts` forks it), so that its event loop, heap and
 * garbage collections are not shared with the clients it serves.
 *
 * `argv[2]` picks the peer:
 *
 * - `datsync`: `createSyncCore` (the log, sessions and hooks `createServer`
 *   uses) on in-memory storage with `allowAll` permissions, behind a `ws`
 *   WebSocketServer wired exactly as `createServer` wires it (see
 *   src/server/server.ts), with a transport that also traces the fan-out.
 * - `yjs`: `YRoom` (src/server/yjs-room.ts), the plain y-websocket protocol
 *   room, behind a `ws` WebSocketServer.
 *
 * Tracing, between `trace-start` and `trace-stop`. datsync: for every
 * transaction, from the arrival of the frame that pushed it (before
 * decoding) to the moment the last session handed a records frame covering
 * its log position to its socket; and the same counting only the sessions
 * that had window credit when the transaction became durable (a session
 * whose client has not credited its last batches waits on that client, not
 * on the server). Yjs: the time the room's `receive` takes for a document
 * update, which applies it and sends it to every member within that call.
 * Each sample carries the `task/order` value the write set (the epoch
 * milliseconds at which the benchmark wrote it), read after the run, so the
 * parent picks the writes of its measured window by when they were written,
 * however late a busy server got to them; and the epoch milliseconds at
 * which the server was done with it. Nothing in src/ changes: arrival is
 * stamped in the WebSocket handler, a transaction is tied to it through a
 * wrapper around the log's `submit` (called synchronously while the frame is
 * handled), credits are counted from the first byte of incoming frames, and
 * coverage is read from the first bytes of each records frame sent.
 *
 * Messages (IPC): the parent sends `{ kind: 'gc' | 'trace-start' |
 * 'trace-stop' | 'count' | 'stop' }` and the child answers each; it first
 * sends `{ kind: 'ready', port }`. It exits when the parent goes away.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { Session as InspectorSession } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as decoding from 'lib0/decoding';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import type { Transaction } from '../../crdt/index.js';
import { Decoder, transactionId } from '../../crdt/index.js';
import type { SyncCore } from '../../src/server/core.js';
import { createSyncCore } from '../../src/server/core.js';
import { allowAll } from '../../src/server/permissions.js';
import type { ConnectionInfo, Transport } from '../../src/server/transport.js';
import type { RoomSocket } from '../../src/server/yjs-room.js';
import { YRoom } from '../../src/server/yjs-room.js';
import { MemoryStorage } from '../../storage/memory.js';
import { collectGarbage } from '../harness.js';
import { SCHEMA } from './workload.js';

/** What the parent asks. */
export type ChildRequest =
  | { readonly kind: 'gc' }
  | { readonly kind: 'trace-start' }
  | { readonly kind: 'trace-stop' }
  | { readonly kind: 'count' }
  | { readonly kind: 'stop' };

/** The traced writes, one entry each, in the order the server finished them. */
export interface Traces {
  /** The `task/order` value the write set: epoch ms when it was written (NaN if it set none). */
  readonly stamps: readonly number[];
  /** datsync: push arrival to the last session's send; Yjs: the room's `receive`; ms. */
  readonly fanOutMs: readonly number[];
  /** datsync: push arrival to the last send among sessions that had window credit; Yjs: as `fanOutMs`. */
  readonly readyFanOutMs: readonly number[];
  /** Epoch ms when the server was done with it (the last send counted in `readyFanOutMs`). */
  readonly doneAt: readonly number[];
  readonly connections: number;
  /** Traced transactions some session had still not been sent after waiting for them. */
  readonly unfinished: number;
}

/** What the child answers. */
export type ChildReply =
  | { readonly kind: 'ready'; readonly port: number }
  | { readonly kind: 'gc' }
  | { readonly kind: 'trace-start' }
  | ({ readonly kind: 'trace-stop' } & Traces)
  /** datsync: the log head; Yjs: the attribute values the document holds. */
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'stop' };

const RECORDS_TAG = 65;
const CREDIT_TAG = 3;
/** The window of unacknowledged records batches a session keeps (`WINDOW` in src/server/session.ts). */
const WINDOW = 4;
const ORDER = 'task/order';
const EPOCH_2020 = Date.UTC(2020, 0, 1);

function reply(message: ChildReply): void {
  process.send?.(message);
}

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Reads `batch`, `head` and `through` from a records frame: the last position it covers. */
function recordsThrough(frame: Uint8Array): number | undefined {
  if (frame[0] !== RECORDS_TAG) return undefined;
  const decoder = new Decoder(frame.subarray(1));
  decoder.varUint(); // batch
  decoder.varUint(); // head
  return decoder.varUint();
}

function stampOfTransaction(tx: Transaction): number {
  for (const op of tx.ops) if (op.attribute === ORDER && typeof op.value === 'number') return op.value;
  return Number.NaN;
}

/**
 * The `task/order` value a y-websocket update message sets, read after the
 * run. An overwrite is encoded relative to the value it replaces, without
 * its key, so the stamp is recognised as the value that is an epoch time in
 * milliseconds (the other values the benchmark writes are small numbers and
 * strings).
 */
function stampOfUpdate(message: Uint8Array): number {
  const decoder = decoding.createDecoder(message);
  decoding.readVarUint(decoder); // sync message
  decoding.readVarUint(decoder); // update
  for (const struct of Y.decodeUpdate(decoding.readVarUint8Array(decoder)).structs) {
    if (!(struct instanceof Y.Item)) continue;
    const value = (struct.content as { arr?: unknown[] }).arr?.[0];
    if (typeof value === 'number' && value > EPOCH_2020) return value;
  }
  return Number.NaN;
}

/** A transaction being traced, from its durability until every session has sent it. */
interface Traced {
  readonly tx: Transaction;
  readonly arrived: number;
  /** Sessions connected when it became durable, and how many have sent it. */
  readonly need: number;
  covered: number;
  /** Which of them had window credit then (by transport index), how many, and how many of those have sent it. */
  readonly ready: Uint8Array;
  readonly readyNeed: number;
  readyCovered: number;
  readyMs: number;
  readyAt: number;
}

class FanOutTrace {
  tracing = false;
  /** Arrival time of the frame being handled, while it is handled. */
  arrival = 0;
  readonly transports = new Set<TracingTransport>();
  private nextIndex = 0;
  private readonly arrivals = new Map<string, number>();
  private readonly pending = new Map<number, Traced>();
  private readonly done: Traced[] = [];
  private readonly fanOut: number[] = [];

  index(): number {
    return this.nextIndex++;
  }

  /** Traced transactions not yet sent to every session (or not yet durable). */
  get unfinished(): number {
    return this.pending.size + this.arrivals.size;
  }

  submitted(tx: Transaction): void {
    if (this.tracing) this.arrivals.set(transactionId(tx), this.arrival);
  }

  appended(position: number, tx: Transaction): void {
    const id = transactionId(tx);
    const arrived = this.arrivals.get(id);
    if (arrived === undefined) return;
    this.arrivals.delete(id);
    const ready = new Uint8Array(this.nextIndex);
    let readyNeed = 0;
    for (const transport of this.transports) {
      if (transport.outstanding >= WINDOW) continue;
      ready[transport.index] = 1;
      readyNeed++;
    }
    const item: Traced = { tx, arrived, need: this.transports.size, covered: 0, ready, readyNeed, readyCovered: 0, readyMs: 0, readyAt: 0 };
    if (readyNeed === 0) {
      item.readyMs = performance.now() - arrived;
      item.readyAt = epochNow();
    }
    this.pending.set(position, item);
  }

  /** Session `index` sent a frame covering (`from`, `through`]. */
  sent(index: number, from: number, through: number): void {
    if (this.pending.size === 0) return;
    const at = performance.now();
    for (let position = from + 1; position <= through; position++) {
      const item = this.pending.get(position);
      if (item === undefined) continue;
      if (item.ready[index] === 1 && ++item.readyCovered === item.readyNeed) {
        item.readyMs = at - item.arrived;
        item.readyAt = epochNow();
      }
      if (++item.covered >= item.need) {
        this.pending.delete(position);
        this.done.push(item);
        this.fanOut.push(at - item.arrived);
      }
    }
  }

  start(): void {
    this.tracing = true;
    this.done.length = 0;
    this.fanOut.length = 0;
  }

  stop(): Omit<Traces, 'connections' | 'unfinished'> {
    this.tracing = false;
    this.arrivals.clear();
    this.pending.clear();
    const done = this.done.splice(0, this.done.length);
    return {
      stamps: done.map((item) => stampOfTransaction(item.tx)),
      fanOutMs: this.fanOut.splice(0, this.fanOut.length),
      readyFanOutMs: done.map((item) => item.readyMs),
      doneAt: done.map((item) => item.readyAt),
    };
  }
}

class TracingTransport implements Transport {
  private readonly socket: WebSocket;
  private readonly trace: FanOutTrace;
  readonly index: number;
  /** Last position a records frame covered. */
  private covered = 0;
  /** Records frames sent and not yet credited. */
  outstanding = 0;

  constructor(socket: WebSocket, trace: FanOutTrace) {
    this.socket = socket;
    this.trace = trace;
    this.index = trace.index();
  }

  send(frame: Uint8Array): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
    const through = recordsThrough(frame);
    if (through === undefined) return;
    this.outstanding++;
    if (this.trace.tracing) this.trace.sent(this.index, this.covered, through);
    this.covered = through;
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
}

function connectionInfo(request: IncomingMessage): ConnectionInfo {
  const url = new URL(request.url ?? '/', 'http://localhost');
  return { remoteAddress: request.socket.remoteAddress, headers: request.headers, urlToken: url.searchParams.get('token') };
}

interface Peer {
  readonly wss: WebSocketServer;
  traceStart(): void;
  /** Waits (up to a bound) for every traced transaction to be sent to every session, then stops. */
  traceStop(): Promise<Traces>;
  count(): number;
  close(): Promise<void>;
}

async function datsyncPeer(): Promise<Peer> {
  // Everyone reads and writes everything: sessions stream the log itself, as for an app without read rules.
  const core: SyncCore<unknown> = await createSyncCore<unknown>({ schema: SCHEMA, storage: new MemoryStorage(), permissions: allowAll });
  const trace = new FanOutTrace();
  const log = core.log;
  const submit = log.submit.bind(log);
  log.submit = (identity, tx) => {
    trace.submitted(tx);
    return submit(identity, tx);
  };
  // Registered before any session's listener: a record is known here before a session can send it.
  log.events.on('appended', (appended) => {
    if (trace.tracing) for (const { record } of appended) trace.appended(record.position, record.tx);
  });
  // As in createServer: no server of its own, upgrades handed over, binary frames as node Buffers.
  const wss = new WebSocketServer({ noServer: true, maxPayload: core.limits.maxFrameBytes });
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const transport = new TracingTransport(socket, trace);
    trace.transports.add(transport);
    const connection = core.connect(transport, connectionInfo(request));
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      trace.arrival = performance.now();
      if (data[0] === CREDIT_TAG) transport.outstanding--;
      if (!isBinary) connection.text();
      else connection.frame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    socket.on('close', () => {
      trace.transports.delete(transport);
      connection.closed();
    });
    socket.on('error', () => undefined);
  });
  return {
    wss,
    traceStart: () => trace.start(),
    traceStop: async () => {
      const deadline = performance.now() + 10_000;
      while (trace.unfinished > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const unfinished = trace.unfinished;
      return { ...trace.stop(), connections: core.connections, unfinished };
    },
    count: () => log.head,
    close: () => core.close(),
  };
}

/** The values a document holds: every attribute of every entity map. */
function yjsDatoms(doc: Y.Doc): number {
  let n = 0;
  for (const entity of doc.getMap<Y.Map<unknown>>('entities').values()) n += entity.size;
  return n;
}

async function yjsPeer(): Promise<Peer> {
  const room = new YRoom(new Y.Doc(), { maxMessageBytes: 64 * 1024 * 1024 });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  let tracing = false;
  const messages: Uint8Array[] = [];
  const times: number[] = [];
  const doneAt: number[] = [];
  wss.on('connection', (ws: WebSocket) => {
    const socket: RoomSocket = {
      send: (data) => {
        if (ws.readyState === ws.OPEN) ws.send(data);
      },
      close: (code, reason) => ws.close(code, reason),
    };
    room.join(socket, false);
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      const message = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      // A document update (sync message, kind 2) is applied and broadcast within receive.
      if (!tracing || message[0] !== 0 || message[1] !== 2) {
        room.receive(socket, message);
        return;
      }
      const start = performance.now();
      room.receive(socket, message);
      times.push(performance.now() - start);
      doneAt.push(epochNow());
      messages.push(message);
    });
    ws.on('close', () => room.leave(socket));
    ws.on('error', () => undefined);
  });
  return {
    wss,
    traceStart: () => {
      tracing = true;
      messages.length = 0;
      times.length = 0;
      doneAt.length = 0;
    },
    traceStop: async () => {
      tracing = false;
      const fanOutMs = times.splice(0, times.length);
      return {
        stamps: messages.splice(0, messages.length).map(stampOfUpdate),
        fanOutMs,
        readyFanOutMs: fanOutMs,
        doneAt: doneAt.splice(0, doneAt.length),
        connections: room.size,
        unfinished: 0,
      };
    },
    count: () => yjsDatoms(room.doc),
    close: async () => {
      room.closeAll(1001, 'server shutting down');
      room.destroy();
    },
  };
}

/**
 * With `DATSYNC_BENCH_PROFILE=<directory>` in the environment, the server
 * records a CPU profile of each traced window there (`<peer>-<pid>-<n>.cpuprofile`,
 * for Chrome DevTools): where the server's time goes under the load.
 */
function traceProfiler(kind: string): { start(): Promise<void>; stop(): Promise<void> } {
  const directory = process.env.DATSYNC_BENCH_PROFILE;
  if (directory === undefined || directory === '') return { start: async () => undefined, stop: async () => undefined };
  const session = new InspectorSession();
  session.connect();
  let n = 0;
  return {
    start: async () => {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    },
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, `${kind}-${process.pid}-${++n}.cpuprofile`), JSON.stringify(profile));
    },
  };
}

async function main(): Promise<void> {
  const kind = process.argv[2] ?? '';
  const peer = kind === 'datsync' ? await datsyncPeer() : kind === 'yjs' ? await yjsPeer() : undefined;
  if (peer === undefined) throw new Error(`unknown peer ${kind}`);
  const http = createHttpServer((_request, response) => {
    response.writeHead(404).end();
  });
  http.on('upgrade', (request, socket, head) => {
    peer.wss.handleUpgrade(request, socket, head, (ws) => peer.wss.emit('connection', ws, request));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const profiler = traceProfiler(kind);
  process.on('message', (request: ChildRequest) => {
    switch (request.kind) {
      case 'gc':
        collectGarbage();
        reply({ kind: 'gc' });
        return;
      case 'trace-start':
        peer.traceStart();
        void profiler.start().then(() => reply({ kind: 'trace-start' }));
        return;
      case 'trace-stop':
        void peer.traceStop().then(async (traces) => {
          await profiler.stop();
          reply({ kind: 'trace-stop', ...traces });
        });
        return;
      case 'count':
        reply({ kind: 'count', count: peer.count() });
        return;
      case 'stop':
        void peer.close().then(() => {
          peer.wss.close();
          http.close();
          reply({ kind: 'stop' });
          process.disconnect();
        });
        return;
      default:
        request satisfies never;
    }
  });
  // The parent went away (it failed, or was interrupted): so does the server.
  process.on('disconnect', () => process.exit(0));
  reply({ kind: 'ready', port: (http.address() as AddressInfo).port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
