/**
 * Read filters (issue 6): a client never receives a datom its identity may
 * not read, by any path (catch-up, live updates, its own acknowledgements,
 * rejections, history, scope results, errors), and when a change makes data
 * readable or unreadable it receives the datoms or the eviction it needs,
 * storage included.
 */
import { describe, expect, it } from 'vitest';
import { allowAll } from '../../src/server/permissions.js';
import type { Seen } from './harness.js';
import { startServer, titles, user } from './harness.js';

/** What bob may not read: alice's private task and alice's notes (his own notes are his). */
const forbiddenForBob = (seen: readonly Seen[]): Seen[] =>
  seen.filter((d) => typeof d.value === 'string' && d.value.includes('secret') && d.value !== 'bob secret notes');

describe('read filters', () => {
  it('never send a forbidden datom: catch-up, live, own acknowledgements, rejections, history', async () => {
    const server = await startServer();
    const alice = await user(server.url, 'alice');
    await alice.transact([
      { ':db/id': 'p', 'task/title': 'public', 'task/owner': 'alice', 'task/private': false, 'task/notes': 'secret note' },
      { ':db/id': 's', 'task/title': 'secret plan', 'task/owner': 'alice', 'task/private': true },
    ]);
    await alice.whenSynced();
    const seen: Seen[] = [];
    const bob = await user(server.url, 'bob', seen);
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['public']);
    // Live: alice renames her secret task and adds notes; bob writes his own task and a refused one.
    const s = alice.q<number>('[:find ?e . :where [?e "task/title" "secret plan"]]');
    const p = alice.q<number>('[:find ?e . :where [?e "task/title" "public"]]');
    await alice.transact([
      [':db/add', s, 'task/title', 'secret plan v2'],
      [':db/add', p, 'task/notes', 'secret note v2'],
    ]);
    await bob.transact([{ 'task/title': 'bob task', 'task/owner': 'bob', 'task/private': false, 'task/notes': 'bob secret notes' }]);
    const refused: string[] = [];
    bob.on('rejected', ({ error }) => refused.push(error.message));
    const publicTask = bob.q<number>('[:find ?e . :where [?e "task/title" "public"]]');
    await bob.transact([[':db/add', publicTask, 'task/title', 'secret takeover']]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(refused).toEqual(['only alice may change this task']);
    expect(titles(bob)).toEqual(['bob task', 'public']);
    // Notes are for the owner's eyes: bob reads his own, never alice's.
    expect(bob.q('[:find ?n :where [_ "task/notes" ?n]]')).toEqual([['bob secret notes']]);
    expect(bob.history(publicTask, 'task/title').map((h) => h.value)).toEqual(['public']);
    expect(forbiddenForBob(seen)).toEqual([]);
    expect(seen.some((d) => d.value === 'public')).toBe(true);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('deny what no rule grants: an attribute without a read rule never leaves the server', async () => {
    const server = await startServer({ permissions: { read: { 'task/title': true }, write: { '*': true } } });
    const alice = await user(server.url, 'alice');
    await alice.transact([{ 'task/title': 'visible', 'audit/log': 'secret audit', 'task/owner': 'alice' }]);
    await alice.whenSynced();
    const seen: Seen[] = [];
    const bob = await user(server.url, 'bob', seen);
    await bob.whenSynced();
    expect(
      bob
        .q<string[][]>('[:find ?a :where [_ ?a]]')
        .map((row) => row[0])
        .sort(),
    ).toEqual(['datsync/id', 'task/title']);
    expect(seen.filter((d) => d.attribute !== 'task/title')).toEqual([]);
    // Writes too: an attribute no write rule grants is refused.
    const locked = await startServer({ permissions: { read: { '*': true }, write: { 'task/title': true } } });
    const carol = await user(locked.url, 'carol');
    const reasons: string[] = [];
    carol.on('rejected', ({ error }) => reasons.push(`${error.code}: ${error.message}`));
    await carol.transact([{ 'task/title': 'ok' }]);
    await carol.transact([{ 'task/title': 'not ok', 'audit/log': 'x' }]);
    await carol.whenSynced();
    expect(reasons).toEqual(['forbidden: no rule allows writing audit/log']);
    expect(titles(carol)).toEqual(['ok']);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
    await Promise.all([server.close(), locked.close()]);
  });

  it('send the datoms when data becomes readable, and evict them (from storage too) when it stops', async () => {
    const server = await startServer();
    const alice = await user(server.url, 'alice');
    const bob = await user(server.url, 'bob');
    await alice.transact([{ ':db/id': 's', 'task/title': 'secret draft', 'task/owner': 'alice', 'task/private': true }]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual([]);
    const s = alice.q<number>('[:find ?e . :where [?e "task/title" "secret draft"]]');
    await alice.transact([[':db/add', s, 'task/private', false]]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['secret draft']);
    await alice.transact([[':db/add', s, 'task/private', true]]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual([]);
    // Nothing of it remains in bob's storage either.
    const stored = JSON.stringify([...(await bob.storage.readLog(0, 1000))].map((r) => r.tx.ops.map((op) => op.value)));
    expect(stored).not.toContain('secret draft');
    const snapshot = await bob.storage.snapshot();
    expect(Buffer.from(snapshot?.state ?? new Uint8Array()).toString('latin1')).not.toContain('secret draft');
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('allowAll is an explicit choice, and without permissions the server refuses to start', async () => {
    await expect(startServer({ permissions: undefined as never })).rejects.toMatchObject({ code: 'invalid-schema' });
    const open = await startServer({ permissions: allowAll });
    const a = await user(open.url, 'a');
    await a.transact([{ 'audit/log': 'anything goes' }]);
    await a.whenSynced();
    const b = await user(open.url, 'b');
    await b.whenSynced();
    expect(b.q('[:find ?l :where [_ "audit/log" ?l]]')).toEqual([['anything goes']]);
    await Promise.all([a.close(), b.close()]);
    await open.close();
  });
});
