/**
 * A transaction's fingerprint: 32 bits of FNV-1a over its encoding. A
 * replica id and counter name a transaction only as long as the replica
 * never issues a counter twice; a replica restored from a backup does, and
 * its new transaction then bears the id of one the server already holds.
 * The fingerprint tells the two apart wherever only the id travels (the
 * server acknowledging a client's own transaction by id).
 *
 * @module
 */
import { encodeTransactions } from './codec-tx.js';
import type { Transaction } from './op.js';

/** The encoding is deterministic, so equal transactions give equal fingerprints everywhere. */
export function transactionDigest(tx: Transaction): number {
  return fnv1a(encodeTransactions([tx]));
}

/** Whether two transactions with one id are the same transaction (compared by encoding, byte for byte). */
export function sameTransaction(a: Transaction, b: Transaction): boolean {
  if (a === b) return true;
  const x = encodeTransactions([a]);
  const y = encodeTransactions([b]);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
