/**
 * docs/scopes.md, "Declaring scopes": scopes given to createClient, added
 * with scope() and dropped with its handle or dropScope(), replaced with
 * setScopes(); Datalog scopes (with inputs, with follow), pull scopes, and
 * an always-synced categorical scope (every tag).
 *
 * Run: npx tsx examples/scopes/01-declare.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { startServer, titles, user } from './support/setting.js';

export async function main(): Promise<void> {
  const server = await startServer();
  const alice = await user(server.url, 'alice');
  const made = await alice.transact([
    { 'tag/name': 'urgent' },
    { 'tag/name': 'later' },
    { ':db/id': 'launch', 'task/title': 'Launch', 'task/project': 'p1' },
    { 'task/title': 'Write docs', 'task/project': 'p1', 'task/parent': 'launch' },
    { 'task/title': 'Fix login', 'task/project': 'p2', 'task/parent': 'launch' },
    { 'task/title': 'Plan offsite', 'task/project': 'p3' },
  ]);
  const launch = made.entityIds.launch ?? assert.fail('launch');
  await alice.whenSynced();

  // Scopes given at creation are stored with the replica: a reopened client keeps them.
  const bob = await user(server.url, 'bob', {
    scopes: [{ name: 'tags', query: '[:find ?e :where [?e "tag/name"]]' }], // every tag, always
  });
  await bob.whenSynced();
  assert.deepEqual(bob.q<string[]>('[:find [?n ...] :where [_ "tag/name" ?n]]').sort(), ['later', 'urgent']);
  assert.deepEqual(titles(bob), []); // nothing else was asked for

  // A Datalog scope: its first find variable names the entities to check out.
  const p1 = await bob.scope('p1', { query: '[:find ?e :in $ ?project :where [?e "task/project" ?project]]', inputs: ['p1'] });
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Launch', 'Write docs']);

  // A pull scope: the entity and every entity its pattern reaches (here: its subtasks).
  await bob.scope('launch', { pull: '["task/title" {"task/_parent" ["task/title"]}]', entity: launch });
  await p1.drop();
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Fix login', 'Launch', 'Write docs']);

  // follow: the result entities, and what they refer to through these attributes.
  await bob.setScopes([
    { name: 'tags', query: '[:find ?e :where [?e "tag/name"]]' },
    { name: 'p2', query: '[:find ?e :where [?e "task/project" "p2"]]', follow: ['task/parent'] },
  ]);
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Fix login', 'Launch']);
  assert.deepEqual(
    bob.scopes?.map((scope) => scope.name),
    ['tags', 'p2'],
  );

  await bob.dropScope('p2');
  await bob.whenSynced();
  assert.deepEqual(titles(bob), []);
  // null: no scopes, everything the client may read.
  await bob.setScopes(null);
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Fix login', 'Launch', 'Plan offsite', 'Write docs']);

  console.log('01-declare: scopes', JSON.stringify(bob.scopes), '| tasks', titles(bob).join(', '));
  await Promise.all([alice.close(), bob.close()]);
  await server.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
