/**
 * Convergence properties of the CRDT core (issue 2). Each runs at least
 * 1,000 times per CI run; `DATSYNC_PROPERTY_SCALE` multiplies that for soak
 * runs, and a failure prints the seed and shrunk counterexample to replay.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { runs } from './setup.js';
import { realImpl } from './support/impl.js';
import {
  addWins,
  amnesia,
  concurrentSiblings,
  convergence,
  entityRetraction,
  gcAtStableFrontier,
  historyKeepsEveryVersion,
  mergeLaws,
  sequentialLastWins,
} from './support/properties.js';

describe('CRDT core properties', () => {
  it('converges for any permutation of any op set, with duplicates, on 2 to 8 replicas', () => {
    fc.assert(convergence(realImpl), { numRuns: runs(1000) });
  });
  it('merges commutatively, associatively and idempotently, equal to the union of ops', () => {
    fc.assert(mergeLaws(realImpl), { numRuns: runs(1000) });
  });
  it('shows the last of sequential writes from one replica', () => {
    fc.assert(sequentialLastWins(realImpl), { numRuns: runs(1000) });
  });
  it('keeps concurrent writes as siblings with the same winner everywhere', () => {
    fc.assert(concurrentSiblings(realImpl), { numRuns: runs(1000) });
  });
  it('lets an add win over a concurrent remove', () => {
    fc.assert(addWins(realImpl), { numRuns: runs(1000) });
  });
  it('retracts an entity by observed-remove: concurrent writes survive', () => {
    fc.assert(entityRetraction(realImpl), { numRuns: runs(1000) });
  });
  it('keeps every applied version in the history of a history attribute', () => {
    fc.assert(historyKeepsEveryVersion(realImpl), { numRuns: runs(1000) });
  });
  it('compacts at the stable frontier without changing the visible state, and still converges', () => {
    fc.assert(gcAtStableFrontier(realImpl), { numRuns: runs(1000) });
  });
  it('never loses or hides an acknowledged version when a wiped replica comes back', () => {
    fc.assert(amnesia(realImpl), { numRuns: runs(1000) });
  });
});
