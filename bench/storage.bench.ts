/**
 * Persistence: bulk writes of 100,000 datoms, cold starts from storage and
 * interactive durable writes, on IndexedDB in Node (fake-indexeddb), SQLite,
 * and IndexedDB in real Chromium, each beside the raw adapter writing and
 * reading the same datoms with no datsync logic.
 *
 * @module
 */
import type { AsyncTrial, BenchResult, BenchSuite, Finding, Row, Samples, Target } from './harness.js';
import { allLaps, finding, median, percentile, ratioFinding, runCounts, sideBySideAsync, totals } from './harness.js';
import { DATOMS, foreignRecords, rawRows, workload } from './replica/workload.js';
import { chromiumAvailable, openChromium } from './storage/chromium.js';
import { bulkTrials, cleanIdb, coldTrials, liveTrials, prepareIdb } from './storage/idb.js';
import type { BulkSubject, ColdSubject, LiveSubject } from './storage/shared.js';
import { INTERACTIVE_WRITES, rawDatoms } from './storage/shared.js';
import { cleanSqlite, prepareSqlite, sqliteBulkTrials, sqliteColdTrials, sqliteLiveTrials } from './storage/sqlite.js';

interface Backend {
  readonly id: string;
  readonly title: string;
  readonly setting: string;
  readonly rawWrite: string;
  readonly rawRead: string;
  readonly rawLive: string;
  /** Targets that apply to this backend. */
  readonly coldTarget: Target | null;
  readonly liveTarget: Target | null;
}

interface Measured {
  readonly bulk: Samples<BulkSubject>;
  readonly cold: Samples<ColdSubject>;
  readonly live: Samples<LiveSubject>;
  readonly counts: {
    readonly bulk: number;
    readonly local: number;
    readonly cold: number;
    readonly live: number;
    readonly warmup: number;
  };
}

const PERSISTENCE: Target = { op: '>=', value: 0.8 };
const COLD_START: Target = { op: '<', value: 1000 };
const INTERACTIVE_P99: Target = { op: '<=', value: 33 };

async function measure(trials: {
  readonly bulk: Record<BulkSubject, AsyncTrial>;
  readonly cold: Record<ColdSubject, AsyncTrial>;
  readonly live: Record<LiveSubject, AsyncTrial>;
}): Promise<Measured> {
  const bulkCounts = runCounts(2, 15);
  const localCounts = runCounts(1, 5);
  const coldCounts = runCounts(2, 15);
  const liveCounts = runCounts(1, 4);
  console.error('    bulk writes...');
  const { transact, ...received } = trials.bulk;
  const bulk = { ...(await sideBySideAsync(received, bulkCounts)), ...(await sideBySideAsync({ transact }, localCounts)) };
  console.error('    cold starts...');
  const cold = await sideBySideAsync(trials.cold, coldCounts);
  console.error('    interactive writes...');
  const live = await sideBySideAsync(trials.live, liveCounts);
  return {
    bulk,
    cold,
    live,
    counts: { bulk: bulkCounts.runs, local: localCounts.runs, cold: coldCounts.runs, live: liveCounts.runs, warmup: bulkCounts.warmup },
  };
}

function result(backend: Backend, m: Measured): BenchResult {
  const time = <K extends string>(samples: Samples<K>, s: K): number[] => totals(samples[s]);
  const rate = (ms: number): number => DATOMS / (ms / 1000);
  const timed = <K extends string>(samples: Samples<K>, s: K, subject: string): Row => ({
    subject,
    values: { ms: median(time(samples, s)), datomsPerSecond: rate(median(time(samples, s))) },
  });
  const live = (s: LiveSubject, subject: string): Row => {
    const laps = allLaps(m.live[s]);
    return { subject, values: { p50: percentile(laps, 50), p99: percentile(laps, 99), writes: laps.length } };
  };
  const rows: Row[] = [
    timed(m.bulk, 'commit', 'bulk write: datsync `storage.commit` of the 1,000 received records, as `receive` commits them'),
    timed(m.bulk, 'receive', 'bulk write: datsync `client.receive` of them (that commit, then the CRDT state and the projection)'),
    timed(m.bulk, 'transact', 'bulk write: datsync, 1,000 local `transact` of 100 datoms, each awaited until durable'),
    timed(m.bulk, 'raw', `bulk write: raw ceiling, ${backend.rawWrite}`),
    timed(m.cold, 'log', 'cold start: `createClient` on the storage holding the log, until `db()`'),
    timed(m.cold, 'snapshot', 'cold start: `createClient` on the storage holding a snapshot, until `db()`'),
    timed(m.cold, 'raw', `cold start: raw, ${backend.rawRead}`),
    live('datsync', 'interactive write: datsync `transact` of 2 datoms, until durable'),
    live('raw', `interactive write: raw floor, ${backend.rawLive}`),
  ];
  const coldLog = median(time(m.cold, 'log'));
  const coldSnapshot = median(time(m.cold, 'snapshot'));
  const liveLaps = allLaps(m.live.datsync);
  const findings: Finding[] = [
    ratioFinding('persistence: datsync commit ÷ raw ceiling (throughput)', time(m.bulk, 'raw'), time(m.bulk, 'commit'), PERSISTENCE),
    ratioFinding('datsync `receive` ÷ raw ceiling (throughput)', time(m.bulk, 'raw'), time(m.bulk, 'receive')),
    finding('cold start from the log', coldLog, 'ms', backend.coldTarget),
    finding('cold start from a snapshot', coldSnapshot, 'ms', backend.coldTarget),
    ratioFinding('cold start from a snapshot ÷ raw read + `init_db` (time)', time(m.cold, 'snapshot'), time(m.cold, 'raw')),
    finding('interactive write p50', percentile(liveLaps, 50), 'ms'),
    finding('interactive write p99', percentile(liveLaps, 99), 'ms', backend.liveTarget),
  ];
  return {
    id: backend.id,
    title: backend.title,
    description: [
      backend.setting,
      `Bulk write: the 100,000 datoms of the replica suite, written by another client, arrive as 1,000 confirmed log records;`,
      'each subject writes them into a fresh database (opening it is not timed). Cold start: `createClient` on a storage filled',
      'once (by `receive`, and for the snapshot row then `compact`), timed from opening the storage until `db()` returns the',
      'queryable DataScript database; the raw row reads its datoms back and builds the database with `init_db`. Interactive write:',
      `a client holding the 100,000 datoms edits one task (title and status) ${INTERACTIVE_WRITES} times per run, each \`transact\``,
      'timed until it resolves (durable: IndexedDB `strict` durability, SQLite `synchronous = FULL`).',
      `Medians of ${m.counts.bulk} interleaved runs (bulk writes of received records, and cold starts) after ${m.counts.warmup}`,
      `warm-up rounds, and of ${m.counts.local} runs of the local transactions (seconds each, run on their own after the others);`,
      `interactive percentiles over ${m.counts.live} runs. Ratios are medians over rounds of paired runs.`,
    ].join(' '),
    columns: [
      { key: 'ms', label: 'median time', format: 'ms' },
      { key: 'datomsPerSecond', label: 'datoms/s', format: 'opsPerSecond' },
      { key: 'p50', label: 'p50', format: 'ms' },
      { key: 'p99', label: 'p99', format: 'ms' },
      { key: 'writes', label: 'writes', format: 'count' },
    ],
    rows,
    findings,
    raw: {
      ...Object.fromEntries((['commit', 'receive', 'transact', 'raw'] as const).map((s) => [`bulk.${s}.ms`, time(m.bulk, s)])),
      ...Object.fromEntries((['log', 'snapshot', 'raw'] as const).map((s) => [`cold.${s}.ms`, time(m.cold, s)])),
      ...Object.fromEntries((['datsync', 'raw'] as const).map((s) => [`live.${s}.laps`, allLaps(m.live[s])])),
    },
  };
}

const RAW_IDB = {
  rawWrite: '`idb` writing 100 records of 1,000 datoms (`[eid, attribute, value]` arrays) in one readwrite transaction',
  rawRead: '`idb` `getAll` of those records, then `init_db`',
  rawLive: '`idb` adding 2 records in one `strict` readwrite transaction',
};

export const suite: BenchSuite = {
  name: 'storage',
  title: 'storage: persistence on IndexedDB and SQLite against the raw adapters',
  async run(): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    const work = workload();
    const records = await foreignRecords(work);

    console.error('  IndexedDB in Node (fake-indexeddb)...');
    // Installs the IndexedDB globals in this process only when this suite runs.
    await import('./storage/fake-indexeddb.js');
    const idb = await prepareIdb();
    try {
      const measured = await measure({ bulk: bulkTrials(idb), cold: coldTrials(idb), live: liveTrials(idb) });
      results.push(
        result(
          {
            id: 'fake-indexeddb',
            title: '(a) IndexedDB in Node (fake-indexeddb)',
            setting: 'fake-indexeddb 6 in this Node process (an in-memory model of IndexedDB: no disk, structured clone in JavaScript).',
            ...RAW_IDB,
            coldTarget: null,
            liveTarget: null,
          },
          measured,
        ),
      );
    } finally {
      await cleanIdb(idb);
    }

    console.error('  SQLite...');
    const sqlite = await prepareSqlite(records, work.txData, rawDatoms(rawRows(work)));
    try {
      const measured = await measure({ bulk: sqliteBulkTrials(sqlite), cold: sqliteColdTrials(sqlite), live: sqliteLiveTrials(sqlite) });
      results.push(
        result(
          {
            id: 'sqlite',
            title: '(b) SQLite (better-sqlite3, temporary file)',
            setting:
              '`SqliteStorage` on a file in the temporary directory (WAL, `synchronous = FULL`); the raw subjects use the same pragmas.',
            rawWrite: 'better-sqlite3 inserting 100,000 rows `(e, a, v)` with one prepared statement in one transaction',
            rawRead: '`SELECT e, a, v` of every row, then `init_db`',
            rawLive: 'inserting 2 rows in one transaction',
            coldTarget: COLD_START,
            liveTarget: null,
          },
          measured,
        ),
      );
    } finally {
      cleanSqlite(sqlite);
    }

    if (!chromiumAvailable())
      throw new Error('Chromium not found (apt-get install chromium, or set CHROMIUM_PATH): the storage suite needs it');
    console.error('  IndexedDB in Chromium...');
    const chromium = await openChromium();
    try {
      const measured = await measure(chromium);
      results.push(
        result(
          {
            id: 'chromium',
            title: '(c) IndexedDB in real Chromium',
            setting: `Headless Chromium ${chromium.version} (Debian's build, driven over CDP by playwright-core), its profile in the temporary directory; every subject runs in the page.`,
            ...RAW_IDB,
            coldTarget: COLD_START,
            liveTarget: INTERACTIVE_P99,
          },
          measured,
        ),
      );
    } finally {
      await chromium.close();
    }
    return results;
  },
};
