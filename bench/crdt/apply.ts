/**
 * (a) Applying 100,000 pre-authored ops into one fresh replica, beside Yjs
 * and a plain Map doing the same writes.
 *
 * @module
 */
import type { Value } from '../../crdt/index.js';
import { ReplicaState } from '../../crdt/index.js';
import type { BenchResult, Row, Sample, Trial } from '../harness.js';
import {
  allLaps,
  finding,
  keepResident,
  lapsOf,
  median,
  percentile,
  ratioFinding,
  releaseResidents,
  runCounts,
  sideBySide,
  totals,
  verify,
} from '../harness.js';
import type { Authored } from './workload.js';
import { applyWorkload, mapKey, SPECS, stateOf, writeMap } from './workload.js';
import { flatKey, newDoc, precreateEntityMaps, writeFlat, writeNested } from './yjs.js';

const ENTITIES = 10_000;
const ENTITIES_PER_TX = 10;

const SUBJECTS = {
  datsync: 'datsync `applyTransaction`',
  receive: 'datsync `receive` (validates first)',
  yjsFlat: 'Yjs, flat keys in one Y.Map',
  yjsNested: 'Yjs, one pre-created Y.Map per entity',
  map: 'plain `Map` (ceiling)',
} as const;
type Subject = keyof typeof SUBJECTS;

function trials(work: Authored): Record<Subject, Trial> {
  const { txs, batches } = work;
  return {
    datsync: () => {
      const state = new ReplicaState(SPECS);
      return () => lapsOf(txs.length, (i) => state.applyTransaction(txs[i] ?? missing()));
    },
    receive: () => {
      const state = new ReplicaState(SPECS);
      return () => lapsOf(txs.length, (i) => state.receive(txs[i] ?? missing()));
    },
    yjsFlat: () => {
      const doc = newDoc(1);
      return () => lapsOf(batches.length, (i) => writeFlat(doc, batches[i] ?? missing()));
    },
    yjsNested: () => {
      const doc = newDoc(1);
      const targets = precreateEntityMaps(doc, batches);
      return () => lapsOf(batches.length, (i) => writeNested(doc, batches[i] ?? missing(), targets[i] ?? missing()));
    },
    map: () => {
      const map = new Map<string, Value>();
      return () =>
        lapsOf(batches.length, (i) => {
          writeMap(map, batches[i] ?? missing());
        });
    },
  };
}

function missing(): never {
  throw new Error('workload index out of range');
}

/** Every subject ends up showing the same 100,000 values. */
function check(work: Authored): void {
  const state = stateOf(work.txs);
  const map = new Map<string, Value>();
  for (const batch of work.batches) writeMap(map, batch);
  let datoms = 0;
  for (const [entity, attribute, value] of state.datoms()) {
    datoms++;
    verify(map.get(mapKey(entity, attribute)) === value, 'datsync shows the value written');
  }
  verify(datoms === map.size && datoms === ENTITIES * 10, 'datsync holds 100,000 datoms');
  const doc = newDoc(1);
  for (const batch of work.batches) writeFlat(doc, batch);
  const datomMap = doc.getMap<unknown>('datoms');
  verify(datomMap.size === map.size, 'Yjs holds 100,000 keys');
  for (const batch of work.batches) {
    for (const write of batch) verify(datomMap.get(flatKey(write.entity, write.attribute)) === write.value, 'Yjs shows the value written');
  }
}

/** A small store of every subject, resident while the runs go (see `keepResident`). */
function residentStores(work: Authored): unknown[] {
  const batches = work.batches.slice(0, 2);
  const map = new Map<string, Value>();
  for (const batch of batches) writeMap(map, batch);
  const flat = newDoc(1);
  for (const batch of batches) writeFlat(flat, batch);
  const nested = newDoc(1);
  const targets = precreateEntityMaps(nested, batches);
  batches.forEach((batch, i) => {
    writeNested(nested, batch, targets[i] ?? missing());
  });
  return [stateOf(work.txs.slice(0, 2)), map, flat, nested];
}

export function applyBenchmark(): BenchResult {
  const work = applyWorkload(ENTITIES, ENTITIES_PER_TX);
  check(work);
  keepResident(...residentStores(work));
  const ops = work.txs.reduce((n, tx) => n + tx.ops.length, 0);
  const counts = runCounts(5, 25);
  const samples: Record<Subject, Sample[]> = sideBySide(trials(work), counts);
  releaseResidents();
  const time = (s: Subject): number[] => totals(samples[s]);
  const rows: Row[] = (Object.keys(SUBJECTS) as Subject[]).map((s) => {
    const laps = allLaps(samples[s]);
    return {
      subject: SUBJECTS[s],
      values: {
        opsPerSecond: ops / (median(time(s)) / 1000),
        runMs: median(time(s)),
        p50: percentile(laps, 50),
        p99: percentile(laps, 99),
      },
    };
  });
  const datsyncOps = ops / (median(time('datsync')) / 1000);
  const p99 = percentile(allLaps(samples.datsync), 99);
  return {
    id: 'apply',
    title: '(a) Apply 100,000 ops into a fresh replica',
    description: [
      `${ENTITIES.toLocaleString('en-US')} entities x 10 attributes, ${work.txs.length.toLocaleString('en-US')} transactions of ${ENTITIES_PER_TX * 10} ops,`,
      'pre-authored by `LocalAuthor` (not timed) and applied into one fresh `ReplicaState`. Yjs makes the same writes with one `doc.transact`',
      'per 100 writes; the Map is keyed by entity and attribute joined with U+001F. Ops/s is from the median of',
      `${counts.runs} interleaved runs (after ${counts.warmup} warm-up rounds); p50/p99 are per 100-op transaction over every run.`,
      'Ratios are throughput ratios, the median over rounds of paired runs.',
    ].join(' '),
    columns: [
      { key: 'opsPerSecond', label: 'ops/s', format: 'opsPerSecond' },
      { key: 'runMs', label: 'median run', format: 'ms' },
      { key: 'p50', label: 'p50 / tx', format: 'ms' },
      { key: 'p99', label: 'p99 / tx', format: 'ms' },
    ],
    rows,
    findings: [
      finding('datsync ops/s', datsyncOps, 'opsPerSecond', { op: '>=', value: 900_000 }),
      ratioFinding('datsync ÷ Yjs flat keys (throughput)', time('yjsFlat'), time('datsync'), { op: '>=', value: 3 }),
      ratioFinding('datsync ÷ Yjs map per entity (throughput)', time('yjsNested'), time('datsync'), {
        op: '>=',
        value: 3,
      }),
      ratioFinding('datsync ÷ plain Map (throughput)', time('map'), time('datsync'), { op: '>=', value: 1 / 3 }),
      finding('datsync p99 per 100-op transaction', p99, 'ms', { op: '<', value: 0.5 }),
      ratioFinding('datsync `receive` ÷ `applyTransaction` (throughput)', time('datsync'), time('receive')),
    ],
    raw: Object.fromEntries((Object.keys(SUBJECTS) as Subject[]).map((s) => [`${s}.runMs`, time(s)])),
  };
}
