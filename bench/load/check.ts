/**
 * What the load and fault runs check at the end: a fingerprint of a
 * replica's confirmed state (equal fingerprints: the same visible values
 * with the same dots), and the server's SQLite log read directly, so
 * "acknowledged, hence stored" is checked against the file, not the server's word.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Transaction, TxId } from '../../crdt/index.js';
import { ReplicaState, transactionId } from '../../crdt/index.js';
import type { SchemaInput } from '../../src/schema.js';
import { compileSchema } from '../../src/schema.js';
import { SqliteStorage } from '../../storage/sqlite.js';

/** Every visible value of every register, with its dot, sorted and hashed. */
export function stateFingerprint(state: ReplicaState): { readonly hash: string; readonly values: number } {
  const lines: string[] = [];
  for (const entity of state.entityIds()) {
    for (const [attribute] of state.attributesOf(entity)) {
      for (const { dot, value } of state.live(entity, attribute)) {
        lines.push(`${entity}\u0000${attribute}\u0000${dot.replica}:${dot.counter}\u0000${JSON.stringify(value)}`);
      }
    }
  }
  lines.sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return { hash: hash.digest('hex').slice(0, 16), values: lines.length };
}

export interface LogContents {
  readonly head: number;
  readonly txIds: ReadonlySet<TxId>;
  readonly fingerprint: { readonly hash: string; readonly values: number };
  /** Positions run 1..head with no hole, and no transaction appears twice. */
  readonly contiguous: boolean;
  readonly transactions: readonly Transaction[];
}

/** Reads a server's log from its SQLite file (the server must be stopped or killed). */
export async function readServerLog(path: string, schema: SchemaInput): Promise<LogContents> {
  const storage = new SqliteStorage(path);
  try {
    const state = new ReplicaState(compileSchema(schema).specs);
    const txIds = new Set<TxId>();
    const transactions: Transaction[] = [];
    let after = 0;
    let contiguous = true;
    for (;;) {
      const records = await storage.readLog(after, 5000);
      for (const record of records) {
        if (record.position !== after + 1) contiguous = false;
        after = record.position;
        const id = transactionId(record.tx);
        if (txIds.has(id)) contiguous = false;
        txIds.add(id);
        transactions.push(record.tx);
        state.applyTransaction(record.tx);
      }
      if (records.length === 0) break;
    }
    return { head: after, txIds, fingerprint: stateFingerprint(state), contiguous, transactions };
  } finally {
    await storage.close();
  }
}

/** Percentiles of a sample (nearest rank); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
