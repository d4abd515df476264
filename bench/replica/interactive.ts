/**
 * (c) One interactive write on a 100,000-datom replica with 100 live
 * subscriptions, five of which the write affects: the time from the
 * `transact` call until the last affected callback has fired.
 *
 * @module
 */

import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Db, Eid, TxOp } from '../../src/datascript/index.js';
import { dbWith, initDb, pull, q } from '../../src/datascript/index.js';
import { compileSchema } from '../../src/schema.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { AsyncTrial, BenchResult, Row, Sample } from '../harness.js';
import {
  allLaps,
  finding,
  keepResident,
  percentile,
  ratioFinding,
  releaseResidents,
  runCounts,
  sideBySideAsync,
  totals,
  verify,
} from '../harness.js';
import { copyOf, filledStore } from './coldstart.js';
import { ATTRIBUTES, BASE_MS, foreignRecords, rawRows, SCHEMA, workload } from './workload.js';

const PULLS = 80;
const QUERIES = 20;
const WRITES_PER_RUN = 200;
const PULL_PATTERN = '["task/title" "task/status" "task/priority"]';
/** The attributes the query subscriptions read, one each, several sharing an attribute. */
const QUERY_ATTRIBUTES = ATTRIBUTES.slice(3);
const QUERY = (attribute: string): string => `[:find ?v . :in $ ?e :where [?e "${attribute}" ?v]]`;

const SUBJECTS = {
  datsync: 'datsync `transact` → 5 affected callbacks (100 subscriptions)',
  floor: 'DataScript `db_with` of the same 5 datoms, no subscriptions (floor)',
  naive: 'DataScript `db_with`, then re-running all 100 subscriptions',
} as const;
type Subject = keyof typeof SUBJECTS;

interface Layout {
  /** Entities the pull subscriptions watch, then those the query subscriptions read. */
  readonly pulls: readonly Eid[];
  readonly queries: readonly Eid[];
}

function queryAttribute(k: number): (typeof ATTRIBUTES)[number] {
  return QUERY_ATTRIBUTES[k % QUERY_ATTRIBUTES.length] as (typeof ATTRIBUTES)[number];
}

function valueFor(kind: string, w: number): string | number | Date {
  if (kind === 'number') return w + 0.5;
  if (kind === 'instant') return new Date(BASE_MS + w * 1000);
  return `value ${w}`;
}

/** Write w: the title of four pulled entities and the attribute one query reads (always new values). */
function writeOps(layout: Layout, w: number): TxOp[] {
  const ops: TxOp[] = [];
  for (let j = 0; j < 4; j++) ops.push([':db/add', layout.pulls[(4 * w + j) % PULLS] as Eid, 'task/title', `title ${w}-${j}`]);
  const k = w % QUERIES;
  const attribute = queryAttribute(k);
  ops.push([':db/add', layout.queries[k] as Eid, attribute.name, valueFor(attribute.kind, w)]);
  return ops;
}

/** Entities spread over the database: 100 distinct eids. */
function layoutOf(eids: readonly Eid[]): Layout {
  const sorted = [...eids].sort((a, b) => a - b);
  const step = Math.floor(sorted.length / (PULLS + QUERIES));
  const picked = Array.from({ length: PULLS + QUERIES }, (_, i) => sorted[i * step] as Eid);
  return { pulls: picked.slice(0, PULLS), queries: picked.slice(PULLS) };
}

export async function interactiveBenchmark(): Promise<BenchResult> {
  const work = workload();
  const records = await foreignRecords(work);
  const store = await filledStore(records, true);
  const dsSchema = compileSchema(SCHEMA).datascript;
  const rows = rawRows(work);
  const rawLayout = layoutOf(rows.map((row) => row[0]));
  const subscriptionsOn = (db: Db, layout: Layout): Array<() => unknown> => [
    ...layout.pulls.map((eid) => () => pull(db, PULL_PATTERN, eid)),
    ...layout.queries.map((eid, k) => () => q(QUERY(queryAttribute(k).name), db, eid)),
  ];
  const trials: Record<Subject, AsyncTrial> = {
    datsync: async () => {
      const client = (await createClient({ schema: SCHEMA, storage: new MemoryStorage(copyOf(store)) })) as Client;
      verify(client.pendingCount === 0, 'every run starts without pending writes');
      const layout = layoutOf(client.q<Eid[]>('[:find [?e ...] :where [?e "task/title"]]'));
      let fired = 0;
      let firedAt = 0;
      const onChange = (): void => {
        fired++;
        firedAt = performance.now();
      };
      for (const eid of layout.pulls) client.subscribePull(PULL_PATTERN, eid, onChange);
      layout.queries.forEach((eid, k) => {
        client.subscribe(QUERY(queryAttribute(k).name), [eid], onChange);
      });
      verify(fired === PULLS + QUERIES, 'every subscription delivered its first result');
      const writes = Array.from({ length: WRITES_PER_RUN }, (_, w) => writeOps(layout, w));
      return async (): Promise<Sample> => {
        const laps: number[] = [];
        for (const ops of writes) {
          fired = 0;
          const start = performance.now();
          const durable = client.transact(ops);
          // The callbacks fire inside transact, before it awaits storage.
          laps.push(firedAt - start);
          verify(fired === 5, 'a write fires exactly the five affected callbacks');
          await durable;
        }
        await client.close();
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
    floor: async () => {
      let db = initDb(rows, dsSchema);
      const writes = Array.from({ length: WRITES_PER_RUN }, (_, w) => writeOps(rawLayout, w));
      return async (): Promise<Sample> => {
        const laps: number[] = [];
        for (const ops of writes) {
          const start = performance.now();
          db = dbWith(db, ops);
          laps.push(performance.now() - start);
        }
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
    naive: async () => {
      let db = initDb(rows, dsSchema);
      const writes = Array.from({ length: WRITES_PER_RUN }, (_, w) => writeOps(rawLayout, w));
      return async (): Promise<Sample> => {
        const laps: number[] = [];
        for (const ops of writes) {
          const start = performance.now();
          db = dbWith(db, ops);
          for (const run of subscriptionsOn(db, rawLayout)) run();
          laps.push(performance.now() - start);
        }
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
  };
  keepResident(store);
  const counts = runCounts(2, 5);
  const samples = await sideBySideAsync(trials, counts);
  releaseResidents();
  const names = Object.keys(SUBJECTS) as Subject[];
  const laps = (s: Subject): number[] => allLaps(samples[s]);
  const rowsOut: Row[] = names.map((s) => ({
    subject: SUBJECTS[s],
    values: { p50: percentile(laps(s), 50), p95: percentile(laps(s), 95), p99: percentile(laps(s), 99), writes: laps(s).length },
  }));
  const time = (s: Subject): number[] => totals(samples[s]);
  return {
    id: 'interactive',
    title: '(c) One interactive write with 100 live subscriptions',
    description: [
      'A client opened from a snapshot of the 100,000 datoms of (b) (a fresh copy of the storage each run, so no run inherits',
      'pending writes), with 100 subscriptions on 100 different entities:',
      `${PULLS} \`subscribePull\` of \`${PULL_PATTERN}\` and ${QUERIES} \`subscribe\` of \`${QUERY('…')}\` (one entity each,`,
      `over ${QUERY_ATTRIBUTES.length} attributes). Each write is one \`transact\` of five \`:db/add\`: the title of four pulled entities`,
      'and the attribute one query reads; exactly those five callbacks fire (checked every write). The queries sharing that attribute',
      'are about other entities (given as eid inputs), so they are not re-run either. Timed from the `transact` call to the last affected callback, which fire synchronously inside',
      `\`transact\` before it awaits storage (the commit is awaited after, not timed). ${WRITES_PER_RUN} writes per run,`,
      `${counts.runs} runs interleaved with the DataScript subjects after ${counts.warmup} warm-up rounds; percentiles over every write.`,
      'For reference, Replicache publishes 3 ms p50 / 7 ms p95 for its comparable case.',
    ].join(' '),
    columns: [
      { key: 'p50', label: 'p50', format: 'ms' },
      { key: 'p95', label: 'p95', format: 'ms' },
      { key: 'p99', label: 'p99', format: 'ms' },
      { key: 'writes', label: 'writes', format: 'count' },
    ],
    rows: rowsOut,
    findings: [
      finding('datsync p50', percentile(laps('datsync'), 50), 'ms', { op: '<=', value: 1.5 }),
      finding('datsync p99', percentile(laps('datsync'), 99), 'ms', { op: '<=', value: 5 }),
      ratioFinding('datsync ÷ DataScript `db_with` alone (time per run)', time('datsync'), time('floor')),
      ratioFinding('datsync ÷ DataScript re-running every subscription (time per run)', time('datsync'), time('naive')),
    ],
    raw: Object.fromEntries(names.map((s) => [`${s}.laps`, laps(s)])),
  };
}
