/**
 * docs/client.md, "History and asOf": every version of an attribute, and the
 * database as of a transaction, a Date or epoch milliseconds.
 *
 * Run: npx tsx examples/client/04-history-asof.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { Db, SchemaInput } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true }, // keeps every version
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/estimate': { ':db/valueType': ':db.type/number' }, // no history: only the live version is kept
} as const satisfies SchemaInput;

export async function main(): Promise<void> {
  // A clock we move by hand, so the times below are exact.
  let ms = Date.UTC(2025, 0, 1, 9, 0, 0);
  const client = await createClient({ schema, now: () => ms });

  const r1 = await client.transact([{ ':db/id': 't', 'task/title': 'Draft', 'task/tags': ['a', 'b'], 'task/estimate': 1 }]);
  const t = r1.tempids.t ?? assert.fail('t');
  const tx1 = r1.txId ?? assert.fail('tx1');
  const at1 = ms;
  ms += 60_000;
  const r2 = await client.transact([
    [':db/add', t, 'task/title', 'Final'],
    [':db/retract', t, 'task/tags', 'a'],
    [':db/add', t, 'task/estimate', 2],
  ]);
  const tx2 = r2.txId ?? assert.fail('tx2');
  ms += 60_000;
  const r3 = await client.transact([[':db/retract', t, 'task/title']]);
  const tx3 = r3.txId ?? assert.fail('tx3');

  // --- history(entity, attribute): oldest first ---
  const title = client.history(t, 'task/title');
  assert.deepEqual(
    title.map(({ kind, value, tx, live, supersededBy, pending }) => ({ kind, value, tx, live, supersededBy, pending })),
    [
      { kind: 'assert', value: 'Draft', tx: tx1, live: false, supersededBy: tx2, pending: true },
      { kind: 'assert', value: 'Final', tx: tx2, live: false, supersededBy: tx3, pending: true },
      { kind: 'retract', value: undefined, tx: tx3, live: false, supersededBy: null, pending: true }, // retracted every value
    ],
  );
  assert.deepEqual(title[0]?.time, new Date(at1)); // when it was written (the transaction's clock)
  assert.equal(title[0]?.replica, client.replicaId);
  // pending: written here and not yet accepted by a server.

  // Cardinality many: value by value, retractions included.
  const tags = client.history(t, 'task/tags').map(({ kind, value, live }) => [kind, value, live]);
  assert.deepEqual(tags, [
    ['assert', 'a', false],
    ['assert', 'b', true],
    ['retract', 'a', false],
  ]);

  // Without ':datsync/history', only the live version is kept.
  assert.deepEqual(
    client.history(t, 'task/estimate').map(({ value, tx }) => [value, tx]),
    [[2, tx2]],
  );
  // Any entity reference works: eid, stable id, lookup ref.
  assert.equal(client.history(client.entityId(t) ?? assert.fail('id'), 'task/title').length, 3);

  // --- asOf(point): a DataScript database as it stood at a transaction, a Date, or epoch ms ---
  // Query it through q, as an extra database input ($then), or with the datascript package directly.
  const titleIn = (db: Db): unknown => client.q('[:find ?v . :in $ $then ?e :where [$then ?e "task/title" ?v]]', db, t);
  const estimateIn = (db: Db): unknown => client.q('[:find ?v . :in $ $then ?e :where [$then ?e "task/estimate" ?v]]', db, t);

  assert.equal(titleIn(client.asOf(tx1)), 'Draft'); // a transaction: including it
  assert.equal(titleIn(client.asOf(tx2)), 'Final');
  assert.equal(titleIn(client.asOf(tx3)), null);
  assert.equal(titleIn(client.asOf(new Date(at1))), 'Draft'); // a Date: the end of that millisecond
  assert.equal(titleIn(client.asOf(at1 + 59_999)), 'Draft'); // epoch milliseconds
  assert.equal(titleIn(client.asOf(at1 + 60_000)), 'Final');
  assert.equal(titleIn(client.asOf(at1 - 1)), null); // before anything was written

  // An attribute without history shows only if its current value was written by then.
  assert.equal(estimateIn(client.asOf(tx1)), null); // 1 was overwritten and forgotten
  assert.equal(estimateIn(client.asOf(tx2)), 2);

  // The current database is unaffected.
  assert.equal(client.q('[:find ?v . :in $ ?e :where [?e "task/title" ?v]]', t), null);

  console.log('04-history-asof: task/title history', JSON.stringify(title.map((i) => [i.kind, i.value ?? null, i.time.toISOString()])));
  console.log('04-history-asof: title as of tx1/tx2/tx3', titleIn(client.asOf(tx1)), titleIn(client.asOf(tx2)), titleIn(client.asOf(tx3)));
  await client.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
