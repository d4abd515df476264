/**
 * Several server nodes on one PostgreSQL log (issue 10), in one process:
 * one total order however the appends race, validation against the log
 * where a transaction lands, resends answered once, replica ownership,
 * missed notices, and PostgreSQL going away.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplicaId, Transaction } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import { datoms, resolveEid } from '../../src/datascript/index.js';
import { ENTITY_ID_ATTR } from '../../src/schema.js';
import type { WriteCheck } from '../../src/server/log.js';
import { PostgresStorage } from '../../storage/postgres.js';
import { freshDatabase, freshSchema, postgresUrl, requirePostgresInCi, sql } from '../support/postgres.js';
import { tcpProxy } from '../support/tcp-proxy.js';
import type { TestNode } from './harness.js';
import { openNode, upTo, writer } from './harness.js';

requirePostgresInCi();
const url = postgresUrl;
const open: TestNode[] = [];
afterAll(async () => {
  await Promise.all(open.map((node) => node.close()));
});

async function nodes(count: number, options: Parameters<typeof openNode>[2] = {}, at = url as string): Promise<TestNode[]> {
  const namespace = freshSchema('log');
  const made: TestNode[] = [];
  for (let i = 0; i < count; i++) made.push(await openNode(at, namespace, options));
  open.push(...made);
  return made;
}

describe.skipIf(url === undefined)('several nodes on one PostgreSQL log', () => {
  it('shows the sequence trap to a tailer, and the head lock closing it', async () => {
    const db = url as string;
    // The trap: positions from a sequence, committed out of order. A tailer reading past the last seen skips one.
    const table = freshSchema('naive');
    await sql(`CREATE TABLE ${table} (position bigserial PRIMARY KEY, body text)`);
    const first = new pg.Client({ connectionString: db });
    const second = new pg.Client({ connectionString: db });
    await Promise.all([first.connect(), second.connect()]);
    let seen = 0;
    const tail = async (): Promise<number[]> => {
      const rows = await sql<{ position: string }>(`SELECT position FROM ${table} WHERE position > $1 ORDER BY position`, [seen]);
      const positions = rows.map((row) => Number(row.position));
      seen = Math.max(seen, ...positions);
      return positions;
    };
    await first.query(`BEGIN; INSERT INTO ${table} (body) VALUES ('slow')`);
    await second.query(`BEGIN; INSERT INTO ${table} (body) VALUES ('fast'); COMMIT`);
    expect(await tail()).toEqual([2]);
    await first.query('COMMIT');
    expect(await tail()).toEqual([]); // position 1 is committed, and the tailer never reads it
    await Promise.all([first.end(), second.end()]);
    await sql(`DROP TABLE ${table}`);

    // The same race on the log: the second appender waits for the first, so a tailer sees 1 before 2.
    const namespace = freshSchema('trap');
    const slow = await PostgresStorage.open({ url: db, schema: namespace });
    const fast = await PostgresStorage.open({ url: db, schema: namespace });
    const { mint } = await writer();
    const slowTurn = await slow.shared.turn(0);
    const fastTurn = fast.shared.turn(0);
    let fastHead: number | undefined;
    void fastTurn.then((turn) => {
      fastHead = turn.head;
    });
    expect(await slow.readLog(0, 10)).toEqual([]);
    await slowTurn.commit({ log: [{ position: slowTurn.head + 1, tx: await mint([{ 'task/title': 'slow' }]) }] });
    const turn = await fastTurn;
    expect(fastHead).toBe(1);
    // The turn brings what was appended since the position it was asked from, read under the lock.
    expect(turn.records.map((record) => record.position)).toEqual([1]);
    await turn.commit({ log: [{ position: turn.head + 1, tx: await mint([{ 'task/title': 'fast' }]) }] });
    expect((await slow.readLog(0, 10)).map((record) => record.position)).toEqual([1, 2]);
    await Promise.all([slow.close(), fast.close()]);
  });

  it('gives appends racing from three nodes, with random delays inside their turns, one order every node follows without a gap', async () => {
    // Each node stalls a little inside its turn, on every transaction it decides: the widest window for the trap.
    const stall = async (): Promise<true> => {
      await delay(Math.floor(Math.random() * 3));
      return true;
    };
    const namespace = freshSchema('race');
    const appenders = await Promise.all([0, 1, 2].map(() => openNode(url as string, namespace, { canWrite: stall })));
    // A fourth node only follows: it appends nothing, and learns of every commit from notices.
    const follower = await openNode(url as string, namespace);
    open.push(...appenders, follower);
    const writers = await Promise.all(Array.from({ length: 6 }, () => writer()));
    const streams: Transaction[][] = writers.map(() => []);
    for (let round = 0; round < 25; round++) {
      for (const [w, { mint }] of writers.entries()) streams[w]?.push(await mint([{ 'task/title': `w${w} #${round}` }]));
    }
    const txs = streams.flat();
    // Each writer sends its stream, in order, to a node of its own, all writers at once. Two of them also send
    // the whole stream to a second node at the same time, as a client does after a lost acknowledgement.
    const sent = streams.flatMap((stream, w) => {
      const targets = w % 3 === 0 ? [w % 3, (w + 1) % 3] : [w % 3];
      return targets.flatMap((n) => stream.map((tx) => ({ tx, outcome: (appenders[n] as TestNode).submit(tx) })));
    });
    const outcomes = await Promise.all(sent.map(({ tx, outcome }) => outcome.then((o) => ({ id: transactionId(tx), o }))));
    expect(outcomes.filter(({ o }) => !o.accepted)).toEqual([]);
    const positions = new Map<string, number>();
    for (const { id, o } of outcomes) {
      const position = o.accepted ? o.position : -1;
      // Both copies of a resent transaction get the one position.
      expect(positions.get(id) ?? position).toBe(position);
      positions.set(id, position);
    }
    expect([...positions.values()].sort((a, b) => a - b)).toEqual(upTo(txs.length));
    await Promise.all([...appenders, follower].map((node) => node.reaches(txs.length)));
    for (const node of [...appenders, follower]) {
      expect(node.positions).toEqual(upTo(txs.length));
      expect(node.core.log.head).toBe(txs.length);
    }
    const log = await follower.storage.readLog(0, 10_000);
    expect(log.map((record) => record.position)).toEqual(upTo(txs.length));
    for (const record of log) expect(positions.get(transactionId(record.tx))).toBe(record.position);
    const views = [...appenders, follower].map((node) => [...node.core.log.state.datoms()].length);
    expect(new Set(views).size).toBe(1);
  });

  it('judges a transaction against the log where it lands, on a node that has heard nothing', async () => {
    // Writing task/done is refused once the task is locked: a rule reading the database before the write.
    const unlessLocked: WriteCheck<string> = ({ tx, dbBefore }) => {
      for (const op of tx.ops) {
        if (op.attribute !== 'task/done') continue;
        const eid = resolveEid(dbBefore, [ENTITY_ID_ATTR, op.entity]);
        if (eid !== null && datoms(dbBefore, ':eavt', eid, 'task/status')[0]?.v === 'locked') return 'the task is locked';
      }
      return true;
    };
    const namespace = freshSchema('judge');
    const a = await openNode(url as string, namespace, { canWrite: unlessLocked });
    const b = await openNode(url as string, namespace, { canWrite: unlessLocked, deaf: true });
    open.push(a, b);
    const ann = await writer();
    const bob = await writer();
    // Unique identity: A gives "ann" to one entity; B, which has not heard of it, is asked to give "ann" to another.
    const claim = await ann.mint([{ 'user/name': 'ann', 'task/title': 'first' }]);
    expect(await a.submit(claim)).toEqual({ accepted: true, position: 1 });
    const task = await ann.mint([{ ':db/id': 't', 'task/title': 'shared', 'task/status': 'open' }]);
    expect(await a.submit(task)).toEqual({ accepted: true, position: 2 });
    expect(b.core.log.head).toBe(0);
    const second = await b.submit(await bob.mint([{ 'user/name': 'ann', 'task/title': 'second' }]));
    expect(second).toMatchObject({ accepted: false, error: { code: 'unique-conflict' } });
    expect(b.core.log.head).toBe(2);
    // Write rules: A locks the task; B, behind again, is asked to mark it done.
    await bob.client.receive([{ position: 2, tx: task }], [], 2);
    const entity = task.ops[0]?.entity as string;
    const lock = await ann.mint([[':db/add', ['datsync/id', entity], 'task/status', 'locked']]);
    expect(await a.submit(lock)).toEqual({ accepted: true, position: 3 });
    expect(b.core.log.head).toBe(2);
    const done = await bob.mint([[':db/add', ['datsync/id', entity], 'task/done', true]]);
    expect(await b.submit(done)).toMatchObject({ accepted: false, error: { code: 'forbidden', message: 'the task is locked' } });
    expect(b.core.log.head).toBe(3);
    expect((await a.storage.readLog(0, 10)).map((record) => transactionId(record.tx))).toEqual([claim, task, lock].map(transactionId));
  });

  it('answers a transaction resent to another node after a lost acknowledgement as the first node did, once', async () => {
    const [a, b] = (await nodes(2)) as [TestNode, TestNode];
    const ann = await writer();
    const bob = await writer();
    const tx = await ann.mint([{ 'user/name': 'ann' }]);
    const at = await a.submit(tx);
    expect(at).toEqual({ accepted: true, position: 1 });
    expect(await b.submit(tx)).toEqual(at);
    // A refusal too: "ann" is taken, so A refuses Bob's claim; after Ann lets go of it, B still answers the resend as A did.
    const claim = await bob.mint([{ 'user/name': 'ann', 'task/title': 'bob' }]);
    const refused = await a.submit(claim);
    expect(refused).toMatchObject({ accepted: false, error: { code: 'unique-conflict' } });
    const entity = tx.ops[0]?.entity as string;
    await ann.client.receive([{ position: 1, tx }], [], 1);
    expect(await a.submit(await ann.mint([[':db/retract', ['datsync/id', entity], 'user/name', 'ann']]))).toMatchObject({ accepted: true });
    expect(await b.submit(claim)).toEqual(refused);
    const log = await a.storage.readLog(0, 10);
    expect(log.map((record) => transactionId(record.tx))).toEqual([transactionId(tx), transactionId(log[1]?.tx as Transaction)]);
    expect(log).toHaveLength(2);
  });

  it('binds a replica id to one identity, whichever node is asked first', async () => {
    const [a, b] = (await nodes(2)) as [TestNode, TestNode];
    for (let i = 0; i < 20; i++) {
      const replica = `contested-${i}` as ReplicaId;
      const [alice, mallory] = await Promise.all([a.core.log.claimReplica(replica, 'alice'), b.core.log.claimReplica(replica, 'mallory')]);
      expect(alice !== mallory).toBe(true);
      const owner = alice ? 'alice' : 'mallory';
      expect(await b.core.log.claimReplica(replica, owner)).toBe(true);
      expect(await a.core.log.claimReplica(replica, alice ? 'mallory' : 'alice')).toBe(false);
    }
  });

  it('catches up after its notices were cut off, and after a restart, never skipping or repeating a record', async () => {
    const db = await freshDatabase();
    const [a, c] = (await nodes(2, {}, db)) as [TestNode, TestNode];
    const { mint } = await writer();
    for (let i = 0; i < 5; i++) expect(await a.submit(await mint([{ 'task/title': `before ${i}` }]))).toMatchObject({ accepted: true });
    await c.reaches(5);
    // Cut every listening connection of this database: commits made now are announced to no one.
    await sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'datsync-listen' AND datname = current_database()",
      [],
      db,
    );
    for (let i = 0; i < 20; i++)
      expect(await a.submit(await mint([{ 'task/title': `while deaf ${i}` }]))).toMatchObject({ accepted: true });
    await c.reaches(25);
    expect(c.positions).toEqual(upTo(25));
    // A restart: the node replays the log, then follows what was appended while it was down.
    const namespace = c.storage.schema;
    await c.close();
    for (let i = 0; i < 10; i++)
      expect(await a.submit(await mint([{ 'task/title': `while down ${i}` }]))).toMatchObject({ accepted: true });
    const again = await openNode(db, namespace);
    open.push(again);
    expect(again.core.log.head).toBe(35);
    for (let i = 0; i < 5; i++) expect(await a.submit(await mint([{ 'task/title': `after ${i}` }]))).toMatchObject({ accepted: true });
    await again.reaches(40);
    expect(again.positions).toEqual(upTo(40).slice(35));
    expect([...again.core.log.state.datoms()]).toEqual([...a.core.log.state.datoms()]);
  });

  it('refuses what is not a PostgreSQL URL or a schema name, saying what it wants', async () => {
    await expect(PostgresStorage.open({ url: 'mysql://localhost/db' })).rejects.toMatchObject({
      code: 'storage-failed',
      message: expect.stringContaining('postgres://'),
    });
    await expect(PostgresStorage.open({ url: 'postgres://[::1' })).rejects.toMatchObject({ code: 'storage-failed' });
    await expect(PostgresStorage.open({ url: url as string, schema: 'Robert"); DROP' })).rejects.toMatchObject({
      code: 'storage-failed',
      message: expect.stringContaining('lower-case letters, digits and _'),
    });
  });

  it('refuses writes with a clear error while PostgreSQL is unreachable, acknowledging nothing it did not commit', async () => {
    const proxy = await tcpProxy(url as string);
    const namespace = freshSchema('down');
    const node = await openNode(proxy.url, namespace, { pollMs: 60_000 });
    const witness = await openNode(url as string, namespace);
    open.push(node, witness);
    const { mint } = await writer();
    expect(await node.submit(await mint([{ 'task/title': 'before' }]))).toEqual({ accepted: true, position: 1 });
    proxy.cut();
    const during = await mint([{ 'task/title': 'during' }]);
    const refused = await node.submit(during);
    expect(refused).toMatchObject({ accepted: false, error: { code: 'storage-failed' } });
    if (refused.accepted) throw new Error('unreachable');
    expect(refused.error.message).toContain('PostgreSQL is unreachable');
    expect(await witness.storage.findTransaction(transactionId(during))).toBeUndefined();
    expect(node.core.log.head).toBe(1);
    proxy.restore();
    // Sent again once the database is back, it is taken.
    expect(await node.submit(during)).toEqual({ accepted: true, position: 2 });
    await proxy.close();
  });

  it('finds out from the log what became of a commit whose answer was lost, and answers accordingly', async () => {
    const proxy = await tcpProxy(url as string);
    const namespace = freshSchema('lost');
    const node = await openNode(proxy.url, namespace, { pollMs: 60_000 });
    const witness = await openNode(url as string, namespace);
    open.push(node, witness);
    const { mint } = await writer();
    // The COMMIT reaches PostgreSQL but its answer does not come back: it took, so the node acknowledges it.
    const reached = await mint([{ 'task/title': 'commit reached the server' }]);
    const broken = proxy.breakNextCommit(true);
    const first = node.submit(reached);
    await broken;
    expect(await first).toEqual({ accepted: true, position: 1 });
    // The COMMIT never arrives: it did not take, so the node decides it again and it lands once.
    const lost = await mint([{ 'task/title': 'commit lost on the way' }]);
    const brokenAgain = proxy.breakNextCommit(false);
    const second = node.submit(lost);
    await brokenAgain;
    expect(await second).toEqual({ accepted: true, position: 2 });
    await witness.reaches(2);
    expect((await witness.storage.readLog(0, 10)).map((record) => transactionId(record.tx))).toEqual([
      transactionId(reached),
      transactionId(lost),
    ]);
    expect(node.positions).toEqual([1, 2]);
    expect(node.errors.some((error) => String((error as Error).message).includes('unknown'))).toBe(true);
    await proxy.close();
  });
});
