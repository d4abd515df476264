/**
 * A simulated network for the sync property tests: no sockets, no real time.
 *
 * Every connection keeps WebSocket's guarantee (each direction delivers in
 * order), and nothing else: which connection delivers next, when a
 * connection dies (dropping what it had in flight), when reconnect timers
 * fire and when the server restarts are all chosen by the test, so fast-check
 * explores schedules a real network rarely produces and shrinks failures to
 * a readable one.
 */
import type { Scheduler, SocketFactory, SocketLike } from '../../src/client/sync.js';
import type { Connection, SyncCore } from '../../src/server/core.js';

interface SimConnection {
  readonly id: number;
  readonly socket: SimSocket;
  server: Connection | undefined;
  readonly up: Uint8Array[];
  readonly down: Uint8Array[];
  /** The client has not yet been told the socket opened. */
  opening: boolean;
  open: boolean;
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

class SimSocket implements SocketLike {
  binaryType = 'arraybuffer';
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  connection: SimConnection | undefined;
  private readonly network: SimNetwork;

  constructor(network: SimNetwork) {
    this.network = network;
    network.dial(this);
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1 || this.connection === undefined) return;
    this.connection.up.push(data.slice());
  }

  close(code = 1000): void {
    if (this.connection !== undefined) this.network.cut(this.connection, code);
  }
}

export class SimNetwork {
  now = 1_700_000_000_000;
  private core: SyncCore<unknown> | undefined;
  private readonly connections: SimConnection[] = [];
  private timers: Timer[] = [];
  private nextId = 0;
  private seq = 0;
  /** Deterministic randomness for backoff jitter. */
  private seed = 12345;

  /** The WebSocket class clients get: it dials this network. */
  readonly Socket: SocketFactory;
  readonly scheduler: Scheduler;

  constructor() {
    const network = this;
    this.Socket = class extends SimSocket {
      constructor(_url: string) {
        super(network);
      }
    } as unknown as SocketFactory;
    this.scheduler = {
      setTimeout: (run, ms) => {
        const timer: Timer = { at: this.now + Math.max(0, ms), seq: this.seq++, run, cancelled: false };
        this.timers.push(timer);
        return timer;
      },
      clearTimeout: (handle) => {
        (handle as Timer).cancelled = true;
      },
      random: () => {
        this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31;
        return this.seed / 2 ** 31;
      },
    };
  }

  attach(core: SyncCore<unknown> | undefined): void {
    this.core = core;
  }

  dial(socket: SimSocket): void {
    const connection: SimConnection = { id: this.nextId++, socket, server: undefined, up: [], down: [], opening: true, open: true };
    socket.connection = connection;
    this.connections.push(connection);
  }

  /** Closes a connection: both sides learn of it; whatever was in flight is lost. */
  cut(connection: SimConnection, code: number): void {
    if (!connection.open) return;
    connection.open = false;
    connection.up.length = 0;
    connection.down.length = 0;
    connection.server?.closed();
    const socket = connection.socket;
    socket.readyState = 3;
    const index = this.connections.indexOf(connection);
    if (index >= 0) this.connections.splice(index, 1);
    socket.onclose?.({ code, reason: 'cut' });
  }

  /** Connections (and their pending opens or messages) a step may act on. */
  get active(): number {
    return this.connections.length;
  }

  get busy(): boolean {
    return this.connections.some((c) => c.opening || c.up.length > 0 || c.down.length > 0);
  }

  /** Delivers one thing on the `pick`-th connection with something to deliver; false if there is none. */
  deliver(pick: number, preferDown: boolean): boolean {
    const ready = this.connections.filter((c) => c.opening || c.up.length > 0 || c.down.length > 0);
    const connection = ready[pick % Math.max(1, ready.length)];
    if (connection === undefined) return false;
    if (connection.opening) {
      const core = this.core;
      if (core === undefined) {
        this.cut(connection, 1006); // the server is down: the connection fails
        return true;
      }
      connection.opening = false;
      connection.server = core.connect(
        {
          send: (frame) => {
            if (connection.open) connection.down.push(frame.slice());
          },
          close: (code) => this.cut(connection, code),
          bufferedAmount: 0,
        },
        { remoteAddress: 'sim', headers: {}, urlToken: null },
      );
      connection.socket.readyState = 1;
      connection.socket.onopen?.({});
      return true;
    }
    const down = connection.down.length > 0 && (preferDown || connection.up.length === 0);
    const frame = down ? connection.down.shift() : connection.up.shift();
    if (frame === undefined) return false;
    if (down) connection.socket.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
    else connection.server?.frame(frame);
    return true;
  }

  /** Kills the `pick`-th live connection (a dropped network). */
  kill(pick: number): void {
    const connection = this.connections[pick % Math.max(1, this.connections.length)];
    if (connection !== undefined) this.cut(connection, 1006);
  }

  /** The server went away: every connection is cut. */
  cutAll(): void {
    for (const connection of [...this.connections]) this.cut(connection, 1006);
  }

  get hasTimers(): boolean {
    return this.timers.some((t) => !t.cancelled);
  }

  /** Advances the clock to the next timer and runs it. */
  tick(): boolean {
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const timer = this.timers.shift();
    if (timer === undefined) return false;
    this.now = Math.max(this.now, timer.at);
    timer.run();
    return true;
  }
}

/** Lets every promise settled so far run its continuations. */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
