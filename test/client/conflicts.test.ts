/**
 * Concurrent writes from two replicas (two clients exchanging their pending
 * transactions as the server would relay them): sibling conflicts, their
 * resolution by a later write, add-wins sets, observed-remove entity
 * retraction, and unique values claimed on two replicas at once.
 */
import { describe, expect, it } from 'vitest';
import type { EntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import type { ConflictInfo } from '../../src/client/inspect.js';
import { defined, exchange, ManualClock, newClient, rows, tempEid, tempId } from './helpers.js';

const refAttributes = new Set(['person/friend', 'person/friends', 'person/address', 'person/phones', 'address/geo']);

/** The projection with eids replaced by stable ids, sorted: equal on replicas that show the same data. */
function canonical(client: Client): string[] {
  const id = (eid: unknown): string => (typeof eid === 'number' ? (client.entityId(eid) ?? `?${eid}`) : String(eid));
  return rows(client.db())
    .map(
      ([e, a, v]) =>
        `${id(e)} ${a} ${refAttributes.has(a) ? id(v) : v instanceof Date ? v.toISOString() : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x))}`,
    )
    .sort();
}

interface Pair {
  a: Client;
  b: Client;
  clock: ManualClock;
  p: EntityId;
}

/** Two replicas that both hold person p (created on A). */
async function pair(): Promise<Pair> {
  const clock = new ManualClock();
  const a = await newClient({ clock, replicaByte: 0 });
  const b = await newClient({ clock, replicaByte: 1 });
  const r = await a.transact([{ ':db/id': 'p', 'person/name': 'base', 'person/tags': ['x'], 'person/age': 1 }]);
  exchange(a, b);
  clock.advance(5);
  return { a, b, clock, p: tempId(r, 'p') };
}

const ref = (id: EntityId): readonly [string, EntityId] => ['datsync/id', id];

function siblings(conflicts: readonly ConflictInfo[]): Array<Extract<ConflictInfo, { kind: 'siblings' }>> {
  return conflicts.flatMap((c) => (c.kind === 'siblings' ? [c] : []));
}

function uniques(conflicts: readonly ConflictInfo[]): Array<Extract<ConflictInfo, { kind: 'unique' }>> {
  return conflicts.flatMap((c) => (c.kind === 'unique' ? [c] : []));
}

describe('sibling conflicts', () => {
  it('concurrent writes to a cardinality-one attribute are listed with every value and the same winner on both', async () => {
    const { a, b, clock, p } = await pair();
    const ra = await a.transact([[':db/add', ref(p), 'person/name', 'from A']]);
    clock.advance(1);
    const rb = await b.transact([[':db/add', ref(p), 'person/name', 'from B']]);
    exchange(a, b);
    for (const client of [a, b]) {
      const [conflict, ...more] = siblings(client.conflicts());
      expect(more).toEqual([]);
      expect(conflict).toMatchObject({ kind: 'siblings', entityId: p, entity: client.eid(p), attribute: 'person/name', value: 'from B' });
      expect(defined(conflict).siblings.map((s) => [s.value, s.tx, s.replica])).toEqual([
        ['from B', rb.txId, b.replicaId],
        ['from A', ra.txId, a.replicaId],
      ]);
      expect(defined(conflict).siblings.map((s) => s.time)).toEqual([new Date(clock.ms), new Date(clock.ms - 1)]);
      expect(client.pull('["person/name"]', p)).toEqual({ 'person/name': 'from B' });
    }
    expect(canonical(a)).toEqual(canonical(b));
  });

  it('a tie in time goes to the greater replica id, on both', async () => {
    const { a, b, p } = await pair();
    await b.transact([[':db/add', ref(p), 'person/age', 20]]);
    await a.transact([[':db/add', ref(p), 'person/age', 10]]);
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.pull('["person/age"]', p)).toEqual({ 'person/age': 20 });
      expect(siblings(client.conflicts()).map((c) => c.siblings.map((s) => s.value))).toEqual([[20, 10]]);
    }
  });

  it('conflicts(entity) lists only that entity', async () => {
    const { a, b, p } = await pair();
    const other = tempEid(await a.transact([{ ':db/id': 'o', 'person/name': 'other' }]), 'o');
    await a.transact([[':db/add', ref(p), 'person/name', 'A']]);
    await b.transact([[':db/add', ref(p), 'person/name', 'B']]);
    exchange(a, b);
    expect(siblings(a.conflicts(p))).toHaveLength(1);
    expect(a.conflicts(other)).toEqual([]);
  });

  it('shows ref siblings as eids', async () => {
    const { a, b, p } = await pair();
    const fa = await a.transact([{ ':db/id': 'f', 'person/name': 'fa' }, [':db/add', ref(p), 'person/friend', 'f']]);
    const fb = await b.transact([{ ':db/id': 'f', 'person/name': 'fb' }, [':db/add', ref(p), 'person/friend', 'f']]);
    exchange(a, b);
    const values = siblings(a.conflicts()).flatMap((c) => c.siblings.map((s) => s.value));
    expect(values.sort()).toEqual([tempEid(fa, 'f'), a.eid(tempId(fb, 'f'))].sort());
  });

  it('a later write of the attribute resolves the conflict, on both once exchanged', async () => {
    const { a, b, p } = await pair();
    await a.transact([[':db/add', ref(p), 'person/name', 'A']]);
    await b.transact([[':db/add', ref(p), 'person/name', 'B']]);
    exchange(a, b);
    const resolution = await a.transact([[':db/add', ref(p), 'person/name', 'resolved']]);
    expect(resolution.txId).not.toBeNull();
    expect(a.conflicts()).toEqual([]);
    expect(siblings(b.conflicts())).toHaveLength(1);
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.conflicts()).toEqual([]);
      expect(client.pull('["person/name"]', p)).toEqual({ 'person/name': 'resolved' });
    }
    expect(canonical(a)).toEqual(canonical(b));
  });

  it('writing the winning value again still resolves the conflict', async () => {
    const { a, b, clock, p } = await pair();
    await a.transact([[':db/add', ref(p), 'person/name', 'A']]);
    clock.advance(1);
    await b.transact([[':db/add', ref(p), 'person/name', 'B']]);
    exchange(a, b);
    const again = await b.transact([[':db/add', ref(p), 'person/name', 'B']]);
    expect(again.txId).not.toBeNull();
    expect(again.datoms).toEqual([]);
    exchange(a, b);
    expect(a.conflicts()).toEqual([]);
    expect(b.conflicts()).toEqual([]);
  });

  it('retracting the attribute resolves the conflict', async () => {
    const { a, b, p } = await pair();
    await a.transact([[':db/add', ref(p), 'person/name', 'A']]);
    await b.transact([[':db/add', ref(p), 'person/name', 'B']]);
    exchange(a, b);
    await b.transact([[':db/retract', ref(p), 'person/name']]);
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.conflicts()).toEqual([]);
      expect(client.pull('["person/name"]', p)).toBeNull();
    }
  });

  it('concurrent additions to a cardinality-many attribute are no conflict: both values stay', async () => {
    const { a, b, p } = await pair();
    await a.transact([[':db/add', ref(p), 'person/tags', 'from A']]);
    await b.transact([[':db/add', ref(p), 'person/tags', 'from B']]);
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.conflicts()).toEqual([]);
      expect(client.q<string[]>('[:find [?t ...] :in $ ?p :where [?p "person/tags" ?t]]', client.eid(p)).sort()).toEqual([
        'from A',
        'from B',
        'x',
      ]);
    }
  });

  it('a concurrent removal does not remove a value it had not observed (add wins)', async () => {
    const { a, b, p } = await pair();
    await a.transact([[':db/retract', ref(p), 'person/tags']]);
    await b.transact([[':db/add', ref(p), 'person/tags', 'new']]);
    exchange(a, b);
    for (const client of [a, b]) expect(client.pull('["person/tags"]', p)).toEqual({ 'person/tags': ['new'] });
  });

  it('an entity retracted concurrently with a write shows exactly the concurrent write', async () => {
    const { a, b, p } = await pair();
    await a.transact([[':db/retractEntity', ref(p)]]);
    await b.transact([[':db/add', ref(p), 'person/email', 'late@x']]);
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.pull('[*]', p)).toEqual({ ':db/id': client.eid(p), 'datsync/id': p, 'person/email': 'late@x' });
    }
    expect(canonical(a)).toEqual(canonical(b));
  });

  it('applying the same remote transactions again changes nothing', async () => {
    const { a, b, p } = await pair();
    await b.transact([[':db/add', ref(p), 'person/name', 'B']]);
    exchange(a, b);
    const before = rows(a.db());
    const report = a.replica.applyRemote(b.replica.state.pending());
    expect(report.datoms).toEqual([]);
    expect(rows(a.db())).toEqual(before);
  });
});

describe('unique conflicts between replicas', () => {
  it('both creating the same unique value offline end in the same projection: the smaller stable id holds it', async () => {
    const clock = new ManualClock();
    const a = await newClient({ clock, replicaByte: 0 });
    const b = await newClient({ clock, replicaByte: 1 });
    const ra = await a.transact([{ ':db/id': 'x', 'person/name': 'on A', 'person/handle': 'taken', 'person/email': 'same@x' }]);
    const rb = await b.transact([{ ':db/id': 'x', 'person/name': 'on B', 'person/handle': 'taken', 'person/email': 'same@x' }]);
    const idA = tempId(ra, 'x');
    const idB = tempId(rb, 'x');
    expect(idA < idB).toBe(true);
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.q('[:find ?id . :where [?e "person/handle" "taken"] [?e "datsync/id" ?id]]')).toBe(idA);
      expect(client.q('[:find ?id . :where [?e "person/email" "same@x"] [?e "datsync/id" ?id]]')).toBe(idA);
      expect(client.pull('[*]', idB)).toEqual({ ':db/id': client.eid(idB), 'datsync/id': idB, 'person/name': 'on B' });
      const listed = uniques(client.conflicts());
      expect(listed.map((c) => [c.attribute, c.value, c.entityIds]).sort()).toEqual([
        ['person/email', 'same@x', [idA, idB]],
        ['person/handle', 'taken', [idA, idB]],
      ]);
      for (const c of listed) expect(c.entities).toEqual([client.eid(idA), client.eid(idB)]);
      expect(uniques(client.conflicts(idB))).toHaveLength(2);
    }
    expect(canonical(a)).toEqual(canonical(b));
  });

  it('the same holds whichever replica sorts first and whichever order the transactions arrive in', async () => {
    const clock = new ManualClock();
    const a = await newClient({ clock, replicaByte: 5 });
    const b = await newClient({ clock, replicaByte: 2 });
    const ra = await a.transact([{ ':db/id': 'x', 'person/handle': 'h' }]);
    const rb = await b.transact([{ ':db/id': 'x', 'person/handle': 'h' }]);
    b.replica.applyRemote(a.replica.state.pending());
    a.replica.applyRemote(b.replica.state.pending());
    for (const client of [a, b]) {
      expect(client.q('[:find ?id . :where [?e "person/handle" "h"] [?e "datsync/id" ?id]]')).toBe(tempId(rb, 'x'));
    }
    expect(tempId(rb, 'x') < tempId(ra, 'x')).toBe(true);
    expect(canonical(a)).toEqual(canonical(b));
  });

  it('when the holder releases the value, the other claimant shows it and the conflict is gone', async () => {
    const clock = new ManualClock();
    const a = await newClient({ clock, replicaByte: 0 });
    const b = await newClient({ clock, replicaByte: 1 });
    const ra = await a.transact([{ ':db/id': 'x', 'person/name': 'A', 'person/handle': 'h' }]);
    const rb = await b.transact([{ ':db/id': 'x', 'person/name': 'B', 'person/handle': 'h' }]);
    exchange(a, b);
    const release = await a.transact([[':db/retract', ref(tempId(ra, 'x')), 'person/handle', 'h']]);
    expect(release.datoms).toEqual(
      expect.arrayContaining([
        { e: a.eid(tempId(ra, 'x')), a: 'person/handle', v: 'h', added: false },
        { e: a.eid(tempId(rb, 'x')), a: 'person/handle', v: 'h', added: true },
      ]),
    );
    exchange(a, b);
    for (const client of [a, b]) {
      expect(client.q('[:find ?id . :where [?e "person/handle" "h"] [?e "datsync/id" ?id]]')).toBe(tempId(rb, 'x'));
      expect(client.conflicts()).toEqual([]);
    }
    expect(canonical(a)).toEqual(canonical(b));
  });

  it('a replica that already shows the value on its own entity moves it when a smaller claimant arrives', async () => {
    const clock = new ManualClock();
    const a = await newClient({ clock, replicaByte: 0 });
    const b = await newClient({ clock, replicaByte: 1 });
    const ra = await a.transact([{ ':db/id': 'x', 'person/handle': 'h' }]);
    const rb = await b.transact([{ ':db/id': 'x', 'person/handle': 'h' }]);
    const report = b.replica.applyRemote(a.replica.state.pending());
    expect(report.datoms).toEqual(
      expect.arrayContaining([
        { e: b.eid(tempId(rb, 'x')), a: 'person/handle', v: 'h', added: false },
        { e: b.eid(tempId(ra, 'x')), a: 'person/handle', v: 'h', added: true },
      ]),
    );
  });
});
