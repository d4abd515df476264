/**
 * Tasks owned by users, some private: the setting of the permission tests.
 * A monitor decodes every frame the server sends a client and records any
 * datom the client may not read.
 */
import { WebSocket } from 'ws';
import type { Attr, EntityId, Value } from '../../crdt/index.js';
import { decodeRegisters, liveOf, PastVersion, Register, Version } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/sync.js';
import { decodeServerMessage } from '../../src/protocol/index.js';
import type { SchemaInput } from '../../src/schema.js';
import { compileSchema } from '../../src/schema.js';
import type { Permissions } from '../../src/server/permissions.js';
import type { DatsyncServer, ServerOptions } from '../../src/server/server.js';
import { createServer } from '../../src/server/server.js';
import { MemoryStorage } from '../../storage/memory.js';

export const schema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/owner': { ':db/valueType': ':db.type/string' },
  'task/private': { ':db/valueType': ':db.type/boolean' },
  'task/tag': { ':db/valueType': ':db.type/string' },
  'task/notes': { ':db/valueType': ':db.type/string' },
  'task/parent': { ':db/valueType': ':db.type/ref' },
  'audit/log': { ':db/valueType': ':db.type/string' },
};
export const compiled = compileSchema(schema);

export type User = { readonly sub: string };

/** Public tasks are readable by all; private ones by their owner; notes only by the owner; audit/* by nobody. */
export const permissions: Permissions<User> = {
  read: {
    'task/*': { datalog: '[[(readable ?e ?me) [?e "task/private" false]] [(readable ?e ?me) [?e "task/owner" ?me]]]' },
    'task/notes': { allow: ({ identity, eid, db }) => ownerOf(db, eid) === identity.sub, dependsOn: ['task/owner'], local: true },
  },
  write: {
    // A task is written by its owner; a new task must name its writer as owner.
    'task/*': {
      allow: ({ identity, eidBefore, eidAfter, dbBefore, dbAfter }) => {
        const before = eidBefore === undefined ? undefined : ownerOf(dbBefore, eidBefore);
        const after = eidAfter === undefined ? undefined : ownerOf(dbAfter, eidAfter);
        if (before !== undefined) return before === identity.sub || `only ${before} may change this task`;
        return after === identity.sub || 'a new task must be owned by its author';
      },
    },
  },
};

import type { Db, Eid } from '../../src/datascript/index.js';
import { datoms } from '../../src/datascript/index.js';

export function ownerOf(db: Db, eid: Eid): string | undefined {
  const found = datoms(db, ':eavt', eid, 'task/owner')[0];
  return typeof found?.v === 'string' ? found.v : undefined;
}

export async function startServer(options: Partial<ServerOptions<User>> = {}): Promise<DatsyncServer & { url: string }> {
  const server = await createServer<User>({
    schema,
    storage: new MemoryStorage(),
    port: 0,
    permissions,
    authenticate: (token) => (token === null ? null : ({ sub: token } as User)),
    ...options,
  });
  return Object.assign(server, { url: `ws://127.0.0.1:${server.port}/sync` });
}

export interface Seen {
  readonly entity: EntityId;
  readonly attribute: Attr;
  readonly value: Value | undefined;
}

/** A WebSocket that records every datom any server message carries (records, snapshots, registers). */
export function monitoredSocket(seen: Seen[], self: () => string): SocketFactory {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (event) => {
        const data = event.data as ArrayBuffer | Buffer;
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const message = decodeServerMessage(bytes, self() as never);
        if (message.type === 'records') {
          for (const entry of message.entries)
            if ('tx' in entry) for (const op of entry.tx.ops) seen.push({ entity: op.entity, attribute: op.attribute, value: op.value });
        } else if (message.type === 'registers' || (message.type === 'snapshot' && message.final && message.part.length > 0)) {
          const bytesOf = message.type === 'registers' ? message.state : message.part;
          try {
            for (const [entity, attribute, slot] of decodeRegisters(bytesOf, compiled.specs).registers) {
              for (const version of liveOf(slot)) seen.push({ entity, attribute, value: version.value });
              if (slot instanceof Register)
                for (const past of slot.past ?? []) if (past instanceof PastVersion) seen.push({ entity, attribute, value: past.value });
            }
          } catch {
            // a snapshot in several parts is checked whole by the client; the tests keep them small
          }
        } else if (message.type === 'error' || message.type === 'reject') {
          seen.push({ entity: '' as EntityId, attribute: 'message' as Attr, value: message.error.message });
        }
      });
    }
  } as unknown as SocketFactory;
}

export async function user(
  url: string,
  name: string,
  seen?: Seen[],
  options: { token?: () => string | Promise<string> } = {},
): Promise<Client> {
  let client: Client | undefined;
  const socket = seen === undefined ? (WebSocket as unknown as SocketFactory) : monitoredSocket(seen, () => client?.replicaId ?? '');
  client = (await createClient({
    schema,
    storage: new MemoryStorage(),
    url,
    token: options.token ?? name,
    WebSocket: socket,
    reconnect: { initialMs: 20, maxMs: 200 },
  })) as Client;
  return client;
}

export function titles(client: Client): string[] {
  return client
    .q<string[][]>('[:find ?t :where [_ "task/title" ?t]]')
    .map((row) => String(row[0]))
    .sort();
}

export { Version };
