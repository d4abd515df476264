/**
 * The workload of the client benchmarks (`replica` and `storage`): a
 * task-tracker schema of ten cardinality-one attributes (strings, numbers
 * and a date), 10,000 entities written as 1,000 transactions of ten entity
 * maps with tempids, and the same data as the confirmed log records a
 * client receives from the server and as raw DataScript datoms.
 *
 * Runs in Node and in the browser (the storage suite bundles it).
 *
 * @module
 */
import type { Transaction } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Eid } from '../../src/datascript/index.js';
import { TX0 } from '../../src/datascript/index.js';
import type { SchemaInput } from '../../src/schema.js';
import type { LogRecord } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import { Random } from '../random.js';

export const BASE_MS = 1_700_000_000_000;

const WORDS = ['review', 'budget', 'draft', 'launch', 'fix', 'login', 'cache', 'sync', 'report', 'design', 'invoice', 'deploy'];
const STATUSES = ['todo', 'doing', 'review', 'done', 'blocked'];
const OWNERS = ['ana', 'bo', 'chen', 'dana', 'eli', 'fay', 'gus', 'hana'];
const TAGS = ['urgent', 'backend', 'frontend', 'ops', 'docs', 'bug', 'feature'];

type Kind = 'string' | 'number' | 'instant';

interface AttributeGen {
  readonly name: string;
  readonly kind: Kind;
  readonly make: (rng: Random) => string | number | Date;
}

function words(rng: Random, min: number, max: number): string {
  const n = min + rng.below(max - min + 1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rng.pick(WORDS));
  return out.join(' ');
}

export const ATTRIBUTES: readonly AttributeGen[] = [
  { name: 'task/title', kind: 'string', make: (rng) => words(rng, 2, 4) },
  { name: 'task/status', kind: 'string', make: (rng) => rng.pick(STATUSES) },
  { name: 'task/priority', kind: 'number', make: (rng) => rng.below(5) },
  { name: 'task/estimate', kind: 'number', make: (rng) => rng.below(400) / 10 + 0.25 },
  { name: 'task/owner', kind: 'string', make: (rng) => rng.pick(OWNERS) },
  { name: 'task/due', kind: 'instant', make: (rng) => new Date(BASE_MS + rng.below(90 * 86_400_000)) },
  { name: 'task/tag', kind: 'string', make: (rng) => rng.pick(TAGS) },
  { name: 'task/progress', kind: 'number', make: (rng) => rng.below(101) },
  { name: 'task/note', kind: 'string', make: (rng) => `${words(rng, 1, 3)} #${rng.below(1000)}` },
  { name: 'task/order', kind: 'number', make: (rng) => rng.below(1_000_000) },
];

export const ATTRIBUTE_NAMES: readonly string[] = ATTRIBUTES.map((a) => a.name);

const TYPE_KEYWORD = { string: ':db.type/string', number: ':db.type/number', instant: ':db.type/instant' } as const;

export const SCHEMA: SchemaInput = Object.fromEntries(ATTRIBUTES.map((a) => [a.name, { ':db/valueType': TYPE_KEYWORD[a.kind] }]));

export const ENTITIES = 10_000;
export const ENTITIES_PER_TX = 10;
export const DATOMS = ENTITIES * ATTRIBUTES.length;

export type EntityMap = Record<string, string | number | Date>;

export interface Workload {
  /** 1,000 transactions of ten entity maps (`':db/id'` a tempid), 100 datoms each. */
  readonly txData: readonly (readonly EntityMap[])[];
  /** Entity e's values, attribute by attribute (e from 0). */
  readonly values: readonly (readonly (string | number | Date)[])[];
}

/** The same workload every run, on every machine. */
export function workload(seed = 7): Workload {
  const rng = new Random(seed);
  const values: (string | number | Date)[][] = [];
  const txData: EntityMap[][] = [];
  for (let t = 0; t < ENTITIES / ENTITIES_PER_TX; t++) {
    const tx: EntityMap[] = [];
    for (let k = 0; k < ENTITIES_PER_TX; k++) {
      const row = ATTRIBUTES.map((a) => a.make(rng));
      values.push(row);
      const map: EntityMap = { ':db/id': `t${k}` };
      ATTRIBUTES.forEach((a, i) => {
        map[a.name] = row[i] as string | number | Date;
      });
      tx.push(map);
    }
    txData.push(tx);
  }
  return { txData, values };
}

/** The workload's datoms as raw DataScript takes them in `init_db`: entity e gets eid e + 1. */
export function rawRows(work: Workload): Array<readonly [Eid, string, unknown, number]> {
  const rows: Array<readonly [Eid, string, unknown, number]> = [];
  work.values.forEach((row, e) => {
    row.forEach((value, i) => {
      rows.push([e + 1, ATTRIBUTE_NAMES[i] as string, value, TX0]);
    });
  });
  return rows;
}

/**
 * The workload as another client wrote it: its 1,000 transactions, authored
 * by a real client and taken from its outbox, at server log positions 1 to
 * 1,000 (what a client catching up receives).
 */
export async function foreignRecords(work: Workload): Promise<LogRecord[]> {
  const author = (await createClient({ schema: SCHEMA, storage: new MemoryStorage(), now: () => BASE_MS })) as Client;
  for (const tx of work.txData) await author.transact(tx);
  const txs: readonly Transaction[] = author.replica.state.pending();
  const records = txs.map((tx, i) => ({ position: i + 1, tx }));
  await author.close();
  return records;
}

/** The workload's datoms as they are stored: `[entity id, attribute, value]` per datom, instants as epoch ms. */
export function storedDatoms(records: readonly LogRecord[]): Array<[string, string, unknown]> {
  const out: Array<[string, string, unknown]> = [];
  for (const record of records) for (const op of record.tx.ops) out.push([op.entity, op.attribute, op.value]);
  return out;
}

export function missing(what: string): never {
  throw new Error(`workload ran out of ${what}`);
}
