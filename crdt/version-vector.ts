/**
 * Version vectors: for each replica, the highest counter up to which every
 * dot is known. Immutable maps; every function returns a new vector.
 *
 * @module
 */
import type { Dot, ReplicaId } from './ids.js';

export type VersionVector = ReadonlyMap<ReplicaId, number>;

export const Ordering = {
  Before: 'before',
  After: 'after',
  Equal: 'equal',
  Concurrent: 'concurrent',
} as const;
export type Ordering = (typeof Ordering)[keyof typeof Ordering];

export const EMPTY_VECTOR: VersionVector = new Map();

/** How `a` relates to `b` in the causal partial order. */
export function compareVectors(a: VersionVector, b: VersionVector): Ordering {
  let aAhead = false;
  let bAhead = false;
  for (const [replica, counter] of a) {
    const other = b.get(replica) ?? 0;
    if (counter > other) aAhead = true;
    else if (counter < other) bAhead = true;
  }
  for (const [replica, counter] of b) {
    if (!a.has(replica) && counter > 0) bAhead = true;
  }
  if (aAhead && bAhead) return Ordering.Concurrent;
  if (aAhead) return Ordering.After;
  if (bAhead) return Ordering.Before;
  return Ordering.Equal;
}

/** The least upper bound: pointwise maximum. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out = new Map(a);
  for (const [replica, counter] of b) {
    if (counter > (out.get(replica) ?? 0)) out.set(replica, counter);
  }
  return out;
}

/**
 * The greatest lower bound of many vectors: pointwise minimum, where a replica
 * missing from any vector counts as 0. Given the vectors of every known
 * replica this is the causally stable frontier: every dot at or below it has
 * reached everyone.
 */
export function minimumVector(vectors: Iterable<VersionVector>): VersionVector {
  let out: Map<ReplicaId, number> | undefined;
  for (const vector of vectors) {
    if (out === undefined) {
      out = new Map(vector);
      continue;
    }
    for (const [replica, counter] of out) {
      const other = vector.get(replica) ?? 0;
      if (other < counter) {
        if (other === 0) out.delete(replica);
        else out.set(replica, other);
      }
    }
  }
  return out ?? new Map();
}

export function vectorCovers(vector: VersionVector, dot: Dot): boolean {
  return (vector.get(dot.replica) ?? 0) >= dot.counter;
}

/** A vector as a plain object with sorted keys, for JSON and display. */
export function vectorToObject(vector: VersionVector): Record<string, number> {
  const out: Record<string, number> = {};
  for (const replica of [...vector.keys()].sort()) out[replica] = vector.get(replica) ?? 0;
  return out;
}
