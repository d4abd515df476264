/** Round-trip properties of the binary encodings. */
import fc from 'fast-check';
import type { AttributeSpecs, JsonValue, Transaction, Value } from '../../crdt/index.js';
import {
  canonicalJson,
  Decoder,
  decodeState,
  decodeTransactions,
  Encoder,
  encodeState,
  encodeTransactions,
  ReplicaState,
  readValue,
  valuesEqual,
  writeValue,
} from '../../crdt/index.js';
import { permute } from './impl.js';
import { play, SPECS, scenarioArb } from './scenario.js';

/** Every JavaScript string, lone surrogates included. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 }).map((codes) => String.fromCharCode(...codes)),
);

export const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.constantFrom(
    -0,
    0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MIN_VALUE,
    -Number.MIN_VALUE,
    Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53,
    2 ** 60,
  ),
  fc.integer(),
  fc.maxSafeInteger(),
);

export const anyValue: fc.Arbitrary<Value> = fc.oneof(
  anyString,
  anyNumber,
  fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n }),
  fc.boolean(),
  fc.jsonValue({ maxDepth: 8 }).map((v) => v as Value),
  fc.letrec((tie) => ({
    json: fc.oneof(
      { depthSize: 'small' },
      anyString,
      anyNumber,
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('json'), { maxLength: 4 }),
      fc.dictionary(anyString, tie('json'), { maxKeys: 4 }),
    ),
  })).json as fc.Arbitrary<Value>,
);

export interface ValueCodec {
  encode(value: Value): Uint8Array;
  decode(bytes: Uint8Array): Value;
}

export const binaryValueCodec: ValueCodec = {
  encode: (value) => {
    const encoder = new Encoder(16);
    writeValue(encoder, value);
    return encoder.finish();
  },
  decode: (bytes) => readValue(new Decoder(bytes)),
};

/** decode(encode(v)) equals v, and encoding is deterministic. */
export function valueRoundTrip(codec: ValueCodec): fc.IProperty<[Value]> {
  return fc.property(anyValue, (value) => {
    const bytes = codec.encode(value);
    const back = codec.decode(bytes);
    if (!valuesEqual(back, value) || typeof back !== typeof value) return false;
    return Buffer.from(codec.encode(back)).equals(Buffer.from(bytes));
  });
}

/** Exactly the same value: -0 is not 0, NaN is NaN, a big integer is not its digits. */
function same(a: Value | undefined, b: Value | undefined): boolean {
  if (typeof a !== typeof b) return false;
  if (a === undefined || typeof a === 'bigint') return a === b;
  return canonicalJson(a as JsonValue) === canonicalJson(b as JsonValue);
}

export interface TransactionCodec {
  encode(txs: readonly Transaction[]): Uint8Array;
  decode(bytes: Uint8Array): Transaction[];
}

export const binaryTransactionCodec: TransactionCodec = { encode: encodeTransactions, decode: decodeTransactions };

/** Transactions with arbitrary values round-trip exactly. */
export function transactionRoundTrip(codec: TransactionCodec = binaryTransactionCodec): fc.IProperty<[Value[], number]> {
  return fc.property(fc.array(anyValue, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 2 ** 40 }), (values, counter) => {
    const tx: Transaction = {
      replica: 'replica-round' as Transaction['replica'],
      counter,
      hlc: (1_700_000_000_000 * 1024 + values.length) as Transaction['hlc'],
      ops: values.map((value, offset) => ({
        offset: offset * 2,
        entity: `entity-round.${offset.toString(36)}` as Transaction['ops'][number]['entity'],
        attribute: 'some/attr' as Transaction['ops'][number]['attribute'],
        kind: offset % 3 === 2 ? 'retract' : 'assert',
        value: offset % 5 === 4 ? undefined : value,
        supersedes: offset === 0 ? [] : [{ replica: 'replica-other' as Transaction['replica'], counter: offset * 1000 }],
      })),
    };
    const bytes = codec.encode([tx, tx]);
    const back = codec.decode(bytes);
    if (back.length !== 2) return false;
    const [first] = back;
    if (first === undefined || first.counter !== tx.counter || first.hlc !== tx.hlc || first.ops.length !== tx.ops.length) return false;
    for (const [i, op] of first.ops.entries()) {
      const original = tx.ops[i];
      if (original === undefined) return false;
      if (op.offset !== original.offset || op.kind !== original.kind || op.entity !== original.entity) return false;
      if (!same(op.value, original.value)) return false;
      if (JSON.stringify(op.supersedes) !== JSON.stringify(original.supersedes)) return false;
    }
    return Buffer.from(codec.encode(back)).equals(Buffer.from(bytes));
  });
}

export interface StateCodec {
  encode(state: ReplicaState): Uint8Array;
  decode(bytes: Uint8Array, specs: AttributeSpecs): ReplicaState;
}

export const binaryStateCodec: StateCodec = { encode: encodeState, decode: decodeState };

/** Replica states (history, siblings and pending marks included) round-trip byte for byte. */
export function stateRoundTrip(codec: StateCodec = binaryStateCodec): fc.IProperty<[Parameters<typeof play>[0], number[]]> {
  return fc.property(scenarioArb(), fc.array(fc.integer(), { minLength: 1, maxLength: 40 }), (scenario, order) => {
    const { txs } = play(scenario);
    const state = new ReplicaState(SPECS);
    // A partial, out-of-order delivery leaves pending marks to encode too.
    for (const tx of permute(txs, order).slice(0, Math.ceil(txs.length * 0.7))) state.applyTransaction(tx);
    const bytes = codec.encode(state);
    const back = codec.decode(bytes, SPECS);
    if (!Buffer.from(codec.encode(back)).equals(Buffer.from(bytes))) return false;
    // The decoded state keeps behaving identically.
    for (const tx of txs) {
      state.applyTransaction(tx);
      back.applyTransaction(tx);
    }
    return Buffer.from(encodeState(back)).equals(Buffer.from(encodeState(state)));
  });
}
