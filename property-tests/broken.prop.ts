/**
 * Every property of the suite must be able to fail. Each deliberately broken
 * implementation (support/broken.ts) must be caught by the properties that
 * guard against its bug; if one passes, the property is too weak.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrivalOrderLww, forgetfulContext, leftBiasedMerge, reusedReplicaId } from './support/broken.js';
import type { CrdtImpl } from './support/impl.js';
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

type PropertyOf = (impl: CrdtImpl) => fc.IProperty<unknown[]>;

function caught(property: PropertyOf, impl: CrdtImpl): boolean {
  return fc.check(property(impl), { numRuns: 2000, seed: 42 }).failed;
}

describe('the property suite catches broken CRDTs', () => {
  const cases: Array<[string, PropertyOf, CrdtImpl]> = [
    ['convergence', convergence as unknown as PropertyOf, arrivalOrderLww],
    ['convergence (duplicates)', convergence as unknown as PropertyOf, forgetfulContext],
    ['merge laws', mergeLaws as unknown as PropertyOf, leftBiasedMerge],
    ['sequential last-wins', sequentialLastWins as unknown as PropertyOf, arrivalOrderLww],
    ['concurrent siblings', concurrentSiblings as unknown as PropertyOf, arrivalOrderLww],
    ['add-wins sets', addWins as unknown as PropertyOf, arrivalOrderLww],
    ['entity retraction', entityRetraction as unknown as PropertyOf, arrivalOrderLww],
    ['history', historyKeepsEveryVersion as unknown as PropertyOf, arrivalOrderLww],
    ['gc at the stable frontier', gcAtStableFrontier as unknown as PropertyOf, arrivalOrderLww],
    ['amnesia', amnesia as unknown as PropertyOf, reusedReplicaId],
  ];
  for (const [name, property, impl] of cases) {
    it(`${name} fails on "${impl.name}"`, () => {
      expect(caught(property, impl)).toBe(true);
    });
  }
});
