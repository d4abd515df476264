/**
 * The setting of the docs/scopes.md examples (examples/scopes/*.ts): a task
 * tracker's schema, a server in this process on a free port whose tokens are
 * user names (everyone may read and write, unless a script passes its own
 * permissions), and clients of it.
 */
import { WebSocket } from 'ws';
import type { DatsyncClient, SchemaInput, ScopeSpec } from '../../../src/client/index.js';
import { createClient, MemoryStorage, MemoryStore } from '../../../src/client/index.js';
import type { DatsyncServer, ServerOptions } from '../../../src/server/index.js';
import { allowAll, createServer } from '../../../src/server/index.js';

export const schema = {
  'tag/name': { ':db/valueType': ':db.type/string' },
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/project': { ':db/valueType': ':db.type/string' },
  'task/owner': { ':db/valueType': ':db.type/string' },
  'task/private': { ':db/valueType': ':db.type/boolean' },
  'task/note': { ':db/valueType': ':db.type/string' },
  'task/parent': { ':db/valueType': ':db.type/ref' },
} as const satisfies SchemaInput;

export type User = { readonly sub: string };

/** A server on a free port; the token is the user's name. */
export async function startServer(options: Partial<ServerOptions<User>> = {}): Promise<DatsyncServer & { url: string }> {
  const server = await createServer<User>({
    schema,
    storage: new MemoryStorage(),
    port: 0,
    permissions: allowAll,
    authenticate: (token) => (token === null ? null : { sub: token }),
    ...options,
  });
  return Object.assign(server, { url: `ws://127.0.0.1:${server.port}/sync` });
}

/** A client of `user`; pass a store to reopen the same replica, and `url: null` to open it offline. */
export function user(
  url: string | null,
  name: string,
  options: { scopes?: readonly ScopeSpec[] | null; store?: MemoryStore } = {},
): Promise<DatsyncClient> {
  return createClient({
    schema,
    storage: new MemoryStorage(options.store ?? new MemoryStore()),
    ...(url === null ? {} : { url, WebSocket, token: name }),
    ...(options.scopes === undefined ? {} : { scopes: options.scopes }),
  });
}

/** The task titles a client holds, sorted. */
export function titles(client: DatsyncClient): string[] {
  return client.q<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]').sort();
}
