/**
 * The authoritative log: one total order of accepted transactions.
 *
 * Transactions are decided one at a time, in arrival order, against the state
 * that includes every transaction accepted before (durable or not yet):
 * validated whole (shape, schema, types, clock drift, unique values, write
 * permission on the before and after databases) and accepted or rejected as a
 * unit. Accepted transactions are committed in groups, one storage commit per
 * group, and only once a group is durable are its transactions acknowledged
 * and broadcast. If a commit fails, its group and everything accepted after
 * it are rolled back and refused with a retryable `storage-failed`: nothing
 * is acknowledged that was not stored.
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

export interface LogEvents extends Record<string, unknown> {
  /** Durable records, in order. */
  appended: readonly LogRecord[];
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
  readonly resolve: (outcome: Outcome) => void;
}

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
  private readonly waiting: Array<Accepted | Refused> = [];
  /** Accepted, not yet durable, by id: a resend waits for the same outcome. */
  private readonly inFlight = new Map<TxId, Promise<Outcome>>();
  private committing = false;
  private chain: Promise<void> = Promise.resolve();
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
      this.chain = this.chain
        .then(() => this.decide(identity, tx, resolve))
        .catch((error: unknown) => {
          this.options.onError(error);
          resolve({ accepted: false, error: { code: ErrorCode.Internal, message: 'the server failed to decide this transaction' } });
        });
    });
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
    const refusal = await this.check(identity, tx, txId);
    this.decidedCounters.set(tx.replica, lastCounter(tx));
    if (refusal !== null) {
      // Rejections are stored too (with the next commit), so a resend gets the same answer.
      this.waiting.push({ txId, ops: tx.ops.length, error: refusal, resolve });
    } else {
      const record = { position: ++this.assigned, tx };
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
      this.waiting.push({ record, resolve: done });
    }
    this.flush();
  }

  /** Null when `tx` may be accepted; else why not. Leaves it applied (tentatively) when accepted. */
  private async check(identity: Identity, tx: Transaction, txId: TxId): Promise<ErrorData | null> {
    try {
      validateTransaction(tx, this.schema.specs);
    } catch (error) {
      if (error instanceof DatsyncError) return error.toJSON();
      throw error;
    }
    const now = this.options.now();
    if (hlcWallMs(tx.hlc as Hlc) > now + this.options.maxDriftMs) {
      return { code: ErrorCode.ClockDrift, message: 'the transaction is stamped too far in the future: check this device\u2019s clock' };
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
      return { code: ErrorCode.UniqueConflict, message: `another entity already holds this value of unique attribute ${conflict}` };
    }
    let verdict: boolean | string;
    try {
      verdict = await this.options.canWrite({ identity, tx, txId, datoms: report.datoms, dbBefore, dbAfter: report.dbAfter });
    } catch (error) {
      undo();
      this.options.onError(error);
      return { code: ErrorCode.Forbidden, message: 'the write check failed' };
    }
    if (verdict !== true) {
      undo();
      return {
        code: ErrorCode.Forbidden,
        message: typeof verdict === 'string' && verdict.length > 0 ? verdict.slice(0, 500) : 'this write is not allowed',
      };
    }
    return null;
  }

  /** Starts a group commit of everything waiting, unless one is running. */
  private flush(): void {
    if (this.committing || this.waiting.length === 0) return;
    this.committing = true;
    const group = this.waiting.splice(0, this.waiting.length);
    const accepted = group.filter((item): item is Accepted => 'record' in item);
    const refused = group.filter((item): item is Refused => !('record' in item));
    this.storage
      .commit({
        log: accepted.map((item) => item.record),
        rejections: refused.map((item) => ({ txId: item.txId, code: item.error.code, message: item.error.message, ops: item.ops })),
      })
      .then(
        () => this.enqueue(() => this.committed(accepted, refused)),
        (error: unknown) => this.enqueue(() => this.failed(accepted, refused, error)),
      );
  }

  private enqueue(task: () => void): void {
    this.chain = this.chain.then(task).catch((error: unknown) => this.options.onError(error));
  }

  private committed(accepted: readonly Accepted[], refused: readonly Refused[]): void {
    const records = accepted.map((item) => item.record);
    for (const record of records) this.state.confirm(transactionId(record.tx));
    const last = records[records.length - 1];
    if (last !== undefined) this.headPosition = last.position;
    this.remember(records);
    for (const item of accepted) item.resolve({ accepted: true, position: item.record.position });
    for (const item of refused) item.resolve({ accepted: false, error: item.error });
    this.committing = false;
    if (records.length > 0) this.events.emit('appended', records);
    this.flush();
  }

  /** The group (and all accepted after it) is rolled back and refused: nothing unstored is acknowledged. */
  private failed(accepted: readonly Accepted[], refused: readonly Refused[], cause: unknown): void {
    this.options.onError(cause);
    const later = this.waiting.splice(0, this.waiting.length);
    const all = [...accepted, ...later.filter((item): item is Accepted => 'record' in item)];
    const error = unavailable(
      cause instanceof DatsyncError
        ? `the server could not store the transaction: ${cause.message}`
        : 'the server could not store the transaction',
      ErrorCode.StorageFailed,
    );
    for (const item of [...all].reverse()) this.projection.apply(this.state.reject(transactionId(item.record.tx)));
    for (const item of all) {
      // Its dots were never stored: the replica may send the same transaction again.
      this.decidedCounters.delete(item.record.tx.replica);
      item.resolve({ accepted: false, error });
    }
    for (const item of [...refused, ...later.filter((item): item is Refused => !('record' in item))]) {
      this.decidedCounters.delete(item.txId.slice(0, item.txId.lastIndexOf(':')) as ReplicaId);
      item.resolve({ accepted: false, error });
    }
    this.assigned = this.headPosition;
    this.committing = false;
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

  /** Stops taking transactions and waits for those in flight to be decided and stored. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    while (this.committing || this.waiting.length > 0) {
      await new Promise<void>((resolve) => {
        this.enqueue(resolve);
      });
      await this.chain;
    }
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
