import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { EntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import type { DatsyncServer } from '../../src/server/server.js';
import { MemoryStorage, MemoryStore } from '../../storage/memory.js';
import { statusBecomes } from '../sync/harness.js';
import { closing, draftServer, until, untilPresence, untilView, userClient } from './harness.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

async function setup(options: Parameters<typeof draftServer>[0] = {}) {
  const server = await draftServer(options);
  open.push(server);
  return server;
}

async function user(server: DatsyncServer & { url: string }, name: string, store = new MemoryStore()): Promise<Client> {
  const c = await userClient(server.url, name, new MemoryStorage(store));
  open.push(c);
  await statusBecomes(c, 'live');
  return c;
}

async function task(c: Client, title: string, extra: Record<string, unknown> = {}): Promise<EntityId> {
  const report = await c.transact([{ ':db/id': 't', 'task/title': title, ...extra }], { confirmed: true });
  return report.entityIds.t as EntityId;
}

function titleOf(c: Client, entity: EntityId): unknown {
  return c.pull('["task/title"]', ['datsync/id', entity])?.['task/title'];
}

describe('collaborative drafts', () => {
  it('two editors typing into one text field at once converge, character by character', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Buy milk');
    await ben.whenSynced();
    const a = await ann.openDraft(id, { fields: ['task/title'], presence: { name: 'Ann' } });
    const b = await ben.openDraft(id, { fields: ['task/title'], presence: { name: 'Ben' } });
    expect(a.value('task/title')).toBe('Buy milk');
    expect(b.value('task/title')).toBe('Buy milk');
    // Concurrent edits: Ann appends, Ben prepends, neither has seen the other's.
    a.text('task/title').insert(8, ' and eggs');
    b.text('task/title').insert(0, 'Please: ');
    const both = 'Please: Buy milk and eggs';
    await until(a, () => a.value('task/title') === both);
    await until(b, () => b.value('task/title') === both);
    // Presence: each sees the other, and which field they are in.
    b.focus('task/title');
    await untilPresence(a, () => a.presence().some((p) => p.name === 'Ben' && p.field === 'task/title'));
    expect(a.presence().find((p) => p.self)?.name).toBe('Ann');
  });

  it('keeps draft values out of every view until commit, which writes exactly one transaction', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const cal = await user(server, 'cal');
    const id = await task(ann, 'Draft me', { 'task/done': false, 'task/tags': ['a', 'b'] });
    await cal.whenSynced();
    const draft = await ann.openDraft(id, { fields: ['task/title', 'task/done', 'task/tags'] });
    draft.set('task/title', 'Drafted');
    draft.set('task/done', true);
    draft.remove('task/tags', 'a');
    draft.add('task/tags', 'c');
    expect(titleOf(ann, id)).toBe('Draft me');
    expect(titleOf(cal, id)).toBe('Draft me');
    expect(draft.changes().map((c) => c.attribute)).toEqual(['task/title', 'task/done', 'task/tags']);
    const head = server.head;
    const result = await draft.commit();
    expect(result.entity).toBe(id);
    expect(server.head).toBe(head + 1);
    await untilView(cal, () => titleOf(cal, id) === 'Drafted');
    expect(cal.pull('["task/done" "task/tags"]', ['datsync/id', id])).toEqual({ 'task/done': true, 'task/tags': ['b', 'c'] });
    expect(draft.status).toBe('closed');
    expect(draft.closed?.reason).toBe('committed');
    expect(() => draft.set('task/title', 'again')).toThrow(expect.objectContaining({ code: 'draft-failed' }));
  });

  it('closes the draft for every editor on commit and on discard, with the reason', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const first = await task(ann, 'One');
    const second = await task(ann, 'Two');
    await ben.whenSynced();
    const a1 = await ann.openDraft(first, { fields: ['task/title'] });
    const b1 = await ben.openDraft(first, { fields: ['task/title'], presence: { name: 'Ben' } });
    const benSaw = closing(b1);
    a1.set('task/title', 'One!');
    await a1.commit();
    expect(await benSaw).toMatchObject({ reason: 'committed', entity: first });
    const a2 = await ann.openDraft(second, { fields: ['task/title'], presence: { name: 'Ann' } });
    const b2 = await ben.openDraft(second, { fields: ['task/title'] });
    const benSawDiscard = closing(b2);
    a2.set('task/title', 'never');
    await a2.discard();
    expect(await benSawDiscard).toMatchObject({ reason: 'discarded', by: 'Ann' });
    expect(titleOf(ben, second)).toBe('Two');
    // The next draft of the entity starts afresh from the committed value.
    const again = await ben.openDraft(second, { fields: ['task/title'] });
    expect(again.value('task/title')).toBe('Two');
    expect(again.changes()).toEqual([]);
  });

  it('tells an editor who was away that the draft closed, whoever long-named closed it', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Named');
    await ben.whenSynced();
    // A WebSocket close reason holds at most 123 bytes; the closer's name alone may be longer.
    const a = await ann.openDraft(id, { fields: ['task/title'], presence: { name: `Ann ${'é'.repeat(60)}` } });
    const b = await ben.openDraft(id, { fields: ['task/title'] });
    ben.disconnect();
    a.set('task/title', 'Named, and committed');
    await a.commit();
    ben.connect({
      url: server.url,
      token: 'token-ben',
      WebSocket: (await import('ws')).WebSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    });
    expect(await closing(b)).toMatchObject({ reason: 'committed', entity: id });
  });

  it('reopens a stored copy that changed nothing as the next draft when its draft ended meanwhile', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Before');
    await ben.whenSynced();
    const looked = await ben.openDraft(id, { fields: ['task/title'] });
    looked.close(); // Ben only looked; his copy stays stored
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    a.set('task/title', 'After');
    await a.commit();
    await untilView(ben, () => titleOf(ben, id) === 'After');
    const again = await ben.openDraft(id, { fields: ['task/title'] });
    expect(again.status).not.toBe('closed');
    expect(again.value('task/title')).toBe('After');
    expect(again.changes()).toEqual([]);
  });

  it('keeps a rejected commit open with the reason', async () => {
    const server = await setup({
      canWrite: ({ datoms }) => !datoms.some((d) => d.added && d.v === 'forbidden') || 'that title is not allowed',
    });
    const ann = await user(server, 'ann');
    const id = await task(ann, 'Fine');
    const draft = await ann.openDraft(id, { fields: ['task/title'] });
    draft.set('task/title', 'forbidden');
    await expect(draft.commit()).rejects.toMatchObject({ message: expect.stringContaining('that title is not allowed') });
    expect(draft.status).not.toBe('closed');
    expect(draft.value('task/title')).toBe('forbidden');
    expect(titleOf(ann, id)).toBe('Fine');
    draft.set('task/title', 'Better');
    await draft.commit();
    expect(titleOf(ann, id)).toBe('Better');
  });

  it('reports a concurrent change of a field the draft changed, then rebases or overwrites on request', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Base', { 'task/done': false });
    await ben.whenSynced();
    const draft = await ann.openDraft(id, { fields: ['task/title', 'task/done'] });
    draft.set('task/title', 'Mine');
    await ben.transact([{ ':db/id': ['datsync/id', id], 'task/title': 'Theirs', 'task/done': true }], { confirmed: true });
    await untilView(ann, () => titleOf(ann, id) === 'Theirs');
    await expect(draft.commit()).rejects.toMatchObject({ code: 'draft-conflict', details: { fields: 'task/title' } });
    // task/done changed too, but the draft did not touch it: no conflict there.
    expect(draft.conflicts()).toEqual([{ attribute: 'task/title', base: 'Base', draft: 'Mine', current: 'Theirs' }]);
    draft.rebase();
    expect(draft.conflicts()).toEqual([]);
    expect(draft.value('task/done')).toBe(true);
    expect(draft.changes()).toEqual([{ attribute: 'task/title', base: 'Theirs', draft: 'Mine' }]);
    await draft.commit();
    expect(titleOf(ann, id)).toBe('Mine');

    const next = await ann.openDraft(id, { fields: ['task/title'] });
    next.set('task/title', 'Overwrite');
    await ben.transact([{ ':db/id': ['datsync/id', id], 'task/title': 'Again theirs' }], { confirmed: true });
    await untilView(ann, () => titleOf(ann, id) === 'Again theirs');
    await expect(next.commit()).rejects.toMatchObject({ code: 'draft-conflict' });
    await next.commit({ overwrite: true });
    expect(titleOf(ann, id)).toBe('Overwrite');
  });

  it('commits a set over a concurrent change of it as exactly the draft holds it', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Tagged', { 'task/tags': ['a', 'b'] });
    await ben.whenSynced();
    const draft = await ann.openDraft(id, { fields: ['task/tags'] });
    draft.remove('task/tags', 'a');
    draft.add('task/tags', 'c');
    await ben.transact([{ ':db/id': ['datsync/id', id], 'task/tags': 'd' }], { confirmed: true });
    await untilView(ann, () => ((ann.pull('["task/tags"]', ['datsync/id', id])?.['task/tags'] ?? []) as string[]).includes('d'));
    await expect(draft.commit()).rejects.toMatchObject({ code: 'draft-conflict', details: { fields: 'task/tags' } });
    await draft.commit({ overwrite: true });
    expect(ann.pull('["task/tags"]', ['datsync/id', id])).toEqual({ 'task/tags': ['b', 'c'] });
  });

  it('sees no concurrent change in a set someone changed and changed back', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Tagged', { 'task/tags': ['a', 'b'] });
    await ben.whenSynced();
    const draft = await ann.openDraft(id, { fields: ['task/tags'] });
    draft.remove('task/tags', 'b');
    await ben.transact([[':db/retract', ['datsync/id', id], 'task/tags', 'a']], { confirmed: true });
    await ben.transact([{ ':db/id': ['datsync/id', id], 'task/tags': 'a' }], { confirmed: true });
    await ann.whenSynced();
    expect(draft.conflicts()).toEqual([]);
    await draft.commit();
    expect(ann.pull('["task/tags"]', ['datsync/id', id])).toEqual({ 'task/tags': ['a'] });
  });

  it('refuses an identity without rights, and lets a reader watch without touching', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const eve = await user(server, 'eve');
    const cal = await user(server, 'cal');
    const id = await task(ann, 'Secret plans');
    await cal.whenSynced();
    const draft = await ann.openDraft(id, { fields: ['task/title'], presence: { name: 'Ann' } });
    await expect(eve.openDraft(id, { fields: ['task/title'] })).rejects.toMatchObject({ code: 'forbidden' });
    const watcher = await cal.openDraft(id, { fields: ['task/title'], presence: { name: 'Cal' } });
    draft.set('task/title', 'Secret plans, v2');
    await until(watcher, () => watcher.value('task/title') === 'Secret plans, v2');
    // The watcher's edit goes nowhere: its presence, sent after it, reaches Ann without it.
    watcher.set('task/title', 'vandalized');
    watcher.focus('task/title');
    await untilPresence(draft, () => draft.presence().some((p) => p.name === 'Cal' && p.field === 'task/title'));
    expect(draft.value('task/title')).toBe('Secret plans, v2');
  });

  it('survives a reload and offline edits, and merges them with a co-editor once back online', async () => {
    const server = await setup();
    const store = new MemoryStore();
    let ann = await user(server, 'ann', store);
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Shared');
    await ben.whenSynced();
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    const b = await ben.openDraft(id, { fields: ['task/title'] });
    ann.disconnect();
    a.text('task/title').insert(6, ' (ann offline)');
    b.text('task/title').insert(0, 'Ben: ');
    await until(b, () => b.value('task/title') === 'Ben: Shared');
    // Ann reloads while offline: the draft is still there, with her edit.
    open.splice(open.indexOf(ann), 1);
    await ann.close();
    ann = await userClient(server.url, 'ann', new MemoryStorage(store));
    ann.disconnect();
    open.push(ann);
    const reopened = await ann.openDraft(id, { fields: ['task/title'] });
    expect(reopened.value('task/title')).toBe('Shared (ann offline)');
    expect(reopened.shared).toBe(true);
    ann.connect({
      url: server.url,
      token: 'token-ann',
      WebSocket: (await import('ws')).WebSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    });
    const merged = 'Ben: Shared (ann offline)';
    await until(reopened, () => reopened.value('task/title') === merged);
    await until(b, () => b.value('task/title') === merged);
  });

  it("keeps a co-editor's change received just before the client closed", async () => {
    const server = await setup();
    const store = new MemoryStore();
    let ann = await user(server, 'ann', store);
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Kept');
    await ben.whenSynced();
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    const b = await ben.openDraft(id, { fields: ['task/title'] });
    b.set('task/title', 'Kept, by Ben');
    await until(a, () => a.value('task/title') === 'Kept, by Ben');
    // Saved with some delay (the server keeps it too), but saved before the client goes.
    open.splice(open.indexOf(ann), 1);
    await ann.close();
    ann = await userClient(server.url, 'ann', new MemoryStorage(store));
    ann.disconnect();
    open.push(ann);
    expect((await ann.openDraft(id, { fields: ['task/title'] })).value('task/title')).toBe('Kept, by Ben');
  });

  it('saves a change made while live by the time the connection goes', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const id = await task(ann, 'Live');
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    await until(a, () => a.status === 'live');
    a.set('task/title', 'Typed while live');
    // While live the server has it and the local save may wait; once offline this copy may be the only one.
    ann.disconnect();
    const stored = await ann.storage.draft(id);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, stored?.state ?? new Uint8Array());
    expect(doc.getMap('fields').get('task/title')?.toString()).toBe('Typed while live');
  });

  it('binds a draft opened offline to the shared one once online, replaying its changes', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const id = await task(ann, 'Offline opened', { 'task/done': false });
    await ben.whenSynced();
    const b = await ben.openDraft(id, { fields: ['task/title', 'task/done'] });
    ann.disconnect();
    const a = await ann.openDraft(id, { fields: ['task/title', 'task/done'] });
    expect(a.shared).toBe(false);
    a.set('task/done', true);
    ann.connect({
      url: server.url,
      token: 'token-ann',
      WebSocket: (await import('ws')).WebSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    });
    await until(a, () => a.shared && a.status === 'live');
    await until(b, () => b.value('task/done') === true);
    expect(a.value('task/title')).toBe('Offline opened');
    b.set('task/title', 'Seen by both');
    await until(a, () => a.value('task/title') === 'Seen by both');
  });

  it('keeps telling the subscribers of a draft bound after an offline open what its connection does', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const id = await task(ann, 'Bound later');
    const options = {
      url: server.url,
      token: 'token-ann',
      WebSocket: (await import('ws')).WebSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    };
    ann.disconnect();
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    ann.connect(options);
    await until(a, () => a.shared && a.status === 'live');
    // The connection the binding opened is the draft's from then on: its changes are the draft's.
    let heard = 0;
    a.subscribe(() => heard++);
    ann.disconnect();
    expect(a.status).toBe('local');
    expect(heard).toBeGreaterThan(0);
  });

  it('binds a draft opened offline even when its first connection fails while the sync stays up', { timeout: 15_000 }, async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const id = await task(ann, 'Bind me');
    ann.disconnect();
    const a = await ann.openDraft(id, { fields: ['task/title'] });
    a.set('task/title', 'Bound at last');
    const { WebSocket } = await import('ws');
    let draftSockets = 0;
    class FirstDraftSocketFails extends WebSocket {
      constructor(url: string) {
        // The first draft connection dials a port nobody listens on; the sync's are untouched.
        super(url.includes('/drafts/') && draftSockets++ === 0 ? url.replace(/:\d+\//, ':1/') : url);
      }
    }
    ann.connect({ url: server.url, token: 'token-ann', WebSocket: FirstDraftSocketFails, initialBackoffMs: 20, maxBackoffMs: 200 });
    // No further 'live' of the sync will come: the link must try again by itself.
    await until(a, () => a.shared && a.status === 'live');
    expect(draftSockets).toBeGreaterThan(1);
    expect(a.value('task/title')).toBe('Bound at last');
  });

  it('drafts a new entity that co-editors join by key, and commits it as one new entity', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const ben = await user(server, 'ben');
    const a = await ann.openDraft(null, { fields: ['task/title', 'task/tags'] });
    expect(a.id).toMatch(/^new-/);
    expect(a.entity).toBeNull();
    a.set('task/title', 'Brand new');
    const b = await ben.openDraft(null, { key: a.id, fields: ['task/title', 'task/tags'] });
    await until(b, () => b.value('task/title') === 'Brand new');
    b.add('task/tags', 'fresh');
    await until(a, () => (a.value('task/tags') as string[]).includes('fresh'));
    const benSaw = closing(b);
    const { entity } = await a.commit();
    expect(entity).not.toBeNull();
    expect((await benSaw).entity).toBe(entity);
    await untilView(ben, () => titleOf(ben, entity as EntityId) === 'Brand new');
    expect(ben.pull('["task/tags"]', ['datsync/id', entity as EntityId])).toEqual({ 'task/tags': ['fresh'] });
  });

  it('keeps drafts bounded: size per draft and open drafts per identity', async () => {
    const server = await setup({ draftLimits: { maxDraftBytes: 2000, maxOpenDrafts: 2 } });
    const ann = await user(server, 'ann');
    const ids = [await task(ann, 'a'), await task(ann, 'b'), await task(ann, 'c')];
    const errors: unknown[] = [];
    ann.on('error', (error) => errors.push(error));
    const first = await ann.openDraft(ids[0] as EntityId, { fields: ['task/title'] });
    await ann.openDraft(ids[1] as EntityId, { fields: ['task/title'] });
    await expect(ann.openDraft(ids[2] as EntityId, { fields: ['task/title'] })).rejects.toMatchObject({
      code: 'draft-failed',
      message: expect.stringContaining('2 drafts open'),
    });
    first.set('task/title', 'x'.repeat(5000));
    await until(first, () => first.status === 'local');
    expect(errors).toContainEqual(expect.objectContaining({ code: 'draft-failed', message: expect.stringContaining('exceed 2000 bytes') }));
  });

  it('checks what the application asks for', async () => {
    const server = await setup();
    const ann = await user(server, 'ann');
    const id = await task(ann, 'x');
    await expect(ann.openDraft('nope' as EntityId)).rejects.toMatchObject({ code: 'invalid-value' });
    await expect(ann.openDraft(id, { fields: ['no/such'] })).rejects.toMatchObject({ code: 'unknown-attribute' });
    await expect(ann.openDraft(null)).rejects.toMatchObject({ code: 'invalid-value' });
    await expect(ann.openDraft(id, { key: 'new-abcdefgh' })).rejects.toMatchObject({ code: 'invalid-value' });
    const draft = await ann.openDraft(id, { fields: ['task/title', 'task/tags'] });
    expect(() => draft.set('task/title', 42 as never)).toThrow(expect.objectContaining({ code: 'invalid-value' }));
    expect(() => draft.set('task/tags', 'one' as never)).toThrow(expect.objectContaining({ code: 'invalid-value' }));
    expect(() => draft.add('task/title', 'x')).toThrow(expect.objectContaining({ code: 'invalid-value' }));
    expect(() => draft.value('task/done')).toThrow(expect.objectContaining({ code: 'unknown-attribute' }));
  });
});
