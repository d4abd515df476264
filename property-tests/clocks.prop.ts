/** Clock and version-vector laws (issue 2), at least 1,000 runs each. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hlc, VersionVector } from '../crdt/index.js';
import { runs } from './setup.js';
import { hlcMonotonic, realClock, realVectors, vectorLaws } from './support/clock-properties.js';

describe('hybrid logical clock', () => {
  it('stays strictly monotonic under skewed, jumping clocks and refuses absurd remote stamps', () => {
    fc.assert(hlcMonotonic(realClock), { numRuns: runs(1000) });
  });
  it('the property catches a clock that follows the physical clock', () => {
    const physicalOnly = {
      create: () => ({ tick: (ms: number) => (ms * 1024) as Hlc, observe: () => undefined }),
    };
    expect(fc.check(hlcMonotonic(physicalOnly), { numRuns: 500, seed: 7 }).failed).toBe(true);
  });
});

describe('version vectors', () => {
  it('form a partial order with merge as least upper bound', () => {
    fc.assert(vectorLaws(realVectors), { numRuns: runs(1000) });
  });
  it('the laws catch a merge that takes the minimum', () => {
    const broken = { ...realVectors, merge: (a: VersionVector, b: VersionVector) => realVectors.minimum([a, b]) };
    expect(fc.check(vectorLaws(broken), { numRuns: 500, seed: 7 }).failed).toBe(true);
  });
});
