/**
 * In-memory storage: for tests, and for clients that want no persistence.
 * It follows the contract exactly (atomic commits, ordered log, the
 * version-vector index), so it is also the reference the other adapters are
 * tested against. Several `MemoryStorage` handles may share one
 * `MemoryStore`, which lets tests close and reopen a replica.
 *
 * @module
 */
import type { ReplicaId, Transaction, TxId, VersionVector } from '../crdt/index.js';
import { DatsyncError, ErrorCode, lastCounter, transactionId } from '../crdt/index.js';
import type { CommitBatch, DraftSummary, LogRecord, Meta, Rejection, Snapshot, Storage, StoredDraft } from './contract.js';
import { lacks, recordsToAppend, rejectedCounter } from './shared.js';

/** The data behind one or more `MemoryStorage` handles. */
export class MemoryStore {
  log: LogRecord[] = [];
  readonly byTx = new Map<TxId, LogRecord>();
  readonly outbox: Transaction[] = [];
  readonly rejections = new Map<TxId, Rejection>();
  readonly owners = new Map<ReplicaId, string>();
  meta: Meta = {};
  snapshot: Snapshot | undefined;
  readonly drafts = new Map<string, StoredDraft>();
}

export class MemoryStorage implements Storage {
  readonly name: string;
  readonly store: MemoryStore;
  private closed = false;

  /** @param store pass the store of a closed handle to reopen it */
  constructor(store: MemoryStore = new MemoryStore(), name = 'memory') {
    this.store = store;
    this.name = name;
  }

  private data(): MemoryStore {
    if (this.closed) throw new DatsyncError(ErrorCode.Closed, `storage ${this.name} is closed`);
    return this.store;
  }

  async commit(batch: CommitBatch): Promise<void> {
    const data = this.data();
    const records = await recordsToAppend(
      batch,
      lastPositionOf(data),
      (record) => data.byTx.get(transactionId(record.tx))?.position === record.position,
    );
    for (const record of records) {
      data.log.push(record);
      data.byTx.set(transactionId(record.tx), record);
    }
    for (const tx of batch.outboxAdd ?? []) data.outbox.push(tx);
    if (batch.outboxRemove !== undefined && batch.outboxRemove.length > 0) {
      const remove = new Set(batch.outboxRemove);
      for (let i = data.outbox.length - 1; i >= 0; i--) {
        const tx = data.outbox[i];
        if (tx !== undefined && remove.has(transactionId(tx))) data.outbox.splice(i, 1);
      }
    }
    for (const rejection of batch.rejections ?? []) data.rejections.set(rejection.txId, rejection);
    if (batch.meta !== undefined) data.meta = { ...data.meta, ...batch.meta };
    for (const { replica, owner } of batch.owners ?? []) if (!data.owners.has(replica)) data.owners.set(replica, owner);
  }

  async meta(): Promise<Meta> {
    return this.data().meta;
  }

  async readLog(after: number, limit: number): Promise<LogRecord[]> {
    const log = this.data().log;
    const start = lowerBound(log, after);
    return log.slice(start, start + limit);
  }

  async readLacking(vector: VersionVector, after: number, limit: number): Promise<LogRecord[]> {
    const log = this.data().log;
    const out: LogRecord[] = [];
    for (let i = lowerBound(log, after); i < log.length && out.length < limit; i++) {
      const record = log[i];
      if (record !== undefined && lacks(vector, record.tx)) out.push(record);
    }
    return out;
  }

  async lastPosition(): Promise<number> {
    return lastPositionOf(this.data());
  }

  async findTransaction(txId: TxId): Promise<LogRecord | undefined> {
    return this.data().byTx.get(txId);
  }

  async rejection(txId: TxId): Promise<Rejection | undefined> {
    return this.data().rejections.get(txId);
  }

  async decided(replica: ReplicaId): Promise<number> {
    const data = this.data();
    let max = 0;
    for (const record of data.log) if (record.tx.replica === replica) max = Math.max(max, lastCounter(record.tx));
    for (const rejection of data.rejections.values()) max = Math.max(max, rejectedCounter(rejection, replica));
    return max;
  }

  async replicaOwner(replica: ReplicaId): Promise<string | undefined> {
    return this.data().owners.get(replica);
  }

  async outbox(): Promise<Transaction[]> {
    return [...this.data().outbox];
  }

  async putSnapshot(snapshot: Snapshot): Promise<void> {
    this.data().snapshot = { state: snapshot.state.slice(), position: snapshot.position };
  }

  async snapshot(): Promise<Snapshot | undefined> {
    return this.data().snapshot;
  }

  async compact(position: number): Promise<void> {
    const data = this.data();
    if (data.snapshot === undefined || data.snapshot.position < position) {
      throw new DatsyncError(ErrorCode.StorageFailed, 'cannot drop log records no snapshot covers', { position });
    }
    const keep = lowerBound(data.log, position);
    for (const record of data.log.slice(0, keep)) data.byTx.delete(transactionId(record.tx));
    data.log = data.log.slice(keep);
  }

  async resetLog(): Promise<void> {
    const data = this.data();
    data.log = [];
    data.byTx.clear();
    data.rejections.clear();
    data.snapshot = undefined;
  }

  async putDraft(draft: StoredDraft): Promise<void> {
    this.data().drafts.set(draft.key, { ...draft, state: draft.state.slice() });
  }

  async draft(key: string): Promise<StoredDraft | undefined> {
    return this.data().drafts.get(key);
  }

  async deleteDraft(key: string): Promise<void> {
    this.data().drafts.delete(key);
  }

  async drafts(): Promise<DraftSummary[]> {
    return [...this.data().drafts.values()].map(({ state, ...rest }) => ({ ...rest, bytes: state.length }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function lastPositionOf(data: MemoryStore): number {
  return data.log[data.log.length - 1]?.position ?? data.snapshot?.position ?? 0;
}

/** Index of the first record with position > after. */
function lowerBound(log: readonly LogRecord[], after: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((log[mid]?.position ?? 0) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
