import { describe, expect, it } from 'vitest';
import type { ReplicaId, VersionVector } from '../../crdt/index.js';
import { compareVectors, EMPTY_VECTOR, mergeVectors, minimumVector, Ordering, vectorCovers, vectorToObject } from '../../crdt/index.js';
import { A, B, C, dot } from './helpers.js';

function vv(entries: Record<string, number>): VersionVector {
  return new Map(Object.entries(entries) as Array<[ReplicaId, number]>);
}

describe('compareVectors', () => {
  it('tells before, after, equal and concurrent apart', () => {
    expect(compareVectors(vv({ [A]: 1 }), vv({ [A]: 2 }))).toBe(Ordering.Before);
    expect(compareVectors(vv({ [A]: 2 }), vv({ [A]: 1 }))).toBe(Ordering.After);
    expect(compareVectors(vv({ [A]: 2, [B]: 1 }), vv({ [B]: 1, [A]: 2 }))).toBe(Ordering.Equal);
    expect(compareVectors(vv({ [A]: 2 }), vv({ [B]: 1 }))).toBe(Ordering.Concurrent);
    expect(compareVectors(vv({ [A]: 2, [B]: 1 }), vv({ [A]: 1, [B]: 2 }))).toBe(Ordering.Concurrent);
  });

  it('treats a missing replica as 0, on either side', () => {
    expect(compareVectors(EMPTY_VECTOR, vv({ [A]: 1 }))).toBe(Ordering.Before);
    expect(compareVectors(vv({ [A]: 1 }), EMPTY_VECTOR)).toBe(Ordering.After);
    expect(compareVectors(vv({ [A]: 0 }), EMPTY_VECTOR)).toBe(Ordering.Equal);
    expect(compareVectors(EMPTY_VECTOR, vv({ [A]: 0 }))).toBe(Ordering.Equal);
    expect(compareVectors(vv({ [A]: 1 }), vv({ [A]: 1, [B]: 1 }))).toBe(Ordering.Before);
  });
});

describe('mergeVectors and minimumVector', () => {
  it('merge is the pointwise maximum and leaves its inputs alone', () => {
    const left = vv({ [A]: 3, [B]: 1 });
    const right = vv({ [B]: 4, [C]: 2 });
    expect(vectorToObject(mergeVectors(left, right))).toEqual({ [A]: 3, [B]: 4, [C]: 2 });
    expect(vectorToObject(left)).toEqual({ [A]: 3, [B]: 1 });
    expect(vectorToObject(right)).toEqual({ [B]: 4, [C]: 2 });
  });

  it('minimum is the pointwise minimum, a replica missing anywhere counting as 0', () => {
    const frontier = minimumVector([vv({ [A]: 3, [B]: 5, [C]: 1 }), vv({ [A]: 2, [B]: 7 }), vv({ [A]: 4, [B]: 6, [C]: 9 })]);
    expect(vectorToObject(frontier)).toEqual({ [A]: 2, [B]: 5 });
    expect(frontier.has(C)).toBe(false);
  });

  it('minimum of nothing is empty, of one vector is a copy of it', () => {
    expect(minimumVector([]).size).toBe(0);
    const only = vv({ [A]: 3 });
    const copy = minimumVector([only]);
    expect(vectorToObject(copy)).toEqual({ [A]: 3 });
    expect(copy).not.toBe(only);
  });
});

describe('vectorCovers and vectorToObject', () => {
  it('covers a dot at or below its entry', () => {
    const vector = vv({ [A]: 3 });
    expect(vectorCovers(vector, dot(A, 3))).toBe(true);
    expect(vectorCovers(vector, dot(A, 4))).toBe(false);
    expect(vectorCovers(vector, dot(B, 1))).toBe(false);
  });

  it('lists replicas in sorted order', () => {
    expect(Object.keys(vectorToObject(vv({ [C]: 1, [A]: 2, [B]: 3 })))).toEqual([A, B, C]);
  });
});
