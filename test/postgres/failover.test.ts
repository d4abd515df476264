/**
 * A client moving to another node of the same PostgreSQL log (issue 10):
 * the node it lands on may not yet have heard of what the client already
 * holds. It catches up first, so the client loses nothing, whichever form
 * its stream takes (here the state form, as scopes and read rules give).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import { allowAll } from '../../src/server/permissions.js';
import type { DatsyncServer } from '../../src/server/server.js';
import { createServer } from '../../src/server/server.js';
import type { Storage } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import { PostgresStorage } from '../../storage/postgres.js';
import { freshSchema, postgresUrl, requirePostgresInCi } from '../support/postgres.js';
import { NodeWebSocket, view } from '../sync/harness.js';
import { deafened, schema } from './harness.js';

requirePostgresInCi();
const url = postgresUrl;
const servers: DatsyncServer[] = [];
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(storage: Storage): Promise<string> {
  const server = await createServer({ schema, storage, port: 0, permissions: allowAll });
  servers.push(server);
  return `ws://127.0.0.1:${server.port}/sync`;
}

async function client(at: string, scoped: boolean): Promise<Client> {
  const c = (await createClient({
    schema,
    storage: new MemoryStorage(),
    url: at,
    WebSocket: NodeWebSocket,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...(scoped ? { scopes: [{ name: 'tasks', query: '[:find ?e :where [?e "task/title"]]' }] } : {}),
  })) as Client;
  clients.push(c);
  return c;
}

describe.skipIf(url === undefined)('a client moving to another node', () => {
  it('is answered by a node that lags behind it only once that node has caught up', async () => {
    const namespace = freshSchema('ahead');
    const ahead = await serve(await PostgresStorage.open({ url: url as string, schema: namespace }));
    // The node it moves to hears no notices: it knows the log only as far as it reads it itself.
    const behind = await serve(deafened(await PostgresStorage.open({ url: url as string, schema: namespace })));
    const writer = await client(ahead, false);
    const reader = await client(ahead, true);
    for (let i = 0; i < 10; i++) await writer.transact([{ 'task/title': `task ${i}` }]);
    await writer.whenSynced();
    await reader.whenSynced();
    expect(reader.serverPosition).toBe(10);
    reader.disconnect();
    reader.connect({ url: behind, WebSocket: NodeWebSocket, initialBackoffMs: 20, maxBackoffMs: 200 });
    await reader.whenSynced();
    expect(reader.q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(10);
    expect(view(reader)).toEqual(view(writer));
    // Its own writes go through the node it moved to, and reach the writer on the other.
    await reader.transact([{ 'task/title': 'from the reader' }]);
    await reader.whenSynced();
    // The writer's node hears of it by notice: waited for as the position it brings.
    await new Promise<void>((resolve) => {
      if (writer.serverPosition >= 11) resolve();
      else writer.on('position', ({ position }) => position >= 11 && resolve());
    });
    expect(view(writer)).toEqual(view(reader));
  });
});
