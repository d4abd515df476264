/**
 * A scope's minimum update interval (the "gating" of issue 6): changes to
 * which entities it selects reach the client at most that often, either
 * with the next group after the interval or, when none comes, by the
 * server's own timer. The server's clock is injected, so what is held back
 * and when it is released does not depend on how fast the machine runs.
 */
import { describe, expect, it } from 'vitest';
import { allowAll } from '../../src/server/permissions.js';
import { startServer, titles, user } from './harness.js';

describe('a scope with a minimum update interval', () => {
  it('holds entities back until the interval has passed, then sends them with the next group', async () => {
    let now = Date.now();
    const server = await startServer({ permissions: allowAll as never, now: () => now });
    const alice = await user(server.url, 'alice');
    const bob = await user(server.url, 'bob');
    await bob.scope('red', { query: '[:find ?e :where [?e "task/tag" "red"]]', minIntervalMs: 60_000 });
    await bob.whenSynced();
    await alice.transact([{ 'task/title': 'urgent', 'task/tag': 'red' }]);
    await alice.whenSynced();
    await bob.whenSynced();
    // Bob is up to date with the log, yet the scope has not been run again.
    expect(titles(bob)).toEqual([]);
    now += 60_000;
    await alice.transact([{ 'task/title': 'unrelated', 'task/tag': 'green' }]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['urgent']);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('sends what it held back once the interval has passed, even when no further transaction comes', async () => {
    let now = Date.now();
    const server = await startServer({ permissions: allowAll as never, now: () => now });
    const alice = await user(server.url, 'alice');
    const bob = await user(server.url, 'bob');
    await bob.scope('red', { query: '[:find ?e :where [?e "task/tag" "red"]]', minIntervalMs: 50 });
    await bob.whenSynced();
    const arrived = new Promise<void>((resolve) => {
      bob.subscribe<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]', [], (seen) => {
        if (seen.includes('urgent')) resolve();
      });
    });
    await alice.transact([{ 'task/title': 'urgent', 'task/tag': 'red' }]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual([]);
    // The server's clock moves on; its timer finds the interval passed and sends the task.
    now += 50;
    await arrived;
    expect(titles(bob)).toEqual(['urgent']);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });
});
