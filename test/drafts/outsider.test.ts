/**
 * A client that never opened a draft (issue 7) sees nothing of it while two
 * editors work on it, even once their edits have crossed the server and it
 * holds everything the server has, and then sees the commit as exactly one
 * transaction: one new log position, and no view in which some of the
 * draft's fields are committed and others not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { statusBecomes } from '../sync/harness.js';
import { draftServer, until, untilView, userClient } from './harness.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

async function user(url: string, name: string): Promise<Client> {
  const c = await userClient(url, name);
  open.push(c);
  await statusBecomes(c, 'live');
  return c;
}

describe('a client outside the draft', () => {
  it('sees none of it until the commit, then the commit as one transaction', async () => {
    const server = await draftServer();
    open.push(server);
    const ann = await user(server.url, 'ann');
    const ben = await user(server.url, 'ben');
    const cal = await user(server.url, 'cal');
    const made = await ann.transact([{ ':db/id': 't', 'task/title': 'Offsite', 'task/done': false }], { confirmed: true });
    const id = made.entityIds.t as EntityId;
    await Promise.all([ben.whenSynced(), cal.whenSynced()]);

    // Everything cal ever shows of the task, and every log position it reaches.
    const shown: string[] = [];
    cal.subscribe('[:find ?t ?d :in $ ?id :where [?e "datsync/id" ?id] [?e "task/title" ?t] [?e "task/done" ?d]]', [id], (rows) =>
      shown.push(JSON.stringify(rows)),
    );
    const positions: number[] = [];
    cal.on('position', ({ position }) => positions.push(position));

    const a = await ann.openDraft(id, { fields: ['task/title', 'task/done'] });
    const b = await ben.openDraft(id, { fields: ['task/title', 'task/done'] });
    a.text('task/title').insert(7, ' in May');
    a.set('task/done', true);
    b.text('task/title').insert(0, 'Team ');
    // Each editor has the other's edits: they crossed the server.
    await until(a, () => a.value('task/title') === 'Team Offsite in May');
    await until(b, () => b.value('task/title') === 'Team Offsite in May' && b.value('task/done') === true);
    // Cal holds everything the server had by now, and shows none of it.
    await cal.whenSynced();
    expect(positions).toEqual([]);
    expect(shown).toEqual([JSON.stringify([['Offsite', false]])]);

    const head = server.head;
    await a.commit();
    expect(server.head).toBe(head + 1);
    await untilView(cal, () => cal.pull('["task/title"]', ['datsync/id', id])?.['task/title'] === 'Team Offsite in May');
    await cal.whenSynced();
    expect(positions).toEqual([head + 1]);
    expect(shown).toEqual([JSON.stringify([['Offsite', false]]), JSON.stringify([['Team Offsite in May', true]])]);
  });
});
