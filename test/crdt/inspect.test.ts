import { describe, expect, it } from 'vitest';
import type { Attr, Transaction } from '../../crdt/index.js';
import { conflictsOf, historyOf, ReplicaState, valuesAsOf } from '../../crdt/index.js';
import { A, ATTR, assertOp, B, C, del, dot, E1, E2, fail, hlc, put, SPECS, tx } from './helpers.js';

function fresh(...txs: Transaction[]): ReplicaState {
  const state = new ReplicaState(SPECS);
  for (const t of txs) state.applyTransaction(t);
  return state;
}

function specOf(attribute: Attr) {
  return SPECS.get(attribute) ?? fail(`no spec for ${attribute}`);
}

describe('historyOf', () => {
  it('is empty for an absent register', () => {
    expect(historyOf(undefined)).toEqual([]);
  });

  it('describes a lone version fully', () => {
    const state = fresh(tx(A, 7, hlc(100, 3), [assertOp(0, E2, ATTR.score, 0), assertOp(1, E1, ATTR.score, 42)]));
    expect(historyOf(state.slot(E1, ATTR.score))).toEqual([
      { kind: 'assert', value: 42, tx: 'replicaA:7', replica: A, counter: 8, hlc: hlc(100, 3), live: true, supersededBy: null },
    ]);
  });

  it('lists every version and retraction of a history attribute, oldest first', () => {
    const state = fresh(
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 200, E1, ATTR.name, 'b', [dot(A, 1)]),
      tx(C, 1, hlc(300), [assertOp(0, E2, ATTR.score, 1), assertOp(1, E1, ATTR.name, 'c', [dot(B, 1)])]),
      del(A, 2, 400, E1, ATTR.name, 'c', [dot(C, 2)]),
      put(B, 2, 500, E1, ATTR.name, 'd'),
    );
    expect(historyOf(state.slot(E1, ATTR.name))).toEqual([
      { kind: 'assert', value: 'a', tx: 'replicaA:1', replica: A, counter: 1, hlc: hlc(100), live: false, supersededBy: 'replicaB:1' },
      { kind: 'assert', value: 'b', tx: 'replicaB:1', replica: B, counter: 1, hlc: hlc(200), live: false, supersededBy: 'replicaC:1' },
      { kind: 'assert', value: 'c', tx: 'replicaC:1', replica: C, counter: 2, hlc: hlc(300), live: false, supersededBy: 'replicaA:2' },
      { kind: 'retract', value: 'c', tx: 'replicaA:2', replica: A, counter: 2, hlc: hlc(400), live: false, supersededBy: null },
      { kind: 'assert', value: 'd', tx: 'replicaB:2', replica: B, counter: 2, hlc: hlc(500), live: true, supersededBy: null },
    ]);
  });

  it('records a retract-all without a value', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.name, 'a'), del(B, 1, 200, E1, ATTR.name, undefined, [dot(A, 1)]));
    const history = historyOf(state.slot(E1, ATTR.name));
    expect(history.map((h) => [h.kind, h.value])).toEqual([
      ['assert', 'a'],
      ['retract', undefined],
    ]);
  });

  it('orders equal hlcs by replica, then counter, whatever the arrival order', () => {
    const txs = [put(B, 2, 100, E1, ATTR.notes, 'b2'), put(A, 1, 100, E1, ATTR.notes, 'a1'), put(B, 1, 100, E1, ATTR.notes, 'b1')];
    const forward = historyOf(fresh(...txs).slot(E1, ATTR.notes)).map((h) => h.value);
    const backward = historyOf(fresh(...[...txs].reverse()).slot(E1, ATTR.notes)).map((h) => h.value);
    expect(forward).toEqual(['a1', 'b1', 'b2']);
    expect(backward).toEqual(forward);
  });

  it('without history only the live versions remain', () => {
    const state = fresh(
      put(A, 1, 100, E1, ATTR.score, 1),
      put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]),
      put(C, 1, 150, E1, ATTR.score, 3),
    );
    expect(historyOf(state.slot(E1, ATTR.score)).map((h) => [h.value, h.live])).toEqual([
      [3, true],
      [2, true],
    ]);
  });

  it('names the least superseder when two concurrent ops replaced one version', () => {
    const base = put(A, 1, 100, E1, ATTR.name, 'a');
    const late = put(B, 1, 300, E1, ATTR.name, 'b', [dot(A, 1)]);
    const early = put(C, 1, 200, E1, ATTR.name, 'c', [dot(A, 1)]);
    for (const order of [
      [base, late, early],
      [base, early, late],
      [late, early, base],
      [early, base, late],
    ]) {
      const history = historyOf(fresh(...order).slot(E1, ATTR.name));
      expect(history.map((h) => [h.value, h.supersededBy])).toEqual([
        ['a', 'replicaC:1'],
        ['c', null],
        ['b', null],
      ]);
    }
  });
});

describe('conflictsOf', () => {
  const state = fresh(
    put(A, 1, 100, E1, ATTR.score, 1),
    put(B, 1, 100, E1, ATTR.score, 2),
    put(C, 1, 90, E1, ATTR.score, 3),
    put(A, 2, 100, E1, ATTR.tags, 'x'),
    put(B, 2, 100, E1, ATTR.tags, 'y'),
    put(A, 3, 100, E1, ATTR.flag, true),
    put(A, 4, 100, E2, ATTR.name, 'p'),
    put(B, 3, 200, E2, ATTR.name, 'q'),
    put(C, 2, 300, E2, ATTR.born, 5, []),
  );

  it('lists cardinality-one registers with two or more live versions, winner first', () => {
    const conflicts = conflictsOf(state);
    expect(conflicts.map((c) => [c.entity, c.attribute])).toEqual([
      [E1, ATTR.score],
      [E2, ATTR.name],
    ]);
    const [score] = conflicts;
    expect(score).toEqual({
      entity: E1,
      attribute: ATTR.score,
      winner: 2,
      siblings: [
        { value: 2, tx: 'replicaB:1', hlc: hlc(100), replica: B },
        { value: 1, tx: 'replicaA:1', hlc: hlc(100), replica: A },
        { value: 3, tx: 'replicaC:1', hlc: hlc(90), replica: C },
      ],
    });
    expect(conflicts[1]?.winner).toBe('q');
  });

  it('does not list a set holding several values', () => {
    expect(conflictsOf(state).some((c) => c.attribute === ATTR.tags)).toBe(false);
    expect(state.values(E1, ATTR.tags)).toHaveLength(2);
  });

  it('can be restricted to one entity', () => {
    expect(conflictsOf(state, E2).map((c) => c.attribute)).toEqual([ATTR.name]);
    expect(conflictsOf(state, E1).map((c) => c.attribute)).toEqual([ATTR.score]);
    expect(conflictsOf(state, 'replicaC.9' as typeof E1)).toEqual([]);
  });

  it('is empty once a write that saw every sibling resolves the conflict', () => {
    const resolved = fresh(
      put(A, 1, 100, E1, ATTR.score, 1),
      put(B, 1, 100, E1, ATTR.score, 2),
      put(C, 1, 200, E1, ATTR.score, 2, [dot(A, 1), dot(B, 1)]),
    );
    expect(conflictsOf(resolved)).toEqual([]);
  });

  it('ignores past versions: one live version and history is no conflict', () => {
    const withHistory = fresh(put(A, 1, 100, E1, ATTR.name, 'a'), put(B, 1, 200, E1, ATTR.name, 'b', [dot(A, 1)]));
    expect(conflictsOf(withHistory)).toEqual([]);
  });
});

describe('valuesAsOf', () => {
  // a at 100; b at 200 replaces it; retracted at 300; d at 400.
  const script = (attribute: Attr): Transaction[] => [
    put(A, 1, 100, E1, attribute, 'a'),
    put(B, 1, 200, E1, attribute, 'b', [dot(A, 1)]),
    del(A, 2, 300, E1, attribute, 'b', [dot(B, 1)]),
    put(C, 1, 400, E1, attribute, 'd'),
  ];

  it('is empty for an absent register', () => {
    expect(valuesAsOf(undefined, specOf(ATTR.name), hlc(100))).toEqual([]);
  });

  it('is exact at every point for a history attribute', () => {
    const state = fresh(...script(ATTR.name));
    const slot = state.slot(E1, ATTR.name);
    const spec = specOf(ATTR.name);
    expect(valuesAsOf(slot, spec, hlc(99, 1023))).toEqual([]);
    expect(valuesAsOf(slot, spec, hlc(100))).toEqual(['a']);
    expect(valuesAsOf(slot, spec, hlc(150))).toEqual(['a']);
    expect(valuesAsOf(slot, spec, hlc(199, 1023))).toEqual(['a']);
    expect(valuesAsOf(slot, spec, hlc(200))).toEqual(['b']);
    expect(valuesAsOf(slot, spec, hlc(250))).toEqual(['b']);
    expect(valuesAsOf(slot, spec, hlc(300))).toEqual([]);
    expect(valuesAsOf(slot, spec, hlc(350))).toEqual([]);
    expect(valuesAsOf(slot, spec, hlc(400))).toEqual(['d']);
    expect(valuesAsOf(slot, spec, hlc(10_000))).toEqual(['d']);
  });

  it('without history knows only the live versions', () => {
    const script = [put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)])];
    const state = fresh(...script);
    const slot = state.slot(E1, ATTR.score);
    const spec = specOf(ATTR.score);
    // Between the write and its superseder the old value is gone: it was dropped.
    expect(valuesAsOf(slot, spec, hlc(150))).toEqual([]);
    expect(valuesAsOf(slot, spec, hlc(200))).toEqual([2]);
    expect(valuesAsOf(slot, spec, hlc(1000))).toEqual([2]);
  });

  it('without history a retracted value is gone at every point', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), del(B, 1, 200, E1, ATTR.score, 1, [dot(A, 1)]));
    expect(valuesAsOf(state.slot(E1, ATTR.score), specOf(ATTR.score), hlc(150))).toEqual([]);
  });

  it('shows the winner among siblings written by then', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.name, 'early'), put(B, 1, 200, E1, ATTR.name, 'later'));
    const slot = state.slot(E1, ATTR.name);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(150))).toEqual(['early']);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(250))).toEqual(['later']);
  });

  it('uses the earliest superseder, so an early replacement hides the value from then on', () => {
    const state = fresh(
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 300, E1, ATTR.name, 'b', [dot(A, 1)]),
      put(C, 1, 200, E1, ATTR.name, 'c', [dot(A, 1)]),
    );
    const slot = state.slot(E1, ATTR.name);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(199))).toEqual(['a']);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(250))).toEqual(['c']);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(300))).toEqual(['b']);
  });

  it('for a set with history lists the values present at each point', () => {
    const state = fresh(
      put(A, 1, 100, E1, ATTR.notes, 'x'),
      put(B, 1, 150, E1, ATTR.notes, 'y'),
      put(C, 1, 160, E1, ATTR.notes, 'x'),
      del(A, 2, 200, E1, ATTR.notes, 'x', [dot(A, 1)]),
      del(B, 2, 300, E1, ATTR.notes, 'x', [dot(C, 1)]),
    );
    const slot = state.slot(E1, ATTR.notes);
    const spec = specOf(ATTR.notes);
    const sorted = (at: number): unknown[] => valuesAsOf(slot, spec, hlc(at)).sort();
    expect(sorted(120)).toEqual(['x']);
    expect(sorted(155)).toEqual(['x', 'y']);
    // A's addition is gone at 200 but C's still holds x.
    expect(sorted(250)).toEqual(['x', 'y']);
    expect(sorted(300)).toEqual(['y']);
    expect(state.values(E1, ATTR.notes)).toEqual(['y']);
  });

  it('a version born superseded is shown only before its superseder', () => {
    const state = fresh(put(B, 1, 200, E1, ATTR.name, 'new', [dot(A, 1)]), put(A, 1, 100, E1, ATTR.name, 'old'));
    const slot = state.slot(E1, ATTR.name);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(150))).toEqual(['old']);
    expect(valuesAsOf(slot, specOf(ATTR.name), hlc(200))).toEqual(['new']);
  });
});
