/**
 * Sync under a hostile network (issue 5), at least 300 schedules per CI run
 * (`npm run soak` runs thousands): 2 to 6 clients and the server; messages
 * delayed and interleaved at random, connections cut with whatever they had
 * in flight (so pushes are resent: duplicates), clients going offline and
 * restarting from their storage, the server restarting from its storage, and
 * some writes rejected. After the network heals, within a bounded number of
 * steps (a stall is a failure): every client's projection equals the
 * server's, every outbox is empty, and every write a client made is either
 * in the server log exactly once or was rejected.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { TxId } from '../crdt/index.js';
import { transactionId } from '../crdt/index.js';
import type { Client } from '../src/client/client.js';
import { createClient } from '../src/client/client.js';
import { datoms } from '../src/datascript/index.js';
import type { SchemaInput } from '../src/schema.js';
import type { SyncCore } from '../src/server/core.js';
import { createSyncCore } from '../src/server/core.js';
import { allowAll } from '../src/server/permissions.js';
import { MemoryStorage, MemoryStore } from '../storage/memory.js';
import { runs } from './setup.js';
import type { NetworkStep } from './support/sim-network.js';
import { deliverStep, drain, killStep, SimNetwork, tickStep } from './support/sim-network.js';

const schema: SchemaInput = {
  'item/key': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'item/n': { ':db/valueType': ':db.type/number', ':datsync/history': true },
  'item/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
};

type Step =
  | {
      readonly type: 'write';
      readonly client: number;
      readonly key: number;
      readonly shared: boolean;
      readonly n: number;
      readonly tag: number;
    }
  | NetworkStep
  | { readonly type: 'offline'; readonly client: number }
  | { readonly type: 'online'; readonly client: number }
  | { readonly type: 'restart-client'; readonly client: number }
  | { readonly type: 'restart-server' };

const stepArb = (clients: number): fc.Arbitrary<Step> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        type: fc.constant('write' as const),
        client: fc.nat(clients - 1),
        key: fc.nat(3),
        // Shared keys make clients create the same item concurrently (a unique conflict the server settles).
        shared: fc.boolean(),
        n: fc.nat(9),
        tag: fc.nat(2),
      }),
    },
    { weight: 8, arbitrary: deliverStep },
    { weight: 1, arbitrary: killStep },
    { weight: 2, arbitrary: tickStep },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('offline' as const), client: fc.nat(clients - 1) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('online' as const), client: fc.nat(clients - 1) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('restart-client' as const), client: fc.nat(clients - 1) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('restart-server' as const) }) },
  );

const scheduleArb = fc
  .integer({ min: 2, max: 6 })
  .chain((clients) =>
    fc.record({ clients: fc.constant(clients), steps: fc.array(stepArb(clients), { minLength: 10, maxLength: 80, size: 'medium' }) }),
  );

/** Writes of this value are refused by the server, so rejections are part of every schedule. */
const REFUSED = 7;

class World {
  readonly network = new SimNetwork();
  readonly serverStore = new MemoryStore();
  core: SyncCore<unknown> | undefined;
  readonly stores: MemoryStore[] = [];
  readonly clients: Array<Client | undefined> = [];
  readonly online: boolean[] = [];
  /** Every transaction a client made durable (transact resolved). */
  readonly written = new Set<TxId>();
  readonly rejected = new Set<TxId>();

  async startServer(): Promise<void> {
    this.core = await createSyncCore<unknown>({
      schema,
      storage: new MemoryStorage(this.serverStore),
      now: () => this.network.now,
      permissions: allowAll,
      canWrite: ({ datoms: changed }) => (changed.some((d) => d.a === 'item/n' && d.v === REFUSED) ? 'seven is refused' : true),
    });
    this.network.attach(this.core);
  }

  async stopServer(): Promise<void> {
    this.network.attach(undefined);
    this.network.cutAll();
    await this.core?.close();
    this.core = undefined;
  }

  async openClient(i: number): Promise<void> {
    const store = this.stores[i] ?? new MemoryStore();
    this.stores[i] = store;
    const client = (await createClient({
      schema,
      storage: new MemoryStorage(store),
      now: () => this.network.now,
      ...(this.online[i] === false ? {} : { url: 'sim://server/sync' }),
      WebSocket: this.network.Socket,
      scheduler: this.network.scheduler,
      reconnect: { initialMs: 10, maxMs: 100 },
    })) as Client;
    client.on('rejected', ({ txId, error }) => {
      this.rejected.add(txId);
      if (process.env.SIM_STATS) console.log(`rejected ${error.code}`);
    });
    this.clients[i] = client;
  }

  connect(i: number): void {
    this.online[i] = true;
    this.clients[i]?.connect({
      url: 'sim://server/sync',
      WebSocket: this.network.Socket,
      scheduler: this.network.scheduler,
      initialBackoffMs: 10,
      maxBackoffMs: 100,
    });
  }

  /** Delivers and fires timers until nothing moves; false if it never settles (a stall). */
  async heal(): Promise<boolean> {
    if (this.core === undefined) await this.startServer();
    this.clients.forEach((client, i) => {
      if (client !== undefined && this.online[i] === false) this.connect(i);
    });
    for (let step = 0; step < 20_000; step++) {
      await drain();
      if (this.network.deliver(step, step % 2 === 0)) continue;
      await drain();
      const settled = this.clients.every(
        (c) => c === undefined || (c.status === 'live' && c.pendingCount === 0 && c.serverPosition === this.core?.log.head),
      );
      if (settled && !this.network.busy) return true;
      if (!this.network.tick()) return settled;
    }
    return false;
  }
}

function serverView(core: SyncCore<unknown>): string[] {
  const projection = core.log.projection;
  return datoms(core.log.db, ':eavt')
    .map((d) => `${projection.entityId(d.e)} ${d.a} ${JSON.stringify(d.v)}`)
    .sort();
}

function clientView(client: Client): string[] {
  return datoms(client.db(), ':eavt')
    .map((d) => `${client.entityId(d.e)} ${d.a} ${JSON.stringify(d.v)}`)
    .sort();
}

async function run(schedule: { clients: number; steps: readonly Step[] }): Promise<boolean> {
  const world = new World();
  await world.startServer();
  for (let i = 0; i < schedule.clients; i++) await world.openClient(i);
  for (const step of schedule.steps) {
    world.network.now += 3;
    switch (step.type) {
      case 'write': {
        const client = world.clients[step.client];
        if (client === undefined) break;
        const key = step.shared ? `k${step.key}` : `c${step.client}-${step.key}`;
        const report = await client.transact([{ ':db/id': 'x', 'item/key': key, 'item/n': step.n, 'item/tags': `t${step.tag}` }] as never);
        if (report.txId !== null) world.written.add(report.txId);
        break;
      }
      case 'deliver':
      case 'kill':
      case 'tick':
        await world.network.run(step);
        break;
      case 'offline':
        world.online[step.client] = false;
        world.clients[step.client]?.disconnect();
        break;
      case 'online':
        if (world.online[step.client] === false) world.connect(step.client);
        break;
      case 'restart-client': {
        await world.clients[step.client]?.close();
        await world.openClient(step.client);
        break;
      }
      case 'restart-server':
        await world.stopServer();
        await world.startServer();
        break;
    }
    await drain();
  }
  const healed = await world.heal();
  const core = world.core;
  if (!healed || core === undefined) return false;
  const expected = serverView(core);
  const log = await core.log.storage.readLog(0, Number.MAX_SAFE_INTEGER);
  const inLog = log.map((record) => transactionId(record.tx));
  let ok = new Set(inLog).size === inLog.length;
  for (const txId of world.written) if (!inLog.includes(txId) && !world.rejected.has(txId)) ok = false;
  for (const client of world.clients) {
    if (client === undefined) continue;
    if (JSON.stringify(clientView(client)) !== JSON.stringify(expected)) ok = false;
    if ((await client.storage.outbox()).length > 0) ok = false;
  }
  if (process.env.SIM_STATS) console.log(`log ${log.length} written ${world.written.size} rejected ${world.rejected.size} ok ${ok}`);
  for (const client of world.clients) await client?.close();
  await core.close();
  return ok;
}

describe('sync over a simulated hostile network', () => {
  it('converges every client to the server, loses no write and never stalls', async () => {
    await fc.assert(fc.asyncProperty(scheduleArb, run), { numRuns: runs(300) });
  });
});
