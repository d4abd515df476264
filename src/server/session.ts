/**
 * One client connection: the handshake, then pushes in and the stream out.
 *
 * The stream has two forms. A client that may read everything and declared
 * no scopes is sent the log itself, catch-up and live alike, read page by
 * page from the log. Every other client is sent state: a snapshot of what it
 * may hold on connect, then, after each durable group of transactions, the
 * group's ops filtered to the registers it holds, evictions and new
 * registers (see `visibility.ts`). Either way at most a few batches are
 * unacknowledged (credit-based back-pressure), so a slow or long-offline
 * client never makes the server hold much for it.
 *
 * A state-form session is handed only the groups that may concern it (the
 * core's fan-out index, `interest.ts`): a group it is not handed changes
 * nothing it holds, so it is not told of it. Its position then catches up
 * with the next batch it is sent (which covers everything before it), or
 * when it asks for the head: a ping is answered by a batch covering the head
 * first, so that a client waiting to hold the state as of the head
 * (`whenSynced`, the heartbeat) never waits for a change that will not come.
 *
 * @module
 */
import type { ErrorData, ReplicaId, Transaction } from '../../crdt/index.js';
import { CausalContext, DatsyncError, ErrorCode, encodeRegisters, transactionDigest, transactionId } from '../../crdt/index.js';
import type { ClientMessage, ProtocolLimits, RecordEntry, ServerMessage } from '../protocol/index.js';
import {
  CloseCode,
  decodeClientMessage,
  encodeServerMessage,
  firstFrame,
  PROTOCOL_VERSION,
  surelyFits,
  unsendable,
} from '../protocol/index.js';
import type { Schema } from '../schema.js';
import type { InterestHandle } from './interest.js';
import type { Appended, ServerLog } from './log.js';
import { ConnectionLimiter, identityLimitsOf, isDefaultAnonymous } from './rate-limit.js';
import type { CompiledScope } from './scopes.js';
import { compileScope, MAX_SCOPES, parseScope } from './scopes.js';
import type { ConnectionInfo, Transport } from './transport.js';
import type { GroupOut, VisibilitySource } from './visibility.js';
import { Visibility } from './visibility.js';

export interface SessionHooks<Identity> {
  readonly log: ServerLog<Identity>;
  readonly schema: Schema;
  readonly limits: ProtocolLimits;
  authenticate(token: string | null, info: ConnectionInfo): Promise<Identity | null>;
  /** A stable key for an identity: replica ids are bound to it. */
  identityKey(identity: Identity): string;
  /** When an identity's credentials expire (ms), if they do. */
  expiresAt(identity: Identity): number | undefined;
  /** Every identity may read every attribute (`allowAll`): then unscoped clients get the log as is. */
  readonly readsEverything: boolean;
  readonly source: VisibilitySource;
  /** Enters a state-form session in the fan-out index: from then on it is handed the groups that may concern it. */
  enterState(session: Session<Identity>, replica: ReplicaId): InterestHandle;
  /** A log-form session is handed every group; returns what stops that. */
  followLog(session: Session<Identity>): () => void;
  onError(error: unknown): void;
  now(): number;
}

/** Unacknowledged batches a client may have in flight. */
const WINDOW = 4;
/** Queued stream messages beyond which a lagging client is sent a fresh snapshot instead. */
const MAX_QUEUE = 256;

type Phase = 'handshake' | 'authenticating' | 'ready' | 'closed';

/** A stream message waiting for a credit; `batch` is set when it is sent. */
type Pending =
  | { readonly type: 'records'; readonly entries: readonly RecordEntry[]; readonly through: number }
  | { readonly type: 'snapshot'; readonly position: number; readonly final: boolean; readonly part: Uint8Array }
  | { readonly type: 'registers'; readonly position: number; readonly install: GroupOut['install'] }
  | { readonly type: 'evict'; readonly position: number; readonly pairs: GroupOut['evict'] };

export class Session<Identity> {
  private readonly transport: Transport;
  private readonly hooks: SessionHooks<Identity>;
  private readonly info: ConnectionInfo;
  private phase: Phase = 'handshake';
  private identity: Identity | undefined;
  private expiry: number | undefined;
  private expiredNoticeSent = false;
  private replica: ReplicaId | undefined;
  /** The replica id is not yet bound to the identity (storage refused the binding): the first push binds it. */
  private unclaimed = false;
  /** Log form: the last log position sent. */
  private sent = 0;
  /** State form: the last log position a queued message covers. */
  private covered = 0;
  private stopFollowing: (() => void) | undefined;
  /** State form: what the client may hold, and what waits to be sent. */
  private visibility: Visibility | undefined;
  private readonly queue: Pending[] = [];
  private batch = 0;
  private credits = WINDOW;
  private pumping = false;
  /** Set while a scope held back by its minimum interval waits to be evaluated. */
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly limiter: ConnectionLimiter;

  constructor(transport: Transport, info: ConnectionInfo, hooks: SessionHooks<Identity>) {
    this.transport = transport;
    this.info = info;
    this.hooks = hooks;
    this.limiter = new ConnectionLimiter(hooks.limits, hooks.now());
  }

  get replicaId(): ReplicaId | undefined {
    return this.replica;
  }

  private send(message: ServerMessage): void {
    if (this.phase === 'closed') return;
    this.transport.send(encodeServerMessage(message));
  }

  /** Sends an error and closes the connection with `code`. */
  fail(error: ErrorData, code: number): void {
    if (this.phase === 'closed') return;
    this.send({ type: 'error', error, fatal: true });
    this.close(code, error.message.slice(0, 120));
  }

  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.leave();
    this.transport.close(code, reason);
  }

  /** The connection went away. */
  closed(): void {
    if (this.phase !== 'closed') this.leave();
    this.phase = 'closed';
  }

  /** Stops being handed groups. */
  private leave(): void {
    this.stopFollowing?.();
    this.stopFollowing = undefined;
    this.visibility?.dispose();
    clearTimeout(this.refreshTimer);
  }

  onText(): void {
    this.fail({ code: ErrorCode.MalformedMessage, message: 'datsync frames are binary' }, CloseCode.UnsupportedData);
  }

  onFrame(frame: Uint8Array): void {
    if (this.phase === 'closed') return;
    const now = this.hooks.now();
    const tooMuch = this.limiter.frame(frame.length, now);
    if (tooMuch !== null) {
      this.rateLimited(tooMuch);
      return;
    }
    let message: ClientMessage;
    try {
      message = decodeClientMessage(frame, this.hooks.limits);
    } catch (error) {
      const data = error instanceof DatsyncError ? error.toJSON() : { code: ErrorCode.MalformedMessage, message: 'unreadable frame' };
      const code =
        data.code === ErrorCode.ProtocolVersion
          ? CloseCode.ProtocolVersion
          : data.code === ErrorCode.TooLarge
            ? CloseCode.TooLarge
            : CloseCode.ProtocolError;
      this.fail(data, code);
      return;
    }
    // A credit the server asked for is free: its rate is the server's own.
    if (message.type !== 'credit' || this.credits >= WINDOW) {
      const over = this.limiter.charge(message.type === 'push' ? message.txs.length : 0, now);
      if (over !== null) {
        this.rateLimited(over);
        return;
      }
    }
    if (this.phase === 'handshake') {
      if (message.type !== 'hello') {
        this.fail({ code: ErrorCode.MalformedMessage, message: 'the first message must be hello' }, CloseCode.ProtocolError);
        return;
      }
      this.phase = 'authenticating';
      void this.handshake(message).catch((error: unknown) => this.internal(error));
      return;
    }
    if (this.phase !== 'ready') return;
    switch (message.type) {
      case 'hello':
        this.fail({ code: ErrorCode.MalformedMessage, message: 'hello was already received' }, CloseCode.ProtocolError);
        return;
      case 'push': {
        if (this.expired()) return;
        // A transaction that could not be relayed in a frame of its own is refused here: sent on, it would stall its readers.
        const check = !surelyFits(frame.length, this.hooks.limits);
        for (const tx of message.txs) {
          const tooLarge = check ? unsendable(tx, this.hooks.limits) : undefined;
          if (tooLarge !== undefined) this.send({ type: 'reject', txId: transactionId(tx), error: tooLarge.toJSON() });
          else void this.push(tx).catch((error: unknown) => this.internal(error));
        }
        return;
      }
      case 'credit':
        this.credits = Math.min(WINDOW, this.credits + 1);
        this.pump();
        return;
      case 'ping': {
        const head = this.hooks.log.head;
        // Groups this client was not handed moved the head without it: the pong must not name a head it never reaches.
        if (this.visibility !== undefined && this.covered < head) {
          this.enqueue({ records: [], evict: [], install: [], through: head }, head);
          this.pump();
        }
        this.send({ type: 'pong', id: message.id, head });
        return;
      }
      case 'auth':
        void this.renew(message.token).catch((error: unknown) => this.internal(error));
        return;
      case 'scopes':
        this.rescope(message.scopes);
        return;
      default:
        message satisfies never;
    }
  }

  /** Whether the connection closed (read through a call: it can change while a handshake awaits). */
  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  private rateLimited(reason: string): void {
    this.fail({ code: ErrorCode.RateLimited, message: `${reason}: slow down, reconnect later` }, CloseCode.RateLimited);
  }

  private internal(error: unknown): void {
    this.hooks.onError(error);
    this.fail({ code: ErrorCode.Internal, message: 'internal server error' }, CloseCode.InternalError);
  }

  /** Expired credentials stop reads and writes (without losing anything) until renewed. */
  private expired(): boolean {
    if (this.expiry === undefined || this.hooks.now() < this.expiry) return false;
    if (!this.expiredNoticeSent) {
      this.expiredNoticeSent = true;
      this.send({
        type: 'error',
        error: { code: ErrorCode.Unauthenticated, message: 'the credentials expired: send new ones' },
        fatal: false,
      });
    }
    return true;
  }

  private parseScopes(value: unknown): CompiledScope[] | null {
    if (value === null || value === undefined) return null;
    if (!Array.isArray(value) || value.length > MAX_SCOPES) {
      throw new DatsyncError(ErrorCode.InvalidQuery, `scopes must be a list of at most ${MAX_SCOPES}`);
    }
    const names = new Set<string>();
    return value.map((item) => {
      const def = parseScope(item, this.hooks.schema);
      if (names.has(def.name)) throw new DatsyncError(ErrorCode.InvalidQuery, `scope ${def.name} is declared twice`);
      names.add(def.name);
      return compileScope(def, this.hooks.schema);
    });
  }

  private async handshake(hello: Extract<ClientMessage, { type: 'hello' }>): Promise<void> {
    const identity = await this.hooks.authenticate(hello.token ?? this.info.urlToken, this.info);
    if (this.phase === 'closed') return;
    if (identity === null) {
      this.fail({ code: ErrorCode.Unauthenticated, message: 'missing or invalid credentials' }, CloseCode.Unauthenticated);
      return;
    }
    if (this.expiredAlready(identity)) return;
    const log = this.hooks.log;
    const key = this.hooks.identityKey(identity);
    let mine: boolean;
    try {
      mine = await log.claimReplica(hello.replicaId, key);
    } catch (error) {
      if (!storageFailed(error)) throw error;
      // Storage refuses writes (a full disk): reads go on, and the first push binds the replica id.
      const owner = await log.storage.replicaOwner(hello.replicaId);
      mine = owner === undefined || owner === key;
      this.unclaimed = owner === undefined;
    }
    if (!mine) {
      this.fail({ code: ErrorCode.Forbidden, message: 'this replica id belongs to another identity' }, CloseCode.Forbidden);
      return;
    }
    // On a log shared by several nodes, a client coming from another node may be ahead of this one.
    await log.reach(hello.position);
    const decided = await log.decided(hello.replicaId);
    if (hello.issuedUpTo < decided && hello.logId === log.logId) {
      // The client lost transactions the server already has: its storage was restored or copied.
      this.fail(
        { code: ErrorCode.ReplicaReused, message: 'this replica id already issued later transactions; start a new replica' },
        CloseCode.ReplicaReused,
      );
      return;
    }
    let scopes: CompiledScope[] | null;
    try {
      scopes = this.parseScopes(hello.scopes);
    } catch (error) {
      this.fail(
        error instanceof DatsyncError ? error.toJSON() : { code: ErrorCode.InvalidQuery, message: 'invalid scopes' },
        CloseCode.ProtocolError,
      );
      return;
    }
    if (this.isClosed()) return;
    this.identity = identity;
    this.expiry = this.hooks.expiresAt(identity);
    this.replica = hello.replicaId;
    if (!isDefaultAnonymous(identity)) {
      this.limiter.bind(identityLimitsOf(log, this.hooks.limits).get(this.hooks.identityKey(identity), this.hooks.now()));
    }
    this.phase = 'ready';
    this.welcome(decided);
    if (this.hooks.readsEverything && scopes === null) {
      // The log form: a client following another log (or one ahead of ours) starts over.
      this.sent = hello.logId === log.logId && hello.position <= log.head ? hello.position : 0;
      this.stopFollowing = this.hooks.followLog(this);
    } else this.startState(scopes);
    this.pump();
  }

  /** Switches to the state form: a snapshot of what the client may hold now, then groups. */
  private startState(scopes: CompiledScope[] | null): void {
    const identity = this.identity;
    const replica = this.replica;
    if (identity === undefined || replica === undefined) return;
    this.stopFollowing?.();
    this.stopFollowing = undefined;
    const { source, now } = this.hooks;
    const interest = this.hooks.enterState(this, replica);
    this.visibility = new Visibility(source, identity, this.hooks.identityKey(identity), replica, scopes, now, interest);
    this.queueSnapshot();
  }

  private queueSnapshot(): void {
    const visibility = this.visibility;
    if (visibility === undefined) return;
    this.queue.length = 0;
    const log = this.hooks.log;
    const bytes = encodeRegisters(visibility.snapshot(), log.state.confirmed.context);
    const size = Math.max(1024, Math.floor(this.hooks.limits.maxFrameBytes / 2));
    for (let at = 0; at === 0 || at < bytes.length; at += size) {
      const part = bytes.subarray(at, at + size);
      this.queue.push({ type: 'snapshot', position: log.head, final: at + size >= bytes.length, part });
    }
    this.covered = log.head;
  }

  private rescope(value: unknown): void {
    let scopes: CompiledScope[] | null;
    try {
      scopes = this.parseScopes(value);
    } catch (error) {
      this.send({
        type: 'error',
        error: error instanceof DatsyncError ? error.toJSON() : { code: ErrorCode.InvalidQuery, message: 'invalid scopes' },
        fatal: false,
      });
      return;
    }
    if (this.visibility === undefined) this.startState(scopes);
    else {
      try {
        this.enqueue(this.visibility.setScopes(scopes), this.hooks.log.head);
      } catch (error) {
        this.send({
          type: 'error',
          error: error instanceof DatsyncError ? error.toJSON() : { code: ErrorCode.InvalidQuery, message: 'a scope failed' },
          fatal: false,
        });
      }
    }
    this.pump();
  }

  private async renew(token: string): Promise<void> {
    const identity = await this.hooks.authenticate(token, this.info);
    if (identity === null || this.identity === undefined || this.hooks.identityKey(identity) !== this.hooks.identityKey(this.identity)) {
      this.fail(
        { code: ErrorCode.Unauthenticated, message: 'the new credentials are not valid for this identity' },
        CloseCode.Unauthenticated,
      );
      return;
    }
    if (this.expiredAlready(identity)) return;
    this.identity = identity;
    this.expiry = this.hooks.expiresAt(identity);
    this.expiredNoticeSent = false;
    // A second welcome: the client sends again whatever it held back while expired.
    this.welcome(this.replica === undefined ? 0 : await this.hooks.log.decided(this.replica));
    this.pump();
  }

  private welcome(decided: number): void {
    const log = this.hooks.log;
    const serverTime = Math.floor(this.hooks.now());
    const { maxFrameBytes, maxPushTransactions, maxOpsPerTransaction, maxBatchRecords } = this.hooks.limits;
    const limits = { maxFrameBytes, maxPushTransactions, maxOpsPerTransaction, maxBatchRecords };
    this.send({ type: 'welcome', version: PROTOCOL_VERSION, logId: log.logId, head: log.head, serverTime, decided, limits });
  }

  /**
   * Credentials that have already expired are refused outright (4001): let
   * through, they would be told at once that they expired, the client would
   * renew them with the same, and the two would trade notices and renewals
   * until the rate limit closed the connection.
   */
  private expiredAlready(identity: Identity): boolean {
    const expiry = this.hooks.expiresAt(identity);
    if (expiry === undefined || this.hooks.now() < expiry) return false;
    this.fail({ code: ErrorCode.Unauthenticated, message: 'the credentials have already expired' }, CloseCode.Unauthenticated);
    return true;
  }

  private async push(tx: Transaction): Promise<void> {
    const identity = this.identity;
    if (identity === undefined || this.phase !== 'ready') return;
    // Another tab of the same identity may send our writes: any replica id bound to this identity will do.
    if (tx.replica !== this.replica || this.unclaimed) {
      let mine: boolean;
      try {
        mine = await this.hooks.log.claimReplica(tx.replica, this.hooks.identityKey(identity));
      } catch (error) {
        if (!storageFailed(error)) throw error;
        const message = 'the server could not store the transaction: its storage refuses writes; send it again later';
        this.send({ type: 'reject', txId: transactionId(tx), error: { code: ErrorCode.StorageFailed, message } });
        return;
      }
      if (!mine) {
        this.send({
          type: 'reject',
          txId: transactionId(tx),
          error: { code: ErrorCode.Forbidden, message: 'this replica id belongs to another identity' },
        });
        return;
      }
      if (tx.replica === this.replica) this.unclaimed = false;
    }
    const outcome = await this.hooks.log.submit(identity, tx, this);
    // Accepted transactions come back through the stream, in log order.
    if (!outcome.accepted) this.send({ type: 'reject', txId: transactionId(tx), error: outcome.error });
  }

  /** A durable group: the state form works out this client's share now, while the database shows it. */
  appended(group: readonly Appended[]): void {
    const visibility = this.visibility;
    if (this.phase === 'ready' && visibility !== undefined) {
      try {
        this.enqueue(visibility.advance(group), group[group.length - 1]?.record.position ?? this.hooks.log.head);
      } catch (error) {
        this.hooks.onError(error);
        this.resnapshot();
      }
      this.scheduleRefresh();
    }
    this.pump();
  }

  /** Starts the client over from a snapshot; a scope that cannot even give one ends the connection (never the server). */
  private resnapshot(): void {
    try {
      this.queueSnapshot();
    } catch (error) {
      this.internal(error);
    }
  }

  /** A scope whose minimum interval held changes back is evaluated once the interval has passed. */
  private scheduleRefresh(): void {
    const due = this.visibility?.dueAt();
    if (due === undefined || this.refreshTimer !== undefined || this.phase !== 'ready') return;
    this.refreshTimer = setTimeout(
      () => {
        this.refreshTimer = undefined;
        const visibility = this.visibility;
        if (this.phase !== 'ready' || visibility === undefined) return;
        try {
          this.enqueue(visibility.refresh(), this.hooks.log.head);
        } catch (error) {
          this.hooks.onError(error);
          this.resnapshot();
        }
        this.pump();
        this.scheduleRefresh();
      },
      Math.max(0, due - this.hooks.now()),
    );
  }

  /**
   * A group's evictions and new registers go before its records, at the
   * position already covered: the records batch moves the client's position,
   * so by then it holds every consequence of the group (`whenSynced` and the
   * `position` event never show what the group took away or not yet what it
   * gave).
   */
  private enqueue(out: GroupOut, position: number): void {
    const records = out.records.length > 0 || out.through > 0;
    const at = records ? this.covered : position;
    if (out.evict.length > 0) this.queue.push({ type: 'evict', position: at, pairs: out.evict });
    if (out.install.length > 0) this.queue.push({ type: 'registers', position: at, install: out.install });
    if (records) {
      const entries: RecordEntry[] = out.records.map((record) =>
        'own' in record
          ? { position: record.position, own: transactionId(record.own), digest: transactionDigest(record.own), hidden: record.hidden }
          : record,
      );
      const through = Math.max(out.through, position);
      this.queue.push({ type: 'records', entries, through });
      this.covered = Math.max(this.covered, through);
    }
    // A client this far behind gets a fresh snapshot rather than an ever longer queue.
    if (this.queue.length > MAX_QUEUE) this.queueSnapshot();
  }

  /** Sends what the window allows. */
  pump(): void {
    if (this.pumping || this.phase !== 'ready' || this.credits <= 0 || this.expired()) return;
    if (this.visibility !== undefined) {
      const visibility = this.visibility;
      while (this.phase === 'ready' && this.credits > 0 && this.queue.length > 0) {
        const next = this.queue.shift() as Pending;
        this.credits--;
        const batch = ++this.batch;
        // Checked again as it leaves: what a later group took away since it was queued does not go out.
        // What does not fit in one frame goes back to the head of the queue, for the next credit.
        if (next.type === 'records') {
          const entries = next.entries.flatMap((entry) => visibility.stillHeld(entry));
          const head = this.hooks.log.head;
          const sent = this.sendFitted(entries, this.hooks.limits.maxBatchRecords, (part) => {
            const through = part.length === entries.length ? next.through : (part[part.length - 1]?.position ?? next.through);
            return { type: 'records', batch, head, through, entries: part };
          });
          if (sent === undefined) this.cannotSend();
          else if (sent < entries.length) this.queue.unshift({ ...next, entries: entries.slice(sent) });
        } else if (next.type === 'registers') {
          const install = next.install.filter(([entity, attribute]) => visibility.holds(entity, attribute));
          const sent = this.sendFitted(install, Number.POSITIVE_INFINITY, (part) => ({
            type: 'registers',
            batch,
            position: next.position,
            state: encodeRegisters(part, new CausalContext()),
          }));
          if (sent === undefined) {
            // One register (its history included) larger than a frame: a snapshot travels in parts of any size.
            this.credits++;
            this.batch--;
            this.queueSnapshot();
          } else if (sent < install.length) this.queue.unshift({ ...next, install: install.slice(sent) });
        } else if (next.type === 'evict') {
          const sent = this.sendFitted(next.pairs, Number.POSITIVE_INFINITY, (pairs) => ({ ...next, batch, pairs }));
          if (sent === undefined) this.cannotSend();
          else if (sent < next.pairs.length) this.queue.unshift({ ...next, pairs: next.pairs.slice(sent) });
        } else this.send({ ...next, batch });
      }
      return;
    }
    if (this.sent >= this.hooks.log.head) return;
    this.pumping = true;
    void this.sendLogBatch()
      .catch((error: unknown) => this.internal(error))
      .finally(() => {
        this.pumping = false;
        this.pump();
      });
  }

  private async sendLogBatch(): Promise<void> {
    const log = this.hooks.log;
    const records = await log.read(this.sent, this.hooks.limits.maxBatchRecords);
    if (records.length === 0 || this.phase !== 'ready') return;
    const entries: RecordEntry[] = records.map((record) =>
      record.tx.replica === this.replica
        ? { position: record.position, own: transactionId(record.tx), digest: transactionDigest(record.tx) }
        : { position: record.position, tx: record.tx },
    );
    this.credits--;
    const batch = ++this.batch;
    const head = log.head;
    // Records that do not fit in this frame are read again for the next one.
    const sent = this.sendFitted(entries, entries.length, (part) => {
      const through = part[part.length - 1]?.position ?? this.sent;
      return { type: 'records', batch, head, through, entries: part };
    });
    if (sent === undefined) this.cannotSend();
    else this.sent = entries[sent - 1]?.position ?? this.sent;
  }

  /**
   * Sends the longest prefix of `items` whose message fits in a frame, and
   * says how many it took; nothing when even one item does not fit.
   */
  private sendFitted<T>(items: readonly T[], maxCount: number, build: (items: readonly T[]) => ServerMessage): number | undefined {
    const limit = this.hooks.limits.maxFrameBytes;
    const fits = (bytes: Uint8Array): boolean => bytes.length <= limit;
    const { count, frame } = firstFrame(items, maxCount, fits, (part) => encodeServerMessage(build(part)));
    if (!fits(frame)) return undefined;
    if (this.phase !== 'closed') this.transport.send(frame);
    return count;
  }

  /**
   * A record over the frame limit cannot come from a push (those are
   * refused), only from a log written under a larger `maxFrameBytes`: it is
   * reported and the connection closed, since sent it would be refused at
   * every reconnect.
   */
  private cannotSend(): void {
    const limit = this.hooks.limits.maxFrameBytes;
    this.hooks.onError(
      new DatsyncError(ErrorCode.TooLarge, `a log record does not fit in the frame limit of ${limit}: raise maxFrameBytes`),
    );
    this.fail({ code: ErrorCode.Internal, message: 'the server cannot send a record within its frame limit' }, CloseCode.InternalError);
  }
}

function storageFailed(error: unknown): boolean {
  return error instanceof DatsyncError && error.code === ErrorCode.StorageFailed;
}
