/**
 * docs/client.md, "Reactive queries": subscribe and subscribePull, when they
 * fire and when they do not, and unsubscribing.
 *
 * Run: npx tsx examples/client/03-reactive.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { SchemaInput } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/owner': { ':db/valueType': ':db.type/ref' },
  'user/name': { ':db/valueType': ':db.type/string' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
} as const satisfies SchemaInput;

export async function main(): Promise<void> {
  const client = await createClient({ schema });
  const r = await client.transact([
    { ':db/id': 'ann', 'user/name': 'Ann', 'user/email': 'ann@example.com' },
    { ':db/id': 't1', 'task/title': 'Buy milk', 'task/done': false, 'task/owner': 'ann' },
  ]);
  const ann = r.tempids.ann ?? assert.fail('ann');
  const t1 = r.tempids.t1 ?? assert.fail('t1');

  // --- subscribe: called at once, then whenever a transaction changes the result ---
  const open: string[][][] = [];
  const stop = client.subscribe<string[][]>(
    '[:find ?title :in $ ?done :where [?t "task/title" ?title] [?t "task/done" ?done]]',
    [false],
    (rows) => open.push(rows),
  );
  assert.deepEqual(open, [[['Buy milk']]]); // the current result, synchronously

  // A change to an attribute the query names, which changes the result: one call.
  // Callbacks run synchronously inside transact(), before its promise resolves.
  const writing = client.transact([{ ':db/id': 'dog', 'task/title': 'Walk the dog', 'task/done': false }]);
  assert.equal(open.length, 2);
  const dog = (await writing).tempids.dog ?? assert.fail('dog');
  assert.deepEqual(new Set(open[1]?.map(([title]) => title)), new Set(['Buy milk', 'Walk the dog']));

  // Not called: a transaction on attributes the query does not name (it is not even re-run)...
  await client.transact([[':db/add', ann, 'user/name', 'Ann B.']]);
  // ...a transaction that changes nothing...
  await client.transact([[':db/add', t1, 'task/done', false]]);
  // ...and a change whose result is equal (a relation is a set: a second "Buy milk" adds no row).
  await client.transact([{ 'task/title': 'Buy milk', 'task/done': false }]);
  assert.equal(open.length, 2);

  await client.transact([[':db/add', dog, 'task/done', true]]);
  assert.deepEqual(open.at(-1), [['Buy milk']]);

  // After unsubscribing, nothing.
  stop();
  await client.transact([{ 'task/title': 'Unseen', 'task/done': false }]);
  assert.equal(open.length, 3);
  await client.transact([[':db/add', t1, 'task/done', true]]);

  // --- subscribePull: one entity; by eid, stable id or lookup ref ---
  const pulls: Array<Record<string, unknown> | null> = [];
  client.subscribePull('["task/title" "task/done" {"task/owner" ["user/name"]}]', t1, (entity) => pulls.push(entity));
  assert.deepEqual(pulls, [{ 'task/title': 'Buy milk', 'task/done': true, 'task/owner': { 'user/name': 'Ann B.' } }]);

  await client.transact([{ 'task/title': 'Another task' }]); // another entity: not called
  assert.equal(pulls.length, 1);
  await client.transact([[':db/add', ann, 'user/name', 'Annie']]); // a nested entity of the pattern changed: called
  assert.equal(pulls.length, 2);
  await client.transact([[':db/retractEntity', t1]]); // the entity is gone: called with null
  assert.deepEqual(pulls.at(-1), null);

  // A lookup ref is re-resolved: the pull follows the value to whichever entity holds it.
  const byEmail: Array<Record<string, unknown> | null> = [];
  client.subscribePull('["user/name"]', ['user/email', 'ann@example.com'], (user) => byEmail.push(user));
  await client.transact([
    [':db/retract', ann, 'user/email', 'ann@example.com'],
    { 'user/name': 'New Ann', 'user/email': 'ann@example.com' },
  ]);
  assert.deepEqual(byEmail, [{ 'user/name': 'Annie' }, { 'user/name': 'New Ann' }]);

  // A query whose every clause reads the one entity given as an eid input re-runs only when that entity changes.
  const titles: Array<string | null> = [];
  client.subscribe<string | null>('[:find ?t . :in $ ?e :where [?e "task/title" ?t]]', [dog], (title) => titles.push(title));
  await client.transact([{ 'task/title': 'Yet another task' }]); // another entity: not even re-run
  await client.transact([[':db/add', dog, 'task/title', 'Walk the dogs']]);
  assert.deepEqual(titles, ['Walk the dog', 'Walk the dogs']);

  // A query given a lookup ref re-runs on every write of its attribute, and follows the value to its new holder.
  const names: Array<string | null> = [];
  const byRef = '[:find ?n . :in $ ?u :where [?u "user/name" ?n]]';
  client.subscribe<string | null>(byRef, [['user/email', 'ann@example.com']], (name) => names.push(name));
  await client.transact([
    [':db/retract', ['user/email', 'ann@example.com'], 'user/email', 'ann@example.com'],
    { 'user/name': 'Third Ann', 'user/email': 'ann@example.com' },
  ]);
  assert.deepEqual(names, ['New Ann', 'Third Ann']);

  console.log('03-reactive: query results', JSON.stringify(open));
  console.log('03-reactive: pull results', JSON.stringify(pulls));
  await client.close(); // stops every subscription
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
