/**
 * docs/scopes.md, "A minimum update interval": a scope that may be
 * re-evaluated at most every so often. Entities entering or leaving it wait
 * until the interval has passed; the registers the client already holds are
 * kept up to date all along. The server's clock is injected here, so the
 * example shows exactly when the change is released.
 *
 * Run: npx tsx examples/scopes/03-interval.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { startServer, titles, user } from './support/setting.js';

export async function main(): Promise<void> {
  let now = Date.now();
  const server = await startServer({ now: () => now });
  const alice = await user(server.url, 'alice');
  await alice.transact([{ ':db/id': 'a', 'task/title': 'Audit', 'task/project': 'ops' }]);
  await alice.whenSynced();

  const bob = await user(server.url, 'bob');
  await bob.scope('ops', { query: '[:find ?e :where [?e "task/project" "ops"]]', minIntervalMs: 10_000 });
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Audit']);

  // A new task enters the scope, and one it holds changes.
  const audit = alice.q<number>('[:find ?e . :where [?e "task/title" "Audit"]]');
  await alice.transact([{ 'task/title': 'Rotate keys', 'task/project': 'ops' }]);
  await alice.transact([[':db/add', audit, 'task/title', 'Audit (Q3)']]);
  await alice.whenSynced();
  await bob.whenSynced();
  // The change to what bob holds arrived; the entering task waits for the interval.
  assert.deepEqual(titles(bob), ['Audit (Q3)']);

  // Ten seconds later (on the server's clock) the scope runs again, with the next transaction or, if none
  // comes, by the server's own timer.
  now += 10_000;
  await alice.transact([{ 'task/title': 'Lunch', 'task/project': 'social' }]);
  await alice.whenSynced();
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Audit (Q3)', 'Rotate keys']);

  console.log('03-interval: after the interval bob holds', titles(bob).join(', '));
  await Promise.all([alice.close(), bob.close()]);
  await server.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
