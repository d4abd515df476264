/**
 * docs/client.md, "Writing": every form of transaction data and every way to
 * name an entity, plus DataScript's in-order meaning inside one transaction
 * and the elimination of no-ops.
 *
 * Run: npx tsx examples/client/02-transact-forms.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { SchemaInput } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';

const schema = {
  'user/name': { ':db/valueType': ':db.type/string' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'user/handle': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/value' },
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
  'task/owner': { ':db/valueType': ':db.type/ref' },
  'task/watchers': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/ref' },
  'task/subtasks': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/ref', ':db/isComponent': true },
  'task/estimate': { ':db/valueType': ':db.type/number' },
  'task/after': { ':db/valueType': ':db.type/ref' },
} as const satisfies SchemaInput;

export async function main(): Promise<void> {
  const client = await createClient({ schema });
  const eidOf = (report: { readonly tempids: Readonly<Record<string, number>> }, tempid: string): number =>
    report.tempids[tempid] ?? assert.fail(`no eid for ${tempid}`);

  // --- entity maps: a string tempid, a negative-number tempid, no :db/id at all ---
  const people = await client.transact([
    { ':db/id': 'ann', 'user/name': 'Ann', 'user/email': 'ann@example.com', 'user/handle': 'ann' },
    { ':db/id': -1, 'user/name': 'Bob', 'user/email': 'bob@example.com' },
    { 'user/name': 'Cy' }, // a new entity, not listed in tempids
  ]);
  assert.deepEqual(Object.keys(people.tempids).sort(), ['-1', 'ann']); // a negative tempid is reported as its decimal text
  const ann = eidOf(people, 'ann');
  const bob = eidOf(people, '-1');
  const bobId = client.entityId(bob) ?? assert.fail('bob has a stable id');

  // --- nested maps (new entities, linked), arrays for cardinality many, a tempid used by another form ---
  const created = await client.transact([
    {
      ':db/id': 'task',
      'task/title': 'Ship v1',
      'task/tags': ['release', 'urgent'], // an array: two values
      'task/owner': ann, // an eid from an earlier transaction
      'task/subtasks': [
        { ':db/id': 'sub', 'task/title': 'Write notes' }, // a nested map may carry its own tempid
        { 'task/title': 'Tag the release' },
      ],
      'task/watchers': [bob, ['user/email', 'ann@example.com'], { 'user/name': 'Dee' }], // an eid, a lookup ref, a nested map
    },
    [':db/add', 'sub', 'task/estimate', 2], // the nested map's tempid, used by another form
  ]);
  const task = eidOf(created, 'task');
  const pulled = client.pull('["task/title" "task/tags" {"task/subtasks" ["task/title" "task/estimate"]}]', task);
  assert.deepEqual(pulled?.['task/tags'], ['release', 'urgent']);
  const subtasks = (pulled?.['task/subtasks'] ?? []) as Array<Record<string, unknown>>;
  assert.deepEqual(subtasks.map((s) => s['task/title']).sort(), ['Tag the release', 'Write notes']);
  assert.equal(client.q<number[]>('[:find [?w ...] :in $ ?t :where [?t "task/watchers" ?w]]', task).length, 3);
  assert.equal(client.q('[:find ?o . :in $ ?t :where [?t "task/owner" ?o]]', task), ann);

  // --- a single value for a cardinality-many attribute is one value ---
  await client.transact([{ ':db/id': task, 'task/tags': 'docs' }]);
  assert.deepEqual(client.q<string[]>('[:find [?g ...] :in $ ?t :where [?t "task/tags" ?g]]', task).sort(), ['docs', 'release', 'urgent']);

  // --- :db/add with every kind of entity reference ---
  const added = await client.transact([
    [':db/add', task, 'task/estimate', 8], // an eid
    [':db/add', ['user/email', 'ann@example.com'], 'user/name', 'Ann B.'], // a lookup ref on a unique attribute
    [':db/add', ['datsync/id', bobId], 'user/handle', 'bob'], // a stable id: names any entity
    [':db/add', task, 'task/owner', ['datsync/id', bobId]], // lookup refs work as ref values too
    [':db/add', 'next', 'task/title', 'Plan v2'], // a tempid
    [':db/add', 'next', 'task/after', task],
  ]);
  const next = eidOf(added, 'next');
  assert.deepEqual(client.pull('["task/estimate" {"task/owner" ["user/handle"]}]', task), {
    'task/estimate': 8,
    'task/owner': { 'user/handle': 'bob' },
  });
  assert.deepEqual(client.pull('["user/name"]', ann), { 'user/name': 'Ann B.' });

  // --- upsert: a tempid (or a map without :db/id) carrying a held unique-identity value writes to its holder ---
  const upsert = await client.transact([
    { ':db/id': 'someone', 'user/email': 'bob@example.com', 'user/name': 'Robert' },
    { 'user/email': 'ann@example.com', 'user/handle': 'annie' },
  ]);
  assert.deepEqual(upsert.tempids, { someone: bob }); // reported under the tempid, pointing at the existing entity
  assert.deepEqual(client.pull('["user/name" "user/handle"]', bob), { 'user/name': 'Robert', 'user/handle': 'bob' });
  assert.deepEqual(client.pull('["user/handle"]', ann), { 'user/handle': 'annie' });

  // --- retractions ---
  await client.transact([
    [':db/retract', task, 'task/tags', 'urgent'], // one value
    [':db/retract', task, 'task/estimate'], // without a value: every value of the attribute
    [':db.fn/retractAttribute', task, 'task/watchers'], // the same, DataScript's function form
  ]);
  assert.deepEqual(client.pull('["task/tags" "task/estimate" "task/watchers"]', task), { 'task/tags': ['docs', 'release'] });

  // :db/retractEntity retracts the entity's values, references to it, and its components (recursively).
  const subEid = eidOf(created, 'sub');
  const retracted = await client.transact([[':db/retractEntity', task]]);
  assert.equal(client.pull('["task/title" "task/tags"]', task), null);
  assert.equal(client.pull('["task/title"]', subEid), null); // a component goes with its owner
  assert.deepEqual(client.pull('["task/title" "task/after"]', next), { 'task/title': 'Plan v2' }); // references to it go too
  assert.ok(retracted.datoms.every((d) => !d.added));
  // (":db.fn/retractEntity" is accepted as a synonym.)

  // --- DataScript's in-order meaning inside one transaction ---
  const ordered = await client.transact([
    [':db/add', 'x', 'task/title', 'first'],
    [':db/add', 'x', 'task/title', 'second'], // the last assertion wins
    [':db/add', 'x', 'task/tags', 'a'],
    [':db/retract', 'x', 'task/tags', 'a'], // added and retracted: nothing is written
    [':db/retract', ['user/email', 'ann@example.com'], 'user/handle', 'annie'],
    [':db/add', bob, 'user/handle', 'annie'], // a unique value released earlier in the transaction may be taken
  ]);
  assert.deepEqual(client.pull('["task/title" "task/tags"]', eidOf(ordered, 'x')), { 'task/title': 'second' });
  assert.deepEqual(client.pull('["user/handle"]', bob), { 'user/handle': 'annie' });
  assert.equal(ordered.datoms.filter((d) => d.a === 'task/title').length, 1);

  // --- no-ops are dropped: a transaction that changes nothing has txId null and writes nothing ---
  const pendingBefore = client.pendingCount;
  const noop = await client.transact([
    [':db/add', bob, 'user/name', 'Robert'], // already the value
    [':db/retract', bob, 'task/tags', 'nope'], // not there
    { ':db/id': 'up', 'user/email': 'bob@example.com' }, // an upsert that writes nothing new
  ]);
  assert.equal(noop.txId, null);
  assert.deepEqual(noop.datoms, []);
  assert.equal(noop.dbAfter, noop.dbBefore);
  assert.deepEqual(noop.tempids, { up: bob });
  assert.equal(client.pendingCount, pendingBefore);

  console.log(
    '02-transact-forms: people',
    JSON.stringify(client.q('[:find ?n ?h :where [?u "user/name" ?n] [(get-else $ ?u "user/handle" "-") ?h]]')),
  );
  console.log('02-transact-forms: retractEntity removed', retracted.datoms.length, 'datoms; no-op txId', noop.txId);
  await client.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
