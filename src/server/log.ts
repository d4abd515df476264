/**
 * The authoritative log: one total order of accepted transactions.
 *
 * Transactions are decided one at a time, in arrival order, against the state
 * that includes every transaction accepted before (durable or not yet):
 * validated whole (shape, schema, types, clock drift, unique values, write
 * permission on the before and after databases) and accepted or rejected as a
 * unit. Decided transactions are committed in groups, one storage commit per
 * group, and only once a group is durable are its transactions acknowledged
 * and broadcast. No transaction is decided while a group is being committed,
 * so the state never runs ahead of storage by more than the group in flight:
 * if a commit fails, exactly that group is rolled back and refused with a
 * retryable `storage-failed` (nothing is acknowledged that was not stored),
 * and whatever is broadcast was judged against durable data only.
 *
 * A transaction sent again (its acknowledgement was lost) is recognized by
 * its id and answered as before, never applied twice; so is a rejection.
 *
 * @module
 */
import type { DatomChange, ErrorData, Hlc, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
import {
  DatsyncError,
  decodeState,
  ErrorCode,
  encodeState,
  hlcWallMs,
  lastCounter,
  ReplicaState,
  TentativeState,
  transactionId,
  validateTransaction,
} from '../../crdt/index.js';
import type { LogRecord, Storage } from '../../storage/contract.js';
import type { Db } from '../datascript/index.js';
import { Emitter } from '../emitter.js';
import type { ProjectedDatom } from '../projection/projection.js';
import { Projection } from '../projection/projection.js';
import type { Schema } from '../schema.js';

/** What a write check sees: the transaction, as ops and as the datoms it changes. */
export interface WriteRequest<Identity> {
  readonly identity: Identity;
  readonly tx: Transaction;
  readonly txId: TxId;
  /** The datoms it adds and removes, as the projection shows them. */
  readonly datoms: readonly ProjectedDatom[];
  readonly dbBefore: Db;
  readonly dbAfter: Db;
}

/** Returns true to allow, or a reason (string) to refuse. May be async. */
export type WriteCheck<Identity> = (request: WriteRequest<Identity>) => boolean | string | Promise<boolean | string>;

export type Outcome = { readonly accepted: true; readonly position: number } | { readonly accepted: false; readonly error: ErrorData };

/** A durable record and the change it made to the visible datoms. */
export interface Appended {
  readonly record: LogRecord;
  readonly changes: readonly DatomChange[];
}

export interface LogEvents extends Record<string, unknown> {
  /** Durable records, in order, once their group is committed. */
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

interface Accepted {
  readonly record: LogRecord;
  readonly changes: readonly DatomChange[];
  readonly resolve: (outcome: Outcome) => void;
}

interface Submitted<Identity> {
  readonly identity: Identity;
  readonly tx: Transaction;
  readonly resolve: (outcome: Outcome) => void;
}

/** The most transactions decided before their group is committed. */
const GROUP_LIMIT = 256;

interface Refused {
  readonly txId: TxId;
  readonly ops: number;
  readonly error: ErrorData;
  readonly resolve: (outcome: Outcome) => void;
}

export class ServerLog<Identity> {
  readonly schema: Schema;
  readonly storage: Storage;
  readonly state: TentativeState;
  readonly projection: Projection;
  readonly events = new Emitter<LogEvents>();
  logId = '';
  private readonly options: ServerLogOptions<Identity>;
  /** Last durable position. */
  private headPosition = 0;
  /** Last position handed out (durable or waiting for its commit). */
  private assigned = 0;
  private readonly decidedCounters = new Map<ReplicaId, number>();
  private readonly owners = new Map<ReplicaId, string>();
  private readonly queue: Array<Submitted<Identity>> = [];
  private readonly waiting: Array<Accepted | Refused> = [];
  /** Decided, not yet durable, by id: a resend waits for the same outcome. */
  private readonly inFlight = new Map<TxId, Promise<Outcome>>();
  private running: Promise<void> | undefined;
  private recent: LogRecord[] = [];
  private closed = false;

  private constructor(options: ServerLogOptions<Identity>, state: TentativeState) {
    this.options = options;
    this.schema = options.schema;
    this.storage = options.storage;
    this.state = state;
    this.projection = new Projection(options.schema);
  }

  /** Opens the log: the snapshot, then the records after it, then one bulk projection. */
  static async open<Identity>(options: ServerLogOptions<Identity>): Promise<ServerLog<Identity>> {
    const { storage, schema } = options;
    const meta = await storage.meta();
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
    log.headPosition = position;
    log.assigned = position;
    log.logId = meta.logId ?? options.randomId();
    if (meta.logId === undefined) await storage.commit({ meta: { logId: log.logId, schemaFingerprint: schema.fingerprint } });
    log.projection.rebuild(log.state.datoms());
    return log;
  }

  get head(): number {
    return this.headPosition;
  }

  get db(): Db {
    return this.projection.db;
  }

  /**
   * Binds `replica` to `owner` if it is free; true when it is (now) bound to
   * `owner`. A replica id belongs to the identity that first used it, so no
   * one can write under another's replica id.
   */
  async claimReplica(replica: ReplicaId, owner: string): Promise<boolean> {
    let bound = this.owners.get(replica) ?? (await this.storage.replicaOwner(replica));
    if (bound === undefined) {
      bound = this.owners.get(replica) ?? owner;
      if (bound === owner) await this.storage.commit({ owners: [{ replica, owner }] });
    }
    this.owners.set(replica, bound);
    return bound === owner;
  }

  /** Every counter of `replica` up to which transactions were decided. */
  async decided(replica: ReplicaId): Promise<number> {
    let value = this.decidedCounters.get(replica);
    if (value === undefined) {
      value = await this.storage.decided(replica);
      // A submit may have decided more while storage was read.
      value = Math.max(value, this.decidedCounters.get(replica) ?? 0);
      this.decidedCounters.set(replica, value);
    }
    return value;
  }

  /** Decides a transaction; resolves once the decision is durable. */
  submit(identity: Identity, tx: Transaction): Promise<Outcome> {
    if (this.closed) return Promise.resolve({ accepted: false, error: unavailable('the server is shutting down') });
    return new Promise<Outcome>((resolve) => {
      this.queue.push({ identity, tx, resolve });
      this.running ??= this.run().finally(() => {
        this.running = undefined;
      });
    });
  }

  /** Decides what is queued, a group at a time, committing each group before deciding more. */
  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      for (let n = 0; n < GROUP_LIMIT && this.queue.length > 0; n++) {
        const item = this.queue.shift() as Submitted<Identity>;
        try {
          await this.decide(item.identity, item.tx, item.resolve);
        } catch (error) {
          this.options.onError(error);
          item.resolve({ accepted: false, error: { code: ErrorCode.Internal, message: 'the server failed to decide this transaction' } });
        }
      }
      await this.commitGroup();
    }
  }

  private async decide(identity: Identity, tx: Transaction, resolve: (outcome: Outcome) => void): Promise<void> {
    const txId = transactionId(tx);
    const pending = this.inFlight.get(txId);
    if (pending !== undefined) {
      void pending.then(resolve);
      return;
    }
    const found = await this.storage.findTransaction(txId);
    if (found !== undefined) {
      resolve({ accepted: true, position: found.position });
      return;
    }
    const rejection = await this.storage.rejection(txId);
    if (rejection !== undefined) {
      resolve({ accepted: false, error: { code: asCode(rejection.code), message: rejection.message } });
      return;
    }
    const decidedUpTo = await this.decided(tx.replica);
    if (tx.counter <= decidedUpTo) {
      resolve({
        accepted: false,
        error: {
          code: ErrorCode.ReplicaReused,
          message: 'this replica already had later transactions decided: its counter went backwards',
        },
      });
      return;
    }
    const verdict = await this.check(identity, tx, txId);
    this.decidedCounters.set(tx.replica, lastCounter(tx));
    let done: (outcome: Outcome) => void = resolve;
    this.inFlight.set(
      txId,
      new Promise<Outcome>((settled) => {
        done = (outcome) => {
          this.inFlight.delete(txId);
          settled(outcome);
          resolve(outcome);
        };
      }),
    );
    // Rejections are stored too (with the group), so a resend gets the same answer.
    if ('error' in verdict) this.waiting.push({ txId, ops: tx.ops.length, error: verdict.error, resolve: done });
    else this.waiting.push({ record: { position: ++this.assigned, tx }, changes: verdict.changes, resolve: done });
  }

  /**
   * Whether `tx` may be accepted: if so it stays applied (tentatively) and
   * its visible changes come back; else why not.
   */
  private async check(identity: Identity, tx: Transaction, txId: TxId): Promise<{ changes: DatomChange[] } | { error: ErrorData }> {
    try {
      validateTransaction(tx, this.schema.specs);
    } catch (error) {
      if (error instanceof DatsyncError) return { error: error.toJSON() };
      throw error;
    }
    const now = this.options.now();
    if (hlcWallMs(tx.hlc as Hlc) > now + this.options.maxDriftMs) {
      return {
        error: { code: ErrorCode.ClockDrift, message: 'the transaction is stamped too far in the future: check this device\u2019s clock' },
      };
    }
    const dbBefore = this.projection.db;
    const changes = this.state.addTentative(tx);
    const report = this.projection.apply(changes);
    const undo = (): void => {
      this.projection.apply(this.state.reject(txId));
    };
    const conflict = uniqueConflict(this.schema, this.projection, changes);
    if (conflict !== null) {
      undo();
      return {
        error: { code: ErrorCode.UniqueConflict, message: `another entity already holds this value of unique attribute ${conflict}` },
      };
    }
    let verdict: boolean | string;
    try {
      verdict = await this.options.canWrite({ identity, tx, txId, datoms: report.datoms, dbBefore, dbAfter: report.dbAfter });
    } catch (error) {
      undo();
      this.options.onError(error);
      return { error: { code: ErrorCode.Forbidden, message: 'the write check failed' } };
    }
    if (verdict !== true) {
      undo();
      const message = typeof verdict === 'string' && verdict.length > 0 ? verdict.slice(0, 500) : 'this write is not allowed';
      return { error: { code: ErrorCode.Forbidden, message } };
    }
    return { changes };
  }

  /** Stores the decided group; acknowledges and broadcasts it once durable, or rolls it back. */
  private async commitGroup(): Promise<void> {
    const group = this.waiting.splice(0, this.waiting.length);
    if (group.length === 0) return;
    const accepted = group.filter((item): item is Accepted => 'record' in item);
    const refused = group.filter((item): item is Refused => !('record' in item));
    try {
      await this.storage.commit({
        log: accepted.map((item) => item.record),
        rejections: refused.map((item) => ({ txId: item.txId, code: item.error.code, message: item.error.message, ops: item.ops })),
      });
    } catch (cause) {
      this.failed(accepted, refused, cause);
      return;
    }
    for (const item of accepted) this.state.confirm(transactionId(item.record.tx));
    const last = accepted[accepted.length - 1];
    if (last !== undefined) this.headPosition = last.record.position;
    this.remember(accepted.map((item) => item.record));
    for (const item of accepted) item.resolve({ accepted: true, position: item.record.position });
    for (const item of refused) item.resolve({ accepted: false, error: item.error });
    if (accepted.length > 0)
      this.events.emit(
        'appended',
        accepted.map((item) => ({ record: item.record, changes: item.changes })),
      );
  }

  /** The group is rolled back and refused: nothing unstored is acknowledged. */
  private failed(accepted: readonly Accepted[], refused: readonly Refused[], cause: unknown): void {
    this.options.onError(cause);
    const error = unavailable(
      cause instanceof DatsyncError
        ? `the server could not store the transaction: ${cause.message}`
        : 'the server could not store the transaction',
      ErrorCode.StorageFailed,
    );
    for (const item of [...accepted].reverse()) this.projection.apply(this.state.reject(transactionId(item.record.tx)));
    for (const item of accepted) {
      // Its dots were never stored: the replica may send the same transaction again.
      this.decidedCounters.delete(item.record.tx.replica);
      item.resolve({ accepted: false, error });
    }
    for (const item of refused) {
      this.decidedCounters.delete(item.txId.slice(0, item.txId.lastIndexOf(':')) as ReplicaId);
      item.resolve({ accepted: false, error });
    }
    this.assigned = this.headPosition;
  }

  private remember(records: readonly LogRecord[]): void {
    const keep = this.options.recentRecords ?? 10_000;
    this.recent.push(...records);
    if (this.recent.length > keep * 2) this.recent = this.recent.slice(-keep);
  }

  /** Up to `limit` durable records after `after`, from memory when recent, else from storage. */
  async read(after: number, limit: number): Promise<LogRecord[]> {
    const first = this.recent[0];
    if (first !== undefined && after >= first.position - 1) {
      const start = after - first.position + 1;
      return this.recent.slice(start, start + limit).filter((record) => record.position <= this.headPosition);
    }
    const records = await this.storage.readLog(after, limit);
    return records.filter((record) => record.position <= this.headPosition);
  }

  /** Writes a snapshot of the durable state, so the next start replays only the tail. */
  async snapshot(): Promise<void> {
    const position = this.headPosition;
    await this.storage.putSnapshot({ state: encodeState(this.state.confirmed), position });
  }

  /** Stops taking transactions and waits for those already received to be decided and stored. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}

function unavailable(message: string, code: ErrorData['code'] = ErrorCode.Unavailable): ErrorData {
  return { code, message };
}

function asCode(code: string): ErrorData['code'] {
  return (Object.values(ErrorCode) as string[]).includes(code) ? (code as ErrorData['code']) : ErrorCode.Rejected;
}

/** The first unique attribute one of `changes` gave a value that another entity also holds. */
function uniqueConflict(schema: Schema, projection: Projection, changes: readonly DatomChange[]): string | null {
  for (const change of changes) {
    if (!change.added || schema.attributes.get(change.attribute)?.unique == null) continue;
    if (projection.claimants(change.attribute, change.value).length > 1) return change.attribute;
  }
  return null;
}
