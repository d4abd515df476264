/**
 * The IndexedDB subjects of the storage benchmarks. The same code runs in
 * Node on fake-indexeddb and in real Chromium (bundled into the bench page):
 * each subject sets up on a fresh database (not timed), then times one run.
 *
 * @module
 */
import type { IDBPDatabase } from 'idb';
import { deleteDB, openDB } from 'idb';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Eid } from '../../src/datascript/index.js';
import { initDb, TX0 } from '../../src/datascript/index.js';
import { compileSchema } from '../../src/schema.js';
import type { LogRecord } from '../../storage/contract.js';
import type { IndexedDbStorage } from '../../storage/indexeddb.js';
import { openIndexedDbStorage } from '../../storage/indexeddb.js';
import type { AsyncTrial, Sample } from '../harness.js';
import type { EntityMap } from '../replica/workload.js';
import { DATOMS, ENTITIES, foreignRecords, missing, rawRows, SCHEMA, workload } from '../replica/workload.js';
import type { BulkSubject, ColdSubject, LiveSubject } from './shared.js';
import { CHUNK, COUNT, edit, INTERACTIVE_WRITES, openClientTrial, rawDatoms, verify } from './shared.js';

/** What every IndexedDB subject works from, built once per process (page). */
export interface IdbInputs {
  readonly records: readonly LogRecord[];
  /** The workload as local transactions. */
  readonly txData: readonly (readonly EntityMap[])[];
  /** `[eid, attribute, value]` per datom (dates as `Date`), the raw ceiling's rows. */
  readonly rows: ReadonlyArray<readonly [Eid, string, unknown]>;
  /** The stores the cold starts open, filled once. */
  readonly cold: { readonly log: string; readonly snapshot: string; readonly raw: string };
}

let sequence = 0;

/** A database name never used before in this browser profile or process. */
function freshName(what: string): string {
  sequence++;
  return `datsync-bench-${what}-${Date.now().toString(36)}-${sequence}`;
}

interface RawLayout {
  chunks: { key: number; value: { readonly datoms: ReadonlyArray<readonly [Eid, string, unknown]> } };
  edits: { key: number; value: { readonly e: Eid; readonly a: string; readonly v: unknown } };
}

function openRaw(name: string): Promise<IDBPDatabase<RawLayout>> {
  return openDB<RawLayout>(name, 1, {
    upgrade(db) {
      db.createObjectStore('chunks');
      db.createObjectStore('edits', { autoIncrement: true });
    },
  });
}

/** The raw ceiling's bulk write: 1,000-datom chunks of plain arrays, one readwrite transaction. */
async function writeRawChunks(db: IDBPDatabase<RawLayout>, rows: IdbInputs['rows']): Promise<void> {
  const tx = db.transaction('chunks', 'readwrite');
  for (let i = 0; i < rows.length; i += CHUNK) void tx.store.put({ datoms: rows.slice(i, i + CHUNK) }, i / CHUNK);
  await tx.done;
}

async function storageWithLog(name: string, records: readonly LogRecord[], compacted: boolean): Promise<void> {
  const client = (await createClient({ schema: SCHEMA, storage: await openIndexedDbStorage(name) })) as Client;
  await client.receive(records, [], records.length);
  if (compacted) await client.compact();
  await client.close();
}

export async function prepareIdb(): Promise<IdbInputs> {
  const work = workload();
  const records = await foreignRecords(work);
  const rows = rawDatoms(rawRows(work));
  const cold = { log: freshName('cold-log'), snapshot: freshName('cold-snapshot'), raw: freshName('cold-raw') };
  await storageWithLog(cold.log, records, false);
  await storageWithLog(cold.snapshot, records, true);
  const raw = await openRaw(cold.raw);
  await writeRawChunks(raw, rows);
  raw.close();
  return { records, txData: work.txData, rows, cold };
}

/** Removes the databases `prepareIdb` made. */
export async function cleanIdb(inputs: IdbInputs): Promise<void> {
  for (const name of Object.values(inputs.cold)) await deleteDB(name);
}

async function closeAndDelete(closeable: { close(): unknown } | undefined, name: string): Promise<void> {
  await closeable?.close();
  await deleteDB(name);
}

export function bulkTrials(inputs: IdbInputs): Record<BulkSubject, AsyncTrial> {
  const { records, rows } = inputs;
  const through = records.length;
  return {
    commit: async () => {
      const name = freshName('commit');
      const storage = await openIndexedDbStorage(name);
      // The very batch `client.receive` commits.
      const batch = { log: records, outboxRemove: [], rejections: [], meta: { serverPosition: through, hlc: 0 } };
      return async (): Promise<Sample> => {
        const start = performance.now();
        await storage.commit(batch);
        const ms = performance.now() - start;
        verify((await storage.lastPosition()) === through, 'the log holds every record');
        await closeAndDelete(storage, name);
        return { ms, laps: [] };
      };
    },
    receive: async () => {
      const name = freshName('receive');
      const client = (await createClient({ schema: SCHEMA, storage: await openIndexedDbStorage(name) })) as Client;
      return async (): Promise<Sample> => {
        const start = performance.now();
        await client.receive(records, [], through);
        const ms = performance.now() - start;
        verify(client.q(COUNT) === ENTITIES, 'the client shows every entity');
        await closeAndDelete(client, name);
        return { ms, laps: [] };
      };
    },
    transact: async () => {
      const name = freshName('transact');
      const client = await createClient({ schema: SCHEMA, storage: await openIndexedDbStorage(name) });
      const { txData } = inputs;
      return async (): Promise<Sample> => {
        const start = performance.now();
        for (const tx of txData) await client.transact(tx);
        const ms = performance.now() - start;
        verify(client.q(COUNT) === ENTITIES, 'the client shows every entity');
        await closeAndDelete(client, name);
        return { ms, laps: [] };
      };
    },
    raw: async () => {
      const name = freshName('raw');
      const db = await openRaw(name);
      return async (): Promise<Sample> => {
        const start = performance.now();
        await writeRawChunks(db, rows);
        const ms = performance.now() - start;
        verify((await db.count('chunks')) === DATOMS / CHUNK, 'every chunk is stored');
        await closeAndDelete(db, name);
        return { ms, laps: [] };
      };
    },
  };
}

export function coldTrials(inputs: IdbInputs): Record<ColdSubject, AsyncTrial> {
  const dsSchema = compileSchema(SCHEMA).datascript;
  return {
    log: openClientTrial(() => openIndexedDbStorage(inputs.cold.log)),
    snapshot: openClientTrial(() => openIndexedDbStorage(inputs.cold.snapshot)),
    raw: async () => async (): Promise<Sample> => {
      const start = performance.now();
      const db = await openRaw(inputs.cold.raw);
      const chunks = await db.getAll('chunks');
      const rows: Array<readonly [Eid, string, unknown, number]> = [];
      for (const chunk of chunks) for (const [e, a, v] of chunk.datoms) rows.push([e, a, v, TX0]);
      const built = initDb(rows, dsSchema);
      const ms = performance.now() - start;
      verify(rows.length === DATOMS && built !== undefined, 'every datom is read back');
      db.close();
      return { ms, laps: [] };
    },
  };
}

export function liveTrials(inputs: IdbInputs): Record<LiveSubject, AsyncTrial> {
  return {
    datsync: async () => {
      const name = freshName('live');
      const storage: IndexedDbStorage = await openIndexedDbStorage(name);
      const client = (await createClient({ schema: SCHEMA, storage })) as Client;
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
        await closeAndDelete(client, name);
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
    raw: async () => {
      const name = freshName('live-raw');
      const db = await openRaw(name);
      const writes = Array.from({ length: INTERACTIVE_WRITES }, (_, w) => edit(1 + ((w * 37) % ENTITIES), w));
      return async (): Promise<Sample> => {
        const laps: number[] = [];
        for (const ops of writes) {
          const start = performance.now();
          const tx = db.transaction('edits', 'readwrite', { durability: 'strict' });
          for (const [, e, a, v] of ops) void tx.store.add({ e, a, v });
          await tx.done;
          laps.push(performance.now() - start);
        }
        await closeAndDelete(db, name);
        return { ms: laps.reduce((a, b) => a + b, 0), laps };
      };
    },
  };
}
