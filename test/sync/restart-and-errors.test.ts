/**
 * The server restarted from SQLite resumes and clients catch up; bad input
 * (another protocol version, malformed and oversized frames, text frames,
 * forged replica ids) gets a clear error and a close code, and the server
 * keeps serving everyone else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import { CloseCode, PROTOCOL_VERSION, payloadCap } from '../../src/protocol/index.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { client, startServer, statusBecomes, view } from './harness.js';
import { hello, rawConnect } from './raw.js';

const dir = mkdtempSync(join(tmpdir(), 'datsync-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a server restarted from SQLite', () => {
  it('resumes its log, and clients (including one that wrote while it was down) catch up', async () => {
    const path = join(dir, 'restart.sqlite');
    let server = await startServer({ storage: new SqliteStorage(path) });
    const port = server.port;
    const a = await client(server.url);
    const b = await client(server.url);
    for (let i = 0; i < 20; i++) await a.transact([{ 'task/title': `before ${i}` }]);
    await a.whenSynced();
    await b.whenSynced();
    const headBefore = server.head;
    await server.close();
    await Promise.all([statusBecomes(a, 'offline'), statusBecomes(b, 'offline')]);
    await b.transact([{ 'task/title': 'while down' }]);
    server = await startServer({ storage: new SqliteStorage(path), ...(port === undefined ? {} : { port }) });
    expect(server.head).toBe(headBefore);
    await Promise.all([b.whenSynced(), a.whenSynced()]);
    await a.whenSynced();
    expect(server.head).toBe(headBefore + 1);
    expect(view(a)).toEqual(view(b));
    expect(a.q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(21);
    const late = await client(server.url);
    await late.whenSynced();
    expect(view(late)).toEqual(view(a));
    await Promise.all([a.close(), b.close(), late.close()]);
    await server.close();
  });
});

describe('bad input', () => {
  const R = 'raw-replica-1' as ReplicaId;

  it('refuses another protocol version with protocol-version and close code 4009', async () => {
    const server = await startServer();
    const raw = await rawConnect(server.url, R);
    raw.send(hello(R, { version: PROTOCOL_VERSION + 1 }));
    const error = await raw.nextOf('error');
    expect(error.error.code).toBe('protocol-version');
    expect(error.fatal).toBe(true);
    expect((await raw.closed).code).toBe(CloseCode.ProtocolVersion);
    await server.close();
  });

  it('closes a malformed frame with malformed-message (1002), a text frame with 1003, an oversized one with too-large and 1009, and keeps serving others', async () => {
    const server = await startServer({ limits: { maxFrameBytes: 64 * 1024 } });
    const bystander = await client(server.url);
    await bystander.transact([{ 'task/title': 'before' }]);
    await bystander.whenSynced();

    const garbage = await rawConnect(server.url, R);
    garbage.sendBytes(new Uint8Array([1, 255, 255, 255, 255, 255, 255, 255, 255, 255]));
    expect((await garbage.nextOf('error')).error.code).toBe('malformed-message');
    expect((await garbage.closed).code).toBe(CloseCode.ProtocolError);

    const unknownKind = await rawConnect(server.url, R);
    unknownKind.sendBytes(new Uint8Array([99, 1, 2]));
    expect((await unknownKind.nextOf('error')).error.message).toContain('unknown client message kind');
    expect((await unknownKind.closed).code).toBe(CloseCode.ProtocolError);

    const text = await rawConnect(server.url, R);
    text.sendBytes('{"type":"hello"}');
    expect((await text.closed).code).toBe(CloseCode.UnsupportedData);

    // Over the limit: told why (too-large), then closed with 1009…
    const oversized = await rawConnect(server.url, R);
    oversized.sendBytes(new Uint8Array(65 * 1024));
    const tooLarge = await oversized.nextOf('error');
    expect(tooLarge.error).toMatchObject({ code: 'too-large', message: expect.stringContaining('65536') });
    expect(tooLarge.fatal).toBe(true);
    expect((await oversized.closed).code).toBe(CloseCode.TooLarge);
    // …and past the margin the WebSocket layer keeps, cut off unread: 1009 alone, so memory stays bounded.
    const huge = await rawConnect(server.url, R);
    huge.sendBytes(new Uint8Array(payloadCap(64 * 1024) + 1));
    expect((await huge.closed).code).toBe(CloseCode.TooLarge);

    const beforeHello = await rawConnect(server.url, R);
    beforeHello.send({ type: 'ping', id: 1 });
    expect((await beforeHello.nextOf('error')).error.message).toContain('first message must be hello');

    // The bystander never noticed.
    await bystander.transact([{ 'task/title': 'after' }]);
    await bystander.whenSynced();
    expect(bystander.status).toBe('live');
    expect(server.head).toBe(2);
    await bystander.close();
    await server.close();
  });

  it('refuses writes under a replica id that belongs to another identity', async () => {
    const server = await startServer<{ user: string }>({
      authenticate: (token) => (token === null ? null : { user: token }),
      identityKey: (identity) => identity.user,
    });
    const alice = await client(server.url, { token: 'alice' });
    await alice.transact([{ 'task/title': 'alice writes' }]);
    await alice.whenSynced();
    const [written] = await alice.storage.readLog(0, 1);
    if (written === undefined) throw new Error('expected a confirmed record');
    // Mallory says hello under Alice's replica id: refused.
    const mallory = await rawConnect(server.url, alice.replicaId);
    mallory.send(hello(alice.replicaId, { token: 'mallory', issuedUpTo: 100 }));
    expect((await mallory.nextOf('error')).error.code).toBe('forbidden');
    expect((await mallory.closed).code).toBe(CloseCode.Forbidden);
    // Under her own id, pushing Alice's transaction (or one forged in her name) is refused too.
    const own = 'mallory-replica' as ReplicaId;
    const second = await rawConnect(server.url, own);
    second.send(hello(own, { token: 'mallory' }));
    await second.nextOf('welcome');
    second.send({ type: 'push', txs: [{ ...written.tx, counter: written.tx.counter + 1000 }] });
    expect((await second.nextOf('reject')).error.code).toBe('forbidden');
    const anonymous = await rawConnect(server.url, own);
    anonymous.send(hello(own));
    expect((await anonymous.nextOf('error')).error.code).toBe('unauthenticated');
    expect((await anonymous.closed).code).toBe(CloseCode.Unauthenticated);
    expect(server.head).toBe(1);
    second.close();
    await alice.close();
    await server.close();
  });
});
