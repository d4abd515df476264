/** Encoding round trips (issue 2): at least 10,000 runs each, and each shown able to fail. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Transaction, Value } from '../crdt/index.js';
import { decodeState, encodeState } from '../crdt/index.js';
import { runs } from './setup.js';
import type { StateCodec, TransactionCodec } from './support/encoding-properties.js';
import { binaryValueCodec, stateRoundTrip, transactionRoundTrip, valueRoundTrip } from './support/encoding-properties.js';

/** Transactions over JSON, as a plain last-writer-wins exchange ships them (big integers as their digits). */
const jsonTransactions: TransactionCodec = {
  encode: (txs) => new TextEncoder().encode(JSON.stringify(txs, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
  decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as Transaction[],
};

/** A snapshot reader that compacts as it loads, at its own vector instead of the stable frontier (history and marks lost). */
const compactingSnapshots: StateCodec = {
  encode: encodeState,
  decode: (bytes, specs) => {
    const state = decodeState(bytes, specs);
    state.compact(state.vector(), { pruneHistory: true });
    return state;
  },
};

describe('encoding', () => {
  it('round-trips every value the schema allows', () => {
    fc.assert(valueRoundTrip(binaryValueCodec), { numRuns: runs(10_000) });
  });
  it('round-trips transactions', () => {
    fc.assert(transactionRoundTrip(), { numRuns: runs(10_000) });
  });
  it('round-trips replica states byte for byte', () => {
    fc.assert(stateRoundTrip(), { numRuns: runs(10_000) });
  });
  it('the value property catches a JSON codec (which loses -0, NaN and big integers)', () => {
    const json = {
      encode: (value: Value) => new TextEncoder().encode(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
      decode: (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Value,
    };
    expect(fc.check(valueRoundTrip(json), { numRuns: 2000, seed: 3 }).failed).toBe(true);
  });
  it('the transaction property catches transactions shipped as JSON', () => {
    expect(fc.check(transactionRoundTrip(jsonTransactions), { numRuns: 2000, seed: 3 }).failed).toBe(true);
  });
  it('the state property catches a snapshot reader that compacts at its own vector', () => {
    expect(fc.check(stateRoundTrip(compactingSnapshots), { numRuns: 2000, seed: 3 }).failed).toBe(true);
  });
});
