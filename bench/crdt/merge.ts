/**
 * (b) Two replicas that each wrote 50,000 ops on the same keys concurrently
 * exchange what the other lacks and converge; beside a last-writer-wins
 * exchange over JSON and Yjs.
 *
 * @module
 */
import type * as Y from 'yjs';
import type { ReplicaState, Transaction } from '../../crdt/index.js';
import { decodeState, decodeTransactions, encodeState, encodeTransactions, lastCounter } from '../../crdt/index.js';
import type { BenchResult, Row, Sample, Trial } from '../harness.js';
import { keepResident, median, ratioFinding, releaseResidents, runCounts, sampleOf, sideBySide, totals, verify } from '../harness.js';
import type { Authored, Write } from './workload.js';
import { concurrentWorkload, mapKey, SPECS, stateOf } from './workload.js';
import { bytesEqual, exchange, newDoc, sameFlatContent, sameStateVector, writeFlat } from './yjs.js';

const ENTITIES = 5_000;
const ENTITIES_PER_TX = 10;

const SUBJECTS = {
  delta: 'datsync delta sync: `encodeTransactions` → `decodeTransactions` → `applyTransaction`',
  deltaReceive: 'datsync delta sync, received with `receive` (validates first)',
  merge: 'datsync `ReplicaState.merge` of whole states (in memory)',
  stateSync: 'datsync full-state sync: `encodeState` → `decodeState` → `merge`',
  json: 'last-writer-wins over JSON into a `Map`',
  yjs: 'Yjs `encodeStateAsUpdate` / `applyUpdate`, flat keys',
} as const;
type Subject = keyof typeof SUBJECTS;

/** A last-writer-wins record: `t` is the writing transaction's HLC, unique per write here. */
interface LwwWrite {
  readonly k: string;
  readonly v: unknown;
  readonly t: number;
}

function lwwLog(work: Authored): LwwWrite[] {
  return work.txs.flatMap((tx) => tx.ops.map((op) => ({ k: mapKey(op.entity, op.attribute), v: op.value, t: tx.hlc })));
}

function lwwApply(store: Map<string, LwwWrite>, writes: readonly LwwWrite[]): void {
  for (const write of writes) {
    const current = store.get(write.k);
    if (current === undefined || write.t > current.t) store.set(write.k, write);
  }
}

function lwwStore(log: readonly LwwWrite[]): Map<string, LwwWrite> {
  const store = new Map<string, LwwWrite>();
  lwwApply(store, log);
  return store;
}

/** The transactions of `log` that `to` has not applied, by its version vector. */
function missingFrom(log: readonly Transaction[], to: ReplicaState): Transaction[] {
  const vector = to.vector();
  return log.filter((tx) => lastCounter(tx) > (vector.get(tx.replica) ?? 0));
}

/** What one side sends: its log's transactions the other lacks, encoded. */
function sendDelta(log: readonly Transaction[], to: ReplicaState): Uint8Array {
  return encodeTransactions(missingFrom(log, to));
}

function docOf(batches: readonly (readonly Write[])[], clientId: number): Y.Doc {
  const doc = newDoc(clientId);
  for (const batch of batches) writeFlat(doc, batch);
  return doc;
}

interface Convergence {
  datsync: boolean;
  json: boolean;
  yjs: boolean;
}

function trials(a: Authored, b: Authored, converged: Convergence): Record<Subject, Trial> {
  const delta =
    (receive: boolean): Trial =>
    () => {
      const left = stateOf(a.txs);
      const right = stateOf(b.txs);
      return () => {
        const sample = sampleOf(() => {
          const toRight = sendDelta(a.txs, right);
          const toLeft = sendDelta(b.txs, left);
          for (const tx of decodeTransactions(toRight)) receive ? right.receive(tx) : right.applyTransaction(tx);
          for (const tx of decodeTransactions(toLeft)) receive ? left.receive(tx) : left.applyTransaction(tx);
        });
        converged.datsync &&= bytesEqual(encodeState(left), encodeState(right));
        return sample;
      };
    };
  return {
    delta: delta(false),
    deltaReceive: delta(true),
    merge: () => {
      // Each side merges the other's state as it was before the exchange, as two peers swapping states would.
      const left = stateOf(a.txs);
      const right = stateOf(b.txs);
      const leftSent = stateOf(a.txs);
      const rightSent = stateOf(b.txs);
      return () => {
        const sample = sampleOf(() => {
          left.merge(rightSent);
          right.merge(leftSent);
        });
        converged.datsync &&= bytesEqual(encodeState(left), encodeState(right));
        return sample;
      };
    },
    stateSync: () => {
      const left = stateOf(a.txs);
      const right = stateOf(b.txs);
      return () => {
        const sample = sampleOf(() => {
          const toRight = encodeState(left);
          const toLeft = encodeState(right);
          right.merge(decodeState(toRight, SPECS));
          left.merge(decodeState(toLeft, SPECS));
        });
        converged.datsync &&= bytesEqual(encodeState(left), encodeState(right));
        return sample;
      };
    },
    json: () => {
      const logA = lwwLog(a);
      const logB = lwwLog(b);
      const left = lwwStore(logA);
      const right = lwwStore(logB);
      return () => {
        const sample = sampleOf(() => {
          const toRight = JSON.stringify(logA);
          const toLeft = JSON.stringify(logB);
          lwwApply(right, JSON.parse(toRight) as LwwWrite[]);
          lwwApply(left, JSON.parse(toLeft) as LwwWrite[]);
        });
        converged.json &&= left.size === right.size && [...left].every(([k, w]) => right.get(k)?.v === w.v);
        return sample;
      };
    },
    yjs: () => {
      const left = docOf(a.batches, 1);
      const right = docOf(b.batches, 2);
      return () => {
        const sample = sampleOf(() => exchange(left, right));
        converged.yjs &&= sameStateVector(left, right) && sameFlatContent(left, right);
        return sample;
      };
    },
  };
}

/** The JSON exchange picks the same winners as datsync: a check that both did the same work. */
function checkWinners(a: Authored, b: Authored): void {
  const merged = stateOf([...a.txs, ...b.txs]);
  const store = lwwStore([...lwwLog(a), ...lwwLog(b)]);
  let registers = 0;
  for (const [entity, attribute] of merged.registers()) {
    registers++;
    verify(merged.value(entity, attribute) === store.get(mapKey(entity, attribute))?.v, 'same winner as last-writer-wins');
  }
  verify(registers === ENTITIES * 10, 'every register written by both sides');
}

/** A small store of every subject, after a small exchange, resident while the runs go (see `keepResident`). */
function residentStores(): unknown[] {
  const { a, b } = concurrentWorkload(2 * ENTITIES_PER_TX, ENTITIES_PER_TX);
  const merged = stateOf(a.txs);
  merged.merge(stateOf(b.txs));
  const docs = [docOf(a.batches, 1), docOf(b.batches, 2)] as const;
  exchange(docs[0], docs[1]);
  return [merged, stateOf([...a.txs, ...b.txs]), lwwStore([...lwwLog(a), ...lwwLog(b)]), docs];
}

export function mergeBenchmark(): BenchResult {
  const { a, b } = concurrentWorkload(ENTITIES, ENTITIES_PER_TX);
  checkWinners(a, b);
  const ops = a.txs.length * ENTITIES_PER_TX * 10;
  const sizes = {
    delta: encodeTransactions(a.txs).length + encodeTransactions(b.txs).length,
    json: JSON.stringify(lwwLog(a)).length + JSON.stringify(lwwLog(b)).length,
    stateSync: encodeState(stateOf(a.txs)).length + encodeState(stateOf(b.txs)).length,
    yjs: exchange(docOf(a.batches, 1), docOf(b.batches, 2)),
  };
  keepResident(...residentStores());
  const converged: Convergence = { datsync: true, json: true, yjs: true };
  const counts = runCounts(3, 15);
  const samples: Record<Subject, Sample[]> = sideBySide(trials(a, b, converged), counts);
  releaseResidents();
  verify(converged.datsync, 'datsync replicas encode to equal states after every exchange');
  verify(converged.json, 'the JSON stores agree');
  verify(converged.yjs, 'the Yjs documents agree');
  const time = (s: Subject): number[] => totals(samples[s]);
  const wire: Partial<Record<Subject, number>> = { ...sizes, deltaReceive: sizes.delta };
  const rows: Row[] = (Object.keys(SUBJECTS) as Subject[]).map((s) => {
    const bytes = wire[s];
    return { subject: SUBJECTS[s], values: { ms: median(time(s)), ...(bytes === undefined ? {} : { bytes }) } };
  });
  return {
    id: 'merge',
    title: '(b) Exchange and converge: two replicas, 50,000 concurrent ops each',
    description: [
      `Both replicas write all 10 attributes of the same ${ENTITIES.toLocaleString('en-US')} entities (${ops.toLocaleString('en-US')} ops each,`,
      `${a.txs.length} transactions of 100) without having seen each other, so every register ends with two concurrent versions.`,
      'Timed: both directions of the exchange, from encoding on one side to applying on the other (building the two replicas is not timed).',
      'Every run checks convergence: datsync states encode to equal bytes, JSON stores agree, Yjs documents agree.',
      `Median of ${counts.runs} interleaved runs after ${counts.warmup} warm-up rounds; "wire" is both messages together.`,
    ].join(' '),
    columns: [
      { key: 'ms', label: 'median time', format: 'ms' },
      { key: 'bytes', label: 'wire', format: 'bytes' },
    ],
    rows,
    findings: [
      ratioFinding('datsync delta sync ÷ JSON last-writer-wins (time)', time('delta'), time('json'), {
        op: '<=',
        value: 2,
      }),
      ratioFinding('Yjs ÷ datsync delta sync (time: datsync speed-up)', time('yjs'), time('delta'), {
        op: '>=',
        value: 1.9,
      }),
      ratioFinding('datsync state merge ÷ JSON last-writer-wins (time)', time('merge'), time('json'), {
        op: '<=',
        value: 2,
      }),
      ratioFinding('Yjs ÷ datsync state merge (time: datsync speed-up)', time('yjs'), time('merge'), {
        op: '>=',
        value: 1.9,
      }),
      ratioFinding('datsync delta sync with `receive` ÷ JSON last-writer-wins (time)', time('deltaReceive'), time('json')),
      ratioFinding('datsync full-state sync ÷ JSON last-writer-wins (time)', time('stateSync'), time('json')),
    ],
    raw: Object.fromEntries((Object.keys(SUBJECTS) as Subject[]).map((s) => [`${s}.ms`, time(s)])),
  };
}
