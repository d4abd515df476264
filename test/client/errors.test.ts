/**
 * Bad input: every malformed transaction is refused with a DatsyncError whose
 * code and message name the offending item, and nothing at all is applied
 * (database, datoms, pending list, outbox, counters, clock). Also query and
 * pull errors (`invalid-query`) and use after `close()` (`closed`).
 */
import { describe, expect, it, vi } from 'vitest';
import type { EntityId } from '../../crdt/index.js';
import { parseEntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { MAX_TX_FORMS } from '../../src/client/tx-forms.js';
import { expectDatsyncError, expectRefused, newClient, observe, rejection, rows, tempEid, thrown } from './helpers.js';

async function seeded(): Promise<{ client: Client; p: number }> {
  const client = await newClient();
  const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/email': 'ann@x', 'person/tags': ['t'] }]);
  return { client, p: tempEid(r, 'p') };
}

/** A valid first item, so each case also shows that nothing before the bad item is applied. */
const ok = (p: number): unknown => [':db/add', p, 'person/age', 99];

type Case = readonly [string, (p: number) => unknown[], string, number];

describe('malformed transaction data', () => {
  it.each([
    ['an object', {}],
    ['a string', 'tx'],
    ['null', null],
    ['undefined', undefined],
    ['a number', 1],
  ])('refuses %s instead of an array with invalid-transaction', async (_, txData) => {
    const { client } = await seeded();
    const error = await expectRefused(client, txData, 'invalid-transaction');
    expect(error.message).toContain('array');
  });

  it('refuses more than MAX_TX_FORMS items with too-large', async () => {
    const { client, p } = await seeded();
    await expectRefused(
      client,
      Array.from({ length: MAX_TX_FORMS + 1 }, () => [':db/add', p, 'person/age', 1]),
      'too-large',
    );
  });

  const cases: readonly Case[] = [
    // items that are neither maps nor vectors
    ['a number item', (p) => [ok(p), 42], 'invalid-transaction', 1],
    ['a null item', (p) => [ok(p), null], 'invalid-transaction', 1],
    ['a string item', (p) => [ok(p), ':db/add'], 'invalid-transaction', 1],
    // unknown operations
    ['an unknown op keyword', (p) => [ok(p), [':db/assert', p, 'person/name', 'x']], 'invalid-transaction', 1],
    ['an op without its colon', (p) => [ok(p), ['db/add', p, 'person/name', 'x']], 'invalid-transaction', 1],
    ['an empty vector', (p) => [ok(p), []], 'invalid-transaction', 1],
    ['a non-string op', (p) => [ok(p), [7, p, 'person/name', 'x']], 'invalid-transaction', 1],
    // wrong arity
    [':db/add without a value', (p) => [ok(p), [':db/add', p, 'person/name']], 'invalid-transaction', 1],
    [':db/add with an extra item', (p) => [ok(p), [':db/add', p, 'person/name', 'x', 'y']], 'invalid-transaction', 1],
    [':db/retract without an attribute', (p) => [ok(p), [':db/retract', p]], 'invalid-transaction', 1],
    [':db/retract with an extra item', (p) => [ok(p), [':db/retract', p, 'person/tags', 't', 'u']], 'invalid-transaction', 1],
    [':db.fn/retractAttribute without an attribute', (p) => [ok(p), [':db.fn/retractAttribute', p]], 'invalid-transaction', 1],
    [':db.fn/retractAttribute with a value', (p) => [ok(p), [':db.fn/retractAttribute', p, 'person/tags', 't']], 'invalid-transaction', 1],
    [':db/retractEntity without an entity', (p) => [ok(p), [':db/retractEntity']], 'invalid-transaction', 1],
    [':db/retractEntity with an extra item', (p) => [ok(p), [':db/retractEntity', p, 'person/name']], 'invalid-transaction', 1],
    [':db.fn/retractEntity without an entity', (p) => [ok(p), [':db.fn/retractEntity']], 'invalid-transaction', 1],
    // unknown attributes
    ['an unknown attribute in :db/add', (p) => [ok(p), [':db/add', p, 'person/nope', 1]], 'unknown-attribute', 1],
    ['an unknown attribute in :db/retract', (p) => [ok(p), [':db/retract', p, 'person/nope', 1]], 'unknown-attribute', 1],
    [
      'an unknown attribute in :db.fn/retractAttribute',
      (p) => [ok(p), [':db.fn/retractAttribute', p, 'person/nope']],
      'unknown-attribute',
      1,
    ],
    ['an unknown attribute in a map', (p) => [ok(p), { ':db/id': p, 'person/name': 'x', 'person/nope': 1 }], 'unknown-attribute', 1],
    ['an unknown attribute in a nested map', (p) => [ok(p), { 'person/friend': { 'person/nope': 1 } }], 'unknown-attribute', 1],
    ['a non-string attribute', (p) => [ok(p), [':db/add', p, 5, 1]], 'unknown-attribute', 1],
    ['a lookup ref on an unknown attribute', (p) => [ok(p), [':db/add', ['person/nope', 1], 'person/age', 1]], 'unknown-attribute', 1],
    // wrong value types
    ['a number for a string', (p) => [ok(p), [':db/add', p, 'person/name', 5]], 'invalid-value', 1],
    ['a string for a number in a map', (p) => [ok(p), { ':db/id': p, 'person/age': 'old' }], 'invalid-value', 1],
    ['a bad value inside a cardinality-many array', (p) => [ok(p), { ':db/id': p, 'person/tags': ['a', 3] }], 'invalid-value', 1],
    ['a wrong type in :db/retract', (p) => [ok(p), [':db/retract', p, 'person/age', 'x']], 'invalid-value', 1],
    ['a wrong type in a lookup ref', (p) => [ok(p), [':db/add', ['person/email', 5], 'person/age', 1]], 'invalid-value', 1],
    // null and undefined values
    ['a null value in :db/add', (p) => [ok(p), [':db/add', p, 'person/name', null]], 'invalid-value', 1],
    ['an undefined value in :db/add', (p) => [ok(p), [':db/add', p, 'person/name', undefined]], 'invalid-value', 1],
    ['a null value in a map', (p) => [ok(p), { ':db/id': p, 'person/name': null }], 'invalid-value', 1],
    ['an undefined value in a map', (p) => [ok(p), { ':db/id': p, 'person/name': undefined }], 'invalid-value', 1],
    ['a null inside a cardinality-many array', (p) => [ok(p), { ':db/id': p, 'person/tags': ['a', null] }], 'invalid-value', 1],
    ['a null value in :db/retract', (p) => [ok(p), [':db/retract', p, 'person/name', null]], 'invalid-value', 1],
    ['a null json value', (p) => [ok(p), [':db/add', p, 'person/data', null]], 'invalid-value', 1],
    ['a null ref value', (p) => [ok(p), [':db/add', p, 'person/friend', null]], 'invalid-value', 1],
    // entities that do not exist
    ['an eid that does not exist', (p) => [ok(p), [':db/add', 999, 'person/name', 'x']], 'unknown-entity', 1],
    ['an eid that does not exist as :db/id', (p) => [ok(p), { ':db/id': 999, 'person/name': 'x' }], 'unknown-entity', 1],
    ['an eid that does not exist as a ref value', (p) => [ok(p), [':db/add', p, 'person/friend', 999]], 'unknown-entity', 1],
    ['an eid that does not exist in :db/retractEntity', (p) => [ok(p), [':db/retractEntity', 999]], 'unknown-entity', 1],
    ['an eid that does not exist in :db/retract', (p) => [ok(p), [':db/retract', 999, 'person/name', 'x']], 'unknown-entity', 1],
    ['a lookup ref resolving to nothing', (p) => [ok(p), [':db/add', ['person/email', 'nobody@x'], 'person/age', 1]], 'unknown-entity', 1],
    [
      'a lookup ref resolving to nothing as a ref value',
      (p) => [ok(p), [':db/add', p, 'person/friend', ['person/email', 'nobody@x']]],
      'unknown-entity',
      1,
    ],
    [
      'a lookup ref resolving to nothing in a map',
      (p) => [ok(p), { ':db/id': ['person/email', 'nobody@x'], 'person/age': 1 }],
      'unknown-entity',
      1,
    ],
    [
      'a lookup ref resolving to nothing in :db/retractEntity',
      (p) => [ok(p), [':db/retractEntity', ['person/email', 'nobody@x']]],
      'unknown-entity',
      1,
    ],
    ['a tempid in :db/retractEntity', (p) => [ok(p), [':db/retractEntity', 'fresh']], 'unknown-entity', 1],
    // malformed entity references
    [
      'a lookup ref on an attribute that is not unique',
      (p) => [ok(p), [':db/add', ['person/name', 'Ann'], 'person/age', 1]],
      'invalid-transaction',
      1,
    ],
    ['a one-element lookup ref', (p) => [ok(p), [':db/add', ['person/email'], 'person/age', 1]], 'invalid-transaction', 1],
    ['a three-element lookup ref', (p) => [ok(p), [':db/add', ['person/email', 'ann@x', 1], 'person/age', 1]], 'invalid-transaction', 1],
    [
      'a datsync/id lookup ref with a malformed id',
      (p) => [ok(p), [':db/add', ['datsync/id', 'not an id'], 'person/age', 1]],
      'invalid-transaction',
      1,
    ],
    ['eid 0', (p) => [ok(p), [':db/add', 0, 'person/age', 1]], 'invalid-transaction', 1],
    ['a fractional eid', (p) => [ok(p), [':db/add', 1.5, 'person/age', 1]], 'invalid-transaction', 1],
    ['a NaN eid', (p) => [ok(p), [':db/add', Number.NaN, 'person/age', 1]], 'invalid-transaction', 1],
    ['an empty tempid', (p) => [ok(p), [':db/add', '', 'person/age', 1]], 'invalid-transaction', 1],
    ['a boolean entity', (p) => [ok(p), [':db/add', true, 'person/age', 1]], 'invalid-transaction', 1],
    ['a boolean ref value', (p) => [ok(p), [':db/add', p, 'person/friend', false]], 'invalid-transaction', 1],
    // writing datsync/id
    ['datsync/id in :db/add', (p) => [ok(p), [':db/add', p, 'datsync/id', 'AAAAAAAAAAAAAAAA.9']], 'invalid-transaction', 1],
    ['datsync/id in a map', (p) => [ok(p), { ':db/id': p, 'datsync/id': 'AAAAAAAAAAAAAAAA.9' }], 'invalid-transaction', 1],
    ['datsync/id in :db/retract', (p) => [ok(p), [':db/retract', p, 'datsync/id']], 'invalid-transaction', 1],
    // empty maps
    ['an empty map', (p) => [ok(p), {}], 'invalid-transaction', 1],
    ['a map with only :db/id', (p) => [ok(p), { ':db/id': 'x' }], 'invalid-transaction', 1],
    ['a map with only an existing :db/id', (p) => [ok(p), { ':db/id': p }], 'invalid-transaction', 1],
    ['an empty nested map', (p) => [ok(p), { ':db/id': p, 'person/friend': {} }], 'invalid-transaction', 1],
    ['an empty array for a cardinality-many attribute', (p) => [ok(p), { ':db/id': p, 'person/tags': [] }], 'invalid-transaction', 1],
    // uniqueness
    [
      'a unique value another entity holds',
      (p) => [ok(p), { 'person/email': 'x@x', 'person/handle': 'h' }, { 'person/handle': 'h' }],
      'unique-conflict',
      2,
    ],
  ];

  it.each(cases)('refuses %s, naming the item and applying nothing', async (_, txData, code, index) => {
    const { client, p } = await seeded();
    await expectRefused(client, txData(p), code, index);
  });

  it('names the offending attribute in details and message', async () => {
    const { client, p } = await seeded();
    const unknown = await expectRefused(client, [[':db/add', p, 'person/nope', 1]], 'unknown-attribute', 0);
    expect(unknown.details?.attribute).toBe('person/nope');
    expect(unknown.message).toContain('person/nope');
    const invalid = await expectRefused(client, [{ ':db/id': p, 'person/age': 'x' }], 'invalid-value', 0);
    expect(invalid.details?.attribute).toBe('person/age');
    expect(invalid.message).toContain('person/age');
  });

  it('refuses maps nested too deeply', async () => {
    const { client } = await seeded();
    let nested: Record<string, unknown> = { 'person/name': 'deepest' };
    for (let i = 0; i < 20; i++) nested = { 'person/name': `level ${i}`, 'person/friend': nested };
    await expectRefused(client, [nested], 'invalid-transaction', 0);
  });

  it('refuses a tempid used only as a value with invalid-transaction, applying nothing', async () => {
    const { client, p } = await seeded();
    const error = await expectRefused(client, [ok(p), [':db/add', p, 'person/friend', 'ghost']], 'invalid-transaction');
    expect(error.message).toContain('ghost');
  });

  // Regression (fixed): src/client/tx-net.ts finish() -> resolve() throws `tempid … is used only as a value` without
  // details.index and without the "transaction item N" prefix, unlike every other refusal of transaction data.
  // Input: [[':db/add', p, 'person/age', 99], [':db/add', p, 'person/friend', 'ghost']]; expected details.index 1.
  it('names the item of a tempid used only as a value', async () => {
    const { client, p } = await seeded();
    await expectRefused(client, [ok(p), [':db/add', p, 'person/friend', 'ghost']], 'invalid-transaction', 1);
  });

  // Regression (fixed): src/client/tx-forms.ts FormReader.value expands a nested map for every op, including ':db/retract', so
  // [':db/retract', p, 'person/friends', {'person/name': 'X'}] ASSERTS a new entity X (and retracts nothing).
  // DataScript refuses it ("Expected number or lookup ref for entity id"). A retraction must never add datoms;
  // expected invalid-transaction naming item 1 and nothing applied.
  it('refuses a nested map as the value of :db/retract instead of creating an entity', async () => {
    const { client, p } = await seeded();
    await expectRefused(client, [ok(p), [':db/retract', p, 'person/friends', { 'person/name': 'X' }]], 'invalid-transaction', 1);
  });

  it('a refused transaction does not disturb the next one', async () => {
    const { client, p } = await seeded();
    await expectRefused(client, [[':db/add', p, 'person/age', 'x']], 'invalid-value', 0);
    const r = await client.transact([[':db/add', p, 'person/age', 5]]);
    expect(r.txId).toBe(`${client.replicaId}:4`);
    expect(client.pull('["person/age"]', p)).toEqual({ 'person/age': 5 });
  });
});

describe('query and pull errors', () => {
  it.each([
    ['malformed EDN', '[:find ?e :where [?e "person/name"'],
    ['an unknown variable in find', '[:find ?x :where [?e "person/name" ?n]]'],
    ['an unknown function', '[:find ?e :where [?e "person/name" ?n] [(no-such-fn ?n)]]'],
    ['not a query', '42'],
  ])('q refuses %s with invalid-query', async (_, query) => {
    const { client } = await seeded();
    thrown(() => client.q(query), 'invalid-query');
  });

  it('q refuses a query that is not a string, and missing inputs', async () => {
    const { client } = await seeded();
    thrown(() => client.q(42 as unknown as string), 'invalid-query');
    thrown(() => client.q('[:find ?n :in $ ?e :where [?e "person/name" ?n]]'), 'invalid-query');
  });

  it('pull refuses malformed patterns with invalid-query', async () => {
    const { client, p } = await seeded();
    thrown(() => client.pull('["person/name"', p), 'invalid-query');
    thrown(() => client.pull(7 as unknown as string, p), 'invalid-query');
  });

  it('pull of an entity that does not exist is null', async () => {
    const { client } = await seeded();
    expect(client.pull('["person/name"]', 999)).toBeNull();
    expect(client.pull('["person/name"]', ['person/email', 'nobody@x'])).toBeNull();
    expect(client.pull('["person/name"]', parseEntityId('ZZZZZZZZZZZZZZZZ.1'))).toBeNull();
  });

  // Regression (fixed): src/client/client.ts pull()/eid() -> Replica.entityIdOf -> FormReader.resolve only maps unknown-entity to
  // "not found"; a lookup ref on an attribute that is not unique throws DatsyncError 'invalid-transaction' with the
  // message "transaction item 0: lookup ref attribute person/name is not unique", which names a transaction item
  // that does not exist. Expected: 'invalid-query' (q/pull errors are invalid-query).
  it('pull with a lookup ref on an attribute that is not unique refuses with invalid-query', async () => {
    const { client } = await seeded();
    thrown(() => client.pull('["person/name"]', ['person/name', 'Ann']), 'invalid-query');
  });

  it('subscribe refuses a malformed query with invalid-query and registers nothing', async () => {
    const { client } = await seeded();
    const callback = vi.fn();
    thrown(() => client.subscribe('[:find ?n :where', [], callback), 'invalid-query');
    thrown(() => client.subscribe('[:find ?x :where [?e "person/name" ?n]]', [], callback), 'invalid-query');
    await client.transact([{ 'person/name': 'Bob' }]);
    expect(callback).not.toHaveBeenCalled();
  });

  it('subscribePull refuses a malformed pattern with invalid-query and a string that is no stable id with unknown-entity', async () => {
    const { client, p } = await seeded();
    const callback = vi.fn();
    thrown(() => client.subscribePull('["person/name"', p, callback), 'invalid-query');
    thrown(() => client.subscribePull('["person/name"]', 'not an id' as EntityId, callback), 'unknown-entity');
    expect(callback).not.toHaveBeenCalled();
  });
});

describe('close', () => {
  it('transact after close rejects with closed and changes nothing', async () => {
    const { client } = await seeded();
    const before = await observe(client);
    await client.close();
    expectDatsyncError(await rejection(client.transact([{ 'person/name': 'late' }])), 'closed');
    expect(client.q('[:find ?n :where [_ "person/name" ?n]]')).toEqual([['Ann']]);
    expect(client.replica.state.pending()).toHaveLength(before.pending);
    expect(rows(client.db())).toEqual(before.datoms);
  });

  it('subscribe and subscribePull after close throw closed', async () => {
    const { client, p } = await seeded();
    await client.close();
    thrown(() => client.subscribe('[:find ?n :where [_ "person/name" ?n]]', [], () => undefined), 'closed');
    thrown(() => client.subscribePull('["person/name"]', p, () => undefined), 'closed');
  });

  it('stops subscriptions and event listeners, and may be called twice', async () => {
    const { client, p } = await seeded();
    const callback = vi.fn();
    client.subscribe('[:find ?a . :where [_ "person/age" ?a]]', [], callback);
    await client.close();
    await client.close();
    const other = await newClient({ replicaByte: 1 });
    await other.transact([{ 'person/age': 5 }]);
    client.replica.applyRemote(other.replica.state.pending());
    expect(client.q('[:find ?a . :where [_ "person/age" ?a]]')).toBe(5);
    expect(callback).toHaveBeenCalledTimes(1);
    expect(client.pull('["person/name"]', p)).toEqual({ 'person/name': 'Ann' });
  });
});
