/**
 * A client's position never runs ahead of what it holds (issue 6): when a
 * group makes an entity readable (or unreadable) through a Datalog read rule
 * reading another entity, the client holds the entity (or has dropped it)
 * by the time its position reaches the group, so `whenSynced()` and the
 * `position` event never show stale data. The group's new registers arrive
 * before its records, so the client's own writes in that group meet a
 * register that already holds them.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/sync.js';
import type { SchemaInput } from '../../src/schema.js';
import type { DatsyncServer } from '../../src/server/server.js';
import { createServer } from '../../src/server/server.js';
import { MemoryStorage } from '../../storage/memory.js';

const schema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/project': { ':db/valueType': ':db.type/ref' },
  'task/tag': { ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' },
  'project/name': { ':db/valueType': ':db.type/string' },
  'project/member': { ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' },
};

type User = { readonly sub: string };

const servers: DatsyncServer[] = [];
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

/** A task is readable by the members of its project: the rule reads another entity than the one it decides about. */
async function start(): Promise<string> {
  const server = await createServer<User>({
    schema,
    storage: new MemoryStorage(),
    port: 0,
    permissions: {
      read: {
        'project/*': true,
        'task/*': { datalog: '[[(readable ?e ?me) [?e "task/project" ?p] [?p "project/member" ?me]]]' },
      },
      write: { '*': true },
    },
    authenticate: (token) => (token === null ? null : { sub: token }),
  });
  servers.push(server);
  return `ws://127.0.0.1:${server.port}/sync`;
}

async function user(url: string, name: string): Promise<Client> {
  const client = (await createClient({
    schema,
    storage: new MemoryStorage(),
    url,
    token: name,
    WebSocket: WebSocket as unknown as SocketFactory,
    reconnect: { initialMs: 20, maxMs: 200 },
  })) as Client;
  clients.push(client);
  return client;
}

function taskTitles(client: Client): string[] {
  return client
    .q<string[][]>('[:find ?t :where [_ "task/title" ?t]]')
    .map((row) => String(row[0]))
    .sort();
}

/** What the client showed at each `position` event, looked at as the event fires. */
function watchPositions(client: Client): Array<{ readonly position: number; readonly titles: readonly string[] }> {
  const shown: Array<{ readonly position: number; readonly titles: readonly string[] }> = [];
  client.on('position', ({ position }) => shown.push({ position, titles: taskTitles(client) }));
  return shown;
}

describe('position and read rules reading other entities', () => {
  it('an entity made readable (then unreadable) is there (then gone) when the position reaches the change', async () => {
    const url = await start();
    const bob = await user(url, 'bob');
    await bob.transact([
      { ':db/id': 'p', 'project/name': 'launch', 'project/member': ['bob'] },
      { 'task/title': 'ship it', 'task/project': 'p' },
    ]);
    await bob.whenSynced();
    const alice = await user(url, 'alice');
    await alice.whenSynced();
    expect(taskTitles(alice)).toEqual([]);
    const shown = watchPositions(alice);

    const project = bob.q<number>('[:find ?p . :where [?p "project/name" "launch"]]');
    await bob.transact([[':db/add', project, 'project/member', 'alice']]);
    await bob.whenSynced();
    const added = bob.serverPosition;
    await alice.whenSynced();
    expect(taskTitles(alice)).toEqual(['ship it']);
    const reached = shown.filter((s) => s.position >= added);
    expect(reached.length).toBeGreaterThan(0);
    expect(reached).toEqual(reached.map(({ position }) => ({ position, titles: ['ship it'] })));

    shown.length = 0;
    await bob.transact([[':db/retract', project, 'project/member', 'alice']]);
    await bob.whenSynced();
    const removed = bob.serverPosition;
    await alice.whenSynced();
    expect(taskTitles(alice)).toEqual([]);
    const left = shown.filter((s) => s.position >= removed);
    expect(left.length).toBeGreaterThan(0);
    expect(left).toEqual(left.map(({ position }) => ({ position, titles: [] })));
  });

  it("the client's own writes to a task it gains in the same group show as the server holds them", async () => {
    const url = await start();
    const bob = await user(url, 'bob');
    await bob.transact([
      { ':db/id': 'p', 'project/name': 'launch', 'project/member': ['bob'] },
      { 'task/title': 'draft', 'task/project': 'p', 'task/tag': ['keep'] },
    ]);
    await bob.whenSynced();
    const alice = await user(url, 'alice');
    await alice.whenSynced();
    const project = alice.q<number>('[:find ?p . :where [?p "project/name" "launch"]]');
    const task = bob.q<string>('[:find ?id . :where [?e "task/title" "draft"] [?e "datsync/id" ?id]]');
    expect(task).toBeTruthy();
    // Alice cannot read the task yet: offline, she tags it, then takes the tag back as she joins the project;
    // back online, both go in one push, and the server decides them together.
    alice.disconnect();
    await alice.transact([[':db/add', ['datsync/id', task], 'task/tag', 'x']]);
    await alice.transact([
      [':db/retract', ['datsync/id', task], 'task/tag', 'x'],
      [':db/add', project, 'project/member', 'alice'],
    ]);
    alice.connect({ url, token: 'alice', WebSocket: WebSocket as unknown as SocketFactory });
    await alice.whenSynced();
    await bob.whenSynced();
    const tags = (c: Client) => c.q('[:find ?g :where [_ "task/tag" ?g]]');
    expect(taskTitles(alice)).toEqual(['draft']);
    expect(tags(bob)).toEqual([['keep']]);
    expect(tags(alice)).toEqual([['keep']]);
  });
});
