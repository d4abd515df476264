/**
 * Checks and helpers every adapter shares.
 *
 * @module
 */
import type { ReplicaId, Transaction, VersionVector } from '../crdt/index.js';
import { DatsyncError, ErrorCode } from '../crdt/index.js';
import type { CommitBatch, Rejection } from './contract.js';

/** Refuses a batch whose log positions do not strictly increase after `last`; nothing is written then. */
export function checkBatch(batch: CommitBatch, last: number): void {
  let previous = last;
  for (const record of batch.log ?? []) {
    if (!Number.isSafeInteger(record.position) || record.position <= previous) {
      throw new DatsyncError(ErrorCode.StorageFailed, 'log positions must strictly increase', {
        position: record.position,
        after: previous,
      });
    }
    previous = record.position;
  }
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
