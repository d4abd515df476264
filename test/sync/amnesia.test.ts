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
import { DatsyncError } from '../../crdt/index.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { client, goOnline, startServer, statusBecomes, view } from './harness.js';

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
});
