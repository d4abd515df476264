/**
 * The convergence properties of the CRDT core, each a function of the
 * implementation under test so that `broken.prop.ts` can show it fails on a
 * broken one.
 */
import fc from 'fast-check';
import type { Attr, EntityId, ReplicaId, Transaction } from '../../crdt/index.js';
import { HybridClock, historyOf, LocalAuthor, liveOf, minimumVector, OpKind, ReplicaState, winnerOf } from '../../crdt/index.js';
import type { CrdtImpl } from './impl.js';
import { fingerprint, permute, realImpl, visible } from './impl.js';
import type { Scenario } from './scenario.js';
import { ATTRS, ENTITIES, play, replicaIdAt, SPECS, scenarioArb } from './scenario.js';

const keysArb = fc.array(fc.integer(), { minLength: 1, maxLength: 64 });

function deliverAll(impl: CrdtImpl, txs: readonly Transaction[], order: readonly number[], duplicates: readonly number[]): ReplicaState {
  const state = impl.create(SPECS);
  const sequence = permute(txs, order);
  for (const tx of sequence) impl.apply(state, tx);
  for (const index of duplicates) {
    const tx = sequence[index % Math.max(1, sequence.length)];
    if (tx !== undefined) impl.apply(state, tx);
  }
  return state;
}

/** Any permutation of all ops, with duplicates, to 2..8 replicas: identical state and history. */
export function convergence(impl: CrdtImpl): fc.IProperty<[Scenario, number[][], number[]]> {
  return fc.property(
    scenarioArb({ maxReplicas: 4 }),
    fc.array(keysArb, { minLength: 2, maxLength: 8 }),
    fc.array(fc.nat(), { maxLength: 10 }),
    (scenario, orders, duplicates) => {
      const { txs } = play(scenario);
      const reference = fingerprint(deliverAll(realImpl, txs, [0], []));
      for (const order of orders) {
        const state = deliverAll(impl, txs, order, duplicates);
        if (fingerprint(state) !== reference) return false;
      }
      return true;
    },
  );
}

/** Merge is commutative, associative, idempotent, and equals applying the union of ops. */
export function mergeLaws(impl: CrdtImpl): fc.IProperty<[Scenario, number[], number[], number[], number[]]> {
  return fc.property(scenarioArb(), keysArb, fc.array(fc.nat(2)), keysArb, keysArb, (scenario, order, owners, o2, o3) => {
    const { txs } = play(scenario);
    const build = (which: number, keys: readonly number[]): ReplicaState => {
      const state = impl.create(SPECS);
      const mine = txs.filter((_, i) => (owners[i % Math.max(1, owners.length)] ?? 0) === which || (i * 7 + which) % 5 === 0);
      for (const tx of permute(mine, keys)) impl.apply(state, tx);
      return state;
    };
    const merged = (parts: ReadonlyArray<readonly [number, readonly number[]]>): ReplicaState => {
      const [first, ...rest] = parts;
      const state = build(first?.[0] ?? 0, first?.[1] ?? order);
      for (const [which, keys] of rest) impl.merge(state, build(which, keys));
      return state;
    };
    const ab = fingerprint(
      merged([
        [0, order],
        [1, o2],
      ]),
    );
    const ba = fingerprint(
      merged([
        [1, o2],
        [0, order],
      ]),
    );
    if (ab !== ba) return false;
    // (A ⊔ B) ⊔ C versus A ⊔ (B ⊔ C)
    const left = merged([
      [0, order],
      [1, o2],
      [2, o3],
    ]);
    const bc = build(1, o2);
    impl.merge(bc, build(2, o3));
    const right = build(0, order);
    impl.merge(right, bc);
    if (fingerprint(left) !== fingerprint(right)) return false;
    const aa = build(0, order);
    impl.merge(aa, build(0, o3));
    if (fingerprint(aa) !== fingerprint(build(0, order))) return false;
    // The merge of states equals the state holding the union of their ops.
    const union = impl.create(SPECS);
    for (const which of [0, 1, 2]) {
      for (const tx of txs.filter((_, i) => (owners[i % Math.max(1, owners.length)] ?? 0) === which || (i * 7 + which) % 5 === 0)) {
        impl.apply(union, tx);
      }
    }
    return fingerprint(union) === fingerprint(left);
  });
}

const key = { entity: ENTITIES[0] as EntityId, attribute: ATTRS.name };

/** One replica writing in sequence: the last write is what every replica shows. */
export function sequentialLastWins(impl: CrdtImpl): fc.IProperty<[string[], number[], number[]]> {
  return fc.property(
    fc.array(fc.string(), { minLength: 1, maxLength: 20 }),
    fc.array(fc.integer({ min: -1000, max: 1000 })),
    keysArb,
    (values, clockJumps, order) => {
      const writer = new ReplicaState(SPECS);
      const author = new LocalAuthor(replicaIdAt(0), 0, new HybridClock());
      const txs: Transaction[] = [];
      let now = 1_700_000_000_000;
      values.forEach((value, i) => {
        now += clockJumps[i % Math.max(1, clockJumps.length)] ?? 1; // physical clock may go backwards
        const tx = author.author([{ ...key, kind: OpKind.Assert, value }], writer, SPECS, now);
        if (tx === null) return;
        writer.applyTransaction(tx);
        txs.push(tx);
      });
      const reader = impl.create(SPECS);
      for (const tx of permute(txs, order)) impl.apply(reader, tx);
      return (
        reader.value(key.entity, key.attribute) === values[values.length - 1] &&
        writer.value(key.entity, key.attribute) === values[values.length - 1]
      );
    },
  );
}

/** Concurrent writes from a common base survive as siblings, with the same winner everywhere. */
export function concurrentSiblings(impl: CrdtImpl): fc.IProperty<[number, number[], number[][]]> {
  return fc.property(
    fc.integer({ min: 2, max: 6 }),
    fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 6, maxLength: 6 }),
    fc.array(keysArb, { minLength: 2, maxLength: 4 }),
    (writers, skews, orders) => {
      const base = new ReplicaState(SPECS);
      const origin = new LocalAuthor('origin-replica' as ReplicaId, 0, new HybridClock());
      const first = origin.author([{ ...key, kind: OpKind.Assert, value: 'base' }], base, SPECS, 1_700_000_000_000);
      if (first === null) return false;
      const txs: Transaction[] = [first];
      for (let w = 0; w < writers; w++) {
        const local = new ReplicaState(SPECS);
        local.applyTransaction(first);
        const author = new LocalAuthor(replicaIdAt(w), 0, new HybridClock());
        const tx = author.author([{ ...key, kind: OpKind.Assert, value: `w${w}` }], local, SPECS, 1_700_000_000_100 + (skews[w] ?? 0));
        if (tx !== null) txs.push(tx);
      }
      const results = orders.map((order) => {
        const state = impl.create(SPECS);
        for (const tx of permute(txs, order)) impl.apply(state, tx);
        return state;
      });
      const expected = winnerOf(liveOf(results[0]?.slot(key.entity, key.attribute)));
      const expectedWinner = [...txs.slice(1)].sort((a, b) => b.hlc - a.hlc || (a.replica < b.replica ? 1 : -1))[0];
      return results.every((state) => {
        const live = liveOf(state.slot(key.entity, key.attribute));
        const winner = winnerOf(live);
        return (
          live.length === writers &&
          winner?.value === expected?.value &&
          winner?.tx.replica === expectedWinner?.replica &&
          state.value(key.entity, key.attribute) === winner?.value
        );
      });
    },
  );
}

/** Add wins: a value added concurrently with its removal survives. */
export function addWins(impl: CrdtImpl): fc.IProperty<[string, number[]]> {
  return fc.property(fc.string(), keysArb, (value, order) => {
    const tags = { entity: ENTITIES[1] as EntityId, attribute: ATTRS.tags };
    const a = new ReplicaState(SPECS);
    const b = new ReplicaState(SPECS);
    const authorA = new LocalAuthor(replicaIdAt(0), 0, new HybridClock());
    const authorB = new LocalAuthor(replicaIdAt(1), 0, new HybridClock());
    const authorC = new LocalAuthor(replicaIdAt(2), 0, new HybridClock());
    const add = authorA.author([{ ...tags, kind: OpKind.Assert, value }], a, SPECS, 1000);
    if (add === null) return false;
    a.applyTransaction(add);
    b.applyTransaction(add);
    const remove = authorB.author([{ ...tags, kind: OpKind.Retract, value }], b, SPECS, 2000);
    const concurrentAdd = authorC.author([{ ...tags, kind: OpKind.Assert, value }], new ReplicaState(SPECS), SPECS, 1500);
    if (remove === null || concurrentAdd === null) return false;
    const state = impl.create(SPECS);
    for (const tx of permute([add, remove, concurrentAdd], order)) impl.apply(state, tx);
    const values = state.values(tags.entity, tags.attribute);
    return values.length === 1 && values[0] === value;
  });
}

/**
 * Retracting an entity removes what its author observed on it; a concurrent
 * write to the entity survives, and the entity shows exactly that write.
 */
export function entityRetraction(impl: CrdtImpl): fc.IProperty<[number, string, number[]]> {
  return fc.property(fc.integer(), fc.string(), keysArb, (score, name, order) => {
    const entity = ENTITIES[2] as EntityId;
    const a = new ReplicaState(SPECS);
    const b = new ReplicaState(SPECS);
    const authorA = new LocalAuthor(replicaIdAt(0), 0, new HybridClock());
    const authorB = new LocalAuthor(replicaIdAt(1), 0, new HybridClock());
    const create = authorA.author(
      [
        { entity, attribute: ATTRS.name, kind: OpKind.Assert, value: 'created' },
        { entity, attribute: ATTRS.tags, kind: OpKind.Assert, value: 'x' },
        { entity, attribute: ATTRS.score, kind: OpKind.Assert, value: 1 },
      ],
      a,
      SPECS,
      1000,
    );
    if (create === null) return false;
    a.applyTransaction(create);
    b.applyTransaction(create);
    const retract = authorA.author(
      [...a.attributesOf(entity)].map(([attribute]) => ({ entity, attribute, kind: OpKind.Retract })),
      a,
      SPECS,
      3000,
    );
    const write = authorB.author(
      [
        { entity, attribute: ATTRS.score, kind: OpKind.Assert, value: score === 1 ? 2 : score },
        { entity, attribute: ATTRS.notes, kind: OpKind.Assert, value: name },
      ],
      b,
      SPECS,
      2000,
    );
    if (retract === null || write === null) return false;
    const state = impl.create(SPECS);
    for (const tx of permute([create, retract, write], order)) impl.apply(state, tx);
    const shown = visible(state);
    const expected = visible(
      ((): ReplicaState => {
        const s = new ReplicaState(SPECS);
        s.applyTransaction(write);
        return s;
      })(),
    );
    return JSON.stringify(shown) === JSON.stringify(expected);
  });
}

/** With history on, every version ever applied stays listed, in causal (hlc) order. */
export function historyKeepsEveryVersion(impl: CrdtImpl): fc.IProperty<[Scenario, number[]]> {
  return fc.property(scenarioArb(), keysArb, (scenario, order) => {
    const { txs } = play(scenario);
    const state = impl.create(SPECS);
    for (const tx of permute(txs, order)) impl.apply(state, tx);
    for (const entity of ENTITIES) {
      for (const attribute of [ATTRS.name, ATTRS.notes] as Attr[]) {
        const history = historyOf(state.slot(entity, attribute));
        const listed = new Set(history.map((h) => `${h.replica}:${h.counter}`));
        for (const tx of txs) {
          for (const op of tx.ops) {
            if (op.entity !== entity || op.attribute !== attribute) continue;
            if (!listed.has(`${tx.replica}:${tx.counter + op.offset}`)) return false;
          }
        }
        for (let i = 1; i < history.length; i++) if ((history[i - 1]?.hlc ?? 0) > (history[i]?.hlc ?? 0)) return false;
      }
    }
    return true;
  });
}

/**
 * Compaction at the stable frontier keeps the visible state, and compacted
 * replicas still converge with everyone once the remaining ops arrive.
 */
export function gcAtStableFrontier(impl: CrdtImpl): fc.IProperty<[Scenario, number[][], number]> {
  return fc.property(scenarioArb(), fc.array(keysArb, { minLength: 2, maxLength: 4 }), fc.nat(), (scenario, orders, cut) => {
    const { txs } = play(scenario);
    const split = txs.length === 0 ? 0 : cut % (txs.length + 1);
    const replicas = orders.map((order) => {
      const state = impl.create(SPECS);
      for (const tx of permute(txs.slice(0, split), order)) impl.apply(state, tx);
      return state;
    });
    const frontier = minimumVector(replicas.map((r) => r.vector()));
    for (const replica of replicas) {
      const before = visible(replica);
      replica.compact(frontier, { pruneHistory: true });
      if (JSON.stringify(visible(replica)) !== JSON.stringify(before)) return false;
    }
    const reference = new ReplicaState(SPECS);
    for (const tx of txs) reference.applyTransaction(tx);
    const expected = JSON.stringify(visible(reference));
    return replicas.every((replica, i) => {
      for (const tx of permute(txs.slice(split), orders[i] ?? [])) impl.apply(replica, tx);
      return JSON.stringify(visible(replica)) === expected;
    });
  });
}

/**
 * Amnesia: a replica loses its storage after some of its writes were
 * acknowledged, comes back, writes again and syncs. No acknowledged version
 * may be overwritten unseen or hidden: every replica ends equal to the state
 * holding all ops.
 */
export function amnesia(impl: CrdtImpl): fc.IProperty<[string[], string[], number[]]> {
  return fc.property(
    fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
    fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
    keysArb,
    (before, after, order) => {
      const server = impl.create(SPECS);
      const txs: Transaction[] = [];
      const write = (author: LocalAuthor, local: ReplicaState, values: readonly string[], attribute: Attr, start: number): void => {
        values.forEach((value, i) => {
          const tx = author.author([{ entity: ENTITIES[0] as EntityId, attribute, kind: OpKind.Assert, value }], local, SPECS, start + i);
          if (tx === null) return;
          local.applyTransaction(tx);
          txs.push(tx);
        });
      };
      const first = new ReplicaState(SPECS);
      write(new LocalAuthor(replicaIdAt(0), 0, new HybridClock()), first, before, ATTRS.notes, 1000);
      for (const tx of txs) impl.apply(server, tx); // acknowledged
      const acknowledged = new Set(txs.map((tx) => `${tx.replica}:${tx.counter}`));
      const { replica, issuedUpTo } = impl.reincarnate(replicaIdAt(0), 1);
      const wiped = impl.create(SPECS); // storage lost: it starts empty
      write(new LocalAuthor(replica, issuedUpTo, new HybridClock()), wiped, after, ATTRS.notes, 5000);
      for (const tx of permute(txs, order)) {
        impl.apply(server, tx);
        impl.apply(wiped, tx);
      }
      const reference = new ReplicaState(SPECS);
      for (const tx of txs) reference.applyTransaction(tx);
      const live = (state: ReplicaState): Set<string> =>
        new Set(liveOf(state.slot(ENTITIES[0] as EntityId, ATTRS.notes)).map((v) => `${v.tx.replica}:${v.tx.counter}`));
      const expected = live(reference);
      for (const id of acknowledged) if (!expected.has(id)) return false;
      return fingerprint(server) === fingerprint(reference) && fingerprint(wiped) === fingerprint(reference);
    },
  );
}
