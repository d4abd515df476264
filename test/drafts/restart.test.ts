/**
 * Drafts live in the server's storage: a restart keeps every open draft and
 * every closed one's tombstone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntityId } from '../../crdt/index.js';
import { MemoryStorage, MemoryStore } from '../../storage/memory.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { statusBecomes } from '../sync/harness.js';
import { closing, draftServer, until, userClient } from './harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('drafts across a server restart', () => {
  it('keeps an open draft, and a closed one stays closed for a late editor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'datsync-drafts-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'datsync.db');
    let server = await draftServer({ storage: new SqliteStorage(path) });
    const port = server.port as number;
    const ann = await userClient(server.url, 'ann', new MemoryStorage(new MemoryStore()));
    const ben = await userClient(server.url, 'ben', new MemoryStorage(new MemoryStore()));
    cleanups.push(
      () => ann.close(),
      () => ben.close(),
    );
    await statusBecomes(ann, 'live');
    const { entityIds } = await ann.transact([{ ':db/id': 't', 'task/title': 'Persist me' }], { confirmed: true });
    const id = entityIds.t as EntityId;
    await ben.whenSynced();
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    const b = await ben.openDraft(id, { fields: ['task/title'] });
    a.set('task/title', 'Persisted draft');
    await until(b, () => b.value('task/title') === 'Persisted draft');
    // Ben leaves; Ann goes offline with an edit the server never saw.
    b.close();
    ann.disconnect();
    a.set('task/title', 'Persisted draft, offline too');
    await server.close();

    server = await draftServer({ storage: new SqliteStorage(path), port });
    cleanups.push(() => server.close());
    // A newcomer gets the draft as the server kept it.
    const cal = await userClient(server.url, 'ben', new MemoryStorage(new MemoryStore()));
    cleanups.push(() => cal.close());
    await statusBecomes(cal, 'live');
    await cal.whenSynced();
    const c = await cal.openDraft(id, { fields: ['task/title'] });
    expect(c.value('task/title')).toBe('Persisted draft');
    // Ann comes back: her offline edit reaches the newcomer through the restarted server.
    const { WebSocket } = await import('ws');
    ann.connect({ url: server.url, token: 'token-ann', WebSocket, initialBackoffMs: 20, maxBackoffMs: 200 });
    await until(c, () => c.value('task/title') === 'Persisted draft, offline too');
    const closed = closing(c);
    await a.commit();
    expect((await closed).reason).toBe('committed');
    // Ben kept his copy of the committed draft: reopening it, he learns it closed.
    const late = await ben.openDraft(id, { fields: ['task/title'] });
    expect((await closing(late)).reason).toBe('committed');
  });
});
