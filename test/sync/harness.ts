/**
 * A real server and real clients over loopback WebSockets, for the sync
 * integration tests. Everything waits on events, never on sleeps.
 */
import { WebSocket } from 'ws';
import type { ClientOptions } from '../../src/client/api.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/sync.js';
import { datoms } from '../../src/datascript/index.js';
import type { SchemaInput } from '../../src/schema.js';
import type { Permissions } from '../../src/server/permissions.js';
import { allowAll } from '../../src/server/permissions.js';
import type { DatsyncServer, ServerOptions } from '../../src/server/server.js';
import { createServer } from '../../src/server/server.js';
import type { Storage } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';

export const schema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
  'task/owner': { ':db/valueType': ':db.type/string' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
};

export const NodeWebSocket: SocketFactory = WebSocket;

export async function startServer<Identity = { readonly anonymous: true }>(
  options: Omit<Partial<ServerOptions<Identity>>, 'permissions'> & { permissions?: Permissions<Identity> } = {},
): Promise<DatsyncServer & { url: string }> {
  const server = await createServer<Identity>({ schema, storage: new MemoryStorage(), port: 0, permissions: allowAll, ...options });
  return Object.assign(server, { url: `ws://127.0.0.1:${server.port}/sync` });
}

export async function client(url: string | undefined, options: Partial<ClientOptions> = {}): Promise<Client> {
  return (await createClient({
    schema,
    storage: new MemoryStorage(),
    ...(url === undefined ? {} : { url }),
    WebSocket: NodeWebSocket,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...options,
  })) as Client;
}

/** Connects a client made offline. */
export function goOnline(c: Client, url: string, options: { token?: string } = {}): void {
  c.connect({
    url,
    WebSocket: NodeWebSocket,
    initialBackoffMs: 20,
    maxBackoffMs: 200,
    ...(options.token === undefined ? {} : { token: options.token }),
  });
}

/** Resolves when the client's status becomes `status`. */
export function statusBecomes(c: Client, status: string): Promise<void> {
  if (c.status === status) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = c.on('status', (now) => {
      if (now === status) {
        stop();
        resolve();
      }
    });
  });
}

/** The projection by stable ids, sorted: equal iff two replicas show the same data. */
export function view(c: Client): string[] {
  const refs = new Set(c.replica.schema.refAttributes as readonly string[]);
  return datoms(c.db(), ':eavt')
    .map((d) => `${c.entityId(d.e)} ${d.a} ${refs.has(d.a) ? c.entityId(d.v as number) : JSON.stringify(d.v)}`)
    .sort();
}

export async function storageOf(c: Client): Promise<Storage> {
  return c.storage;
}
