/**
 * Crash tests (issue 4): processes killed with SIGKILL mid-stream, 10 rounds
 * each, restart with every acknowledged write and never a partial transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { runAndKill } from './kill.js';
import { crashSchema } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'datsync-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A deterministic spread of kill points: early, mid-stream and late. */
const killPoints = [1, 37, 5, 120, 2, 64, 11, 250, 3, 90];

describe('SIGKILL during a stream of writes', () => {
  it('a SQLite log keeps every acknowledged append and stays contiguous, over 10 kills', async () => {
    const path = join(dir, 'log.sqlite');
    let acknowledgedMax = 0;
    for (const after of killPoints) {
      const { acknowledged } = await runAndKill('test/crash/sqlite-appender.ts', [path], after);
      acknowledgedMax = Math.max(acknowledgedMax, ...acknowledged);
      const storage = new SqliteStorage(path);
      const last = await storage.lastPosition();
      expect(last).toBeGreaterThanOrEqual(acknowledgedMax);
      const records = await storage.readLog(0, last + 10);
      expect(records.map((r) => r.position)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      for (const record of records) {
        expect(record.tx.ops).toHaveLength(3);
        expect(record.tx.ops.every((op) => op.value === record.position)).toBe(true);
      }
      await storage.close();
    }
  });

  it('a client restarts with a prefix of its transactions, never a partial one, over 10 kills', async () => {
    const path = join(dir, 'client.sqlite');
    let acknowledgedMax = -1;
    for (const after of killPoints) {
      const { acknowledged } = await runAndKill('test/crash/client-writer.ts', [path], after);
      acknowledgedMax = Math.max(acknowledgedMax, ...acknowledged);
      const client = await createClient({ schema: crashSchema, storage: new SqliteStorage(path) });
      const rows = client.q<Array<[number, number]>>('[:find ?n ?e :where [?e "crash/seq" ?n]]').map(([n, e]) => {
        const entity = client.pull('["crash/a" "crash/b"]', e);
        return [n, entity?.['crash/a'], entity?.['crash/b']] as const;
      });
      const seqs = rows.map((row) => row[0]).sort((a, b) => a - b);
      // A prefix: 0..k with nothing missing, and at least everything acknowledged.
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      expect(seqs.length - 1).toBeGreaterThanOrEqual(acknowledgedMax);
      // Whole transactions only: every datom of each one is there.
      for (const [n, a, b] of rows) {
        expect(a).toBe(n);
        expect(b).toBe(`b${n}`);
      }
      expect((await (client as Client).storage.outbox()).length).toBe(seqs.length);
      await client.close();
    }
  });
});
