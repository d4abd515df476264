/**
 * The client replica on every storage adapter: what a client wrote or
 * received survives a restart, no dot is ever issued twice, storage failures
 * roll back with a typed error, and tabs sharing IndexedDB see each other.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SchemaInput } from '../../src/schema.js';
import type { CommitBatch, Storage } from '../../storage/contract.js';
import { openIndexedDbStorage } from '../../storage/indexeddb.js';
import { MemoryStorage } from '../../storage/memory.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { createLockManager } from '../support/locks.js';

const schema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
};

const dir = mkdtempSync(join(tmpdir(), 'datsync-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Adapter {
  readonly name: string;
  open(): Promise<{ storage: Storage; reopen: () => Promise<Storage> }>;
}

const adapters: Adapter[] = [
  {
    name: 'memory',
    open: async () => {
      const storage = new MemoryStorage();
      return { storage, reopen: async () => new MemoryStorage(storage.store) };
    },
  },
  {
    name: 'sqlite',
    open: async () => {
      const path = join(dir, `client-${n++}.sqlite`);
      return { storage: new SqliteStorage(path), reopen: async () => new SqliteStorage(path) };
    },
  },
  {
    name: 'indexeddb',
    open: async () => {
      const name = `client-${n++}`;
      const options = { locks: undefined, broadcast: undefined };
      return { storage: await openIndexedDbStorage(name, options), reopen: () => openIndexedDbStorage(name, options) };
    },
  },
];

async function open(storage: Storage): Promise<Client> {
  return (await createClient({ schema, storage })) as Client;
}

function titles(client: Client): string[] {
  return client
    .q<string[][]>('[:find ?t :where [_ "task/title" ?t]]')
    .map((row) => String(row[0]))
    .sort();
}

for (const adapter of adapters) {
  describe(`client on ${adapter.name}`, () => {
    it('restores its writes, its outbox and its replica id after a restart, and never reissues a dot', async () => {
      const { storage, reopen } = await adapter.open();
      const first = await open(storage);
      await first.transact([{ 'task/title': 'one', 'task/tags': ['a', 'b'] }]);
      const second = await first.transact([{ ':db/id': 'two', 'task/title': 'two' }]);
      const id = first.replicaId;
      const pending = first.replica.state.pending().map(transactionId);
      await first.close();
      const again = await open(await reopen());
      expect(again.replicaId).toBe(id);
      expect(titles(again)).toEqual(['one', 'two']);
      expect(again.replica.state.pending().map(transactionId)).toEqual(pending);
      const entity = Object.values(second.entityIds)[0];
      if (entity === undefined) throw new Error('expected a new entity');
      await again.transact([[':db/add', ['datsync/id', entity], 'task/done', true]]);
      await again.transact([{ 'task/title': 'three' }]);
      // The two new transactions take counters after every one issued before the restart.
      const counters = again.replica.state.pending().map((tx) => tx.counter);
      expect(new Set(counters).size).toBe(counters.length);
      expect(Math.min(...counters.slice(2))).toBeGreaterThan(Math.max(...pending.map((p) => Number(p.split(':')[1]))));
      await again.close();
    });

    it('persists what the server confirmed and rejected, and restores it', async () => {
      const { storage, reopen } = await adapter.open();
      const client = await open(storage);
      await client.transact([{ 'task/title': 'kept' }]);
      await client.transact([{ 'task/title': 'refused' }]);
      const [kept, refused] = client.replica.state.pending() as Transaction[];
      if (kept === undefined || refused === undefined) throw new Error('expected two pending transactions');
      const rejected: string[] = [];
      client.on('rejected', (event) => rejected.push(event.error.code));
      await client.receive([{ position: 1, tx: kept }], [{ txId: transactionId(refused), code: 'forbidden', message: 'not yours' }]);
      expect(rejected).toEqual(['forbidden']);
      expect(titles(client)).toEqual(['kept']);
      expect(client.replica.state.pending()).toEqual([]);
      expect(await client.storage.outbox()).toEqual([]);
      await client.close();
      const again = await open(await reopen());
      expect(titles(again)).toEqual(['kept']);
      expect(again.serverPosition).toBe(1);
      expect(again.replica.state.pending()).toEqual([]);
      await again.close();
    });

    it('compacts the confirmed log into a snapshot and starts from it', async () => {
      const { storage, reopen } = await adapter.open();
      const writer = await createClient({ schema });
      for (let i = 0; i < 20; i++) await writer.transact([{ 'task/title': `t${i}` }]);
      const remote = (writer as Client).replica.state.pending();
      const client = await open(storage);
      await client.receive(remote.map((tx, i) => ({ position: i + 1, tx })));
      await client.compact();
      expect(await client.storage.readLog(0, 100)).toEqual([]);
      expect((await client.storage.snapshot())?.position).toBe(20);
      await client.close();
      const again = await open(await reopen());
      expect(titles(again)).toHaveLength(20);
      expect(again.serverPosition).toBe(20);
      await again.close();
    });
  });
}

describe('storage failures', () => {
  it('roll a write back with storage-failed and leave nothing behind', async () => {
    const storage = new MemoryStorage();
    const client = await open(storage);
    await client.transact([{ 'task/title': 'fine' }]);
    const original = storage.commit.bind(storage);
    storage.commit = async (batch: CommitBatch) => {
      if ((batch.outboxAdd?.length ?? 0) > 0) throw new Error('disk on fire');
      return original(batch);
    };
    const events: string[] = [];
    client.on('rejected', (event) => events.push(event.error.code));
    await expect(client.transact([{ 'task/title': 'lost' }])).rejects.toMatchObject({ code: 'storage-failed' });
    expect(titles(client)).toEqual(['fine']);
    expect(events).toEqual(['storage-failed']);
    expect(client.replica.state.pending()).toHaveLength(1);
    await client.close();
  });
});

describe('automatic compaction', () => {
  it('snapshots the confirmed state once 2,000 records arrived since the last snapshot, and not before', async () => {
    const writer = (await createClient({ schema })) as Client;
    for (let i = 0; i < 2000; i++) await writer.transact([{ 'task/title': `t${i}` }]);
    const remote = writer.replica.state.pending();
    await writer.close();
    const storage = new MemoryStorage();
    const compacted = new Promise<number>((resolve) => {
      const original = storage.compact.bind(storage);
      storage.compact = async (position: number) => {
        await original(position);
        resolve(position);
      };
    });
    const client = await open(storage);
    await client.receive(remote.slice(0, 1999).map((tx, i) => ({ position: i + 1, tx })));
    expect(await storage.snapshot()).toBeUndefined();
    await client.receive(remote.slice(1999).map((tx) => ({ position: 2000, tx })));
    expect(await compacted).toBe(2000);
    expect((await storage.snapshot())?.position).toBe(2000);
    expect(await storage.readLog(0, 10)).toEqual([]);
    await client.close();
    const again = await open(new MemoryStorage(storage.store));
    expect(titles(again)).toHaveLength(2000);
    await again.close();
  });
});

describe('two tabs on one IndexedDB database', () => {
  it('take different replica ids and see each other\u2019s writes and confirmations', async () => {
    const locks = createLockManager();
    const name = `tabs-${n++}`;
    const tabA = await open(await openIndexedDbStorage(name, { locks }));
    const tabB = await open(await openIndexedDbStorage(name, { locks }));
    expect(tabA.replicaId).not.toBe(tabB.replicaId);
    const seen = new Promise<void>((resolve) => {
      tabB.subscribe('[:find ?t :where [_ "task/title" ?t]]', [], (rows) => {
        if ((rows as unknown[]).length === 1) resolve();
      });
    });
    await tabA.transact([{ 'task/title': 'from A' }]);
    await seen;
    expect(titles(tabB)).toEqual(['from A']);
    const [pending] = tabA.replica.state.pending();
    if (pending === undefined) throw new Error('expected a pending transaction');
    const confirmed = new Promise<void>((resolve) => {
      tabB.on('position', ({ position }) => {
        if (position === 1) resolve();
      });
    });
    await tabA.receive([{ position: 1, tx: pending }]);
    await confirmed;
    expect(tabB.replica.state.pending()).toEqual([]);
    expect(titles(tabB)).toEqual(['from A']);
    await tabA.close();
    await tabB.close();
    // A reloaded tab takes a free replica id back instead of minting another.
    const reloaded = await open(await openIndexedDbStorage(name, { locks }));
    expect([tabA.replicaId, tabB.replicaId]).toContain(reloaded.replicaId);
    await reloaded.close();
  });
});
