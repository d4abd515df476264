/**
 * Random multi-replica histories for the CRDT properties: replicas write
 * against what they have seen and exchange transactions at random, so the
 * generated ops carry realistic causal contexts (chains, forks, concurrent
 * siblings, retractions of what was observed).
 */
import fc from 'fast-check';
import type { Attr, AttributeSpec, EntityId, ReplicaId, Transaction, Value, WriteIntent } from '../../crdt/index.js';
import { HybridClock, LocalAuthor, OpKind, ReplicaState } from '../../crdt/index.js';

export const ATTRS = {
  name: 'person/name' as Attr,
  score: 'person/score' as Attr,
  tags: 'person/tags' as Attr,
  notes: 'person/notes' as Attr,
  friend: 'person/friend' as Attr,
} as const;

export const SPECS: ReadonlyMap<Attr, AttributeSpec> = new Map<Attr, AttributeSpec>([
  [ATTRS.name, { cardinality: 'one', valueType: 'string', history: true }],
  [ATTRS.score, { cardinality: 'one', valueType: 'number', history: false }],
  [ATTRS.tags, { cardinality: 'many', valueType: 'string', history: false }],
  [ATTRS.notes, { cardinality: 'many', valueType: 'string', history: true }],
  [ATTRS.friend, { cardinality: 'one', valueType: 'ref', history: false }],
]);

export const ENTITIES = ['entityPool.a', 'entityPool.b', 'entityPool.c'] as EntityId[];
const ATTR_LIST = Object.values(ATTRS);

export function replicaIdAt(i: number): ReplicaId {
  return `replica-${String.fromCharCode(97 + i)}${i}` as ReplicaId;
}

export interface IntentSpec {
  readonly entity: number;
  readonly attr: number;
  /** 0 assert, 1 retract value, 2 retract all values. */
  readonly kind: 0 | 1 | 2;
  readonly value: number;
}

export type Step =
  | { readonly type: 'write'; readonly replica: number; readonly intents: readonly IntentSpec[]; readonly advanceMs: number }
  | { readonly type: 'retract-entity'; readonly replica: number; readonly entity: number; readonly advanceMs: number }
  | { readonly type: 'sync'; readonly from: number; readonly to: number };

export interface Scenario {
  readonly replicaCount: number;
  /** Per-replica physical clock skew in ms (clocks disagree, sometimes by a lot). */
  readonly skews: readonly number[];
  readonly steps: readonly Step[];
}

export function valueFor(attr: Attr, n: number): Value {
  switch (attr) {
    case ATTRS.score:
      return n % 5 === 4 ? -0 : n;
    case ATTRS.friend:
      return ENTITIES[n % ENTITIES.length] as EntityId;
    default:
      return `v${n % 6}`;
  }
}

const intentArb: fc.Arbitrary<IntentSpec> = fc.record({
  entity: fc.nat(ENTITIES.length - 1),
  attr: fc.nat(ATTR_LIST.length - 1),
  kind: fc.constantFrom<0 | 1 | 2>(0, 0, 0, 1, 2),
  value: fc.nat(7),
});

export function scenarioArb(options: { minReplicas?: number; maxReplicas?: number; maxSteps?: number } = {}): fc.Arbitrary<Scenario> {
  const minReplicas = options.minReplicas ?? 2;
  const maxReplicas = options.maxReplicas ?? 5;
  const maxSteps = options.maxSteps ?? 40;
  return fc.integer({ min: minReplicas, max: maxReplicas }).chain((replicaCount) =>
    fc.record({
      replicaCount: fc.constant(replicaCount),
      skews: fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: replicaCount, maxLength: replicaCount }),
      steps: fc.array(
        fc.oneof(
          {
            weight: 5,
            arbitrary: fc.record({
              type: fc.constant('write' as const),
              replica: fc.nat(replicaCount - 1),
              intents: fc.array(intentArb, { minLength: 1, maxLength: 4 }),
              advanceMs: fc.integer({ min: -3, max: 50 }),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              type: fc.constant('retract-entity' as const),
              replica: fc.nat(replicaCount - 1),
              entity: fc.nat(ENTITIES.length - 1),
              advanceMs: fc.integer({ min: 0, max: 50 }),
            }),
          },
          {
            weight: 3,
            arbitrary: fc.record({ type: fc.constant('sync' as const), from: fc.nat(replicaCount - 1), to: fc.nat(replicaCount - 1) }),
          },
        ),
        { minLength: 1, maxLength: maxSteps, size: 'medium' },
      ),
    }),
  );
}

export function toIntents(spec: IntentSpec): WriteIntent {
  const attribute = ATTR_LIST[spec.attr] as Attr;
  const entity = ENTITIES[spec.entity] as EntityId;
  if (spec.kind === 0) return { entity, attribute, kind: OpKind.Assert, value: valueFor(attribute, spec.value) };
  if (spec.kind === 1) return { entity, attribute, kind: OpKind.Retract, value: valueFor(attribute, spec.value) };
  return { entity, attribute, kind: OpKind.Retract };
}

/** Retracting an entity retracts every value its author sees on it (observed-remove). */
export function retractEntityIntents(state: ReplicaState, entity: EntityId): WriteIntent[] {
  return [...state.attributesOf(entity)].map(([attribute]) => ({ entity, attribute, kind: OpKind.Retract }));
}

export interface Played {
  /** Every transaction issued, in issue order. */
  readonly txs: Transaction[];
  /** Each replica's state at the end of the script. */
  readonly states: ReplicaState[];
  /** What each replica had received, by transaction index. */
  readonly seen: Array<Set<number>>;
}

/** Runs a scenario: replicas author against their own state and exchange what they have seen. */
export function play(scenario: Scenario, base = 1_700_000_000_000): Played {
  const states = Array.from({ length: scenario.replicaCount }, () => new ReplicaState(SPECS));
  const authors = states.map((_, i) => new LocalAuthor(replicaIdAt(i), 0, new HybridClock()));
  const seen = states.map(() => new Set<number>());
  const txs: Transaction[] = [];
  let now = base;
  const receive = (i: number, index: number): void => {
    const state = states[i] as ReplicaState;
    const tx = txs[index] as Transaction;
    (authors[i] as LocalAuthor).clock.observe(tx.hlc, Number.MAX_SAFE_INTEGER / 2048);
    state.applyTransaction(tx);
    (seen[i] as Set<number>).add(index);
  };
  for (const step of scenario.steps) {
    if (step.type === 'sync') {
      for (const index of [...(seen[step.from] as Set<number>)].sort((a, b) => a - b)) {
        if (!(seen[step.to] as Set<number>).has(index)) receive(step.to, index);
      }
      continue;
    }
    now += step.advanceMs;
    const state = states[step.replica] as ReplicaState;
    const entity = step.type === 'retract-entity' ? (ENTITIES[step.entity] as EntityId) : undefined;
    const intents =
      entity !== undefined ? retractEntityIntents(state, entity) : (step as { intents: readonly IntentSpec[] }).intents.map(toIntents);
    const tx = (authors[step.replica] as LocalAuthor).author(intents, state, SPECS, now + (scenario.skews[step.replica] ?? 0));
    if (tx === null) continue;
    txs.push(tx);
    receive(step.replica, txs.length - 1);
  }
  return { txs, states, seen };
}
