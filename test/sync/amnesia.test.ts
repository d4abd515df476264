/**
 * Amnesia end to end (issue 2): a client whose storage is wiped comes back
 * under a new replica id, and one whose storage was restored from an older
 * copy (its counter went backwards, the Riak failure) is refused with
 * `replica-reused` at hello, before it can push a reissued dot. Either way,
 * nothing the server acknowledged is overwritten or hidden.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../../crdt/index.js';
import { DatsyncError, transactionId } from '../../crdt/index.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { client, goOnline, startServer, statusBecomes, view } from './harness.js';
import { hello, rawConnect, untilPong } from './raw.js';

const titles = '[:find [?t ...] :where [_ "task/title" ?t]]';

const dir = mkdtempSync(join(tmpdir(), 'datsync-amnesia-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a client that lost or rewound its storage', () => {
  it('wiped: starts under a new replica id, and its new writes stand beside the acknowledged ones', async () => {
    const server = await startServer();
    const before = await client(server.url);
    await before.transact([{ 'task/title': 'acknowledged' }]);
    await before.whenSynced();
    const oldId = before.replicaId;
    await before.close();

    const wiped = await client(server.url); // fresh, empty storage
    expect(wiped.replicaId).not.toBe(oldId);
    await wiped.whenSynced();
    await wiped.transact([{ 'task/title': 'after the wipe' }]);
    await wiped.whenSynced();
    const reader = await client(server.url);
    await reader.whenSynced();
    expect(reader.q<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]').sort()).toEqual(['acknowledged', 'after the wipe']);
    expect(server.head).toBe(2);
    await Promise.all([wiped.close(), reader.close()]);
    await server.close();
  });

  it('restored from an older copy: refused with replica-reused, and the acknowledged write stays', async () => {
    const server = await startServer();
    const path = join(dir, 'client.sqlite');
    const copy = join(dir, 'client-copy.sqlite');
    const writer = await client(server.url, { storage: new SqliteStorage(path) });
    await writer.transact([{ 'task/title': 'first' }]);
    await writer.whenSynced();
    await writer.close();
    copyFileSync(path, copy); // a backup taken now
    const again = await client(server.url, { storage: new SqliteStorage(path) });
    await again.transact([{ 'task/title': 'second, acknowledged' }]);
    await again.whenSynced();
    const id = again.replicaId;
    await again.close();

    // The backup comes back: same replica id, counter behind what the server decided. Its next write would
    // reissue a dot the server already holds, so the server refuses the replica at hello, and it stops.
    const restored = await client(undefined, { storage: new SqliteStorage(copy) });
    expect(restored.replicaId).toBe(id);
    const refused = new Promise<unknown>((resolve) => restored.on('error', resolve));
    goOnline(restored, server.url);
    const error = await refused;
    expect(error).toBeInstanceOf(DatsyncError);
    expect((error as DatsyncError).code).toBe('replica-reused');
    await statusBecomes(restored, 'offline');
    expect(restored.q<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]')).toEqual(['first']);

    const reader = await client(server.url);
    await reader.whenSynced();
    expect(reader.q<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]').sort()).toEqual(['first', 'second, acknowledged']);
    expect(server.head).toBe(2);
    expect(view(reader)).toHaveLength(4); // two titles and two datsync/id datoms
    await Promise.all([restored.close(), reader.close()]);
    await server.close();
  });

  it('restored, then written to offline under a decided id: not taken for "accepted"; it starts over under a new id and its write lands', async () => {
    const server = await startServer();
    const path = join(dir, 'reuse.sqlite');
    const copy = join(dir, 'reuse-copy.sqlite');
    const writer = await client(server.url, { storage: new SqliteStorage(path) });
    await writer.transact([{ 'task/title': 'first' }]);
    await writer.whenSynced();
    await writer.close();
    copyFileSync(path, copy); // the backup
    const again = await client(server.url, { storage: new SqliteStorage(path) });
    const second = await again.transact([{ 'task/title': 'second' }]);
    await again.whenSynced();
    const id = again.replicaId;
    await again.close();

    // The backup comes back and is written to offline: its next id (and the entity named after it) is the one "second" took.
    const restored = await client(undefined, { storage: new SqliteStorage(copy) });
    const other = await restored.transact([{ ':db/id': 'o', 'task/title': 'other' }]);
    expect(other.txId).toBe(second.txId);
    expect(restored.replica.author.issuedUpTo).toBe(again.replica.author.issuedUpTo); // the hello check cannot tell
    const errors: unknown[] = [];
    restored.on('error', (error) => errors.push(error));
    goOnline(restored, server.url);
    await restored.whenSynced();
    expect(errors).toEqual([]);

    // It took a new replica id (stored: it is the one it opens with), and "other" went to the server as a new transaction.
    expect(restored.replicaId).not.toBe(id);
    expect(restored.pendingCount).toBe(0);
    expect(server.head).toBe(3);
    const renamed = restored.entityId(restored.q<number>('[:find ?e . :where [?e "task/title" "other"]]'));
    expect(renamed).not.toBe(other.entityIds.o);
    expect(renamed?.startsWith(`${restored.replicaId}.`)).toBe(true);
    const reader = await client(server.url);
    const original = await client(server.url, { storage: new SqliteStorage(path) });
    await Promise.all([reader.whenSynced(), original.whenSynced()]);
    for (const c of [restored, reader, original]) expect(c.q<string[]>(titles).sort()).toEqual(['first', 'other', 'second']);
    expect(view(restored)).toEqual(view(reader));
    expect(view(original)).toEqual(view(reader));
    expect(view(reader)).toHaveLength(6); // three titles and three datsync/id datoms: "other" is an entity of its own
    await restored.close();
    const reopened = await client(undefined, { storage: new SqliteStorage(copy) });
    expect(reopened.replicaId).toBe(restored.replicaId);
    expect(view(reopened)).toEqual(view(reader));
    await Promise.all([reopened.close(), reader.close(), original.close()]);
    await server.close();
  });

  it('restored, with a strong-mode write waiting: its promise resolves with the write as it landed under the new id', async () => {
    const server = await startServer();
    const path = join(dir, 'strong.sqlite');
    const copy = join(dir, 'strong-copy.sqlite');
    const writer = await client(server.url, { storage: new SqliteStorage(path) });
    await writer.transact([{ 'task/title': 'first' }]);
    await writer.whenSynced();
    await writer.close();
    copyFileSync(path, copy);
    const again = await client(server.url, { storage: new SqliteStorage(path) });
    const second = await again.transact([{ 'task/title': 'second' }]);
    await again.whenSynced();
    await again.close();

    // Written before the connection opens, so hello already counts it (the hello check passes).
    const restored = await client(server.url, { storage: new SqliteStorage(copy) });
    const old = restored.replicaId;
    const report = await restored.transact([{ ':db/id': 's', 'task/title': 'strong' }], { confirmed: true });
    expect(report.txId).not.toBe(second.txId);
    expect(report.txId?.startsWith(`${restored.replicaId}:`)).toBe(true);
    expect(restored.replicaId).not.toBe(old);
    expect(report.entityIds.s?.startsWith(`${restored.replicaId}.`)).toBe(true);
    await restored.whenSynced();
    const reader = await client(server.url);
    await reader.whenSynced();
    expect(reader.q<string[]>(titles).sort()).toEqual(['first', 'second', 'strong']);
    expect(view(restored)).toEqual(view(reader));
    await Promise.all([restored.close(), reader.close()]);
    await server.close();
  });

  it('a push under a decided id with other contents is refused with replica-reused; the same transaction sent again is still "accepted"', async () => {
    const server = await startServer();
    const writer = await client(undefined);
    await writer.transact([{ 'task/title': 'kept' }]);
    const [tx] = writer.replica.state.pending() as Transaction[];
    if (tx === undefined) throw new Error('no pending transaction');
    const raw = await rawConnect(server.url, writer.replicaId);
    raw.send(hello(writer.replicaId, { issuedUpTo: writer.replica.author.issuedUpTo }));
    await raw.nextOf('welcome');
    raw.send({ type: 'push', txs: [tx] });
    await raw.nextOf('records');
    raw.send({ type: 'credit', batch: 1 });
    const forged: Transaction = { ...tx, ops: tx.ops.map((op) => ({ ...op, value: 'forged' })) };
    const later: Transaction = { ...tx, counter: tx.counter + tx.ops.length };
    raw.send({ type: 'push', txs: [forged, later] });
    const reject = await raw.nextOf('reject');
    expect(reject.txId).toBe(transactionId(tx));
    expect(reject.error.code).toBe('replica-reused');
    // A later transaction of the replica on that connection may build on the reused one: refused as well.
    const next = await raw.nextOf('reject');
    expect(next.txId).toBe(transactionId(later));
    expect(next.error.code).toBe('replica-reused');
    const seen = await untilPong(raw, 1, { credit: true });
    expect(seen.filter((m) => m.type === 'records' && m.entries.length > 0)).toEqual([]);
    raw.close();
    expect(server.head).toBe(1);

    // The server keeps serving, and the genuine transaction is still recognised as accepted.
    const resend = await rawConnect(server.url, writer.replicaId);
    resend.send(hello(writer.replicaId, { issuedUpTo: writer.replica.author.issuedUpTo }));
    const welcome = await resend.nextOf('welcome');
    expect(welcome.decided).toBe(tx.counter);
    resend.send({ type: 'push', txs: [tx] });
    const answer = await untilPong(resend, 2, { credit: true });
    expect(answer.filter((m) => m.type === 'reject')).toEqual([]);
    resend.close();
    const reader = await client(server.url);
    await reader.whenSynced();
    expect(reader.q<string[]>(titles)).toEqual(['kept']);
    expect(server.head).toBe(1);
    await Promise.all([writer.close(), reader.close()]);
    await server.close();
  });
});
