/**
 * Faults against real server processes: SIGKILLed and restarted again and
 * again while 50 clients write and are cut off at random; a full disk
 * (RLIMIT_FSIZE, so writes fail with EFBIG as on a full device); the
 * database file made unwritable under a running server (chattr +i);
 * clients whose clocks are hours off; and, in process, a storage whose
 * commits fail. In every case the server refuses what it could not store
 * with a retryable `storage-failed`, acknowledges nothing it did not store,
 * and keeps serving reads; the client keeps the refused writes and sends
 * them again; after recovery every client converges and every write is in
 * the SQLite file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readServerLog } from '../../bench/load/check.js';
import { runLoad, summarize } from '../../bench/load/run.js';
import type { ServerProcess } from '../../bench/load/server-process.js';
import { startServerProcess } from '../../bench/load/server-process.js';
import type { Hlc, TxId } from '../../crdt/index.js';
import { DatsyncError, ErrorCode, hlcWallMs } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import type { RejectedEvent } from '../../src/client/index.js';
import type { CommitBatch } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import { client, goOnline, schema, startServer, view } from '../sync/harness.js';

const soak = process.env.DATSYNC_SOAK === '1';
const dir = mkdtempSync(join(tmpdir(), 'datsync-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tasks schema as a file, for `datsync serve`. */
function schemaFile(): string {
  const path = join(dir, 'schema.json');
  writeFileSync(path, JSON.stringify(schema));
  return path;
}

/** The next time the server refuses one of `c`'s writes for now (the client reports it and keeps the write). */
function nextRefusal(c: Client): Promise<DatsyncError> {
  return new Promise((resolve) => {
    const stop = c.on('error', (error) => {
      if (!(error instanceof DatsyncError) || !error.retry) return;
      stop();
      resolve(error);
    });
  });
}

/** Writes one at a time until the server refuses one for now; every write is kept, none rolled back. */
async function writeUntilRefused(c: Client, label: string, max: number): Promise<{ refused: DatsyncError; written: TxId[] }> {
  const refusal = nextRefusal(c);
  let refused: DatsyncError | undefined;
  void refusal.then((error) => {
    refused = error;
  });
  const rolledBack: RejectedEvent[] = [];
  const stop = c.on('rejected', (event) => rolledBack.push(event));
  const written: TxId[] = [];
  for (let i = 0; i < max && refused === undefined; i++) {
    const report = await c.transact([{ 'task/title': `${label} ${i} ${'x'.repeat(2000)}` }]);
    if (report.txId !== null) written.push(report.txId);
    await Promise.race([c.whenSynced(), refusal]);
  }
  stop();
  if (refused === undefined) throw new Error(`the server took ${max} writes without refusing one`);
  expect(rolledBack).toEqual([]);
  expect(c.pendingCount).toBeGreaterThan(0);
  return { refused, written };
}

function acknowledged(c: Client, written: readonly TxId[]): Promise<TxId[]> {
  return c.storage.readLog(0, 100_000).then((records) => {
    const inLog = new Set(records.map((r) => `${r.tx.replica}:${r.tx.counter}` as TxId));
    return written.filter((id) => inLog.has(id));
  });
}

describe('a server process killed and restarted under load', () => {
  it(`survives ${soak ? 30 : 5} SIGKILLs while 50 clients write and are cut off at random: all converge on the log, nothing acknowledged lost`, async () => {
    const kills = soak ? 30 : 5;
    const report = await runLoad({
      clients: 50,
      seconds: soak ? 60 : 6,
      writers: 10,
      ratePerWriter: 5,
      disconnectsPerSecond: 10,
      faults: async (control) => {
        for (let k = 0; k < kills; k++) {
          await control.tick();
          await control.kill();
          await control.restart();
        }
      },
    });
    console.log(summarize(report));
    expect(report.problems).toEqual([]);
    expect(report.restarts).toBe(kills);
    expect(report.generator.acknowledged).toBeGreaterThan(0);
    expect(report.generator.disconnects).toBeGreaterThan(0);
  }, 600_000);
});

describe('a full disk', () => {
  it('refuses writes with a clear storage-failed, acknowledges only what it stored, serves reads, and recovers after a restart', async () => {
    const data = join(dir, 'full');
    const schemaPath = schemaFile();
    let server: ServerProcess = await startServerProcess({ data, schema: schemaPath, fileSizeLimitKiB: 384 });
    const writer = await client(server.url, { token: 'writer' });
    await writer.whenSynced();
    const { refused, written } = await writeUntilRefused(writer, 'full', 2000);
    expect(refused.code).toBe(ErrorCode.StorageFailed);
    expect(refused.message).toContain('could not store');
    // It keeps serving reads: a new client gets everything acknowledged so far.
    const acked = await acknowledged(writer, written);
    expect(acked.length).toBeGreaterThan(0);
    const reader = await client(server.url);
    await reader.whenSynced();
    expect(reader.q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(acked.length);
    expect(server.alive).toBe(true);

    // Recovery: the disk has room again after a restart; the refused writes land, writing goes on, everyone converges.
    await server.kill();
    server = await startServerProcess({ data, schema: schemaPath, port: server.port });
    for (let i = 0; i < 5; i++) await writer.transact([{ 'task/title': `after ${i}` }]);
    await writer.whenSynced();
    await reader.whenSynced();
    expect(writer.pendingCount).toBe(0);
    expect(view(reader)).toEqual(view(writer));
    await Promise.all([writer.close(), reader.close()]);
    await server.stop();
    const log = await readServerLog(join(data, 'datsync.db'), schema);
    expect(log.contiguous).toBe(true);
    for (const id of written) expect(log.txIds.has(id)).toBe(true);
    expect(log.head).toBe(written.length + 5);
  });
});

describe('clients whose clocks are hours off', () => {
  it('a client 3 hours ahead (writing offline, then online) and one 3 hours behind: every write lands, all converge', async () => {
    const data = join(dir, 'clocks');
    const server = await startServerProcess({ data, schema: schemaFile() });
    const hours = 3 * 3_600_000;
    const ahead = await client(undefined, { now: () => Date.now() + hours });
    const rejected: string[] = [];
    ahead.on('rejected', (event) => rejected.push(event.error.code));
    await ahead.transact([{ 'task/title': 'written offline, 3 h ahead', 'user/email': 'a@x' }]);
    const shared = ['user/email', 'a@x'] as const;
    await ahead.transact([{ ':db/id': shared, 'task/done': true }]);
    goOnline(ahead, server.url);
    await ahead.whenSynced();
    await ahead.transact([{ ':db/id': shared, 'task/tags': ['online'] }]);
    await ahead.whenSynced();
    const behind = await client(server.url, { now: () => Date.now() - hours });
    behind.on('rejected', (event) => rejected.push(event.error.code));
    await behind.whenSynced();
    // Written after seeing the other's: it replaces it, whatever the clocks say.
    await behind.transact([{ ':db/id': shared, 'task/title': 'edited 3 h behind' }]);
    await behind.whenSynced();
    await ahead.whenSynced();
    expect(rejected).toEqual([]);
    expect(ahead.pull('["task/title" "task/done" "task/tags"]', ['user/email', 'a@x'])).toEqual({
      'task/title': 'edited 3 h behind',
      'task/done': true,
      'task/tags': ['online'],
    });
    expect(view(ahead)).toEqual(view(behind));
    await Promise.all([ahead.close(), behind.close()]);
    await server.stop();
    const log = await readServerLog(join(data, 'datsync.db'), schema);
    expect(log.head).toBe(4);
    // Nothing in the log is stamped beyond the server's drift bound.
    for (const tx of log.transactions) expect(hlcWallMs(tx.hlc as Hlc)).toBeLessThan(Date.now() + 5 * 60_000);
  });
});

const chattr =
  spawnSync('sh', ['-c', `touch ${join(dir, 'probe')} && chattr +i ${join(dir, 'probe')} && chattr -i ${join(dir, 'probe')}`]).status === 0;

describe('an unwritable database file', () => {
  it.skipIf(!chattr)(
    'refuses writes while the file is immutable (chattr +i), acknowledges nothing, and takes writes again once it is not',
    async () => {
      const data = join(dir, 'immutable');
      const server = await startServerProcess({ data, schema: schemaFile() });
      const files = ['datsync.db', 'datsync.db-wal'].map((name) => join(data, name));
      const writer = await client(server.url);
      const reader = await client(server.url);
      try {
        await writer.transact([{ 'task/title': 'before' }]);
        await writer.whenSynced();
        expect(spawnSync('chattr', ['+i', ...files]).status).toBe(0);
        const { refused, written } = await writeUntilRefused(writer, 'frozen', 5);
        expect(refused.code).toBe(ErrorCode.StorageFailed);
        expect(await acknowledged(writer, written)).toEqual([]);
        expect(server.alive).toBe(true);
        await reader.whenSynced();
        expect(reader.q('[:find [?t ...] :where [_ "task/title" ?t]]')).toEqual(['before']);
        spawnSync('chattr', ['-i', ...files]);
        // The refused writes go again by themselves once the file takes writes.
        await writer.whenSynced();
        await writer.transact([{ 'task/title': 'after' }]);
        await writer.whenSynced();
        await reader.whenSynced();
        expect(view(reader)).toEqual(view(writer));
        expect(reader.q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(2 + written.length);
      } finally {
        spawnSync('chattr', ['-i', ...files]);
        await Promise.all([writer.close(), reader.close()]);
        await server.kill();
      }
      const log = await readServerLog(join(data, 'datsync.db'), schema);
      expect(log.head).toBeGreaterThanOrEqual(3);
      expect(log.contiguous).toBe(true);
    },
  );
});

/** Memory storage whose commits fail as a full disk's do while `full` is set. */
class FillingStorage extends MemoryStorage {
  full = false;
  override async commit(batch: CommitBatch): Promise<void> {
    if (this.full)
      throw new DatsyncError(ErrorCode.StorageFailed, `${this.name}: could not commit: the disk is full`, { sqlite: 'SQLITE_FULL' });
    return super.commit(batch);
  }
}

describe('a storage whose commits fail (in process)', () => {
  it('refuses with storage-failed, acknowledges nothing, keeps serving reads, and takes writes once storage works again', async () => {
    const storage = new FillingStorage();
    const server = await startServer({ storage });
    const writer = await client(server.url);
    const reader = await client(server.url);
    await writer.transact([{ 'task/title': 'stored' }]);
    await writer.whenSynced();
    storage.full = true;
    const refusal = nextRefusal(writer);
    await writer.transact([{ 'task/title': 'not stored yet' }]);
    const refused = await refusal;
    expect(refused.code).toBe(ErrorCode.StorageFailed);
    expect(refused.message).toContain('the disk is full');
    expect(server.head).toBe(1);
    expect(writer.pendingCount).toBe(1);
    await reader.whenSynced();
    expect(reader.q('[:find [?t ...] :where [_ "task/title" ?t]]')).toEqual(['stored']);
    storage.full = false;
    // Sent again by itself (after a backoff), and stored now.
    await writer.whenSynced();
    await writer.transact([{ 'task/title': 'stored again' }]);
    await writer.whenSynced();
    await reader.whenSynced();
    expect(view(reader)).toEqual(view(writer));
    expect(server.head).toBe(3);
    await Promise.all([writer.close(), reader.close()]);
    await server.close();
  });
});
