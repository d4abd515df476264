/**
 * A scope whose query fails: when it is declared, the client is told
 * (invalid-query) and keeps its previous scopes; when it only starts
 * failing later, on data another client wrote, that client's connection
 * ends and the server keeps serving everyone else.
 */
import { describe, expect, it } from 'vitest';
import { allowAll } from '../../src/server/permissions.js';
import { startServer, titles, user } from './harness.js';

/** DataScript's `compare` throws on a string and a number: this query fails once a task has both. */
const fragile = '[:find ?e :where [?e "task/title" ?t] [?e "task/tag" ?g] [?e "task/owner" ?o] [(compare ?t ?o) ?c] [(compare ?c ?g) ?d]]';

describe('a scope that fails', () => {
  it('refused when declared: the client keeps its previous scopes', async () => {
    const server = await startServer({ permissions: allowAll as never });
    const alice = await user(server.url, 'alice');
    await alice.transact([
      { 'task/title': 'red one', 'task/tag': 'red', 'task/owner': 'x' },
      { 'task/title': 'blue one', 'task/tag': 'blue' },
    ]);
    await alice.whenSynced();
    const bob = await user(server.url, 'bob');
    const errors: unknown[] = [];
    bob.on('error', (error) => errors.push(error));
    await bob.setScopes([{ name: 'red', query: '[:find ?e :where [?e "task/tag" "red"]]' }]);
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['red one']);
    await bob.setScopes([{ name: 'bad', query: fragile }]);
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['red one']);
    expect(errors).toMatchObject([{ code: 'invalid-query', message: 'scope bad: the query failed' }]);
    await alice.transact([{ 'task/title': 'another red', 'task/tag': 'red' }]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['another red', 'red one']);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('failing later on new data ends that connection, never the server', async () => {
    const server = await startServer({ permissions: allowAll as never });
    const reported: unknown[] = [];
    server.on('error', (error) => reported.push(error));
    const alice = await user(server.url, 'alice');
    const bob = await user(server.url, 'bob');
    await bob.setScopes([{ name: 'fragile', query: fragile }]);
    await bob.whenSynced();
    const closed = new Promise<void>((resolve) => {
      const stop = bob.on('status', (status) => {
        if (status !== 'offline' && status !== 'connecting') return;
        stop();
        resolve();
      });
    });
    // A task with a title, a tag and an owner makes the query throw for bob's session.
    await alice.transact([{ 'task/title': 'boom', 'task/tag': 'red', 'task/owner': 'x' }]);
    await alice.whenSynced();
    await closed;
    expect(reported.length).toBeGreaterThan(0);
    // Everyone else carries on.
    const carol = await user(server.url, 'carol');
    await alice.transact([{ 'task/title': 'still here' }]);
    await alice.whenSynced();
    await carol.whenSynced();
    expect(titles(carol)).toEqual(['boom', 'still here']);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
    await server.close();
  });
});
