/**
 * Three `datsync serve --postgres` processes on one PostgreSQL log (issue
 * 10): clients on different nodes write at once, offline and online; a node
 * is SIGKILLed mid-stream and its clients fail over to the others. At the
 * end every client and every node shows the same data, and every write is in
 * the log exactly once. Everything waits on events.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { TxId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SchemaInput } from '../../src/schema.js';
import { MemoryStorage } from '../../storage/memory.js';
import { freshDatabase, postgresUrl, requirePostgresInCi, sql } from '../support/postgres.js';
import { NodeWebSocket, view } from '../sync/harness.js';
import type { NodeProcess } from './processes.js';
import { holds, startNodeProcess } from './processes.js';

requirePostgresInCi();
const schema = JSON.parse(readFileSync('examples/tasks/schema.json', 'utf8')) as SchemaInput;
const started: NodeProcess[] = [];
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(started.map((node) => node.kill('SIGTERM')));
});

function connection(primary: string, all: readonly string[]) {
  return {
    url: primary,
    failoverUrls: all.filter((url) => url !== primary),
    WebSocket: NodeWebSocket,
    initialBackoffMs: 20,
    maxBackoffMs: 200,
  };
}

async function clientOf(primary: string, all: readonly string[]): Promise<Client> {
  const c = (await createClient({
    schema,
    storage: new MemoryStorage(),
    url: primary,
    failoverUrls: all.filter((url) => url !== primary),
    WebSocket: NodeWebSocket,
    reconnect: { initialMs: 20, maxMs: 200 },
  })) as Client;
  clients.push(c);
  return c;
}

/** The id of a transaction that changed something. */
function idOf(report: { readonly txId: TxId | null }): TxId {
  if (report.txId === null) throw new Error('the transaction changed nothing');
  return report.txId;
}

async function logHead(db: string): Promise<number> {
  return Number((await sql<{ position: string }>('SELECT position FROM datsync.head', [], db))[0]?.position);
}

describe.skipIf(postgresUrl === undefined)('three server nodes as separate processes on one PostgreSQL log', () => {
  it('converges clients writing on different nodes, offline and online, and loses nothing when a node is SIGKILLed mid-stream', async () => {
    const db = await freshDatabase();
    const nodes = await Promise.all([0, 1, 2].map(() => startNodeProcess(db)));
    started.push(...nodes);
    const urls = nodes.map((node) => node.url);
    // Two clients per node.
    const cs = await Promise.all([0, 0, 1, 1, 2, 2].map((n) => clientOf(urls[n] as string, urls)));
    const [c0, c1, c2, c3, c4, c5] = cs as [Client, Client, Client, Client, Client, Client];
    const written: TxId[] = [];
    const write = async (c: Client, title: string): Promise<void> => {
      written.push(idOf(await c.transact([{ 'task/title': title, 'task/tags': [title.split(' ')[0] as string] }])));
    };

    // Online, at once, through every node; then everyone edits one task concurrently.
    await Promise.all(
      cs.map(async (c, i) => {
        for (let n = 0; n < 15; n++) await write(c, `c${i} online ${n}`);
      }),
    );
    const shared = await c0.transact([{ ':db/id': 's', 'task/title': 'shared' }]);
    written.push(idOf(shared));
    const task = shared.entityIds.s as string;
    await Promise.all(cs.map((c) => c.whenSynced()));
    await Promise.all(cs.map((c) => c.whenSynced()));
    await Promise.all(
      cs.map(async (c, i) => {
        written.push(idOf(await c.transact([[':db/add', ['datsync/id', task], 'task/title', `edited by c${i}`]])));
      }),
    );

    // Unique identity across nodes: two clients on different nodes claim one name; one wins.
    const claims = await Promise.allSettled([
      c2.transact([{ 'user/name': 'ann' }], { confirmed: true }),
      c4.transact([{ 'user/name': 'ann' }], { confirmed: true }),
    ]);
    expect(claims.map((claim) => claim.status).sort()).toEqual(['fulfilled', 'rejected']);
    for (const claim of claims) {
      if (claim.status === 'fulfilled') written.push(idOf(claim.value));
      else expect(claim.reason).toMatchObject({ code: 'unique-conflict' });
    }

    // Offline writers, while the others go on writing.
    c3.disconnect();
    c5.disconnect();
    await Promise.all(
      [c3, c5, c2].map(async (c) => {
        for (let n = 0; n < 10; n++) await write(c, `c${cs.indexOf(c)} offline-time ${n}`);
      }),
    );
    c3.connect(connection(urls[1] as string, urls));
    c5.connect(connection(urls[2] as string, urls));

    // Node 0's clients write a stream, syncing as they go; node 0 is SIGKILLed in the middle of it.
    let midStream: () => void = () => undefined;
    const killed = new Promise<void>((resolve) => {
      midStream = resolve;
    }).then(() => (nodes[0] as NodeProcess).kill('SIGKILL'));
    await Promise.all(
      [c0, c1].map(async (c, i) => {
        for (let n = 0; n < 40; n++) {
          await write(c, `c${i} stream ${n}`);
          if (i === 0 && n === 15) midStream();
          if (n % 4 === 3) await c.whenSynced();
        }
      }),
    );
    await killed;

    // Quiescence: every write decided, every client holding the whole log.
    await Promise.all(cs.map((c) => c.whenSynced()));
    const head = await logHead(db);
    await Promise.all(cs.map((c) => holds(c, head)));
    for (const c of cs) {
      expect(c.pendingCount).toBe(0);
      expect(view(c)).toEqual(view(c0));
    }
    const log = await sql<{ position: string; tx_id: string }>('SELECT position, tx_id FROM datsync.log ORDER BY position', [], db);
    expect(log.map((row) => Number(row.position))).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    const inLog = log.map((row) => row.tx_id);
    expect(new Set(inLog).size).toBe(inLog.length);
    expect([...written].sort()).toEqual([...inLog].sort());
    expect(c0.q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(6 * 15 + 1 + 3 * 10 + 2 * 40);

    // Every node serves the same data: the two survivors, and node 0 restarted.
    const restarted = await startNodeProcess(db);
    started.push(restarted);
    for (const url of [urls[1] as string, urls[2] as string, restarted.url]) {
      const observer = await clientOf(url, [url]);
      await observer.whenSynced();
      await holds(observer, head);
      expect(view(observer)).toEqual(view(c0));
    }
  });
});
