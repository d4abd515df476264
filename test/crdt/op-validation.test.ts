import { describe, expect, it } from 'vitest';
import type { ErrorCode, Op, Transaction } from '../../crdt/index.js';
import { HLC_ZERO, HybridClock, isWhole, lastCounter, ReplicaState, transactionId, validateTransaction } from '../../crdt/index.js';
import { A, ATTR, assertOp, B, caught, dot, E1, E2, hlc, put, retractOp, SPECS, snapshot, tx } from './helpers.js';

/** A state with some content, so that "untouched" means something. */
function populated(): ReplicaState {
  const state = new ReplicaState(SPECS);
  state.applyTransaction(put(B, 1, 1000, E1, ATTR.name, 'Ada'));
  state.applyTransaction(put(B, 2, 1001, E1, ATTR.tags, 'x'));
  state.applyTransaction(put(A, 1, 1002, E2, ATTR.score, 3));
  return state;
}

/** A valid transaction from A, with `ops` replaced. */
function withOps(ops: readonly unknown[]): Transaction {
  return { replica: A, counter: 5, hlc: hlc(2000), ops: ops as Op[] };
}

/** A valid transaction with one field replaced by an arbitrary (possibly ill-typed) value. */
function withField(field: keyof Transaction, value: unknown): Transaction {
  return { ...good(), [field]: value } as Transaction;
}

/** A valid op with one field replaced. */
function opWith(field: keyof Op, value: unknown): Op {
  return { ...assertOp(0, E1, ATTR.name, 'Grace', [dot(B, 1)]), [field]: value } as Op;
}

function good(): Transaction {
  return tx(A, 5, hlc(2000), [
    assertOp(0, E1, ATTR.name, 'Grace', [dot(B, 1)]),
    retractOp(1, E1, ATTR.tags, 'x', [dot(B, 2)]),
    assertOp(2, E2, ATTR.score, 4, [dot(A, 1)]),
  ]);
}

const UNSAFE = Number.MAX_SAFE_INTEGER + 1;

const malformed: Array<[string, () => Transaction, ErrorCode]> = [
  ['a null transaction', () => null as unknown as Transaction, 'invalid-op'],
  ['a replica id that is too short', () => withField('replica', 'abc'), 'invalid-op'],
  ['a replica id with a space', () => withField('replica', 'bad id'), 'invalid-op'],
  ['a numeric replica id', () => withField('replica', 42), 'invalid-op'],
  ['counter 0', () => withField('counter', 0), 'invalid-op'],
  ['a negative counter', () => withField('counter', -3), 'invalid-op'],
  ['a fractional counter', () => withField('counter', 1.5), 'invalid-op'],
  ['an unsafe counter', () => withField('counter', UNSAFE), 'invalid-op'],
  ['a NaN counter', () => withField('counter', Number.NaN), 'invalid-op'],
  ['a string counter', () => withField('counter', '5'), 'invalid-op'],
  ['a negative hlc', () => withField('hlc', -1), 'invalid-op'],
  ['a fractional hlc', () => withField('hlc', 10.5), 'invalid-op'],
  ['an unsafe hlc', () => withField('hlc', UNSAFE), 'invalid-op'],
  ['a NaN hlc', () => withField('hlc', Number.NaN), 'invalid-op'],
  ['no ops', () => withOps([]), 'invalid-op'],
  ['ops that are not an array', () => withField('ops', { 0: good().ops[0], length: 1 }), 'invalid-op'],
  ['a null op', () => withOps([null]), 'invalid-op'],
  ['a repeated offset', () => withOps([assertOp(0, E1, ATTR.name, 'a'), assertOp(0, E2, ATTR.name, 'b')]), 'invalid-op'],
  ['a decreasing offset', () => withOps([assertOp(1, E1, ATTR.name, 'a'), assertOp(0, E2, ATTR.name, 'b')]), 'invalid-op'],
  ['a negative offset', () => withOps([assertOp(-1, E1, ATTR.name, 'a')]), 'invalid-op'],
  ['a fractional offset', () => withOps([assertOp(0.5, E1, ATTR.name, 'a')]), 'invalid-op'],
  ['an offset that is not a number', () => withOps([opWith('offset', '0')]), 'invalid-op'],
  [
    'an offset whose dot overflows',
    () => tx(A, Number.MAX_SAFE_INTEGER - 1, hlc(2000), [assertOp(0, E1, ATTR.name, 'a'), assertOp(2, E2, ATTR.name, 'b')]),
    'invalid-op',
  ],
  [
    'two ops on one entity and attribute of cardinality one (a sibling no write rule would see)',
    () => withOps([assertOp(0, E1, ATTR.name, 'a'), assertOp(1, E1, ATTR.name, 'b')]),
    'invalid-op',
  ],
  ['a malformed entity id', () => withOps([opWith('entity', 'not-an-entity')]), 'invalid-op'],
  ['a replica id as entity id', () => withOps([opWith('entity', 'replicaA')]), 'invalid-op'],
  ['a missing entity id', () => withOps([opWith('entity', undefined)]), 'invalid-op'],
  ['an attribute outside the schema', () => withOps([opWith('attribute', 'no/such')]), 'unknown-attribute'],
  ['a non-string attribute', () => withOps([opWith('attribute', 42)]), 'unknown-attribute'],
  ['an assert of the wrong type', () => withOps([assertOp(0, E1, ATTR.name, 42)]), 'invalid-value'],
  ['an assert without a value', () => withOps([opWith('value', undefined)]), 'invalid-value'],
  ['a ref that is not an entity id', () => withOps([assertOp(0, E1, ATTR.friend, 'someone')]), 'invalid-value'],
  ['a non-finite instant', () => withOps([assertOp(0, E1, ATTR.born, Number.POSITIVE_INFINITY)]), 'invalid-value'],
  ['a json value holding a bigint', () => withOps([{ ...opWith('value', [1n]), attribute: ATTR.data }]), 'invalid-value'],
  ['a retract of a value of the wrong type', () => withOps([retractOp(0, E1, ATTR.score, 'three', [])]), 'invalid-value'],
  ['an unknown kind', () => withOps([opWith('kind', 'upsert')]), 'invalid-op'],
  ['a missing kind', () => withOps([opWith('kind', undefined)]), 'invalid-op'],
  ['supersedes that is not an array', () => withOps([opWith('supersedes', dot(B, 1))]), 'invalid-op'],
  ['a missing supersedes', () => withOps([opWith('supersedes', undefined)]), 'invalid-op'],
  ['a supersedes dot with a bad replica', () => withOps([opWith('supersedes', [{ replica: 'no', counter: 1 }])]), 'invalid-op'],
  ['a supersedes dot with counter 0', () => withOps([opWith('supersedes', [dot(B, 0)])]), 'invalid-op'],
  ['a supersedes dot with a fractional counter', () => withOps([opWith('supersedes', [dot(B, 1.5)])]), 'invalid-op'],
  ['a null supersedes dot', () => withOps([opWith('supersedes', [null])]), 'invalid-op'],
  ['a dot given as a string', () => withOps([opWith('supersedes', ['replicaB:1'])]), 'invalid-op'],
  ['superseding the first op of its own transaction', () => withOps([opWith('supersedes', [dot(A, 5)])]), 'invalid-op'],
  [
    'superseding a sibling op of its own transaction',
    () => withOps([assertOp(0, E1, ATTR.name, 'a'), assertOp(1, E1, ATTR.name, 'b', [dot(A, 5)])]),
    'invalid-op',
  ],
  ['superseding a later dot of its own replica', () => withOps([opWith('supersedes', [dot(A, 99)])]), 'invalid-op'],
  [
    'a good op followed by an unknown attribute',
    () => withOps([assertOp(0, E1, ATTR.name, 'fine'), assertOp(1, E2, 'no/such' as typeof ATTR.name, 'x')]),
    'unknown-attribute',
  ],
  [
    'good ops followed by a wrong value type',
    () => withOps([assertOp(0, E1, ATTR.name, 'fine'), assertOp(1, E2, ATTR.tags, 'ok'), assertOp(2, E2, ATTR.score, '7')]),
    'invalid-value',
  ],
  [
    'good ops followed by a bad supersedes dot',
    () => withOps([assertOp(0, E1, ATTR.name, 'fine', [dot(B, 1)]), assertOp(1, E2, ATTR.score, 7, [dot(B, -1)])]),
    'invalid-op',
  ],
  [
    'good ops followed by a repeated offset',
    () => withOps([assertOp(0, E1, ATTR.name, 'fine'), assertOp(1, E2, ATTR.score, 7), assertOp(1, E2, ATTR.flag, true)]),
    'invalid-op',
  ],
];

describe('validateTransaction', () => {
  it('accepts a well-formed transaction', () => {
    expect(() => validateTransaction(good(), SPECS)).not.toThrow();
  });

  it('accepts retract-all, gaps in offsets, and superseding an earlier dot of its own replica', () => {
    const fine = tx(A, 5, hlc(2000), [retractOp(0, E1, ATTR.tags, undefined, [dot(B, 2)]), assertOp(3, E1, ATTR.name, 'x', [dot(A, 4)])]);
    expect(() => validateTransaction(fine, SPECS)).not.toThrow();
  });

  it.each(malformed)('refuses %s', (_label, make, code) => {
    expect(caught(() => validateTransaction(make(), SPECS)).code).toBe(code);
  });

  it('names the offending op in the details', () => {
    const bad = withOps([assertOp(0, E1, ATTR.name, 'fine'), assertOp(1, E2, ATTR.score, 'x')]);
    const error = caught(() => validateTransaction(bad, SPECS));
    expect(error.details).toMatchObject({ op: 1, attribute: ATTR.score, expected: 'number' });
    const unknown = withOps([assertOp(0, E1, ATTR.name, 'fine'), assertOp(1, E2, 'no/such' as typeof ATTR.name, 'x')]);
    expect(caught(() => validateTransaction(unknown, SPECS)).details).toEqual({ op: 1 });
  });
});

describe('ReplicaState.receive refuses malformed transactions and changes nothing', () => {
  it.each(malformed)('%s', (_label, make, code) => {
    const state = populated();
    const before = snapshot(state);
    expect(caught(() => state.receive(make())).code).toBe(code);
    expect(snapshot(state)).toBe(before);
  });

  it('a refused transaction can be followed by a good one as if nothing happened', () => {
    const state = populated();
    const reference = populated();
    const bad = withOps([
      assertOp(0, E1, ATTR.name, 'first is fine', [dot(B, 1)]),
      assertOp(1, E2, ATTR.score, 'second is not', [dot(A, 1)]),
    ]);
    caught(() => state.receive(bad));
    expect(state.context.has(A, 5)).toBe(false);
    expect(state.values(E1, ATTR.name)).toEqual(['Ada']);
    expect(state.receive(good())).toEqual(reference.applyTransaction(good()));
    expect(snapshot(state)).toBe(snapshot(reference));
  });

  it('receive applies a valid transaction and reports the same changes as applyTransaction', () => {
    const state = populated();
    const reference = populated();
    const changes = state.receive(good());
    expect(changes).toEqual(reference.applyTransaction(good()));
    expect(changes).toEqual([
      { entity: E1, attribute: ATTR.name, value: 'Ada', added: false },
      { entity: E1, attribute: ATTR.name, value: 'Grace', added: true },
      { entity: E1, attribute: ATTR.tags, value: 'x', added: false },
      { entity: E2, attribute: ATTR.score, value: 3, added: false },
      { entity: E2, attribute: ATTR.score, value: 4, added: true },
    ]);
  });
});

describe('ReplicaState.receive with a clock', () => {
  it('refuses a transaction beyond the drift bound and leaves state and clock untouched', () => {
    const state = populated();
    const clock = new HybridClock(HLC_ZERO, 1000);
    const now = clock.tick(10_000);
    const before = snapshot(state);
    const ahead = put(A, 5, 11_001, E1, ATTR.name, 'from the future', [dot(B, 1)]);
    const error = caught(() => state.receive(ahead, { clock, physicalMs: 10_000 }));
    expect(error.code).toBe('clock-drift');
    expect(snapshot(state)).toBe(before);
    expect(clock.current).toBe(now);
  });

  it('accepts a transaction at the drift bound and advances the clock to it', () => {
    const state = populated();
    const clock = new HybridClock(HLC_ZERO, 1000);
    clock.tick(10_000);
    const atBound = put(A, 5, 11_000, E1, ATTR.name, 'just in time', [dot(B, 1)]);
    state.receive(atBound, { clock, physicalMs: 10_000 });
    expect(state.values(E1, ATTR.name)).toEqual(['just in time']);
    expect(clock.current).toBe(atBound.hlc);
    expect(clock.tick(10_000)).toBeGreaterThan(atBound.hlc);
  });

  it('does not move the clock for a transaction it refuses as malformed', () => {
    const state = populated();
    const clock = new HybridClock(HLC_ZERO, 1000);
    const now = clock.tick(10_000);
    const bad = tx(A, 5, hlc(10_500), [assertOp(0, E1, ATTR.name, 1)]);
    expect(caught(() => state.receive(bad, { clock, physicalMs: 10_000 })).code).toBe('invalid-value');
    expect(clock.current).toBe(now);
  });

  it('keeps the clock when the transaction is older', () => {
    const state = populated();
    const clock = new HybridClock(HLC_ZERO, 1000);
    const now = clock.tick(10_000);
    state.receive(put(A, 5, 5000, E1, ATTR.name, 'old news', [dot(B, 1)]), { clock, physicalMs: 10_000 });
    expect(clock.current).toBe(now);
  });
});

describe('transaction helpers', () => {
  it('transactionId, lastCounter and isWhole', () => {
    const whole = good();
    expect(transactionId(whole)).toBe('replicaA:5');
    expect(lastCounter(whole)).toBe(7);
    expect(isWhole(whole)).toBe(true);
    const gappy = tx(A, 5, hlc(1), [assertOp(0, E1, ATTR.name, 'a'), assertOp(2, E2, ATTR.name, 'b')]);
    expect(lastCounter(gappy)).toBe(7);
    expect(isWhole(gappy)).toBe(false);
    const tail = tx(A, 5, hlc(1), [assertOp(1, E1, ATTR.name, 'a')]);
    expect(isWhole(tail)).toBe(false);
    const empty = tx(A, 5, hlc(1), []);
    expect(isWhole(empty)).toBe(true);
    expect(lastCounter(empty)).toBe(5);
  });
});
