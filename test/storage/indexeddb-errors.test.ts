/**
 * IndexedDB failures surface as typed errors (issue 4): a full quota as
 * `quota-exceeded`, an upgrade blocked by another tab as `storage-blocked`;
 * a write the browser refused is rolled back and reported, and nothing of it
 * is stored. A newer version of the app asking to upgrade is not blocked by
 * us: our connection steps aside.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import type { Attr, EntityId, Hlc, ReplicaId, Transaction } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SchemaInput } from '../../src/schema.js';
import { INDEXEDDB_LAYOUT_VERSION, openIndexedDbStorage } from '../../storage/indexeddb.js';
import { openLayout1 } from './idb-layout1.js';

const schema: SchemaInput = { 'task/title': { ':db/valueType': ':db.type/string' } };
const options = { locks: undefined, broadcast: undefined };

let databases = 0;
const fresh = (): string => `errors-${databases++}`;

const originalPut = IDBObjectStore.prototype.put;
afterEach(() => {
  IDBObjectStore.prototype.put = originalPut;
});

/**
 * From now on, writes to `store` fail as a browser out of quota fails them:
 * the request errors with QuotaExceededError and the transaction aborts
 * (fake-indexeddb has no quota, so the failing operation is queued by hand).
 */
function exhaustQuota(store: string): void {
  IDBObjectStore.prototype.put = function put(this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (this.name !== store) return originalPut.apply(this, args);
    const tx = this.transaction as unknown as { _execRequestAsync(request: { operation: () => never; source: unknown }): IDBRequest };
    return tx._execRequestAsync({
      operation: () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      },
      source: this,
    });
  };
}

const quotaTx: Transaction = {
  replica: 'replica-quota' as ReplicaId,
  counter: 1,
  hlc: 5 as Hlc,
  ops: [{ offset: 0, entity: 'replica-quota.1' as EntityId, attribute: 'task/title' as Attr, kind: 'assert', value: 'x', supersedes: [] }],
};

function titles(client: Client): string[] {
  return client.q<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]').sort();
}

describe('a full quota', () => {
  it('rejects transact with quota-exceeded, rolls the write back, says so, and stores none of it', async () => {
    const name = fresh();
    const client = (await createClient({ schema, storage: await openIndexedDbStorage(name, options) })) as Client;
    await client.transact([{ 'task/title': 'kept' }]);
    const issued = client.replica.author.issuedUpTo;
    const rejected: string[] = [];
    client.on('rejected', (event) => rejected.push(event.error.code));

    exhaustQuota('outbox');
    await expect(client.transact([{ 'task/title': 'no room' }])).rejects.toMatchObject({ code: 'quota-exceeded' });
    expect(titles(client)).toEqual(['kept']);
    expect(rejected).toEqual(['quota-exceeded']);
    expect(client.pendingCount).toBe(1);

    // Room again: writing goes on, and a reload finds exactly what was stored.
    IDBObjectStore.prototype.put = originalPut;
    await client.transact([{ 'task/title': 'later' }]);
    await client.close();
    const again = (await createClient({ schema, storage: await openIndexedDbStorage(name, options) })) as Client;
    expect(titles(again)).toEqual(['kept', 'later']);
    expect((await again.storage.outbox()).length).toBe(2);
    // The refused write's counter was never stored; the next one was, so no dot is issued twice.
    expect(again.replica.author.issuedUpTo).toBeGreaterThan(issued);
    await again.close();
  });

  it('fails a storage commit with quota-exceeded and leaves the batch out entirely', async () => {
    const name = fresh();
    const storage = await openIndexedDbStorage(name, options);
    exhaustQuota('meta');
    const tx = quotaTx;
    await expect(storage.commit({ log: [{ position: 1, tx }], outboxAdd: [tx], meta: { serverPosition: 1 } })).rejects.toMatchObject({
      code: 'quota-exceeded',
    });
    IDBObjectStore.prototype.put = originalPut;
    expect(await storage.lastPosition()).toBe(0);
    expect(await storage.outbox()).toEqual([]);
    expect((await storage.meta()).serverPosition).toBeUndefined();
    await storage.close();
  });
});

describe('a commit that fails part-way', () => {
  it('stores none of the batch when a request throws at once instead of failing', async () => {
    const storage = await openIndexedDbStorage(fresh(), options);
    // The log record is sent first, then the meta write throws (as a value that cannot be cloned does).
    IDBObjectStore.prototype.put = function put(this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'meta') throw new DOMException('could not be cloned', 'DataCloneError');
      return originalPut.apply(this, args);
    };
    await expect(storage.commit({ log: [{ position: 1, tx: quotaTx }], meta: { serverPosition: 1 } })).rejects.toMatchObject({
      code: 'storage-failed',
    });
    IDBObjectStore.prototype.put = originalPut;
    expect(await storage.lastPosition()).toBe(0);
    expect(await storage.readLog(0, 10)).toEqual([]);
    await storage.commit({ log: [{ position: 1, tx: quotaTx }] });
    expect(await storage.lastPosition()).toBe(1);
    await storage.close();
  });
});

describe('upgrades and other tabs', () => {
  it('an upgrade blocked by a tab holding the old version open fails with storage-blocked, and works once it closes', async () => {
    const name = fresh();
    // An old tab: layout 1, and no handler that closes it when a newer version asks.
    const old = await openLayout1(name);
    await expect(openIndexedDbStorage(name, options)).rejects.toMatchObject({ code: 'storage-blocked' });
    old.close();
    const storage = await openIndexedDbStorage(name, options);
    expect(await storage.lastPosition()).toBe(0);
    await storage.close();
    const check = await openDB(name);
    expect(check.version).toBe(INDEXEDDB_LAYOUT_VERSION);
    check.close();
  });

  it('a newer version of the app is not blocked: our connection closes itself', async () => {
    const name = fresh();
    const storage = await openIndexedDbStorage(name, options);
    const newer = await openDB(name, INDEXEDDB_LAYOUT_VERSION + 1);
    expect(newer.version).toBe(INDEXEDDB_LAYOUT_VERSION + 1);
    await expect(storage.commit({ meta: { hlc: 1 } })).rejects.toMatchObject({ code: 'closed' });
    newer.close();
  });
});
