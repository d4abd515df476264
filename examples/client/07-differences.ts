/**
 * docs/client.md, "Differences from DataScript": JSON arrays are one value,
 * lookup refs that resolve to nothing, nested maps only inside entity maps,
 * null is not a value, -0 equals 0, and a declared, typed schema.
 *
 * Run: npx tsx examples/client/07-differences.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { SchemaInput } from '../../src/client/index.js';
import { createClient, DatsyncError } from '../../src/client/index.js';

const schema = {
  'doc/title': { ':db/valueType': ':db.type/string' },
  'doc/layout': { ':db/valueType': ':db.type/json' },
  'doc/snippets': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/json' },
  'doc/labels': { ':db/cardinality': ':db.cardinality/many' }, // untyped
  'doc/score': { ':db/valueType': ':db.type/number' },
  'doc/slug': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'doc/author': { ':db/valueType': ':db.type/ref' },
  'user/name': { ':db/valueType': ':db.type/string' },
} as const satisfies SchemaInput;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DatsyncError) return error.code;
    throw error;
  }
  return 'accepted';
}

export async function main(): Promise<void> {
  const client = await createClient({ schema });

  // --- JSON arrays are one value, also for cardinality many (DataScript would take each item as a value) ---
  const r = await client.transact([
    {
      ':db/id': 'd',
      'doc/slug': 'intro',
      'doc/layout': [1, 2, 3], // the value is the array
      'doc/snippets': ['a', 'b'], // ONE value: the array ["a", "b"]
      'doc/labels': ['a', 'b'], // not JSON: two values
    },
  ]);
  const d = r.tempids.d ?? assert.fail('d');
  assert.deepEqual(client.pull('["doc/layout" "doc/snippets" "doc/labels"]', d), {
    'doc/layout': [1, 2, 3],
    'doc/snippets': [['a', 'b']],
    'doc/labels': ['a', 'b'],
  });
  // To give a JSON attribute several values, use one form per value.
  await client.transact([[':db/add', d, 'doc/snippets', { kind: 'note' }]]);
  assert.equal(client.q<unknown[]>('[:find [?s ...] :where [_ "doc/snippets" ?s]]').length, 2);
  // JSON values compare structurally, whatever the key order.
  assert.equal((await client.transact([[':db/add', d, 'doc/snippets', { kind: 'note' }]])).txId, null);
  // Objects and arrays need ':db.type/json'; an untyped attribute takes strings, numbers, bigints and booleans.
  assert.equal(await codeOf(client.transact([[':db/add', d, 'doc/labels', { a: 1 }]])), 'invalid-value');

  // --- a lookup ref that resolves to nothing is refused, in retractions too (DataScript ignores those) ---
  assert.equal(await codeOf(client.transact([[':db/retract', ['doc/slug', 'missing'], 'doc/score', 1]])), 'unknown-entity');
  assert.equal(await codeOf(client.transact([[':db/add', ['doc/slug', 'missing'], 'doc/score', 1]])), 'unknown-entity');
  // ...except in a retraction that an earlier op of the same transaction invalidated: as in DataScript, it does nothing.
  await client.transact([[':db/add', d, 'doc/score', 5]]);
  await client.transact([
    [':db/add', ['doc/slug', 'intro'], 'doc/slug', 'introduction'], // moves the value the lookup ref below names
    [':db/retract', ['doc/slug', 'intro'], 'doc/score', 5], // resolves to nothing now: skipped
  ]);
  assert.deepEqual(client.pull('["doc/slug" "doc/score"]', d), { 'doc/slug': 'introduction', 'doc/score': 5 });
  // (An addition through it would be refused with unknown-entity.)

  // --- nested maps only inside entity maps ---
  assert.equal(await codeOf(client.transact([[':db/add', d, 'doc/author', { 'user/name': 'Ann' }]])), 'invalid-transaction');
  await client.transact([{ ':db/id': d, 'doc/author': { 'user/name': 'Ann' } }]); // fine in an entity map
  assert.deepEqual(client.pull('[{"doc/author" ["user/name"]}]', d), { 'doc/author': { 'user/name': 'Ann' } });

  // --- null is not a value: writing it is refused (never read as "retract"); inside JSON it is fine ---
  assert.equal(await codeOf(client.transact([{ ':db/id': d, 'doc/title': null }])), 'invalid-value');
  assert.equal(await codeOf(client.transact([[':db/add', d, 'doc/layout', null]])), 'invalid-value');
  await client.transact([[':db/add', d, 'doc/layout', { sidebar: null }]]);
  assert.deepEqual(client.pull('["doc/layout"]', d), { 'doc/layout': { sidebar: null } });
  // To remove a value, retract it.
  await client.transact([[':db/retract', d, 'doc/layout']]);
  assert.equal(client.pull('["doc/layout"]', d), null);

  // --- -0 equals 0, as in DataScript ---
  await client.transact([[':db/add', d, 'doc/score', 0]]);
  assert.equal((await client.transact([[':db/add', d, 'doc/score', -0]])).txId, null); // the same value: a no-op
  assert.deepEqual(client.q('[:find ?e :where [?e "doc/score" -0]]'), [[d]]);
  await client.transact([[':db/retract', d, 'doc/score', -0]]); // retracts the 0
  assert.equal(client.pull('["doc/score"]', d), null);

  // --- every attribute is declared, and typed attributes are checked (DataScript checks neither) ---
  assert.equal(await codeOf(client.transact([{ 'doc/tags': ['x'] }])), 'unknown-attribute');
  assert.equal(await codeOf(client.transact([{ 'doc/score': '10' }])), 'invalid-value');

  console.log('07-differences:', JSON.stringify(client.pull('[*]', d)));
  await client.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
