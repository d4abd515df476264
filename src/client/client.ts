/**
 * `createClient`: the public face of a replica. It loads the replica from
 * storage, makes every local write durable before `transact` resolves, and
 * exposes DataScript queries, reactive subscriptions, history and conflicts.
 *
 * @module
 */
import type { EntityId, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
import {
  DatsyncError,
  decodeState,
  ErrorCode,
  encodeState,
  HLC_ZERO,
  isEntityId,
  isErrorCode,
  mintReplicaId,
  parseHlc,
  ReplicaState,
  transactionId,
} from '../../crdt/index.js';
import type { ExternalChange, LogRecord, Rejection, Storage } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { Db, Eid } from '../datascript/index.js';
import { pull as dsPull, q as dsQuery } from '../datascript/index.js';
import { Emitter } from '../emitter.js';
import type { ProjectedDatom } from '../projection/projection.js';
import { analyzePull, analyzeQuery } from '../query/dependencies.js';
import type { Schema, SchemaInput } from '../schema.js';
import { compileSchema } from '../schema.js';
import type { AsOfPoint, ConflictInfo, HistoryItem } from './inspect.js';
import { asOfDb, conflictInfos, historyItems } from './inspect.js';
import type { TxReport } from './replica.js';
import { Replica } from './replica.js';
import type { Unsubscribe } from './subscriptions.js';
import type { TxData } from './tx-forms.js';

/** An entity as the read API accepts it: an eid, a stable id, or a lookup ref. */
export type EntityLike = Eid | EntityId | readonly [string, unknown];

export interface ClientOptions {
  readonly schema: SchemaInput;
  /** Where the replica persists; in memory (nothing survives a reload) by default. */
  readonly storage?: Storage;
  /** The physical clock, in epoch milliseconds. */
  readonly now?: () => number;
  /** Random bytes, for minting this replica's id. */
  readonly randomBytes?: (length: number) => Uint8Array;
  /** How far ahead of our clock a remote timestamp may be (default 5 minutes). */
  readonly maxDriftMs?: number;
}

export interface RejectedEvent {
  readonly txId: TxId;
  readonly error: DatsyncError;
  /** What the rollback removed from (and restored to) the projection. */
  readonly datoms: readonly ProjectedDatom[];
}

export interface ClientEvents extends Record<string, unknown> {
  /** A local transaction was refused (by the server, or by storage) and rolled back. */
  rejected: RejectedEvent;
  /** An error no caller could receive (a throwing subscription callback, a failed background write). */
  error: unknown;
  /** The replica now holds the server's log up to this position. */
  position: { readonly position: number };
}

export interface DatsyncClient {
  readonly replicaId: ReplicaId;
  /** Validates, applies optimistically and persists a transaction; resolves once it is durable. */
  transact(txData: TxData): Promise<TxReport>;
  /** The current database value. */
  db(): Db;
  q<Result = unknown>(query: string, ...inputs: readonly unknown[]): Result;
  pull(pattern: string, entity: EntityLike): Record<string, unknown> | null;
  /** Calls `callback` with the query's result now, and again whenever a transaction changes it. */
  subscribe<Result = unknown>(query: string, inputs: readonly unknown[], callback: (result: Result) => void): Unsubscribe;
  /** Calls `callback` with the pull's result now, and again whenever a transaction changes it. */
  subscribePull(pattern: string, entity: EntityLike, callback: (result: Record<string, unknown> | null) => void): Unsubscribe;
  /** Every version of one attribute of one entity, oldest first. */
  history(entity: EntityLike, attribute: string): HistoryItem[];
  /** The database as of a transaction or a time. */
  asOf(point: AsOfPoint): Db;
  /** Attributes holding concurrent siblings, and unique values claimed twice. */
  conflicts(entity?: EntityLike): ConflictInfo[];
  /** The stable id of an eid, and back. */
  entityId(eid: Eid): EntityId | undefined;
  eid(entity: EntityLike): Eid | undefined;
  on<Name extends keyof ClientEvents>(name: Name, listener: (payload: ClientEvents[Name]) => void): () => void;
  close(): Promise<void>;
}

function defaultRandomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/**
 * Opens a replica: restores it from `storage` (snapshot, then the log tail,
 * then the outbox), or starts a new one under a freshly minted replica id.
 *
 * @example
 * const client = await createClient({ schema: { 'task/title': { ':db/valueType': ':db.type/string' } } });
 * const { tempids } = await client.transact([{ ':db/id': 'new', 'task/title': 'Write docs' }]);
 * client.q('[:find ?t :where [?e "task/title" ?t]]'); // [['Write docs']]
 */
export async function createClient(options: ClientOptions): Promise<DatsyncClient> {
  const schema = compileSchema(options.schema);
  const storage = options.storage ?? new MemoryStorage();
  const now = options.now ?? Date.now;
  const meta = await storage.meta();
  let replicaId = meta.replicaId;
  if (replicaId === undefined) {
    // Empty storage: a new replica. An id never outlives its storage, so no dot is ever issued twice.
    replicaId = mintReplicaId((options.randomBytes ?? defaultRandomBytes)(16));
    await storage.commit({ meta: { replicaId, issuedUpTo: 0, hlc: 0, schemaFingerprint: schema.fingerprint } });
  }
  const confirmed = await loadConfirmed(storage, schema);
  const pending = await storage.outbox();
  const replica = new Replica({
    schema,
    replicaId,
    issuedUpTo: meta.issuedUpTo ?? 0,
    hlc: meta.hlc === undefined ? HLC_ZERO : parseHlc(meta.hlc),
    now,
    ...(options.maxDriftMs === undefined ? {} : { maxDriftMs: options.maxDriftMs }),
    confirmed,
    pending,
    onError: (error) => client.emitError(error),
  });
  const client = new Client(replica, storage, meta.serverPosition ?? (await storage.snapshot())?.position ?? 0);
  return client;
}

async function loadConfirmed(storage: Storage, schema: Schema): Promise<ReplicaState> {
  const snapshot = await storage.snapshot();
  let state: ReplicaState;
  try {
    state = snapshot === undefined ? new ReplicaState(schema.specs) : decodeState(snapshot.state, schema.specs);
  } catch (error) {
    if (error instanceof DatsyncError && error.code === ErrorCode.UnknownAttribute) {
      throw new DatsyncError(
        ErrorCode.InvalidSchema,
        `storage ${storage.name} holds data for attributes this schema does not declare`,
        error.details,
        { cause: error },
      );
    }
    throw error;
  }
  let after = snapshot?.position ?? 0;
  for (;;) {
    const records = await storage.readLog(after, 1000);
    for (const record of records) state.applyTransaction(record.tx);
    const last = records[records.length - 1];
    if (last === undefined) break;
    after = last.position;
  }
  return state;
}

/** The client; internal methods serve the sync layer and tests, the public surface is `DatsyncClient`. */
export class Client implements DatsyncClient {
  readonly replica: Replica;
  readonly storage: Storage;
  private readonly events = new Emitter<ClientEvents>((error) => this.emitError(error));
  private closed = false;
  /** The last server log position applied to the confirmed state. */
  private position: number;
  /** Log records applied since the last snapshot; past `compactAfter` the log is compacted. */
  private sinceSnapshot = 0;
  private readonly compactAfter = 2000;
  private compacting: Promise<void> | undefined;
  private readonly stopWatching: () => void;
  /** Storage work from other tabs is applied one change at a time, in order. */
  private external: Promise<void> = Promise.resolve();

  constructor(replica: Replica, storage: Storage, position: number) {
    this.replica = replica;
    this.storage = storage;
    this.position = position;
    this.stopWatching =
      storage.watch?.((change) => {
        this.external = this.external.then(() => this.applyExternal(change)).catch((error: unknown) => this.emitError(error));
      }) ?? (() => undefined);
  }

  /** The last server log position this replica holds. */
  get serverPosition(): number {
    return this.position;
  }

  /**
   * Takes what the server decided: confirmed transactions in log order (ours
   * among them are thereby acknowledged) and rejections of ours. Persisted
   * first, in one commit, then applied; internal, for the sync layer.
   */
  async receive(records: readonly LogRecord[], rejections: readonly Rejection[] = []): Promise<void> {
    this.ensureOpen();
    const fresh = records.filter((record) => record.position > this.position);
    const last = fresh[fresh.length - 1];
    const acknowledged = fresh.map((record) => transactionId(record.tx)).filter((id) => this.replica.state.isPending(id));
    await this.storage.commit({
      log: fresh,
      outboxRemove: [...acknowledged, ...rejections.map((r) => r.txId)],
      rejections,
      meta: { ...(last === undefined ? {} : { serverPosition: last.position }), hlc: this.replica.author.clock.current },
    });
    this.applyDecided(fresh, rejections);
  }

  private applyDecided(records: readonly LogRecord[], rejections: readonly Rejection[]): void {
    const fresh = records.filter((record) => record.position > this.position);
    if (fresh.length > 0) {
      this.replica.applyRemote(fresh.map((record) => record.tx));
      this.position = (fresh[fresh.length - 1] as LogRecord).position;
      this.sinceSnapshot += fresh.length;
      this.events.emit('position', { position: this.position });
    }
    for (const rejection of rejections) {
      if (!this.replica.state.isPending(rejection.txId)) continue;
      const error = new DatsyncError(isErrorCode(rejection.code) ? rejection.code : ErrorCode.Rejected, rejection.message);
      const report = this.replica.reject(rejection.txId);
      this.events.emit('rejected', { txId: rejection.txId, error, datoms: report.datoms });
    }
    if (this.sinceSnapshot >= this.compactAfter && this.compacting === undefined) {
      this.compacting = this.compact()
        .catch((error: unknown) => this.emitError(error))
        .finally(() => {
          this.compacting = undefined;
        });
    }
  }

  /** What another tab wrote to the same storage: show it here too. */
  private async applyExternal(change: ExternalChange): Promise<void> {
    if (this.closed) return;
    if (change.kind === 'outbox-added') this.replica.applyForeignPending(change.txs);
    else if (change.kind === 'outbox-removed') this.applyDecided([], change.rejections);
    else {
      for (;;) {
        const records = await this.storage.readLog(this.position, 1000);
        if (records.length === 0) break;
        this.applyDecided(records, []);
      }
    }
  }

  /**
   * Writes a snapshot of the confirmed state and drops the log it covers, so
   * a later start-up decodes one snapshot instead of replaying the log.
   */
  async compact(): Promise<void> {
    this.ensureOpen();
    const position = this.position;
    await this.storage.putSnapshot({ state: encodeState(this.replica.state.confirmed), position });
    await this.storage.compact(position);
    this.sinceSnapshot = 0;
  }

  get replicaId(): ReplicaId {
    return this.replica.replicaId;
  }

  emitError(error: unknown): void {
    this.events.emit('error', error);
  }

  private ensureOpen(): void {
    if (this.closed) throw new DatsyncError(ErrorCode.Closed, 'the client is closed');
  }

  async transact(txData: TxData): Promise<TxReport> {
    this.ensureOpen();
    const prepared = this.replica.prepare(txData);
    const report = this.replica.applyLocal(prepared);
    const tx = prepared.tx;
    if (tx === null) return report;
    try {
      await this.storage.commit({
        outboxAdd: [tx],
        meta: { issuedUpTo: this.replica.author.issuedUpTo, hlc: this.replica.author.clock.current },
      });
    } catch (cause) {
      const error =
        cause instanceof DatsyncError
          ? cause
          : new DatsyncError(ErrorCode.StorageFailed, `could not persist the transaction in ${this.storage.name}`, undefined, { cause });
      this.rollback(tx, error);
      throw error;
    }
    return report;
  }

  /** Rolls a local transaction back and tells listeners why. */
  rollback(tx: Transaction, error: DatsyncError): void {
    const txId = transactionId(tx);
    if (!this.replica.state.isPending(txId)) return;
    const report = this.replica.reject(txId);
    this.events.emit('rejected', { txId, error, datoms: report.datoms });
  }

  db(): Db {
    return this.replica.db;
  }

  q<Result = unknown>(query: string, ...inputs: readonly unknown[]): Result {
    return runQuery<Result>(query, this.replica.db, inputs);
  }

  pull(pattern: string, entity: EntityLike): Record<string, unknown> | null {
    const eid = this.eid(entity);
    if (eid === undefined) return null;
    return runPull(pattern, this.replica.db, eid);
  }

  subscribe<Result = unknown>(query: string, inputs: readonly unknown[], callback: (result: Result) => void): Unsubscribe {
    this.ensureOpen();
    const analysis = guard(() => analyzeQuery(query));
    return this.replica.subscribe<Result>({
      dependencies: analysis,
      shape: analysis.shape,
      run: (db) => runQuery<Result>(query, db, inputs),
      callback,
    });
  }

  subscribePull(pattern: string, entity: EntityLike, callback: (result: Record<string, unknown> | null) => void): Unsubscribe {
    this.ensureOpen();
    const analysis = guard(() => analyzePull(pattern));
    // A stable id gets an eid even before its entity arrives, so the pull fills in when it does.
    const fixed = typeof entity === 'number' ? entity : isEntityId(entity) ? this.replica.projection.eid(entity) : undefined;
    if (typeof entity === 'string' && fixed === undefined) throw new DatsyncError(ErrorCode.UnknownEntity, 'not a stable entity id');
    const run = (db: Db): Record<string, unknown> | null => {
      const eid = fixed ?? this.eid(entity);
      return eid === undefined ? null : runPull(pattern, db, eid);
    };
    return this.replica.subscribe({
      dependencies: fixed === undefined && Array.isArray(entity) ? { attributes: null } : analysis,
      shape: 'pull',
      ...(analysis.flat && fixed !== undefined ? { entity: fixed } : {}),
      run,
      callback,
    });
  }

  history(entity: EntityLike, attribute: string): HistoryItem[] {
    return historyItems(this.replica, this.replica.entityIdOf(entity), this.replica.attribute(attribute));
  }

  asOf(point: AsOfPoint): Db {
    return asOfDb(this.replica, point);
  }

  conflicts(entity?: EntityLike): ConflictInfo[] {
    return conflictInfos(this.replica, entity === undefined ? undefined : this.replica.entityIdOf(entity));
  }

  entityId(eid: Eid): EntityId | undefined {
    return this.replica.projection.entityId(eid);
  }

  eid(entity: EntityLike): Eid | undefined {
    try {
      return this.replica.projection.existingEid(this.replica.entityIdOf(entity));
    } catch (error) {
      if (error instanceof DatsyncError && error.code === ErrorCode.UnknownEntity) return undefined;
      throw error;
    }
  }

  on<Name extends keyof ClientEvents>(name: Name, listener: (payload: ClientEvents[Name]) => void): () => void {
    return this.events.on(name, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    await this.compacting;
    this.replica.close();
    this.events.clear();
    await this.storage.close();
  }
}

function guard<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof DatsyncError) throw new DatsyncError(ErrorCode.InvalidQuery, error.message, undefined, { cause: error });
    throw error;
  }
}

function runQuery<Result>(query: string, db: Db, inputs: readonly unknown[]): Result {
  if (typeof query !== 'string') throw new DatsyncError(ErrorCode.InvalidQuery, 'a query must be an EDN string');
  try {
    return dsQuery<Result>(query, db, ...inputs);
  } catch (cause) {
    throw new DatsyncError(
      ErrorCode.InvalidQuery,
      `query failed: ${cause instanceof Error ? cause.message.slice(0, 300) : 'unknown error'}`,
      undefined,
      { cause },
    );
  }
}

function runPull(pattern: string, db: Db, eid: Eid): Record<string, unknown> | null {
  if (typeof pattern !== 'string') throw new DatsyncError(ErrorCode.InvalidQuery, 'a pull pattern must be an EDN string');
  try {
    return dsPull(db, pattern, eid);
  } catch (cause) {
    throw new DatsyncError(
      ErrorCode.InvalidQuery,
      `pull failed: ${cause instanceof Error ? cause.message.slice(0, 300) : 'unknown error'}`,
      undefined,
      { cause },
    );
  }
}
