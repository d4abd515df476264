/**
 * The causal context: the set of every dot a replica has applied (or learnt
 * to be void), kept as, per replica, a contiguous prefix plus sorted ranges
 * beyond it. Delivery is nearly always in order, so the common case is one
 * number per replica.
 *
 * It makes application idempotent (a dot already in the context is ignored)
 * and lets registers drop superseded versions at once: a version that is
 * absent from a register but whose dot is in the context was superseded, so a
 * late duplicate of it must not come back (Almeida et al., "Delta State
 * Replicated Data Types", 2018).
 *
 * @module
 */
import type { Dot, ReplicaId } from './ids.js';
import type { VersionVector } from './version-vector.js';

interface Entry {
  /** Every counter in 1..upTo is in the set. */
  upTo: number;
  /** Flattened [start, end] pairs, sorted, disjoint, non-adjacent, all above upTo + 1. */
  ranges: number[];
}

export class CausalContext {
  private readonly entries = new Map<ReplicaId, Entry>();

  has(replica: ReplicaId, counter: number): boolean {
    const entry = this.entries.get(replica);
    if (entry === undefined) return false;
    if (counter <= entry.upTo) return true;
    const ranges = entry.ranges;
    for (let i = 0; i < ranges.length; i += 2) {
      if (counter < (ranges[i] as number)) return false;
      if (counter <= (ranges[i + 1] as number)) return true;
    }
    return false;
  }

  hasDot(dot: Dot): boolean {
    return this.has(dot.replica, dot.counter);
  }

  /** Whether every counter in start..end is in the set. */
  hasRange(replica: ReplicaId, start: number, end: number): boolean {
    const entry = this.entries.get(replica);
    if (entry === undefined) return false;
    if (end <= entry.upTo) return true;
    const ranges = entry.ranges;
    const from = Math.max(start, entry.upTo + 1);
    for (let i = 0; i < ranges.length; i += 2) {
      if ((ranges[i] as number) <= from && end <= (ranges[i + 1] as number)) return true;
    }
    return false;
  }

  /** Whether any counter in start..end is in the set. */
  hasAnyInRange(replica: ReplicaId, start: number, end: number): boolean {
    const entry = this.entries.get(replica);
    if (entry === undefined) return false;
    if (start <= entry.upTo) return true;
    const ranges = entry.ranges;
    for (let i = 0; i < ranges.length; i += 2) {
      if ((ranges[i] as number) <= end && start <= (ranges[i + 1] as number)) return true;
    }
    return false;
  }

  /** Adds counters start..end (inclusive) of `replica`. */
  add(replica: ReplicaId, start: number, end: number): void {
    let entry = this.entries.get(replica);
    if (entry === undefined) {
      entry = { upTo: 0, ranges: [] };
      this.entries.set(replica, entry);
    }
    if (start <= entry.upTo + 1) {
      if (end > entry.upTo) entry.upTo = end;
      if (entry.ranges.length > 0) absorbRanges(entry);
      return;
    }
    insertRange(entry.ranges, start, end);
  }

  /** Marks every dot at or below `vector` as known (used at the stable frontier). */
  advanceTo(vector: VersionVector): void {
    for (const [replica, counter] of vector) {
      if (counter > 0) this.add(replica, 1, counter);
    }
  }

  /** Adds every dot of `other`. */
  addAll(other: CausalContext): void {
    for (const [replica, entry] of other.entries) {
      if (entry.upTo > 0) this.add(replica, 1, entry.upTo);
      const ranges = entry.ranges;
      for (let i = 0; i < ranges.length; i += 2) this.add(replica, ranges[i] as number, ranges[i + 1] as number);
    }
  }

  /** The contiguous part: the version vector this context justifies. */
  toVector(): VersionVector {
    const out = new Map<ReplicaId, number>();
    for (const [replica, entry] of this.entries) if (entry.upTo > 0) out.set(replica, entry.upTo);
    return out;
  }

  /** The highest counter of `replica` in the set, contiguous or not. */
  maxCounter(replica: ReplicaId): number {
    const entry = this.entries.get(replica);
    if (entry === undefined) return 0;
    return entry.ranges.length > 0 ? (entry.ranges[entry.ranges.length - 1] as number) : entry.upTo;
  }

  replicas(): IterableIterator<ReplicaId> {
    return this.entries.keys();
  }

  /** Sorted (replica, upTo, ranges) triples: a canonical form for encoding and equality. */
  toEntries(): Array<{ replica: ReplicaId; upTo: number; ranges: readonly number[] }> {
    return [...this.entries.keys()].sort().map((replica) => {
      const entry = this.entries.get(replica) as Entry;
      return { replica, upTo: entry.upTo, ranges: [...entry.ranges] };
    });
  }

  clone(): CausalContext {
    const copy = new CausalContext();
    for (const [replica, entry] of this.entries) copy.entries.set(replica, { upTo: entry.upTo, ranges: [...entry.ranges] });
    return copy;
  }
}

function absorbRanges(entry: Entry): void {
  const ranges = entry.ranges;
  let drop = 0;
  while (drop < ranges.length && (ranges[drop] as number) <= entry.upTo + 1) {
    const end = ranges[drop + 1] as number;
    if (end > entry.upTo) entry.upTo = end;
    drop += 2;
  }
  if (drop > 0) ranges.splice(0, drop);
}

function insertRange(ranges: number[], start: number, end: number): void {
  // Find the first range that ends at or after start - 1 (could touch or overlap).
  let i = 0;
  while (i < ranges.length && (ranges[i + 1] as number) < start - 1) i += 2;
  let newStart = start;
  let newEnd = end;
  let j = i;
  while (j < ranges.length && (ranges[j] as number) <= end + 1) {
    newStart = Math.min(newStart, ranges[j] as number);
    newEnd = Math.max(newEnd, ranges[j + 1] as number);
    j += 2;
  }
  ranges.splice(i, j - i, newStart, newEnd);
}
