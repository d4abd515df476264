import { describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import { CausalContext } from '../../crdt/index.js';
import { A, B, C, dot, fail } from './helpers.js';

/** The entry of one replica in canonical form. */
function entryOf(context: CausalContext, replica: ReplicaId): { upTo: number; ranges: readonly number[] } | undefined {
  const entry = context.toEntries().find((e) => e.replica === replica);
  return entry === undefined ? undefined : { upTo: entry.upTo, ranges: entry.ranges };
}

function withDots(replica: ReplicaId, counters: readonly number[]): CausalContext {
  const context = new CausalContext();
  for (const counter of counters) context.add(replica, counter, counter);
  return context;
}

describe('CausalContext', () => {
  it('is empty when new', () => {
    const context = new CausalContext();
    expect(context.has(A, 1)).toBe(false);
    expect(context.hasDot(dot(A, 1))).toBe(false);
    expect(context.maxCounter(A)).toBe(0);
    expect(context.toVector().size).toBe(0);
    expect(context.toEntries()).toEqual([]);
    expect([...context.replicas()]).toEqual([]);
  });

  it('keeps in-order delivery as one number per replica', () => {
    const context = withDots(A, [1, 2, 3]);
    expect(entryOf(context, A)).toEqual({ upTo: 3, ranges: [] });
    expect(context.toVector().get(A)).toBe(3);
  });

  it('keeps an out-of-order dot as a range beyond the prefix', () => {
    const context = withDots(A, [5]);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [5, 5] });
    expect(context.has(A, 5)).toBe(true);
    expect(context.has(A, 4)).toBe(false);
    expect(context.has(A, 6)).toBe(false);
    expect(context.has(A, 1)).toBe(false);
    expect(context.maxCounter(A)).toBe(5);
    // The vector only holds the contiguous part.
    expect(context.toVector().has(A)).toBe(false);
  });

  it('merges adjacent and overlapping ranges', () => {
    const context = withDots(A, [5, 7]);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [5, 5, 7, 7] });
    context.add(A, 6, 6);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [5, 7] });
    context.add(A, 3, 4);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [3, 7] });
    context.add(A, 6, 12);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [3, 12] });
    context.add(A, 4, 5);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [3, 12] });
  });

  it('inserts a range before, between and after existing ones, in sorted order', () => {
    const context = new CausalContext();
    context.add(A, 20, 22);
    context.add(A, 5, 6);
    context.add(A, 40, 40);
    context.add(A, 10, 12);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [5, 6, 10, 12, 20, 22, 40, 40] });
  });

  it('merges one range spanning several existing ones', () => {
    const context = withDots(A, [5, 8, 11, 20]);
    context.add(A, 4, 12);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [4, 12, 20, 20] });
    context.add(A, 13, 19);
    expect(entryOf(context, A)).toEqual({ upTo: 0, ranges: [4, 20] });
  });

  it('absorbs every range the contiguous prefix reaches', () => {
    const context = new CausalContext();
    context.add(A, 3, 4);
    context.add(A, 6, 8);
    context.add(A, 12, 12);
    context.add(A, 1, 5);
    // 1..5 joins 3..4, then touches 6..8; 12 stays apart.
    expect(entryOf(context, A)).toEqual({ upTo: 8, ranges: [12, 12] });
    expect(context.toVector().get(A)).toBe(8);
    context.add(A, 9, 11);
    expect(entryOf(context, A)).toEqual({ upTo: 12, ranges: [] });
    expect(context.maxCounter(A)).toBe(12);
  });

  it('absorbs a range when the prefix grows by one dot to touch it', () => {
    const context = withDots(A, [1, 3, 4]);
    expect(entryOf(context, A)).toEqual({ upTo: 1, ranges: [3, 4] });
    context.add(A, 2, 2);
    expect(entryOf(context, A)).toEqual({ upTo: 4, ranges: [] });
  });

  it('ignores dots already in the prefix', () => {
    const context = withDots(A, [1, 2, 3, 4]);
    context.add(A, 2, 3);
    context.add(A, 1, 1);
    expect(entryOf(context, A)).toEqual({ upTo: 4, ranges: [] });
  });

  it('keeps replicas apart', () => {
    const context = new CausalContext();
    context.add(A, 1, 3);
    context.add(B, 2, 2);
    expect(context.has(A, 2)).toBe(true);
    expect(context.has(B, 1)).toBe(false);
    expect(context.has(C, 1)).toBe(false);
    expect([...context.replicas()].sort()).toEqual([A, B]);
  });

  it('hasRange: the whole span must be present', () => {
    const context = new CausalContext();
    context.add(A, 1, 5);
    context.add(A, 8, 10);
    expect(context.hasRange(A, 1, 5)).toBe(true);
    expect(context.hasRange(A, 3, 5)).toBe(true);
    expect(context.hasRange(A, 8, 10)).toBe(true);
    expect(context.hasRange(A, 9, 9)).toBe(true);
    expect(context.hasRange(A, 5, 8)).toBe(false);
    expect(context.hasRange(A, 4, 6)).toBe(false);
    expect(context.hasRange(A, 8, 11)).toBe(false);
    expect(context.hasRange(A, 6, 7)).toBe(false);
    expect(context.hasRange(A, 11, 12)).toBe(false);
    expect(context.hasRange(B, 1, 1)).toBe(false);
  });

  it('hasRange across two ranges with a hole is false', () => {
    const context = withDots(A, [3, 4, 6, 7]);
    expect(context.hasRange(A, 3, 7)).toBe(false);
    expect(context.hasRange(A, 6, 7)).toBe(true);
  });

  it('hasAnyInRange: any one dot of the span suffices', () => {
    const context = new CausalContext();
    context.add(A, 1, 2);
    context.add(A, 8, 10);
    expect(context.hasAnyInRange(A, 2, 5)).toBe(true);
    expect(context.hasAnyInRange(A, 3, 7)).toBe(false);
    expect(context.hasAnyInRange(A, 3, 8)).toBe(true);
    expect(context.hasAnyInRange(A, 10, 20)).toBe(true);
    expect(context.hasAnyInRange(A, 5, 15)).toBe(true);
    expect(context.hasAnyInRange(A, 11, 20)).toBe(false);
    expect(context.hasAnyInRange(B, 1, 100)).toBe(false);
  });

  it('advanceTo marks everything up to the vector as known and fills holes', () => {
    const context = withDots(A, [3, 9]);
    context.advanceTo(
      new Map<ReplicaId, number>([
        [A, 5],
        [B, 2],
        [C, 0],
      ]),
    );
    expect(entryOf(context, A)).toEqual({ upTo: 5, ranges: [9, 9] });
    expect(entryOf(context, B)).toEqual({ upTo: 2, ranges: [] });
    // A zero entry creates nothing.
    expect(entryOf(context, C)).toBeUndefined();
    context.advanceTo(new Map<ReplicaId, number>([[A, 8]]));
    expect(entryOf(context, A)).toEqual({ upTo: 9, ranges: [] });
  });

  it('advanceTo never moves the prefix back', () => {
    const context = withDots(A, [1, 2, 3, 4, 5, 6]);
    context.advanceTo(new Map<ReplicaId, number>([[A, 2]]));
    expect(entryOf(context, A)).toEqual({ upTo: 6, ranges: [] });
  });

  it('addAll unions prefixes and ranges and leaves the argument alone', () => {
    const left = new CausalContext();
    left.add(A, 1, 2);
    left.add(A, 6, 6);
    left.add(B, 4, 4);
    const right = new CausalContext();
    right.add(A, 3, 4);
    right.add(A, 8, 9);
    right.add(C, 1, 1);
    const rightBefore = right.toEntries();
    left.addAll(right);
    expect(left.toEntries()).toEqual([
      { replica: A, upTo: 4, ranges: [6, 6, 8, 9] },
      { replica: B, upTo: 0, ranges: [4, 4] },
      { replica: C, upTo: 1, ranges: [] },
    ]);
    expect(right.toEntries()).toEqual(rightBefore);
  });

  it('addAll with a ranges-only entry does not invent a prefix', () => {
    const left = new CausalContext();
    const right = withDots(A, [7]);
    left.addAll(right);
    expect(entryOf(left, A)).toEqual({ upTo: 0, ranges: [7, 7] });
  });

  it('toEntries is canonical: sorted by replica, independent of insertion order', () => {
    const one = new CausalContext();
    one.add(C, 1, 1);
    one.add(A, 5, 5);
    one.add(B, 1, 2);
    one.add(A, 1, 3);
    const two = new CausalContext();
    two.add(A, 1, 1);
    two.add(B, 2, 2);
    two.add(A, 5, 5);
    two.add(A, 2, 3);
    two.add(B, 1, 1);
    two.add(C, 1, 1);
    expect(one.toEntries().map((e) => e.replica)).toEqual([A, B, C]);
    expect(one.toEntries()).toEqual(two.toEntries());
  });

  it('toEntries returns copies', () => {
    const context = withDots(A, [5]);
    const entries = context.toEntries();
    const ranges = (entries[0] ?? fail('no entry')).ranges as number[];
    ranges.push(9, 9);
    expect(context.has(A, 9)).toBe(false);
  });

  it('clone is independent in both directions', () => {
    const original = withDots(A, [1, 5]);
    const copy = original.clone();
    copy.add(A, 2, 4);
    copy.add(B, 1, 1);
    expect(original.toEntries()).toEqual([{ replica: A, upTo: 1, ranges: [5, 5] }]);
    original.add(A, 7, 7);
    expect(copy.has(A, 7)).toBe(false);
    expect(copy.toEntries()).toEqual([
      { replica: A, upTo: 5, ranges: [] },
      { replica: B, upTo: 1, ranges: [] },
    ]);
  });

  it('maxCounter reports the highest dot, contiguous or not', () => {
    const context = withDots(A, [1, 2, 9, 4]);
    expect(context.maxCounter(A)).toBe(9);
    expect(context.maxCounter(B)).toBe(0);
  });
});
