/**
 * IndexedDB storage on `idb`, for browsers (log chunks: `indexeddb-chunks.ts`).
 *
 * Layout (version 4; `upgrades` holds one step per version):
 * - `log`: the confirmed log in chunks of consecutive records, keyed by the
 *   chunk's last position. A record holds the chunk's transactions together,
 *   as columns (`LogColumns`; version 1 wrote them in the core's binary
 *   encoding, which is still read), about 48 KiB of them at most, so writing
 *   100,000 datoms takes some tens of records, not 100,000 (one record per
 *   datom is 50x slower in Chromium). No index (version 4 dropped the one of
 *   transaction ids).
 * - `outbox`: one record per local transaction (its ops encoded), in order.
 * - `rejections`, `meta`, `snapshot`.
 * - `drafts` (version 3): collaborative drafts this client edits, by key.
 *
 * Every `commit` is ONE readwrite transaction over the stores it touches, and
 * resolves on `tx.done`; a commit holding local writes asks for strict
 * durability (flushed to disk). Quota and blocked upgrades surface as
 * `quota-exceeded` and `storage-blocked`.
 *
 * Several tabs: each tab is its own replica, with its own replica id leased
 * through a Web Lock (a reloaded tab takes a free id back, so ids do not
 * multiply), over one shared log and outbox. A BroadcastChannel tells the
 * other tabs what a commit changed, and they apply it (see `watch`). See
 * docs/storage.md.
 *
 * @module
 */
import type { DBSchema, IDBPDatabase, IDBPObjectStore, IDBPTransaction, StoreNames } from 'idb';
import { openDB } from 'idb';
import type { ReplicaId, Transaction, TxId, VersionVector } from '../crdt/index.js';
import { DatsyncError, decodeTransactions, ErrorCode, encodeTransactions, lastCounter, transactionId } from '../crdt/index.js';
import type { CommitBatch, DraftSummary, ExternalChange, LogRecord, Meta, Rejection, Snapshot, Storage, StoredDraft } from './contract.js';
import type { Chunk } from './indexeddb-chunks.js';
import { chunkTransactions, toChunks } from './indexeddb-chunks.js';
import { lacks, recordsToAppend, rejectedCounter } from './shared.js';

/** The stored snapshot's position, read from its index (the snapshot itself can be megabytes). */
async function snapshotPositionIn(store: {
  index(name: 'position'): { openKeyCursor(query: null, direction: 'prev'): Promise<{ readonly key: number } | null> };
}): Promise<number | undefined> {
  return (await store.index('position').openKeyCursor(null, 'prev'))?.key;
}

/** Whether the log already holds `record`'s transaction at its position (found by position: no index needed). */
async function holds(log: { get(query: IDBKeyRange): Promise<Chunk | undefined> }, record: LogRecord): Promise<boolean> {
  const chunk = await log.get(IDBKeyRange.lowerBound(record.position));
  const at = chunk?.positions.indexOf(record.position) ?? -1;
  return at >= 0 && chunk?.txIds[at] === transactionId(record.tx);
}

interface ReplicaRecord {
  readonly issuedUpTo: number;
  readonly hlc: number;
}

interface Layout extends DBSchema {
  log: { key: number; value: Chunk };
  outbox: { key: number; value: { readonly txId: string; readonly data: Uint8Array }; indexes: { txId: string } };
  rejections: { key: string; value: Rejection };
  meta: { key: string; value: unknown };
  snapshot: { key: string; value: Snapshot; indexes: { position: number } };
  drafts: { key: string; value: StoredDraft };
}

export const INDEXEDDB_LAYOUT_VERSION = 4;

type UpgradeTx = IDBPTransaction<Layout, StoreNames<Layout>[], 'versionchange'>;

type MetaStore = IDBPObjectStore<Layout, StoreNames<Layout>[], 'meta', 'readwrite'>;

/** What a commit's meta is merged with, read at its start. */
interface MetaBefore {
  readonly shared: Record<string, unknown> | undefined;
  readonly known: ReplicaId[] | undefined;
  readonly previous: ReplicaRecord | undefined;
}

/** Upgrade steps: step i brings a database from version i to i + 1. */
const upgrades: ReadonlyArray<(db: IDBPDatabase<Layout>, tx: UpgradeTx) => void> = [
  (db) => {
    // Version 4 drops this index again.
    (db.createObjectStore('log') as unknown as IDBObjectStore).createIndex('txIds', 'txIds', { multiEntry: true });
    db.createObjectStore('outbox', { autoIncrement: true }).createIndex('txId', 'txId', { unique: true });
    db.createObjectStore('rejections');
    db.createObjectStore('meta');
    db.createObjectStore('snapshot');
  },
  // Version 2 writes log chunks as columns (`LogColumns`) and still reads the bytes of version 1: nothing to convert
  // (the version changes so that an older datsync, which cannot read columns, refuses the database instead). The
  // snapshot's position is indexed, so a commit learns it without reading the whole snapshot.
  (_db, tx) => {
    tx.objectStore('snapshot').createIndex('position', 'position');
  },
  // Version 3 keeps collaborative drafts beside the data.
  (db) => {
    db.createObjectStore('drafts');
  },
  // Version 4 drops the log's multi-entry index of transaction ids: a bulk commit paid for an index entry per
  // transaction, and only the server, which never runs on IndexedDB, looks transactions up by id. A commit checks
  // records another tab appended by their position; `findTransaction` scans the (compacted) log. Commits may also
  // split their records into several chunks (`CHUNK_OPS`), which every reader already allowed.
  (_db, tx) => {
    tx.objectStore('log').deleteIndex('txIds');
  },
];

const SHARED_KEY = 'shared';
const REPLICAS_KEY = 'replicas';
const PER_REPLICA = new Set(['replicaId', 'issuedUpTo', 'hlc']);

type Message =
  | { readonly kind: 'outbox-added'; readonly data: Uint8Array }
  | { readonly kind: 'log-appended'; readonly after: number }
  | { readonly kind: 'outbox-removed'; readonly txIds: readonly TxId[]; readonly rejections: readonly Rejection[] };

export interface IndexedDbOptions {
  /** The Web Locks manager used to lease replica ids among tabs (default `navigator.locks`, if any). */
  readonly locks?: LockManager | undefined;
  /** Make a BroadcastChannel (default the global one, if any). */
  readonly broadcast?: ((name: string) => BroadcastChannel) | undefined;
}

function toStorageError(name: string, action: string, cause: unknown): DatsyncError {
  if (cause instanceof DatsyncError) return cause;
  const errorName = (cause as { name?: unknown })?.name;
  if (errorName === 'QuotaExceededError') {
    return new DatsyncError(ErrorCode.QuotaExceeded, `${name}: the browser refused to store more data`, undefined, { cause });
  }
  return new DatsyncError(
    ErrorCode.StorageFailed,
    `${name}: could not ${action}${typeof errorName === 'string' ? ` (${errorName})` : ''}`,
    undefined,
    { cause },
  );
}

/**
 * Aborts a transaction a commit gave up on. A request that throws at once
 * (a value that cannot be cloned) rather than failing leaves its transaction
 * running, and the requests sent before it would commit: half a batch.
 */
function abortQuietly(tx: { abort(): void; readonly done: Promise<void> } | undefined, requests: ReadonlyArray<Promise<unknown>>): void {
  if (tx === undefined) return;
  // Its requests and `done` now fail with AbortError; the caller hears of the original failure.
  for (const request of [...requests, tx.done]) request.catch(() => undefined);
  try {
    tx.abort();
  } catch {
    // The failure itself already aborted it.
  }
}

/**
 * Opens the IndexedDB database `name` and leases a replica id in it.
 *
 * @example
 * const storage = await openIndexedDbStorage('tasks');
 * const client = await createClient({ schema, storage });
 */
export async function openIndexedDbStorage(name: string, options: IndexedDbOptions = {}): Promise<IndexedDbStorage> {
  const label = `indexeddb:${name}`;
  let blocked: ((error: DatsyncError) => void) | undefined;
  const blockedPromise = new Promise<never>((_, reject) => {
    blocked = reject;
  });
  let instance: IndexedDbStorage | undefined;
  const opening = openDB<Layout>(name, INDEXEDDB_LAYOUT_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let step = oldVersion; step < upgrades.length; step++)
        (upgrades[step] as (db: IDBPDatabase<Layout>, tx: UpgradeTx) => void)(db, tx);
    },
    blocked() {
      blocked?.(
        new DatsyncError(
          ErrorCode.StorageBlocked,
          `${label}: another tab holds an older version of the database open; close it or reload it`,
        ),
      );
    },
    blocking() {
      // A newer version of the app wants to upgrade: step aside rather than block it.
      void instance?.close();
    },
  });
  let db: IDBPDatabase<Layout>;
  try {
    db = await Promise.race([opening, blockedPromise]);
  } catch (error) {
    // The open may still succeed later; do not leak that connection.
    void opening.then((late) => late.close()).catch(() => undefined);
    throw toStorageError(label, 'open the database', error);
  }
  const locks = 'locks' in options ? options.locks : (globalThis.navigator as { locks?: LockManager } | undefined)?.locks;
  const makeChannel =
    options.broadcast ?? (typeof BroadcastChannel === 'undefined' ? undefined : (channel: string) => new BroadcastChannel(channel));
  instance = new IndexedDbStorage(label, db, locks, makeChannel?.(`datsync:${name}`));
  await instance.lease();
  return instance;
}

export class IndexedDbStorage implements Storage {
  readonly name: string;
  private readonly db: IDBPDatabase<Layout>;
  private readonly locks: LockManager | undefined;
  private readonly channel: BroadcastChannel | undefined;
  private readonly listeners = new Set<(change: ExternalChange) => void>();
  private replicaId: ReplicaId | undefined;
  private releaseLock: (() => void) | undefined;
  private closed = false;

  constructor(name: string, db: IDBPDatabase<Layout>, locks: LockManager | undefined, channel: BroadcastChannel | undefined) {
    this.name = name;
    this.db = db;
    this.locks = locks;
    this.channel = channel;
    if (channel !== undefined) channel.onmessage = (event: MessageEvent<Message>) => this.receive(event.data);
  }

  /** Takes a replica id no other open tab holds, if one is stored. */
  async lease(): Promise<void> {
    const known = ((await this.db.get('meta', REPLICAS_KEY)) as ReplicaId[] | undefined) ?? [];
    for (const id of known) {
      if (this.locks === undefined || (await this.tryLock(id))) {
        this.replicaId = id;
        return;
      }
    }
  }

  private tryLock(id: ReplicaId): Promise<boolean> {
    const locks = this.locks;
    if (locks === undefined) return Promise.resolve(true);
    return new Promise((resolve) => {
      void locks.request(`datsync:${this.name}:replica:${id}`, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        // Hold the lock until this storage closes (or the tab goes away).
        return new Promise<void>((release) => {
          this.releaseLock = release;
        });
      });
    });
  }

  private open(): void {
    if (this.closed) throw new DatsyncError(ErrorCode.Closed, `storage ${this.name} is closed`);
  }

  watch(listener: (change: ExternalChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(message: Message): void {
    let change: ExternalChange;
    if (message.kind === 'outbox-added') change = { kind: 'outbox-added', txs: decodeTransactions(message.data) };
    else if (message.kind === 'log-appended') change = { kind: 'log-appended', after: message.after };
    else change = { kind: 'outbox-removed', txIds: message.txIds, rejections: message.rejections };
    for (const listener of this.listeners) listener(change);
  }

  async commit(batch: CommitBatch): Promise<void> {
    this.open();
    const newReplica = batch.meta?.replicaId !== undefined && batch.meta.replicaId !== this.replicaId ? batch.meta.replicaId : undefined;
    if (newReplica !== undefined && !(await this.tryLock(newReplica))) {
      throw new DatsyncError(ErrorCode.StorageFailed, `${this.name}: replica id already in use by another tab`);
    }
    // One transaction each, as outbox records hold them.
    const added = (batch.outboxAdd ?? []).map((txn) => encodeTransactions([txn]));
    // First as if every log record were new, the usual case; if the log holds some already (another tab appended
    // the same confirmed records), that attempt stores nothing and the second checks each.
    if (!(await this.write(batch, added, true))) await this.write(batch, added, false);
    if (newReplica !== undefined) this.replicaId = newReplica;
    this.announce(batch, added.length === 1 ? added[0] : undefined);
  }

  /**
   * One attempt at `commit`, as ONE readwrite transaction. `optimistic`: the log's chunks are sent before the
   * reads that check them are answered, each as soon as it is built, so the browser stores one while the next is
   * built; if the log turns out to hold some of the records already, the transaction is aborted, storing none of
   * the batch, and the answer is false.
   */
  private async write(batch: CommitBatch, added: readonly Uint8Array[], optimistic: boolean): Promise<boolean> {
    const log = batch.log ?? [];
    const outboxAdd = batch.outboxAdd ?? [];
    const stores: Array<StoreNames<Layout>> = ['meta'];
    if (log.length > 0) stores.push('log');
    if (outboxAdd.length > 0 || (batch.outboxRemove?.length ?? 0) > 0) stores.push('outbox');
    if ((batch.rejections?.length ?? 0) > 0) stores.push('rejections');
    if (log.length > 0) stores.push('snapshot');
    let started: { abort(): void; readonly done: Promise<void> } | undefined;
    let reading: Promise<unknown> | undefined;
    const writes: Array<Promise<unknown>> = [];
    try {
      // Positions that are not positive and increasing refuse the batch before anything is sent.
      const fresh = optimistic ? await recordsToAppend(batch, 0, () => false) : [];
      const tx = this.db.transaction(stores, 'readwrite', { durability: outboxAdd.length > 0 ? 'strict' : 'default' });
      started = tx;
      const done = tx.done;
      // Requests are sent together and served in order, so each phase costs one round trip to the
      // database, not one per request (in a browser, every round trip crosses processes).
      const logStore = log.length > 0 ? tx.objectStore('log') : undefined;
      const metaStore = tx.objectStore('meta');
      const outbox = stores.includes('outbox') ? tx.objectStore('outbox') : undefined;
      // Reads first: all of them see the state before this batch.
      const reads = Promise.all([
        logStore?.openKeyCursor(null, 'prev').then((cursor) => cursor?.key),
        logStore === undefined ? undefined : snapshotPositionIn(tx.objectStore('snapshot')),
        batch.meta === undefined ? undefined : this.readMeta(metaStore, batch.meta),
      ]);
      reading = reads;
      // A chunk's key is its last position.
      if (logStore !== undefined) for (const chunk of toChunks(fresh)) writes.push(logStore.put(chunk, chunk.last));
      const [lastKey, snapshotPosition, before] = await reads;
      if (logStore !== undefined) {
        const last = Math.max(lastKey ?? 0, snapshotPosition ?? 0);
        if (optimistic && (log[0] as LogRecord).position <= last) {
          abortQuietly(tx, [reads, ...writes]);
          return false;
        }
        if (!optimistic) {
          // Two tabs may append the same confirmed records: the second append skips them.
          const records = await recordsToAppend(batch, last, (record) => holds(logStore, record));
          for (const chunk of toChunks(records)) writes.push(logStore.put(chunk, chunk.last));
        }
      }
      outboxAdd.forEach((txn, i) => {
        if (outbox !== undefined) writes.push(outbox.put({ txId: transactionId(txn), data: added[i] as Uint8Array }));
      });
      const remove = batch.outboxRemove ?? [];
      if (outbox !== undefined && remove.length > 0) {
        // Looked up after the additions above, so they see them, as one request after another would.
        const keys = await Promise.all(remove.map((txId) => outbox.index('txId').getKey(txId)));
        for (const key of keys) if (key !== undefined) writes.push(outbox.delete(key));
      }
      for (const rejection of batch.rejections ?? []) writes.push(tx.objectStore('rejections').put(rejection, rejection.txId));
      if (batch.meta !== undefined && before !== undefined) this.writeMeta(metaStore, batch.meta, before, writes);
      await Promise.all([...writes, done]);
      return true;
    } catch (error) {
      abortQuietly(started, reading === undefined ? writes : [reading, ...writes]);
      throw toStorageError(this.name, 'commit', error);
    }
  }

  /** The meta records a batch's meta must be merged with; only those it needs are read. */
  private async readMeta(store: MetaStore, meta: Meta): Promise<MetaBefore> {
    const replica = meta.replicaId ?? this.replicaId;
    const sharedChanges = Object.entries(meta).some(([key, value]) => value !== undefined && !PER_REPLICA.has(key));
    // Both counters given: the replica's record is replaced whole, so its previous value is not needed.
    const needsPrevious = replica !== undefined && (meta.issuedUpTo === undefined) !== (meta.hlc === undefined);
    const [shared, known, previous] = await Promise.all([
      sharedChanges ? store.get(SHARED_KEY) : undefined,
      meta.replicaId !== undefined ? store.get(REPLICAS_KEY) : undefined,
      needsPrevious ? store.get(`replica:${replica}`) : undefined,
    ]);
    return {
      shared: shared as Record<string, unknown> | undefined,
      known: known as ReplicaId[] | undefined,
      previous: previous as ReplicaRecord | undefined,
    };
  }

  private writeMeta(store: MetaStore, meta: Meta, before: MetaBefore, writes: Array<Promise<unknown>>): void {
    const shared: Record<string, unknown> = { ...before.shared };
    let sharedChanged = false;
    for (const [key, value] of Object.entries(meta)) {
      if (value === undefined || PER_REPLICA.has(key)) continue;
      shared[key] = value;
      sharedChanged = true;
    }
    if (sharedChanged) writes.push(store.put(shared, SHARED_KEY));
    const replica = meta.replicaId ?? this.replicaId;
    if (replica === undefined) return;
    if (meta.replicaId !== undefined) {
      const known = before.known ?? [];
      if (!known.includes(replica)) writes.push(store.put([...known, replica], REPLICAS_KEY));
    }
    if (meta.issuedUpTo !== undefined || meta.hlc !== undefined) {
      const previous = before.previous ?? { issuedUpTo: 0, hlc: 0 };
      writes.push(store.put({ issuedUpTo: meta.issuedUpTo ?? previous.issuedUpTo, hlc: meta.hlc ?? previous.hlc }, `replica:${replica}`));
    }
  }

  /** `single`: the batch's one added transaction, already encoded (the same bytes as encoding the batch's additions). */
  private announce(batch: CommitBatch, single: Uint8Array | undefined): void {
    const channel = this.channel;
    if (channel === undefined) return;
    const post = (message: Message): void => channel.postMessage(message);
    if ((batch.outboxAdd?.length ?? 0) > 0) post({ kind: 'outbox-added', data: single ?? encodeTransactions(batch.outboxAdd ?? []) });
    const log = batch.log ?? [];
    if (log.length > 0) post({ kind: 'log-appended', after: (log[0] as LogRecord).position - 1 });
    if ((batch.outboxRemove?.length ?? 0) > 0 || (batch.rejections?.length ?? 0) > 0) {
      post({ kind: 'outbox-removed', txIds: batch.outboxRemove ?? [], rejections: batch.rejections ?? [] });
    }
  }

  async meta(): Promise<Meta> {
    this.open();
    try {
      const shared = ((await this.db.get('meta', SHARED_KEY)) as Meta | undefined) ?? {};
      if (this.replicaId === undefined) return shared;
      const own = (await this.db.get('meta', `replica:${this.replicaId}`)) as ReplicaRecord | undefined;
      return { ...shared, replicaId: this.replicaId, issuedUpTo: own?.issuedUpTo ?? 0, hlc: own?.hlc ?? 0 };
    } catch (error) {
      throw toStorageError(this.name, 'read meta', error);
    }
  }

  private async chunksAfter(after: number): Promise<Chunk[]> {
    return this.db.getAll('log', IDBKeyRange.lowerBound(after, true));
  }

  async readLog(after: number, limit: number): Promise<LogRecord[]> {
    this.open();
    try {
      const out: LogRecord[] = [];
      for (const chunk of await this.chunksAfter(after)) {
        const txs = chunkTransactions(chunk);
        for (const [i, tx] of txs.entries()) {
          const position = chunk.positions[i] ?? 0;
          if (position > after && out.length < limit) out.push({ position, tx });
        }
        if (out.length >= limit) break;
      }
      return out;
    } catch (error) {
      throw toStorageError(this.name, 'read the log', error);
    }
  }

  /** Clients read what they lack from the server, so a scan of the (small, compacted) local log suffices here. */
  async readLacking(vector: VersionVector, after: number, limit: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    for (const record of await this.readLog(after, Number.MAX_SAFE_INTEGER)) {
      if (out.length >= limit) break;
      if (lacks(vector, record.tx)) out.push(record);
    }
    return out;
  }

  async lastPosition(): Promise<number> {
    this.open();
    try {
      const tx = this.db.transaction(['log', 'snapshot']);
      // A chunk's key is its last position: no chunk needs reading.
      const [last, snapshot] = await Promise.all([
        tx.objectStore('log').openKeyCursor(null, 'prev'),
        snapshotPositionIn(tx.objectStore('snapshot')),
      ]);
      return Math.max(last?.key ?? 0, snapshot ?? 0);
    } catch (error) {
      throw toStorageError(this.name, 'read the log', error);
    }
  }

  /** Clients never need it (the server's log does); answered by a scan of the (compacted) local log. */
  async findTransaction(txId: TxId): Promise<LogRecord | undefined> {
    this.open();
    try {
      for (const chunk of await this.chunksAfter(0)) {
        const index = chunk.txIds.indexOf(txId);
        const tx = index < 0 ? undefined : chunkTransactions(chunk)[index];
        if (tx !== undefined) return { position: chunk.positions[index] ?? 0, tx };
      }
      return undefined;
    } catch (error) {
      throw toStorageError(this.name, 'read the log', error);
    }
  }

  async rejection(txId: TxId): Promise<Rejection | undefined> {
    this.open();
    return this.db.get('rejections', txId);
  }

  /** Clients never need it; answered by a scan of the (compacted) local log and rejections. */
  async decided(replica: ReplicaId): Promise<number> {
    let max = 0;
    for (const record of await this.readLog(0, Number.MAX_SAFE_INTEGER))
      if (record.tx.replica === replica) max = Math.max(max, lastCounter(record.tx));
    for (const rejection of await this.db.getAll('rejections')) max = Math.max(max, rejectedCounter(rejection, replica));
    return max;
  }

  /** Replica ownership is the server's concern; a browser database holds none. */
  async replicaOwner(): Promise<string | undefined> {
    return undefined;
  }

  async outbox(): Promise<Transaction[]> {
    this.open();
    try {
      const records = await this.db.getAll('outbox');
      return records.flatMap((record) => decodeTransactions(record.data));
    } catch (error) {
      throw toStorageError(this.name, 'read the outbox', error);
    }
  }

  async putSnapshot(snapshot: Snapshot): Promise<void> {
    this.open();
    try {
      await this.db.put('snapshot', { state: snapshot.state, position: snapshot.position }, 'state');
    } catch (error) {
      throw toStorageError(this.name, 'store a snapshot', error);
    }
  }

  async snapshot(): Promise<Snapshot | undefined> {
    this.open();
    return this.db.get('snapshot', 'state');
  }

  async compact(position: number): Promise<void> {
    this.open();
    try {
      const tx = this.db.transaction(['log', 'snapshot'], 'readwrite');
      const covered = await snapshotPositionIn(tx.objectStore('snapshot'));
      if (covered === undefined || covered < position) {
        throw new DatsyncError(ErrorCode.StorageFailed, 'cannot drop log records no snapshot covers', { position });
      }
      const log = tx.objectStore('log');
      await log.delete(IDBKeyRange.upperBound(position));
      // A chunk straddling the position keeps only its records after it.
      const straddling = await log.get(IDBKeyRange.lowerBound(position, true));
      if (straddling !== undefined && (straddling.positions[0] ?? 0) <= position) {
        const txs = chunkTransactions(straddling);
        const keep = straddling.positions.flatMap((p, i) => (p > position ? [{ position: p, tx: txs[i] as Transaction }] : []));
        // The last of them keeps the chunk's key, so it replaces the chunk.
        await Promise.all([...Array.from(toChunks(keep), (chunk) => log.put(chunk, chunk.last)), tx.done]);
      } else await tx.done;
    } catch (error) {
      throw toStorageError(this.name, 'compact the log', error);
    }
  }

  async resetLog(): Promise<void> {
    this.open();
    try {
      const tx = this.db.transaction(['log', 'rejections', 'snapshot'], 'readwrite');
      await Promise.all([tx.objectStore('log').clear(), tx.objectStore('rejections').clear(), tx.objectStore('snapshot').clear(), tx.done]);
    } catch (error) {
      throw toStorageError(this.name, 'reset the log', error);
    }
  }

  async putDraft(draft: StoredDraft): Promise<void> {
    this.open();
    try {
      await this.db.put('drafts', { ...draft, state: draft.state.slice() }, draft.key);
    } catch (error) {
      throw toStorageError(this.name, 'store a draft', error);
    }
  }

  async draft(key: string): Promise<StoredDraft | undefined> {
    this.open();
    try {
      return await this.db.get('drafts', key);
    } catch (error) {
      throw toStorageError(this.name, 'read a draft', error);
    }
  }

  async deleteDraft(key: string): Promise<void> {
    this.open();
    try {
      await this.db.delete('drafts', key);
    } catch (error) {
      throw toStorageError(this.name, 'delete a draft', error);
    }
  }

  async drafts(): Promise<DraftSummary[]> {
    this.open();
    try {
      return (await this.db.getAll('drafts')).map(({ state, ...rest }) => ({ ...rest, bytes: state.length }));
    } catch (error) {
      throw toStorageError(this.name, 'read drafts', error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.channel?.close();
    this.releaseLock?.();
    this.db.close();
  }
}
