/**
 * docs/drafts.md: two people edit one task's form together in a draft, a
 * third sees nothing until the commit, which writes one transaction; a
 * concurrent change is reported per field; a new entity's draft is shared by
 * its key. Against a datsync server started in this process.
 *
 * Run: npx tsx examples/drafts/01-drafts.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import type { DatsyncClient, Draft, EntityId, SchemaInput } from '../../src/client/index.js';
import { createClient, DatsyncError } from '../../src/client/index.js';
import type { Permissions } from '../../src/server/index.js';
import { createServer, MemoryStorage } from '../../src/server/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
} as const satisfies SchemaInput;

type User = { readonly sub: string };

/** Resolves once `check` holds, re-checked on every change of the draft and of who is in it. */
function until(draft: Draft, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const recheck = (): void => {
      if (!check()) return;
      stopValues();
      stopPresence();
      resolve();
    };
    const stopValues = draft.subscribe(recheck);
    const stopPresence = draft.onPresence(recheck);
  });
}

/** Resolves once a client shows what `check` looks for. */
function untilShown(client: DatsyncClient, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.subscribe('[:find ?e ?a ?v :where [?e ?a ?v]]', [], () => {
      if (!check()) return;
      queueMicrotask(() => stop());
      resolve();
    });
  });
}

export async function main(): Promise<void> {
  // Everyone reads tasks; ann and ben write them. Tokens are "token-<name>" for the example.
  const permissions: Permissions<User> = {
    read: { 'task/*': true },
    write: { 'task/*': { allow: ({ identity }) => ['ann', 'ben'].includes(identity.sub) || 'read only' } },
  };
  const server = await createServer<User>({
    schema,
    storage: new MemoryStorage(),
    port: 0,
    permissions,
    authenticate: (token) => (token?.startsWith('token-') ? { sub: token.slice(6) } : null),
  });
  const url = `ws://127.0.0.1:${server.port}/sync`;
  const connect = (name: string) => createClient({ schema, url, token: `token-${name}`, WebSocket });
  const [ann, ben, cal] = await Promise.all([connect('ann'), connect('ben'), connect('cal')]);

  const { entityIds } = await ann.transact([{ ':db/id': 't', 'task/title': 'Plan the offsite', 'task/done': false }], {
    confirmed: true,
  });
  const task = entityIds.t as EntityId;
  await Promise.all([ben.whenSynced(), cal.whenSynced()]);

  // --- open the same draft; type together ---
  const annDraft = await ann.openDraft(task, { fields: ['task/title', 'task/tags'], presence: { name: 'Ann' } });
  const benDraft = await ben.openDraft(task, { fields: ['task/title', 'task/tags'], presence: { name: 'Ben' } });
  annDraft.text('task/title').insert(16, ' in May'); // a Y.Text: bind an editor to it
  benDraft.text('task/title').insert(0, 'Team: ');
  benDraft.add('task/tags', 'travel');
  benDraft.focus('task/title');
  await until(annDraft, () => annDraft.value('task/title') === 'Team: Plan the offsite in May');
  await until(annDraft, () => annDraft.presence().some((p) => p.name === 'Ben' && p.field === 'task/title'));
  console.log('draft:', annDraft.values()); // { 'task/title': 'Team: Plan the offsite in May', 'task/tags': ['travel'] }

  // --- the views show committed data only ---
  assert.equal(cal.pull('["task/title"]', ['datsync/id', task])?.['task/title'], 'Plan the offsite');
  assert.deepEqual(
    annDraft.changes().map((c) => c.attribute),
    ['task/title', 'task/tags'],
  );

  // --- commit: one transaction of the changed fields; the draft closes for every editor ---
  const benSawClose = new Promise((resolve) => benDraft.onClose(resolve));
  const { txId } = await annDraft.commit();
  console.log('committed as', txId, '; Ben saw:', await benSawClose); // { reason: 'committed', by: 'Ann', … }
  await untilShown(cal, () => cal.pull('["task/title"]', ['datsync/id', task])?.['task/title'] === 'Team: Plan the offsite in May');

  // --- a concurrent change of a field the draft changed is reported, per field ---
  const draft = await ann.openDraft(task, { fields: ['task/title', 'task/done'] });
  draft.set('task/title', 'Offsite: booked');
  await ben.transact([[':db/add', ['datsync/id', task], 'task/title', 'Offsite (cancelled?)']], { confirmed: true });
  await untilShown(ann, () => ann.pull('["task/title"]', ['datsync/id', task])?.['task/title'] === 'Offsite (cancelled?)');
  try {
    await draft.commit();
    assert.fail('expected a conflict');
  } catch (error) {
    assert.ok(error instanceof DatsyncError && error.code === 'draft-conflict');
    console.log('conflicts:', draft.conflicts()); // [{ attribute: 'task/title', base: 'Team: …', draft: 'Offsite: booked', current: 'Offsite (cancelled?)' }]
  }
  draft.rebase(); // or: await draft.commit({ overwrite: true })
  await draft.commit();
  assert.equal(ann.pull('["task/title"]', ['datsync/id', task])?.['task/title'], 'Offsite: booked');

  // --- a new entity's draft, shared by its key; discard drops it for everyone ---
  const fresh = await ann.openDraft(null, { fields: ['task/title'] });
  const joined = await ben.openDraft(null, { key: fresh.id, fields: ['task/title'] });
  fresh.set('task/title', 'Maybe later');
  await until(joined, () => joined.value('task/title') === 'Maybe later');
  const benSawDiscard = new Promise((resolve) => joined.onClose(resolve));
  await fresh.discard();
  console.log('new draft', fresh.id, 'closed for Ben:', await benSawDiscard); // { reason: 'discarded', … }

  // --- cal may read but not write: he can watch a draft, his edits go nowhere ---
  const watched = await ann.openDraft(task, { fields: ['task/title'] });
  const watching = await cal.openDraft(task, { fields: ['task/title'] });
  watched.set('task/title', 'Watched');
  await until(watching, () => watching.value('task/title') === 'Watched');
  await watched.discard();

  await Promise.all([ann.close(), ben.close(), cal.close()]);
  await server.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
