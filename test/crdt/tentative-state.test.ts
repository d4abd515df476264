/**
 * TentativeState's dot rule (crdt/tentative-state.ts): the overlay counts as
 * seen the dots of its pending ops, exactly as ReplicaState counts the dots
 * of the ops it applied. A transaction with gaps in its offsets (a filtered
 * one, which only a crafted push makes tentative) leaves its unused dots
 * unseen in both, so an op superseding such a dot leaves a pending mark in
 * both, and the two show the same once a version under that dot arrives.
 */
import { describe, expect, it } from 'vitest';
import { ReplicaState, TentativeState } from '../../crdt/index.js';
import { A, ATTR, assertOp, B, dot, E1, E2, hlc, put, SPECS, tx } from './helpers.js';

describe('TentativeState: which dots are seen', () => {
  it('the unused dot of a gapped pending transaction is unseen, as in the confirmed state', () => {
    // Offsets 0 and 2: dot A:11 names no op.
    const gapped = tx(A, 10, hlc(1), [assertOp(0, E1, ATTR.tags, 'x'), assertOp(2, E1, ATTR.tags, 'y')]);
    const superseding = put(B, 1, 2, E2, ATTR.tags, 'u', [dot(A, 11)]);
    const late = put(A, 11, 3, E2, ATTR.tags, 'v');

    const tentative = new TentativeState(new ReplicaState(SPECS));
    tentative.addTentative(gapped);
    tentative.addTentative(superseding);
    tentative.applyConfirmed(late);

    const plain = new ReplicaState(SPECS);
    for (const t of [gapped, superseding, late]) plain.applyTransaction(t);

    // The superseding op's mark retires the version that arrives under A:11.
    expect(plain.values(E2, ATTR.tags)).toEqual(['u']);
    expect(tentative.values(E2, ATTR.tags)).toEqual(plain.values(E2, ATTR.tags));
    expect(tentative.values(E1, ATTR.tags).sort()).toEqual(['x', 'y']);
  });
});
