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
  HLC_ZERO,
  isEntityId,
  mintReplicaId,
  parseHlc,
  parseTxId,
  ReplicaState,
  transactionId,
  validateTransaction,
} from '../../crdt/index.js';
import type { LogRecord, Rejection, Storage } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { Db, Eid } from '../datascript/index.js';
import { datoms, pull as dsPull, q as dsQuery } from '../datascript/index.js';
import { Emitter } from '../emitter.js';
import { DEFAULT_LIMITS, unsendable } from '../protocol/index.js';
import { analyzePull, analyzeQuery, lookupRefAttributes, withAttributes } from '../query/dependencies.js';
import type { Schema } from '../schema.js';
import { compileSchema, ENTITY_ID_ATTR } from '../schema.js';
import type { ClientEvents, ClientOptions, DatsyncClient, EntityLike, ScopeHandle, ScopeQuery, ScopeSpec, TransactOptions } from './api.js';
import type { Draft } from './draft.js';
import type { DraftHost } from './draft-host.js';
import type { OpenDraftOptions } from './drafts.js';
import { createDraftHost, deliverPendingCloses, openDraft } from './drafts.js';
import type { AsOfPoint, ConflictInfo, HistoryItem } from './inspect.js';
import { asOfDb, conflictInfos, historyItems } from './inspect.js';
import { ConfirmedIntake } from './intake.js';
import { planReissue } from './reissue.js';
import type { PreparedTx, TxReport } from './replica.js';
import { Replica } from './replica.js';
import type { Unsubscribe } from './subscriptions.js';
import type { ConnectionStatus, SyncOptions } from './sync.js';
import { SyncConnection } from './sync.js';
import type { TxData } from './tx-forms.js';

/** How far ahead of the server's clock a write may be stamped before the client stamps it again. */
const CLOCK_AHEAD_MARGIN_MS = 60_000;

/** The physical clock, and the correction the server's clock gives it. */
interface ClientClock {
  physical(): number;
  setOffset(offset: number): void;
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
  const baseNow = options.now ?? Date.now;
  // Corrected by the server's clock at each welcome, so our stamps pass its drift check.
  const clock = { offset: 0 };
  const now = (): number => baseNow() + clock.offset;
  const meta = await storage.meta();
  let replicaId = meta.replicaId;
  if (replicaId === undefined) {
    // Empty storage: a new replica. An id never outlives its storage, so no dot is ever issued twice.
    replicaId = mintReplicaId((options.randomBytes ?? defaultRandomBytes)(16));
    await storage.commit({ meta: { replicaId, issuedUpTo: 0, hlc: 0, schemaFingerprint: schema.fingerprint } });
  }
  const { state: confirmed, snapshotPosition } = await loadConfirmed(storage, schema);
  const pending = await storage.outbox();
  for (const tx of pending) storedData(storage, () => validateTransaction(tx, schema.specs));
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
  // A snapshot stored just before a crash may be ahead of the stored position: it covers everything before it.
  const position = Math.max(meta.serverPosition ?? 0, snapshotPosition);
  const scopes = options.scopes !== undefined ? options.scopes : ((meta.scopes as ScopeSpec[] | null | undefined) ?? null);
  if (options.scopes !== undefined) {
    checkScopes(options.scopes);
    await storage.commit({ meta: { scopes: options.scopes } });
  }
  const client = new Client(
    replica,
    storage,
    position,
    meta.logId ?? null,
    scopes,
    {
      physical: baseNow,
      setOffset: (offset) => {
        clock.offset = offset;
      },
    },
    options.randomBytes ?? defaultRandomBytes,
  );
  if (options.url !== undefined) {
    client.connect({
      url: options.url,
      failoverUrls: options.failoverUrls,
      token: options.token,
      WebSocket: options.WebSocket,
      initialBackoffMs: options.reconnect?.initialMs,
      maxBackoffMs: options.reconnect?.maxMs,
      heartbeatMs: options.reconnect?.heartbeatMs,
      scheduler: options.scheduler,
    });
  }
  return client;
}

/** Stored data the schema does not accept (the app's schema changed incompatibly) is a schema error. */
function storedData<T>(storage: Storage, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof DatsyncError && (error.code === ErrorCode.UnknownAttribute || error.code === ErrorCode.InvalidValue)) {
      throw new DatsyncError(
        ErrorCode.InvalidSchema,
        `storage ${storage.name} holds data this schema does not accept: ${error.message}`,
        error.details,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** The confirmed state (snapshot, then the log after it); the snapshot is read once, since it can be megabytes. */
async function loadConfirmed(storage: Storage, schema: Schema): Promise<{ state: ReplicaState; snapshotPosition: number }> {
  const snapshot = await storage.snapshot();
  const state = storedData(storage, () =>
    snapshot === undefined ? new ReplicaState(schema.specs) : decodeState(snapshot.state, schema.specs),
  );
  let after = snapshot?.position ?? 0;
  for (;;) {
    const records = await storage.readLog(after, 1000);
    for (const record of records) {
      storedData(storage, () => validateTransaction(record.tx, schema.specs));
      state.applyTransaction(record.tx);
    }
    const last = records[records.length - 1];
    if (last === undefined) break;
    after = last.position;
  }
  return { state, snapshotPosition: snapshot?.position ?? 0 };
}

/** The client; internal methods serve the sync layer and tests, the public surface is `DatsyncClient`. */
export class Client implements DatsyncClient {
  readonly replica: Replica;
  readonly storage: Storage;
  // A throwing 'error' listener must not be reported through 'error' again (that would never end).
  private readonly events = new Emitter<ClientEvents>((error, name) => (name === 'error' ? reportUncaught(error) : this.emitError(error)));
  readonly intake: ConfirmedIntake;
  private sync: SyncConnection | undefined;
  private syncOptions: SyncOptions | undefined;
  private draftHostValue: DraftHost | undefined;
  private readonly drafts = new Set<Draft>();
  private readonly clock: ClientClock;
  /** A fresh replica id, for starting over (see `reissue`). */
  private readonly mintReplica: () => ReplicaId;
  private closed = false;
  private declaredScopes: ScopeSpec[] | null;
  private readonly stopWatching: () => void;
  /** Storage work from other tabs is applied one change at a time, in order. */
  private external: Promise<void> = Promise.resolve();

  constructor(
    replica: Replica,
    storage: Storage,
    position: number,
    logId: string | null,
    scopes: readonly ScopeSpec[] | null,
    clock: ClientClock,
    randomBytes: (length: number) => Uint8Array = defaultRandomBytes,
  ) {
    this.mintReplica = () => mintReplicaId(randomBytes(16));
    this.replica = replica;
    this.storage = storage;
    this.declaredScopes = scopes === null ? null : [...scopes];
    this.clock = clock;
    this.intake = new ConfirmedIntake(replica, storage, this.events, position, logId);
    this.stopWatching =
      storage.watch?.((change) => {
        this.external = this.external
          .then(() => (this.closed ? undefined : this.intake.external(change)))
          .catch((error: unknown) => this.emitError(error));
      }) ?? (() => undefined);
  }

  /** Starts syncing with a server. */
  connect(options: SyncOptions): void {
    this.sync?.stop();
    this.syncOptions = options;
    const intake = this.intake;
    const replica = this.replica;
    this.sync = new SyncConnection(
      {
        get replicaId() {
          return replica.replicaId;
        },
        get serverPosition() {
          return intake.position;
        },
        get logId() {
          return intake.logId;
        },
        get issuedUpTo() {
          return replica.author.issuedUpTo;
        },
        schemaFingerprint: replica.schema.fingerprint,
        outbox: () => this.outbox(),
        ownTransaction: (id) => intake.strong.get(id)?.tx ?? replica.state.pending().find((tx) => transactionId(tx) === id),
        receive: (records, rejections, through) => intake.receive(records, rejections, through),
        scopes: () => this.declaredScopes,
        specs: replica.schema.specs,
        installSnapshot: (position, bytes) => intake.installSnapshot(position, bytes),
        replaceRegisters: (position, entries) => intake.replaceRegisters(position, entries),
        adoptLog: (logId) => intake.adoptLog(logId),
        setClockOffset: (offset, decided) => this.correctClock(offset, decided),
        now: () => this.clock.physical(),
        replicaReused: (txId) => this.reissue(txId),
        status: (status) => this.events.emit('status', status),
        error: (error) => this.emitError(error),
      },
      options,
    );
    this.sync.start();
    for (const draft of this.drafts) draft.resume();
    void deliverPendingCloses(this.draftHost()).catch((error: unknown) => this.emitError(error));
  }

  /**
   * Opens the collaborative draft of `entity` (null: of a new entity), shared
   * live with co-editors through the server and kept out of the views until
   * committed. See docs/drafts.md.
   */
  async openDraft(entity: EntityId | null, options: OpenDraftOptions = {}): Promise<Draft> {
    this.ensureOpen();
    const draft = await openDraft(this.draftHost(), entity, options, (id) => {
      const eid = this.replica.projection.existingEid(id);
      if (eid === undefined) return [];
      return [...new Set(datoms(this.replica.db, ':eavt', eid).map((d) => d.a))].filter((a) => a !== ENTITY_ID_ATTR);
    });
    this.drafts.add(draft);
    void draft.ended.then(() => this.drafts.delete(draft));
    return draft;
  }

  private draftHost(): DraftHost {
    this.draftHostValue ??= createDraftHost({
      storage: this.storage,
      schema: this.replica.schema,
      values: (entity, attribute) => this.replica.state.values(entity, attribute),
      transact: (txData) => this.transact(txData, { confirmed: true }),
      now: () => Date.now(),
      error: (error) => this.emitError(error),
      syncOptions: () => this.syncOptions,
      online: () => this.status === 'live',
      onStatus: (listener) => this.events.on('status', listener),
    });
    return this.draftHostValue;
  }

  /**
   * Takes the server's clock (at each welcome). Writes stamped far ahead of
   * it (this device's clock ran ahead) are written again, stamped now, before
   * anything is pushed: the server would refuse them, and the clock would
   * otherwise stamp every later write ahead too.
   */
  private async correctClock(offset: number, decided: number): Promise<void> {
    this.clock.setOffset(offset);
    const redone = this.replica.restampAhead(decided, CLOCK_AHEAD_MARGIN_MS);
    if (redone === null) return;
    await this.storage.commit({
      outboxRemove: redone.removed,
      outboxAdd: redone.added,
      meta: { issuedUpTo: this.replica.author.issuedUpTo, hlc: this.replica.author.clock.current },
    });
  }

  /** The scopes this client declared (null: everything it may read). */
  get scopes(): readonly ScopeSpec[] | null {
    return this.declaredScopes;
  }

  async setScopes(scopes: readonly ScopeSpec[] | null): Promise<void> {
    this.ensureOpen();
    checkScopes(scopes);
    this.declaredScopes = scopes === null ? null : [...scopes];
    await this.storage.commit({ meta: { scopes: this.declaredScopes } });
    this.sync?.sendScopes(this.declaredScopes);
  }

  async scope(name: string, spec: ScopeQuery): Promise<ScopeHandle> {
    const rest = (this.declaredScopes ?? []).filter((scope) => scope.name !== name);
    await this.setScopes([...rest, { ...spec, name } as ScopeSpec]);
    return { name, drop: () => this.dropScope(name) };
  }

  async dropScope(name: string): Promise<void> {
    if (this.declaredScopes === null) return;
    await this.setScopes(this.declaredScopes.filter((scope) => scope.name !== name));
  }

  /** Stops syncing (the client keeps working offline); `connect` starts again. */
  disconnect(): void {
    this.sync?.stop();
    for (const draft of this.drafts) draft.pause();
  }

  /**
   * Another copy of this replica used `txId` (see `reissue.ts`): continues
   * under a new replica id, its writes from there on written again under it,
   * and persists that in one commit. False when `txId` is not this replica's.
   */
  private async reissue(txId: TxId): Promise<boolean> {
    const { replica: from, counter } = parseTxId(txId);
    const replica = this.replica;
    if (from !== replica.replicaId || this.closed) return false;
    const redo = this.outbox().filter((tx) => tx.replica === from && tx.counter >= counter);
    const to = this.mintReplica();
    const plan = planReissue(redo, from, counter, to, replica.schema.specs);
    const added = replica.reissue(to, plan.reserved, redo, (tx) => plan.intents(tx));
    const fresh: Transaction[] = [];
    redo.forEach((tx, i) => {
      const again = added[i] ?? null;
      if (again !== null) fresh.push(again);
      const waiter = this.intake.strong.get(transactionId(tx));
      if (waiter === undefined) return;
      this.intake.strong.delete(transactionId(tx));
      const entityIds = Object.fromEntries(
        Object.entries(waiter.entityIds).map(([temp, id]) => [temp, plan.renamed.get(id as EntityId) ?? id]),
      );
      if (again !== null) this.intake.strong.set(transactionId(again), { ...waiter, tx: again, entityIds });
      else {
        const db = replica.db;
        waiter.resolve({
          txId: null,
          tempids: waiter.tempids,
          entityIds: entityIds as TxReport['entityIds'],
          datoms: [],
          dbBefore: db,
          dbAfter: db,
        });
      }
    });
    await this.storage.commit({
      outboxRemove: redo.map(transactionId),
      outboxAdd: fresh,
      meta: { replicaId: to, issuedUpTo: replica.author.issuedUpTo, hlc: replica.author.clock.current },
    });
    this.events.emit('pending', { count: this.pendingCount });
    return true;
  }

  /** Local writes the server has not decided, oldest first (every tab's, so none is stranded). */
  private outbox(): Transaction[] {
    const all = [...this.replica.state.pending(), ...[...this.intake.strong.values()].map((waiter) => waiter.tx)];
    return all.sort((a, b) => (a.replica === b.replica ? a.counter - b.counter : 0));
  }

  /** The last server log position this replica holds. */
  get serverPosition(): number {
    return this.intake.position;
  }

  get status(): ConnectionStatus {
    return this.sync?.status ?? 'offline';
  }

  get pendingCount(): number {
    return this.intake.pendingCount;
  }

  /** Takes what the server decided (internal: the sync layer and tests call it). */
  receive(records: readonly LogRecord[], rejections: readonly Rejection[] = [], through = 0): Promise<void> {
    this.ensureOpen();
    return this.intake.receive(records, rejections, through);
  }

  /** Writes a snapshot of the confirmed state and drops the log it covers. */
  compact(): Promise<void> {
    this.ensureOpen();
    return this.intake.compact();
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

  async transact(txData: TxData, options: TransactOptions = {}): Promise<TxReport> {
    this.ensureOpen();
    if (options.confirmed === true) return this.transactConfirmed(txData);
    const prepared = this.prepare(txData);
    const report = this.replica.applyLocal(prepared);
    const tx = prepared.tx;
    if (tx === null) return report;
    this.events.emit('pending', { count: this.pendingCount });
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
      this.intake.rollback(tx, error);
      throw error;
    }
    // Only what is durable leaves this replica.
    this.sync?.push([tx]);
    return report;
  }

  /**
   * Reads and authors a transaction, refusing one that could never be sent
   * (over the server's frame limit or op limit) before anything shows it.
   */
  private prepare(txData: TxData): PreparedTx {
    const prepared = this.replica.prepare(txData);
    const tooLarge = prepared.tx === null ? undefined : unsendable(prepared.tx, this.sync?.limits ?? DEFAULT_LIMITS);
    if (tooLarge !== undefined) throw tooLarge;
    return prepared;
  }

  /** Strong mode: stored in the outbox, shown only once the server accepts it. */
  private async transactConfirmed(txData: TxData): Promise<TxReport> {
    if (this.sync === undefined) throw new DatsyncError(ErrorCode.Unavailable, 'strong mode needs a server: pass url to createClient');
    const prepared = this.prepare(txData);
    const tx = prepared.tx;
    const tempids: Record<string, number> = {};
    const entityIds: Record<string, string> = {};
    for (const [temp, id] of prepared.tempids) {
      tempids[temp] = this.replica.projection.eid(id);
      entityIds[temp] = id;
    }
    if (tx === null) {
      const db = this.replica.db;
      return { txId: null, tempids, entityIds: entityIds as TxReport['entityIds'], datoms: [], dbBefore: db, dbAfter: db };
    }
    const decided = new Promise<TxReport>((resolve, reject) => {
      this.intake.strong.set(transactionId(tx), { tx, tempids, entityIds, resolve, reject });
    });
    try {
      await this.storage.commit({
        outboxAdd: [tx],
        meta: { issuedUpTo: this.replica.author.issuedUpTo, hlc: this.replica.author.clock.current },
      });
    } catch (cause) {
      this.intake.strong.delete(transactionId(tx));
      throw cause instanceof DatsyncError
        ? cause
        : new DatsyncError(ErrorCode.StorageFailed, `could not persist the transaction in ${this.storage.name}`, undefined, { cause });
    }
    this.events.emit('pending', { count: this.pendingCount });
    this.sync.push([tx]);
    return decided;
  }

  async whenSynced(): Promise<void> {
    this.ensureOpen();
    const sync = this.sync;
    if (sync === undefined) throw new DatsyncError(ErrorCode.Unavailable, 'whenSynced needs a server: pass url to createClient');
    const head = await this.untilConnected(() => sync.askHead());
    await new Promise<void>((resolve) => {
      const check = (): boolean => {
        if (this.pendingCount > 0 || this.intake.position < head) return false;
        stopPosition();
        stopPending();
        resolve();
        return true;
      };
      const stopPosition = this.events.on('position', () => void check());
      const stopPending = this.events.on('pending', () => void check());
      check();
    });
  }

  /** Runs `ask` once connected, waiting through reconnects. */
  private async untilConnected<T>(ask: () => Promise<T>): Promise<T> {
    for (;;) {
      this.ensureOpen();
      if (this.status === 'catching-up' || this.status === 'live') {
        try {
          return await ask();
        } catch (error) {
          if (!(error instanceof DatsyncError) || error.code !== ErrorCode.Unavailable) throw error;
        }
      }
      await new Promise<void>((resolve) => {
        const stop = this.events.on('status', (status) => {
          if (status === 'catching-up' || status === 'live') {
            stop();
            resolve();
          }
        });
      });
    }
  }

  /** Rolls a local transaction back and tells listeners why. */
  rollback(tx: Transaction, error: DatsyncError): void {
    this.intake.rollback(tx, error);
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
    // Scoped only to an entity named for good: a lookup ref on another attribute may come to name another entity.
    const entity = analysis.entityInput === null ? undefined : this.fixedEid(inputs[analysis.entityInput]);
    return this.replica.subscribe<Result>({
      dependencies: withAttributes(analysis, lookupRefAttributes(inputs)),
      shape: analysis.shape,
      ...(entity === undefined ? {} : { entity }),
      run: (db) => runQuery<Result>(query, db, inputs),
      callback,
    });
  }

  subscribePull(pattern: string, entity: EntityLike, callback: (result: Record<string, unknown> | null) => void): Unsubscribe {
    this.ensureOpen();
    const analysis = guard(() => analyzePull(pattern));
    const fixed = this.fixedEid(entity);
    if (typeof entity === 'string' && fixed === undefined) throw new DatsyncError(ErrorCode.UnknownEntity, 'not a stable entity id');
    const run = (db: Db): Record<string, unknown> | null => {
      const eid = fixed ?? this.eid(entity);
      return eid === undefined ? null : runPull(pattern, db, eid);
    };
    return this.replica.subscribe({
      // A lookup ref names whichever entity holds its value: the pull depends on that attribute too.
      dependencies: fixed === undefined ? withAttributes(analysis, lookupRefAttributes([entity])) : analysis,
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

  /**
   * The eid of an entity named for good (an eid, a stable id, a `datsync/id`
   * lookup ref), which a stable id gets even before its entity arrives so a
   * subscription fills in when it does; undefined for anything else.
   */
  private fixedEid(entity: unknown): Eid | undefined {
    if (typeof entity === 'number') return entity;
    const id = Array.isArray(entity) && entity.length === 2 && entity[0] === ENTITY_ID_ATTR ? entity[1] : entity;
    return isEntityId(id) ? this.replica.projection.eid(id) : undefined;
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
    this.sync?.stop();
    for (const draft of this.drafts) draft.stop();
    this.stopWatching();
    await this.external;
    await this.intake.close();
    this.replica.close();
    this.events.clear();
    await this.storage.close();
  }
}

/** Scopes are checked by the server; here only their shape, so a typo fails at the call. */
function checkScopes(scopes: readonly ScopeSpec[] | null): void {
  if (scopes === null) return;
  if (!Array.isArray(scopes)) throw new DatsyncError(ErrorCode.InvalidQuery, 'scopes must be a list (or null for everything readable)');
  const names = new Set<string>();
  for (const scope of scopes) {
    if (typeof scope !== 'object' || scope === null || typeof scope.name !== 'string' || scope.name.length === 0) {
      throw new DatsyncError(ErrorCode.InvalidQuery, 'every scope needs a name');
    }
    if (names.has(scope.name)) throw new DatsyncError(ErrorCode.InvalidQuery, `scope ${scope.name} is declared twice`);
    names.add(scope.name);
    if (!('query' in scope && typeof scope.query === 'string') && !('pull' in scope && typeof scope.pull === 'string')) {
      throw new DatsyncError(ErrorCode.InvalidQuery, `scope ${scope.name} needs a query or a pull pattern`);
    }
    if ('query' in scope) analyzeQuery(scope.query);
    else analyzePull(scope.pull);
  }
}

function reportUncaught(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
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
