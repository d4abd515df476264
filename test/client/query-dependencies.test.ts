/**
 * Dependency analysis of queries and pull patterns (src/query/dependencies.ts):
 * the attributes a query can depend on, "all" (null) where the analysis
 * cannot see through, the find shape, and whether a pull is flat.
 */
import { describe, expect, it } from 'vitest';
import { analyzePull, analyzeQuery, lookupRefAttributes, withAttributes } from '../../src/query/dependencies.js';
import { thrown } from './helpers.js';

function attributesOf(query: string): string[] | null {
  const { attributes } = analyzeQuery(query);
  return attributes === null ? null : [...attributes].sort();
}

function pullAttributesOf(pattern: string): string[] | null {
  const { attributes } = analyzePull(pattern);
  return attributes === null ? null : [...attributes].sort();
}

describe('analyzeQuery: attributes', () => {
  it.each([
    ['one pattern', '[:find ?n :where [?e "person/name" ?n]]', ['person/name']],
    ['several patterns', '[:find ?n ?a :where [?e "person/name" ?n] [?e "person/age" ?a]]', ['person/age', 'person/name']],
    ['a pattern with an explicit source', '[:find ?n :in $ :where [$ ?e "person/name" ?n]]', ['person/name']],
    ['a pattern on a named source', '[:find ?n :in $a :where [$a ?e "person/name" ?n]]', ['person/name']],
    [
      'a predicate without the database',
      '[:find ?n :where [?e "person/age" ?a] [(> ?a 3)] [?e "person/name" ?n]]',
      ['person/age', 'person/name'],
    ],
    ['a binding function without the database', '[:find ?x :where [?e "person/age" ?a] [(+ ?a 1) ?x]]', ['person/age']],
    ['not', '[:find ?e :where [?e "person/name"] (not [?e "person/age" 3])]', ['person/age', 'person/name']],
    ['or', '[:find ?e :where (or [?e "person/name" "a"] [?e "person/email" "b"])]', ['person/email', 'person/name']],
    [
      'and inside or',
      '[:find ?e :where (or (and [?e "person/name" "a"] [?e "person/age" 1]) [?e "person/tags" "t"])]',
      ['person/age', 'person/name', 'person/tags'],
    ],
    [
      'not-join',
      '[:find ?e :where [?e "person/name"] (not-join [?e] [?e "person/friend" ?f] [?f "person/age" 3])]',
      ['person/age', 'person/friend', 'person/name'],
    ],
    ['or-join', '[:find ?e :where (or-join [?e] [?e "person/tags" "x"] [?e "person/email" "y"])]', ['person/email', 'person/tags']],
    ['get-else', '[:find ?e ?a :where [?e "person/name"] [(get-else $ ?e "person/age" 0) ?a]]', ['person/age', 'person/name']],
    [
      'get-some',
      '[:find ?e ?v :where [?e "person/name"] [(get-some $ ?e "person/age" "person/email") [?a ?v]]]',
      ['person/age', 'person/email', 'person/name'],
    ],
    ['missing?', '[:find ?e :where [?e "person/name"] [(missing? $ ?e "person/age")]]', ['person/age', 'person/name']],
    ['a reverse attribute in a pull', '[:find (pull ?e ["person/_friend"]) :where [?e "person/name"]]', ['person/friend', 'person/name']],
    [
      'a namespaced reverse attribute in a pull',
      '[:find (pull ?e ["_friend" "person/_friends"]) :where [?e "person/name"]]',
      ['friend', 'person/friends', 'person/name'],
    ],
    [
      'a pull in find',
      '[:find (pull ?e ["person/name" {"person/friend" ["person/age"]}]) :where [?e "person/email"]]',
      ['person/age', 'person/email', 'person/friend', 'person/name'],
    ],
    [
      'a pull in a collection find',
      '[:find [(pull ?e ["person/name" {"person/friend" ["person/age"]}]) ...] :where [?e "person/email"]]',
      ['person/age', 'person/email', 'person/friend', 'person/name'],
    ],
    ['a pull in a tuple find', '[:find [?n (pull ?e ["person/age"])] :where [?e "person/name" ?n]]', ['person/age', 'person/name']],
    ['a pull on a named source', '[:find (pull $ ?e ["person/name"]) :in $ :where [?e "person/email"]]', ['person/email', 'person/name']],
    ['the map form of a query', '{:find [?n] :where [[?e "person/name" ?n]]}', ['person/name']],
    ['an entity-only pattern', '[:find ?e :where [?e "person/name"]]', ['person/name']],
    ['a lookup ref as entity', '[:find ?n . :where [["person/email" "a@x"] "person/name" ?n]]', ['person/email', 'person/name']],
    ['a lookup ref as ref value', '[:find ?e :where [?e "person/friend" ["person/ssn" "1"]]]', ['person/friend', 'person/ssn']],
    [
      'a lookup ref given to get-else',
      '[:find ?n . :in $ :where [(get-else $ ["person/email" "a@x"] "person/name" "?") ?n]]',
      ['person/email', 'person/name'],
    ],
  ])('%s', (_, query, expected) => {
    expect(attributesOf(query)).toEqual(expected);
  });

  it.each([
    ['a variable in attribute position', '[:find ?e :where [?e ?a "x"]]'],
    ['a blank in attribute position', '[:find ?e :where [?e _ "x"]]'],
    ['a rule invocation', '[:find ?e :in $ % :where (friend ?e ?f)]'],
    ['rules as an input', '[:find ?e :in $ % :where [?e "person/name"]]'],
    ['rules inside a binding form of :in', '[:find ?e :in $ [% ?x] :where [?e "person/name"]]'],
    ['a function given the database', '[:find ?e :where [(my-fn $ ?e) ?x] [?e "person/name"]]'],
    ['a wildcard pull', '[:find (pull ?e [*]) :where [?e "person/name"]]'],
    ['a keyword in a pull', '[:find (pull ?e [:db/id]) :where [?e "person/name"]]'],
    ['a pull pattern given as an input', '[:find (pull ?e ?pattern) :in $ ?pattern :where [?e "person/name"]]'],
    ['a keyword attribute in a pattern', '[:find ?e :where [?e :person/name]]'],
  ])('depends on every attribute with %s', (_, query) => {
    expect(analyzeQuery(query).attributes).toBeNull();
  });
});

// Regression (fixed): src/query/dependencies.ts functionCall only collects string-literal attribute arguments of get-else,
// get-some and missing?; an attribute passed as a variable is silently ignored, so the analysis is not conservative.
// Expected null (every attribute) for these queries; actual {'person/name'}.
describe('analyzeQuery: attribute-reading functions with a variable attribute', () => {
  it.each([
    ['get-else', '[:find ?v :in $ ?a :where [?e "person/name"] [(get-else $ ?e ?a 0) ?v]]'],
    ['get-some', '[:find ?v :in $ ?a :where [?e "person/name"] [(get-some $ ?e ?a) [?x ?v]]]'],
    ['missing?', '[:find ?e :in $ ?a :where [?e "person/name"] [(missing? $ ?e ?a)]]'],
  ])('%s depends on every attribute', (_, query) => {
    expect(analyzeQuery(query).attributes).toBeNull();
  });
});

describe('lookupRefAttributes and withAttributes', () => {
  it('finds lookup refs among inputs at any depth, and not the inputs list itself', () => {
    const inputs = ['person/name', 'Ann', ['person/email', 'a@x'], [[['person/ssn', '1'], 3]], [1, 2]];
    expect([...lookupRefAttributes(inputs)].sort()).toEqual(['person/email', 'person/ssn']);
    expect([...lookupRefAttributes(['person/name', 'Ann'])]).toEqual([]);
  });

  it('widens a set of attributes and leaves "every attribute" alone', () => {
    const extra = new Set(['person/email']);
    expect([...(withAttributes({ attributes: new Set(['person/name']) }, extra).attributes ?? [])].sort()).toEqual([
      'person/email',
      'person/name',
    ]);
    expect(withAttributes({ attributes: null }, extra).attributes).toBeNull();
  });
});

describe('analyzeQuery: find shapes', () => {
  it.each([
    ['[:find ?e ?n :where [?e "person/name" ?n]]', 'relation'],
    ['[:find ?n :where [?e "person/name" ?n]]', 'relation'],
    ['[:find (pull ?e ["person/name"]) :where [?e "person/name"]]', 'relation'],
    ['[:find (count ?e) :where [?e "person/name"]]', 'relation'],
    ['[:find [?n ...] :where [?e "person/name" ?n]]', 'collection'],
    ['[:find [?e ?n] :where [?e "person/name" ?n]]', 'tuple'],
    ['[:find [?n] :where [?e "person/name" ?n]]', 'tuple'],
    ['[:find ?n . :where [?e "person/name" ?n]]', 'scalar'],
    ['[:find (count ?e) . :where [?e "person/name"]]', 'scalar'],
    ['{:find [?n .] :where [[?e "person/name" ?n]]}', 'scalar'],
    ['{:find [[?n ...]] :where [[?e "person/name" ?n]]}', 'collection'],
  ])('%s is a %s', (query, shape) => {
    expect(analyzeQuery(query).shape).toBe(shape);
  });

  it('refuses text that is not EDN with a DatsyncError', () => {
    thrown(() => analyzeQuery('[:find ?e :where [?e "a"'), 'invalid-query');
    thrown(() => analyzeQuery('[:find ?e] extra'), 'invalid-query');
  });
});

describe('analyzeQuery: the entity input', () => {
  it.each([
    ['one pattern on an input', '[:find ?v . :in $ ?e :where [?e "person/name" ?v]]', 0],
    ['the second input', '[:find ?v :in $ ?n ?e :where [?e "person/name" ?n] [?e "person/age" ?v]]', 1],
    ['an explicit default source', '[:find ?v :in $ ?e :where [$ ?e "person/name" ?v]]', 0],
    ['a variable attribute on that entity', '[:find ?a :in $ ?e :where [?e ?a _]]', 0],
    ['predicates and bindings', '[:find ?x :in $ ?e :where [?e "person/age" ?a] [(> ?a 1)] [(+ ?a 1) ?x]]', 0],
    [
      'not, or, and, or-join',
      '[:find ?e . :in $ ?e :where (or [?e "person/name" "a"] (and [?e "person/age" 1])) (not [?e "person/tags" "x"]) (or-join [?e] [?e "person/email" "y"])]',
      0,
    ],
    ['get-else on that entity', '[:find ?a . :in $ ?e :where [?e "person/name"] [(get-else $ ?e "person/age" 0) ?a]]', 0],
  ])('%s', (_, query, expected) => {
    expect(analyzeQuery(query).entityInput).toBe(expected);
  });

  it.each([
    ['no inputs', '[:find ?v :where [?e "person/name" ?v]]'],
    ['an unbound entity', '[:find ?v :in $ ?n :where [?e "person/name" ?n] [?e "person/age" ?v]]'],
    ['a join to another entity', '[:find ?n :in $ ?e :where [?e "person/friend" ?f] [?f "person/name" ?n]]'],
    ['a join inside not', '[:find ?e . :in $ ?e :where [?e "person/name"] (not [?f "person/friend" ?e])]'],
    ['a collection input', '[:find ?v :in $ [?e ...] :where [?e "person/name" ?v]]'],
    ['a constant entity', '[:find ?v :in $ ?e :where [?e "person/name" ?v] [1 "person/age" ?a]]'],
    ['a blank entity', '[:find ?v :in $ ?e :where [?e "person/name" ?v] [_ "person/age" 3]]'],
    ['another source', '[:find ?v :in $ $b ?e :where [$b ?e "person/name" ?v]]'],
    ['the database not first', '[:find ?v :in ?e $ :where [?e "person/name" ?v]]'],
    ['a rule', '[:find ?v :in $ % ?e :where (named ?e ?v)]'],
    ['a function given the database', '[:find ?x :in $ ?e :where [?e "person/name"] [(my-fn $ ?e) ?x]]'],
    ['get-else on another entity', '[:find ?a :in $ ?e :where [?e "person/friend" ?f] [(get-else $ ?f "person/age" 0) ?a]]'],
    ['a pull in find', '[:find (pull ?e ["person/name" {"person/friend" ["person/name"]}]) . :in $ ?e :where [?e "person/name"]]'],
  ])('none with %s', (_, query) => {
    expect(analyzeQuery(query).entityInput).toBeNull();
  });
});

describe('analyzePull', () => {
  it.each([
    ['["person/name"]', ['person/name'], true],
    ['["person/name" "person/age"]', ['person/age', 'person/name'], true],
    ['[(limit "person/tags" 2)]', ['person/tags'], false],
    ['[(default "person/age" 0)]', ['person/age'], false],
    ['[["person/tags" :limit 2]]', ['person/tags'], false],
    ['[{"person/friend" ["person/name"]}]', ['person/friend', 'person/name'], false],
    ['[{"person/friend" ...}]', ['person/friend'], false],
    ['[{"person/friend" 3}]', ['person/friend'], false],
    ['["person/_friend"]', ['person/friend'], false],
    ['["_friend"]', ['friend'], false],
    ['[{"person/_friend" ["person/email"]}]', ['person/email', 'person/friend'], false],
  ])('%s depends on %o (flat: %s)', (pattern, attributes, flat) => {
    expect(pullAttributesOf(pattern)).toEqual(attributes);
    expect(analyzePull(pattern).flat).toBe(flat);
  });

  it('an attribute with options depends (at least) on that attribute', () => {
    const analysis = analyzePull('[("person/name" :as "n")]');
    expect(analysis.attributes).not.toBeNull();
    expect([...(analysis.attributes ?? [])]).toContain('person/name');
    expect(analysis.flat).toBe(false);
  });

  it.each(['[*]', '["person/name" *]', '[:db/id]', '[{"person/friend" [*]}]', '"person/name"', '[?x]'])(
    '%s depends on every attribute and is not flat',
    (pattern) => {
      const analysis = analyzePull(pattern);
      expect(analysis.attributes).toBeNull();
      expect(analysis.flat).toBe(false);
    },
  );

  it('refuses text that is not EDN', () => {
    thrown(() => analyzePull('["person/name"'), 'invalid-query');
  });
});
