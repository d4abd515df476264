import { describe, expect, it } from 'vitest';
import type { JsonValue, Value, ValueType } from '../../crdt/index.js';
import { canonicalJson, checkValue, compareValues, fitsType, MAX_JSON_DEPTH, VALUE_TYPES, valuesEqual } from '../../crdt/index.js';
import { caught, show } from './helpers.js';

/** `depth` arrays nested around `leaf`. */
function nestedArrays(depth: number, leaf: JsonValue): JsonValue {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** `depth` objects nested around `leaf`, each under the key "k". */
function nestedObjects(depth: number, leaf: JsonValue): JsonValue {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { k: value };
  return value;
}

class Point {
  readonly x = 1;
}

describe('fitsType', () => {
  const cases: Array<[ValueType, unknown[], unknown[]]> = [
    ['string', ['', 'text', '\ud800'], [1, null, undefined, 1n, true, ['a'], { a: 'b' }]],
    [
      'number',
      [0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE],
      ['1', 1n, null, undefined, true],
    ],
    ['bigint', [0n, -(2n ** 100n)], [0, '1', null]],
    ['boolean', [true, false], [0, 1, 'true', null]],
    ['instant', [0, -1, 1_700_000_000_000, 1.5], [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '2020-01-01', 1n, null]],
    ['ref', ['replicaA.1', 'abcd.zz'], ['replicaA', 'replicaA:1', 'x', 5, null, undefined]],
    [
      'json',
      [true, 0, -0, Number.NaN, 'x', [], {}, [1, 'a', null, [true]], { a: { b: [1, { c: null }] } }, Object.create(null)],
      [
        // null is "no value" at the top (DataScript stores none), though fine inside a structure.
        null,
        undefined,
        1n,
        [1n],
        { a: 1n },
        [undefined],
        { a: undefined },
        () => 1,
        Symbol('s'),
        new Date(0),
        new Map(),
        new Point(),
        [new Point()],
      ],
    ],
    ['any', ['s', 1, Number.NaN, 1n, false], [null, undefined, [], {}, ['s']]],
  ];

  for (const [type, good, bad] of cases) {
    it(`${type} accepts what it should`, () => {
      for (const [i, value] of good.entries()) expect(fitsType(type, value), `${type} should accept case ${i}`).toBe(true);
    });
    it(`${type} refuses what it should`, () => {
      for (const [i, value] of bad.entries()) expect(fitsType(type, value), `${type} should refuse case ${i}`).toBe(false);
    });
  }

  it('covers exactly the eight value types', () => {
    expect([...VALUE_TYPES].sort()).toEqual(['any', 'bigint', 'boolean', 'instant', 'json', 'number', 'ref', 'string']);
  });

  it('json accepts an object whose prototype is null', () => {
    const bare = Object.create(null) as Record<string, JsonValue>;
    bare.key = [1, 2];
    expect(fitsType('json', bare)).toBe(true);
  });

  it(`json accepts a leaf nested in ${MAX_JSON_DEPTH} containers and refuses one nested deeper`, () => {
    expect(MAX_JSON_DEPTH).toBe(32);
    expect(fitsType('json', nestedArrays(MAX_JSON_DEPTH, 1))).toBe(true);
    expect(fitsType('json', nestedArrays(MAX_JSON_DEPTH + 1, 1))).toBe(false);
    expect(fitsType('json', nestedObjects(MAX_JSON_DEPTH, 'leaf'))).toBe(true);
    expect(fitsType('json', nestedObjects(MAX_JSON_DEPTH + 1, 'leaf'))).toBe(false);
    expect(fitsType('json', nestedArrays(100, null))).toBe(false);
  });

  it('json refuses a cyclic value without overflowing the stack', () => {
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(fitsType('json', cycle)).toBe(false);
    const object: Record<string, unknown> = {};
    object.self = object;
    expect(fitsType('json', object)).toBe(false);
  });
});

describe('checkValue', () => {
  it('passes a fitting value', () => {
    expect(() => checkValue('string', 'ok', 'task/title')).not.toThrow();
  });

  it('throws invalid-value naming the types, never the value', () => {
    const error = caught(() => checkValue('number', 'secret-password', 'user/pin'));
    expect(error.code).toBe('invalid-value');
    expect(error.details).toEqual({ attribute: 'user/pin', expected: 'number', actual: 'string' });
    expect(error.message).not.toContain('secret-password');
    expect(caught(() => checkValue('string', null, 'a/b')).details?.actual).toBe('null');
    expect(caught(() => checkValue('string', [1], 'a/b')).details?.actual).toBe('array');
  });
});

describe('valuesEqual', () => {
  it('takes -0 to equal 0 (SameValueZero, as DataScript compares numbers)', () => {
    expect(valuesEqual(0, -0)).toBe(true);
    expect(valuesEqual(-0, 0)).toBe(true);
    expect(valuesEqual(-0, -0)).toBe(true);
    expect(valuesEqual(0, 1)).toBe(false);
    expect(valuesEqual(-0, Number.MIN_VALUE)).toBe(false);
  });

  it('takes NaN to equal NaN', () => {
    expect(valuesEqual(Number.NaN, Number.NaN)).toBe(true);
    expect(valuesEqual(Number.NaN, 0)).toBe(false);
  });

  it('never equates values of different types', () => {
    expect(valuesEqual(1, 1n)).toBe(false);
    expect(valuesEqual(1, '1')).toBe(false);
    expect(valuesEqual(true, 1)).toBe(false);
    expect(valuesEqual(null, false)).toBe(false);
    expect(valuesEqual('a', ['a'])).toBe(false);
    expect(valuesEqual([], {})).toBe(false);
    expect(valuesEqual({}, [])).toBe(false);
    expect(valuesEqual(null, {})).toBe(false);
    expect(valuesEqual({}, null)).toBe(false);
  });

  it('compares primitives by value', () => {
    expect(valuesEqual(10n ** 30n, 10n ** 30n)).toBe(true);
    expect(valuesEqual(1n, 2n)).toBe(false);
    expect(valuesEqual('a', 'a')).toBe(true);
    expect(valuesEqual('a', 'b')).toBe(false);
    expect(valuesEqual(true, true)).toBe(true);
    expect(valuesEqual(null, null)).toBe(true);
  });

  it('compares json deeply, ignoring key order', () => {
    expect(valuesEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(valuesEqual({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'y' }] })).toBe(false);
    expect(valuesEqual({ a: 1 }, { b: 1 })).toBe(false);
    expect(valuesEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(valuesEqual({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(valuesEqual([1, 2], [2, 1])).toBe(false);
    expect(valuesEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(valuesEqual([[]], [{}])).toBe(false);
    expect(valuesEqual({ a: null }, { a: null })).toBe(true);
    expect(valuesEqual({ a: null }, { a: false })).toBe(false);
  });

  it('applies the number rules inside json too', () => {
    expect(valuesEqual([0], [-0])).toBe(true);
    expect(valuesEqual([0], [1])).toBe(false);
    expect(valuesEqual({ n: Number.NaN }, { n: 0 })).toBe(false);
    expect(valuesEqual({ n: Number.NaN }, { n: Number.NaN })).toBe(true);
    expect(valuesEqual({ n: -0 }, { n: -0 })).toBe(true);
  });

  it('compares own keys only, whatever the prototype', () => {
    const bare: JsonValue = Object.assign(Object.create(null) as Record<string, JsonValue>, { toString: 1 });
    const plain = JSON.parse('{"toString": 1}') as JsonValue;
    expect(valuesEqual(plain, bare)).toBe(true);
    expect(valuesEqual(bare, plain)).toBe(true);
    expect(valuesEqual(plain, JSON.parse('{"valueOf": 1}') as JsonValue)).toBe(false);
  });
});

describe('compareValues', () => {
  const sample: Value[] = [
    true,
    false,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1,
    -1,
    0,
    -0,
    0.5,
    2n,
    -2n,
    10n ** 20n,
    '',
    'a',
    'B',
    'ab',
    '\ud800',
    '😀',
    null,
    [],
    [1],
    ['1'],
    {},
    { a: 1 },
    { b: 1, a: 1 },
    { a: 1, b: 1 },
    'NaN',
    [Number.NaN],
  ];

  it('orders booleans < numbers < bigints < strings < json', () => {
    const sorted = [...sample].sort(compareValues);
    const ranks = sorted.map((v) =>
      typeof v === 'boolean' ? 0 : typeof v === 'number' ? 1 : typeof v === 'bigint' ? 2 : typeof v === 'string' ? 3 : 4,
    );
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
  });

  it('orders numbers numerically with -0 before 0 and NaN last', () => {
    const numbers: Value[] = [Number.NaN, 1, -0, Number.POSITIVE_INFINITY, 0, -1, Number.NEGATIVE_INFINITY, 0.5];
    expect(numbers.sort(compareValues).map(show)).toEqual(['-Infinity', '-1', '-0', '0', '0.5', '1', 'Infinity', 'NaN']);
  });

  it('orders bigints numerically and strings by code unit', () => {
    expect([10n ** 20n, -2n, 2n].sort(compareValues)).toEqual([-2n, 2n, 10n ** 20n]);
    expect(['b', 'B', 'a', '', 'ab'].sort(compareValues)).toEqual(['', 'B', 'a', 'ab', 'b']);
    expect(compareValues(false, true)).toBeLessThan(0);
  });

  it('is zero exactly when valuesEqual holds, except that it still orders -0 before 0', () => {
    const zeros = (a: Value, b: Value): boolean => a === 0 && b === 0 && !Object.is(a, b);
    for (const a of sample) {
      for (const b of sample) {
        const expected = valuesEqual(a, b) && !zeros(a, b);
        expect(compareValues(a, b) === 0, `${show(a)} vs ${show(b)}`).toBe(expected);
      }
    }
    expect(compareValues(-0, 0)).toBeLessThan(0);
    expect(compareValues(0, -0)).toBeGreaterThan(0);
  });

  it('is antisymmetric and transitive on the sample', () => {
    for (const a of sample) {
      for (const b of sample) {
        expect(Math.sign(compareValues(a, b))).toBe(-Math.sign(compareValues(b, a)) || 0);
        for (const c of sample) {
          if (compareValues(a, b) <= 0 && compareValues(b, c) <= 0) expect(compareValues(a, c)).toBeLessThanOrEqual(0);
        }
      }
    }
  });

  it('sorts to the same order whatever the input order', () => {
    const key = (v: Value): string => (typeof v === 'object' ? canonicalJson(v) : show(v));
    const forward = [...sample].sort(compareValues).map(key);
    const backward = [...sample].reverse().sort(compareValues).map(key);
    expect(backward).toEqual(forward);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('spells -0 and non-finite numbers distinctly from strings', () => {
    expect(canonicalJson(-0)).toBe('-0');
    expect(canonicalJson(0)).toBe('0');
    expect(canonicalJson(Number.NaN)).toBe('NaN');
    expect(canonicalJson('NaN')).toBe('"NaN"');
    expect(canonicalJson([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe('[Infinity,-Infinity]');
  });

  it('escapes strings and keys as JSON does', () => {
    expect(canonicalJson({ 'a"b': 'c\nd' })).toBe('{"a\\"b":"c\\nd"}');
    expect(canonicalJson([true, false, null, 'x'])).toBe('[true,false,null,"x"]');
  });
});
