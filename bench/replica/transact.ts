/**
 * (a) Local `client.transact` throughput beside raw DataScript transacting
 * the same transaction data.
 *
 * @module
 */
import datascript from 'datascript';
import { createClient } from '../../src/client/client.js';
import type { DatsyncClient } from '../../src/client/index.js';
import type { Db, TxOp } from '../../src/datascript/index.js';
import { dbWith, emptyDb, q } from '../../src/datascript/index.js';
import { compileSchema } from '../../src/schema.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { AsyncTrial, BenchResult, Row, Sample } from '../harness.js';
import {
  allLaps,
  finding,
  keepResident,
  lapsOf,
  lapsOfAsync,
  median,
  percentile,
  ratioFinding,
  releaseResidents,
  runCounts,
  sideBySideAsync,
  totals,
  verify,
} from '../harness.js';
import type { Workload } from './workload.js';
import { ATTRIBUTE_NAMES, DATOMS, ENTITIES, ENTITIES_PER_TX, missing, SCHEMA, workload } from './workload.js';

const SUBJECTS = {
  datsync: 'datsync `client.transact` (MemoryStorage), awaited one by one',
  raw: 'DataScript `db_with`, the same entity maps with tempids',
  rawVectors: 'DataScript `db_with`, the same datoms as `:db/add` vectors with eids',
} as const;
type Subject = keyof typeof SUBJECTS;

const DS_SCHEMA = compileSchema(SCHEMA).datascript;

/** The same datoms as `[':db/add', eid, attribute, value]`, as datsync's projection hands them to DataScript. */
function vectorsOf(work: Workload): TxOp[][] {
  return work.txData.map((tx, t) =>
    tx.flatMap((map, k) => {
      const eid = t * ENTITIES_PER_TX + k + 1;
      return ATTRIBUTE_NAMES.map((name): TxOp => [':db/add', eid, name, map[name]]);
    }),
  );
}

function trials(work: Workload, vectors: readonly TxOp[][]): Record<Subject, AsyncTrial> {
  const { txData } = work;
  return {
    datsync: async () => {
      const client = await createClient({ schema: SCHEMA, storage: new MemoryStorage() });
      return async () => {
        const sample = await lapsOfAsync(txData.length, (i) => client.transact(txData[i] ?? missing('transactions')));
        await client.close();
        return sample;
      };
    },
    raw: async () => {
      let db = emptyDb(DS_SCHEMA);
      return async (): Promise<Sample> =>
        lapsOf(txData.length, (i) => {
          db = datascript.db_with(db, txData[i] ?? missing('transactions')) as Db;
        });
    },
    rawVectors: async () => {
      let db = emptyDb(DS_SCHEMA);
      return async (): Promise<Sample> =>
        lapsOf(vectors.length, (i) => {
          db = dbWith(db, vectors[i] ?? missing('transactions'));
        });
    },
  };
}

async function check(work: Workload): Promise<DatsyncClient> {
  const client = await createClient({ schema: SCHEMA, storage: new MemoryStorage() });
  for (const tx of work.txData) await client.transact(tx);
  let db = emptyDb(DS_SCHEMA);
  for (const tx of work.txData) db = datascript.db_with(db, tx) as Db;
  const count = '[:find (count ?e) . :where [?e "task/title"]]';
  verify(client.q(count) === ENTITIES && q(count, db) === ENTITIES, 'both hold 10,000 entities');
  const titles = '[:find ?t ?o :where [?e "task/title" ?t] [?e "task/order" ?o]]';
  verify(
    JSON.stringify(client.q<unknown[]>(titles).sort()) === JSON.stringify(q<unknown[]>(titles, db).sort()),
    'both show the same values',
  );
  return client;
}

export async function transactBenchmark(): Promise<BenchResult> {
  const work = workload();
  const vectors = vectorsOf(work);
  const resident = await check(work);
  // A small store of every subject stays alive, so V8 keeps their code (see `keepResident`).
  let residentDb = emptyDb(DS_SCHEMA);
  for (const tx of work.txData.slice(0, 2)) residentDb = datascript.db_with(residentDb, tx) as Db;
  keepResident(resident, residentDb);
  const counts = runCounts(3, 15);
  const samples = await sideBySideAsync(trials(work, vectors), counts);
  releaseResidents();
  await resident.close();
  const time = (s: Subject): number[] => totals(samples[s]);
  const names = Object.keys(SUBJECTS) as Subject[];
  const rows: Row[] = names.map((s) => {
    const laps = allLaps(samples[s]);
    return {
      subject: SUBJECTS[s],
      values: {
        datomsPerSecond: DATOMS / (median(time(s)) / 1000),
        runMs: median(time(s)),
        p50: percentile(laps, 50),
        p99: percentile(laps, 99),
      },
    };
  });
  return {
    id: 'transact',
    title: '(a) Local transactions: 100,000 datoms, 1,000 transactions of ten entity maps',
    description: [
      `${ENTITIES.toLocaleString('en-US')} entities x ${ATTRIBUTE_NAMES.length} attributes (strings, numbers, one date), written as`,
      `${work.txData.length.toLocaleString('en-US')} transactions of ${ENTITIES_PER_TX} entity maps with tempids (\`{':db/id': 't0', 'task/title': …}\`).`,
      'datsync: one client on `MemoryStorage`, each `transact` awaited (validation, net effect, authoring, the tentative state, the',
      'DataScript projection, the outbox commit). DataScript: `db_with` of the very same transaction data on the same DataScript schema,',
      "and, as the ceiling, of the same datoms as `:db/add` vectors with fixed eids (the form datsync's projection transacts).",
      `Datoms/s from the median of ${counts.runs} interleaved runs (after ${counts.warmup} warm-up rounds), each into a fresh database;`,
      'p50/p99 per transaction over every run. The ratio is the median over rounds of paired runs.',
    ].join(' '),
    columns: [
      { key: 'datomsPerSecond', label: 'datoms/s', format: 'opsPerSecond' },
      { key: 'runMs', label: 'median run', format: 'ms' },
      { key: 'p50', label: 'p50 / tx', format: 'ms' },
      { key: 'p99', label: 'p99 / tx', format: 'ms' },
    ],
    rows,
    findings: [
      ratioFinding('datsync ÷ DataScript `db_with` of the same tx data (throughput)', time('raw'), time('datsync'), {
        op: '>=',
        value: 0.85,
      }),
      ratioFinding('datsync ÷ DataScript `db_with` of `:db/add` vectors (throughput)', time('rawVectors'), time('datsync')),
      finding('datsync datoms/s', DATOMS / (median(time('datsync')) / 1000), 'opsPerSecond'),
    ],
    raw: Object.fromEntries(names.map((s) => [`${s}.runMs`, time(s)])),
  };
}
