/**
 * Schema compilation (src/schema.ts) and every schema rule as a client
 * enforces it: cardinality, value types, uniqueness, components, history,
 * reserved namespaces and invalid declarations.
 */
import { describe, expect, it } from 'vitest';
import type { Attr } from '../../crdt/index.js';
import { createClient } from '../../src/client/client.js';
import type { SchemaInput } from '../../src/schema.js';
import { attributeOf, compileSchema, ENTITY_ID_ATTR } from '../../src/schema.js';
import { attrs, expectDatsyncError, expectRefused, newClient, rejection, SCHEMA, tempEid, thrown, userRows } from './helpers.js';

describe('compileSchema', () => {
  it('compiles every option into the attribute definitions', () => {
    const schema = compileSchema(SCHEMA);
    const def = (name: string) => schema.attributes.get(name as Attr);
    expect(def('person/name')).toEqual({
      name: 'person/name',
      cardinality: 'one',
      valueType: 'string',
      unique: null,
      isComponent: false,
      history: true,
    });
    expect(def('person/tags')).toMatchObject({ cardinality: 'many', valueType: 'string', history: false });
    expect(def('person/email')).toMatchObject({ unique: 'identity' });
    expect(def('person/handle')).toMatchObject({ unique: 'value' });
    expect(def('person/address')).toMatchObject({ valueType: 'ref', isComponent: true });
    expect(def('person/misc')).toMatchObject({ cardinality: 'one', valueType: 'any', unique: null, isComponent: false, history: false });
    expect(def('person/big')?.valueType).toBe('bigint');
    expect(def('person/born')?.valueType).toBe('instant');
    expect(def('person/data')?.valueType).toBe('json');
    expect(def('person/active')?.valueType).toBe('boolean');
    expect(schema.attributes.size).toBe(Object.keys(SCHEMA).length);
  });

  it('maps :db.type/long, double and float to number', () => {
    const schema = compileSchema({
      'a/long': { ':db/valueType': ':db.type/long' },
      'a/double': { ':db/valueType': ':db.type/double' },
      'a/float': { ':db/valueType': ':db.type/float' },
    });
    for (const name of ['a/long', 'a/double', 'a/float']) expect(schema.attributes.get(name as Attr)?.valueType).toBe('number');
  });

  it('gives the CRDT core the cardinality, value type and history of each attribute', () => {
    const schema = compileSchema(SCHEMA);
    expect(schema.specs.get('person/nicknames' as Attr)).toEqual({ cardinality: 'many', valueType: 'string', history: true });
    expect(schema.specs.get('person/age' as Attr)).toEqual({ cardinality: 'one', valueType: 'number', history: false });
  });

  it('builds the DataScript schema with the id attribute, refs, cardinality, uniqueness, components and indexes', () => {
    const schema = compileSchema({
      ...SCHEMA,
      'x/indexed': { ':db/index': true, ':db/doc': 'documentation is accepted and ignored' },
    });
    expect(schema.datascript[ENTITY_ID_ATTR]).toEqual({ ':db/unique': ':db.unique/identity' });
    expect(schema.datascript['person/name']).toEqual({});
    expect(schema.datascript['person/tags']).toEqual({ ':db/cardinality': ':db.cardinality/many' });
    expect(schema.datascript['person/friend']).toEqual({ ':db/valueType': ':db.type/ref' });
    expect(schema.datascript['person/phones']).toEqual({
      ':db/cardinality': ':db.cardinality/many',
      ':db/valueType': ':db.type/ref',
      ':db/isComponent': true,
    });
    expect(schema.datascript['person/email']).toEqual({ ':db/unique': ':db.unique/identity' });
    expect(schema.datascript['person/handle']).toEqual({ ':db/unique': ':db.unique/value' });
    expect(schema.datascript['x/indexed']).toEqual({ ':db/index': true });
    // Value types other than ref are datsync's business, not DataScript's.
    expect(schema.datascript['person/born']).toEqual({});
  });

  it('lists exactly the ref attributes', () => {
    const schema = compileSchema(SCHEMA);
    expect([...schema.refAttributes].sort()).toEqual(['address/geo', 'person/address', 'person/friend', 'person/friends', 'person/phones']);
  });

  it('fingerprints equal schemas equally whatever the key order, and different ones differently', () => {
    const a = compileSchema({ 'a/x': { ':db/valueType': ':db.type/string' }, 'a/y': {} });
    const b = compileSchema({ 'a/y': {}, 'a/x': { ':db/valueType': ':db.type/string' } });
    const c = compileSchema({ 'a/y': {}, 'a/x': { ':db/valueType': ':db.type/string', ':datsync/history': true } });
    const d = compileSchema({ 'a/y': {}, 'a/x': { ':db/valueType': ':db.type/number' } });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
    expect(d.fingerprint).not.toBe(a.fingerprint);
  });

  it('accepts an empty schema', () => {
    expect(compileSchema({}).attributes.size).toBe(0);
  });

  const invalidDeclarations: ReadonlyArray<readonly [string, unknown, string]> = [
    ['reserved datsync/ namespace', { 'datsync/id': {} }, 'datsync/id'],
    ['reserved datsync/ namespace (other name)', { 'datsync/anything': {} }, 'datsync/anything'],
    ['reserved db/ namespace', { 'db/ident': {} }, 'db/ident'],
    ['reserved :db keyword', { ':db/ident': {} }, ':db/ident'],
    ['name with a space', { 'a b': {} }, 'a b'],
    ['empty name', { '': {} }, ''],
    ['name longer than 200 characters', { ['x'.repeat(201)]: {} }, 'x'.repeat(201)],
    ['declaration that is not an object', { 'a/x': 'string' }, 'a/x'],
    ['declaration that is null', { 'a/x': null }, 'a/x'],
    ['declaration that is an array', { 'a/x': [] }, 'a/x'],
    ['unknown option', { 'a/x': { ':db/valueType': ':db.type/string', ':db/fulltext': true } }, 'a/x'],
    ['unknown cardinality', { 'a/x': { ':db/cardinality': ':db.cardinality/few' } }, 'a/x'],
    ['unknown value type', { 'a/x': { ':db/valueType': ':db.type/uuid' } }, 'a/x'],
    ['unknown uniqueness', { 'a/x': { ':db/unique': ':db.unique/maybe' } }, 'a/x'],
    ['component that is not a ref', { 'a/x': { ':db/isComponent': true, ':db/valueType': ':db.type/string' } }, 'a/x'],
    ['untyped component', { 'a/x': { ':db/isComponent': true } }, 'a/x'],
    ['non-boolean :db/isComponent', { 'a/x': { ':db/valueType': ':db.type/ref', ':db/isComponent': 'yes' } }, 'a/x'],
    ['non-boolean :db/index', { 'a/x': { ':db/index': 1 } }, 'a/x'],
    ['non-boolean :datsync/history', { 'a/x': { ':datsync/history': 'true' } }, 'a/x'],
  ];

  it.each(invalidDeclarations)('refuses a %s with invalid-schema naming it', (_, input, name) => {
    const error = thrown(() => compileSchema(input as SchemaInput), 'invalid-schema');
    expect(error.details?.attribute).toBe(name);
    expect(error.message).toContain(`schema attribute ${name}`);
  });

  it('names the first bad declaration in sorted order and compiles nothing', () => {
    const error = thrown(
      () => compileSchema({ 'b/ok': {}, 'z/bad': { ':db/cardinality': 'x' }, 'c/bad': 5 } as unknown as SchemaInput),
      'invalid-schema',
    );
    expect(error.details?.attribute).toBe('c/bad');
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'schema'],
  ])('refuses a schema that is %s', (_, input) => {
    thrown(() => compileSchema(input as unknown as SchemaInput), 'invalid-schema');
  });

  it('makes createClient reject an invalid schema with invalid-schema', async () => {
    expectDatsyncError(await rejection(createClient({ schema: { 'datsync/x': {} } })), 'invalid-schema');
    expectDatsyncError(
      await rejection(createClient({ schema: { 'a/x': { ':db/valueType': ':db.type/nope' } } as unknown as SchemaInput })),
      'invalid-schema',
    );
  });

  it('attributeOf returns the declaration or throws unknown-attribute naming the attribute', () => {
    const schema = compileSchema(SCHEMA);
    expect(attributeOf(schema, 'person/age').valueType).toBe('number');
    const error = thrown(() => attributeOf(schema, 'person/nope'), 'unknown-attribute');
    expect(error.details?.attribute).toBe('person/nope');
    expect(error.message).toContain('person/nope');
    expect(thrown(() => attributeOf(schema, 42), 'unknown-attribute').details?.attribute).toBe('number');
  });
});

describe('cardinality', () => {
  it('one: a new value replaces the old one', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann' }]);
    const p = tempEid(r, 'p');
    await client.transact([[':db/add', p, 'person/name', 'Anna']]);
    expect(client.q('[:find ?n :where [?e "person/name" ?n]]')).toEqual([['Anna']]);
  });

  it('many: values accumulate as a set and retract one by one', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/tags': ['a', 'b'] }]);
    const p = tempEid(r, 'p');
    await client.transact([[':db/add', p, 'person/tags', 'c']]);
    await client.transact([[':db/add', p, 'person/tags', 'a']]);
    expect(client.q<string[]>('[:find [?t ...] :where [?e "person/tags" ?t]]').sort()).toEqual(['a', 'b', 'c']);
    await client.transact([[':db/retract', p, 'person/tags', 'b']]);
    expect(client.q<string[]>('[:find [?t ...] :where [?e "person/tags" ?t]]').sort()).toEqual(['a', 'c']);
  });
});

describe('value types', () => {
  const accepted: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ['person/name', 'text', 'text'],
    ['person/name', '', ''],
    ['person/age', 42, 42],
    ['person/age', -1.5, -1.5],
    ['person/big', 123456789012345678901234567890n, 123456789012345678901234567890n],
    ['person/active', false, false],
    ['person/active', true, true],
    ['person/data', { a: [1, 'two', null, { b: true }] }, { a: [1, 'two', null, { b: true }] }],
    ['person/data', [1, 2, 3], [1, 2, 3]],
    ['person/data', 'a json string', 'a json string'],
    ['person/misc', 'str', 'str'],
    ['person/misc', 7, 7],
    ['person/misc', 7n, 7n],
    ['person/misc', true, true],
  ];

  it.each(accepted)('%s accepts %o', async (attribute, value, shown) => {
    const client = await newClient();
    const r = await client.transact([[':db/add', 'e', attribute, value]]);
    const e = tempEid(r, 'e');
    expect(client.q('[:find ?v . :in $ ?e ?a :where [?e ?a ?v]]', e, attribute)).toEqual(shown);
    expect(attrs(client, e)).toEqual({ [attribute]: shown });
  });

  const refused: ReadonlyArray<readonly [string, unknown]> = [
    ['person/name', 42],
    ['person/name', true],
    ['person/name', { a: 1 }],
    ['person/age', '42'],
    ['person/age', 42n],
    ['person/big', 42],
    ['person/big', 10n ** 5000n],
    ['person/active', 'true'],
    ['person/active', 1],
    ['person/born', 'yesterday'],
    ['person/born', Number.NaN],
    ['person/born', Number.POSITIVE_INFINITY],
    ['person/born', new Date(Number.NaN)],
    ['person/data', new Map()],
    ['person/data', new Date(0)],
    ['person/data', () => 1],
    ['person/misc', { a: 1 }],
    ['person/misc', [1, 2]],
    ['person/friend', true],
    ['person/friend', 1.5],
  ];

  it.each(refused)(
    '%s refuses %o with invalid-value (or invalid-transaction for a bad ref), applying nothing',
    async (attribute, value) => {
      const client = await newClient();
      await client.transact([{ ':db/id': 'seed', 'person/name': 'seed' }]);
      const error = await expectRefused(
        client,
        [{ ':db/id': 'e', 'person/age': 1 }, [':db/add', 'e', attribute, value]],
        attribute === 'person/friend' ? 'invalid-transaction' : 'invalid-value',
        1,
      );
      if (attribute !== 'person/friend') {
        expect(error.details?.attribute).toBe(attribute);
        expect(error.message).toContain(attribute);
      }
    },
  );

  it('instant: a Date goes in and a Date comes out of q and pull', async () => {
    const client = await newClient();
    const born = new Date('2001-02-03T04:05:06.789Z');
    const r = await client.transact([{ ':db/id': 'p', 'person/born': born }]);
    const p = tempEid(r, 'p');
    const fromQ = client.q('[:find ?b . :where [?e "person/born" ?b]]');
    expect(fromQ).toBeInstanceOf(Date);
    expect(fromQ).toEqual(born);
    const pulled = client.pull('["person/born"]', p);
    expect(pulled?.['person/born']).toBeInstanceOf(Date);
    expect(pulled?.['person/born']).toEqual(born);
    expect(r.datoms).toEqual([{ e: p, a: 'person/born', v: born, added: true }]);
  });

  it('instant: epoch milliseconds are accepted and come out as a Date', async () => {
    const client = await newClient();
    const r = await client.transact([[':db/add', 'p', 'person/born', 981173106789]]);
    const p = tempEid(r, 'p');
    expect(client.pull('["person/born"]', p)).toEqual({ 'person/born': new Date(981173106789) });
    // The same instant as a Date is the same value: nothing to do.
    const again = await client.transact([[':db/add', p, 'person/born', new Date(981173106789)]]);
    expect(again.txId).toBeNull();
  });

  it('json: structurally equal values are equal, whatever the key order', async () => {
    const client = await newClient();
    const r = await client.transact([[':db/add', 'p', 'person/data', { a: 1, b: [1, 2] }]]);
    const p = tempEid(r, 'p');
    const again = await client.transact([[':db/add', p, 'person/data', { b: [1, 2], a: 1 }]]);
    expect(again.txId).toBeNull();
    const changed = await client.transact([[':db/add', p, 'person/data', { b: [2, 1], a: 1 }]]);
    expect(changed.txId).not.toBeNull();
  });

  it('ref: a value must name an entity, and shows as its eid', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 'a', 'person/name': 'A' },
      { ':db/id': 'b', 'person/name': 'B', 'person/friend': 'a' },
    ]);
    expect(client.q('[:find ?f . :where [?e "person/name" "B"] [?e "person/friend" ?f]]')).toBe(tempEid(r, 'a'));
  });
});

describe('uniqueness, components and namespaces', () => {
  it('unique identity: a tempid with a held value upserts into the holder', async () => {
    const client = await newClient();
    const first = await client.transact([{ ':db/id': 'p', 'person/email': 'a@x', 'person/name': 'Ann' }]);
    const second = await client.transact([{ ':db/id': 'q', 'person/email': 'a@x', 'person/age': 30 }]);
    expect(second.tempids).toEqual({ q: tempEid(first, 'p') });
    expect(client.q('[:find ?e ?n ?a :where [?e "person/name" ?n] [?e "person/age" ?a]]')).toEqual([[tempEid(first, 'p'), 'Ann', 30]]);
  });

  it('unique identity works for instants (Date or epoch ms), bigints and untyped values', async () => {
    const client = await newClient({
      schema: {
        'ev/at': { ':db/valueType': ':db.type/instant', ':db/unique': ':db.unique/identity' },
        'ev/big': { ':db/valueType': ':db.type/bigint', ':db/unique': ':db.unique/identity' },
        'ev/any': { ':db/unique': ':db.unique/identity' },
        'ev/n': { ':db/valueType': ':db.type/number' },
      },
    });
    const r = await client.transact([
      { ':db/id': 'at', 'ev/at': new Date(5) },
      { ':db/id': 'big', 'ev/big': 10n },
      { ':db/id': 'one', 'ev/any': 1 },
    ]);
    const up = await client.transact([
      { ':db/id': 'a2', 'ev/at': 5, 'ev/n': 1 },
      { ':db/id': 'b2', 'ev/big': 10n, 'ev/n': 2 },
      { ':db/id': 's2', 'ev/any': '1', 'ev/n': 3 },
    ]);
    expect(up.tempids.a2).toBe(tempEid(r, 'at'));
    expect(up.tempids.b2).toBe(tempEid(r, 'big'));
    // The string "1" is not the number 1: a new entity.
    expect(up.tempids.s2).not.toBe(tempEid(r, 'one'));
    await client.transact([
      [':db/add', ['ev/at', new Date(5)], 'ev/n', 10],
      [':db/add', ['ev/big', 10n], 'ev/n', 20],
    ]);
    expect(client.pull('["ev/n"]', tempEid(r, 'at'))).toEqual({ 'ev/n': 10 });
    expect(client.pull('["ev/n"]', ['ev/at', new Date(5)])).toEqual({ 'ev/n': 10 });
    expect(client.pull('["ev/n"]', tempEid(r, 'big'))).toEqual({ 'ev/n': 20 });
  });

  it('unique value: a second entity cannot take a held value', async () => {
    const client = await newClient();
    await client.transact([{ ':db/id': 'p', 'person/handle': 'ann' }]);
    const error = await expectRefused(client, [{ ':db/id': 'q', 'person/handle': 'ann' }], 'unique-conflict', 0);
    expect(error.message).toContain('person/handle');
  });

  it('isComponent: a nested map under a component attribute is retracted with its owner', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/address': { 'address/street': 'Main St' } }]);
    expect(client.q('[:find ?s . :where [_ "address/street" ?s]]')).toBe('Main St');
    await client.transact([[':db/retractEntity', tempEid(r, 'p')]]);
    expect(userRows(client.db())).toEqual([]);
  });

  it.each([
    ['datsync/id', [':db/add', 'e', 'datsync/id', 'AAAA.1'], 'invalid-transaction'],
    ['datsync/ attribute that is not declared', [':db/add', 'e', 'datsync/other', 1], 'unknown-attribute'],
    ['db/ attribute', [':db/add', 'e', 'db/ident', 'x'], 'unknown-attribute'],
    [':db/ident keyword', [':db/add', 'e', ':db/ident', 'x'], 'unknown-attribute'],
  ])('reserved namespaces cannot be written: %s', async (_, form, code) => {
    const client = await newClient();
    await expectRefused(client, [form], code, 0);
  });
});
