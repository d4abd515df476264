/**
 * What the server decided, taken in: confirmed records (in log order) and
 * rejections, persisted in one commit and then applied; the same changes
 * when another tab took them in first; snapshots and compaction; and
 * starting over when the server's log was replaced.
 *
 * @module
 */
import type { Attr, EntityId, Slot, Transaction, TxId } from '../../crdt/index.js';
import { DatsyncError, decodeRegisters, ErrorCode, encodeState, isErrorCode, ReplicaState, transactionId } from '../../crdt/index.js';
import type { ExternalChange, LogRecord, Rejection, Storage } from '../../storage/contract.js';
import type { Emitter } from '../emitter.js';
import type { ClientEvents } from './api.js';
import type { Replica, TxReport } from './replica.js';

/** A strong-mode write waiting for the server's decision. */
export interface StrongWaiter {
  readonly tx: Transaction;
  readonly tempids: Readonly<Record<string, number>>;
  readonly entityIds: Readonly<Record<string, string>>;
  resolve(report: TxReport): void;
  reject(error: DatsyncError): void;
}

export class ConfirmedIntake {
  private readonly replica: Replica;
  private readonly storage: Storage;
  private readonly events: Emitter<ClientEvents>;
  readonly strong = new Map<TxId, StrongWaiter>();
  /** The last server log position applied to the confirmed state. */
  position: number;
  /** The server log this replica follows (null before the first connection). */
  logId: string | null;
  private sinceSnapshot = 0;
  private readonly compactAfter = 2000;
  private compacting: Promise<void> | undefined;

  constructor(replica: Replica, storage: Storage, events: Emitter<ClientEvents>, position: number, logId: string | null) {
    this.replica = replica;
    this.storage = storage;
    this.events = events;
    this.position = position;
    this.logId = logId;
  }

  /** Local writes waiting for the server: tentative ones and strong-mode ones. */
  get pendingCount(): number {
    return this.replica.state.pending().length + this.strong.size;
  }

  /**
   * Persists, then applies, records (in log order; ours among them are thereby
   * acknowledged) and rejections. `through` is the last log position the batch
   * covers, which may lie beyond its last record when the server filtered some.
   */
  async receive(records: readonly LogRecord[], rejections: readonly Rejection[], through = 0): Promise<void> {
    const fresh = records.filter((record) => record.position > this.position);
    const last = Math.max(through, fresh[fresh.length - 1]?.position ?? 0, this.position);
    const decided = fresh.map((record) => transactionId(record.tx)).filter((id) => this.replica.state.isPending(id) || this.strong.has(id));
    await this.storage.commit({
      // A transaction of ours the server let us keep nothing of is an acknowledgement only, not a log record.
      log: fresh.filter((record) => record.tx.ops.length > 0),
      outboxRemove: [...decided, ...rejections.map((r) => r.txId)],
      rejections,
      meta: { serverPosition: last, hlc: this.replica.author.clock.current },
    });
    this.apply(fresh, rejections, last);
  }

  private apply(records: readonly LogRecord[], rejections: readonly Rejection[], through: number): void {
    const before = this.pendingCount;
    let batch: Transaction[] = [];
    const flush = (): void => {
      if (batch.length > 0) this.replica.applyRemote(batch);
      batch = [];
    };
    for (const record of records) {
      if (record.position <= this.position) continue;
      const id = transactionId(record.tx);
      const waiter = this.strong.get(id);
      if (record.tx.ops.length === 0) {
        // Acknowledged, with nothing this replica may keep: the tentative write just goes.
        flush();
        if (this.replica.state.isPending(id)) this.replica.confirm(id, record.tx);
        if (waiter !== undefined) {
          this.strong.delete(id);
          const db = this.replica.db;
          waiter.resolve({
            txId: id,
            tempids: waiter.tempids,
            entityIds: waiter.entityIds as TxReport['entityIds'],
            datoms: [],
            dbBefore: db,
            dbAfter: db,
          });
        }
        continue;
      }
      if (waiter === undefined) {
        batch.push(record.tx);
        continue;
      }
      // A strong-mode write becomes visible now, and its report goes to the waiting caller.
      flush();
      this.strong.delete(id);
      const report = this.replica.applyRemote([record.tx]);
      waiter.resolve({
        txId: id,
        tempids: waiter.tempids,
        entityIds: waiter.entityIds as TxReport['entityIds'],
        datoms: report.datoms,
        dbBefore: report.dbBefore,
        dbAfter: report.dbAfter,
      });
    }
    flush();
    this.sinceSnapshot += records.length;
    this.advance(through);
    for (const rejection of rejections) this.rejected(rejection);
    if (this.pendingCount !== before) this.events.emit('pending', { count: this.pendingCount });
    if (this.sinceSnapshot >= this.compactAfter && this.compacting === undefined) {
      this.compacting = this.compact()
        .catch((error: unknown) => this.events.emit('error', error))
        .finally(() => {
          this.compacting = undefined;
        });
    }
  }

  private rejected(rejection: Rejection): void {
    const error = new DatsyncError(isErrorCode(rejection.code) ? rejection.code : ErrorCode.Rejected, rejection.message);
    const waiter = this.strong.get(rejection.txId);
    if (waiter !== undefined) {
      this.strong.delete(rejection.txId);
      waiter.reject(error);
      return;
    }
    if (!this.replica.state.isPending(rejection.txId)) return;
    const report = this.replica.reject(rejection.txId);
    this.events.emit('rejected', { txId: rejection.txId, error, datoms: report.datoms });
  }

  /** Rolls a local transaction back (storage refused it) and says why. */
  rollback(tx: Transaction, error: DatsyncError): void {
    const txId = transactionId(tx);
    if (!this.replica.state.isPending(txId)) return;
    const report = this.replica.reject(txId);
    this.events.emit('rejected', { txId, error, datoms: report.datoms });
    this.events.emit('pending', { count: this.pendingCount });
  }

  /** What another tab wrote to the same storage: show it here too. */
  async external(change: ExternalChange): Promise<void> {
    if (change.kind === 'outbox-added') {
      this.replica.applyForeignPending(change.txs);
      this.events.emit('pending', { count: this.pendingCount });
    } else if (change.kind === 'outbox-removed') this.apply([], change.rejections, this.position);
    else {
      for (;;) {
        const records = await this.storage.readLog(this.position, 1000);
        const last = records[records.length - 1];
        if (last === undefined) break;
        this.apply(records, [], last.position);
      }
    }
  }

  /**
   * The server's snapshot of everything this replica may hold (partial
   * replication): it replaces the confirmed state, and is stored as the
   * snapshot at its position.
   */
  async installSnapshot(position: number, bytes: Uint8Array): Promise<void> {
    const { context, registers } = decodeRegisters(bytes, this.replica.schema.specs);
    const state = new ReplicaState(this.replica.schema.specs);
    state.context.addAll(context);
    for (const [entity, attribute, slot] of registers) state.setSlot(entity, attribute, slot);
    await this.storage.putSnapshot({ state: bytes, position });
    await this.storage.compact(position);
    await this.storage.commit({ meta: { serverPosition: position } });
    this.replica.replaceConfirmed(state);
    this.sinceSnapshot = 0;
    this.advance(position);
  }

  /** Registers this replica may now hold, or no longer hold; stored at once (as a snapshot). */
  async replaceRegisters(position: number, entries: ReadonlyArray<readonly [EntityId, Attr, Slot | undefined]>): Promise<void> {
    this.replica.replaceRegisters(entries);
    this.advance(Math.max(position, this.position));
    // What a replica may no longer hold must leave its storage too: the snapshot replaces the log.
    await this.compact();
    await this.storage.commit({ meta: { serverPosition: this.position } });
  }

  private advance(position: number): void {
    if (position <= this.position) return;
    this.position = position;
    this.events.emit('position', { position });
  }

  /**
   * Writes a snapshot of the confirmed state and drops the log it covers, so
   * a later start-up decodes one snapshot instead of replaying the log.
   */
  async compact(): Promise<void> {
    const position = this.position;
    await this.storage.putSnapshot({ state: encodeState(this.replica.state.confirmed), position });
    await this.storage.compact(position);
    this.sinceSnapshot = 0;
  }

  /**
   * The server follows another log than the one this replica holds (it was
   * reset or replaced): forget the confirmed state and start over from
   * position 0, keeping our own unsent writes.
   */
  async adoptLog(logId: string): Promise<void> {
    if (this.logId !== null) {
      await this.storage.resetLog();
      this.replica.replaceConfirmed(new ReplicaState(this.replica.schema.specs));
      this.position = 0;
      this.sinceSnapshot = 0;
    }
    await this.storage.commit({ meta: { logId, serverPosition: this.position } });
    this.logId = logId;
  }

  async close(): Promise<void> {
    await this.compacting;
    for (const waiter of this.strong.values())
      waiter.reject(new DatsyncError(ErrorCode.Closed, 'the client closed before the server decided'));
    this.strong.clear();
  }
}
