/**
 * (b) Opening a replica of 100,000 datoms from storage until its database is
 * queryable, beside DataScript's `init_db` of the same datoms.
 *
 * @module
 */

import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Db, Eid } from '../../src/datascript/index.js';
import { initDb, q } from '../../src/datascript/index.js';
import { compileSchema } from '../../src/schema.js';
import type { LogRecord } from '../../storage/contract.js';
import { MemoryStorage, MemoryStore } from '../../storage/memory.js';
import type { AsyncTrial, BenchResult, Row, Sample } from '../harness.js';
import {
  finding,
  keepResident,
  median,
  ratioFinding,
  releaseResidents,
  runCounts,
  sideBySideAsync,
  timeOf,
  timeOfAsync,
  totals,
  verify,
} from '../harness.js';
import { DATOMS, ENTITIES, foreignRecords, rawRows, SCHEMA, workload } from './workload.js';

const SUBJECTS = {
  snapshot: 'datsync `createClient`, storage holding a snapshot',
  log: 'datsync `createClient`, storage holding the log (1,000 records)',
  raw: 'DataScript `init_db` of the same datoms',
} as const;
type Subject = keyof typeof SUBJECTS;

const COUNT = '[:find (count ?e) . :where [?e "task/title"]]';
const TITLES = '[:find ?t ?o :where [?e "task/title" ?t] [?e "task/order" ?o]]';

/** A store as a client leaves it after receiving `records`: the log, or (compacted) a snapshot. */
export async function filledStore(records: readonly LogRecord[], compacted: boolean): Promise<MemoryStore> {
  const store = new MemoryStore();
  const client = (await createClient({ schema: SCHEMA, storage: new MemoryStorage(store) })) as Client;
  await client.receive(records, [], records.length);
  if (compacted) await client.compact();
  await client.close();
  return store;
}

/**
 * A copy of a filled store, for a client that writes: its outbox then starts
 * empty every time (a shared store would carry every earlier run's writes).
 */
export function copyOf(store: MemoryStore): MemoryStore {
  const copy = new MemoryStore();
  copy.log = [...store.log];
  for (const [id, record] of store.byTx) copy.byTx.set(id, record);
  copy.outbox.push(...store.outbox);
  copy.meta = { ...store.meta };
  copy.snapshot = store.snapshot;
  return copy;
}

function opened(store: MemoryStore): AsyncTrial {
  return async () => async (): Promise<Sample> => {
    let client: Client | undefined;
    const ms = await timeOfAsync(async () => {
      client = (await createClient({ schema: SCHEMA, storage: new MemoryStorage(store) })) as Client;
      client.db();
    });
    verify(client?.q(COUNT) === ENTITIES, 'the opened replica holds 10,000 entities');
    await client?.close();
    return { ms, laps: [] };
  };
}

export async function coldStartBenchmark(): Promise<BenchResult> {
  const work = workload();
  const records = await foreignRecords(work);
  const logStore = await filledStore(records, false);
  const snapshotStore = await filledStore(records, true);
  verify(logStore.log.length === records.length && logStore.snapshot === undefined, 'the log store holds the log');
  verify(snapshotStore.log.length === 0 && snapshotStore.snapshot !== undefined, 'the snapshot store holds a snapshot');
  const rows: Array<readonly [Eid, string, unknown, number]> = rawRows(work);
  const dsSchema = compileSchema(SCHEMA).datascript;
  const rawDb = initDb(rows, dsSchema);
  const check = (await createClient({ schema: SCHEMA, storage: new MemoryStorage(snapshotStore) })) as Client;
  verify(
    JSON.stringify(check.q<unknown[]>(TITLES).sort()) === JSON.stringify(q<unknown[]>(TITLES, rawDb).sort()),
    'the replica shows what init_db holds',
  );
  keepResident(check, rawDb);
  const trials: Record<Subject, AsyncTrial> = {
    snapshot: opened(snapshotStore),
    log: opened(logStore),
    raw: async () => async (): Promise<Sample> => {
      let db: Db | undefined;
      const ms = timeOf(() => {
        db = initDb(rows, dsSchema);
      });
      verify(db !== undefined && q(COUNT, db) === ENTITIES, 'init_db holds 10,000 entities');
      return { ms, laps: [] };
    },
  };
  const counts = runCounts(3, 15);
  const samples = await sideBySideAsync(trials, counts);
  releaseResidents();
  await check.close();
  const time = (s: Subject): number[] => totals(samples[s]);
  const names = Object.keys(SUBJECTS) as Subject[];
  const rowsOut: Row[] = names.map((s) => ({
    subject: SUBJECTS[s],
    values: { ms: median(time(s)), datomsPerSecond: DATOMS / (median(time(s)) / 1000) },
  }));
  return {
    id: 'coldstart',
    title: '(b) Opening a replica of 100,000 datoms',
    description: [
      `The datoms of (a), written by another client and received as ${records.length.toLocaleString('en-US')} confirmed log records`,
      '(`client.receive`, not timed), left in `MemoryStorage` either as the log or, after `client.compact()`, as one snapshot.',
      'Timed: `createClient` on that storage until `db()` returns the DataScript database (restoring the CRDT state, then building',
      'the projection, 110,000 datoms with the `datsync/id` of each entity). DataScript: `init_db` of the same 100,000 datoms',
      `(prepared, not timed) on the same schema. Median of ${counts.runs} interleaved runs after ${counts.warmup} warm-up rounds;`,
      'every run checks the database holds 10,000 entities.',
    ].join(' '),
    columns: [
      { key: 'ms', label: 'median time', format: 'ms' },
      { key: 'datomsPerSecond', label: 'datoms/s', format: 'opsPerSecond' },
    ],
    rows: rowsOut,
    findings: [
      ratioFinding('datsync from a snapshot ÷ `init_db` (time)', time('snapshot'), time('raw'), { op: '<=', value: 1.25 }),
      ratioFinding('datsync from the log ÷ `init_db` (time)', time('log'), time('raw'), { op: '<=', value: 1.25 }),
      finding('datsync from a snapshot, median', median(time('snapshot')), 'ms'),
    ],
    raw: Object.fromEntries(names.map((s) => [`${s}.ms`, time(s)])),
  };
}
