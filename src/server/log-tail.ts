/**
 * The durable end of the server log as this process knows it: the last
 * position it has applied, the recent records (fan-out reads them from
 * memory), whoever waits for it to get further, and the reading of records
 * other nodes appended to a shared log.
 *
 * @module
 */
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { LogRecord, Storage } from '../../storage/contract.js';

/** Records read per step when catching up with other nodes. */
const CATCH_UP_PAGE = 1000;

export class LogTail {
  /** Last durable position applied here. */
  head = 0;
  private readonly storage: Storage;
  private readonly keep: number;
  private recent: LogRecord[] = [];
  private readonly waiting: Array<{ readonly position: number; readonly resolve: () => void }> = [];

  /** @param keep how many recent records to hold in memory (at least) */
  constructor(storage: Storage, keep: number) {
    this.storage = storage;
    this.keep = keep;
  }

  /** Records now durable and applied, in order, following the head. */
  advance(records: readonly LogRecord[]): void {
    const last = records[records.length - 1];
    if (last === undefined) return;
    this.head = last.position;
    this.recent.push(...records);
    if (this.recent.length > this.keep * 2) this.recent = this.recent.slice(-this.keep);
    this.settle(false);
  }

  /** Up to `limit` durable records after `after`, from memory when recent, else from storage. */
  async read(after: number, limit: number): Promise<LogRecord[]> {
    const first = this.recent[0];
    if (first !== undefined && after >= first.position - 1) {
      const start = after - first.position + 1;
      return this.recent.slice(start, start + limit).filter((record) => record.position <= this.head);
    }
    const records = await this.storage.readLog(after, limit);
    return records.filter((record) => record.position <= this.head);
  }

  /**
   * Reads what others appended after the head, up to `to` (or all there
   * is), a page at a time: the head moves past each page, then `apply`
   * takes it (in the same tick). `first` is the first page, when already read
   * (records in it the head has passed since are skipped).
   */
  async catchUp(to: number | undefined, apply: (records: readonly LogRecord[]) => void, first?: readonly LogRecord[]): Promise<void> {
    // What was read before may partly be applied already.
    let given = first?.filter((record) => record.position > this.head);
    while (to === undefined || this.head < to) {
      const records = given !== undefined && given.length > 0 ? given : await this.storage.readLog(this.head, CATCH_UP_PAGE);
      given = undefined;
      if (records.length === 0) {
        if (to === undefined) return;
        throw new DatsyncError(ErrorCode.StorageFailed, `${this.storage.name}: the log ends before its head`, { head: to });
      }
      records.forEach((record, i) => {
        if (record.position !== this.head + 1 + i) {
          throw new DatsyncError(
            ErrorCode.StorageFailed,
            `${this.storage.name}: the log skips from ${this.head + i} to ${record.position}`,
          );
        }
      });
      this.advance(records);
      apply(records);
    }
  }

  /** Resolves once the head reaches `position` (or `settle(true)` gives up on it). */
  wait(position: number): Promise<void> {
    if (position <= this.head) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ position, resolve }));
  }

  /** Answers the waits reached, or, with `all`, every wait (the log was read to its end, or cannot be). */
  settle(all: boolean): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const waiter = this.waiting[i];
      if (waiter === undefined || (!all && waiter.position > this.head)) continue;
      this.waiting.splice(i, 1);
      waiter.resolve();
    }
  }
}
