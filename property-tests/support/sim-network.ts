/**
 * A simulated network for the sync property tests: no sockets, no real time.
 *
 * Every connection keeps WebSocket's guarantees (each direction delivers in
 * order; a server's close arrives after what it sent before, and its reason
 * may not exceed 123 bytes), and nothing else: which connection delivers
 * next, when a connection dies (dropping what it had in flight), when
 * reconnect timers fire and when the server restarts are all chosen by the
 * test, so fast-check explores schedules a real network rarely produces and
 * shrinks failures to a readable one.
 *
 * A socket dialling a URL under `/drafts/` reaches the server's draft hub
 * (`core.drafts.connect`, as the WebSocket layer wires it), with the URL's
 * `token` as its credentials; any other URL reaches the sync.
 */
import fc from 'fast-check';
import type { Scheduler, SocketFactory, SocketLike } from '../../src/client/sync.js';
import type { SyncCore } from '../../src/server/core.js';

/** The schedule's own steps, shared by every suite on this network: deliver frames, kill a connection, fire the next timer. */
export type NetworkStep =
  | { readonly type: 'deliver'; readonly pick: number; readonly count: number; readonly down: boolean }
  | { readonly type: 'kill'; readonly pick: number }
  | { readonly type: 'tick' };

export const deliverStep: fc.Arbitrary<NetworkStep> = fc.record({
  type: fc.constant('deliver' as const),
  pick: fc.nat(),
  count: fc.integer({ min: 1, max: 6 }),
  down: fc.boolean(),
});
export const killStep: fc.Arbitrary<NetworkStep> = fc.record({ type: fc.constant('kill' as const), pick: fc.nat() });
export const tickStep: fc.Arbitrary<NetworkStep> = fc.record({ type: fc.constant('tick' as const) });

/** The server's end of a connection: what the client sent, and its going. */
interface ServerEnd {
  frame(bytes: Uint8Array): void;
  closed(): void;
}

interface SimConnection {
  readonly id: number;
  readonly url: string;
  readonly socket: SimSocket;
  server: ServerEnd | undefined;
  readonly up: Uint8Array[];
  readonly down: Uint8Array[];
  /** The client has not yet been told the socket opened. */
  opening: boolean;
  open: boolean;
  /** The server closed it: the client learns so once it has what was sent before. */
  closing: { readonly code: number; readonly reason: string } | undefined;
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

  constructor(network: SimNetwork, url: string) {
    this.network = network;
    network.dial(this, url);
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1 || this.connection === undefined || this.connection.closing !== undefined) return;
    this.connection.up.push(data.slice());
  }

  close(code = 1000, reason = ''): void {
    if (this.connection !== undefined) this.network.cut(this.connection, code, reason);
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
      constructor(url: string) {
        super(network, url);
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

  /** Drops a frame a client sends on a connection to `url` when it returns true (to show a property can fail). */
  dropUp: ((url: string, frame: Uint8Array) => boolean) | undefined;

  dial(socket: SimSocket, url: string): void {
    const connection: SimConnection = {
      id: this.nextId++,
      url,
      socket,
      server: undefined,
      up: [],
      down: [],
      opening: true,
      open: true,
      closing: undefined,
    };
    socket.connection = connection;
    this.connections.push(connection);
  }

  /** Closes a connection: both sides learn of it; whatever was in flight is lost. */
  cut(connection: SimConnection, code: number, reason = 'cut'): void {
    if (!connection.open) return;
    connection.open = false;
    connection.up.length = 0;
    connection.down.length = 0;
    connection.server?.closed();
    const socket = connection.socket;
    socket.readyState = 3;
    const index = this.connections.indexOf(connection);
    if (index >= 0) this.connections.splice(index, 1);
    socket.onclose?.({ code, reason });
  }

  /** Connections (and their pending opens or messages) a step may act on. */
  get active(): number {
    return this.connections.length;
  }

  private pending(c: SimConnection): boolean {
    return c.opening || c.closing !== undefined || c.up.length > 0 || c.down.length > 0;
  }

  get busy(): boolean {
    return this.connections.some((c) => this.pending(c));
  }

  /** Delivers one thing on the `pick`-th connection with something to deliver; false if there is none. */
  deliver(pick: number, preferDown: boolean): boolean {
    const ready = this.connections.filter((c) => this.pending(c));
    const connection = ready[pick % Math.max(1, ready.length)];
    if (connection === undefined) return false;
    if (connection.opening) {
      const core = this.core;
      if (core === undefined) {
        this.cut(connection, 1006); // the server is down: the connection fails
        return true;
      }
      connection.opening = false;
      connection.server = this.accept(core, connection);
      connection.socket.readyState = 1;
      connection.socket.onopen?.({});
      return true;
    }
    if (connection.closing !== undefined && connection.down.length === 0) {
      this.cut(connection, connection.closing.code, connection.closing.reason);
      return true;
    }
    const down = connection.down.length > 0 && (preferDown || connection.up.length === 0);
    const frame = down ? connection.down.shift() : connection.up.shift();
    if (frame === undefined) return false;
    if (down) connection.socket.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
    else if (this.dropUp?.(connection.url, frame) !== true) connection.server?.frame(frame);
    return true;
  }

  private accept(core: SyncCore<unknown>, connection: SimConnection): ServerEnd {
    const url = new URL(connection.url);
    const info = { remoteAddress: 'sim', headers: {}, urlToken: url.searchParams.get('token') };
    const send = (frame: Uint8Array): void => {
      if (connection.open) connection.down.push(frame.slice());
    };
    const close = (code: number, reason: string): void => {
      if (new TextEncoder().encode(reason).length > 123) throw new RangeError('The message must not be greater than 123 bytes');
      if (!connection.open || connection.closing !== undefined) return;
      // What the server sent still arrives; what the client sends from now on is not read.
      connection.closing = { code, reason };
      connection.up.length = 0;
      const server = connection.server;
      connection.server = undefined;
      server?.closed();
    };
    const at = url.pathname.indexOf('/drafts/');
    if (at < 0) return core.connect({ send, close, bufferedAmount: 0 }, info);
    const key = decodeURIComponent(url.pathname.slice(at + '/drafts/'.length));
    const draft = core.drafts.connect({ send, close }, info, key, url.searchParams);
    return { frame: (bytes) => draft.message(bytes), closed: () => draft.closed() };
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

  /** Runs one network step of a schedule, letting the promises each delivery settles run. */
  async run(step: NetworkStep): Promise<void> {
    if (step.type === 'kill') this.kill(step.pick);
    else if (step.type === 'tick') this.tick();
    else {
      for (let k = 0; k < step.count; k++) {
        if (!this.deliver(step.pick + k, step.down)) break;
        await drain();
      }
    }
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
