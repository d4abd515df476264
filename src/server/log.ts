/**
 * The authoritative log: one total order of accepted transactions.
 *
 * Transactions are decided one at a time, in arrival order, against the state
 * that includes every transaction accepted before (durable or not yet):
 * validated whole and accepted or rejected as a unit (see `judge.ts`).
 * Decided transactions are committed in groups, one storage commit per group,
 * and only once a group is durable are its transactions acknowledged and
 * broadcast. No transaction is decided while a group is being committed, so
 * the state never runs ahead of storage by more than the group in flight: if
 * a commit fails, exactly that group is rolled back and refused with a
 * retryable `storage-failed` (nothing is acknowledged that was not stored),
 * and whatever is broadcast was judged against durable data only.
 *
 * Each group is decided in a turn (see `turns.ts`): the right to append,
 * held from before the first decision to the commit. In one process that
 * costs nothing. On a log several server nodes share, a turn locks the log's
 * head, and the node first applies whatever the others appended up to it, so
 * a transaction is judged (unique values, write rules) against the log
 * exactly where it is appended, however far behind the node had been. Between
 * turns, a node applies the others' commits as it hears of them, and passes
 * them to its sessions like its own.
 *
 * A transaction sent again (its acknowledgement was lost, maybe by another
 * node) is recognized by its id in the log and answered as before, never
 * applied twice; so is a rejection.
 *
 * @module
 */
import type { DatomChange, ErrorData, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
import {
  DatsyncError,
  decodeState,
  ErrorCode,
  encodeState,
  lastCounter,
  ReplicaState,
  sameTransaction,
  TentativeState,
  transactionId,
} from '../../crdt/index.js';
import type { AppendTurn, LogRecord, SharedLog, Storage } from '../../storage/contract.js';
import type { Db } from '../datascript/index.js';
import { Emitter } from '../emitter.js';
import { Projection } from '../projection/projection.js';
import type { Schema } from '../schema.js';
import type { Judged, WriteCheck } from './judge.js';
import { judge } from './judge.js';
import { LogTail } from './log-tail.js';
import { Replicas } from './replicas.js';
import { turnsFor } from './turns.js';

export type { WriteCheck, WriteRequest } from './judge.js';

export type Outcome = { readonly accepted: true; readonly position: number } | { readonly accepted: false; readonly error: ErrorData };

/** A durable record and the change it made to the visible datoms. */
export interface Appended {
  readonly record: LogRecord;
  readonly changes: readonly DatomChange[];
}

export interface LogEvents extends Record<string, unknown> {
  /** Durable records, in order, once their group is committed (or, from other nodes, once heard of). */
  appended: readonly Appended[];
}

export interface ServerLogOptions<Identity> {
  readonly schema: Schema;
  readonly storage: Storage;
  readonly canWrite: WriteCheck<Identity>;
  readonly now: () => number;
  /** How far ahead of the server's clock a transaction's timestamp may be. */
  readonly maxDriftMs: number;
  /** Durable records kept in memory for fan-out without reading storage. */
  readonly recentRecords?: number;
  readonly onError: (error: unknown) => void;
  readonly randomId: () => string;
}

interface Submitted<Identity> {
  readonly identity: Identity;
  readonly tx: Transaction;
  readonly resolve: (outcome: Outcome) => void;
  /** Who sent it (a connection): once one of its transactions reused a replica's id, its later ones of that replica are refused too. */
  readonly source: object | undefined;
  /** Its group's commit broke off with the outcome unknown: it is decided again once the log can be read. */
  uncertain?: boolean;
}

/** A decision waiting for its group's commit: a record to append, or a refusal to remember. */
type Decision<Identity> = { readonly item: Submitted<Identity>; readonly txId: TxId } & (
  | { readonly record: LogRecord; readonly changes: readonly DatomChange[] }
  | { readonly ops: number; readonly error: ErrorData }
);

/** What the log holds under a transaction id: the answer given before, and the transaction it was given for. */
interface Known {
  readonly outcome: Outcome;
  /** The accepted transaction; for a refusal, how many ops it held. */
  readonly tx?: Transaction;
  readonly ops?: number;
}

/** The most transactions decided before their group is committed. */
const GROUP_LIMIT = 256;

export class ServerLog<Identity> {
  readonly schema: Schema;
  readonly storage: Storage;
  readonly state: TentativeState;
  readonly projection: Projection;
  readonly events = new Emitter<LogEvents>();
  logId = '';
  private readonly options: ServerLogOptions<Identity>;
  private readonly turns: SharedLog;
  private readonly judged: Judged<Identity>;
  private readonly tail: LogTail;
  /** Last position handed out (durable or waiting for its commit). */
  private assigned = 0;
  private readonly replicas: Replicas;
  private readonly queue: Array<Submitted<Identity>> = [];
  /** Submitted whose commit's outcome is unknown; they go first in the next turn. */
  private readonly uncertain: Array<Submitted<Identity>> = [];
  private readonly waiting: Array<Decision<Identity>> = [];
  /** Duplicates of a transaction decided in this group, answered with it. */
  private readonly inFlight = new Map<TxId, Array<Submitted<Identity>>>();
  /** Per source, the replicas it reused an id of (see `Submitted.source`). */
  private readonly reusing = new WeakMap<object, Set<ReplicaId>>();
  /** Another node appended (or may have): read the log before long. */
  private behind = false;
  private running: Promise<void> | undefined;
  /** Set while waiting for a turn: a notice wakes the wait, to apply the others' commits meanwhile. */
  private wake: (() => void) | undefined;
  private stopWatching: () => void = () => undefined;
  private closed = false;

  private constructor(options: ServerLogOptions<Identity>, state: TentativeState) {
    this.options = options;
    this.schema = options.schema;
    this.storage = options.storage;
    this.state = state;
    this.projection = new Projection(options.schema);
    this.replicas = new Replicas(options.storage);
    this.tail = new LogTail(options.storage, options.recentRecords ?? 10_000);
    this.turns = turnsFor(options.storage, () => this.tail.head);
    this.judged = {
      schema: options.schema,
      state,
      projection: this.projection,
      canWrite: options.canWrite,
      now: options.now,
      maxDriftMs: options.maxDriftMs,
      onError: options.onError,
    };
  }

  /** Opens the log: the snapshot, then the records after it, then one bulk projection. */
  static async open<Identity>(options: ServerLogOptions<Identity>): Promise<ServerLog<Identity>> {
    const { storage, schema } = options;
    const snapshot = await storage.snapshot();
    const confirmed = snapshot === undefined ? new ReplicaState(schema.specs) : decodeState(snapshot.state, schema.specs);
    let position = snapshot?.position ?? 0;
    for (;;) {
      const records = await storage.readLog(position, 5000);
      for (const record of records) confirmed.applyTransaction(record.tx);
      const last = records[records.length - 1];
      if (last === undefined) break;
      position = last.position;
    }
    const log = new ServerLog(options, new TentativeState(confirmed));
    log.tail.head = position;
    log.assigned = position;
    // Minted in a turn, so nodes starting together on an empty log agree on one id.
    const turn = await log.turns.turn(position);
    const meta = await storage.meta();
    log.logId = meta.logId ?? options.randomId();
    if (meta.logId === undefined) await turn.commit({ meta: { logId: log.logId, schemaFingerprint: schema.fingerprint } });
    else await turn.release();
    log.projection.rebuild(log.state.datoms());
    log.stopWatching = log.turns.watch((head) => log.notified(head));
    return log;
  }

  get head(): number {
    return this.tail.head;
  }

  get db(): Db {
    return this.projection.db;
  }

  /** Binds `replica` to `owner` if it is free; true when it is (now) bound to `owner` (see `Replicas.claim`). */
  claimReplica(replica: ReplicaId, owner: string): Promise<boolean> {
    return this.replicas.claim(replica, owner);
  }

  /** Every counter of `replica` up to which transactions were decided (see `Replicas.decided`). */
  decided(replica: ReplicaId): Promise<number> {
    return this.replicas.decided(replica);
  }

  /** Decides a transaction sent by `source` (a connection); resolves once the decision is durable. */
  submit(identity: Identity, tx: Transaction, source?: object): Promise<Outcome> {
    if (this.closed) return Promise.resolve({ accepted: false, error: unavailable('the server is shutting down') });
    return new Promise<Outcome>((resolve) => {
      this.queue.push({ identity, tx, resolve, source });
      this.kick();
    });
  }

  /**
   * Resolves once this node has applied the log up to `position`, or all of
   * the log there is if it ends before (or cannot be read now). A client
   * coming from another node may be ahead of this one: it is answered from
   * here on only once this node has caught up with it.
   */
  reach(position: number): Promise<void> {
    if (this.storage.shared === undefined || this.closed) return Promise.resolve();
    const reached = this.tail.wait(position);
    this.behind = true;
    this.kick();
    return reached;
  }

  /** Another node announced `head` (or, undefined, may have appended unannounced). */
  private notified(head: number | undefined): void {
    if (this.closed || (head !== undefined && head <= this.tail.head && this.uncertain.length === 0)) return;
    this.behind = true;
    this.wake?.();
    this.kick();
  }

  private kick(): void {
    if (this.running !== undefined) return;
    // Group commit: whatever else arrives in this turn of the event loop (other sockets' pushes read
    // with this one; on SQLite, whose commits block, all that came in during the last one) joins the group.
    this.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.run())
      .finally(() => {
        this.running = undefined;
        // Whatever arrived as the loop was ending.
        if (this.queue.length > 0 || this.behind) this.kick();
      });
  }

  /**
   * Decides what is queued, a group per turn, committing each group before
   * deciding more; between groups, follows what other nodes appended.
   */
  private async run(): Promise<void> {
    while (this.queue.length > 0 || this.uncertain.length > 0 || this.behind) {
      this.behind = false;
      if (this.queue.length === 0 && this.uncertain.length === 0) {
        const followed = !this.closed && (await this.follow());
        // Read to its end, or it cannot be read now: no one waits for more.
        this.tail.settle(true);
        if (!followed) return;
        continue;
      }
      const group = [...this.uncertain.splice(0), ...this.queue.splice(0, GROUP_LIMIT)];
      let turn: AppendTurn | undefined;
      let known: Map<TxId, Known>;
      try {
        turn = await this.awaitTurn();
        await this.catchUp(turn.head, turn.records);
        known = await this.lookUp(group);
      } catch (cause) {
        await turn?.release().catch(() => undefined);
        this.refuse(group, cause);
        // What may have been committed waits for the log to be readable again (a notice, a poll or a new submission).
        if (this.uncertain.length > 0) return;
        continue;
      }
      for (const item of group) {
        try {
          await this.decide(item, known.get(transactionId(item.tx)));
        } catch (error) {
          this.options.onError(error);
          item.resolve({ accepted: false, error: { code: ErrorCode.Internal, message: 'the server failed to decide this transaction' } });
        }
      }
      await this.commitGroup(turn);
    }
  }

  /**
   * Waits for a turn, meanwhile applying what the others commit as it is
   * announced: whatever is applied now is not applied holding the lock, where
   * it would hold up every node.
   */
  private async awaitTurn(): Promise<AppendTurn> {
    let granted: AppendTurn | undefined;
    let failed: { readonly cause: unknown } | undefined;
    const settled = this.turns.turn(this.tail.head).then(
      (turn) => {
        granted = turn;
      },
      (cause: unknown) => {
        failed = { cause };
      },
    );
    while (granted === undefined && failed === undefined) {
      await Promise.race([settled, new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
      if (granted === undefined && failed === undefined && this.behind) {
        this.behind = false;
        await this.follow();
      }
    }
    if (failed !== undefined) throw failed.cause;
    return granted as AppendTurn;
  }

  /** What the log already says of the group's transactions, looked up together (one round trip on a shared log). */
  private async lookUp(group: ReadonlyArray<Submitted<Identity>>): Promise<Map<TxId, Known>> {
    const ids = [...new Set(group.map((item) => transactionId(item.tx)))];
    const [found, refused] = await Promise.all([
      Promise.all(ids.map((id) => this.storage.findTransaction(id))),
      Promise.all(ids.map((id) => this.storage.rejection(id))),
    ]);
    const known = new Map<TxId, Known>();
    ids.forEach((id, i) => {
      const record = found[i];
      const rejection = refused[i];
      if (record !== undefined) known.set(id, { outcome: { accepted: true, position: record.position }, tx: record.tx });
      else if (rejection !== undefined)
        known.set(id, {
          outcome: { accepted: false, error: { code: asCode(rejection.code), message: rejection.message } },
          ops: rejection.ops ?? 1,
        });
    });
    return known;
  }

  private async decide(item: Submitted<Identity>, known: Known | undefined): Promise<void> {
    const { identity, tx, resolve } = item;
    const txId = transactionId(tx);
    if (item.source !== undefined && this.reusing.get(item.source)?.has(tx.replica) === true) {
      // It may build on the reused one (its entities, named after the reused dots): it is not judged alone.
      resolve(reused(item, this.reusing, 'an earlier transaction of this replica on this connection reused a decided id'));
      return;
    }
    const duplicates = this.inFlight.get(txId);
    if (duplicates !== undefined) {
      const first = this.waiting.find((d) => d.txId === txId);
      if (first === undefined || sameTransaction(first.item.tx, tx)) duplicates.push(item);
      else resolve(reused(item, this.reusing, 'another transaction with this id is being decided'));
      return;
    }
    if (known !== undefined) {
      // A resend is the same transaction; another one under a decided id comes from a copy of the replica (a restored backup).
      const same = known.tx === undefined ? known.ops === tx.ops.length : sameTransaction(known.tx, tx);
      resolve(same ? known.outcome : reused(item, this.reusing, 'the server holds another transaction with this id'));
      return;
    }
    const decidedUpTo = await this.replicas.known(tx.replica);
    if (tx.counter <= decidedUpTo) {
      // Not proof of a copy (the same replica's pushes on two connections can arrive out of order): only this one is refused.
      resolve(reused(undefined, this.reusing, 'this replica already had later transactions decided: its counter went backwards'));
      return;
    }
    const verdict = await judge(this.judged, identity, tx, txId);
    this.replicas.decide(tx.replica, lastCounter(tx));
    this.inFlight.set(txId, []);
    // Rejections are stored too (with the group), so a resend gets the same answer.
    if ('error' in verdict) this.waiting.push({ item, txId, ops: tx.ops.length, error: verdict.error });
    else this.waiting.push({ item, txId, record: { position: ++this.assigned, tx }, changes: verdict.changes });
  }

  /** Answers a decision and every duplicate that waited for it. */
  private settle(decision: Decision<Identity>, outcome: Outcome): void {
    decision.item.resolve(outcome);
    for (const duplicate of this.inFlight.get(decision.txId) ?? []) duplicate.resolve(outcome);
    this.inFlight.delete(decision.txId);
  }

  /** Stores the decided group and ends the turn; acknowledges and broadcasts the group once durable, or rolls it back. */
  private async commitGroup(turn: AppendTurn): Promise<void> {
    const group = this.waiting.splice(0, this.waiting.length);
    const accepted = group.filter((d): d is Extract<Decision<Identity>, { record: LogRecord }> => 'record' in d);
    const refused = group.filter((d): d is Extract<Decision<Identity>, { error: ErrorData }> => 'error' in d);
    try {
      if (group.length === 0) await turn.release();
      else
        await turn.commit({
          log: accepted.map((d) => d.record),
          rejections: refused.map((d) => ({ txId: d.txId, code: d.error.code, message: d.error.message, ops: d.ops })),
        });
    } catch (cause) {
      this.failed(group, cause);
      return;
    }
    for (const d of accepted) this.state.confirm(d.txId);
    this.tail.advance(accepted.map((d) => d.record));
    for (const d of accepted) this.settle(d, { accepted: true, position: d.record.position });
    for (const d of refused) this.settle(d, { accepted: false, error: d.error });
    if (accepted.length > 0)
      this.events.emit(
        'appended',
        accepted.map((d) => ({ record: d.record, changes: d.changes })),
      );
    // The group's DataScript transaction, if no one read the database yet: after the commit, not holding the turn.
    this.projection.flush();
  }

  /**
   * The group is rolled back: nothing unstored is acknowledged. It is refused,
   * unless the commit may have taken after all: then it is decided again in
   * the next turn, where the log says what became of it.
   */
  private failed(group: ReadonlyArray<Decision<Identity>>, cause: unknown): void {
    this.options.onError(cause);
    for (const d of [...group].reverse()) if ('record' in d) this.projection.stage(this.state.reject(d.txId));
    // Its dots were never stored (or are not known to be): the replica may send the same transaction again.
    for (const d of group) this.replicas.forget(d.item.tx.replica);
    this.assigned = this.tail.head;
    if (cause instanceof DatsyncError && cause.details?.outcome === 'unknown') {
      for (const d of group) {
        for (const item of [d.item, ...(this.inFlight.get(d.txId) ?? [])]) {
          item.uncertain = true;
          this.uncertain.push(item);
        }
        this.inFlight.delete(d.txId);
      }
      return;
    }
    const error = storageError(cause);
    for (const d of group) this.settle(d, { accepted: false, error });
  }

  /** Refuses a group no turn could be had for, keeping those whose earlier commit may have taken. */
  private refuse(group: ReadonlyArray<Submitted<Identity>>, cause: unknown): void {
    this.options.onError(cause);
    const error = storageError(cause);
    for (const item of group) {
      if (item.uncertain === true) this.uncertain.push(item);
      else item.resolve({ accepted: false, error });
    }
  }

  /** Applies what other nodes appended after our head, up to `to` (or all there is), and passes it on as appended. */
  private async catchUp(to?: number, first?: readonly LogRecord[]): Promise<void> {
    await this.tail.catchUp(
      to,
      (records) => {
        const appended: Appended[] = records.map((record) => {
          this.replicas.heard(record.tx.replica, lastCounter(record.tx));
          return { record, changes: this.state.applyConfirmed(record.tx) };
        });
        // Transacted with the next read of the database (see `Projection.stage`), never holding the turn.
        this.projection.stage(appended.flatMap((a) => a.changes));
        this.assigned = this.tail.head;
        this.events.emit('appended', appended);
      },
      first,
    );
  }

  /** Between turns: applies what other nodes appended. False when the log cannot be read now. */
  private async follow(): Promise<boolean> {
    try {
      await this.catchUp();
      this.projection.flush();
      return true;
    } catch (error) {
      this.options.onError(error);
      return false;
    }
  }

  /** Up to `limit` durable records after `after`, from memory when recent, else from storage. */
  read(after: number, limit: number): Promise<LogRecord[]> {
    return this.tail.read(after, limit);
  }

  /** Writes a snapshot of the durable state, so the next start replays only the tail. */
  async snapshot(): Promise<void> {
    const position = this.tail.head;
    await this.storage.putSnapshot({ state: encodeState(this.state.confirmed), position });
  }

  /** Stops taking transactions and waits for those already received to be decided and stored. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching();
    this.tail.settle(true);
    while (this.running !== undefined) await this.running;
  }
}

/**
 * Refuses a transaction whose id the replica already used for another (its
 * storage was restored or copied), and marks its source, whose later
 * transactions of that replica go the same way: nothing of the copy's is applied.
 */
function reused<Identity>(item: Submitted<Identity> | undefined, reusing: WeakMap<object, Set<ReplicaId>>, why: string): Outcome {
  if (item?.source !== undefined) {
    const replicas = reusing.get(item.source) ?? new Set<ReplicaId>();
    replicas.add(item.tx.replica);
    reusing.set(item.source, replicas);
  }
  return { accepted: false, error: { code: ErrorCode.ReplicaReused, message: `${why}; start a new replica` } };
}

function unavailable(message: string, code: ErrorData['code'] = ErrorCode.Unavailable): ErrorData {
  return { code, message };
}

/** What a client is told when its transaction could not be stored: retryable, and why. */
function storageError(cause: unknown): ErrorData {
  return unavailable(
    cause instanceof DatsyncError
      ? `the server could not store the transaction: ${cause.message}`
      : 'the server could not store the transaction',
    ErrorCode.StorageFailed,
  );
}

function asCode(code: string): ErrorData['code'] {
  return (Object.values(ErrorCode) as string[]).includes(code) ? (code as ErrorData['code']) : ErrorCode.Rejected;
}
