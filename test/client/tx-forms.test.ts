/**
 * Every transaction data form (src/client/tx-forms.ts) and every way to name
 * an entity: eid, string tempid, negative tempid, lookup ref on a unique
 * attribute, and `["datsync/id", id]`.
 */
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import type { TxData } from '../../src/client/tx-forms.js';
import { FormReader } from '../../src/client/tx-forms.js';
import { attrs, defined, newClient, rowsOf, tempEid, tempId, userRows } from './helpers.js';

async function withPeople(): Promise<{ client: Client; ann: number; bob: number }> {
  const client = await newClient();
  const r = await client.transact([
    { ':db/id': 'ann', 'person/name': 'Ann', 'person/email': 'ann@x', 'person/handle': 'ann' },
    { ':db/id': 'bob', 'person/name': 'Bob', 'person/email': 'bob@x' },
  ]);
  return { client, ann: tempEid(r, 'ann'), bob: tempEid(r, 'bob') };
}

function names(client: Client): string[] {
  return client.q<string[]>('[:find [?n ...] :where [_ "person/name" ?n]]').sort();
}

describe('entity maps', () => {
  it('without :db/id create a new entity that is not reported as a tempid', async () => {
    const client = await newClient();
    const r = await client.transact([{ 'person/name': 'Ann', 'person/age': 30 }]);
    expect(r.tempids).toEqual({});
    expect(r.entityIds).toEqual({});
    const eid = defined(client.q<number | null>('[:find ?e . :where [?e "person/name" "Ann"]]'));
    expect(attrs(client, eid)).toEqual({ 'person/name': 'Ann', 'person/age': 30 });
  });

  it('two maps without :db/id are two entities', async () => {
    const client = await newClient();
    await client.transact([{ 'person/name': 'A' }, { 'person/name': 'B' }]);
    expect(client.q<number[]>('[:find [?e ...] :where [?e "person/name"]]')).toHaveLength(2);
  });

  it('with a string tempid create an entity reported under that tempid', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'ann', 'person/name': 'Ann' }]);
    const eid = tempEid(r, 'ann');
    expect(client.entityId(eid)).toBe(tempId(r, 'ann'));
    expect(attrs(client, eid)).toEqual({ 'person/name': 'Ann' });
  });

  it('with a negative number tempid report it under its decimal text', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': -1, 'person/name': 'Ann' },
      { ':db/id': -2, 'person/name': 'Bob', 'person/friend': -1 },
    ]);
    expect(Object.keys(r.tempids).sort()).toEqual(['-1', '-2']);
    expect(client.pull('["person/friend"]', tempEid(r, '-2'))).toEqual({ 'person/friend': { ':db/id': tempEid(r, '-1') } });
  });

  it('the same tempid in several forms names one entity', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 't', 'person/name': 'Ann' },
      [':db/add', 't', 'person/age', 3],
      { ':db/id': 't', 'person/tags': 'x' },
    ]);
    expect(attrs(client, tempEid(r, 't'))).toEqual({ 'person/name': 'Ann', 'person/age': 3, 'person/tags': ['x'] });
    expect(client.q<number[]>('[:find [?e ...] :where [?e "datsync/id"]]')).toHaveLength(1);
  });

  it('with an existing eid write to that entity', async () => {
    const { client, ann } = await withPeople();
    const r = await client.transact([{ ':db/id': ann, 'person/age': 41 }]);
    expect(r.tempids).toEqual({});
    expect(client.pull('["person/age" "person/name"]', ann)).toEqual({ 'person/age': 41, 'person/name': 'Ann' });
  });

  it('with a lookup ref on a unique attribute write to the entity holding the value', async () => {
    const { client, ann, bob } = await withPeople();
    await client.transact([
      { ':db/id': ['person/email', 'bob@x'], 'person/age': 7 },
      { ':db/id': ['person/handle', 'ann'], 'person/age': 8 },
    ]);
    expect(client.pull('["person/age"]', bob)).toEqual({ 'person/age': 7 });
    expect(client.pull('["person/age"]', ann)).toEqual({ 'person/age': 8 });
  });

  it('with ["datsync/id", id] write to the entity of that stable id', async () => {
    const { client, bob } = await withPeople();
    const id = defined(client.entityId(bob));
    await client.transact([{ ':db/id': ['datsync/id', id], 'person/age': 9 }]);
    expect(client.pull('["person/age"]', bob)).toEqual({ 'person/age': 9 });
  });

  it('nested maps under a cardinality-one ref attribute create and link a new entity', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/friend': { 'person/name': 'Bob', 'person/age': 5 } }]);
    expect(client.pull('["person/name" {"person/friend" ["person/name" "person/age"]}]', tempEid(r, 'p'))).toEqual({
      'person/name': 'Ann',
      'person/friend': { 'person/name': 'Bob', 'person/age': 5 },
    });
  });

  it('nested maps under a cardinality-many ref attribute: a map is one value, an array of maps many', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 'p', 'person/friends': { 'person/name': 'Solo' } },
      { ':db/id': 'q', 'person/friends': [{ 'person/name': 'One' }, { 'person/name': 'Two' }] },
    ]);
    expect(client.pull('[{"person/friends" ["person/name"]}]', tempEid(r, 'p'))).toEqual({ 'person/friends': [{ 'person/name': 'Solo' }] });
    const q = client.pull('[{"person/friends" ["person/name"]}]', tempEid(r, 'q'));
    const friends = (q?.['person/friends'] ?? []) as Array<Record<string, unknown>>;
    expect(friends.map((f) => f['person/name']).sort()).toEqual(['One', 'Two']);
  });

  it('a nested map may carry its own tempid, which other forms can use', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 'p', 'person/friend': { ':db/id': 'inner', 'person/name': 'Bob' } },
      [':db/add', 'inner', 'person/age', 44],
    ]);
    expect(attrs(client, tempEid(r, 'inner'))).toEqual({ 'person/name': 'Bob', 'person/age': 44 });
    expect(client.pull('["person/friend"]', tempEid(r, 'p'))).toEqual({ 'person/friend': { ':db/id': tempEid(r, 'inner') } });
  });

  it('a nested map with a lookup ref :db/id writes to the existing entity', async () => {
    const { client, bob } = await withPeople();
    const r = await client.transact([
      { ':db/id': 'p', 'person/name': 'Cy', 'person/friend': { ':db/id': ['person/email', 'bob@x'], 'person/age': 50 } },
    ]);
    expect(client.pull('["person/age"]', bob)).toEqual({ 'person/age': 50 });
    expect(client.pull('["person/friend"]', tempEid(r, 'p'))).toEqual({ 'person/friend': { ':db/id': bob } });
  });

  it('arrays give a cardinality-many attribute several values', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/tags': ['a', 'b', 'a'] }]);
    expect(client.q<string[]>('[:find [?t ...] :in $ ?p :where [?p "person/tags" ?t]]', tempEid(r, 'p')).sort()).toEqual(['a', 'b']);
    expect(r.datoms).toHaveLength(2);
  });

  it('a single value for a cardinality-many attribute is one value', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/tags': 'solo' }]);
    expect(client.pull('["person/tags"]', tempEid(r, 'p'))).toEqual({ 'person/tags': ['solo'] });
  });

  it('an array for a cardinality-many ref attribute may mix eids, tempids, lookup refs and maps', async () => {
    const { client, ann, bob } = await withPeople();
    const r = await client.transact([
      { ':db/id': 'new', 'person/name': 'New' },
      { ':db/id': 'p', 'person/friends': [ann, ['person/email', 'bob@x'], 'new', { 'person/name': 'Nested' }] },
    ]);
    const friends = client.q<number[]>('[:find [?f ...] :in $ ?p :where [?p "person/friends" ?f]]', tempEid(r, 'p'));
    expect(friends).toHaveLength(4);
    expect(friends).toEqual(expect.arrayContaining([ann, bob, tempEid(r, 'new')]));
  });

  it('a lookup ref given to a cardinality-many ref attribute in map form counts as ONE value', async () => {
    const { client, bob } = await withPeople();
    const r = await client.transact([{ ':db/id': 'p', 'person/friends': ['person/email', 'bob@x'] }]);
    expect(client.pull('["person/friends"]', tempEid(r, 'p'))).toEqual({ 'person/friends': [{ ':db/id': bob }] });
  });

  it('a ["datsync/id", id] pair given to a cardinality-many ref attribute in map form counts as ONE value', async () => {
    const { client, bob } = await withPeople();
    const r = await client.transact([{ ':db/id': 'p', 'person/friends': ['datsync/id', defined(client.entityId(bob))] }]);
    expect(client.pull('["person/friends"]', tempEid(r, 'p'))).toEqual({ 'person/friends': [{ ':db/id': bob }] });
  });

  it('an array of lookup refs given to a cardinality-many ref attribute is several values', async () => {
    const { client, ann, bob } = await withPeople();
    const r = await client.transact([
      {
        ':db/id': 'p',
        'person/friends': [
          ['person/email', 'ann@x'],
          ['person/email', 'bob@x'],
        ],
      },
    ]);
    expect(client.q<number[]>('[:find [?f ...] :in $ ?p :where [?p "person/friends" ?f]]', tempEid(r, 'p')).sort()).toEqual(
      [ann, bob].sort(),
    );
  });

  it('a two-element array whose first item names no unique attribute is a list of two refs', async () => {
    const { client, ann } = await withPeople();
    // "ann" is a tempid here ("person/name" is not unique), so this lists two references.
    const r = await client.transact([
      { ':db/id': 'person/name', 'person/age': 1 },
      { ':db/id': 'p', 'person/friends': ['person/name', ann] },
    ]);
    expect(client.q<number[]>('[:find [?f ...] :in $ ?p :where [?p "person/friends" ?f]]', tempEid(r, 'p')).sort()).toEqual(
      [ann, tempEid(r, 'person/name')].sort(),
    );
  });

  it('JSON arrays are one value, for cardinality one and cardinality many', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/data': [1, 2, 3], 'person/notes': ['x', 'y'] }]);
    expect(client.pull('["person/data" "person/notes"]', tempEid(r, 'p'))).toEqual({
      'person/data': [1, 2, 3],
      'person/notes': [['x', 'y']],
    });
    await client.transact([[':db/add', tempEid(r, 'p'), 'person/notes', { k: 1 }]]);
    expect(client.q<unknown[]>('[:find [?n ...] :where [_ "person/notes" ?n]]')).toHaveLength(2);
  });
});

describe('vector forms', () => {
  it('[":db/add" e a v] with every kind of entity reference', async () => {
    const { client, ann, bob } = await withPeople();
    const annId = defined(client.entityId(ann));
    const r = await client.transact([
      [':db/add', ann, 'person/age', 1],
      [':db/add', ['person/email', 'bob@x'], 'person/age', 2],
      [':db/add', 'new', 'person/name', 'New'],
      [':db/add', -7, 'person/name', 'Neg'],
      [':db/add', ['datsync/id', annId], 'person/tags', 'by-id'],
    ]);
    expect(client.pull('["person/age" "person/tags"]', ann)).toEqual({ 'person/age': 1, 'person/tags': ['by-id'] });
    expect(client.pull('["person/age"]', bob)).toEqual({ 'person/age': 2 });
    expect(names(client)).toEqual(['Ann', 'Bob', 'Neg', 'New']);
    expect(Object.keys(r.tempids).sort()).toEqual(['-7', 'new']);
  });

  it('[":db/add" e ref v] with every kind of value reference', async () => {
    const { client, ann, bob } = await withPeople();
    const bobId = defined(client.entityId(bob));
    const r = await client.transact([
      [':db/add', 'c', 'person/name', 'Cy'],
      [':db/add', 'c', 'person/friends', ann],
      [':db/add', 'c', 'person/friends', ['person/email', 'bob@x']],
      [':db/add', 'c', 'person/friends', 'd'],
      [':db/add', 'd', 'person/name', 'Di'],
      [':db/add', 'c', 'person/friend', ['datsync/id', bobId]],
    ]);
    const c = tempEid(r, 'c');
    expect(client.q<number[]>('[:find [?f ...] :in $ ?c :where [?c "person/friends" ?f]]', c).sort()).toEqual(
      [ann, bob, tempEid(r, 'd')].sort(),
    );
    expect(client.q('[:find ?f . :in $ ?c :where [?c "person/friend" ?f]]', c)).toBe(bob);
  });

  it('[":db/retract" e a v] retracts one value', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/tags': ['a', 'b'] }]);
    const p = tempEid(r, 'p');
    const out = await client.transact([
      [':db/retract', p, 'person/tags', 'a'],
      [':db/retract', p, 'person/name', 'Ann'],
    ]);
    expect(attrs(client, p)).toEqual({ 'person/tags': ['b'] });
    expect(out.datoms).toEqual(
      expect.arrayContaining([
        { e: p, a: 'person/tags', v: 'a', added: false },
        { e: p, a: 'person/name', v: 'Ann', added: false },
      ]),
    );
    expect(out.datoms).toHaveLength(2);
  });

  it('[":db/retract" e a v] with a value that is not there changes nothing', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann' }]);
    const out = await client.transact([[':db/retract', tempEid(r, 'p'), 'person/name', 'Bob']]);
    expect(out.txId).toBeNull();
    expect(names(client)).toEqual(['Ann']);
  });

  it('[":db/retract" e a] and [":db.fn/retractAttribute" e a] retract every value of the attribute', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 'p', 'person/name': 'Ann', 'person/tags': ['a', 'b', 'c'], 'person/age': 3 },
      { ':db/id': 'q', 'person/name': 'Bob', 'person/tags': ['a'] },
    ]);
    const p = tempEid(r, 'p');
    await client.transact([[':db/retract', p, 'person/tags']]);
    expect(attrs(client, p)).toEqual({ 'person/name': 'Ann', 'person/age': 3 });
    await client.transact([[':db.fn/retractAttribute', p, 'person/age']]);
    expect(attrs(client, p)).toEqual({ 'person/name': 'Ann' });
    expect(attrs(client, tempEid(r, 'q'))).toEqual({ 'person/name': 'Bob', 'person/tags': ['a'] });
  });

  it('[":db.fn/retractAttribute" e a] on a component attribute retracts the components, recursively', async () => {
    const client = await newClient();
    const r = await client.transact([
      {
        ':db/id': 'p',
        'person/name': 'Ann',
        'person/address': { ':db/id': 'addr', 'address/street': 'Main', 'address/geo': { ':db/id': 'geo', 'geo/lat': 1.5 } },
        'person/phones': [
          { ':db/id': 'ph1', 'phone/number': '1' },
          { ':db/id': 'ph2', 'phone/number': '2' },
        ],
        'person/friend': { ':db/id': 'friend', 'person/name': 'Friend' },
      },
    ]);
    const p = tempEid(r, 'p');
    await client.transact([[':db.fn/retractAttribute', p, 'person/address']]);
    expect(rowsOf(client.db(), tempEid(r, 'addr'))).toEqual([]);
    expect(rowsOf(client.db(), tempEid(r, 'geo'))).toEqual([]);
    expect(attrs(client, tempEid(r, 'ph1'))).toEqual({ 'phone/number': '1' });
    await client.transact([[':db/retract', p, 'person/phones']]);
    expect(rowsOf(client.db(), tempEid(r, 'ph1'))).toEqual([]);
    expect(rowsOf(client.db(), tempEid(r, 'ph2'))).toEqual([]);
    // A non-component ref is only unlinked.
    await client.transact([[':db.fn/retractAttribute', p, 'person/friend']]);
    expect(attrs(client, tempEid(r, 'friend'))).toEqual({ 'person/name': 'Friend' });
    expect(attrs(client, p)).toEqual({ 'person/name': 'Ann' });
  });

  // Regression (fixed): src/client/tx-net.ts netIntents, retract-attribute branch: only existing component children
  // (`typeof child === 'string'`) cascade, so a component created by a tempid earlier in the same transaction
  // survives [":db.fn/retractAttribute" e component-attr]; DataScript retracts it.
  it('[":db.fn/retractAttribute" e a] also retracts a component created earlier in the same transaction', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann' }]);
    const p = tempEid(r, 'p');
    await client.transact([
      [':db/add', p, 'person/address', 'addr'],
      [':db/add', 'addr', 'address/street', 'New St'],
      [':db.fn/retractAttribute', p, 'person/address'],
    ]);
    expect(client.q('[:find ?e . :where [?e "address/street"]]')).toBeNull();
  });

  it('[":db/retract" e component child] unlinks one component without retracting it', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/phones': [{ ':db/id': 'ph', 'phone/number': '1' }] }]);
    await client.transact([[':db/retract', tempEid(r, 'p'), 'person/phones', tempEid(r, 'ph')]]);
    expect(attrs(client, tempEid(r, 'ph'))).toEqual({ 'phone/number': '1' });
    expect(rowsOf(client.db(), tempEid(r, 'p'))).toEqual([]);
  });

  it('[":db/retract" e ref v] takes a lookup ref or stable id as the value', async () => {
    const { client, ann, bob } = await withPeople();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'P', 'person/friends': [ann, bob] }]);
    const p = tempEid(r, 'p');
    await client.transact([[':db/retract', p, 'person/friends', ['person/email', 'ann@x']]]);
    expect(client.pull('["person/friends"]', p)).toEqual({ 'person/friends': [{ ':db/id': bob }] });
    await client.transact([[':db/retract', p, 'person/friends', ['datsync/id', defined(client.entityId(bob))]]]);
    expect(client.pull('["person/friends"]', p)).toBeNull();
  });
});

describe('FormReader', () => {
  it('reads forms into operations tagged with the index of their item', async () => {
    const { client, ann } = await withPeople();
    const reader = new FormReader({
      schema: client.replica.schema,
      db: client.db(),
      entityIdOf: (eid) => client.entityId(eid),
    });
    const txData: TxData = [
      { ':db/id': 't', 'person/tags': ['a', 'b'] },
      [':db/retract', ann, 'person/name'],
      [':db/retractEntity', ['person/email', 'bob@x']],
    ];
    const ops = reader.read(txData);
    expect(ops.map((op) => [op.op, op.index])).toEqual([
      ['add', 0],
      ['add', 0],
      ['retract-attribute', 1],
      ['retract-entity', 2],
    ]);
    const [first, , second, third] = ops;
    expect(first?.target.temp).toBe('t');
    expect(second?.target.existing).toBe(client.entityId(ann));
    expect(third?.target.lookup?.def.name).toBe('person/email');
  });

  it('resolves an entity reference', async () => {
    const { client, bob } = await withPeople();
    const reader = new FormReader({ schema: client.replica.schema, db: client.db(), entityIdOf: (eid) => client.entityId(eid) });
    expect(reader.resolveNow(bob)).toBe(client.entityId(bob));
    expect(reader.resolveNow(['person/email', 'bob@x'])).toBe(client.entityId(bob));
    expect(reader.resolveNow(['person/email', 'nobody@x'])).toBeUndefined();
    expect(reader.resolveNow('tmp')).toBeUndefined();
  });
});

describe('projection bookkeeping', () => {
  it('every entity shown carries its stable id as datsync/id, usable as a lookup ref in q and pull', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann' }]);
    const id = tempId(r, 'p');
    expect(client.q('[:find ?id . :in $ ?e :where [?e "datsync/id" ?id]]', tempEid(r, 'p'))).toBe(id);
    expect(client.pull('["person/name"]', ['datsync/id', id])).toEqual({ 'person/name': 'Ann' });
    expect(client.pull('["person/name"]', id)).toEqual({ 'person/name': 'Ann' });
    expect(client.eid(id)).toBe(tempEid(r, 'p'));
    expect(client.eid(['person/email', 'nobody@x'])).toBeUndefined();
    expect(userRows(client.db())).toEqual([[tempEid(r, 'p'), 'person/name', 'Ann']]);
  });
});
