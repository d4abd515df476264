/**
 * (d) The nested Y.Map pitfall. Two Yjs documents that each create the same
 * entity as a nested Y.Map hold two different maps under one key; on merge
 * one map wins the key and every attribute written into the other is gone.
 * datsync has no container to create: each (entity, attribute) is its own
 * register, so writes to different attributes never compete.
 *
 * @module
 */
import * as Y from 'yjs';
import type { EntityId, Transaction, WriteIntent } from '../../crdt/index.js';
import { decodeTransactions, encodeState, encodeTransactions, HybridClock, LocalAuthor, OpKind, ReplicaState } from '../../crdt/index.js';
import type { BenchResult, Row } from '../harness.js';
import { finding, verify } from '../harness.js';
import { Random } from '../random.js';
import { ATTRIBUTE_COUNT, ATTRIBUTE_NAMES, replicaFromSeed, SPECS, sharedEntities } from './workload.js';
import { bytesEqual, exchange, flatKey, newDoc, sortedJson } from './yjs.js';

const ENTITIES = 100;
const HALF = ATTRIBUTE_COUNT / 2;

/** Side 0 writes the first half of the attributes of every entity, side 1 the second half. */
function attributesOf(side: 0 | 1): typeof ATTRIBUTE_NAMES {
  return ATTRIBUTE_NAMES.slice(side * HALF, (side + 1) * HALF);
}

function valueFor(rng: Random): string {
  return `v${rng.below(1000)}`;
}

interface Kept {
  readonly a: number;
  readonly b: number;
}

function yjsNested(entities: readonly EntityId[]): Kept {
  const docs = [newDoc(1), newDoc(2)] as const;
  const rng = new Random(71);
  docs.forEach((doc, side) => {
    const root = doc.getMap<Y.Map<string>>('entities');
    doc.transact(() => {
      for (const entity of entities) {
        // Each side creates the entity's map, as code that "ensures the entity exists" does.
        const map = new Y.Map<string>();
        root.set(entity, map);
        for (const attribute of attributesOf(side === 0 ? 0 : 1)) map.set(attribute, valueFor(rng));
      }
    });
  });
  exchange(docs[0], docs[1]);
  const count = (doc: Y.Doc): number => {
    let n = 0;
    for (const map of doc.getMap<Y.Map<string>>('entities').values()) n += map.size;
    return n;
  };
  verify(sortedJson(docs[0].toJSON()) === sortedJson(docs[1].toJSON()), 'the Yjs documents agree');
  return { a: count(docs[0]), b: count(docs[1]) };
}

function yjsFlat(entities: readonly EntityId[]): Kept {
  const docs = [newDoc(1), newDoc(2)] as const;
  const rng = new Random(72);
  docs.forEach((doc, side) => {
    const map = doc.getMap<string>('datoms');
    doc.transact(() => {
      for (const entity of entities) {
        for (const attribute of attributesOf(side === 0 ? 0 : 1)) map.set(flatKey(entity, attribute), valueFor(rng));
      }
    });
  });
  exchange(docs[0], docs[1]);
  return { a: docs[0].getMap('datoms').size, b: docs[1].getMap('datoms').size };
}

function datsync(entities: readonly EntityId[]): Kept {
  const rng = new Random(73);
  const states = [new ReplicaState(SPECS), new ReplicaState(SPECS)] as const;
  const sent: Transaction[][] = [[], []];
  states.forEach((state, side) => {
    const author = new LocalAuthor(replicaFromSeed(80 + side), 0, new HybridClock());
    const intents: WriteIntent[] = [];
    for (const entity of entities) {
      for (const attribute of attributesOf(side === 0 ? 0 : 1))
        intents.push({ entity, attribute, kind: OpKind.Assert, value: valueFor(rng) });
    }
    const tx = author.author(intents, state, SPECS, 1_700_000_000_000);
    if (tx === null) throw new Error('empty transaction');
    state.applyTransaction(tx);
    sent[side]?.push(tx);
  });
  const [a, b] = states;
  for (const tx of decodeTransactions(encodeTransactions(sent[0] ?? []))) b.applyTransaction(tx);
  for (const tx of decodeTransactions(encodeTransactions(sent[1] ?? []))) a.applyTransaction(tx);
  verify(bytesEqual(encodeState(a), encodeState(b)), 'the datsync replicas agree');
  return { a: [...a.datoms()].length, b: [...b.datoms()].length };
}

export function pitfallBenchmark(): BenchResult {
  const entities = sharedEntities(ENTITIES, 9);
  const written = ENTITIES * ATTRIBUTE_COUNT;
  const outcomes = {
    'Yjs, each side creates the entity as a nested Y.Map': yjsNested(entities),
    'Yjs, flat keys `entity|attribute`': yjsFlat(entities),
    'datsync, two replicas': datsync(entities),
  };
  const rows: Row[] = Object.entries(outcomes).map(([subject, kept]) => ({
    subject,
    values: { written, a: kept.a, b: kept.b, lost: written - Math.min(kept.a, kept.b) },
  }));
  const nested = outcomes['Yjs, each side creates the entity as a nested Y.Map'];
  const ours = outcomes['datsync, two replicas'];
  return {
    id: 'pitfall',
    title: '(d) The nested Y.Map pitfall',
    description: [
      `Two replicas write different attributes of the same ${ENTITIES} entities concurrently: one side attributes 1 to ${HALF},`,
      `the other ${HALF + 1} to ${ATTRIBUTE_COUNT}, then they exchange. In Yjs, each side first creates the entity as a nested`,
      '`Y.Map` under the same key; the two maps conflict as whole values, one wins, and the attributes written into the other are lost.',
      'Counts are the attribute values each side shows after the merge (both sides agree).',
    ].join(' '),
    columns: [
      { key: 'written', label: 'attributes written', format: 'count' },
      { key: 'a', label: 'shown on A', format: 'count' },
      { key: 'b', label: 'shown on B', format: 'count' },
      { key: 'lost', label: 'lost', format: 'count' },
    ],
    rows,
    findings: [
      finding('datsync attributes lost', written - Math.min(ours.a, ours.b), 'count', { op: '<=', value: 0 }),
      finding('Yjs nested maps: attributes lost', written - Math.min(nested.a, nested.b), 'count'),
    ],
    raw: Object.fromEntries(Object.entries(outcomes).map(([subject, kept]) => [subject, [kept.a, kept.b]])),
  };
}
