import { describe, expect, it } from 'vitest';
import type { Attr, AttributeSpec, JsonValue, Transaction, Value } from '../../crdt/index.js';
import {
  DatsyncError,
  Decoder,
  decodeRegisters,
  decodeState,
  decodeTransactions,
  Encoder,
  encodeRegisters,
  encodeState,
  encodeTransactions,
  historyOf,
  MAX_JSON_DEPTH,
  ReplicaState,
  readValue,
  valuesEqual,
  writeValue,
} from '../../crdt/index.js';
import { A, ATTR, assertOp, B, C, caught, datoms, del, dot, E1, E2, E3, hex, hlc, put, retractOp, SPECS, snapshot, tx } from './helpers.js';

function encodeValue(value: Value): Uint8Array {
  const encoder = new Encoder(16);
  writeValue(encoder, value);
  return encoder.finish();
}

function decodeValue(bytes: Uint8Array): Value {
  const decoder = new Decoder(bytes);
  const value = readValue(decoder);
  if (!decoder.done) throw new Error('trailing bytes after the value');
  return value;
}

function ascii(text: string): number[] {
  return [text.length, ...[...text].map((c) => c.charCodeAt(0))];
}

function nestedArrays(depth: number, leaf: JsonValue): JsonValue {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function fresh(...txs: Transaction[]): ReplicaState {
  const state = new ReplicaState(SPECS);
  for (const t of txs) state.applyTransaction(t);
  return state;
}

/** Every strict prefix of `bytes` must be refused with invalid-encoding, never another error. */
function expectEveryPrefixRefused(bytes: Uint8Array, decode: (input: Uint8Array) => unknown): void {
  for (let length = 0; length < bytes.length; length++) {
    let error: unknown;
    try {
      decode(bytes.slice(0, length));
    } catch (e) {
      error = e;
    }
    expect(error, `prefix of ${length} of ${bytes.length} bytes`).toBeInstanceOf(DatsyncError);
    expect((error as DatsyncError).code, `prefix of ${length} bytes`).toBe('invalid-encoding');
  }
}

/** Every single-byte corruption of `bytes` either decodes or throws a DatsyncError. */
function expectCorruptionContained(bytes: Uint8Array, decode: (input: Uint8Array) => unknown): number {
  let refused = 0;
  for (let i = 0; i < bytes.length; i++) {
    for (const replacement of [0x00, 0x01, 0x3f, 0x7f, 0x80, 0xff]) {
      if (bytes[i] === replacement) continue;
      const corrupt = bytes.slice();
      corrupt[i] = replacement;
      try {
        decode(corrupt);
      } catch (e) {
        expect(e, `byte ${i} set to ${replacement}`).toBeInstanceOf(DatsyncError);
        refused++;
      }
    }
  }
  return refused;
}

describe('values', () => {
  const exact: Array<[string, Value, string]> = [
    ['a string', 'a', '000161'],
    ['an empty string', '', '0000'],
    ['a small integer', 5, '0105'],
    ['a negative integer', -5, '0145'],
    ['-0 as a float', -0, '020000000000000080'],
    ['a fraction', 1.5, '02000000000000f83f'],
    ['NaN', Number.NaN, '02000000000000f87f'],
    ['2^53 as a float', 2 ** 53, '020000000000004043'],
    ['false', false, '03'],
    ['true', true, '04'],
    ['a negative bigint', -12n, '05032d3132'],
    ['null', null, '06'],
    ['an empty array', [], '0700'],
    ['an empty object', {}, '0800'],
    ['an object', { b: 1, a: [true] }, '0802016107010401620101'],
  ];

  it.each(exact)('%s has a fixed encoding and round-trips', (_label, value, expected) => {
    const bytes = encodeValue(value);
    expect(hex(bytes)).toBe(expected);
    const back = decodeValue(bytes);
    expect(typeof back).toBe(typeof value);
    expect(valuesEqual(back, value)).toBe(true);
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
  });

  it('writes object keys in sorted order, so key order does not matter', () => {
    expect(hex(encodeValue({ z: 1, a: { y: 2, b: 3 } }))).toBe(hex(encodeValue({ a: { b: 3, y: 2 }, z: 1 })));
  });

  it('round-trips big integers, infinities and strings with lone surrogates', () => {
    for (const value of [
      10n ** 400n,
      -(10n ** 400n),
      0n,
      Number.POSITIVE_INFINITY,
      Number.MIN_VALUE,
      '\udc00x\ud800',
      { '\ud800': ['😀'] },
    ]) {
      const back = decodeValue(encodeValue(value));
      expect(valuesEqual(back, value)).toBe(true);
      expect(hex(encodeValue(back))).toBe(hex(encodeValue(value)));
    }
  });

  it('keeps "__proto__" an own key rather than a prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonValue;
    const back = decodeValue(encodeValue(value)) as Record<string, JsonValue>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(valuesEqual(back, value)).toBe(true);
  });

  it(`encodes containers nested ${MAX_JSON_DEPTH} deep and refuses deeper input`, () => {
    const deepest = nestedArrays(MAX_JSON_DEPTH, 'leaf');
    expect(valuesEqual(decodeValue(encodeValue(deepest)), deepest)).toBe(true);
    const tooDeepArrays = new Uint8Array([...Array.from({ length: MAX_JSON_DEPTH + 1 }, () => [7, 1]).flat(), 6]);
    expect(caught(() => decodeValue(tooDeepArrays)).code).toBe('invalid-encoding');
    const okArrays = new Uint8Array([...Array.from({ length: MAX_JSON_DEPTH }, () => [7, 1]).flat(), 6]);
    expect(decodeValue(okArrays)).toEqual(nestedArrays(MAX_JSON_DEPTH, null));
    const tooDeepObjects = new Uint8Array([...Array.from({ length: MAX_JSON_DEPTH + 1 }, () => [8, 1, 1, 0x6b]).flat(), 6]);
    expect(caught(() => decodeValue(tooDeepObjects)).code).toBe('invalid-encoding');
  });

  it('refuses a hostile nesting depth without overflowing the stack', () => {
    const hostile = new Uint8Array(200_000);
    for (let i = 0; i < hostile.length; i += 2) {
      hostile[i] = 7;
      hostile[i + 1] = 1;
    }
    expect(caught(() => decodeValue(hostile)).code).toBe('invalid-encoding');
  });

  it.each([
    ['an unknown tag', [9]],
    ['tag 255', [255]],
    ['no input', []],
    ['an empty big integer', [5, ...ascii('')]],
    ['a fractional big integer', [5, ...ascii('1.5')]],
    ['a big integer with a plus sign', [5, ...ascii('+1')]],
    ['a big integer with a space', [5, ...ascii(' 1')]],
    ['a big integer with two minus signs', [5, ...ascii('--1')]],
    ['a hexadecimal big integer', [5, ...ascii('0x10')]],
    ['a lone minus sign', [5, ...ascii('-')]],
    ['a big integer inside an array', [7, 1, 5, ...ascii('1')]],
    ['a big integer inside an object', [8, 1, ...ascii('k'), 5, ...ascii('1')]],
    ['object keys out of order', [8, 2, ...ascii('b'), 6, ...ascii('a'), 6]],
    ['a repeated object key', [8, 2, ...ascii('a'), 6, ...ascii('a'), 6]],
    ['an array count beyond the input', [7, 100, 6]],
    ['an object count beyond the input', [8, 50, ...ascii('a'), 6]],
    ['a truncated float', [2, 0, 0, 0]],
    ['a truncated string', [0, 5, 0x61]],
  ])('refuses %s', (_label, input) => {
    expect(caught(() => decodeValue(new Uint8Array(input))).code).toBe('invalid-encoding');
  });

  it('refuses a big integer with more than 4096 characters', () => {
    const digits = '9'.repeat(4097);
    const encoder = new Encoder();
    encoder.uint8(5);
    encoder.string(digits);
    expect(caught(() => decodeValue(encoder.finish())).code).toBe('invalid-encoding');
  });
});

describe('transactions', () => {
  const batch: Transaction[] = [
    tx(A, 1, hlc(1_700_000_000_000, 5), [
      assertOp(0, E1, ATTR.name, 'Ada'),
      assertOp(1, E1, ATTR.tags, 'x'),
      assertOp(2, E2, ATTR.data, { nested: [1, -0, Number.NaN, null, 'é'] }),
    ]),
    tx(B, 7, hlc(1_700_000_000_001), [
      retractOp(0, E1, ATTR.tags, undefined, [dot(A, 2)]),
      assertOp(3, E1, ATTR.name, 'Grace', [dot(A, 1), dot(C, 99)]),
      retractOp(5, E3, ATTR.big, 10n ** 30n, [dot(B, 2)]),
    ]),
  ];

  it('round-trips a batch exactly, gaps in offsets included', () => {
    const bytes = encodeTransactions(batch);
    const back = decodeTransactions(bytes);
    expect(back).toHaveLength(2);
    expect(back.map((t) => [t.replica, t.counter, t.hlc])).toEqual(batch.map((t) => [t.replica, t.counter, t.hlc]));
    for (const [i, t] of back.entries()) {
      const original = batch[i];
      expect(t.ops.map((op) => [op.offset, op.entity, op.attribute, op.kind, op.supersedes])).toEqual(
        original?.ops.map((op) => [op.offset, op.entity, op.attribute, op.kind, op.supersedes]),
      );
      for (const [j, op] of t.ops.entries()) {
        const value = original?.ops[j]?.value;
        if (value === undefined) expect(op.value).toBeUndefined();
        else expect(op.value !== undefined && valuesEqual(op.value, value)).toBe(true);
      }
    }
    expect(hex(encodeTransactions(back))).toBe(hex(bytes));
  });

  it('round-trips an empty batch', () => {
    expect(decodeTransactions(encodeTransactions([]))).toEqual([]);
  });

  it('writes each replica, entity and attribute once', () => {
    const many = Array.from({ length: 20 }, (_, i) => put(A, i + 1, 1000 + i, E1, ATTR.name, `v${i}`, i === 0 ? [] : [dot(A, i)]));
    const bytes = encodeTransactions(many);
    const text = Buffer.from(bytes).toString('latin1');
    expect(text.split('replicaA.1').length - 1).toBe(1);
    expect(text.split('person/name').length - 1).toBe(1);
    expect(decodeTransactions(bytes)).toHaveLength(20);
  });

  it.each([0, 1, 62, 63, 64, 200])('round-trips an op superseding %d dots', (n) => {
    const supersedes = Array.from({ length: n }, (_, i) => dot(i % 2 === 0 ? B : C, i + 1));
    const one = tx(A, 1000, hlc(5), [retractOp(0, E1, ATTR.tags, undefined, supersedes)]);
    const back = decodeTransactions(encodeTransactions([one]));
    expect(back[0]?.ops[0]?.supersedes).toEqual(supersedes);
  });

  it('refuses every truncation of a valid batch', () => {
    expectEveryPrefixRefused(encodeTransactions(batch), decodeTransactions);
  });

  it('contains every single-byte corruption of a valid batch', () => {
    expect(expectCorruptionContained(encodeTransactions(batch), decodeTransactions)).toBeGreaterThan(0);
  });

  it('refuses trailing bytes', () => {
    const bytes = encodeTransactions(batch);
    expect(caught(() => decodeTransactions(new Uint8Array([...bytes, 0]))).code).toBe('invalid-encoding');
  });

  it('refuses an unknown format byte', () => {
    const bytes = encodeTransactions(batch);
    bytes[0] = 2;
    expect(caught(() => decodeTransactions(bytes)).code).toBe('invalid-encoding');
  });

  it('refuses a table index out of range', () => {
    // One replica, no entities, no attributes, one transaction naming replica 5.
    const input = new Uint8Array([1, 1, ...ascii('abcd'), 0, 0, 1, 5, 1, 1, 0]);
    expect(caught(() => decodeTransactions(input)).message).toMatch(/index/);
    expect(caught(() => decodeTransactions(input)).code).toBe('invalid-encoding');
    // The same with index 0 decodes.
    input[10] = 0;
    expect(decodeTransactions(input)).toEqual([{ replica: 'abcd', counter: 1, hlc: 1, ops: [] }]);
  });

  it('refuses counts larger than the input', () => {
    expect(caught(() => decodeTransactions(new Uint8Array([1, 200, 0]))).code).toBe('invalid-encoding');
    expect(caught(() => decodeTransactions(new Uint8Array([1, 0, 0, 0, 0xff, 0xff, 0x03]))).code).toBe('invalid-encoding');
    // One transaction claiming 100 ops with nothing behind it.
    expect(caught(() => decodeTransactions(new Uint8Array([1, 1, ...ascii('abcd'), 0, 0, 1, 0, 1, 1, 100]))).code).toBe('invalid-encoding');
  });
});

describe('states', () => {
  /** A state with history, siblings, a pending mark, a retraction and a gap in its context. */
  function rich(): ReplicaState {
    return fresh(
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 150, E1, ATTR.name, 'b'),
      put(C, 1, 200, E1, ATTR.name, 'c', [dot(A, 1)]),
      put(A, 2, 210, E1, ATTR.notes, 'n'),
      del(B, 2, 220, E1, ATTR.notes, 'n', [dot(A, 2)]),
      put(C, 5, 230, E2, ATTR.score, -0, [dot(A, 9)]),
      tx(B, 3, hlc(240), [
        assertOp(0, E2, ATTR.data, { k: [1, 'x'] }),
        assertOp(1, E3, ATTR.big, -(10n ** 20n)),
        assertOp(2, E3, ATTR.misc, 'm'),
      ]),
      put(A, 3, 250, E3, ATTR.misc, 7),
      put(A, 4, 260, E3, ATTR.born, 1_700_000_000_000),
      put(A, 5, 270, E3, ATTR.flag, false),
      put(A, 6, 280, E3, ATTR.friend, E1),
    );
  }

  it('round-trips byte for byte, and the decoded state behaves the same', () => {
    const state = rich();
    const bytes = encodeState(state);
    const back = decodeState(bytes, SPECS);
    expect(hex(encodeState(back))).toBe(hex(bytes));
    expect(datoms(back)).toEqual(datoms(state));
    expect(historyOf(back.slot(E1, ATTR.name))).toEqual(historyOf(state.slot(E1, ATTR.name)));
    expect(Object.is(back.value(E2, ATTR.score), -0)).toBe(true);
    const late = put(A, 9, 300, E2, ATTR.score, 1);
    expect(back.applyTransaction(late)).toEqual(state.applyTransaction(late));
    expect(snapshot(back)).toBe(snapshot(state));
  });

  it('round-trips an empty state', () => {
    const empty = new ReplicaState(SPECS);
    const back = decodeState(encodeState(empty), SPECS);
    expect(snapshot(back)).toBe(snapshot(empty));
    expect(back.entityCount()).toBe(0);
  });

  it('encodes equal states to equal bytes whatever the order they were built in', () => {
    const txs = [
      put(A, 1, 100, E1, ATTR.name, 'a'),
      put(B, 1, 150, E2, ATTR.tags, 't'),
      put(C, 1, 200, E1, ATTR.name, 'c', [dot(A, 1)]),
      put(B, 2, 210, E1, ATTR.score, 3),
      put(A, 2, 220, E3, ATTR.tags, 'u'),
    ];
    const forward = encodeState(fresh(...txs));
    const backward = encodeState(fresh(...[...txs].reverse()));
    const shuffled = encodeState(
      fresh(txs[3] as Transaction, txs[0] as Transaction, txs[4] as Transaction, txs[2] as Transaction, txs[1] as Transaction),
    );
    expect(hex(backward)).toBe(hex(forward));
    expect(hex(shuffled)).toBe(hex(forward));
    const merged = fresh(txs[0] as Transaction, txs[1] as Transaction);
    merged.merge(fresh(txs[2] as Transaction, txs[3] as Transaction, txs[4] as Transaction));
    expect(hex(encodeState(merged))).toBe(hex(forward));
  });

  it('encodes equal json values to equal bytes whatever their key order', () => {
    const one = fresh(put(A, 1, 100, E1, ATTR.data, { b: 1, a: { d: 2, c: 3 } }));
    const two = fresh(put(A, 1, 100, E1, ATTR.data, { a: { c: 3, d: 2 }, b: 1 }));
    expect(snapshot(one)).toBe(snapshot(two));
  });

  it('refuses every truncation of a valid state', () => {
    expectEveryPrefixRefused(encodeState(rich()), (bytes) => decodeState(bytes, SPECS));
  });

  it('contains every single-byte corruption of a valid state', () => {
    expect(expectCorruptionContained(encodeState(rich()), (bytes) => decodeState(bytes, SPECS))).toBeGreaterThan(0);
  });

  it('refuses trailing bytes and an unknown format byte', () => {
    const bytes = encodeState(rich());
    expect(caught(() => decodeState(new Uint8Array([...bytes, 0]), SPECS)).code).toBe('invalid-encoding');
    const wrongFormat = bytes.slice();
    wrongFormat[0] = 9;
    expect(caught(() => decodeState(wrongFormat, SPECS)).code).toBe('invalid-encoding');
  });

  it('refuses an attribute outside the schema with unknown-attribute', () => {
    const bytes = encodeState(rich());
    const narrower = new Map(SPECS);
    narrower.delete(ATTR.notes);
    const error = caught(() => decodeState(bytes, narrower));
    expect(error.code).toBe('unknown-attribute');
    expect(error.details).toEqual({ attribute: ATTR.notes });
  });

  it('refuses a value that does not fit its attribute', () => {
    const loose: Attr = ATTR.misc;
    const bytes = encodeState(fresh(put(A, 1, 100, E1, loose, 'text')));
    const strict = new Map<Attr, AttributeSpec>(SPECS);
    strict.set(loose, { cardinality: 'many', valueType: 'number', history: false });
    expect(caught(() => decodeState(bytes, strict)).code).toBe('invalid-encoding');
    // Also inside a register with siblings and history.
    const withHistory = encodeState(fresh(put(A, 1, 100, E1, ATTR.name, 'a'), put(A, 2, 200, E1, ATTR.name, 'b', [dot(A, 1)])));
    const numericNames = new Map<Attr, AttributeSpec>(SPECS);
    numericNames.set(ATTR.name, { cardinality: 'one', valueType: 'number', history: true });
    expect(caught(() => decodeState(withHistory, numericNames)).code).toBe('invalid-encoding');
  });

  it('refuses a malformed entity id', () => {
    const bytes = encodeState(fresh(put(A, 1, 100, E1, ATTR.score, 1)));
    const text = Buffer.from(bytes).toString('latin1');
    const at = text.indexOf(`${E1}`);
    expect(at).toBeGreaterThan(0);
    const corrupt = bytes.slice();
    corrupt[at + E1.indexOf('.')] = '!'.charCodeAt(0);
    expect(caught(() => decodeState(corrupt, SPECS)).code).toBe('invalid-encoding');
  });

  it('encodeRegisters and decodeRegisters handle a subset of a state', () => {
    const state = rich();
    const subset = [...state.registers()].filter(([entity]) => entity === E3);
    const decoded = decodeRegisters(encodeRegisters(subset, state.context), SPECS);
    expect(decoded.registers.map(([entity, attribute]) => `${entity} ${attribute}`).sort()).toEqual(
      subset.map(([entity, attribute]) => `${entity} ${attribute}`).sort(),
    );
    expect(decoded.context.toEntries()).toEqual(state.context.toEntries());
  });
});

describe('values the schema accepts survive the encoding', () => {
  // Every value receive accepts must also encode and decode: what cannot round-trip is refused on receipt.
  it('refuses a json value of 33 nested arrays on receipt, leaving the state untouched', () => {
    const deep = nestedArrays(MAX_JSON_DEPTH, []);
    const state = new ReplicaState(SPECS);
    const before = encodeState(state);
    expect(() => state.receive(put(A, 1, 100, E1, ATTR.data, deep))).toThrow(expect.objectContaining({ code: 'invalid-value' }));
    expect(encodeState(state)).toEqual(before);
  });

  it('refuses a big integer of more than 4096 digits on receipt, and accepts one of 4096 digits either sign', () => {
    const state = new ReplicaState(SPECS);
    expect(() => state.receive(put(A, 1, 100, E1, ATTR.big, 10n ** 5000n))).toThrow(expect.objectContaining({ code: 'invalid-value' }));
    const widest = -(10n ** 4096n - 1n);
    state.receive(put(A, 1, 100, E1, ATTR.big, widest));
    expect(decodeState(encodeState(state), SPECS).value(E1, ATTR.big)).toBe(widest);
  });

  it('a json value of 32 nested empty arrays round-trips through a state', () => {
    const deep = nestedArrays(MAX_JSON_DEPTH - 1, []);
    const state = new ReplicaState(SPECS);
    state.receive(put(A, 1, 100, E1, ATTR.data, deep));
    const back = decodeState(encodeState(state), SPECS);
    expect(valuesEqual(back.value(E1, ATTR.data) ?? null, deep)).toBe(true);
  });

  it('a big integer of 4096 digits round-trips through a state', () => {
    const big = 10n ** 4095n;
    const state = new ReplicaState(SPECS);
    state.receive(put(A, 1, 100, E1, ATTR.big, big));
    expect(decodeState(encodeState(state), SPECS).value(E1, ATTR.big)).toBe(big);
  });
});
