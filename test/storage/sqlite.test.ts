/**
 * What the SQLite adapter promises beyond the contract suite (issue 4): WAL
 * with `synchronous = FULL` (a commit returns once it is durable), the
 * version-vector read answered through the (replica, last_counter) index
 * rather than a pass over the log, and a versioned layout that upgrades older
 * files and refuses newer ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import { SQLITE_LAYOUT_VERSION, SqliteStorage } from '../../storage/sqlite.js';
import { tx } from './contract-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'datsync-sqlite-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `db-${files++}.sqlite`);

/** The adapter's own connection: `synchronous` is a per-connection setting, invisible from another one. */
function connectionOf(storage: SqliteStorage): Database.Database {
  return (storage as unknown as { db: Database.Database }).db;
}

describe('SQLite durability settings', () => {
  it('runs in WAL mode with synchronous = FULL', async () => {
    const path = freshPath();
    const storage = new SqliteStorage(path);
    const db = connectionOf(storage);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 2 is FULL: the WAL is synced at every commit, so a resolved commit survives a power cut.
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    await storage.close();
    // WAL is a property of the file: it holds for every later connection too.
    const other = new Database(path);
    expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
    other.close();
  });
});

describe('reading what a version vector lacks', () => {
  it('goes through the log_by_origin index and never scans the log', async () => {
    const storage = new SqliteStorage(freshPath());
    const plan = storage.explainLacking();
    expect(plan).toContain('USING INDEX log_by_origin (replica=? AND last_counter>?)');
    expect(plan).toContain('USING COVERING INDEX log_by_origin (replica>?)');
    expect(plan).not.toMatch(/SCAN log\b/);
    await storage.close();
  });

  it('finds every replica of a log holding many, each only for what the vector lacks', async () => {
    const storage = new SqliteStorage(freshPath());
    const replicas = ['replica-aaa', 'replica-bbb', 'replica-ccc', 'replica-ddd'] as ReplicaId[];
    const log = Array.from({ length: 40 }, (_, i) => ({
      position: i + 1,
      tx: tx(replicas[i % 4] as ReplicaId, Math.floor(i / 4) + 1),
    }));
    await storage.commit({ log });
    // Each replica wrote counters 1..10; the vector knows replica a up to 9, b up to 10, c up to 3, and nothing of d.
    const vector = new Map<ReplicaId, number>([
      [replicas[0] as ReplicaId, 9],
      [replicas[1] as ReplicaId, 10],
      [replicas[2] as ReplicaId, 3],
    ]);
    const lacking = await storage.readLacking(vector, 0, 100);
    const expected = log.filter(({ tx: t }) => t.counter > (vector.get(t.replica) ?? 0)).map((r) => r.position);
    expect(lacking.map((r) => r.position)).toEqual(expected);
    expect(expected).toHaveLength(1 + 7 + 10);
    expect((await storage.readLacking(vector, 30, 3)).map((r) => r.position)).toEqual(expected.filter((p) => p > 30).slice(0, 3));
    await storage.close();
  });
});

describe('the SQLite layout version', () => {
  /** A file holding one log record, then changed by `edit` through a connection of its own. */
  async function fileOfOneRecord(edit: (raw: Database.Database) => void): Promise<string> {
    const path = freshPath();
    const storage = new SqliteStorage(path);
    await storage.commit({ log: [{ position: 1, tx: tx('replica-one' as ReplicaId, 1) }] });
    await storage.close();
    const raw = new Database(path);
    edit(raw);
    raw.close();
    return path;
  }

  it('upgrades a file of an older layout, keeping its log', async () => {
    // Back to layout 1: no drafts table yet.
    const path = await fileOfOneRecord((raw) => {
      raw.exec('DROP TABLE drafts');
      raw.pragma('user_version = 1');
    });
    const again = new SqliteStorage(path);
    expect(await again.lastPosition()).toBe(1);
    await again.putDraft({ key: 'k', generation: 1, state: new Uint8Array([1]), updatedAt: 5 });
    expect((await again.draft('k'))?.generation).toBe(1);
    await again.close();
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_LAYOUT_VERSION);
    check.close();
  });

  it('refuses a file written by a newer datsync, with storage-failed, and leaves it as it was', async () => {
    const path = await fileOfOneRecord((raw) => raw.pragma(`user_version = ${SQLITE_LAYOUT_VERSION + 1}`));
    expect(() => new SqliteStorage(path)).toThrow(
      expect.objectContaining({ code: 'storage-failed', message: expect.stringContaining('newer datsync') }),
    );
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_LAYOUT_VERSION + 1);
    expect((check.prepare('SELECT COUNT(*) AS n FROM log').get() as { n: number }).n).toBe(1);
    check.close();
  });
});
