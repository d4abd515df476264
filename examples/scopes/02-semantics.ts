/**
 * docs/scopes.md, "What a client holds": scope results intersected with the
 * read rules; entities entering and leaving a scope as another client
 * changes them; a client's own pending writes to an entity that left every
 * scope are kept and still reach the server.
 *
 * Run: npx tsx examples/scopes/02-semantics.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { MemoryStore } from '../../src/client/index.js';
import type { Permissions } from '../../src/server/index.js';
import { pullDb } from '../../src/server/index.js';
import type { User } from './support/setting.js';
import { startServer, titles, user } from './support/setting.js';

/** A private task is its owner's alone; everything else is public. */
const permissions: Permissions<User> = {
  read: {
    'tag/*': true,
    'task/*': {
      allow: ({ identity, eid, db }) => {
        const task = pullDb(db, '["task/private" "task/owner"]', eid);
        return task?.['task/private'] !== true || task['task/owner'] === identity.sub;
      },
      // It reads only these attributes of the task itself: the server re-checks a task when they change.
      dependsOn: ['task/private', 'task/owner'],
      local: true,
    },
  },
  write: { '*': true },
};

export async function main(): Promise<void> {
  const server = await startServer({ permissions });
  const alice = await user(server.url, 'alice');
  await alice.transact([
    { 'task/title': 'Ship v2', 'task/project': 'p1', 'task/owner': 'alice' },
    { 'task/title': 'Salaries', 'task/project': 'p1', 'task/owner': 'alice', 'task/private': true },
    { ':db/id': 'fix', 'task/title': 'Fix login', 'task/project': 'p2', 'task/owner': 'alice' },
  ]);
  await alice.whenSynced();
  const p1 = [{ name: 'p1', query: '[:find ?e :where [?e "task/project" "p1"]]' }];

  // The scope selects two tasks; bob may read one of them.
  const store = new MemoryStore();
  const bob = await user(server.url, 'bob', { scopes: p1, store });
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Ship v2']);

  // Another client's change moves a task into bob's scope, and later out of it.
  const fix = alice.q<number>('[:find ?e . :where [?e "task/title" "Fix login"]]');
  await alice.transact([[':db/add', fix, 'task/project', 'p1']]);
  await alice.whenSynced();
  await bob.whenSynced();
  assert.deepEqual(titles(bob), ['Fix login', 'Ship v2']);

  // Bob writes a note while offline (the same replica, reopened without a server)...
  await bob.close();
  const offline = await user(null, 'bob', { store });
  const task = offline.q<number>('[:find ?e . :where [?e "task/title" "Fix login"]]');
  await offline.transact([[':db/add', task, 'task/note', 'reproduced on Safari']]);
  await offline.close();
  // ...meanwhile the task leaves his scope.
  await alice.transact([[':db/add', fix, 'task/project', 'p2']]);
  await alice.whenSynced();

  // Back online: the task is evicted from bob's replica, but his pending note was kept and sent.
  const back = await user(server.url, 'bob', { store });
  await back.whenSynced();
  assert.deepEqual(titles(back), ['Ship v2']);
  await alice.whenSynced();
  assert.equal(alice.q('[:find ?n . :in $ ?e :where [?e "task/note" ?n]]', fix), 'reproduced on Safari');

  console.log('02-semantics: bob holds', titles(back).join(', '), '| alice got the note');
  await Promise.all([alice.close(), back.close()]);
  await server.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
