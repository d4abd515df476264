/**
 * (c) The heap a 100,000-key store retains, per key: datsync against a plain
 * Map holding the same keys and values, and Yjs.
 *
 * @module
 */
import * as Y from 'yjs';
import type { Value } from '../../crdt/index.js';
import { encodeState, ReplicaState } from '../../crdt/index.js';
import type { BenchResult, Row } from '../harness.js';
import { collectGarbage, finding, hasGc, median, retainedBy, runCounts, verify } from '../harness.js';
import type { Authored } from './workload.js';
import { applyWorkload, HISTORY_SPECS, overwriteWorkload, stateOf, writeMap } from './workload.js';
import { newDoc, precreateEntityMaps, writeFlat, writeNested } from './yjs.js';

const ENTITIES = 10_000;
const ENTITIES_PER_TX = 10;

const SUBJECTS = {
  datsync: 'datsync `ReplicaState`',
  datsyncHistory: 'datsync, history on, every key written twice (a live and a past version)',
  map: 'plain `Map`, keys `entity` U+001F `attribute`',
  yjsFlat: 'Yjs, flat keys in one Y.Map',
  yjsNested: 'Yjs, one Y.Map per entity',
} as const;
type Subject = keyof typeof SUBJECTS;

interface Built {
  readonly store: unknown;
  /** Versions held: one per key, but for the store that keeps history. */
  readonly versions: number;
  /** The store's own serialisation: datsync `encodeState`, Yjs `encodeStateAsUpdate`, JSON of the Map's entries. */
  readonly encode: () => number;
}

function builders(work: Authored, overwrite: Authored): Record<Subject, () => Built> {
  const keys = work.txs.reduce((n, tx) => n + tx.ops.length, 0);
  return {
    datsync: () => {
      const state = stateOf(work.txs);
      return { store: state, versions: keys, encode: () => encodeState(state).length };
    },
    datsyncHistory: () => {
      const state = new ReplicaState(HISTORY_SPECS);
      for (const tx of work.txs) state.applyTransaction(tx);
      for (const tx of overwrite.txs) state.applyTransaction(tx);
      return { store: state, versions: 2 * keys, encode: () => encodeState(state).length };
    },
    map: () => {
      const map = new Map<string, Value>();
      for (const batch of work.batches) writeMap(map, batch);
      return { store: map, versions: keys, encode: () => JSON.stringify([...map]).length };
    },
    yjsFlat: () => {
      const doc = newDoc(1);
      for (const batch of work.batches) writeFlat(doc, batch);
      return { store: doc, versions: keys, encode: () => Y.encodeStateAsUpdate(doc).length };
    },
    yjsNested: () => {
      const doc = newDoc(1);
      const targets = precreateEntityMaps(doc, work.batches);
      work.batches.forEach((batch, i) => {
        writeNested(doc, batch, targets[i] ?? []);
      });
      return { store: doc, versions: keys, encode: () => Y.encodeStateAsUpdate(doc).length };
    },
  };
}

export function memoryBenchmark(): BenchResult {
  verify(hasGc(), 'heap figures need node --expose-gc (bench/run.ts restarts itself with it)');
  // The transactions exist before and after each reading, so only the store is counted, not its inputs.
  const work = applyWorkload(ENTITIES, ENTITIES_PER_TX);
  const overwrite = overwriteWorkload(work);
  const keys = work.txs.reduce((n, tx) => n + tx.ops.length, 0);
  const build = builders(work, overwrite);
  const names = Object.keys(SUBJECTS) as Subject[];
  const heap = Object.fromEntries(names.map((s) => [s, [] as number[]])) as Record<Subject, number[]>;
  const versions = {} as Record<Subject, number>;
  const encoded = {} as Record<Subject, number>;
  const { runs } = runCounts(1, 5);
  for (let round = 0; round < runs; round++) {
    for (const s of names) {
      const { bytes, value } = retainedBy(build[s]);
      heap[s].push(bytes);
      versions[s] = value.versions;
      encoded[s] = value.encode() / keys;
      collectGarbage();
    }
  }
  const perKey = (s: Subject): number => median(heap[s]) / keys;
  const rows: Row[] = names.map((s) => ({
    subject: SUBJECTS[s],
    values: { heap: perKey(s), perVersion: median(heap[s]) / versions[s], encoded: encoded[s] },
  }));
  return {
    id: 'memory',
    title: '(c) Retained heap of a 100,000-key store',
    description: [
      `The store of (a): ${keys.toLocaleString('en-US')} registers, each holding one version. Heap in use after \`global.gc()\``,
      'with the store built, minus before, divided by the key count; the values are the same strings and numbers in every store,',
      `and the transactions they came from stay alive throughout, so only the store's own structure is counted. Median of ${runs} builds.`,
      'The history row applies the same transactions, then overwrites every key once, with `history: true`: each register then',
      'holds a live and a past version (a `Register` instead of a lone `Version`). "Encoded" is each store\'s own serialisation, per key.',
    ].join(' '),
    columns: [
      { key: 'heap', label: 'heap / key', format: 'bytes' },
      { key: 'perVersion', label: 'heap / version', format: 'bytes' },
      { key: 'encoded', label: 'encoded / key', format: 'bytes' },
    ],
    rows,
    findings: [
      finding('datsync ÷ plain Map (heap per key)', perKey('datsync') / perKey('map'), 'ratio', { op: '<=', value: 2 }),
      finding('datsync ÷ Yjs flat keys (heap per key)', perKey('datsync') / perKey('yjsFlat'), 'ratio'),
      finding('datsync ÷ Yjs map per entity (heap per key)', perKey('datsync') / perKey('yjsNested'), 'ratio'),
    ],
    raw: Object.fromEntries(names.map((s) => [`${s}.heapBytes`, heap[s]])),
  };
}
