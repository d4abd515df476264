/** The storage contract suite against every adapter that runs in Node. */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Storage } from '../../storage/contract.js';
import { openIndexedDbStorage } from '../../storage/indexeddb.js';
import { MemoryStorage } from '../../storage/memory.js';
import { PostgresStorage } from '../../storage/postgres.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { freshSchema, postgresUrl, requirePostgresInCi, sql } from '../support/postgres.js';
import { storageContract } from './contract-suite.js';

storageContract({
  name: 'memory',
  create: async () => new MemoryStorage(),
  reopen: async (storage) => {
    await storage.close();
    return new MemoryStorage((storage as MemoryStorage).store);
  },
});

const dir = mkdtempSync(join(tmpdir(), 'datsync-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const paths = new WeakMap<Storage, string>();
storageContract({
  name: 'sqlite',
  create: async () => {
    const path = join(dir, `db-${files++}.sqlite`);
    const storage = new SqliteStorage(path);
    paths.set(storage, path);
    return storage;
  },
  reopen: async (storage) => {
    await storage.close();
    const path = paths.get(storage) as string;
    const again = new SqliteStorage(path);
    paths.set(again, path);
    return again;
  },
});

let databases = 0;
const names = new WeakMap<Storage, string>();
storageContract({
  name: 'indexeddb (fake-indexeddb)',
  create: async () => {
    const name = `contract-${databases++}`;
    const storage = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    names.set(storage, name);
    return storage;
  },
  reopen: async (storage) => {
    await storage.close();
    const name = names.get(storage) as string;
    const again = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    names.set(again, name);
    return again;
  },
});

// PostgreSQL (DATSYNC_TEST_POSTGRES_URL): each storage in a schema of its own, dropped at the end.
requirePostgresInCi();
const url = postgresUrl;
if (url !== undefined) {
  const schemas = new WeakMap<Storage, string>();
  const created: string[] = [];
  afterAll(async () => {
    if (created.length > 0) await sql(created.map((schema) => `DROP SCHEMA IF EXISTS "${schema}" CASCADE`).join('; '));
  });
  storageContract({
    name: 'postgres',
    create: async () => {
      const schema = freshSchema('contract');
      created.push(schema);
      const storage = await PostgresStorage.open({ url, schema });
      schemas.set(storage, schema);
      return storage;
    },
    reopen: async (storage) => {
      await storage.close();
      const schema = schemas.get(storage) as string;
      const again = await PostgresStorage.open({ url, schema });
      schemas.set(again, schema);
      return again;
    },
  });
}
