/**
 * The parent's side of the server child processes (bench/sync/child.ts), and
 * the WebSocket that counts what a client receives.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { SocketFactory } from '../../src/client/sync.js';
import type { ChildReply, ChildRequest, Traces } from './child.js';
import type { FleetReply, FleetRequest } from './fleet.js';
import type { Schedule } from './schedule.js';

export type PeerKind = 'datsync' | 'yjs';

export interface ServerChild {
  readonly kind: PeerKind;
  /** For datsync clients: ws://…/sync; for WebsocketProvider: the server URL (the room name is appended). */
  readonly url: string;
  /** Full collection in the child. */
  gc(): Promise<void>;
  traceStart(): Promise<void>;
  /** The traced writes since `traceStart` (see bench/sync/child.ts). */
  traceStop(): Promise<Traces>;
  /** The child's process id (for its CPU time, see `cpuMs`). */
  readonly pid: number;
  /** datsync: log head; Yjs: attribute values held. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

const childPath = fileURLToPath(new URL('./child.ts', import.meta.url));
const fleetPath = fileURLToPath(new URL('./fleet.ts', import.meta.url));

interface Forked<Reply extends { readonly kind: string }, Request> {
  readonly pid: number;
  ask<K extends Reply['kind']>(kind: K, request?: Request): Promise<Extract<Reply, { kind: K }>>;
  /** Sends `request` and waits for the reply `kind` and for the process to exit. */
  stop(request: Request, kind: Reply['kind']): Promise<void>;
}

/** Forks a module with this process's node flags (tsx's loader and `--expose-gc`), answering one request per reply kind at a time. */
function forkChild<Reply extends { readonly kind: string }, Request>(path: string, args: readonly string[]): Forked<Reply, Request> {
  const child: ChildProcess = fork(path, [...args], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<string, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let exited: Error | undefined;
  child.on('message', (reply: Reply) => {
    const waiter = waiting.get(reply.kind);
    waiting.delete(reply.kind);
    waiter?.resolve(reply);
  });
  child.on('exit', (code) => {
    exited = new Error(`${path} exited with ${code}`);
    for (const waiter of waiting.values()) waiter.reject(exited);
    waiting.clear();
  });
  const ask = <K extends Reply['kind']>(kind: K, request?: Request): Promise<Extract<Reply, { kind: K }>> => {
    if (exited !== undefined) return Promise.reject(exited);
    if (waiting.has(kind)) return Promise.reject(new Error(`a ${kind} request is already waiting`));
    return new Promise((resolve, reject) => {
      waiting.set(kind, { resolve: (reply) => resolve(reply as Extract<Reply, { kind: K }>), reject });
      if (request !== undefined) child.send(request as object);
    });
  };
  return {
    pid: child.pid ?? -1,
    ask,
    stop: async (request, kind) => {
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await ask(kind, request).catch(() => undefined);
      await gone;
    },
  };
}

/** Forks a server child (bench/sync/child.ts) and waits until it listens. */
export async function startServerChild(kind: PeerKind): Promise<ServerChild> {
  const child = forkChild<ChildReply, ChildRequest>(childPath, [kind]);
  const ready = await child.ask('ready');
  const base = `ws://127.0.0.1:${ready.port}`;
  return {
    kind,
    url: kind === 'datsync' ? `${base}/sync` : base,
    gc: async () => {
      await child.ask('gc', { kind: 'gc' });
    },
    traceStart: async () => {
      await child.ask('trace-start', { kind: 'trace-start' });
    },
    traceStop: async () => {
      const { kind: _, ...traces } = await child.ask('trace-stop', { kind: 'trace-stop' });
      return traces;
    },
    pid: child.pid,
    count: async () => (await child.ask('count', { kind: 'count' })).count,
    stop: () => child.stop({ kind: 'stop' }, 'stop'),
  };
}

export interface Fleet {
  readonly pid: number;
  /** Runs the schedule for the fleet's clients; resolves when it has issued its last write. */
  run(schedule: Schedule): Promise<Extract<FleetReply, { kind: 'ran' }>>;
  stop(): Promise<void>;
}

/** Forks the light clients (bench/sync/fleet.ts): `count` of them, writers `first` onwards; resolves once all are connected. */
export async function startFleet(kind: PeerKind, url: string, count: number, first: number): Promise<Fleet> {
  const child = forkChild<FleetReply, FleetRequest>(fleetPath, [kind, url, String(count), String(first)]);
  await child.ask('ready');
  return {
    pid: child.pid,
    run: (schedule) => child.ask('ran', { kind: 'run', schedule }),
    stop: () => child.stop({ kind: 'stop' }, 'stop'),
  };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user and system) a process has used so far, in ms, read from
 * /proc (Linux): unlike asking the process, this works while its event loop
 * is busy. NaN where /proc is missing.
 */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** What one client received from the server. */
export interface Received {
  /** Payload bytes of every frame. */
  frames: number;
  frameCount: number;
  /** Bytes read from the TCP connection: the HTTP upgrade response and WebSocket frame headers too. */
  tcp: number;
}

export function newReceived(): Received {
  return { frames: 0, frameCount: 0, tcp: 0 };
}

/**
 * A `ws` WebSocket class counting into `into` everything the server sends
 * on the connections it opens. Both peers' clients take it (datsync's
 * `WebSocket` option, y-websocket's `WebSocketPolyfill`).
 */
export function countingWebSocket(into: () => Received): SocketFactory & typeof WebSocket {
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      const counts = into();
      let tcp: Socket | undefined;
      let counted = 0;
      this.on('upgrade', (response: IncomingMessage) => {
        tcp = response.socket;
      });
      const settle = (): void => {
        const read = tcp?.bytesRead ?? 0;
        counts.tcp += read - counted;
        counted = read;
      };
      this.on('message', (data: ArrayBuffer | Buffer) => {
        counts.frames += data.byteLength;
        counts.frameCount++;
        settle();
      });
      this.on('close', settle);
    }
  }
  return CountingWebSocket as unknown as SocketFactory & typeof WebSocket;
}
