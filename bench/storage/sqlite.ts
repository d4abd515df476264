/**
 * The SQLite subjects of the storage benchmarks: datsync's `SqliteStorage`
 * and, as the ceiling, better-sqlite3 inserting the same datoms with a
 * prepared statement in one transaction, both on temporary files with the
 * same durability (WAL, `synchronous = FULL`).
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Eid } from '../../src/datascript/index.js';
import { initDb, TX0 } from '../../src/datascript/index.js';
import { compileSchema } from '../../src/schema.js';
import type { LogRecord } from '../../storage/contract.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import type { AsyncTrial, Sample } from '../harness.js';
import type { EntityMap } from '../replica/workload.js';
import { DATOMS, ENTITIES, missing, SCHEMA } from '../replica/workload.js';
import type { BulkSubject, ColdSubject, LiveSubject } from './shared.js';
import { COUNT, edit, INTERACTIVE_WRITES, openClientTrial, verify } from './shared.js';

export interface SqliteInputs {
  readonly dir: string;
  readonly records: readonly LogRecord[];
  readonly txData: readonly (readonly EntityMap[])[];
  /** `[eid, attribute, value]`, dates as epoch ms (SQLite has no date type). */
  readonly rows: ReadonlyArray<readonly [Eid, string, string | number]>;
  readonly cold: { readonly log: string; readonly snapshot: string; readonly raw: string };
}

const DATE_ATTRIBUTE = 'task/due';

let sequence = 0;

function openRaw(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS datoms (e INTEGER NOT NULL, a TEXT NOT NULL, v ANY NOT NULL)');
  db.exec('CREATE TABLE IF NOT EXISTS edits (id INTEGER PRIMARY KEY, e INTEGER NOT NULL, a TEXT NOT NULL, v ANY NOT NULL)');
  return db;
}

function writeRaw(db: Database.Database, rows: SqliteInputs['rows']): void {
  const insert = db.prepare('INSERT INTO datoms (e, a, v) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const [e, a, v] of rows) insert.run(e, a, v);
  })();
}

async function storageWithLog(path: string, records: readonly LogRecord[], compacted: boolean): Promise<void> {
  const client = (await createClient({ schema: SCHEMA, storage: new SqliteStorage(path) })) as Client;
  await client.receive(records, [], records.length);
  if (compacted) await client.compact();
  await client.close();
}

export async function prepareSqlite(
  records: readonly LogRecord[],
  txData: SqliteInputs['txData'],
  idbRows: ReadonlyArray<readonly [Eid, string, unknown]>,
): Promise<SqliteInputs> {
  const dir = mkdtempSync(join(tmpdir(), 'datsync-bench-sqlite-'));
  const rows = idbRows.map(([e, a, v]) => [e, a, v instanceof Date ? v.getTime() : (v as string | number)] as const);
  const cold = { log: join(dir, 'cold-log.db'), snapshot: join(dir, 'cold-snapshot.db'), raw: join(dir, 'cold-raw.db') };
  await storageWithLog(cold.log, records, false);
  await storageWithLog(cold.snapshot, records, true);
  const raw = openRaw(cold.raw);
  writeRaw(raw, rows);
  raw.close();
  return { dir, records, txData, rows, cold };
}

export function cleanSqlite(inputs: SqliteInputs): void {
  rmSync(inputs.dir, { recursive: true, force: true });
}

function freshPath(inputs: SqliteInputs, what: string): string {
  sequence++;
  return join(inputs.dir, `${what}-${sequence}.db`);
}

function remove(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

export function sqliteBulkTrials(inputs: SqliteInputs): Record<BulkSubject, AsyncTrial> {
  const { records, rows, txData } = inputs;
  const through = records.length;
  return {
    commit: async () => {
      const path = freshPath(inputs, 'commit');
      const storage = new SqliteStorage(path);
      const batch = { log: records, outboxRemove: [], rejections: [], meta: { serverPosition: through, hlc: 0 } };
      return async (): Promise<Sample> => {
        const start = performance.now();
        await storage.commit(batch);
        const ms = performance.now() - start;
        verify((await storage.lastPosition()) === through, 'the log holds every record');
        await storage.close();
        remove(path);
        return { ms, laps: [] };
      };
    },
    receive: async () => {
      const path = freshPath(inputs, 'receive');
      const client = (await createClient({ schema: SCHEMA, storage: new SqliteStorage(path) })) as Client;
      return async (): Promise<Sample> => {
        const start = performance.now();
        await client.receive(records, [], through);
        const ms = performance.now() - start;
        verify(client.q(COUNT) === ENTITIES, 'the client shows every entity');
        await client.close();
        remove(path);
        return { ms, laps: [] };
      };
    },
    transact: async () => {
      const path = freshPath(inputs, 'transact');
      const client = await createClient({ schema: SCHEMA, storage: new SqliteStorage(path) });
      return async (): Promise<Sample> => {
        const start = performance.now();
        for (const tx of txData) await client.transact(tx);
        const ms = performance.now() - start;
        verify(client.q(COUNT) === ENTITIES, 'the client shows every entity');
        await client.close();
        remove(path);
        return { ms, laps: [] };
      };
    },
    raw: async () => {
      const path = freshPath(inputs, 'raw');
      const db = openRaw(path);
      return async (): Promise<Sample> => {
        const start = performance.now();
        writeRaw(db, rows);
        const ms = performance.now() - start;
        verify((db.prepare('SELECT COUNT(*) AS n FROM datoms').get() as { n: number }).n === DATOMS, 'every datom is stored');
        db.close();
        remove(path);
        return { ms, laps: [] };
      };
    },
  };
}

export function sqliteColdTrials(inputs: SqliteInputs): Record<ColdSubject, AsyncTrial> {
  const dsSchema = compileSchema(SCHEMA).datascript;
  return {
    log: openClientTrial(() => new SqliteStorage(inputs.cold.log)),
    snapshot: openClientTrial(() => new SqliteStorage(inputs.cold.snapshot)),
    raw: async () => async (): Promise<Sample> => {
      const start = performance.now();
      const db = openRaw(inputs.cold.raw);
      const stored = db.prepare('SELECT e, a, v FROM datoms').raw().all() as Array<[Eid, string, string | number]>;
      const rows = stored.map(([e, a, v]): readonly [Eid, string, unknown, number] => [e, a, a === DATE_ATTRIBUTE ? new Date(v) : v, TX0]);
      const built = initDb(rows, dsSchema);
      const ms = performance.now() - start;
      verify(rows.length === DATOMS && built !== undefined, 'every datom is read back');
      db.close();
      return { ms, laps: [] };
    },
  };
}

export function sqliteLiveTrials(inputs: SqliteInputs): Record<LiveSubject, AsyncTrial> {
  return {
    datsync: async () => {
      const path = freshPath(inputs, 'live');
      const client = (await createClient({ schema: SCHEMA, storage: new SqliteStorage(path) })) as Client;
      await client.receive(inputs.records, [], inputs.records.length);
      const eids = client.q<Eid[]>('[:find [?e ...] :where [?e "task/title"]]');
      const writes = Array.from({ length: INTERACTIVE_WRITES }, (_, w) => edit(eids[(w * 37) % eids.length] ?? missing('entities'), w));
      return async (): Promise<Sample> => {
        const laps: number[] = [];
        for (const ops of writes) {
          const start = performance.now();
          await client.transact(ops);
          laps.push(performance.now() - start);
        }
        verify(client.pendingCount === INTERACTIVE_WRITES, 'every write is pending in the outbox');
        await client.close();
        remove(path);
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
    raw: async () => {
      const path = freshPath(inputs, 'live-raw');
      const db = openRaw(path);
      const insert = db.prepare('INSERT INTO edits (e, a, v) VALUES (?, ?, ?)');
      const writes = Array.from({ length: INTERACTIVE_WRITES }, (_, w) => edit(1 + ((w * 37) % ENTITIES), w));
      return async (): Promise<Sample> => {
        const laps: number[] = [];
        for (const ops of writes) {
          const start = performance.now();
          db.transaction(() => {
            for (const [, e, a, v] of ops) insert.run(e, a, v as string);
          })();
          laps.push(performance.now() - start);
        }
        db.close();
        remove(path);
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
  };
}
