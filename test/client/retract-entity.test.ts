/**
 * `[":db/retractEntity" e]` and `[":db.fn/retractEntity" e]`: the entity's
 * values, references to it (in the database and written earlier in the same
 * transaction), and its components, recursively, as DataScript does.
 */
import datascript from 'datascript';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import type { TxData } from '../../src/client/tx-forms.js';
import { compileSchema } from '../../src/schema.js';
import { attrs, defined, expectRefused, newClient, rowsOf, SCHEMA, tempEid, userRows } from './helpers.js';

const family: TxData = [
  {
    ':db/id': 'ann',
    'person/name': 'Ann',
    'person/email': 'ann@x',
    'person/tags': ['a', 'b'],
    'person/address': { ':db/id': 'addr', 'address/street': 'Main', 'address/geo': { ':db/id': 'geo', 'geo/lat': 1 } },
    'person/phones': [
      { ':db/id': 'ph1', 'phone/number': '1' },
      { ':db/id': 'ph2', 'phone/number': '2' },
    ],
    'person/friend': 'bob',
  },
  { ':db/id': 'bob', 'person/name': 'Bob', 'person/email': 'bob@x', 'person/friend': 'ann', 'person/friends': ['ann', 'cy'] },
  { ':db/id': 'cy', 'person/name': 'Cy', 'person/friends': ['ann'] },
];

async function withFamily(): Promise<{ client: Client; eid: (temp: string) => number }> {
  const client = await newClient();
  const r = await client.transact(family);
  return { client, eid: (temp) => tempEid(r, temp) };
}

/** How many datoms raw DataScript holds after the same transactions. */
function dataScriptAfter(...txs: TxData[]): number {
  let db = datascript.empty_db(compileSchema(SCHEMA).datascript);
  for (const tx of txs) db = datascript.db_with(db, tx);
  return datascript.datoms(db, ':eavt').length;
}

describe.each([':db/retractEntity', ':db.fn/retractEntity'] as const)('%s', (op) => {
  it('retracts every value of the entity', async () => {
    const { client, eid } = await withFamily();
    const r = await client.transact([[op, eid('cy')]]);
    expect(rowsOf(client.db(), eid('cy'))).toEqual([]);
    expect(r.datoms).toEqual(
      expect.arrayContaining([
        { e: eid('cy'), a: 'person/name', v: 'Cy', added: false },
        { e: eid('cy'), a: 'person/friends', v: eid('ann'), added: false },
      ]),
    );
  });

  it('retracts references to it, cardinality one and many, from every entity', async () => {
    const { client, eid } = await withFamily();
    await client.transact([[op, eid('ann')]]);
    expect(attrs(client, eid('bob'))).toEqual({
      'person/name': 'Bob',
      'person/email': 'bob@x',
      'person/friends': [{ ':db/id': eid('cy') }],
    });
    expect(attrs(client, eid('cy'))).toEqual({ 'person/name': 'Cy' });
    expect(client.q('[:find ?e :in $ ?a :where [?e _ ?a]]', eid('ann'))).toEqual([]);
  });

  it('retracts its components recursively, but not entities it merely references', async () => {
    const { client, eid } = await withFamily();
    await client.transact([[op, eid('ann')]]);
    for (const gone of ['ann', 'addr', 'geo', 'ph1', 'ph2']) expect(rowsOf(client.db(), eid(gone))).toEqual([]);
    expect(client.pull('["person/name"]', eid('bob'))).toEqual({ 'person/name': 'Bob' });
  });

  it('ends with the same number of datoms as raw DataScript', async () => {
    const { client } = await withFamily();
    const retraction: TxData = [[op, ['person/email', 'ann@x']]];
    await client.transact(retraction);
    const datsyncRows = userRows(client.db()).length;
    // Raw DataScript has no datsync/id datoms.
    expect(datsyncRows).toBe(dataScriptAfter(family, retraction));
  });

  it('accepts a lookup ref and a ["datsync/id", id] reference', async () => {
    const { client, eid } = await withFamily();
    await client.transact([[op, ['person/email', 'bob@x']]]);
    expect(rowsOf(client.db(), eid('bob'))).toEqual([]);
    await client.transact([[op, ['datsync/id', defined(client.entityId(eid('cy')))]]]);
    expect(rowsOf(client.db(), eid('cy'))).toEqual([]);
  });

  it('also retracts references added earlier in the same transaction', async () => {
    const { client, eid } = await withFamily();
    const r = await client.transact([
      { ':db/id': 'dee', 'person/name': 'Dee', 'person/friend': eid('cy'), 'person/friends': [eid('cy'), eid('bob')] },
      [':db/add', eid('bob'), 'person/friends', eid('cy')],
      [op, eid('cy')],
    ]);
    expect(attrs(client, tempEid(r, 'dee'))).toEqual({ 'person/name': 'Dee', 'person/friends': [{ ':db/id': eid('bob') }] });
    expect(client.q('[:find [?f ...] :in $ ?b :where [?b "person/friends" ?f]]', eid('bob'))).toEqual([eid('ann')]);
  });

  it('also retracts values added to the entity earlier in the same transaction', async () => {
    const { client, eid } = await withFamily();
    await client.transact([
      [':db/add', eid('cy'), 'person/age', 33],
      [':db/add', eid('cy'), 'person/tags', 'late'],
      [op, eid('cy')],
    ]);
    expect(rowsOf(client.db(), eid('cy'))).toEqual([]);
  });

  // Regression (fixed): src/client/tx-net.ts retractEntity (and the retract-attribute branch of netIntents) only cascade into
  // component children that are existing entities (`typeof child === 'string'`); a component created by a tempid
  // earlier in the same transaction (a TempRef) is unlinked but survives. DataScript retracts it too.
  // Input: [[':db/add', cy, 'person/phones', 'newphone'], [':db/add', 'newphone', 'phone/number', '9'], [op, cy]]
  // Expected: no 'phone/number' datom (DataScript ends with none); actual: the new phone entity remains.
  it('also retracts components created earlier in the same transaction, as DataScript does', async () => {
    const { client, eid } = await withFamily();
    const txData: TxData = [
      [':db/add', eid('cy'), 'person/phones', 'newphone'],
      [':db/add', 'newphone', 'phone/number', '9'],
      [op, eid('cy')],
    ];
    let raw = datascript.db_with(datascript.empty_db(compileSchema(SCHEMA).datascript), [{ ':db/id': 'cy', 'person/name': 'Cy' }]);
    const cy = datascript.q('[:find ?e . :where [?e "person/name" "Cy"]]', raw);
    raw = datascript.db_with(raw, [
      [':db/add', cy, 'person/phones', 'newphone'],
      [':db/add', 'newphone', 'phone/number', '9'],
      [op, cy],
    ]);
    expect(datascript.datoms(raw, ':eavt')).toHaveLength(0);
    await client.transact(txData);
    expect(client.q('[:find ?e . :where [?e "phone/number" "9"]]')).toBeNull();
  });

  it('values written after the retraction in the same transaction survive', async () => {
    const { client, eid } = await withFamily();
    await client.transact([
      [op, eid('cy')],
      [':db/add', eid('cy'), 'person/name', 'Cy again'],
    ]);
    expect(attrs(client, eid('cy'))).toEqual({ 'person/name': 'Cy again' });
  });

  it('handles reference cycles without looping', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 'x', 'person/name': 'X', 'person/friend': 'y', 'person/address': 'y' },
      { ':db/id': 'y', 'person/name': 'Y', 'person/friend': 'x', 'person/address': 'x' },
    ]);
    await client.transact([[op, tempEid(r, 'x')]]);
    expect(userRows(client.db())).toEqual([]);
  });

  it('retracting an entity that shows nothing changes nothing', async () => {
    const { client, eid } = await withFamily();
    await client.transact([[op, eid('cy')]]);
    const again = await client.transact([[op, eid('cy')]]);
    expect(again.txId).toBeNull();
  });

  it('cannot retract a tempid (unknown-entity) and applies nothing', async () => {
    const { client } = await withFamily();
    await expectRefused(
      client,
      [
        [':db/add', 'n', 'person/name', 'N'],
        [op, 'n'],
      ],
      'unknown-entity',
      1,
    );
  });
});
