/**
 * `npm start` (scripts/start.mjs), as a newcomer runs it (issue 8): it
 * builds what is out of date, then one process (no child left running)
 * serves the example app and the sync endpoint on one port, on SQLite in
 * ./data of the directory it runs in, and prints the address; two people
 * who sign in there sync; Ctrl-C shuts it down gracefully.
 *
 * It builds the library into dist/ and the app into examples/app/dist/ when
 * they are older than their sources, as `npm start` does.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SchemaInput } from '../../src/schema.js';
import { MemoryStorage } from '../../storage/memory.js';
import { NodeWebSocket } from '../sync/harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const schema = JSON.parse(readFileSync(join(root, 'examples', 'tasks', 'schema.json'), 'utf8')) as SchemaInput;
const work = mkdtempSync(join(tmpdir(), 'datsync-start-'));
let child: ChildProcess | undefined;
const clients: Client[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  if (child?.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // The parent pid is the second field after the command name (which may hold spaces).
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

async function signedIn(url: string, user: string): Promise<Client> {
  const response = await fetch(new URL('login', url), { method: 'POST', body: JSON.stringify({ user }) });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  const c = (await createClient({
    schema,
    storage: new MemoryStorage(),
    url: `${url.replace(/^http/, 'ws')}sync`,
    token,
    WebSocket: NodeWebSocket,
  })) as Client;
  clients.push(c);
  return c;
}

describe.runIf(process.platform === 'linux')('npm start', () => {
  it('builds, then serves the app and sync from one process on ./data, prints the address, and stops on Ctrl-C', async () => {
    const env = { ...process.env };
    for (const name of ['PORT', 'HOST', 'DATSYNC_DATA', 'DATSYNC_POSTGRES_URL', 'DATSYNC_TOKEN_SECRET']) delete env[name];
    // --port 0: any free port; the data directory is the default, ./data of where it runs.
    const started = spawn(process.execPath, [join(root, 'scripts', 'start.mjs'), '--port', '0'], {
      cwd: work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let output = '';
    started.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      started.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /serving (http:\/\/127\.0\.0\.1:\d+\/) /.exec(output);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before serving:\n${output.slice(-4000)}`)));
    });

    // One process: the server is the process npm start runs, with nothing of its own still running.
    expect(childrenOf(started.pid as number)).toEqual([]);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<link rel="manifest"');
    expect((await fetch(new URL('sw.js', url))).status).toBe(200);

    // Two people sign in and sync through it.
    const ann = await signedIn(url, 'ann');
    const bob = await signedIn(url, 'bob');
    await ann.transact([{ 'user/name': 'ann' }]);
    await ann.whenSynced();
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (bob.serverPosition < ann.serverPosition) return;
        stop();
        resolve();
      };
      const stop = bob.on('position', check);
      check();
    });
    expect(bob.q('[:find [?n ...] :where [_ "user/name" ?n]]')).toEqual(['ann']);
    expect(existsSync(join(work, 'data', 'datsync.db'))).toBe(true);
    expect(existsSync(join(work, 'data', 'token-secret'))).toBe(true);

    await Promise.all(clients.splice(0).map((c) => c.close()));
    started.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGINT, shutting down');
  }, 600_000);
});
