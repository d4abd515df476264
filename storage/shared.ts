/**
 * Checks and helpers every adapter shares.
 *
 * @module
 */
import type { ReplicaId, Transaction, VersionVector } from '../crdt/index.js';
import { DatsyncError, decodeTransactions, ErrorCode } from '../crdt/index.js';
import type { CommitBatch, DraftClosed, LogRecord, Rejection, StoredDraft } from './contract.js';

/**
 * The records of a batch to append: those after `last`, in strictly
 * increasing order. A record at or below `last` is dropped if the log already
 * holds that very transaction at that very position (`holds` says whether),
 * and refuses the whole batch otherwise; nothing is written then.
 */
export async function recordsToAppend(
  batch: CommitBatch,
  last: number,
  holds: (record: LogRecord) => Promise<boolean> | boolean,
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let previous = last;
  for (const record of batch.log ?? []) {
    if (!Number.isSafeInteger(record.position) || record.position <= 0) {
      throw new DatsyncError(ErrorCode.StorageFailed, 'log positions must be positive integers', { position: record.position });
    }
    if (record.position <= last && out.length === 0) {
      if (await holds(record)) continue;
      throw new DatsyncError(ErrorCode.StorageFailed, 'log positions must strictly increase', { position: record.position, after: last });
    }
    if (record.position <= previous) {
      throw new DatsyncError(ErrorCode.StorageFailed, 'log positions must strictly increase', {
        position: record.position,
        after: previous,
      });
    }
    previous = record.position;
    out.push(record);
  }
  return out;
}

/** Whether `vector` lacks any op of `tx` (so a peer at `vector` needs it). */
export function lacks(vector: VersionVector, tx: Transaction): boolean {
  const last = tx.counter + (tx.ops[tx.ops.length - 1]?.offset ?? 0);
  return (vector.get(tx.replica) ?? 0) < last;
}

/** The last counter a rejection of `replica`'s transaction covers (0 if it is another replica's). */
export function rejectedCounter(rejection: Rejection, replica: ReplicaId): number {
  const at = rejection.txId.lastIndexOf(':');
  if (rejection.txId.slice(0, at) !== replica) return 0;
  return Number(rejection.txId.slice(at + 1)) + Math.max(0, (rejection.ops ?? 1) - 1);
}

/** A log record as the SQL adapters store it: its position and its transaction, encoded alone. */
export interface LogRow {
  position: number;
  data: Uint8Array;
}

/** A draft as the SQL adapters store it (`closed` as JSON). */
export interface DraftRow {
  key: string;
  generation: number;
  state?: Uint8Array;
  bytes?: number;
  owner: string | null;
  closed: string | null;
  updated_at: number;
}

export function decodeOne(data: Uint8Array): Transaction {
  const [tx] = decodeTransactions(data);
  if (tx === undefined) throw new DatsyncError(ErrorCode.StorageFailed, 'a log record holds no transaction');
  return tx;
}

export function toRecord(row: LogRow): LogRecord {
  return { position: row.position, tx: decodeOne(row.data) };
}

export function draftFields(row: DraftRow): Omit<StoredDraft, 'state'> {
  return {
    key: row.key,
    generation: row.generation,
    updatedAt: row.updated_at,
    ...(row.owner === null ? {} : { owner: row.owner }),
    ...(row.closed === null ? {} : { closed: JSON.parse(row.closed) as DraftClosed }),
  };
}

/** A draft's columns, in the order the SQL adapters store them: key, generation, state, owner, closed, updated at. */
export function draftColumns(draft: StoredDraft): [string, number, Uint8Array, string | null, string | null, number] {
  return [
    draft.key,
    draft.generation,
    draft.state,
    draft.owner ?? null,
    draft.closed === undefined ? null : JSON.stringify(draft.closed),
    draft.updatedAt,
  ];
}

export function storedDraft(row: DraftRow): StoredDraft {
  return { ...draftFields(row), state: new Uint8Array(row.state ?? new Uint8Array()) };
}
