/**
 * A server and real clients editing one entity's draft over the simulated
 * network (support/sim-network.ts), for the drafts property: the sync and the
 * drafts' y-websocket connections alike are delivered, cut and reconnected
 * when the test says, and waits are on state, never on time.
 *
 * @module
 */
import type { EntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Draft } from '../../src/client/draft.js';
import type { SchemaInput } from '../../src/schema.js';
import type { SyncCore } from '../../src/server/core.js';
import { createSyncCore } from '../../src/server/core.js';
import type { Permissions } from '../../src/server/permissions.js';
import { MemoryStorage, MemoryStore } from '../../storage/memory.js';
import { drain, SimNetwork } from './sim-network.js';

export const FIELDS = ['task/title', 'task/notes', 'task/points', 'task/done', 'task/tags'] as const;
export type Field = (typeof FIELDS)[number];
export const TEXT_FIELDS = ['task/title', 'task/notes'] as const;

export const schema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/notes': { ':db/valueType': ':db.type/string' },
  'task/points': { ':db/valueType': ':db.type/number' },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/tags': { ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' },
};

/** Editors are the first names; the last one writes the entity but never opens its draft. */
export const USERS = ['ann', 'ben', 'cal', 'dan', 'ola'] as const;
type User = { readonly sub: string };

/**
 * Everyone reads everything (the sync sends the log as is), so what is
 * checked is the drafts' own use of the rules: joining takes the write rule.
 * Read rules that filter route every record through the server's visibility
 * engine, which (when this was written) drops a retraction that empties a
 * register: a commit clearing a field would never reach the views.
 */
const permissions: Permissions<User> = {
  read: { '*': true },
  write: { 'task/*': { allow: ({ identity }) => (USERS as readonly string[]).includes(identity.sub) || 'not a task writer' } },
};

/** A field's value as a comparable string: none is null, a set is sorted. */
export function norm(field: Field, value: unknown): string {
  if (field === 'task/tags') return JSON.stringify(Array.isArray(value) ? [...(value as string[])].sort() : []);
  return JSON.stringify(value === undefined || value === null ? null : value);
}

export type Values = Readonly<Record<Field, string>>;

export function normAll(read: (field: Field) => unknown): Values {
  return Object.fromEntries(FIELDS.map((f) => [f, norm(f, read(f))])) as Record<Field, string>;
}

export class DraftWorld {
  readonly network = new SimNetwork();
  private readonly serverStore = new MemoryStore();
  core!: SyncCore<User>;
  /** Editors first, the non-editor last. */
  readonly clients: Client[] = [];
  private readonly stores: MemoryStore[] = [];
  private readonly names: string[] = [];
  readonly online: boolean[] = [];
  readonly drafts: Array<Draft | undefined> = [];

  static async start(editors: number): Promise<DraftWorld> {
    const world = new DraftWorld();
    await world.startServer();
    for (let i = 0; i <= editors; i++) {
      world.stores.push(new MemoryStore());
      world.names.push(i === editors ? (USERS[USERS.length - 1] as string) : (USERS[i] as string));
      world.online.push(true);
      await world.openClient(i);
    }
    return world;
  }

  private async startServer(): Promise<void> {
    const network = this.network;
    this.core = await createSyncCore<User>({
      schema,
      storage: new MemoryStorage(this.serverStore),
      now: () => network.now,
      permissions,
      authenticate: (token) => (token?.startsWith('token-') === true ? { sub: token.slice(6) } : null),
    });
    network.attach(this.core as SyncCore<unknown>);
  }

  /** The server stops (every connection cut) and starts again from its storage. */
  async restartServer(): Promise<void> {
    this.network.attach(undefined);
    this.network.cutAll();
    await this.core.close();
    await this.startServer();
  }

  private async openClient(i: number): Promise<void> {
    this.clients[i] = (await createClient({
      schema,
      storage: new MemoryStorage(this.stores[i]),
      ...(this.online[i] === true ? { url: 'sim://server/sync' } : {}),
      token: `token-${this.names[i]}`,
      WebSocket: this.network.Socket,
      scheduler: this.network.scheduler,
      now: () => this.network.now,
      reconnect: { initialMs: 10, maxMs: 100 },
    })) as Client;
  }

  /** An editor's client closes and opens again from its storage (a reload), and reopens the draft. */
  async reload(i: number, reopen: (client: Client) => Promise<Draft>): Promise<void> {
    await this.clients[i]?.close();
    await this.openClient(i);
    this.drafts[i] = await reopen(this.clients[i] as Client);
  }

  get other(): Client {
    return this.clients[this.clients.length - 1] as Client;
  }

  disconnect(i: number): void {
    this.online[i] = false;
    this.clients[i]?.disconnect();
  }

  connect(i: number): void {
    if (this.online[i] === true) return;
    this.online[i] = true;
    this.clients[i]?.connect({
      url: 'sim://server/sync',
      token: `token-${this.names[i]}`,
      WebSocket: this.network.Socket,
      scheduler: this.network.scheduler,
      initialBackoffMs: 10,
      maxBackoffMs: 100,
    });
  }

  /** Delivers and fires timers until `done` holds with nothing in flight; false on a stall. */
  async pump(done: () => boolean, quiet = true): Promise<boolean> {
    for (let step = 0; step < 20_000; step++) {
      await drain();
      if (done() && !(quiet && this.network.busy)) return true;
      if (this.network.deliver(step, step % 2 === 0)) continue;
      await drain();
      if (done() && !(quiet && this.network.busy)) return true;
      if (!this.network.tick()) return false;
    }
    return false;
  }

  /** Runs the network until `promise` settles; undefined if it never does. */
  async settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | undefined> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    await this.pump(() => outcome !== undefined, false);
    return outcome;
  }

  /** Everyone online, every client holding the whole log and every draft in `ready`. */
  async heal(ready: (draft: Draft) => boolean): Promise<boolean> {
    for (let i = 0; i < this.clients.length; i++) this.connect(i);
    const head = (): number => this.core.log.head;
    return this.pump(
      () =>
        this.clients.every((c) => c.status === 'live' && c.pendingCount === 0 && c.serverPosition === head()) &&
        this.drafts.every((d) => d === undefined || ready(d)),
    );
  }

  /** A client's view of the entity's fields. */
  view(client: Client, entity: EntityId): Values {
    const pulled = client.pull(`[${FIELDS.map((f) => `"${f}"`).join(' ')}]`, ['datsync/id', entity]) ?? {};
    return normAll((f) => pulled[f]);
  }

  /** The server's committed values of the entity's fields. */
  committed(entity: EntityId): Values {
    const state = this.core.log.state.confirmed;
    return normAll((f) => (f === 'task/tags' ? state.values(entity, f as never) : state.value(entity, f as never)));
  }

  async close(): Promise<void> {
    for (const client of this.clients) await client.close();
    await this.core.close();
  }
}
