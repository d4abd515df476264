/**
 * Rate limits per connection and per identity: a flood is told
 * `rate-limited` and closed with 4029, other clients and identities go on
 * undisturbed, and a real client that runs into a limit loses nothing: it
 * reconnects with backoff and its writes land.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import { CloseCode, DEFAULT_LIMITS } from '../../src/protocol/index.js';
import { client, startServer } from '../sync/harness.js';
import { hello, rawConnect } from '../sync/raw.js';

const tight = {
  messages: { perSecond: 20, burst: 40 },
  transactions: { perSecond: 20, burst: 10 },
  identityMessages: { perSecond: 1000, burst: 1000 },
  identityTransactions: { perSecond: 1000, burst: 1000 },
};

describe('rate limits', () => {
  it('closes a connection that floods messages with rate-limited (4029); a bystander keeps working', async () => {
    const server = await startServer({ limits: tight });
    const bystander = await client(server.url);
    await bystander.whenSynced();
    const R = 'flooder-1' as ReplicaId;
    const flood = await rawConnect(server.url, R);
    flood.send(hello(R));
    await flood.nextOf('welcome');
    for (let i = 0; i < 200; i++) flood.send({ type: 'ping', id: i });
    const error = await flood.nextOf('error');
    expect(error.error.code).toBe('rate-limited');
    expect(error.error.message).toContain('too many messages on this connection');
    expect(error.fatal).toBe(true);
    expect((await flood.closed).code).toBe(CloseCode.RateLimited);
    await bystander.transact([{ 'task/title': 'still here' }]);
    await bystander.whenSynced();
    expect(server.head).toBe(1);
    await bystander.close();
    await server.close();
  });

  it('limits an identity over all its connections, and not another identity', async () => {
    const server = await startServer<{ user: string }>({
      authenticate: (token) => (token === null ? null : { user: token }),
      identityKey: (identity) => identity.user,
      limits: { ...DEFAULT_LIMITS, identityMessages: { perSecond: 5, burst: 30 } },
    });
    const connections = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const R = `mallory-${n}` as ReplicaId;
        const raw = await rawConnect(server.url, R);
        raw.send(hello(R, { token: 'mallory' }));
        await raw.nextOf('welcome');
        return raw;
      }),
    );
    // Twelve messages each: within any one connection's limit, over the identity's.
    for (const raw of connections) for (let i = 0; i < 12; i++) raw.send({ type: 'ping', id: i });
    const first = await Promise.race(connections.map((raw) => raw.closed));
    expect(first.code).toBe(CloseCode.RateLimited);
    expect(first.reason).toContain('too many messages from this identity');
    for (const raw of connections) raw.close();
    const alice = await client(server.url, { token: 'alice' });
    await alice.transact([{ 'task/title': 'alice is not limited by mallory' }]);
    await alice.whenSynced();
    expect(server.head).toBe(1);
    await alice.close();
    await server.close();
  });

  it('a client over its transaction limit reconnects and every write lands, none twice', async () => {
    const server = await startServer({ limits: tight });
    const writer = await client(server.url);
    await writer.whenSynced();
    const closes: number[] = [];
    writer.on('status', (status) => {
      if (status === 'offline') closes.push(server.head);
    });
    for (let i = 0; i < 60; i++) await writer.transact([{ 'task/title': `write ${i}` }]);
    await writer.whenSynced();
    expect(closes.length).toBeGreaterThan(0);
    expect(server.head).toBe(60);
    expect(writer.q('[:find (count ?e) . :where [?e "task/title"]]')).toBe(60);
    await writer.close();
    await server.close();
  });
});
