/** Encoding round trips (issue 2): at least 10,000 runs for values and transactions. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Value } from '../crdt/index.js';
import { runs } from './setup.js';
import { binaryValueCodec, stateRoundTrip, transactionRoundTrip, valueRoundTrip } from './support/encoding-properties.js';

describe('encoding', () => {
  it('round-trips every value the schema allows', () => {
    fc.assert(valueRoundTrip(binaryValueCodec), { numRuns: runs(10_000) });
  });
  it('round-trips transactions', () => {
    fc.assert(transactionRoundTrip(), { numRuns: runs(10_000) });
  });
  it('round-trips replica states byte for byte', () => {
    fc.assert(stateRoundTrip(), { numRuns: runs(1000) });
  });
  it('the value property catches a JSON codec (which loses -0, NaN and big integers)', () => {
    const json = {
      encode: (value: Value) => new TextEncoder().encode(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
      decode: (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Value,
    };
    expect(fc.check(valueRoundTrip(json), { numRuns: 2000, seed: 3 }).failed).toBe(true);
  });
});
