/**
 * The EDN reader (src/query/edn.ts) that lets reactive queries see which
 * attributes a query names.
 */
import { describe, expect, it } from 'vitest';
import type { Edn } from '../../src/query/edn.js';
import { isKeyword, isSymbol, itemsOf, readEdn } from '../../src/query/edn.js';
import { thrown } from './helpers.js';

const sym = (name: string): Edn => ({ kind: 'symbol', name });
const kw = (name: string): Edn => ({ kind: 'keyword', name });

describe('readEdn', () => {
  it.each<[string, Edn]>([
    ['nil', null],
    ['true', true],
    ['false', false],
    ['42', 42],
    ['-7', -7],
    ['+3', 3],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['10N', 10],
    ['2.5M', 2.5],
    ['"text"', 'text'],
    ['""', ''],
    [':find', kw('find')],
    [':db/id', kw('db/id')],
    ['?e', sym('?e')],
    ['...', sym('...')],
    ['.', sym('.')],
    ['$', sym('$')],
    ['_', sym('_')],
    ['*', sym('*')],
    ['get-else', sym('get-else')],
    ['missing?', sym('missing?')],
  ])('reads the atom %s', (text, form) => {
    expect(readEdn(text)).toEqual(form);
  });

  it('reads string escapes', () => {
    expect(readEdn('"a\\nb\\tc\\rd\\"e\\\\f\\u00e9"')).toBe('a\nb\tc\rd"e\\f\u00e9');
  });

  it('reads vectors, lists, sets and maps', () => {
    expect(readEdn('[1 (2 3) #{4} {:a "b"}]')).toEqual({
      kind: 'vector',
      items: [1, { kind: 'list', items: [2, 3] }, { kind: 'set', items: [4] }, { kind: 'map', entries: [[kw('a'), 'b']] }],
    });
    expect(readEdn('[]')).toEqual({ kind: 'vector', items: [] });
    expect(readEdn('{}')).toEqual({ kind: 'map', entries: [] });
  });

  it('treats commas as whitespace and skips comments', () => {
    expect(readEdn('[1, 2 ; a comment ]\n 3]')).toEqual({ kind: 'vector', items: [1, 2, 3] });
    expect(readEdn('  ; leading comment\n  :k  ')).toEqual(kw('k'));
  });

  it('splits atoms at delimiters', () => {
    expect(readEdn('[?e"a"?v]')).toEqual({ kind: 'vector', items: [sym('?e'), 'a', sym('?v')] });
    expect(readEdn('(f[x])')).toEqual({ kind: 'list', items: [sym('f'), { kind: 'vector', items: [sym('x')] }] });
  });

  it('reads a whole Datalog query', () => {
    const form = readEdn('[:find ?n . :in $ ?x :where [?e "person/name" ?n] [(> ?x 1)]]');
    const items = itemsOf(form) ?? [];
    expect(items).toHaveLength(9);
    expect(items[0]).toEqual(kw('find'));
    expect(items[7]).toEqual({ kind: 'vector', items: [sym('?e'), 'person/name', sym('?n')] });
    expect(items[2]).toEqual(sym('.'));
  });

  it.each([
    ['unexpected end', ''],
    ['whitespace only', '   '],
    ['an unclosed vector', '[1 2'],
    ['an unclosed list', '(1'],
    ['an unclosed map', '{:a 1'],
    ['a stray closing bracket', ']'],
    ['a mismatched closing bracket', '[1)'],
    ['a map with an odd number of forms', '{:a}'],
    ['an unterminated string', '"abc'],
    ['an unterminated escape', '"abc\\'],
    ['trailing input', '[1] [2]'],
    ['a bad number', '1x'],
    ['nesting too deep', `${'['.repeat(100)}${']'.repeat(100)}`],
  ])('refuses %s with a DatsyncError naming the position', (_, text) => {
    const error = thrown(() => readEdn(text), 'invalid-query');
    expect(error.message).toMatch(/cannot read EDN: .* at \d+/);
  });

  it('accepts nesting up to its limit', () => {
    expect(() => readEdn(`${'['.repeat(60)}${']'.repeat(60)}`)).not.toThrow();
  });
});

describe('helpers', () => {
  it('isSymbol and isKeyword check the kind and optionally the name', () => {
    expect(isSymbol(sym('?e'))).toBe(true);
    expect(isSymbol(sym('?e'), '?e')).toBe(true);
    expect(isSymbol(sym('?e'), '?x')).toBe(false);
    expect(isSymbol(kw('e'))).toBe(false);
    expect(isSymbol('?e')).toBe(false);
    expect(isSymbol(null)).toBe(false);
    expect(isKeyword(kw('find'), 'find')).toBe(true);
    expect(isKeyword(kw('find'), 'where')).toBe(false);
    expect(isKeyword(sym('find'))).toBe(false);
    expect(isKeyword(':find')).toBe(false);
  });

  it('itemsOf returns the items of vectors, lists and sets only', () => {
    expect(itemsOf({ kind: 'vector', items: [1] })).toEqual([1]);
    expect(itemsOf({ kind: 'list', items: [2] })).toEqual([2]);
    expect(itemsOf({ kind: 'set', items: [3] })).toEqual([3]);
    expect(itemsOf({ kind: 'map', entries: [] })).toBeUndefined();
    expect(itemsOf('x')).toBeUndefined();
    expect(itemsOf(null)).toBeUndefined();
    expect(itemsOf(1)).toBeUndefined();
  });
});
