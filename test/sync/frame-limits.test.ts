/**
 * Frames are cut by encoded size, not only by count (issues 5 and 9): an
 * outbox or a log of large values larger than one frame travels in several
 * frames within the server's limit (stated in `welcome`), each side refusing
 * up front what could never fit in a frame of its own, so no client stalls
 * on a frame the other side refuses at every reconnect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaId, Transaction } from '../../crdt/index.js';
import { DatsyncError, decodeRegisters, encodeTransactions, liveOf } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { encodeServerMessage } from '../../src/protocol/index.js';
import { compileSchema } from '../../src/schema.js';
import type { DatsyncServer } from '../../src/server/server.js';
import { client, goOnline, schema, startServer, view } from './harness.js';
import { hello, rawConnect } from './raw.js';

const LIMIT = 64 * 1024;
const { specs } = compileSchema(schema);
const big = (i: number, bytes = 8 * 1024): string => `${i} `.padEnd(bytes, 'x');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startServer>[0] = {}): Promise<DatsyncServer & { url: string }> {
  const s = await startServer({ limits: { maxFrameBytes: LIMIT }, ...options });
  cleanups.push(() => s.close());
  return s;
}

async function connected(url: string | undefined): Promise<Client> {
  const c = await client(url);
  cleanups.push(() => c.close());
  return c;
}

/** A transaction authored offline (not sent anywhere), and its author. */
async function authored(value: string): Promise<{ tx: Transaction; author: Client }> {
  const author = await connected(undefined);
  await author.transact([{ 'task/title': value }]);
  const [tx] = author.replica.state.pending();
  if (tx === undefined) throw new Error('expected a pending transaction');
  return { tx, author };
}

describe('frames cut by size', () => {
  it('pushes an offline outbox larger than a frame in several frames, and serves a catch-up of it in batches within the limit', async () => {
    const s = await server();
    const writer = await connected(undefined);
    // 40 writes of 8 KiB: 320 KiB, five times the frame limit, far under the count limits.
    for (let i = 0; i < 40; i++) await writer.transact([{ 'task/title': big(i) }]);
    const errors: unknown[] = [];
    writer.on('error', (error) => errors.push(error));
    goOnline(writer, s.url);
    await writer.whenSynced();
    expect(s.head).toBe(40);
    expect(errors).toEqual([]);

    // A bare reader: every batch fits the limit, and the log arrives whole and in order.
    const self = 'frame-reader-1' as ReplicaId;
    const raw = await rawConnect(s.url, self);
    cleanups.push(() => raw.close());
    raw.send(hello(self));
    expect((await raw.nextOf('welcome')).limits.maxFrameBytes).toBe(LIMIT);
    const batches: Array<Extract<ServerMessage, { type: 'records' }>> = [];
    while ((batches[batches.length - 1]?.through ?? 0) < 40) {
      const batch = await raw.nextOf('records');
      batches.push(batch);
      raw.send({ type: 'credit', batch: batch.batch });
    }
    expect(batches.length).toBeGreaterThan(4);
    for (const batch of batches) expect(encodeServerMessage(batch).length).toBeLessThanOrEqual(LIMIT);
    expect(batches.flatMap((b) => b.entries.map((e) => e.position))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));

    // A client catches up the same way, to the same data.
    const reader = await connected(s.url);
    await reader.whenSynced();
    expect(view(reader)).toEqual(view(writer));
  });

  it('cuts what it sends a client in the state form (registers it may now hold, many at once) to the limit too', async () => {
    // Read rules other than allowAll: clients get state rather than the log.
    const s = await server({ permissions: { read: { '*': true, 'task/owner': true }, write: { '*': true } } });
    const writer = await connected(s.url);
    for (let i = 0; i < 30; i++) await writer.transact([{ 'task/title': big(i) }]);
    await writer.whenSynced();
    // A reader that declared no scope holds nothing; declaring "everything" installs 240 KiB of registers at once.
    const self = 'state-reader-1' as ReplicaId;
    const raw = await rawConnect(s.url, self);
    cleanups.push(() => raw.close());
    raw.send(hello(self, { scopes: [] }));
    await raw.nextOf('welcome');
    raw.send({ type: 'credit', batch: (await raw.nextOf('snapshot')).batch });
    raw.send({ type: 'scopes', scopes: null });
    const titles: string[] = [];
    let messages = 0;
    while (titles.length < 30) {
      const message = await raw.next();
      if (!('batch' in message)) continue;
      expect(encodeServerMessage(message).length).toBeLessThanOrEqual(LIMIT);
      if (message.type === 'registers') {
        messages++;
        for (const [, , slot] of decodeRegisters(message.state, specs).registers) titles.push(...liveOf(slot).map((v) => String(v.value)));
      }
      raw.send({ type: 'credit', batch: message.batch });
    }
    expect(messages).toBeGreaterThan(3);
    expect(titles.sort()).toEqual(Array.from({ length: 30 }, (_, i) => big(i)).sort());
    const reader = await connected(s.url);
    await reader.whenSynced();
    expect(view(reader)).toEqual(view(writer));
  });

  it('sends a register whose history alone is over a frame in a snapshot, which travels in parts', async () => {
    const s = await server({ permissions: { read: { '*': true, 'task/owner': true }, write: { '*': true } } });
    const writer = await connected(s.url);
    // task/title keeps its history: five 20 KiB versions make one register of 100 KiB, each write within a frame.
    const { entityIds } = await writer.transact([{ ':db/id': 'task', 'task/title': big(0, 20 * 1024) }]);
    const task = entityIds.task as string;
    for (let i = 1; i < 5; i++) await writer.transact([{ ':db/id': ['datsync/id', task], 'task/title': big(i, 20 * 1024) }]);
    await writer.whenSynced();
    const self = 'history-reader-1' as ReplicaId;
    const raw = await rawConnect(s.url, self);
    cleanups.push(() => raw.close());
    raw.send(hello(self, { scopes: [] }));
    await raw.nextOf('welcome');
    raw.send({ type: 'credit', batch: (await raw.nextOf('snapshot')).batch });
    raw.send({ type: 'scopes', scopes: null });
    const parts: Uint8Array[] = [];
    for (;;) {
      const message = await raw.next();
      expect(message.type).not.toBe('error');
      if (!('batch' in message)) continue;
      expect(encodeServerMessage(message).length).toBeLessThanOrEqual(LIMIT);
      raw.send({ type: 'credit', batch: message.batch });
      if (message.type !== 'snapshot') continue;
      parts.push(message.part);
      if (message.final) break;
    }
    expect(parts.length).toBeGreaterThan(1);
    const whole = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.length;
    }
    const [register] = decodeRegisters(whole, specs).registers;
    expect(register?.[0]).toBe(task);
    expect(liveOf(register?.[2]).map((v) => v.value)).toEqual([big(4, 20 * 1024)]);
    const reader = await connected(s.url);
    await reader.whenSynced();
    expect(view(reader)).toEqual(view(writer));
  });

  it('transact refuses up front a transaction no frame could carry, applying and storing nothing', async () => {
    const s = await server({ limits: { maxFrameBytes: LIMIT, maxOpsPerTransaction: 100 } });
    const c = await connected(s.url);
    await c.whenSynced();
    await c.transact([{ 'task/title': 'small' }]);
    const before = view(c);
    // Over the frame limit the server stated…
    const tooBig = c.transact([{ 'task/title': big(0, LIMIT) }]);
    await expect(tooBig).rejects.toBeInstanceOf(DatsyncError);
    await expect(tooBig).rejects.toMatchObject({ code: 'too-large' });
    // …in strong mode too, and over the op limit the server stated however small.
    await expect(c.transact([{ 'task/title': big(1, LIMIT) }], { confirmed: true })).rejects.toMatchObject({ code: 'too-large' });
    const tags = Array.from({ length: 101 }, (_, i) => `t${i}`);
    await expect(c.transact([{ 'task/tags': tags }])).rejects.toMatchObject({ code: 'too-large' });
    expect(view(c)).toEqual(before);
    // Up to the limit is fine.
    await c.transact([{ 'task/tags': tags.slice(0, 100) }]);
    expect(c.q('[:find (count ?t) . :where [_ "task/tags" ?t]]')).toBe(100);
    await c.whenSynced();
    expect(c.pendingCount).toBe(0);
    expect(await c.storage.outbox()).toEqual([]);
    expect(s.head).toBe(2);
  });

  it('refuses on push, as a rejection, a write made offline that the server limit cannot carry, and sends the rest', async () => {
    const s = await server();
    const c = await connected(undefined);
    // Offline the client knows only the default limit (4 MiB): the write is taken…
    await c.transact([{ 'task/title': big(0, 2 * LIMIT) }]);
    await c.transact([{ 'task/title': 'fits' }]);
    const rejected = new Promise<{ code: string }>((resolve) => c.on('rejected', (event) => resolve(event.error)));
    goOnline(c, s.url);
    // …and once the server states its own, refused and rolled back; the next write goes through.
    expect(await rejected).toMatchObject({ code: 'too-large' });
    await c.whenSynced();
    expect(c.q('[:find [?t ...] :where [_ "task/title" ?t]]')).toEqual(['fits']);
    expect(s.head).toBe(1);
    expect(c.status).toBe('live');
  });

  it('never logs a record that could not be sent on in a frame: a push of one is rejected, and readers go on', async () => {
    const s = await server();
    const reader = await connected(s.url);
    await reader.whenSynced();
    const { tx: draft, author } = await authored('placeholder');
    // A transaction whose push frame is within the limit but which, as a record, would not be.
    const sized = (length: number): Transaction => ({ ...draft, ops: draft.ops.map((op) => ({ ...op, value: 'x'.repeat(length) })) });
    const overhead = encodeTransactions([sized(LIMIT)]).length - LIMIT;
    const tx = sized(LIMIT - overhead - 40);
    expect(encodeTransactions([tx]).length).toBe(LIMIT - 40);

    const raw = await rawConnect(s.url, author.replicaId);
    cleanups.push(() => raw.close());
    raw.send(hello(author.replicaId, { issuedUpTo: author.replica.author.issuedUpTo }));
    await raw.nextOf('welcome');
    raw.send({ type: 'push', txs: [tx] });
    const reject = await raw.nextOf('reject');
    expect(reject.error.code).toBe('too-large');
    expect(s.head).toBe(0);

    // The reader was sent nothing it could not take: it stays live and sees the next write.
    const writer = await connected(s.url);
    await writer.transact([{ 'task/title': 'after' }]);
    await writer.whenSynced();
    await reader.whenSynced();
    expect(reader.q('[:find [?t ...] :where [_ "task/title" ?t]]')).toEqual(['after']);
    expect(reader.status).toBe('live');
  });

  it('refuses a frame limit clients would not accept', async () => {
    await expect(startServer({ limits: { maxFrameBytes: 1024 } })).rejects.toMatchObject({ code: 'invalid-schema' });
    await expect(startServer({ limits: { maxFrameBytes: 1024 * 1024 * 1024 } })).rejects.toMatchObject({ code: 'invalid-schema' });
  });
});
