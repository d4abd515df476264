/**
 * `history(entity, attribute)` and `asOf(point)` (src/client/inspect.ts):
 * versions oldest first with their metadata, and the database as it stood at
 * a transaction or a time (exact for ':datsync/history' attributes).
 */
import { describe, expect, it } from 'vitest';
import type { TxId } from '../../crdt/index.js';
import { parseEntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import type { Db } from '../../src/datascript/index.js';
import { pull as dsPull, q as dsQuery } from '../../src/datascript/index.js';
import { defined, exchange, expectDatsyncError, ManualClock, newClient, rows, tempEid, tempId, thrown } from './helpers.js';

const T0 = 1_700_000_000_000;

interface Story {
  client: Client;
  clock: ManualClock;
  p: number;
  tx1: TxId;
  tx2: TxId;
  tx3: TxId;
}

/** tx1 at T0, tx2 at T0+10, tx3 at T0+20, each writing person p. */
async function story(): Promise<Story> {
  const clock = new ManualClock(T0);
  const client = await newClient({ clock });
  const r1 = await client.transact([
    {
      ':db/id': 'p',
      'person/name': 'v1',
      'person/age': 1,
      'person/tags': ['a'],
      'person/nicknames': ['n1', 'n2'],
      'person/born': new Date(5),
    },
  ]);
  clock.advance(10);
  const p = tempEid(r1, 'p');
  const r2 = await client.transact([
    [':db/add', p, 'person/name', 'v2'],
    [':db/add', p, 'person/age', 2],
    [':db/retract', p, 'person/nicknames', 'n1'],
    [':db/add', p, 'person/nicknames', 'n3'],
  ]);
  clock.advance(10);
  const r3 = await client.transact([[':db/retract', p, 'person/name']]);
  return { client, clock, p, tx1: defined(r1.txId), tx2: defined(r2.txId), tx3: defined(r3.txId) };
}

function valueAt(db: Db, eid: number, attribute: string): unknown {
  return dsQuery('[:find ?v . :in $ ?e ?a :where [?e ?a ?v]]', db, eid, attribute);
}

function valuesAt(db: Db, eid: number, attribute: string): unknown[] {
  return dsQuery<unknown[]>('[:find [?v ...] :in $ ?e ?a :where [?e ?a ?v]]', db, eid, attribute).sort();
}

describe('history', () => {
  it('lists every version of a history attribute oldest first, with tx, time, replica, live, supersededBy and pending', async () => {
    const { client, p, tx1, tx2, tx3 } = await story();
    const items = client.history(p, 'person/name');
    expect(items.map(({ kind, value, tx, live, supersededBy, pending }) => ({ kind, value, tx, live, supersededBy, pending }))).toEqual([
      { kind: 'assert', value: 'v1', tx: tx1, live: false, supersededBy: tx2, pending: true },
      { kind: 'assert', value: 'v2', tx: tx2, live: false, supersededBy: tx3, pending: true },
      { kind: 'retract', value: undefined, tx: tx3, live: false, supersededBy: null, pending: true },
    ]);
    expect(items.map((item) => item.time)).toEqual([new Date(T0), new Date(T0 + 10), new Date(T0 + 20)]);
    expect(items.map((item) => item.replica)).toEqual([client.replicaId, client.replicaId, client.replicaId]);
    expect(items.map((item) => item.hlc)).toEqual([T0 * 1024, (T0 + 10) * 1024, (T0 + 20) * 1024]);
  });

  it('lists the current value as live', async () => {
    const { client, p, tx2 } = await story();
    await client.transact([[':db/add', p, 'person/name', 'v3']]);
    const last = client.history(p, 'person/name').at(-1);
    expect(last).toMatchObject({ kind: 'assert', value: 'v3', live: true, supersededBy: null });
    expect(client.history(p, 'person/name')[1]?.tx).toBe(tx2);
  });

  it('lists a cardinality-many history attribute value by value', async () => {
    const { client, p, tx1, tx2 } = await story();
    const items = client
      .history(p, 'person/nicknames')
      .map(({ kind, value, tx, live, supersededBy }) => ({ kind, value, tx, live, supersededBy }));
    expect(items).toEqual(
      expect.arrayContaining([
        { kind: 'assert', value: 'n1', tx: tx1, live: false, supersededBy: tx2 },
        { kind: 'assert', value: 'n2', tx: tx1, live: true, supersededBy: null },
        { kind: 'assert', value: 'n3', tx: tx2, live: true, supersededBy: null },
      ]),
    );
    expect(items.findIndex((i) => i.value === 'n3')).toBeGreaterThan(items.findIndex((i) => i.value === 'n1'));
  });

  it('shows values as the projection does: instants as Dates, refs as eids', async () => {
    const { client, p } = await story();
    expect(client.history(p, 'person/born').map((i) => i.value)).toEqual([new Date(5)]);
    const r = await client.transact([
      [':db/add', 'f', 'person/name', 'F'],
      [':db/add', p, 'person/friend', 'f'],
    ]);
    expect(client.history(p, 'person/friend').map((i) => i.value)).toEqual([tempEid(r, 'f')]);
  });

  it('keeps only the live version of an attribute without history', async () => {
    const { client, p, tx2 } = await story();
    expect(client.history(p, 'person/age').map(({ value, tx, live }) => ({ value, tx, live }))).toEqual([
      { value: 2, tx: tx2, live: true },
    ]);
  });

  it('is empty for an attribute the entity never had', async () => {
    const { client, p } = await story();
    expect(client.history(p, 'person/email')).toEqual([]);
  });

  it('clears the pending flag once the server confirms', async () => {
    const { client, p, tx1 } = await story();
    client.replica.confirm(tx1);
    expect(client.history(p, 'person/name').map((i) => i.pending)).toEqual([false, true, true]);
  });

  it('names the replica of remote versions, and lists concurrent versions as live siblings', async () => {
    const clock = new ManualClock(T0);
    const a = await newClient({ clock });
    const b = await newClient({ clock, replicaByte: 1 });
    const r = await a.transact([{ ':db/id': 'p', 'person/name': 'base' }]);
    exchange(a, b);
    clock.advance(5);
    await a.transact([[':db/add', ['datsync/id', tempId(r, 'p')], 'person/name', 'from A']]);
    await b.transact([[':db/add', ['datsync/id', tempId(r, 'p')], 'person/name', 'from B']]);
    exchange(a, b);
    for (const client of [a, b]) {
      const items = client.history(tempId(r, 'p'), 'person/name');
      expect(items.map((i) => [i.value, i.replica, i.live])).toEqual([
        ['base', a.replicaId, false],
        ['from A', a.replicaId, true],
        ['from B', b.replicaId, true],
      ]);
    }
    expect(b.history(tempId(r, 'p'), 'person/name').map((i) => i.pending)).toEqual([false, false, true]);
  });

  it('accepts a stable id and a lookup ref', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/email': 'a@x' }]);
    expect(client.history(tempId(r, 'p'), 'person/name')).toHaveLength(1);
    expect(client.history(['person/email', 'a@x'], 'person/name')).toHaveLength(1);
  });

  it('refuses an unknown attribute and an unknown entity', async () => {
    const { client, p } = await story();
    expect(thrown(() => client.history(p, 'person/nope'), 'unknown-attribute').message).toContain('person/nope');
    thrown(() => client.history(999, 'person/name'), 'unknown-entity');
    thrown(() => client.history(['person/email', 'nobody'], 'person/name'), 'unknown-entity');
    thrown(() => client.history(parseEntityId('AAAAAAAAAAAAAAAA.zz'), 'person/name'), 'unknown-entity');
  });
});

describe('asOf', () => {
  it('as of a transaction shows every history attribute exactly as it stood', async () => {
    const { client, p, tx1, tx2, tx3 } = await story();
    const at1 = client.asOf(tx1);
    expect(valueAt(at1, p, 'person/name')).toBe('v1');
    expect(valuesAt(at1, p, 'person/nicknames')).toEqual(['n1', 'n2']);
    const at2 = client.asOf(tx2);
    expect(valueAt(at2, p, 'person/name')).toBe('v2');
    expect(valuesAt(at2, p, 'person/nicknames')).toEqual(['n2', 'n3']);
    const at3 = client.asOf(tx3);
    expect(valueAt(at3, p, 'person/name')).toBeNull();
  });

  it('shows an attribute without history only if its current value was written by then', async () => {
    const { client, p, tx1, tx2 } = await story();
    // person/age was overwritten at tx2 and keeps no history: as of tx1 it is unknown.
    expect(valueAt(client.asOf(tx1), p, 'person/age')).toBeNull();
    expect(valueAt(client.asOf(tx2), p, 'person/age')).toBe(2);
    expect(valuesAt(client.asOf(tx1), p, 'person/tags')).toEqual(['a']);
  });

  it('as of a Date or epoch milliseconds shows the state at the end of that millisecond', async () => {
    const { client, p } = await story();
    expect(valueAt(client.asOf(new Date(T0)), p, 'person/name')).toBe('v1');
    expect(valueAt(client.asOf(T0), p, 'person/name')).toBe('v1');
    expect(valueAt(client.asOf(T0 + 9.9), p, 'person/name')).toBe('v1');
    expect(valueAt(client.asOf(T0 + 10), p, 'person/name')).toBe('v2');
    expect(valueAt(client.asOf(new Date(T0 + 19)), p, 'person/name')).toBe('v2');
    expect(valueAt(client.asOf(T0 + 20), p, 'person/name')).toBeNull();
  });

  it('before anything was written it is empty', async () => {
    const { client } = await story();
    expect(rows(client.asOf(T0 - 1))).toEqual([]);
    expect(rows(client.asOf(0))).toEqual([]);
  });

  it('far in the future equals the current state', async () => {
    const { client } = await story();
    expect(rows(client.asOf(T0 + 1_000_000))).toEqual(rows(client.db()));
  });

  it('keeps eids, stable ids, Dates and refs as the projection shows them', async () => {
    const { client, clock, p } = await story();
    clock.advance(10);
    const r = await client.transact([
      [':db/add', 'f', 'person/name', 'F'],
      [':db/add', p, 'person/friend', 'f'],
    ]);
    const db = client.asOf(defined(r.txId));
    expect(valueAt(db, p, 'person/born')).toEqual(new Date(5));
    expect(valueAt(db, p, 'person/friend')).toBe(tempEid(r, 'f'));
    expect(dsPull(db, '["person/age"]', ['datsync/id', defined(client.entityId(p))])).toEqual({ 'person/age': 2 });
  });

  it('shows a retracted entity as it was before the retraction (history attributes)', async () => {
    const { client, clock, p, tx2 } = await story();
    clock.advance(10);
    await client.transact([[':db/retractEntity', p]]);
    expect(valueAt(client.db(), p, 'person/nicknames')).toBeNull();
    expect(valuesAt(client.asOf(tx2), p, 'person/nicknames')).toEqual(['n2', 'n3']);
  });

  it('accepts the id of a remote transaction', async () => {
    const clock = new ManualClock(T0);
    const a = await newClient({ clock });
    const b = await newClient({ clock, replicaByte: 1 });
    const r = await b.transact([{ ':db/id': 'p', 'person/name': 'remote' }]);
    exchange(a, b);
    const db = a.asOf(defined(r.txId));
    expect(dsQuery('[:find ?n . :where [_ "person/name" ?n]]', db)).toBe('remote');
  });

  it.each<[string, unknown]>([
    ['a string that is not a transaction id', 'yesterday'],
    ['a transaction id this replica never saw', 'ZZZZZZZZZZZZZZZZ:1'],
    ['NaN', Number.NaN],
    ['a negative time', -1],
    ['an infinite time', Number.POSITIVE_INFINITY],
    ['an invalid Date', new Date(Number.NaN)],
    ['a time beyond the clock range', 8.64e15 * 100],
    ['null', null],
    ['an object', {}],
  ])('refuses %s with invalid-query', async (_, point) => {
    const { client } = await story();
    let error: unknown;
    try {
      client.asOf(point as TxId);
    } catch (caught) {
      error = caught;
    }
    expectDatsyncError(error, 'invalid-query');
  });

  // Regression (fixed): src/client/inspect.ts asOfDb hands the CRDT state's own JSON objects to datascript.init_db, whose
  // comparator (cljs compare -> goog.getUid) writes a `closure_uid_<n>` property onto them. The state's values are
  // mutated: valuesEqual no longer matches, so [':db/retract', p, 'person/notes', {n: 1}] becomes a no-op (txId null)
  // and the encoded state changes. Input: two JSON values on a cardinality-many attribute, then client.asOf(later).
  it('leaves JSON values intact: a JSON value can still be retracted after asOf', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/notes': { n: 1 } }]);
    await client.transact([[':db/add', tempEid(r, 'p'), 'person/notes', { n: 2 }]]);
    client.asOf(Date.now() + 60_000);
    const values = [...client.replica.state.datoms()].map(([, , v]) => v);
    expect(values).toHaveLength(2);
    expect(values).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }]));
    const out = await client.transact([[':db/retract', tempEid(r, 'p'), 'person/notes', { n: 1 }]]);
    expect(out.txId).not.toBeNull();
    expect(client.pull('["person/notes"]', tempEid(r, 'p'))).toEqual({ 'person/notes': [{ n: 2 }] });
  });

  // Regression (fixed): src/client/inspect.ts pointToHlc finds a transaction's time only among the versions registers still hold.
  // A transaction this replica issued (and still holds pending) whose writes were all to attributes without history
  // and have since been overwritten leaves no version behind, so asOf(itsTxId) throws invalid-query
  // ("this replica holds no version written by that transaction") although the id is a real, known transaction;
  // its hlc is right there in client.replica.state.pending().
  it('accepts the id of a transaction whose versions were all overwritten since', async () => {
    const clock = new ManualClock(T0);
    const client = await newClient({ clock });
    const r1 = await client.transact([{ ':db/id': 'p', 'person/age': 1 }]);
    clock.advance(10);
    await client.transact([[':db/add', tempEid(r1, 'p'), 'person/age', 2]]);
    const db = client.asOf(defined(r1.txId));
    expect(rows(db)).toEqual([]);
  });
});
