/**
 * docs/client.md, "Opening a client" and "Reading": createClient, a first
 * transaction and its TxReport, db / q / pull, entityId / eid, a reopen on
 * the same storage, and close.
 *
 * Run: npx tsx examples/client/01-basics.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { SchemaInput } from '../../src/client/index.js';
import { createClient, MemoryStorage, MemoryStore } from '../../src/client/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
  'task/owner': { ':db/valueType': ':db.type/ref' },
  'user/name': { ':db/valueType': ':db.type/string' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
} as const satisfies SchemaInput;

export async function main(): Promise<void> {
  // In a browser: `storage: await openIndexedDbStorage('tasks')`. A MemoryStore
  // outlives the storage handles opened on it, which lets us reopen below.
  const store = new MemoryStore();
  const client = await createClient({ schema, storage: new MemoryStorage(store) });
  assert.match(client.replicaId, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(client.status, 'offline'); // no `url`: the client stays local

  // --- transact and its report ---
  const report = await client.transact([
    { ':db/id': 'ann', 'user/name': 'Ann', 'user/email': 'ann@example.com' },
    { ':db/id': 'task', 'task/title': 'Write the guide', 'task/done': false, 'task/tags': ['docs', 'v1'], 'task/owner': 'ann' },
  ]);
  const ann = report.tempids.ann ?? assert.fail('no eid for tempid ann');
  const task = report.tempids.task ?? assert.fail('no eid for tempid task');
  const taskId = report.entityIds.task ?? assert.fail('no stable id for tempid task');

  assert.equal(report.txId, `${client.replicaId}:1`); // "<replica>:<counter>"
  assert.ok(taskId.startsWith(`${client.replicaId}.`)); // "<replica>.<base36 counter>"
  assert.equal(report.datoms.length, 7); // 2 + 5 datoms added (the datsync/id bookkeeping is not listed)
  assert.deepEqual(
    report.datoms.find((d) => d.a === 'task/owner'),
    { e: task, a: 'task/owner', v: ann, added: true }, // refs are eids in the projection
  );
  assert.equal(report.dbAfter, client.db()); // Db values are immutable DataScript databases
  assert.notEqual(report.dbBefore, report.dbAfter);
  assert.equal(client.pendingCount, 1); // durable locally, not yet decided by a server

  // --- q: Datalog as an EDN string; attributes are strings ---
  const titles = client.q<string[][]>('[:find ?title :where [?t "task/title" ?title]]');
  assert.deepEqual(titles, [['Write the guide']]);
  const owner = client.q<string | null>(
    '[:find ?name . :in $ ?title :where [?t "task/title" ?title] [?t "task/owner" ?u] [?u "user/name" ?name]]',
    'Write the guide',
  );
  assert.equal(owner, 'Ann');

  // --- pull: by eid, by stable id, or by lookup ref ---
  const pattern = '["task/title" "task/tags" {"task/owner" ["user/name"]}]';
  const expected = { 'task/title': 'Write the guide', 'task/tags': ['docs', 'v1'], 'task/owner': { 'user/name': 'Ann' } };
  assert.deepEqual(client.pull(pattern, task), expected);
  assert.deepEqual(client.pull(pattern, taskId), expected);
  assert.deepEqual(client.pull(pattern, ['datsync/id', taskId]), expected);
  assert.deepEqual(client.pull('["user/name"]', ['user/email', 'ann@example.com']), { 'user/name': 'Ann' });
  assert.equal(client.pull('["user/name"]', ['user/email', 'nobody@example.com']), null);
  // Every entity carries its stable id as the attribute "datsync/id".
  assert.equal(client.q('[:find ?id . :in $ ?e :where [?e "datsync/id" ?id]]', task), taskId);

  // --- entityId / eid: eids are local to this client, stable ids are global ---
  assert.equal(client.entityId(task), taskId);
  assert.equal(client.eid(taskId), task);
  assert.equal(client.eid(['user/email', 'ann@example.com']), ann);
  assert.equal(client.eid(['user/email', 'nobody@example.com']), undefined);
  assert.equal(client.entityId(9999), undefined);

  // --- durable when transact resolves: a client reopened on the same storage sees everything ---
  await client.close();
  const reopened = await createClient({ schema, storage: new MemoryStorage(store) });
  assert.equal(reopened.replicaId, client.replicaId);
  assert.deepEqual(reopened.pull(pattern, taskId), expected);
  assert.equal(reopened.pendingCount, 1); // still waiting for a server
  const next = await reopened.transact([[':db/add', ['datsync/id', taskId], 'task/done', true]]);
  assert.equal(next.txId, `${client.replicaId}:8`); // counters continue: the first transaction used dots 1 to 7

  console.log('01-basics: titles', JSON.stringify(titles), 'owner', owner);
  console.log('01-basics: task', taskId, '→', JSON.stringify(reopened.pull('[*]', taskId)));
  await reopened.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
