/**
 * Token expiry during a long-lived connection (issue 6), as the server
 * enforces it: once the identity's `exp` has passed, the connection is told
 * once (a non-fatal `unauthenticated`), then receives nothing and has
 * nothing it pushes decided, until it sends a fresh token; then it is
 * welcomed again, receives what it missed, and its writes are decided.
 * (`scopes-auth.test.ts` shows the client side: the outbox kept, a fresh
 * token fetched and everything resumed.) Waits are on messages: a pong
 * comes after everything the server sent before it.
 */
import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../crdt/index.js';
import { decodeRegisters, liveOf, transactionDigest, transactionId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import { signToken, tokenAuthenticator } from '../../src/server/tokens.js';
import { MemoryStorage } from '../../storage/memory.js';
import { hello, rawConnect, untilPong } from '../sync/raw.js';
import { compiled, schema, startServer, user } from './harness.js';

const secret = 'a test secret that is at least 32 bytes long';

describe('an expired token', () => {
  it('stops what the connection receives and what it may write, until a fresh token resumes both', async () => {
    let now = Date.now();
    const server = await startServer({ authenticate: tokenAuthenticator({ secret }) as never, now: () => now });
    // Tokens expire by the server's clock; `jose` checks them against the real one, which stays behind.
    const tokenFor = (sub: string, seconds: number) => signToken({ sub }, { secret, expiresIn: Math.floor(now / 1000) + seconds });
    const bobToken = await tokenFor('bob', 10 * 3600);
    const bob = await user(server.url, 'bob', undefined, { token: () => bobToken });
    // Carol's writes, authored offline, pushed by hand.
    const author = (await createClient({ schema, storage: new MemoryStorage() })) as Client;
    await author.transact([{ 'task/title': 'carol writes', 'task/owner': 'carol', 'task/private': false }]);
    const [write] = author.replica.state.pending() as Transaction[];
    if (write === undefined) throw new Error('expected a pending write');

    const carol = await rawConnect(server.url, author.replicaId);
    carol.send(hello(author.replicaId, { token: await tokenFor('carol', 3600), issuedUpTo: author.replica.author.issuedUpTo }));
    await carol.nextOf('welcome');
    // She may not read everything: she is sent state, starting with a snapshot (empty here).
    carol.send({ type: 'credit', batch: (await carol.nextOf('snapshot')).batch });
    expect(await untilPong(carol, 1)).toEqual([]);

    // Two hours later by the server's clock, her token has expired; bob writes, carol pushes.
    now += 2 * 3600 * 1000;
    await bob.transact([{ 'task/title': 'bob writes', 'task/owner': 'bob', 'task/private': false }]);
    await bob.whenSynced();
    carol.send({ type: 'push', txs: [write] });
    const whileExpired = await untilPong(carol, 2);
    expect(whileExpired).toEqual([
      { type: 'error', error: { code: 'unauthenticated', message: 'the credentials expired: send new ones' }, fatal: false },
    ]);
    expect(server.head).toBe(1); // her write was not decided

    // A fresh token: welcomed again, she receives bob's write, and her push is decided.
    carol.send({ type: 'auth', token: await tokenFor('carol', 3600) });
    expect((await carol.nextOf('welcome')).head).toBe(1);
    carol.send({ type: 'push', txs: [write] });
    const received: string[] = [];
    let ownEntry: unknown;
    while (ownEntry === undefined) {
      const message = await carol.next();
      if (message.type === 'registers') {
        for (const [, , slot] of decodeRegisters(message.state, compiled.specs).registers) {
          for (const version of liveOf(slot)) received.push(String(version.value));
        }
      }
      if (message.type === 'records') {
        for (const entry of message.entries) {
          if ('own' in entry) ownEntry = entry;
          else received.push(...entry.tx.ops.map((op) => String(op.value)));
        }
      }
      if ('batch' in message) carol.send({ type: 'credit', batch: message.batch });
    }
    expect(received).toContain('bob writes');
    expect(ownEntry).toEqual({ position: 2, own: transactionId(write), digest: transactionDigest(write), hidden: [] });
    expect(server.head).toBe(2);

    carol.close();
    await Promise.all([bob.close(), author.close()]);
    await server.close();
  });
});
