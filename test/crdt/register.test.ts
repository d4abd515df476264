import { describe, expect, it } from 'vitest';
import type { DatomChange, Transaction } from '../../crdt/index.js';
import { historyOf, Register, ReplicaState, Version } from '../../crdt/index.js';
import { A, ATTR, assertOp, B, C, datoms, del, dot, E1, E2, fail, hlc, put, retractOp, SPECS, snapshot, tx } from './helpers.js';

function apply(state: ReplicaState, ...txs: Transaction[]): DatomChange[] {
  const out: DatomChange[] = [];
  for (const t of txs) out.push(...state.applyTransaction(t));
  return out;
}

function fresh(...txs: Transaction[]): ReplicaState {
  const state = new ReplicaState(SPECS);
  apply(state, ...txs);
  return state;
}

function added(attribute: DatomChange['attribute'], value: DatomChange['value'], entity = E1): DatomChange {
  return { entity, attribute, value, added: true };
}

function removed(attribute: DatomChange['attribute'], value: DatomChange['value'], entity = E1): DatomChange {
  return { entity, attribute, value, added: false };
}

function registerOf(state: ReplicaState, attribute: DatomChange['attribute'], entity = E1): Register {
  const slot = state.slot(entity, attribute);
  if (!(slot instanceof Register)) return fail(`expected a Register, got ${slot === undefined ? 'nothing' : 'a Version'}`);
  return slot;
}

describe('cardinality one without history', () => {
  it('a first write shows its value and is stored as a lone Version', () => {
    const state = new ReplicaState(SPECS);
    expect(state.applyTransaction(put(A, 1, 100, E1, ATTR.score, 1))).toEqual([added(ATTR.score, 1)]);
    expect(state.value(E1, ATTR.score)).toBe(1);
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Version);
    expect(state.live(E1, ATTR.score)).toEqual([{ dot: dot(A, 1), value: 1 }]);
    expect(state.hasEntity(E1)).toBe(true);
  });

  it('an overwrite that saw the current version replaces it (fast path)', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1));
    expect(state.applyTransaction(put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]))).toEqual([removed(ATTR.score, 1), added(ATTR.score, 2)]);
    expect(state.live(E1, ATTR.score)).toEqual([{ dot: dot(B, 1), value: 2 }]);
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Version);
  });

  it('an overwrite with an equal value reports nothing but takes the new dot', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 5));
    expect(state.applyTransaction(put(B, 1, 200, E1, ATTR.score, 5, [dot(A, 1)]))).toEqual([]);
    expect(state.live(E1, ATTR.score)).toEqual([{ dot: dot(B, 1), value: 5 }]);
  });

  it('overwriting 0 with -0 reports nothing (SameValueZero) but shows -0', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 0));
    expect(state.applyTransaction(put(A, 2, 200, E1, ATTR.score, -0, [dot(A, 1)]))).toEqual([]);
    expect(Object.is(state.value(E1, ATTR.score), -0)).toBe(true);
  });

  it('a write that did not see the current version becomes a sibling', () => {
    const state = fresh(put(A, 1, 200, E1, ATTR.score, 1));
    // B's write is older by hlc: the winner does not change.
    expect(state.applyTransaction(put(B, 1, 100, E1, ATTR.score, 2))).toEqual([]);
    expect(state.value(E1, ATTR.score)).toBe(1);
    expect(state.values(E1, ATTR.score)).toEqual([1]);
    expect(
      state
        .live(E1, ATTR.score)
        .map((v) => v.value)
        .sort(),
    ).toEqual([1, 2]);
    // C's write is newer: it wins and the change is reported.
    expect(state.applyTransaction(put(C, 1, 300, E1, ATTR.score, 3))).toEqual([removed(ATTR.score, 1), added(ATTR.score, 3)]);
    expect(state.live(E1, ATTR.score)).toHaveLength(3);
  });

  it('breaks an hlc tie by replica id', () => {
    const t = 500;
    const fromB = put(B, 1, t, E1, ATTR.score, 20);
    const fromA = put(A, 1, t, E1, ATTR.score, 10);
    const one = fresh(fromA, fromB);
    const two = fresh(fromB, fromA);
    expect(one.value(E1, ATTR.score)).toBe(20);
    expect(two.value(E1, ATTR.score)).toBe(20);
    expect(snapshot(one)).toBe(snapshot(two));
    // The loser arriving second changes nothing visible; the winner arriving second does.
    expect(fresh(fromB).applyTransaction(fromA)).toEqual([]);
    expect(fresh(fromA).applyTransaction(fromB)).toEqual([removed(ATTR.score, 10), added(ATTR.score, 20)]);
  });

  it('breaks an hlc and replica tie by counter', () => {
    // Two transactions of one replica stamped with the same hlc (a hand-made history).
    const first = put(A, 1, 500, E1, ATTR.score, 1);
    const second = put(A, 2, 500, E1, ATTR.score, 2);
    expect(fresh(first, second).value(E1, ATTR.score)).toBe(2);
    expect(fresh(second, first).value(E1, ATTR.score)).toBe(2);
    // Two ops of one transaction on one register are concurrent: the later offset wins.
    const both = tx(B, 1, hlc(600), [assertOp(0, E1, ATTR.score, 1), assertOp(1, E1, ATTR.score, 3)]);
    const state = new ReplicaState(SPECS);
    expect(state.applyTransaction(both)).toEqual([added(ATTR.score, 1), removed(ATTR.score, 1), added(ATTR.score, 3)]);
    expect(state.value(E1, ATTR.score)).toBe(3);
    expect(state.live(E1, ATTR.score)).toHaveLength(2);
  });

  it('hlc dominates replica id and counter', () => {
    const late = put(A, 1, 501, E1, ATTR.score, 1);
    const early = put(C, 9, 500, E1, ATTR.score, 2);
    expect(fresh(late, early).value(E1, ATTR.score)).toBe(1);
    expect(fresh(early, late).value(E1, ATTR.score)).toBe(1);
  });

  it('a write that saw every sibling resolves the conflict', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 100, E1, ATTR.score, 2));
    expect(state.value(E1, ATTR.score)).toBe(2);
    expect(state.applyTransaction(put(C, 1, 200, E1, ATTR.score, 3, [dot(A, 1), dot(B, 1)]))).toEqual([
      removed(ATTR.score, 2),
      added(ATTR.score, 3),
    ]);
    expect(state.live(E1, ATTR.score)).toEqual([{ dot: dot(C, 1), value: 3 }]);
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Version);
  });

  it('superseding only the winning sibling reveals the other', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 100, E1, ATTR.score, 2));
    expect(state.applyTransaction(del(C, 1, 200, E1, ATTR.score, 2, [dot(B, 1)]))).toEqual([removed(ATTR.score, 2), added(ATTR.score, 1)]);
    expect(state.values(E1, ATTR.score)).toEqual([1]);
  });

  it('superseding only a losing sibling changes nothing visible', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 100, E1, ATTR.score, 2));
    expect(state.applyTransaction(put(C, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]))).toEqual([]);
    expect(state.live(E1, ATTR.score).map((v) => v.dot)).toEqual([dot(B, 1), dot(C, 1)]);
  });

  it('retracting the value removes it, and the entity disappears with its last register', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1));
    expect(state.applyTransaction(del(A, 2, 200, E1, ATTR.score, 1, [dot(A, 1)]))).toEqual([removed(ATTR.score, 1)]);
    expect(state.slot(E1, ATTR.score)).toBeUndefined();
    expect(state.values(E1, ATTR.score)).toEqual([]);
    expect(state.hasEntity(E1)).toBe(false);
    expect(state.entityCount()).toBe(0);
  });

  it('retract-all (no value) removes every sibling it names', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 100, E1, ATTR.score, 2), put(A, 2, 100, E1, ATTR.flag, true));
    expect(state.applyTransaction(del(C, 1, 200, E1, ATTR.score, undefined, [dot(A, 1), dot(B, 1)]))).toEqual([removed(ATTR.score, 2)]);
    expect(state.slot(E1, ATTR.score)).toBeUndefined();
    // The entity keeps its other attribute.
    expect(state.hasEntity(E1)).toBe(true);
  });

  it('a retraction concurrent with a write leaves the write (observed-remove)', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 150, E1, ATTR.score, 2));
    expect(state.applyTransaction(del(C, 1, 200, E1, ATTR.score, undefined, [dot(A, 1)]))).toEqual([]);
    expect(state.values(E1, ATTR.score)).toEqual([2]);
  });

  it('a retraction of a register never seen leaves only a pending mark', () => {
    const state = new ReplicaState(SPECS);
    expect(state.applyTransaction(del(B, 1, 200, E1, ATTR.score, 1, [dot(A, 1)]))).toEqual([]);
    const reg = registerOf(state, ATTR.score);
    expect(reg.live).toEqual([]);
    expect(reg.pending?.map((m) => ({ replica: m.replica, counter: m.counter }))).toEqual([dot(A, 1)]);
    expect(state.values(E1, ATTR.score)).toEqual([]);
    expect([...state.datoms()]).toEqual([]);
  });
});

describe('a superseder that arrives before the version it supersedes', () => {
  it('leaves a pending mark, and the late version is born superseded', () => {
    const first = put(A, 1, 100, E1, ATTR.score, 1);
    const second = put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]);
    const state = new ReplicaState(SPECS);
    expect(state.applyTransaction(second)).toEqual([added(ATTR.score, 2)]);
    const reg = registerOf(state, ATTR.score);
    expect(reg.pending).toHaveLength(1);
    expect(reg.pending?.[0]?.by.tx.replica).toBe(B);
    expect(state.applyTransaction(first)).toEqual([]);
    expect(state.live(E1, ATTR.score)).toEqual([{ dot: dot(B, 1), value: 2 }]);
    // The mark is consumed: the register is back to its compact form.
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Version);
    expect(snapshot(state)).toBe(snapshot(fresh(first, second)));
  });

  it('with history the late version appears in history, superseded by the early op', () => {
    const first = put(A, 1, 100, E1, ATTR.name, 'old');
    const second = put(B, 1, 200, E1, ATTR.name, 'new', [dot(A, 1)]);
    const state = fresh(second);
    expect(state.applyTransaction(first)).toEqual([]);
    expect(state.values(E1, ATTR.name)).toEqual(['new']);
    const history = historyOf(state.slot(E1, ATTR.name));
    expect(history.map((h) => [h.value, h.live, h.supersededBy])).toEqual([
      ['old', false, 'replicaB:1'],
      ['new', true, null],
    ]);
    expect(registerOf(state, ATTR.name).pending).toBeNull();
    expect(snapshot(state)).toBe(snapshot(fresh(first, second)));
  });

  it('for a set, a removal that arrives before the addition it removes keeps the value out', () => {
    const add = put(A, 1, 100, E1, ATTR.tags, 'x');
    const remove = del(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]);
    const state = fresh(remove);
    expect(state.applyTransaction(add)).toEqual([]);
    expect(state.values(E1, ATTR.tags)).toEqual([]);
    expect(state.slot(E1, ATTR.tags)).toBeUndefined();
    expect(snapshot(state)).toBe(snapshot(fresh(add, remove)));
  });

  it('two early superseders of one dot keep the least as the mark', () => {
    const original = put(A, 1, 100, E1, ATTR.name, 'orig');
    const byC = put(C, 1, 300, E1, ATTR.name, 'c', [dot(A, 1)]);
    const byB = put(B, 1, 200, E1, ATTR.name, 'b', [dot(A, 1)]);
    const one = fresh(byC, byB);
    const two = fresh(byB, byC);
    expect(registerOf(one, ATTR.name).pending?.[0]?.by.tx.replica).toBe(B);
    expect(snapshot(one)).toBe(snapshot(two));
    one.applyTransaction(original);
    const entry = historyOf(one.slot(E1, ATTR.name)).find((h) => h.value === 'orig');
    expect(entry?.supersededBy).toBe('replicaB:1');
  });

  it('superseding a dot already applied and dropped leaves no mark', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(A, 2, 200, E1, ATTR.score, 2, [dot(A, 1)]));
    // B had seen A1 (but not A2) when it wrote.
    expect(state.applyTransaction(put(B, 1, 150, E1, ATTR.score, 3, [dot(A, 1)]))).toEqual([]);
    const reg = registerOf(state, ATTR.score);
    expect(reg.pending).toBeNull();
    expect(reg.live.map((v) => v.value)).toEqual([2, 3]);
  });
});

describe('cardinality many', () => {
  it('adds values beside each other', () => {
    const state = new ReplicaState(SPECS);
    expect(apply(state, put(A, 1, 100, E1, ATTR.tags, 'x'), put(A, 2, 200, E1, ATTR.tags, 'y'))).toEqual([
      added(ATTR.tags, 'x'),
      added(ATTR.tags, 'y'),
    ]);
    expect(state.values(E1, ATTR.tags)).toEqual(['x', 'y']);
  });

  it('a value added by two replicas stays until both additions are removed', () => {
    const state = new ReplicaState(SPECS);
    expect(state.applyTransaction(put(A, 1, 100, E1, ATTR.tags, 'x'))).toEqual([added(ATTR.tags, 'x')]);
    expect(state.applyTransaction(put(B, 1, 100, E1, ATTR.tags, 'x'))).toEqual([]);
    expect(state.values(E1, ATTR.tags)).toEqual(['x']);
    expect(state.live(E1, ATTR.tags)).toHaveLength(2);
    expect([...state.datoms()]).toHaveLength(1);
    expect(state.applyTransaction(del(A, 2, 200, E1, ATTR.tags, 'x', [dot(A, 1)]))).toEqual([]);
    expect(state.values(E1, ATTR.tags)).toEqual(['x']);
    expect(state.applyTransaction(del(B, 2, 300, E1, ATTR.tags, 'x', [dot(B, 1)]))).toEqual([removed(ATTR.tags, 'x')]);
    expect(state.values(E1, ATTR.tags)).toEqual([]);
    expect(state.hasEntity(E1)).toBe(false);
  });

  it('one removal naming both additions of a value reports it removed once', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.tags, 'x'), put(B, 1, 100, E1, ATTR.tags, 'x'), put(B, 2, 100, E1, ATTR.tags, 'y'));
    expect(state.applyTransaction(del(C, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1), dot(B, 1)]))).toEqual([removed(ATTR.tags, 'x')]);
    expect(state.values(E1, ATTR.tags)).toEqual(['y']);
  });

  it('retract-all removes every value it names and only those', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.tags, 'x'), put(A, 2, 100, E1, ATTR.tags, 'y'), put(B, 1, 100, E1, ATTR.tags, 'z'));
    expect(state.applyTransaction(del(C, 1, 200, E1, ATTR.tags, undefined, [dot(A, 1), dot(A, 2)]))).toEqual([
      removed(ATTR.tags, 'x'),
      removed(ATTR.tags, 'y'),
    ]);
    expect(state.values(E1, ATTR.tags)).toEqual(['z']);
  });

  it('an addition concurrent with a removal survives (add wins)', () => {
    const add = put(A, 1, 100, E1, ATTR.tags, 'x');
    const remove = del(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]);
    const concurrentAdd = put(C, 1, 150, E1, ATTR.tags, 'x');
    const orders = [
      [add, remove, concurrentAdd],
      [concurrentAdd, remove, add],
      [remove, concurrentAdd, add],
      [remove, add, concurrentAdd],
    ];
    const snapshots = orders.map((order) => {
      const state = fresh(...order);
      expect(state.values(E1, ATTR.tags)).toEqual(['x']);
      expect(state.live(E1, ATTR.tags).map((v) => v.dot)).toEqual([dot(C, 1)]);
      return snapshot(state);
    });
    expect(new Set(snapshots).size).toBe(1);
  });

  it('-0 and 0 are one value of a set', () => {
    const state = new ReplicaState(SPECS);
    expect(apply(state, put(A, 1, 100, E1, ATTR.misc, 0), put(B, 1, 100, E1, ATTR.misc, -0))).toEqual([added(ATTR.misc, 0)]);
    expect(state.values(E1, ATTR.misc)).toHaveLength(1);
  });

  // Regression: an assert superseding an earlier version of the same value (valid, though LocalAuthor
  // never writes it) once reported { added: true } although the value was shown before and after.
  it('re-asserting a shown set value over its old version reports no change', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.tags, 'x'));
    expect(state.applyTransaction(put(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]))).toEqual([]);
  });

  it('re-asserting a shown set value over its old version keeps the value shown with the new dot', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.tags, 'x'));
    state.applyTransaction(put(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]));
    expect(state.values(E1, ATTR.tags)).toEqual(['x']);
    expect(state.live(E1, ATTR.tags)).toEqual([{ dot: dot(B, 1), value: 'x' }]);
  });
});

describe('history', () => {
  it('a first write with history is still a lone Version', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.name, 'a'));
    expect(state.slot(E1, ATTR.name)).toBeInstanceOf(Version);
  });

  it('an overwrite keeps the old version as past, superseded by the overwrite', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.name, 'a'));
    expect(state.applyTransaction(put(A, 2, 200, E1, ATTR.name, 'b', [dot(A, 1)]))).toEqual([
      removed(ATTR.name, 'a'),
      added(ATTR.name, 'b'),
    ]);
    const reg = registerOf(state, ATTR.name);
    expect(reg.live.map((v) => v.value)).toEqual(['b']);
    expect(reg.past?.map((p) => [p.kind, p.value, p.supersededBy?.tx.counter])).toEqual([['assert', 'a', 2]]);
  });

  it('a retraction is recorded as a past entry and keeps the register', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.name, 'a'));
    expect(state.applyTransaction(del(B, 1, 200, E1, ATTR.name, 'a', [dot(A, 1)]))).toEqual([removed(ATTR.name, 'a')]);
    expect(state.values(E1, ATTR.name)).toEqual([]);
    expect(historyOf(state.slot(E1, ATTR.name)).map((h) => [h.kind, h.value, h.live, h.supersededBy])).toEqual([
      ['assert', 'a', false, 'replicaB:1'],
      ['retract', 'a', false, null],
    ]);
    expect(state.hasEntity(E1)).toBe(true);
    expect([...state.datoms()]).toEqual([]);
  });

  it('a second superseder of a past version keeps the least one', () => {
    const base = put(A, 1, 100, E1, ATTR.name, 'a');
    const late = put(C, 1, 300, E1, ATTR.name, 'c', [dot(A, 1)]);
    const early = put(B, 1, 200, E1, ATTR.name, 'b', [dot(A, 1)]);
    for (const order of [
      [base, late, early],
      [base, early, late],
    ]) {
      const state = fresh(...order);
      const entry = historyOf(state.slot(E1, ATTR.name)).find((h) => h.value === 'a');
      expect(entry?.supersededBy).toBe('replicaB:1');
      expect(state.values(E1, ATTR.name)).toEqual(['c']);
    }
  });
});

describe('duplicates and partial deliveries', () => {
  it('a transaction delivered twice is applied once', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1));
    const overwrite = put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]);
    state.applyTransaction(overwrite);
    const before = snapshot(state);
    expect(state.applyTransaction(overwrite)).toEqual([]);
    expect(state.applyTransaction(put(A, 1, 100, E1, ATTR.score, 1))).toEqual([]);
    expect(snapshot(state)).toBe(before);
    expect(state.values(E1, ATTR.score)).toEqual([2]);
  });

  it('a duplicate arriving after its own superseder does not come back', () => {
    const first = put(A, 1, 100, E1, ATTR.tags, 'x');
    const state = fresh(first, del(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]));
    expect(state.applyTransaction(first)).toEqual([]);
    expect(state.values(E1, ATTR.tags)).toEqual([]);
  });

  it('applies only the ops not yet seen when part of a transaction arrived before', () => {
    const whole = tx(A, 1, hlc(100), [assertOp(0, E1, ATTR.score, 1), assertOp(1, E1, ATTR.tags, 't'), assertOp(2, E2, ATTR.flag, true)]);
    const middle = tx(A, 1, hlc(100), [assertOp(1, E1, ATTR.tags, 't')]);
    const state = new ReplicaState(SPECS);
    expect(state.applyTransaction(middle)).toEqual([added(ATTR.tags, 't')]);
    expect(state.context.toEntries()).toEqual([{ replica: A, upTo: 0, ranges: [2, 2] }]);
    expect(state.applyTransaction(whole)).toEqual([added(ATTR.score, 1), added(ATTR.flag, true, E2)]);
    expect(state.context.toEntries()).toEqual([{ replica: A, upTo: 3, ranges: [] }]);
    expect(snapshot(state)).toBe(snapshot(fresh(whole)));
  });

  it('a prefix of a transaction counts as whole for its own dots only', () => {
    const prefix = tx(A, 1, hlc(100), [assertOp(0, E1, ATTR.score, 1)]);
    const whole = tx(A, 1, hlc(100), [assertOp(0, E1, ATTR.score, 1), assertOp(1, E1, ATTR.tags, 't')]);
    const state = fresh(prefix);
    expect(state.context.has(A, 2)).toBe(false);
    expect(state.applyTransaction(whole)).toEqual([added(ATTR.tags, 't')]);
  });

  it('an empty transaction changes nothing', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1));
    const before = snapshot(state);
    expect(state.applyTransaction(tx(B, 1, hlc(100), []))).toEqual([]);
    expect(snapshot(state)).toBe(before);
  });

  it('applyTransactionInto appends to the given list', () => {
    const state = new ReplicaState(SPECS);
    const out: DatomChange[] = [added(ATTR.flag, false, E2)];
    state.applyTransactionInto(put(A, 1, 100, E1, ATTR.score, 1), out);
    expect(out).toEqual([added(ATTR.flag, false, E2), added(ATTR.score, 1)]);
  });
});

describe('order independence of a small history', () => {
  it('every delivery order gives byte-identical states', () => {
    const txs = [
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 150, E1, ATTR.name, 'b'),
      put(C, 1, 200, E1, ATTR.name, 'c', [dot(A, 1), dot(B, 1)]),
      tx(A, 2, hlc(250), [assertOp(0, E1, ATTR.notes, 'n1'), retractOp(1, E1, ATTR.name, 'c', [dot(C, 1)])]),
      del(B, 2, 300, E1, ATTR.notes, 'n1', [dot(A, 2)]),
    ];
    const permutations = (items: Transaction[]): Transaction[][] =>
      items.length <= 1
        ? [items]
        : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
    const all = permutations(txs);
    expect(all).toHaveLength(120);
    const reference = snapshot(fresh(...txs));
    for (const order of all) expect(snapshot(fresh(...order))).toBe(reference);
    expect(datoms(fresh(...txs))).toEqual([]);
  });
});
