/**
 * The deployment of docs/deploy.md, run for real: examples/deploy/nginx.conf
 * (only its ports moved to free ones) in front of three `datsync serve
 * --postgres` processes on one log. Clients that know only the balancer's
 * address sync with one another; a node is SIGKILLed while they write, its
 * clients reconnect through the balancer to the others, and nothing is lost
 * or applied twice.
 *
 * Needs nginx (Debian's nginx-light): without it the test is skipped with a
 * warning, like the PostgreSQL tests without a server.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TxId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SchemaInput } from '../../src/schema.js';
import { MemoryStorage } from '../../storage/memory.js';
import { freePort } from '../support/ports.js';
import { freshDatabase, postgresUrl, requirePostgresInCi, sql } from '../support/postgres.js';
import { NodeWebSocket, view } from '../sync/harness.js';
import type { NodeProcess } from './processes.js';
import { holds, startNodeProcess } from './processes.js';

requirePostgresInCi();
const nginx = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim() || undefined;
if (nginx === undefined) console.warn('\n!!! nginx not found (apt-get install nginx-light): the deployment example is not tested.\n');

const schema = JSON.parse(readFileSync('examples/tasks/schema.json', 'utf8')) as SchemaInput;
const prefix = mkdtempSync(join(tmpdir(), 'datsync-nginx-'));
const nodes: NodeProcess[] = [];
const clients: Client[] = [];
let balancer: ChildProcess | undefined;

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  if (balancer !== undefined && balancer.exitCode === null) {
    const gone = new Promise((resolve) => balancer?.once('exit', resolve));
    balancer.kill('SIGTERM');
    await gone;
  }
  await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
  rmSync(prefix, { recursive: true, force: true });
});

describe.skipIf(postgresUrl === undefined || nginx === undefined)('the deployment example: three nodes behind nginx', () => {
  it('syncs clients that know only the balancer, and loses nothing when a node behind it is SIGKILLed', async () => {
    const db = await freshDatabase();
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startNodeProcess(db)))));
    const ports = nodes.map((node) => new URL(node.url).port);
    const front = await freePort();
    const conf = readFileSync('examples/deploy/nginx.conf', 'utf8')
      .replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${front};`)
      .replace(/127\.0\.0\.1:808([123])/g, (_, n: string) => `127.0.0.1:${ports[Number(n) - 1]}`);
    expect(conf).not.toMatch(/:808\d/);
    writeFileSync(join(prefix, 'nginx.conf'), conf);
    let nginxErrors = '';
    balancer = spawn(nginx as string, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    balancer.stderr?.on('data', (chunk: Buffer) => {
      nginxErrors = (nginxErrors + chunk.toString()).slice(-4000);
    });

    // Six clients given the balancer's address only (they retry until nginx listens); least_conn spreads them.
    const url = `ws://127.0.0.1:${front}/sync`;
    const cs = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const c = (await createClient({
          schema,
          storage: new MemoryStorage(),
          url,
          WebSocket: NodeWebSocket,
          reconnect: { initialMs: 20, maxMs: 200 },
        })) as Client;
        clients.push(c);
        return c;
      }),
    );
    const written: TxId[] = [];
    const write = async (c: Client, title: string): Promise<void> => {
      const { txId } = await c.transact([{ 'task/title': title }]);
      if (txId !== null) written.push(txId);
    };
    await Promise.all(cs.map(async (c, i) => Promise.all([0, 1, 2, 3, 4].map((n) => write(c, `c${i} ${n}`)))));
    await Promise.all(cs.map((c) => c.whenSynced()));

    // A node dies while everyone writes: those it served lose their connection and come back through nginx.
    const cutOff = new Set<Client>();
    for (const c of cs) c.on('status', (status) => status === 'offline' && cutOff.add(c));
    let midStream: () => void = () => undefined;
    const killed = new Promise<void>((resolve) => {
      midStream = resolve;
    }).then(() => (nodes[0] as NodeProcess).kill('SIGKILL'));
    await Promise.all(
      cs.map(async (c, i) => {
        for (let n = 0; n < 20; n++) {
          await write(c, `c${i} stream ${n}`);
          if (i === 0 && n === 5) midStream();
          if (n % 5 === 4) await c.whenSynced();
        }
      }),
    );
    await killed;
    await Promise.all(cs.map((c) => c.whenSynced()));
    expect(cutOff.size, `nginx spread no client to the killed node (${nginxErrors})`).toBeGreaterThan(0);

    const head = Number((await sql<{ position: string }>('SELECT position FROM datsync.head', [], db))[0]?.position);
    await Promise.all(cs.map((c) => holds(c, head)));
    for (const c of cs) {
      expect(c.pendingCount).toBe(0);
      expect(view(c)).toEqual(view(cs[0] as Client));
    }
    const log = await sql<{ tx_id: string }>('SELECT tx_id FROM datsync.log ORDER BY position', [], db);
    expect(log.length).toBe(head);
    expect([...written].sort()).toEqual(log.map((row) => row.tx_id).sort());
    expect((cs[0] as Client).q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(6 * 25);
  });
});
