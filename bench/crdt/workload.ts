/**
 * The deterministic workloads of the CRDT benchmarks: a task-tracker schema
 * of ten cardinality-one attributes holding short strings and numbers, and
 * transactions pre-authored by `LocalAuthor` exactly as a client would write
 * them (authoring is never timed).
 *
 * @module
 */
import type { Attr, AttributeSpec, AttributeSpecs, EntityId, ReplicaId, Transaction, Value, WriteIntent } from '../../crdt/index.js';
import { entityIdFromDot, HybridClock, LocalAuthor, lastCounter, mintReplicaId, OpKind, ReplicaState } from '../../crdt/index.js';
import { Random } from '../random.js';

/** One write as the peers see it: the same entity, attribute and value datsync gets. */
export interface Write {
  readonly entity: EntityId;
  readonly attribute: Attr;
  readonly value: Value;
}

interface AttributeDef {
  readonly name: Attr;
  readonly valueType: 'string' | 'number' | 'instant';
  readonly make: (rng: Random) => Value;
}

const WORDS = ['review', 'budget', 'draft', 'launch', 'fix', 'login', 'cache', 'sync', 'report', 'design', 'invoice', 'deploy'];
const STATUSES = ['todo', 'doing', 'review', 'done', 'blocked'];
const OWNERS = ['ana', 'bo', 'chen', 'dana', 'eli', 'fay', 'gus', 'hana'];
const TAGS = ['urgent', 'backend', 'frontend', 'ops', 'docs', 'bug', 'feature'];
const BASE_MS = 1_700_000_000_000;

function words(rng: Random, min: number, max: number): string {
  const n = min + rng.below(max - min + 1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rng.pick(WORDS));
  return out.join(' ');
}

const ATTRIBUTES: readonly AttributeDef[] = [
  { name: 'task/title' as Attr, valueType: 'string', make: (rng) => words(rng, 2, 4) },
  { name: 'task/status' as Attr, valueType: 'string', make: (rng) => rng.pick(STATUSES) },
  { name: 'task/priority' as Attr, valueType: 'number', make: (rng) => rng.below(5) },
  { name: 'task/estimate' as Attr, valueType: 'number', make: (rng) => rng.below(400) / 10 + 0.25 },
  { name: 'task/owner' as Attr, valueType: 'string', make: (rng) => rng.pick(OWNERS) },
  { name: 'task/due' as Attr, valueType: 'instant', make: (rng) => BASE_MS + rng.below(90 * 86_400_000) },
  { name: 'task/tag' as Attr, valueType: 'string', make: (rng) => rng.pick(TAGS) },
  { name: 'task/progress' as Attr, valueType: 'number', make: (rng) => rng.below(101) },
  { name: 'task/note' as Attr, valueType: 'string', make: (rng) => `${words(rng, 1, 3)} #${rng.below(1000)}` },
  { name: 'task/order' as Attr, valueType: 'number', make: (rng) => rng.below(1_000_000) },
];

export const ATTRIBUTE_COUNT = ATTRIBUTES.length;
export const ATTRIBUTE_NAMES: readonly Attr[] = ATTRIBUTES.map((a) => a.name);

/** Plain registers: cardinality one, no history (the common case, and the one the peers model). */
export const SPECS: AttributeSpecs = new Map<Attr, AttributeSpec>(
  ATTRIBUTES.map((a) => [a.name, { cardinality: 'one', valueType: a.valueType, history: false }]),
);

/** The same attributes keeping history: a superseded version stays, as a past version. */
export const HISTORY_SPECS: AttributeSpecs = new Map<Attr, AttributeSpec>(
  ATTRIBUTES.map((a) => [a.name, { cardinality: 'one', valueType: a.valueType, history: true }]),
);

export function replicaFromSeed(seed: number): ReplicaId {
  return mintReplicaId(new Random(seed).bytes(12));
}

/** `count` entity ids minted by a replica neither side of a merge is, so both can write them. */
export function sharedEntities(count: number, seed: number): EntityId[] {
  const creator = replicaFromSeed(seed);
  return Array.from({ length: count }, (_, i) => entityIdFromDot(creator, 1 + i * ATTRIBUTE_COUNT));
}

/** The writes of one transaction, flattened for the peers. */
export function writesOf(tx: Transaction): Write[] {
  return tx.ops.map((op) => {
    if (op.value === undefined) throw new Error('the workloads only assert');
    return { entity: op.entity, attribute: op.attribute, value: op.value };
  });
}

export interface Authored {
  readonly replica: ReplicaId;
  readonly txs: readonly Transaction[];
  /** `writesOf` each transaction, in order. */
  readonly batches: readonly (readonly Write[])[];
}

/**
 * One replica writing every attribute of `entitiesPerTx` entities per
 * transaction, entity blocks in the order `blocks` gives. `entities` may be
 * null: each transaction then creates its entities, named after their first
 * op's dot, as a client does.
 */
function author(options: {
  readonly replica: ReplicaId;
  readonly seed: number;
  readonly txCount: number;
  readonly entitiesPerTx: number;
  readonly entities: readonly EntityId[] | null;
  readonly blocks: readonly number[];
  /** Physical time of transaction t is `BASE_MS + t * msStep + msOffset`. */
  readonly msStep: number;
  readonly msOffset: number;
}): Authored {
  const rng = new Random(options.seed);
  const view = new ReplicaState(SPECS);
  const writer = new LocalAuthor(options.replica, 0, new HybridClock());
  const txs: Transaction[] = [];
  for (let t = 0; t < options.txCount; t++) {
    const block = options.blocks[t] ?? t;
    const intents: WriteIntent[] = [];
    for (let i = 0; i < options.entitiesPerTx; i++) {
      const entity =
        options.entities === null
          ? writer.newEntityId(i * ATTRIBUTE_COUNT)
          : (options.entities[block * options.entitiesPerTx + i] ?? missing('entity'));
      for (const attribute of ATTRIBUTES)
        intents.push({ entity, attribute: attribute.name, kind: OpKind.Assert, value: attribute.make(rng) });
    }
    const tx = writer.author(intents, view, SPECS, BASE_MS + t * options.msStep + options.msOffset);
    if (tx === null) throw new Error('a workload transaction came out empty');
    view.applyTransaction(tx);
    txs.push(tx);
  }
  return { replica: options.replica, txs, batches: txs.map(writesOf) };
}

function missing(what: string): never {
  throw new Error(`workload ran out of ${what}`);
}

/** (a) and (c): one replica creating `entityCount` entities, `entitiesPerTx` per transaction. */
export function applyWorkload(entityCount: number, entitiesPerTx: number): Authored {
  const txCount = entityCount / entitiesPerTx;
  return author({
    replica: replicaFromSeed(1),
    seed: 11,
    txCount,
    entitiesPerTx,
    entities: null,
    blocks: Array.from({ length: txCount }, (_, t) => t),
    msStep: 1,
    msOffset: 0,
  });
}

/** A value certainly different from `value`, as an edit makes. */
function edited(value: Value): Value {
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'string') return `${value}!`;
  throw new Error('the workloads only hold strings and numbers');
}

/**
 * (c): every register of `base` overwritten once by the same replica, which
 * has seen the first write, so each new version supersedes the old one.
 */
export function overwriteWorkload(base: Authored): Authored {
  const view = stateOf(base.txs);
  const last = base.txs[base.txs.length - 1] ?? missing('transactions');
  const writer = new LocalAuthor(base.replica, lastCounter(last), new HybridClock(last.hlc));
  const txs = base.txs.map((tx, t) => {
    const intents: WriteIntent[] = tx.ops.map((op) => ({
      entity: op.entity,
      attribute: op.attribute,
      kind: OpKind.Assert,
      value: edited(op.value ?? missing('values')),
    }));
    const next = writer.author(intents, view, SPECS, BASE_MS + (base.txs.length + t) * 1000);
    if (next === null || next.ops.length !== tx.ops.length) throw new Error('an overwrite came out short');
    view.applyTransaction(next);
    return next;
  });
  return { replica: base.replica, txs, batches: txs.map(writesOf) };
}

function shuffled(n: number, rng: Random): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const a = out[i] as number;
    out[i] = out[j] as number;
    out[j] = a;
  }
  return out;
}

/**
 * (b): two replicas writing every attribute of the same `entityCount`
 * entities concurrently (neither has seen the other), in different orders,
 * with interleaved clocks so each side wins about half the registers.
 */
export function concurrentWorkload(entityCount: number, entitiesPerTx: number): { readonly a: Authored; readonly b: Authored } {
  const txCount = entityCount / entitiesPerTx;
  const entities = sharedEntities(entityCount, 3);
  const a = author({
    replica: replicaFromSeed(4),
    seed: 41,
    txCount,
    entitiesPerTx,
    entities,
    blocks: shuffled(txCount, new Random(42)),
    msStep: 2,
    msOffset: 0,
  });
  const b = author({
    replica: replicaFromSeed(5),
    seed: 51,
    txCount,
    entitiesPerTx,
    entities,
    blocks: shuffled(txCount, new Random(52)),
    msStep: 2,
    msOffset: 1,
  });
  return { a, b };
}

/** A fresh replica state holding `txs`. */
export function stateOf(txs: readonly Transaction[]): ReplicaState {
  const state = new ReplicaState(SPECS);
  for (const tx of txs) state.applyTransaction(tx);
  return state;
}

/** The plain Map's key for a register. */
export function mapKey(entity: EntityId, attribute: Attr): string {
  return `${entity}\u001f${attribute}`;
}

/** The plain-Map peer: each write set under its register's key. */
export function writeMap(map: Map<string, Value>, batch: readonly Write[]): void {
  for (const write of batch) map.set(mapKey(write.entity, write.attribute), write.value);
}
