/**
 * The client's connection to the server: handshake, catch-up, live updates,
 * pushing the outbox, and reconnecting with exponential backoff and jitter.
 *
 * Status: `offline` → `connecting` → `catching-up` → `live`, and back to
 * `offline` when the socket closes (then a reconnect is scheduled). Messages
 * are handled one at a time, in order, each persisted before the next.
 *
 * @module
 */
import type { Attr, AttributeSpecs, EntityId, ReplicaId, Slot, Transaction, TxId } from '../../crdt/index.js';
import { DatsyncError, decodeRegisters, ErrorCode, lastCounter, transactionDigest, transactionId } from '../../crdt/index.js';
import type { LogRecord } from '../../storage/contract.js';
import type { ProtocolLimits, ServerMessage } from '../protocol/index.js';
import {
  CloseCode,
  DEFAULT_LIMITS,
  decodeServerMessage,
  encodeClientMessage,
  firstFrame,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  payloadCap,
  surelyFits,
  unsendable,
} from '../protocol/index.js';
import { backoffDelay } from './backoff.js';

export type ConnectionStatus = 'offline' | 'connecting' | 'catching-up' | 'live';

/** The part of the WebSocket API the connection uses (the browser's, or `ws` in Node). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/**
 * What `new WebSocket(url)` must give: the browser's WebSocket and the `ws`
 * package's both fit (their event types differ, hence `unknown` handlers here).
 */
export interface SocketShape {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: unknown;
  onmessage: unknown;
  onclose: unknown;
  onerror: unknown;
}

/**
 * The third argument is for the `ws` package (browsers ignore it): it caps
 * the frames the socket takes, as a browser's own limits do.
 */
export type SocketFactory = new (url: string, protocols?: undefined, options?: { readonly maxPayload: number }) => SocketShape;

export interface Scheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export interface SyncOptions {
  readonly url: string;
  /**
   * Other endpoints of the same server log (several server nodes on one
   * PostgreSQL log, with no load balancer in front): after a connection is
   * lost or cannot be made, the next one is tried, in turn with `url`.
   */
  readonly failoverUrls?: readonly string[] | undefined;
  /** A token, or a function that returns a fresh one (called at each connect). */
  readonly token?: string | (() => string | Promise<string>) | undefined;
  readonly WebSocket?: SocketFactory | undefined;
  readonly initialBackoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  readonly scheduler?: Scheduler | undefined;
  /**
   * After this long without a word from the server the client pings it, and
   * after twice as long it drops the connection and reconnects: a connection
   * can die without either end being told (a sleeping laptop, a changed
   * network), and would otherwise show `live` while nothing gets through.
   * Default 15 s; 0 turns it off.
   */
  readonly heartbeatMs?: number | undefined;
}

/** What the connection needs of the client. */
export interface SyncHost {
  readonly replicaId: ReplicaId;
  readonly serverPosition: number;
  readonly logId: string | null;
  readonly issuedUpTo: number;
  readonly schemaFingerprint: string;
  readonly specs: AttributeSpecs;
  /** Local transactions the server has not decided, oldest first. */
  outbox(): readonly Transaction[];
  /** Our own transaction by id (tentative or waiting in strong mode). */
  ownTransaction(id: TxId): Transaction | undefined;
  receive(
    records: readonly LogRecord[],
    rejections: ReadonlyArray<{ txId: TxId; code: string; message: string }>,
    through: number,
  ): Promise<void>;
  /** The scopes declared (null: everything this replica may read). */
  scopes(): unknown;
  installSnapshot(position: number, bytes: Uint8Array): Promise<void>;
  replaceRegisters(position: number, entries: ReadonlyArray<readonly [EntityId, Attr, Slot | undefined]>): Promise<void>;
  adoptLog(logId: string): Promise<void>;
  /** The server's clock minus ours; `decided` is the counter up to which the server decided our writes. */
  setClockOffset(offsetMs: number, decided: number): void | Promise<void>;
  now(): number;
  /**
   * Another copy of this replica used `txId` (see `ownRecord`): start over
   * under a new replica id; true when done, and the connection is made again.
   */
  replicaReused?(txId: TxId): Promise<boolean>;
  status(status: ConnectionStatus): void;
  error(error: unknown): void;
}

const OPEN = 1;

/** Where the platform says when the network comes and goes (a browser window or worker). */
interface NetworkEvents {
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}
/** Close codes after which reconnecting cannot help. */
const fatalCodes = new Set<number>([CloseCode.ProtocolVersion, CloseCode.ReplicaReused]);

export const defaultScheduler: Scheduler = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: Math.random,
};

export class SyncConnection {
  private readonly host: SyncHost;
  private readonly options: SyncOptions;
  private readonly scheduler: Scheduler;
  private socket: SocketLike | undefined;
  private current: ConnectionStatus = 'offline';
  private stopped = false;
  private attempts = 0;
  private retry: unknown;
  /** A resend of writes the server could not take for now (its storage failed), and how often that happened in a row. */
  private resend: unknown;
  private resendAttempts = 0;
  private welcomed = false;
  /** The scopes the server last heard from us (by reference: the client replaces the list on each change). */
  private declaredScopes: unknown = null;
  private decided = 0;
  private head = 0;
  private pushedAfterLive = false;
  /** Set when nothing may be pushed before the catch-up is done (see `welcome`). */
  private holding = false;
  private readonly snapshotParts: Uint8Array[] = [];
  private chain: Promise<void> = Promise.resolve();
  private pingId = 0;
  private readonly pongs = new Map<number, (head: number) => void>();
  private readonly pushed = new Set<TxId>();
  private endpointIndex = 0;
  /** When the server was last heard from (client clock), and the pending heartbeat check. */
  private heard = 0;
  private heartbeat: unknown;
  private unwatchNetwork: (() => void) | undefined;
  private frameLimits: ProtocolLimits = DEFAULT_LIMITS;

  constructor(host: SyncHost, options: SyncOptions) {
    this.host = host;
    this.options = options;
    this.scheduler = options.scheduler ?? defaultScheduler;
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** The limits frames must keep to: the server's, as its last welcome stated them (the defaults before any). */
  get limits(): ProtocolLimits {
    return this.frameLimits;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.host.status(status);
  }

  start(): void {
    this.stopped = false;
    this.watchNetwork();
    if (this.socket === undefined && this.retry === undefined) this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.unwatchNetwork?.();
    this.unwatchNetwork = undefined;
    if (this.retry !== undefined) this.scheduler.clearTimeout(this.retry);
    this.retry = undefined;
    this.cancelResend();
    if (this.heartbeat !== undefined) this.scheduler.clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    this.socket?.close(CloseCode.Normal, 'client closed');
    this.socket = undefined;
    this.setStatus('offline');
  }

  /**
   * Follows the browser's online and offline events: a socket whose network
   * went away can stay open and silent for minutes, showing `live` while
   * nothing gets through, so it is dropped at once; and when the network comes
   * back there is no reason to wait out the backoff.
   */
  private watchNetwork(): void {
    const target = globalThis as Partial<NetworkEvents>;
    if (this.unwatchNetwork !== undefined || typeof target.addEventListener !== 'function') return;
    const events = target as NetworkEvents;
    const offline = (): void => {
      const socket = this.socket;
      if (socket === undefined) return;
      this.closed(socket, CloseCode.GoingAway);
      socket.close(CloseCode.Normal, 'network offline');
    };
    const online = (): void => {
      if (this.stopped || this.socket !== undefined) return;
      if (this.retry !== undefined) this.scheduler.clearTimeout(this.retry);
      this.attempts = 0;
      this.connect();
    };
    events.addEventListener('offline', offline);
    events.addEventListener('online', online);
    this.unwatchNetwork = () => {
      events.removeEventListener('offline', offline);
      events.removeEventListener('online', online);
    };
  }

  private connect(): void {
    this.retry = undefined;
    if (this.stopped) return;
    const Socket = this.options.WebSocket ?? (globalThis as { WebSocket?: SocketFactory }).WebSocket;
    if (Socket === undefined) {
      this.host.error(new DatsyncError(ErrorCode.Unavailable, 'no WebSocket implementation: pass one as the WebSocket option'));
      return;
    }
    this.setStatus('connecting');
    this.welcomed = false;
    this.pushedAfterLive = false;
    this.pushed.clear();
    let socket: SocketLike;
    try {
      // Only the event fields used below are touched, with the shapes every WebSocket delivers.
      // The largest frame any server may state, with the margin it keeps itself.
      socket = new Socket(this.endpoint(), undefined, { maxPayload: payloadCap(MAX_FRAME_BYTES) }) as unknown as SocketLike;
    } catch (error) {
      this.host.error(error);
      this.scheduleReconnect();
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.heard = this.host.now();
      this.armHeartbeat(socket);
      void this.hello(socket).catch((error: unknown) => this.host.error(error));
    };
    socket.onmessage = (event) => {
      this.heard = this.host.now();
      const bytes = toBytes(event.data);
      if (bytes === undefined) return;
      this.chain = this.chain.then(() => this.handle(socket, bytes)).catch((error: unknown) => this.failed(socket, error));
    };
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => undefined; // onclose follows
  }

  private async hello(socket: SocketLike): Promise<void> {
    const option = this.options.token;
    const token = typeof option === 'function' ? await option() : (option ?? null);
    if (socket !== this.socket || socket.readyState !== OPEN) return;
    const host = this.host;
    this.declaredScopes = host.scopes();
    this.send(socket, {
      type: 'hello',
      version: PROTOCOL_VERSION,
      replicaId: host.replicaId,
      logId: host.logId,
      position: host.serverPosition,
      issuedUpTo: host.issuedUpTo,
      schemaFingerprint: host.schemaFingerprint,
      token,
      scopes: this.declaredScopes,
    });
  }

  private send(socket: SocketLike, message: Parameters<typeof encodeClientMessage>[0]): void {
    if (socket.readyState === OPEN) socket.send(encodeClientMessage(message));
  }

  private failed(socket: SocketLike, error: unknown): void {
    // Our replica id was reused (see `ownRecord`): reconnecting would meet the same records, so this is the end.
    const reused = error instanceof DatsyncError && error.code === ErrorCode.ReplicaReused;
    if (!reused) this.host.error(error);
    // A message we could not take leaves us unsure of our position: start the connection over.
    // Forget the socket at once: messages already queued behind the failed one would otherwise
    // still be applied, and a later batch would move our position past records we never got.
    if (socket !== this.socket) return;
    this.closed(socket, reused ? CloseCode.ReplicaReused : CloseCode.ProtocolError, reused ? error : undefined);
    socket.close(reused ? CloseCode.Normal : CloseCode.ProtocolError, 'client could not apply a message');
  }

  private armHeartbeat(socket: SocketLike): void {
    const every = this.options.heartbeatMs ?? 15_000;
    if (every <= 0) return;
    if (this.heartbeat !== undefined) this.scheduler.clearTimeout(this.heartbeat);
    this.heartbeat = this.scheduler.setTimeout(() => {
      this.heartbeat = undefined;
      if (socket !== this.socket) return;
      const silent = this.host.now() - this.heard;
      if (silent >= 2 * every) {
        // No answer to a ping either: the connection is dead, whatever the socket says.
        this.closed(socket, CloseCode.GoingAway);
        socket.close(CloseCode.Normal, 'no word from the server');
        return;
      }
      if (silent >= every) this.send(socket, { type: 'ping', id: ++this.pingId });
      this.armHeartbeat(socket);
    }, every);
  }

  /** `error` says why, when this side decided the close is for good. */
  private closed(socket: SocketLike, code: number, error?: DatsyncError): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (this.heartbeat !== undefined) this.scheduler.clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    this.welcomed = false;
    this.cancelResend();
    this.setStatus('offline');
    for (const [, resolve] of this.pongs) resolve(-1);
    this.pongs.clear();
    if (this.stopped) return;
    const reused = error?.code === ErrorCode.ReplicaReused ? error.details?.tx : undefined;
    const startOver = this.host.replicaReused;
    if (typeof reused === 'string' && startOver !== undefined) {
      void startOver(reused as TxId).then(
        (done) => {
          if (!done) this.host.error(error);
          else if (!this.stopped && this.socket === undefined && this.retry === undefined) {
            this.attempts = 0;
            this.connect();
          }
        },
        (failure: unknown) => this.host.error(failure),
      );
      return;
    }
    if (fatalCodes.has(code)) {
      this.host.error(
        error ??
          new DatsyncError(
            code === CloseCode.ProtocolVersion ? ErrorCode.ProtocolVersion : ErrorCode.ReplicaReused,
            `the server closed the connection for good (${code})`,
          ),
      );
      return;
    }
    this.scheduleReconnect();
  }

  /** The URL to connect to now: `url`, or after failures the failover endpoints in turn. */
  private endpoint(): string {
    const all = [this.options.url, ...(this.options.failoverUrls ?? [])];
    return all[this.endpointIndex % all.length] ?? this.options.url;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry !== undefined) return;
    this.endpointIndex++;
    const delay = backoffDelay(this.attempts, this.options, () => this.scheduler.random());
    this.attempts = Math.min(this.attempts + 1, 30);
    this.retry = this.scheduler.setTimeout(() => this.connect(), delay);
  }

  private async handle(socket: SocketLike, bytes: Uint8Array): Promise<void> {
    if (socket !== this.socket) return;
    const message: ServerMessage = decodeServerMessage(bytes, this.host.replicaId, this.welcomed ? this.frameLimits : DEFAULT_LIMITS);
    switch (message.type) {
      case 'welcome':
        await this.welcome(socket, message);
        return;
      case 'records': {
        const records: LogRecord[] = [];
        for (const entry of message.entries) {
          if ('tx' in entry) {
            records.push({ position: entry.position, tx: entry.tx });
            continue;
          }
          // Held already (it would be skipped): nothing to check it against.
          if (entry.position <= this.host.serverPosition) continue;
          const tx = this.ownRecord(entry.own, entry.digest);
          // What the server lets this replica keep of its own transaction (all of it, unless filtered).
          const hidden = new Set(entry.hidden ?? []);
          records.push({
            position: entry.position,
            tx: hidden.size === 0 ? tx : { ...tx, ops: tx.ops.filter((op) => !hidden.has(op.offset)) },
          });
        }
        await this.host.receive(records, [], message.through);
        if (message.entries.some((entry) => 'own' in entry)) this.resendAttempts = 0;
        this.send(socket, { type: 'credit', batch: message.batch });
        this.head = Math.max(this.head, message.head);
        if (this.host.serverPosition >= this.head) this.becameLive(socket);
        return;
      }
      case 'reject': {
        // A refusal for now (the server's storage failed, it is shutting down, a rate limit) decides
        // nothing: the write stays pending, and goes again after a backoff.
        const error = new DatsyncError(message.error.code, message.error.message);
        if (error.retry) {
          this.host.error(error);
          this.resendLater(socket, message.txId);
          return;
        }
        await this.host.receive(
          [],
          [{ txId: message.txId, code: message.error.code, message: message.error.message }],
          this.host.serverPosition,
        );
        return;
      }
      case 'error':
        // Expired credentials: ask for fresh ones and go on (the server holds our pushes back meanwhile).
        if (!message.fatal && message.error.code === ErrorCode.Unauthenticated && typeof this.options.token === 'function') {
          const token = await this.options.token();
          this.send(socket, { type: 'auth', token });
          return;
        }
        this.host.error(new DatsyncError(message.error.code, message.error.message));
        return;
      case 'pong': {
        this.head = Math.max(this.head, message.head);
        this.pongs.get(message.id)?.(message.head);
        this.pongs.delete(message.id);
        return;
      }
      case 'snapshot': {
        this.snapshotParts.push(message.part);
        if (message.final) {
          const parts = this.snapshotParts.splice(0, this.snapshotParts.length);
          const bytes = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
          let at = 0;
          for (const part of parts) {
            bytes.set(part, at);
            at += part.length;
          }
          await this.host.installSnapshot(message.position, bytes);
        }
        this.send(socket, { type: 'credit', batch: message.batch });
        if (message.final && this.host.serverPosition >= this.head) this.becameLive(socket);
        return;
      }
      case 'registers': {
        const { registers } = decodeRegisters(message.state, this.host.specs);
        await this.host.replaceRegisters(message.position, registers);
        this.send(socket, { type: 'credit', batch: message.batch });
        return;
      }
      case 'evict':
        await this.host.replaceRegisters(
          message.position,
          message.pairs.map(([entity, attribute]) => [entity, attribute, undefined] as const),
        );
        this.send(socket, { type: 'credit', batch: message.batch });
        return;
      default:
        message satisfies never;
    }
  }

  /**
   * Our transaction the server acknowledged by id, checked against the
   * fingerprint it sent. Another transaction under that id, or none, means
   * another copy of this replica (a restored backup, copied storage) issued
   * the same counters: taken as ours, the acknowledgement would show our write
   * as confirmed while the server and every other replica hold the other one.
   * Nothing of the batch is applied; the replica stops syncing with
   * `replica-reused`, its writes kept pending (see docs/client.md).
   */
  private ownRecord(id: TxId, digest: number): Transaction {
    const tx = this.host.ownTransaction(id);
    if (tx !== undefined && transactionDigest(tx) === digest) return tx;
    throw new DatsyncError(
      ErrorCode.ReplicaReused,
      'the server holds another transaction under an id this replica issued: its storage was restored or copied; start a new replica',
      { tx: id },
    );
  }

  private async welcome(socket: SocketLike, message: Extract<ServerMessage, { type: 'welcome' }>): Promise<void> {
    this.frameLimits = { ...DEFAULT_LIMITS, ...message.limits };
    if (this.host.logId !== message.logId) await this.host.adoptLog(message.logId);
    // Half a round trip is unknown; the server's clock is what the drift check uses.
    await this.host.setClockOffset(message.serverTime - this.host.now(), message.decided);
    this.attempts = 0;
    this.welcomed = true;
    // A welcome (again, after renewed credentials) means: send what is undecided, whatever was sent before.
    this.pushed.clear();
    this.decided = message.decided;
    this.head = message.head;
    this.setStatus(this.host.serverPosition >= message.head ? 'live' : 'catching-up');
    // What the server has not decided goes now; what it decided comes back in the catch-up. Unless some of
    // ours are among what it decided: then nothing goes before the catch-up has shown them to be ours (a copy
    // of this replica may have issued those ids; see `ownRecord`), nor before they go again (see `becameLive`).
    const outbox = this.host.outbox();
    const replica = this.host.replicaId;
    this.holding = outbox.some((tx) => tx.replica === replica && tx.counter <= this.decided);
    if (!this.holding) this.push(outbox.filter((tx) => tx.counter > this.decided));
    // Scopes changed while the hello was on its way go now, before anything else is decided for them.
    if (this.host.scopes() !== this.declaredScopes) this.sendScopes(this.host.scopes());
    if (this.current === 'live') this.becameLive(socket);
  }

  private becameLive(socket: SocketLike): void {
    this.setStatus('live');
    if (this.pushedAfterLive || socket !== this.socket) return;
    this.pushedAfterLive = true;
    this.holding = false;
    // Still pending though decided: its rejection was lost. Sending it again brings the answer back
    // (the server compares it with what it decided under that id), ahead of anything held back at welcome.
    const outbox = this.host.outbox();
    this.push([...outbox.filter((tx) => lastCounter(tx) <= this.decided), ...outbox.filter((tx) => lastCounter(tx) > this.decided)]);
  }

  /** Sends `txId` again after a growing delay (with everything else the server refused for now meanwhile). */
  private resendLater(socket: SocketLike, txId: TxId): void {
    this.pushed.delete(txId);
    if (this.resend !== undefined) return;
    const delay = backoffDelay(this.resendAttempts, this.options, () => this.scheduler.random());
    this.resendAttempts = Math.min(this.resendAttempts + 1, 30);
    this.resend = this.scheduler.setTimeout(() => {
      this.resend = undefined;
      // A reconnect sends everything undecided anyway.
      if (socket === this.socket) this.push(this.host.outbox());
    }, delay);
  }

  private cancelResend(): void {
    if (this.resend !== undefined) this.scheduler.clearTimeout(this.resend);
    this.resend = undefined;
  }

  /**
   * Sends transactions the server has not seen on this connection, in
   * frames cut by encoded size to the server's limit. A transaction that
   * cannot fit in a frame of its own (written while the server's limit was
   * not known) could never be sent: it is refused here, as the server would.
   */
  push(txs: readonly Transaction[]): void {
    const socket = this.socket;
    // Held: a write made now could be written again under a new id if this replica turns out a copy (see `ownRecord`).
    if (socket === undefined || !this.welcomed || this.holding) return;
    const limits = this.frameLimits;
    const refused: Array<{ txId: TxId; code: string; message: string }> = [];
    const refuse = (tx: Transaction, error: DatsyncError): void => {
      // Marked as sent: a push before the refusal is taken must not refuse it twice.
      this.pushed.add(transactionId(tx));
      refused.push({ txId: transactionId(tx), code: error.code, message: error.message });
    };
    let fresh: Transaction[] = [];
    for (const tx of txs) {
      if (this.pushed.has(transactionId(tx))) continue;
      // One transaction over the op limit would get the whole push refused as malformed.
      const error = tx.ops.length > limits.maxOpsPerTransaction ? unsendable(tx, limits) : undefined;
      if (error === undefined) fresh.push(tx);
      else refuse(tx, error);
    }
    while (fresh.length > 0) {
      const { count, frame } = firstFrame(
        fresh,
        limits.maxPushTransactions,
        (bytes) => surelyFits(bytes.length, limits),
        (chunk) => encodeClientMessage({ type: 'push', txs: chunk }),
      );
      const chunk = fresh.slice(0, count);
      fresh = fresh.slice(count);
      // Not clearly within the limit: then it is one transaction, sent if it fits after all.
      const only = chunk[0];
      const error = surelyFits(frame.length, limits) || only === undefined ? undefined : unsendable(only, limits);
      if (only !== undefined && error !== undefined) {
        refuse(only, error);
        continue;
      }
      for (const tx of chunk) this.pushed.add(transactionId(tx));
      if (socket.readyState === OPEN) socket.send(frame);
    }
    if (refused.length === 0) return;
    this.chain = this.chain
      .then(() => this.host.receive([], refused, this.host.serverPosition))
      .catch((error: unknown) => this.host.error(error));
  }

  /** Declares the scopes (the full list) to the server, when connected; hello carries them otherwise. */
  sendScopes(scopes: unknown): void {
    const socket = this.socket;
    if (socket === undefined || !this.welcomed) return;
    this.declaredScopes = scopes;
    this.send(socket, { type: 'scopes', scopes });
  }

  /** The server's log head, asked for now (rejects when offline). */
  askHead(): Promise<number> {
    const socket = this.socket;
    if (socket === undefined || !this.welcomed) return Promise.reject(new DatsyncError(ErrorCode.Unavailable, 'not connected'));
    const id = ++this.pingId;
    return new Promise((resolve, reject) => {
      this.pongs.set(id, (head) => (head < 0 ? reject(new DatsyncError(ErrorCode.Unavailable, 'connection lost')) : resolve(head)));
      this.send(socket, { type: 'ping', id });
    });
  }
}

/** A WebSocket message as bytes (binary frames only). */
export function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return undefined;
  return undefined;
}
