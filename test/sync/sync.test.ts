/**
 * Sync over loopback WebSockets (issue 5): a real server, real clients.
 */
import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../crdt/index.js';
import { transactionDigest, transactionId } from '../../crdt/index.js';
import { client, goOnline, startServer, statusBecomes, view } from './harness.js';
import { hello, rawConnect } from './raw.js';

describe('sync', () => {
  it('converges two clients that edited offline once they reconnect', async () => {
    const server = await startServer();
    const a = await client(undefined);
    const b = await client(undefined);
    const shared = await a.transact([{ ':db/id': 't', 'task/title': 'shared', 'task/tags': ['x'] }]);
    const id = shared.entityIds.t ?? '';
    // B learns of the task only through the server; both then edit offline.
    goOnline(a, server.url);
    await a.whenSynced();
    a.disconnect();
    goOnline(b, server.url);
    await b.whenSynced();
    b.disconnect();
    await a.transact([[':db/add', ['datsync/id', id], 'task/tags', 'from-a'], { 'task/title': 'only on a' }]);
    await b.transact([
      [':db/add', ['datsync/id', id], 'task/done', true],
      [':db/retract', ['datsync/id', id], 'task/tags', 'x'],
    ]);
    expect(view(a)).not.toEqual(view(b));
    goOnline(a, server.url);
    goOnline(b, server.url);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    await a.whenSynced();
    expect(view(a)).toEqual(view(b));
    expect(a.pull('["task/tags" "task/done"]', ['datsync/id', id])).toEqual({ 'task/tags': ['from-a'], 'task/done': true });
    expect(a.q('[:find ?t :where [_ "task/title" ?t]]')).toHaveLength(2);
    await Promise.all([a.close(), b.close()]);
    await server.close();
  });

  it('gives concurrent writes to one attribute the same winner and the same siblings everywhere', async () => {
    const server = await startServer();
    const a = await client(server.url);
    const b = await client(server.url);
    const c = await client(server.url);
    const made = await a.transact([{ ':db/id': 't', 'task/title': 'base' }]);
    const id = made.entityIds.t ?? '';
    await a.whenSynced();
    await Promise.all([b.whenSynced(), c.whenSynced()]);
    a.disconnect();
    b.disconnect();
    await a.transact([[':db/add', ['datsync/id', id], 'task/title', 'from a']]);
    await b.transact([[':db/add', ['datsync/id', id], 'task/title', 'from b']]);
    goOnline(a, server.url);
    goOnline(b, server.url);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    await Promise.all([a.whenSynced(), b.whenSynced(), c.whenSynced()]);
    const conflicts = [a, b, c].map((x) => x.conflicts(['datsync/id', id]));
    for (const list of conflicts) {
      expect(list).toHaveLength(1);
      const conflict = list[0];
      if (conflict?.kind !== 'siblings') throw new Error('expected siblings');
      expect(conflict.siblings.map((s) => s.value).sort()).toEqual(['from a', 'from b']);
    }
    const winners = [a, b, c].map((x) => x.pull('["task/title"]', ['datsync/id', id])?.['task/title']);
    expect(new Set(winners).size).toBe(1);
    // Resolving: a write that has seen both siblings supersedes them, everywhere.
    await c.transact([[':db/add', ['datsync/id', id], 'task/title', 'agreed']]);
    await c.whenSynced();
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    for (const x of [a, b, c]) {
      expect(x.conflicts()).toEqual([]);
      expect(x.pull('["task/title"]', ['datsync/id', id])).toEqual({ 'task/title': 'agreed' });
    }
    // Relayed through the server, each version keeps its origin dot and HLC: every replica lists the same history.
    const histories = [a, b, c].map((x) =>
      x.history(['datsync/id', id], 'task/title').map((h) => [h.value, h.tx, h.hlc, h.replica, h.supersededBy]),
    );
    expect(histories[1]).toEqual(histories[0]);
    expect(histories[2]).toEqual(histories[0]);
    const origin = new Map(histories[0]?.map(([value, tx, , replica]) => [value, { tx, replica }]));
    expect(origin.get('from a')?.replica).toBe(a.replicaId);
    expect(origin.get('from b')?.replica).toBe(b.replicaId);
    expect(String(origin.get('agreed')?.tx).startsWith(`${c.replicaId}:`)).toBe(true);
    await Promise.all([a.close(), b.close(), c.close()]);
    await server.close();
  });

  it('rolls back a rejected transaction, reports why, and keeps later independent writes', async () => {
    const server = await startServer({
      canWrite: ({ datoms }) => (datoms.some((d) => d.a === 'task/title' && d.v === 'forbidden') ? 'titles may not be "forbidden"' : true),
    });
    const a = await client(undefined);
    const rejected: Array<{ code: string; message: string }> = [];
    a.on('rejected', ({ error }) => rejected.push({ code: error.code, message: error.message }));
    await a.transact([{ ':db/id': 'x', 'task/title': 'fine' }]);
    await a.transact([{ ':db/id': 'y', 'task/title': 'forbidden' }]);
    await a.transact([{ ':db/id': 'z', 'task/title': 'also fine' }]);
    expect(a.q('[:find ?t :where [_ "task/title" ?t]]')).toHaveLength(3);
    goOnline(a, server.url);
    await a.whenSynced();
    expect(rejected).toEqual([{ code: 'forbidden', message: 'titles may not be "forbidden"' }]);
    expect(
      a
        .q<string[][]>('[:find ?t :where [_ "task/title" ?t]]')
        .map((r) => r[0])
        .sort(),
    ).toEqual(['also fine', 'fine']);
    expect(await a.storage.outbox()).toEqual([]);
    const b = await client(server.url);
    await b.whenSynced();
    expect(view(b)).toEqual(view(a));
    await Promise.all([a.close(), b.close()]);
    await server.close();
  });

  it('strong mode shows a write only once accepted, and rejects with the server\u2019s reason', async () => {
    const server = await startServer({ canWrite: ({ datoms }) => (datoms.some((d) => d.v === 'nope') ? 'no nope' : true) });
    const a = await client(server.url);
    await statusBecomes(a, 'live');
    const seen: unknown[] = [];
    a.subscribe('[:find ?t :where [_ "task/title" ?t]]', [], (rows) => seen.push(rows));
    const accepted = a.transact([{ ':db/id': 't', 'task/title': 'strong' }], { confirmed: true });
    // Not shown before the server's answer.
    expect(a.q('[:find ?t :where [_ "task/title" ?t]]')).toEqual([]);
    const report = await accepted;
    expect(report.txId).not.toBeNull();
    expect(report.datoms.map((d) => d.v)).toContain('strong');
    expect(a.q('[:find ?t :where [_ "task/title" ?t]]')).toEqual([['strong']]);
    await expect(a.transact([{ 'task/title': 'nope' }], { confirmed: true })).rejects.toMatchObject({
      code: 'forbidden',
      message: 'no nope',
    });
    expect(a.q('[:find ?t :where [_ "task/title" ?t]]')).toEqual([['strong']]);
    expect(seen).toEqual([[], [['strong']]]);
    expect(await a.storage.outbox()).toEqual([]);
    const offline = await client(undefined);
    await expect(offline.transact([{ 'task/title': 'x' }], { confirmed: true })).rejects.toMatchObject({ code: 'unavailable' });
    await Promise.all([a.close(), offline.close()]);
    await server.close();
  });

  it('applies a transaction pushed twice, on one connection or two, exactly once', async () => {
    const server = await startServer();
    const writer = await client(undefined);
    await writer.transact([{ ':db/id': 't', 'task/title': 'once', 'task/tags': ['a'] }]);
    const [tx] = writer.replica.state.pending() as Transaction[];
    if (tx === undefined) throw new Error('expected a pending transaction');
    const first = await rawConnect(server.url, writer.replicaId);
    first.send(hello(writer.replicaId, { issuedUpTo: writer.replica.author.issuedUpTo }));
    await first.nextOf('welcome');
    first.send({ type: 'push', txs: [tx] });
    first.send({ type: 'push', txs: [tx] });
    const records = await first.nextOf('records');
    expect(records.entries).toEqual([{ position: 1, own: transactionId(tx), digest: transactionDigest(tx), hidden: [] }]);
    first.close();
    // The acknowledgement was lost: the client sends it again on a new connection.
    const second = await rawConnect(server.url, writer.replicaId);
    second.send(hello(writer.replicaId, { issuedUpTo: writer.replica.author.issuedUpTo }));
    const welcome = await second.nextOf('welcome');
    expect(welcome.decided).toBe(tx.counter + tx.ops.length - 1);
    second.send({ type: 'push', txs: [tx] });
    second.send({ type: 'ping', id: 7 });
    expect(await second.nextOf('pong')).toEqual({ type: 'pong', id: 7, head: 1 });
    expect(server.head).toBe(1);
    const reader = await client(server.url);
    await reader.whenSynced();
    expect(reader.q('[:find ?t :where [_ "task/title" ?t]]')).toEqual([['once']]);
    expect(reader.q('[:find (count ?e) . :where [?e "task/tags"]]')).toBe(1);
    second.close();
    await Promise.all([writer.close(), reader.close()]);
    await server.close();
  });
});
