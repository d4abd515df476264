/**
 * Properties of hybrid logical clocks and version vectors, as functions of
 * the implementation so that broken ones can be shown to fail.
 */
import fc from 'fast-check';
import type { Hlc, ReplicaId, VersionVector } from '../../crdt/index.js';
import { compareVectors, DatsyncError, HybridClock, hlcFromParts, hlcWallMs, mergeVectors, minimumVector } from '../../crdt/index.js';

export interface ClockImpl {
  create(): { tick(physicalMs: number): Hlc; observe(remote: Hlc, physicalMs: number): void };
}

export const realClock: ClockImpl = { create: () => new HybridClock(undefined, 60_000) };

type ClockEvent =
  | { readonly type: 'tick'; readonly drift: number }
  | { readonly type: 'observe'; readonly drift: number; readonly remoteAhead: number };

const eventArb: fc.Arbitrary<ClockEvent> = fc.oneof(
  fc.record({ type: fc.constant('tick' as const), drift: fc.integer({ min: -3_600_000, max: 3_600_000 }) }),
  fc.record({
    type: fc.constant('observe' as const),
    drift: fc.integer({ min: -3_600_000, max: 3_600_000 }),
    remoteAhead: fc.integer({ min: -3_600_000, max: 120_000 }),
  }),
);

/**
 * Under a physical clock that jumps back and forth by up to an hour, and
 * remote timestamps from skewed peers, every tick is strictly greater than
 * everything issued or observed before; a remote stamp beyond the drift bound
 * is refused with `clock-drift` and changes nothing.
 */
export function hlcMonotonic(impl: ClockImpl): fc.IProperty<[ClockEvent[], number[]]> {
  return fc.property(fc.array(eventArb, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(1023)), (events, logicals) => {
    const clock = impl.create();
    let highest = 0;
    let physical = 1_700_000_000_000;
    for (const [i, event] of events.entries()) {
      physical = Math.max(0, 1_700_000_000_000 + event.drift);
      if (event.type === 'tick') {
        const stamp = clock.tick(physical);
        if (!(stamp > highest)) return false;
        highest = stamp;
        continue;
      }
      const remote = hlcFromParts(Math.max(0, physical + event.remoteAhead), logicals[i % Math.max(1, logicals.length)] ?? 0);
      try {
        clock.observe(remote, physical);
        if (hlcWallMs(remote) > physical + 60_000) return false; // should have been refused
        highest = Math.max(highest, remote);
      } catch (error) {
        if (!(error instanceof DatsyncError) || error.code !== 'clock-drift') throw error;
        if (hlcWallMs(remote) <= physical + 60_000) return false;
      }
    }
    return true;
  });
}

export interface VectorImpl {
  compare: typeof compareVectors;
  merge: typeof mergeVectors;
  minimum: typeof minimumVector;
}

export const realVectors: VectorImpl = { compare: compareVectors, merge: mergeVectors, minimum: minimumVector };

const replicaArb = fc.constantFrom('replica-a', 'replica-b', 'replica-c', 'replica-d') as fc.Arbitrary<ReplicaId>;
const vectorArb: fc.Arbitrary<VersionVector> = fc
  .array(fc.tuple(replicaArb, fc.integer({ min: 0, max: 5 })), { maxLength: 4 })
  .map((entries) => new Map(entries.filter(([, n]) => n > 0)));

function dominates(impl: VectorImpl, a: VersionVector, b: VersionVector): boolean {
  const order = impl.compare(a, b);
  return order === 'after' || order === 'equal';
}

/**
 * Version vectors form a partial order whose join is merge and meet is minimum:
 * reflexive, antisymmetric, transitive, `before` mirrors `after`, and merge
 * is the least upper bound (commutative, associative, idempotent).
 */
export function vectorLaws(impl: VectorImpl): fc.IProperty<[VersionVector, VersionVector, VersionVector]> {
  return fc.property(vectorArb, vectorArb, vectorArb, (a, b, c) => {
    const mirror = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
    if (impl.compare(a, a) !== 'equal') return false;
    if (mirror[impl.compare(a, b)] !== impl.compare(b, a)) return false;
    if (dominates(impl, a, b) && dominates(impl, b, c) && !dominates(impl, a, c)) return false;
    const ab = impl.merge(a, b);
    if (!dominates(impl, ab, a) || !dominates(impl, ab, b)) return false;
    if (impl.compare(ab, impl.merge(b, a)) !== 'equal') return false;
    if (impl.compare(impl.merge(ab, c), impl.merge(a, impl.merge(b, c))) !== 'equal') return false;
    if (impl.compare(impl.merge(a, a), a) !== 'equal') return false;
    // Least: any upper bound of a and b dominates their merge.
    const upper = impl.merge(ab, c);
    if (!dominates(impl, upper, ab)) return false;
    const low = impl.minimum([a, b, c]);
    return dominates(impl, a, low) && dominates(impl, b, low) && dominates(impl, c, low);
  });
}
