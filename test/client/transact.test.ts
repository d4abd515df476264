/**
 * `transact`: the TxReport, DataScript's sequential meaning within one
 * transaction (src/client/tx-net.ts), transactions that change nothing, and
 * durability in the outbox.
 */
import { describe, expect, it } from 'vitest';
import { transactionId } from '../../crdt/index.js';
import { createClient } from '../../src/client/client.js';
import type { TxData } from '../../src/client/tx-forms.js';
import { q as dsQuery } from '../../src/datascript/index.js';
import { MemoryStorage } from '../../storage/memory.js';
import { attrs, defined, ManualClock, newClient, observe, rows, SCHEMA, tempEid, tempId, userRows } from './helpers.js';

describe('the TxReport', () => {
  it('names the transaction "<replica>:<counter>", counting from 1 and advancing by the ops issued', async () => {
    const client = await newClient();
    expect(client.replicaId).toBe('AAAAAAAAAAAAAAAA');
    const first = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/age': 3 }]);
    expect(first.txId).toBe('AAAAAAAAAAAAAAAA:1');
    const second = await client.transact([[':db/add', tempEid(first, 'p'), 'person/age', 4]]);
    expect(second.txId).toBe('AAAAAAAAAAAAAAAA:3');
    const pending = client.replica.state.pending();
    expect(pending.map(transactionId)).toEqual([first.txId, second.txId]);
  });

  it('maps tempids to eids and to stable ids that agree with eid() and entityId()', async () => {
    const client = await newClient();
    const r = await client.transact([
      { ':db/id': 'a', 'person/name': 'A' },
      { ':db/id': -1, 'person/name': 'B' },
      { 'person/name': 'anonymous' },
    ]);
    expect(Object.keys(r.tempids).sort()).toEqual(['-1', 'a']);
    expect(Object.keys(r.entityIds).sort()).toEqual(['-1', 'a']);
    for (const temp of ['a', '-1']) {
      const eid = tempEid(r, temp);
      const id = tempId(r, temp);
      expect(client.entityId(eid)).toBe(id);
      expect(client.eid(id)).toBe(eid);
      expect(id.startsWith(`${client.replicaId}.`)).toBe(true);
    }
    expect(tempEid(r, 'a')).not.toBe(tempEid(r, '-1'));
    expect(tempId(r, 'a')).not.toBe(tempId(r, '-1'));
  });

  it('lists the datoms added and removed with their eids and DataScript values', async () => {
    const client = await newClient();
    const born = new Date(1234567);
    const r1 = await client.transact([
      { ':db/id': 'a', 'person/name': 'A', 'person/born': born, 'person/tags': ['x', 'y'] },
      { ':db/id': 'b', 'person/name': 'B', 'person/friend': 'a' },
    ]);
    const a = tempEid(r1, 'a');
    const b = tempEid(r1, 'b');
    expect(r1.datoms).toHaveLength(6);
    expect(r1.datoms).toEqual(
      expect.arrayContaining([
        { e: a, a: 'person/name', v: 'A', added: true },
        { e: a, a: 'person/born', v: born, added: true },
        { e: a, a: 'person/tags', v: 'x', added: true },
        { e: a, a: 'person/tags', v: 'y', added: true },
        { e: b, a: 'person/name', v: 'B', added: true },
        { e: b, a: 'person/friend', v: a, added: true },
      ]),
    );
    const r2 = await client.transact([
      [':db/add', a, 'person/name', 'A2'],
      [':db/retract', a, 'person/tags', 'x'],
      [':db/retract', b, 'person/friend', a],
    ]);
    expect(r2.datoms).toHaveLength(4);
    expect(r2.datoms).toEqual(
      expect.arrayContaining([
        { e: a, a: 'person/name', v: 'A', added: false },
        { e: a, a: 'person/name', v: 'A2', added: true },
        { e: a, a: 'person/tags', v: 'x', added: false },
        { e: b, a: 'person/friend', v: a, added: false },
      ]),
    );
    // The report never shows the datsync/id bookkeeping.
    expect(r2.datoms.some((d) => d.a === 'datsync/id')).toBe(false);
  });

  it('gives the database before and after; dbAfter is the client database', async () => {
    const client = await newClient();
    const r1 = await client.transact([{ ':db/id': 'a', 'person/name': 'A' }]);
    const before = client.db();
    const r2 = await client.transact([[':db/add', tempEid(r1, 'a'), 'person/name', 'B']]);
    expect(r2.dbBefore).toBe(before);
    expect(r2.dbAfter).toBe(client.db());
    const query = '[:find ?n . :where [_ "person/name" ?n]]';
    expect(dsQuery(query, r2.dbBefore)).toBe('A');
    expect(dsQuery(query, r2.dbAfter)).toBe('B');
    expect(dsQuery(query, r1.dbBefore)).toBeNull();
  });

  it('resolves an upserted tempid to the existing entity in both maps', async () => {
    const client = await newClient();
    const r1 = await client.transact([{ ':db/id': 'a', 'person/email': 'a@x' }]);
    const r2 = await client.transact([{ ':db/id': 'again', 'person/email': 'a@x', 'person/name': 'Ann' }]);
    expect(r2.tempids).toEqual({ again: tempEid(r1, 'a') });
    expect(r2.entityIds).toEqual({ again: tempId(r1, 'a') });
  });
});

describe('transactions that change nothing', () => {
  const cases: ReadonlyArray<readonly [string, (eid: number) => TxData]> = [
    ['asserting the value already shown', (e) => [[':db/add', e, 'person/name', 'Ann']]],
    ['the same map again', (e) => [{ ':db/id': e, 'person/name': 'Ann', 'person/tags': ['a'] }]],
    ['adding a value already in a set', (e) => [[':db/add', e, 'person/tags', 'a']]],
    ['retracting a value that is not there', (e) => [[':db/retract', e, 'person/tags', 'zzz']]],
    ['retracting a value of another value', (e) => [[':db/retract', e, 'person/name', 'Bob']]],
    ['retracting an attribute with no values', (e) => [[':db/retract', e, 'person/age']]],
    ['retracting an attribute with no values (fn form)', (e) => [[':db.fn/retractAttribute', e, 'person/age']]],
    [
      'adding and then retracting a new value',
      (e) => [
        [':db/add', e, 'person/age', 5],
        [':db/retract', e, 'person/age', 5],
      ],
    ],
    [
      'changing a value and changing it back',
      (e) => [
        [':db/add', e, 'person/name', 'Other'],
        [':db/add', e, 'person/name', 'Ann'],
      ],
    ],
    [
      'retracting a set value and adding it back',
      (e) => [
        [':db/retract', e, 'person/tags', 'a'],
        [':db/add', e, 'person/tags', 'a'],
      ],
    ],
    ['an upsert writing the values already there', () => [{ ':db/id': 'up', 'person/email': 'ann@x', 'person/name': 'Ann' }]],
    [
      'a tempid that is created and retracted again',
      () => [
        [':db/add', 'ghost', 'person/name', 'Ghost'],
        [':db/retract', 'ghost', 'person/name', 'Ghost'],
      ],
    ],
    ['an empty transaction', () => []],
  ];

  it.each(cases)('%s: txId null, no datoms, no transaction', async (_, txData) => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/tags': ['a'], 'person/email': 'ann@x' }]);
    const p = tempEid(r, 'p');
    const before = await observe(client);
    const db = client.db();
    const report = await client.transact(txData(p));
    expect(report.txId).toBeNull();
    expect(report.datoms).toEqual([]);
    expect(report.dbBefore).toBe(db);
    expect(report.dbAfter).toBe(db);
    expect(client.db()).toBe(db);
    expect(await observe(client)).toEqual(before);
    expect(client.replica.state.pending()).toHaveLength(1);
  });

  it('an upsert that changes nothing still reports its tempid', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/email': 'ann@x' }]);
    const again = await client.transact([{ ':db/id': 'up', 'person/email': 'ann@x' }]);
    expect(again.txId).toBeNull();
    expect(again.tempids).toEqual({ up: tempEid(r, 'p') });
  });
});

describe('sequential meaning within one transaction', () => {
  it('the last of two assertions to a cardinality-one attribute wins', async () => {
    const client = await newClient();
    const r = await client.transact([
      [':db/add', 'p', 'person/name', 'first'],
      [':db/add', 'p', 'person/name', 'second'],
    ]);
    expect(attrs(client, tempEid(r, 'p'))).toEqual({ 'person/name': 'second' });
    expect(r.datoms).toEqual([{ e: tempEid(r, 'p'), a: 'person/name', v: 'second', added: true }]);
    // One op per register: the transaction carries only the net effect.
    expect(defined(client.replica.state.pending()[0]).ops).toHaveLength(1);
  });

  it('a retraction after an assertion in the same transaction removes it', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/age': 1 }]);
    const p = tempEid(r, 'p');
    await client.transact([
      [':db/add', p, 'person/tags', 'a'],
      [':db/add', p, 'person/tags', 'b'],
      [':db/retract', p, 'person/tags', 'a'],
      [':db/retract', p, 'person/age'],
      [':db/add', p, 'person/age', 2],
    ]);
    expect(attrs(client, p)).toEqual({ 'person/name': 'Ann', 'person/tags': ['b'], 'person/age': 2 });
  });

  it('a value retracted and then re-asserted on a cardinality-one attribute is one assertion', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann' }]);
    const p = tempEid(r, 'p');
    const out = await client.transact([
      [':db/retract', p, 'person/name'],
      [':db/add', p, 'person/name', 'Bo'],
    ]);
    expect(out.datoms).toHaveLength(2);
    expect(attrs(client, p)).toEqual({ 'person/name': 'Bo' });
  });

  it('a tempid that ends with no values creates no entity and is not reported', async () => {
    const client = await newClient();
    const r = await client.transact([
      [':db/add', 'ghost', 'person/name', 'Ghost'],
      [':db/retract', 'ghost', 'person/name', 'Ghost'],
      [':db/add', 'real', 'person/name', 'Real'],
    ]);
    expect(Object.keys(r.tempids)).toEqual(['real']);
    expect(userRows(client.db())).toEqual([[tempEid(r, 'real'), 'person/name', 'Real']]);
  });
});

describe('durability', () => {
  it('a transaction is in the outbox and the persisted counter when transact resolves', async () => {
    const client = await newClient();
    const r = await client.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/age': 1 }]);
    const outbox = await client.storage.outbox();
    expect(outbox.map(transactionId)).toEqual([r.txId]);
    const meta = await client.storage.meta();
    expect(meta.issuedUpTo).toBe(client.replica.author.issuedUpTo);
    expect(meta.issuedUpTo).toBe(2);
    expect(meta.hlc).toBe(client.replica.author.clock.current);
  });

  it('timestamps transactions with the injected clock', async () => {
    const clock = new ManualClock(1_000_000);
    const client = await newClient({ clock });
    await client.transact([[':db/add', 'p', 'person/name', 'Ann']]);
    expect(defined(client.replica.state.pending()[0]).hlc).toBe(1_000_000 * 1024);
    await client.transact([[':db/add', 'p', 'person/name', 'Bob']]);
    expect(defined(client.replica.state.pending()[1]).hlc).toBe(1_000_000 * 1024 + 1);
  });

  it('a client reopened on the same storage shows the same database', async () => {
    const storage = new MemoryStorage();
    const first = await createClient({ schema: SCHEMA, storage });
    await first.transact([{ ':db/id': 'p', 'person/name': 'Ann', 'person/friend': { 'person/name': 'Bob' } }]);
    const second = await createClient({ schema: SCHEMA, storage });
    expect(second.replicaId).toBe(first.replicaId);
    expect(rows(second.db())).toEqual(rows(first.db()));
    const next = await second.transact([[':db/add', 'x', 'person/name', 'X']]);
    // Counters continue after the ones already issued.
    expect(next.txId).toBe(`${first.replicaId}:4`);
  });

  // Regression (fixed): src/projection/projection.ts Projection.rebuild (run when a client opens non-empty storage) passes the CRDT
  // state's JSON objects to datascript.init_db, which tags them with a `closure_uid_<n>` property while sorting.
  // The reopened client then shows {n: 1, closure_uid_…: 7} in pull results, and retracting {n: 1} is a no-op
  // (txId null) because the state's value no longer equals it.
  it('a reopened client shows JSON values unchanged and can retract them', async () => {
    const storage = new MemoryStorage();
    const first = await createClient({ schema: SCHEMA, storage });
    const r = await first.transact([{ ':db/id': 'p', 'person/notes': { n: 1 } }]);
    await first.transact([[':db/add', tempEid(r, 'p'), 'person/notes', { n: 2 }]]);
    const second = await createClient({ schema: SCHEMA, storage });
    const p = defined(second.eid(tempId(r, 'p')));
    const notes = (second.pull('["person/notes"]', p)?.['person/notes'] ?? []) as unknown[];
    expect(notes).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }]));
    const out = await second.transact([[':db/retract', p, 'person/notes', { n: 1 }]]);
    expect(out.txId).not.toBeNull();
    expect(second.pull('["person/notes"]', p)).toEqual({ 'person/notes': [{ n: 2 }] });
  });
});
