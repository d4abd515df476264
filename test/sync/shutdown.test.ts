/**
 * Graceful shutdown (issue 5): `server.close()`, and `datsync serve` on
 * SIGTERM or SIGINT, stop accepting connections, decide and store every
 * transaction already received, and close every socket with 1001 ("going
 * away": clients reconnect later). Waits are on events, never on sleeps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../../bench/load/server-process.js';
import type { ReplicaId, Transaction } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { client, schema, startServer } from './harness.js';
import type { RawConnection } from './raw.js';
import { hello, rawConnect } from './raw.js';

const dir = mkdtempSync(join(tmpdir(), 'datsync-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `count` transactions written offline by a fresh client, ready to push by hand. */
async function offlineWrites(count: number): Promise<{ replicaId: ReplicaId; issuedUpTo: number; txs: Transaction[] }> {
  const writer = await client(undefined);
  for (let i = 0; i < count; i++) await writer.transact([{ 'task/title': `write ${i}` }]);
  const txs = [...writer.replica.state.pending()];
  const result = { replicaId: writer.replicaId, issuedUpTo: writer.replica.author.issuedUpTo, txs };
  await writer.close();
  return result;
}

/** Pushes `txs` and waits until the server has taken every one of them in (its pong comes after them). */
async function pushAll(url: string, writes: Awaited<ReturnType<typeof offlineWrites>>): Promise<RawConnection> {
  const raw = await rawConnect(url, writes.replicaId);
  raw.send(hello(writes.replicaId, { issuedUpTo: writes.issuedUpTo }));
  await raw.nextOf('welcome');
  raw.send({ type: 'push', txs: writes.txs });
  raw.send({ type: 'ping', id: 1 });
  await raw.nextOf('pong');
  return raw;
}

/** Every message the server sends `raw` until it closes, and the close. */
async function untilClosed(raw: RawConnection): Promise<{ messages: ServerMessage[]; code: number }> {
  const messages: ServerMessage[] = [];
  let closed = false;
  const done = raw.closed.then(({ code }) => {
    closed = true;
    return code;
  });
  while (!closed) {
    const message = await Promise.race([raw.next(), done.then(() => undefined)]);
    if (message !== undefined) messages.push(message);
  }
  return { messages, code: await done };
}

describe('graceful shutdown', () => {
  it('close() stores every transaction already received, refuses none of them, and closes sockets with 1001', async () => {
    const path = join(dir, 'in-process.sqlite');
    const server = await startServer({ storage: new SqliteStorage(path) });
    const writes = await offlineWrites(30);
    const raw = await pushAll(server.url, writes);
    const watcher = await client(server.url);
    await watcher.whenSynced();
    const ending = untilClosed(raw);
    await server.close();
    const { messages, code } = await ending;
    expect(code).toBe(CloseCode.GoingAway);
    // Nothing received before the shutdown was refused for it.
    expect(messages.filter((m) => m.type === 'reject')).toEqual([]);
    // No new connection is taken.
    await expect(rawConnect(server.url, writes.replicaId)).rejects.toThrow();
    // Every transaction is in the stored log, once.
    const reopened = new SqliteStorage(path);
    const log = await reopened.readLog(0, 1000);
    expect(log.map((record) => transactionId(record.tx))).toEqual(writes.txs.map(transactionId));
    await reopened.close();
    await watcher.close();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'datsync serve on %s: stores what it received, closes sockets with 1001, exits 0',
    async (signal) => {
      const data = join(dir, signal);
      const schemaPath = join(dir, 'schema.json');
      writeFileSync(schemaPath, JSON.stringify(schema));
      const first = await startServerProcess({ data, schema: schemaPath });
      const writes = await offlineWrites(20);
      const raw = await pushAll(first.url, writes);
      const ending = untilClosed(raw);
      process.kill(first.pid, signal);
      expect((await ending).code).toBe(CloseCode.GoingAway);
      expect(await first.exited).toEqual({ code: 0, signal: null });
      // Restarted on the same data, the log holds all 20, and the writer has nothing left to send.
      const second = await startServerProcess({ data, schema: schemaPath });
      const again = await rawConnect(second.url, writes.replicaId);
      again.send(hello(writes.replicaId, { issuedUpTo: writes.issuedUpTo }));
      const welcome = await again.nextOf('welcome');
      expect(welcome.head).toBe(20);
      expect(welcome.decided).toBe(writes.issuedUpTo);
      again.close();
      await second.stop();
    },
  );
});
