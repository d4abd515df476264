/**
 * Unique attributes within one replica: upsert through unique-identity
 * attributes, `unique-conflict` for values another entity holds, and lookup
 * refs evaluated at their point of the transaction, compared with raw
 * DataScript where DataScript's answer is the specification.
 */
import datascript from 'datascript';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import type { TxData } from '../../src/client/tx-forms.js';
import { compileSchema } from '../../src/schema.js';
import { attrs, expectRefused, newClient, SCHEMA, tempEid, userRows } from './helpers.js';

const seed: TxData = [
  { ':db/id': 'a', 'person/name': 'Ann', 'person/email': 'a@x', 'person/ssn': '111', 'person/handle': 'ann' },
  { ':db/id': 'b', 'person/name': 'Bob', 'person/email': 'b@x', 'person/ssn': '222', 'person/handle': 'bob' },
];

async function seeded(): Promise<{ client: Client; a: number; b: number }> {
  const client = await newClient();
  const r = await client.transact(seed);
  return { client, a: tempEid(r, 'a'), b: tempEid(r, 'b') };
}

/** Whether raw DataScript, holding the seed, accepts `txData` (which must name entities only by lookup ref or tempid). */
function dataScriptAccepts(txData: TxData): boolean {
  const db = datascript.db_with(datascript.empty_db(compileSchema(SCHEMA).datascript), seed);
  try {
    datascript.db_with(db, txData);
    return true;
  } catch {
    return false;
  }
}

function entityCount(client: Client): number {
  return client.q<number[]>('[:find [?e ...] :where [?e "datsync/id"]]').length;
}

describe('upsert through unique identity', () => {
  it('a map with a tempid and a held identity value writes to the holder', async () => {
    const { client, a } = await seeded();
    const r = await client.transact([{ ':db/id': 't', 'person/email': 'a@x', 'person/age': 30 }]);
    expect(r.tempids).toEqual({ t: a });
    expect(entityCount(client)).toBe(2);
    expect(client.pull('["person/name" "person/age"]', a)).toEqual({ 'person/name': 'Ann', 'person/age': 30 });
  });

  it('a map without :db/id upserts too', async () => {
    const { client, a } = await seeded();
    await client.transact([{ 'person/email': 'a@x', 'person/age': 31 }]);
    expect(entityCount(client)).toBe(2);
    expect(client.pull('["person/age"]', a)).toEqual({ 'person/age': 31 });
  });

  it('the upserted tempid names the holder in every other form, as entity and as value', async () => {
    const { client, a } = await seeded();
    const r = await client.transact([
      [':db/add', -5, 'person/email', 'a@x'],
      [':db/add', -5, 'person/tags', 'upserted'],
      { ':db/id': 'n', 'person/name': 'New', 'person/friend': -5 },
    ]);
    expect(r.tempids['-5']).toBe(a);
    expect(client.pull('["person/tags"]', a)).toEqual({ 'person/tags': ['upserted'] });
    expect(client.pull('["person/friend"]', tempEid(r, 'n'))).toEqual({ 'person/friend': { ':db/id': a } });
    expect(entityCount(client)).toBe(3);
  });

  it('a nested map with a held identity value links to the holder', async () => {
    const { client, b } = await seeded();
    const r = await client.transact([{ ':db/id': 'n', 'person/name': 'New', 'person/friend': { 'person/email': 'b@x', 'person/age': 9 } }]);
    expect(client.pull('["person/friend"]', tempEid(r, 'n'))).toEqual({ 'person/friend': { ':db/id': b } });
    expect(client.pull('["person/age"]', b)).toEqual({ 'person/age': 9 });
    expect(entityCount(client)).toBe(3);
  });

  it('a value nobody holds creates a new entity', async () => {
    const { client, a, b } = await seeded();
    const r = await client.transact([{ ':db/id': 't', 'person/email': 'c@x' }]);
    expect([a, b]).not.toContain(tempEid(r, 't'));
    expect(entityCount(client)).toBe(3);
  });

  it('both identity attributes naming the same entity is fine', async () => {
    const { client, a } = await seeded();
    const r = await client.transact([{ ':db/id': 't', 'person/email': 'a@x', 'person/ssn': '111', 'person/age': 1 }]);
    expect(r.tempids).toEqual({ t: a });
  });

  // Regression (fixed): src/client/tx-net.ts checkUniqueNow treats two tempids (or two maps without :db/id) that assert the same
  // new unique-identity value as two entities and refuses the second with unique-conflict. DataScript upserts them
  // into ONE entity (tempids {a: e, b: e}). Input: [{':db/id': 'a', 'person/email': 'n@x', 'person/name': 'A'},
  // {':db/id': 'b', 'person/email': 'n@x', 'person/age': 3}]; expected one entity with email, name and age.
  it('two tempids asserting the same new identity value in one transaction become one entity, as in DataScript', async () => {
    const { client } = await seeded();
    const txData: TxData = [
      { ':db/id': 'x', 'person/email': 'n@x', 'person/name': 'N' },
      { ':db/id': 'y', 'person/email': 'n@x', 'person/age': 3 },
    ];
    expect(dataScriptAccepts(txData)).toBe(true);
    const r = await client.transact(txData);
    expect(tempEid(r, 'x')).toBe(tempEid(r, 'y'));
    expect(attrs(client, tempEid(r, 'x'))).toEqual({ 'person/email': 'n@x', 'person/name': 'N', 'person/age': 3 });
  });

  it('a tempid resolving to two entities (two identity attributes) is a unique-conflict and applies nothing', async () => {
    const { client } = await seeded();
    const txData: TxData = [{ ':db/id': 't', 'person/email': 'a@x', 'person/ssn': '222' }];
    expect(dataScriptAccepts(txData)).toBe(false);
    const error = await expectRefused(client, txData, 'unique-conflict', 0);
    expect(error.message).toContain('two entities');
  });

  it('a tempid resolving to two entities (one attribute, two forms) is a unique-conflict naming the second form', async () => {
    const { client } = await seeded();
    await expectRefused(
      client,
      [
        [':db/add', 't', 'person/email', 'a@x'],
        [':db/add', 't', 'person/name', 'X'],
        [':db/add', 't', 'person/email', 'b@x'],
      ],
      'unique-conflict',
      2,
    );
  });

  it('an existing entity cannot take an identity value another holds', async () => {
    const { client, b } = await seeded();
    await expectRefused(client, [[':db/add', b, 'person/email', 'a@x']], 'unique-conflict', 0);
  });
});

describe('unique value', () => {
  it('a new entity cannot take a held value', async () => {
    const { client } = await seeded();
    const txData: TxData = [{ ':db/id': 'n', 'person/name': 'N', 'person/handle': 'ann' }];
    expect(dataScriptAccepts(txData)).toBe(false);
    const error = await expectRefused(client, txData, 'unique-conflict', 0);
    expect(error.message).toContain('person/handle');
  });

  it('an existing entity cannot take a held value', async () => {
    const { client } = await seeded();
    await expectRefused(client, [[':db/add', ['person/email', 'b@x'], 'person/handle', 'ann']], 'unique-conflict', 0);
  });

  it('the holder re-asserting its own value changes nothing', async () => {
    const { client, a } = await seeded();
    expect((await client.transact([[':db/add', a, 'person/handle', 'ann']])).txId).toBeNull();
  });

  it('two new entities claiming one value in one transaction conflict at the second claim', async () => {
    const { client } = await seeded();
    const txData: TxData = [
      { ':db/id': 'x', 'person/handle': 'same' },
      { ':db/id': 'y', 'person/handle': 'same' },
    ];
    expect(dataScriptAccepts(txData)).toBe(false);
    await expectRefused(client, txData, 'unique-conflict', 1);
  });

  it('a value released earlier in the transaction may be taken later in it', async () => {
    const { client, a, b } = await seeded();
    const txData: TxData = [
      [':db/retract', ['person/email', 'a@x'], 'person/handle', 'ann'],
      [':db/add', ['person/email', 'b@x'], 'person/handle', 'ann'],
    ];
    expect(dataScriptAccepts(txData)).toBe(true);
    await client.transact(txData);
    expect(client.pull('["person/handle"]', b)).toEqual({ 'person/handle': 'ann' });
    expect(client.pull('["person/handle"]', a)).toBeNull();
  });

  it('taking a value before its holder releases it fails, as in DataScript', async () => {
    const { client } = await seeded();
    const txData: TxData = [
      [':db/add', ['person/email', 'b@x'], 'person/handle', 'ann'],
      [':db/retract', ['person/email', 'a@x'], 'person/handle', 'ann'],
    ];
    expect(dataScriptAccepts(txData)).toBe(false);
    await expectRefused(client, txData, 'unique-conflict', 0);
  });

  it('swapping two unique values in one transaction fails like DataScript does', async () => {
    const { client } = await seeded();
    const txData: TxData = [
      [':db/add', ['person/email', 'a@x'], 'person/handle', 'bob'],
      [':db/add', ['person/email', 'b@x'], 'person/handle', 'ann'],
    ];
    expect(dataScriptAccepts(txData)).toBe(false);
    await expectRefused(client, txData, 'unique-conflict', 0);
  });

  it('swapping through an explicit release works', async () => {
    const { client, a, b } = await seeded();
    const txData: TxData = [
      [':db/retract', ['person/email', 'a@x'], 'person/handle', 'ann'],
      [':db/add', ['person/email', 'a@x'], 'person/handle', 'bob-tmp'],
      [':db/add', ['person/email', 'b@x'], 'person/handle', 'ann'],
      [':db/add', ['person/email', 'a@x'], 'person/handle', 'bob'],
    ];
    expect(dataScriptAccepts(txData)).toBe(true);
    await client.transact(txData);
    expect(client.pull('["person/handle"]', a)).toEqual({ 'person/handle': 'bob' });
    expect(client.pull('["person/handle"]', b)).toEqual({ 'person/handle': 'ann' });
  });

  it('a retracted entity releases its unique values for a later transaction', async () => {
    const { client } = await seeded();
    await client.transact([[':db/retractEntity', ['person/email', 'a@x']]]);
    const r = await client.transact([{ ':db/id': 'n', 'person/handle': 'ann', 'person/email': 'a@x' }]);
    expect(attrs(client, tempEid(r, 'n'))).toEqual({ 'person/handle': 'ann', 'person/email': 'a@x' });
  });
});

describe('lookup refs within a transaction', () => {
  it('a lookup ref whose value an earlier form moved away no longer resolves (unknown-entity)', async () => {
    const { client } = await seeded();
    const txData: TxData = [
      [':db/add', ['person/email', 'a@x'], 'person/email', 'a2@x'],
      [':db/add', ['person/email', 'a@x'], 'person/age', 1],
    ];
    expect(dataScriptAccepts(txData)).toBe(false);
    await expectRefused(client, txData, 'unknown-entity', 1);
  });

  // Regression (fixed): FormReader.lookup (src/client/tx-forms.ts) resolves every lookup ref against the database as it
  // was before the transaction, so a lookup ref to a unique value an earlier form of the same transaction
  // added is refused with unknown-entity; DataScript resolves it at its point of the transaction (to the new entity).
  it('a lookup ref to a value an earlier form of the same transaction added resolves to that entity, as in DataScript', async () => {
    const { client } = await seeded();
    const txData: TxData = [
      [':db/add', 'n', 'person/email', 'n@x'],
      [':db/add', ['person/email', 'n@x'], 'person/age', 1],
    ];
    expect(dataScriptAccepts(txData)).toBe(true);
    const r = await client.transact(txData);
    expect(attrs(client, tempEid(r, 'n'))).toEqual({ 'person/email': 'n@x', 'person/age': 1 });
  });

  // Regression (fixed): same root cause as above (src/client/tx-forms.ts FormReader.lookup + src/client/tx-net.ts stillResolves):
  // a lookup ref is bound to the entity holding the value before the transaction, so once an earlier form moved
  // the value to another entity the ref fails with unknown-entity instead of naming the new holder, as DataScript does.
  it('a lookup ref to a value an earlier form moved to another entity names the new holder, as in DataScript', async () => {
    const { client, b } = await seeded();
    const txData: TxData = [
      [':db/retract', ['person/email', 'a@x'], 'person/handle', 'ann'],
      [':db/add', ['person/email', 'b@x'], 'person/handle', 'ann'],
      [':db/add', ['person/handle', 'ann'], 'person/age', 5],
    ];
    expect(dataScriptAccepts(txData)).toBe(true);
    await client.transact(txData);
    expect(client.pull('["person/age"]', b)).toEqual({ 'person/age': 5 });
  });

  it('a lookup ref that still resolves after an unrelated change works', async () => {
    const { client, a } = await seeded();
    await client.transact([
      [':db/add', ['person/email', 'a@x'], 'person/age', 1],
      [':db/add', ['person/email', 'a@x'], 'person/tags', 't'],
    ]);
    expect(client.pull('["person/age" "person/tags"]', a)).toEqual({ 'person/age': 1, 'person/tags': ['t'] });
  });

  it('leaves the database as DataScript would after an accepted lookup-ref transaction', async () => {
    const { client } = await seeded();
    await client.transact([[':db/add', ['person/handle', 'bob'], 'person/friend', ['person/ssn', '111']]]);
    expect(client.q('[:find ?n . :where [?b "person/handle" "bob"] [?b "person/friend" ?f] [?f "person/name" ?n]]')).toBe('Ann');
    expect(userRows(client.db())).toHaveLength(9);
  });
});
