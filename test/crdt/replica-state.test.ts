import { describe, expect, it } from 'vitest';
import type { Attr, DatomChange, ReplicaId, Transaction, VersionVector } from '../../crdt/index.js';
import { historyOf, Register, ReplicaState, Version } from '../../crdt/index.js';
import { A, ATTR, assertOp, B, C, caught, codeOf, datoms, del, dot, E1, E2, E3, hlc, put, SPECS, snapshot, tx } from './helpers.js';

function fresh(...txs: Transaction[]): ReplicaState {
  const state = new ReplicaState(SPECS);
  for (const t of txs) state.applyTransaction(t);
  return state;
}

function vector(entries: Array<[ReplicaId, number]>): VersionVector {
  return new Map(entries);
}

function change(attribute: Attr, value: DatomChange['value'], isAdded: boolean, entity = E1): DatomChange {
  return { entity, attribute, value, added: isAdded };
}

describe('ReplicaState.merge', () => {
  it('into an empty state copies the other state and reports every datom added', () => {
    const other = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(A, 2, 100, E1, ATTR.tags, 'x'), put(B, 1, 100, E2, ATTR.name, 'n'));
    const state = new ReplicaState(SPECS);
    const changes = state.merge(other);
    expect(changes).toHaveLength(3);
    expect(changes).toEqual(
      expect.arrayContaining([change(ATTR.score, 1, true), change(ATTR.tags, 'x', true), change(ATTR.name, 'n', true, E2)]),
    );
    expect(snapshot(state)).toBe(snapshot(other));
  });

  it('keeps concurrent writes from both sides as siblings', () => {
    const fromA = put(A, 1, 100, E1, ATTR.score, 1);
    const fromB = put(B, 1, 100, E1, ATTR.score, 2);
    const state = fresh(fromA);
    expect(state.merge(fresh(fromB))).toEqual([change(ATTR.score, 1, false), change(ATTR.score, 2, true)]);
    expect(state.live(E1, ATTR.score)).toHaveLength(2);
    expect(snapshot(state)).toBe(snapshot(fresh(fromA, fromB)));
  });

  it('retires a version the other side has seen and superseded', () => {
    const first = put(A, 1, 100, E1, ATTR.score, 1);
    const second = put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]);
    const stale = fresh(first);
    expect(stale.merge(fresh(first, second))).toEqual([change(ATTR.score, 1, false), change(ATTR.score, 2, true)]);
    expect(stale.live(E1, ATTR.score)).toEqual([{ dot: dot(B, 1), value: 2 }]);
    // The other way round nothing changes: the stale side holds nothing new.
    const current = fresh(first, second);
    const before = snapshot(current);
    expect(current.merge(fresh(first))).toEqual([]);
    expect(snapshot(current)).toBe(before);
  });

  it('keeps a version the other side has never seen', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.tags, 'x'));
    expect(state.merge(fresh(put(B, 1, 100, E1, ATTR.tags, 'y')))).toEqual([change(ATTR.tags, 'y', true)]);
    expect(state.values(E1, ATTR.tags).sort()).toEqual(['x', 'y']);
  });

  it('resolves a pending mark against the version the other side holds', () => {
    const first = put(A, 1, 100, E1, ATTR.score, 1);
    const second = put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]);
    const early = fresh(second);
    expect(early.slot(E1, ATTR.score)).toBeInstanceOf(Register);
    expect(early.merge(fresh(first))).toEqual([]);
    expect(early.slot(E1, ATTR.score)).toBeInstanceOf(Version);
    expect(snapshot(early)).toBe(snapshot(fresh(first, second)));
    // And from the other side.
    const late = fresh(first);
    expect(late.merge(fresh(second))).toEqual([change(ATTR.score, 1, false), change(ATTR.score, 2, true)]);
    expect(snapshot(late)).toBe(snapshot(fresh(first, second)));
  });

  it('with history, a version retired by a pending mark becomes a past version superseded by the mark', () => {
    const first = put(A, 1, 100, E1, ATTR.name, 'old');
    const second = put(B, 1, 200, E1, ATTR.name, 'new', [dot(A, 1)]);
    const state = fresh(second);
    state.merge(fresh(first));
    expect(historyOf(state.slot(E1, ATTR.name)).map((h) => [h.value, h.live, h.supersededBy])).toEqual([
      ['old', false, 'replicaB:1'],
      ['new', true, null],
    ]);
    expect(snapshot(state)).toBe(snapshot(fresh(first, second)));
  });

  it('unions past versions and keeps the least superseder', () => {
    const base = put(A, 1, 100, E1, ATTR.name, 'a');
    const late = put(C, 1, 300, E1, ATTR.name, 'c', [dot(A, 1)]);
    const early = put(B, 1, 200, E1, ATTR.name, 'b', [dot(A, 1)]);
    const left = fresh(base, late);
    const right = fresh(base, early);
    expect(left.merge(right)).toEqual([]);
    const entry = historyOf(left.slot(E1, ATTR.name)).find((h) => h.value === 'a');
    expect(entry?.supersededBy).toBe('replicaB:1');
    expect(left.values(E1, ATTR.name)).toEqual(['c']);
    expect(snapshot(left)).toBe(snapshot(fresh(base, late, early)));
  });

  it('merges two pending marks for one dot to the least superseder', () => {
    const byC = put(C, 1, 300, E1, ATTR.score, 3, [dot(A, 1)]);
    const byB = put(B, 1, 200, E1, ATTR.score, 2, [dot(A, 1)]);
    const left = fresh(byC);
    left.merge(fresh(byB));
    expect(snapshot(left)).toBe(snapshot(fresh(byB, byC)));
    const reg = left.slot(E1, ATTR.score);
    expect(reg instanceof Register ? reg.pending?.map((m) => m.by.tx.replica) : undefined).toEqual([B]);
  });

  it('an addition concurrent with a removal survives a merge (add wins)', () => {
    const add = put(A, 1, 100, E1, ATTR.tags, 'x');
    const remove = del(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]);
    const concurrent = put(C, 1, 150, E1, ATTR.tags, 'x');
    const removed = fresh(add, remove);
    expect(removed.values(E1, ATTR.tags)).toEqual([]);
    expect(removed.merge(fresh(add, concurrent))).toEqual([change(ATTR.tags, 'x', true)]);
    expect(removed.live(E1, ATTR.tags)).toEqual([{ dot: dot(C, 1), value: 'x' }]);
    expect(snapshot(removed)).toBe(snapshot(fresh(add, remove, concurrent)));
  });

  it('is commutative, associative and idempotent on a small example', () => {
    const txs = [
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 150, E1, ATTR.name, 'b'),
      put(C, 1, 200, E1, ATTR.name, 'c', [dot(A, 1)]),
      put(A, 2, 210, E1, ATTR.notes, 'n'),
      del(B, 2, 220, E1, ATTR.notes, 'n', [dot(A, 2)]),
      put(C, 2, 230, E2, ATTR.score, 7),
    ];
    const [t0, t1, t2, t3, t4, t5] = txs as [Transaction, Transaction, Transaction, Transaction, Transaction, Transaction];
    const make = [(): ReplicaState => fresh(t0, t3, t5), (): ReplicaState => fresh(t1, t4), (): ReplicaState => fresh(t2, t0)];
    const [x, y, z] = make as [() => ReplicaState, () => ReplicaState, () => ReplicaState];
    const xy = x();
    xy.merge(y());
    const yx = y();
    yx.merge(x());
    expect(snapshot(xy)).toBe(snapshot(yx));
    const leftFirst = x();
    leftFirst.merge(y());
    leftFirst.merge(z());
    const yz = y();
    yz.merge(z());
    const rightFirst = x();
    rightFirst.merge(yz);
    expect(snapshot(leftFirst)).toBe(snapshot(rightFirst));
    expect(snapshot(leftFirst)).toBe(snapshot(fresh(...txs)));
    const before = snapshot(leftFirst);
    const copy = x();
    copy.merge(y());
    copy.merge(z());
    expect(leftFirst.merge(copy)).toEqual([]);
    expect(snapshot(leftFirst)).toBe(before);
  });

  it('merging a state with itself changes nothing', () => {
    const state = fresh(
      put(A, 1, 100, E1, ATTR.score, 1),
      put(B, 1, 100, E1, ATTR.score, 2),
      put(B, 3, 100, E2, ATTR.score, 3, [dot(C, 4)]),
    );
    const before = snapshot(state);
    expect(state.merge(state)).toEqual([]);
    expect(snapshot(state)).toBe(before);
  });

  it('leaves the other state untouched, now and after later writes', () => {
    const other = fresh(
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 100, E1, ATTR.name, 'b'),
      put(C, 1, 50, E1, ATTR.tags, 't', [dot(A, 9)]),
    );
    const otherBefore = snapshot(other);
    const state = new ReplicaState(SPECS);
    state.merge(other);
    expect(snapshot(other)).toBe(otherBefore);
    state.applyTransaction(put(C, 2, 300, E1, ATTR.name, 'resolved', [dot(A, 1), dot(B, 1)]));
    state.applyTransaction(put(A, 9, 300, E1, ATTR.tags, 'late'));
    expect(state.values(E1, ATTR.name)).toEqual(['resolved']);
    expect(snapshot(other)).toBe(otherBefore);
    expect(other.values(E1, ATTR.name)).toEqual(['b']);
  });

  it('merges causal contexts, ranges included', () => {
    const left = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(A, 3, 100, E2, ATTR.score, 3));
    const right = fresh(put(A, 2, 100, E3, ATTR.score, 2), put(B, 5, 100, E3, ATTR.flag, true));
    left.merge(right);
    expect(left.context.toEntries()).toEqual([
      { replica: A, upTo: 3, ranges: [] },
      { replica: B, upTo: 0, ranges: [5, 5] },
    ]);
  });
});

describe('ReplicaState.compact', () => {
  it('drops a pending mark for a void dot covered by the frontier and fills the context', () => {
    // B superseded A's op 2, but A's transaction was rejected by the server: dot A2 never arrives.
    const state = fresh(put(A, 1, 100, E1, ATTR.flag, true), put(B, 1, 200, E1, ATTR.score, 5, [dot(A, 2)]));
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Register);
    const visible = datoms(state);
    state.compact(vector([[A, 1]]));
    // Not yet covered: the mark stays.
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Register);
    state.compact(
      vector([
        [A, 2],
        [B, 1],
      ]),
    );
    expect(state.slot(E1, ATTR.score)).toBeInstanceOf(Version);
    expect(state.context.toEntries()).toEqual([
      { replica: A, upTo: 2, ranges: [] },
      { replica: B, upTo: 1, ranges: [] },
    ]);
    expect(datoms(state)).toEqual(visible);
    // The void dot, should it ever turn up, is ignored.
    expect(state.applyTransaction(put(A, 2, 150, E1, ATTR.score, 99))).toEqual([]);
    expect(state.values(E1, ATTR.score)).toEqual([5]);
  });

  it('drops a register that held nothing but a void mark', () => {
    const state = fresh(del(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]));
    expect(state.hasEntity(E1)).toBe(true);
    state.compact(
      vector([
        [A, 1],
        [B, 1],
      ]),
    );
    expect(state.slot(E1, ATTR.tags)).toBeUndefined();
    expect(state.hasEntity(E1)).toBe(false);
    expect(snapshot(state)).toBe(snapshot(fresh(put(A, 1, 100, E1, ATTR.tags, 'x'), del(B, 1, 200, E1, ATTR.tags, 'x', [dot(A, 1)]))));
  });

  it('keeps siblings when it drops a mark', () => {
    const state = fresh(put(A, 1, 100, E1, ATTR.score, 1), put(B, 1, 100, E1, ATTR.score, 2, [dot(C, 1)]));
    state.compact(vector([[C, 1]]));
    const reg = state.slot(E1, ATTR.score);
    expect(reg instanceof Register ? [reg.live.length, reg.pending] : undefined).toEqual([2, null]);
  });

  it('keeps history unless asked to prune it', () => {
    const txs = [
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(A, 2, 200, E1, ATTR.name, 'b', [dot(A, 1)]),
      put(A, 3, 300, E1, ATTR.name, 'c', [dot(A, 2)]),
    ];
    const state = fresh(...txs);
    state.compact(vector([[A, 3]]));
    expect(historyOf(state.slot(E1, ATTR.name)).map((h) => h.value)).toEqual(['a', 'b', 'c']);
  });

  it('with pruneHistory drops past versions whose superseder is stable, and keeps live versions', () => {
    const txs = [
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(A, 2, 200, E1, ATTR.name, 'b', [dot(A, 1)]),
      put(A, 3, 300, E1, ATTR.name, 'c', [dot(A, 2)]),
    ];
    const state = fresh(...txs);
    state.compact(vector([[A, 2]]), { pruneHistory: true });
    // 'a' was superseded by A2 (stable); 'b' by A3 (not yet stable).
    expect(historyOf(state.slot(E1, ATTR.name)).map((h) => [h.value, h.live])).toEqual([
      ['b', false],
      ['c', true],
    ]);
    state.compact(vector([[A, 3]]), { pruneHistory: true });
    expect(state.slot(E1, ATTR.name)).toBeInstanceOf(Version);
    expect(state.values(E1, ATTR.name)).toEqual(['c']);
  });

  it('with pruneHistory drops stable retractions, and the register with them when nothing is live', () => {
    const state = fresh(
      put(A, 1, 100, E1, ATTR.notes, 'n'),
      del(B, 1, 200, E1, ATTR.notes, 'n', [dot(A, 1)]),
      put(B, 2, 200, E2, ATTR.score, 1),
    );
    expect(historyOf(state.slot(E1, ATTR.notes)).map((h) => h.kind)).toEqual(['assert', 'retract']);
    state.compact(vector([[A, 1]]), { pruneHistory: true });
    // The assert's superseder B1 is not stable, nor is the retraction itself.
    expect(historyOf(state.slot(E1, ATTR.notes)).map((h) => h.kind)).toEqual(['assert', 'retract']);
    state.compact(
      vector([
        [A, 1],
        [B, 1],
      ]),
      { pruneHistory: true },
    );
    expect(state.slot(E1, ATTR.notes)).toBeUndefined();
    expect(state.hasEntity(E1)).toBe(false);
    expect(state.values(E2, ATTR.score)).toEqual([1]);
  });

  it('leaves the visible state alone and still converges with later ops', () => {
    const txs = [
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 150, E1, ATTR.name, 'b'),
      put(A, 2, 200, E1, ATTR.tags, 't'),
      del(B, 2, 250, E1, ATTR.tags, 't', [dot(A, 2)]),
    ];
    const compacted = fresh(...txs);
    const plain = fresh(...txs);
    compacted.compact(
      vector([
        [A, 2],
        [B, 2],
      ]),
      { pruneHistory: true },
    );
    expect(datoms(compacted)).toEqual(datoms(plain));
    const later = put(C, 1, 300, E1, ATTR.name, 'resolved', [dot(A, 1), dot(B, 1)]);
    expect(compacted.applyTransaction(later)).toEqual(plain.applyTransaction(later));
    expect(datoms(compacted)).toEqual(datoms(plain));
  });
});

describe('ReplicaState.assertNotReused', () => {
  const mine = (counter: number): Transaction => tx(A, counter, hlc(100), [assertOp(0, E1, ATTR.score, 1)]);

  it('accepts our own transactions up to issuedUpTo, and anyone else’s', () => {
    expect(() => ReplicaState.assertNotReused(A, 5, mine(5))).not.toThrow();
    expect(() => ReplicaState.assertNotReused(A, 5, mine(1))).not.toThrow();
    expect(() => ReplicaState.assertNotReused(A, 0, tx(B, 100, hlc(1), [assertOp(0, E1, ATTR.score, 1)]))).not.toThrow();
  });

  it('throws replica-reused for a counter we never issued', () => {
    const error = caught(() => ReplicaState.assertNotReused(A, 5, mine(6)));
    expect(error.code).toBe('replica-reused');
    expect(error.details).toEqual({ counter: 6, issuedUpTo: 5 });
    expect(error.retry).toBe(false);
    expect(codeOf(() => ReplicaState.assertNotReused(A, 0, mine(1)))).toBe('replica-reused');
  });
});

describe('ReplicaState accessors', () => {
  const state = fresh(
    put(A, 1, 100, E1, ATTR.score, 1),
    put(B, 1, 100, E1, ATTR.score, 2),
    put(A, 2, 100, E1, ATTR.tags, 'x'),
    put(A, 3, 100, E1, ATTR.tags, 'y'),
    put(B, 2, 100, E2, ATTR.big, 10n),
  );

  it('value shows the winner; values the visible set', () => {
    expect(state.value(E1, ATTR.score)).toBe(2);
    expect(state.values(E1, ATTR.score)).toEqual([2]);
    expect(state.values(E1, ATTR.tags)).toEqual(['x', 'y']);
    expect(state.value(E3, ATTR.score)).toBeUndefined();
    expect(state.values(E3, ATTR.score)).toEqual([]);
  });

  it('lists entities, registers and datoms', () => {
    expect([...state.entityIds()].sort()).toEqual([E1, E2]);
    expect(state.entityCount()).toBe(2);
    expect([...state.attributesOf(E1)].map(([a]) => a).sort()).toEqual([ATTR.score, ATTR.tags].sort());
    expect([...state.attributesOf(E3)]).toEqual([]);
    expect([...state.registers()]).toHaveLength(3);
    expect(datoms(state)).toEqual([`${E1} ${ATTR.score} 2`, `${E1} ${ATTR.tags} "x"`, `${E1} ${ATTR.tags} "y"`, `${E2} ${ATTR.big} 10n`]);
  });

  it('vector is the contiguous part of the context', () => {
    expect(state.vector()).toEqual(
      new Map([
        [A, 3],
        [B, 2],
      ]),
    );
  });

  it('refuses an attribute outside the schema', () => {
    const error = caught(() => state.spec('no/such' as Attr));
    expect(error.code).toBe('unknown-attribute');
    expect(codeOf(() => state.values(E1, 'no/such' as Attr))).toBe('unknown-attribute');
  });

  it('applyTransaction refuses an op on an attribute outside the schema', () => {
    expect(codeOf(() => fresh().applyTransaction(put(A, 1, 1, E1, 'no/such' as Attr, 1)))).toBe('unknown-attribute');
  });

  it('setSlot installs and removes registers, dropping an entity with its last one', () => {
    const target = new ReplicaState(SPECS);
    const slot = state.slot(E2, ATTR.big);
    target.setSlot(E2, ATTR.big, slot);
    expect(target.values(E2, ATTR.big)).toEqual([10n]);
    target.setSlot(E3, ATTR.big, undefined);
    expect(target.hasEntity(E3)).toBe(false);
    target.setSlot(E2, ATTR.big, undefined);
    expect(target.hasEntity(E2)).toBe(false);
  });
});
