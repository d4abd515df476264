/**
 * docs/client.md, "Conflicts": two replicas writing offline, concurrent
 * siblings, resolving a conflict by writing the attribute again, add-wins
 * sets, and a unique value claimed on both replicas.
 *
 * In an app the server relays transactions between replicas. This example
 * has no server, so `relay` hands one client's local transactions to the
 * other through an INTERNAL hook (`Client.replica`), for illustration only.
 *
 * Run: npx tsx examples/client/05-conflicts.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { Client } from '../../src/client/client.js'; // internal
import type { ConflictInfo, DatsyncClient, SchemaInput } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
  'user/name': { ':db/valueType': ':db.type/string' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
} as const satisfies SchemaInput;

/** What the server does in an app: deliver `from`'s transactions to `to`. Internal API, examples only. */
function relay(from: DatsyncClient, to: DatsyncClient): void {
  (to as Client).replica.applyRemote((from as Client).replica.state.pending());
}

export async function main(): Promise<void> {
  let ms = Date.UTC(2025, 0, 1);
  const now = (): number => ms;
  const a = await createClient({ schema, now });
  const b = await createClient({ schema, now });

  // A creates a task; B receives it.
  const created = await a.transact([{ ':db/id': 't', 'task/title': 'Plan', 'task/tags': ['work'] }]);
  const task = created.entityIds.t ?? assert.fail('t');
  relay(a, b);
  const ref = ['datsync/id', task] as const; // names the task on every replica

  const onB: unknown[] = [];
  b.subscribePull('["task/title"]', task, (pulled) => onB.push(pulled?.['task/title']));

  // --- both write the same cardinality-one attribute without having seen each other: siblings ---
  ms += 1_000;
  const fromA = await a.transact([
    [':db/add', ref, 'task/title', 'Plan (A)'],
    [':db/add', ref, 'task/tags', 'from-a'],
  ]);
  ms += 1_000;
  const fromB = await b.transact([
    [':db/add', ref, 'task/title', 'Plan (B)'],
    [':db/add', ref, 'task/tags', 'from-b'],
  ]);
  relay(a, b);
  relay(b, a);

  for (const client of [a, b]) {
    // Both show the same winner: the later write (by hybrid logical clock, then replica id).
    assert.deepEqual(client.pull('["task/title"]', task), { 'task/title': 'Plan (B)' });
    // Sets merge: concurrent additions are no conflict (an add survives a removal that had not seen it).
    assert.deepEqual(client.q<string[]>('[:find [?g ...] :in $ ?t :where [?t "task/tags" ?g]]', client.eid(task)).sort(), [
      'from-a',
      'from-b',
      'work',
    ]);
    const [conflict, ...others] = client.conflicts();
    assert.deepEqual(others, []);
    assert.ok(conflict?.kind === 'siblings');
    assert.equal(conflict.entityId, task);
    assert.equal(conflict.entity, client.eid(task)); // the eid on this client
    assert.equal(conflict.attribute, 'task/title');
    assert.equal(conflict.value, 'Plan (B)'); // the value shown
    assert.deepEqual(
      conflict.siblings.map((s) => [s.value, s.tx, s.replica]),
      [
        ['Plan (B)', fromB.txId, b.replicaId],
        ['Plan (A)', fromA.txId, a.replicaId],
      ],
    );
    assert.deepEqual(client.conflicts(task), client.conflicts()); // conflicts(entity): only that entity's
  }
  assert.deepEqual(onB, ['Plan', 'Plan (B)']); // subscriptions fire for remote transactions too

  // --- resolving: write the attribute again (any value, even the one shown); the write supersedes every sibling ---
  ms += 1_000;
  await a.transact([[':db/add', ref, 'task/title', 'Plan (A+B)']]);
  assert.deepEqual(a.conflicts(), []);
  assert.equal(b.conflicts().length, 1); // B has not received the resolution yet
  relay(a, b);
  for (const client of [a, b]) {
    assert.deepEqual(client.conflicts(), []);
    assert.deepEqual(client.pull('["task/title"]', task), { 'task/title': 'Plan (A+B)' });
  }
  // The siblings stay in the history (the attribute has ':datsync/history').
  assert.deepEqual(
    b.history(task, 'task/title').map((i) => [i.value, i.live]),
    [
      ['Plan', false],
      ['Plan (A)', false],
      ['Plan (B)', false],
      ['Plan (A+B)', true],
    ],
  );

  // --- a unique value claimed on both replicas offline ---
  const samA = await a.transact([{ ':db/id': 'u', 'user/name': 'Sam on A', 'user/email': 'sam@example.com' }]);
  const samB = await b.transact([{ ':db/id': 'u', 'user/name': 'Sam on B', 'user/email': 'sam@example.com' }]);
  const idA = samA.entityIds.u ?? assert.fail('u');
  const idB = samB.entityIds.u ?? assert.fail('u');
  relay(a, b);
  relay(b, a);
  // Until the server decides, every replica shows the value on the claimant whose stable id sorts first.
  const [holder, other] = idA < idB ? [idA, idB] : [idB, idA];
  for (const client of [a, b]) {
    assert.equal(client.q('[:find ?id . :where [?u "user/email" "sam@example.com"] [?u "datsync/id" ?id]]'), holder);
    assert.equal(client.pull('["user/email"]', other), null); // the other claimant keeps its other attributes only
    const unique = client.conflicts().filter((c): c is Extract<ConflictInfo, { kind: 'unique' }> => c.kind === 'unique');
    assert.deepEqual(
      unique.map((c) => [c.attribute, c.value, c.entityIds]),
      [['user/email', 'sam@example.com', [holder, other]]],
    );
    assert.deepEqual(unique[0]?.entities, [client.eid(holder), client.eid(other)]);
  }
  // The server accepts only the first claim it receives and rejects the other, which rolls back on its writer.
  // Without a server, an app resolves it by writing: here the other claimant gives the value up.
  const loser = other === idA ? a : b;
  await loser.transact([[':db/retractEntity', ['datsync/id', other]]]);
  relay(loser, loser === a ? b : a);
  for (const client of [a, b]) assert.deepEqual(client.conflicts(), []);

  console.log('05-conflicts: siblings resolved →', JSON.stringify(a.pull('["task/title" "task/tags"]', task)));
  console.log('05-conflicts: sam@example.com held by', holder, '(the smaller of', idA, 'and', idB, ')');
  await Promise.all([a.close(), b.close()]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
