/**
 * Two promises of docs/deploy.md ("When something goes away") not covered
 * elsewhere: a node that hangs while holding the append turn loses it once
 * PostgreSQL's `idle_in_transaction_session_timeout` (`turnTimeoutMs`) ends
 * its session, so the other nodes go on, and what it commits afterwards is
 * refused, not half-written; a node started while PostgreSQL is unreachable
 * exits, saying so.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatsyncError } from '../../crdt/index.js';
import { PostgresStorage } from '../../storage/postgres.js';
import { freePort } from '../support/ports.js';
import { freshSchema, postgresUrl, requirePostgresInCi, sql } from '../support/postgres.js';
import { writer } from './harness.js';

requirePostgresInCi();
const url = postgresUrl;
const namespaces: string[] = [];
const data = mkdtempSync(join(tmpdir(), 'datsync-outage-'));
afterAll(async () => {
  rmSync(data, { recursive: true, force: true });
  if (namespaces.length > 0) await sql(namespaces.map((ns) => `DROP SCHEMA IF EXISTS "${ns}" CASCADE`).join('; '));
});

describe.skipIf(url === undefined)('when a node or PostgreSQL goes away', () => {
  it('takes the turn from a node that hangs holding it, after turnTimeoutMs; the hung node then writes nothing', async () => {
    const namespace = freshSchema('hung');
    namespaces.push(namespace);
    const hung = await PostgresStorage.open({ url: url as string, schema: namespace, turnTimeoutMs: 300 });
    const other = await PostgresStorage.open({ url: url as string, schema: namespace });
    const { mint } = await writer();
    try {
      // The hung node holds the head lock and goes silent; the other's turn comes only once PostgreSQL ends that session.
      const stalled = await hung.shared.turn(0);
      const turn = await other.shared.turn(0);
      expect(turn.head).toBe(0);
      await turn.commit({ log: [{ position: 1, tx: await mint([{ 'task/title': 'after the hang' }]) }] });

      const late = await stalled.commit({ log: [{ position: 1, tx: await mint([{ 'task/title': 'from the hung node' }]) }] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(late).toBeInstanceOf(DatsyncError);
      expect(late).toMatchObject({ code: 'storage-failed' });
      const log = await other.readLog(0, 10);
      expect(log.map((record) => record.position)).toEqual([1]);
      expect(log.map((record) => record.tx.ops[0]?.value)).toEqual(['after the hang']);
    } finally {
      await Promise.all([hung.close(), other.close()]);
    }
  });

  it('a node started while PostgreSQL is unreachable exits, saying so', async () => {
    const unreachable = `postgres://datsync@127.0.0.1:${await freePort()}/app`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'serve', '--postgres', unreachable, '--port', '0', '--data', data, '--allow-all'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    for (const pipe of [child.stdout, child.stderr]) {
      pipe.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).not.toBe(0);
    expect(output).toContain('PostgreSQL is unreachable');
    expect(output).not.toContain('serving');
  });
});
