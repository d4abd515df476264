/**
 * Forged identity: the handshake binds a replica id to the identity that
 * first used it, so a client cannot write under another's replica id or
 * identity (not by hello, not in a push, not by renewing credentials), cannot
 * replay another client's transactions, and learns nothing of another's
 * unreadable data from what the server sends it: its whole stream, refusals
 * and error texts included, is the same whatever that data is.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaId, Transaction } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import type { Permissions } from '../../src/server/permissions.js';
import { attributeOf, ownedBy } from '../support/owner-rule.js';
import { client, startServer } from '../sync/harness.js';
import type { RawConnection } from '../sync/raw.js';
import { hello, rawConnect, untilPong } from '../sync/raw.js';

interface User {
  readonly sub: string;
}

/** Tasks name their owner; only the owner writes them, and `task/tags` (the secret here) is readable by the owner only. */
const permissions: Permissions<User> = {
  read: {
    'task/title': true,
    'task/owner': true,
    'user/email': true,
    'task/tags': { allow: ({ identity, db, eid }) => attributeOf(db, eid, 'task/owner') === identity.sub, dependsOn: ['task/owner'] },
  },
  write: { 'task/*': ownedBy('task/owner'), 'user/*': true },
};

async function authServer(now?: () => number) {
  return startServer<User>({
    authenticate: (token) => (token === null ? null : { sub: token }),
    identityKey: (user) => user.sub,
    permissions,
    ...(now === undefined ? {} : { now }),
  });
}

/** A fixed replica id, clock and randomness, so two runs send the same bytes. */
function fixedBytes(seed: number): (n: number) => Uint8Array {
  return (n) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 255);
}

async function alice(url: string, secret: string): Promise<{ c: Client; tx: Transaction }> {
  let t = 1_764_000_000_000;
  const c = await client(url, { token: 'alice', randomBytes: fixedBytes(1), now: () => t++ });
  await c.transact([{ 'task/title': 'public title', 'task/owner': 'alice', 'task/tags': [secret] }]);
  const [tx] = c.replica.state.pending();
  if (tx === undefined) throw new Error('expected a pending transaction');
  await c.transact([{ 'user/email': 'alice@example.com' }]);
  await c.whenSynced();
  return { c, tx };
}

/** Everything the server sends until it answers ping `id`, crediting batches. */
const until = (raw: RawConnection, id: number): Promise<ServerMessage[]> => untilPong(raw, id, { credit: true });

describe('forged identity', () => {
  it('cannot say hello, push, or renew credentials as another identity or under its replica id', async () => {
    const server = await authServer();
    const { c: a, tx } = await alice(server.url, 'alice-secret');
    const head = server.head;
    // Hello under Alice's replica id.
    const thief = await rawConnect(server.url, a.replicaId);
    thief.send(hello(a.replicaId, { token: 'mallory', issuedUpTo: 1000 }));
    expect((await thief.nextOf('error')).error.code).toBe('forbidden');
    expect((await thief.closed).code).toBe(CloseCode.Forbidden);
    // Her own replica id, then credentials renewed as Alice: refused, connection closed.
    const M = 'mallory-replica-1' as ReplicaId;
    const renew = await rawConnect(server.url, M);
    renew.send(hello(M, { token: 'mallory' }));
    await renew.nextOf('welcome');
    renew.send({ type: 'auth', token: 'alice' });
    expect((await renew.nextOf('error')).error.code).toBe('unauthenticated');
    expect((await renew.closed).code).toBe(CloseCode.Unauthenticated);
    // Pushes under Alice's replica id: her transaction replayed as is, and one forged after it.
    const mallory = await rawConnect(server.url, M);
    mallory.send(hello(M, { token: 'mallory' }));
    await mallory.nextOf('welcome');
    const forged: Transaction = { ...tx, counter: tx.counter + 100 };
    mallory.send({ type: 'push', txs: [tx, forged] });
    const rejects = [await mallory.nextOf('reject'), await mallory.nextOf('reject')];
    expect(rejects.map((r) => [r.txId, r.error.code])).toEqual([
      [transactionId(tx), 'forbidden'],
      [transactionId(forged), 'forbidden'],
    ]);
    // Her own replica id, Alice's transaction's ops: the owner rule refuses (Alice's task, Alice named as owner).
    const copied: Transaction = { ...tx, replica: M, counter: 1 };
    mallory.send({ type: 'push', txs: [copied] });
    expect((await mallory.nextOf('reject')).error.code).toBe('forbidden');
    expect(server.head).toBe(head);
    // Alice noticed nothing and still writes.
    await a.transact([{ 'task/title': 'still alice' }]);
    await a.whenSynced();
    expect(a.status).toBe('live');
    mallory.close();
    await a.close();
    await server.close();
  });

  it('another tab of the same identity may send its writes; another identity may not, even after the first left', async () => {
    const server = await authServer();
    const { c: a, tx } = await alice(server.url, 'alice-secret');
    await a.close();
    const tab = 'alice-second-tab' as ReplicaId;
    const second = await rawConnect(server.url, tab);
    second.send(hello(tab, { token: 'alice' }));
    await second.nextOf('welcome');
    // Resending a decided transaction of her own replica is recognized and changes nothing.
    second.send({ type: 'push', txs: [tx] });
    const head = server.head;
    const M = 'mallory-replica-2' as ReplicaId;
    const mallory = await rawConnect(server.url, M);
    mallory.send(hello(M, { token: 'mallory' }));
    await mallory.nextOf('welcome');
    mallory.send({ type: 'push', txs: [{ ...tx, counter: tx.counter + 5 }] });
    expect((await mallory.nextOf('reject')).error.code).toBe('forbidden');
    await until(second, 1);
    expect(server.head).toBe(head);
    second.close();
    mallory.close();
    await server.close();
  });

  it('what another identity receives, refusals and error texts included, does not depend on data it may not read', async () => {
    const observe = async (secret: string): Promise<string[]> => {
      const server = await authServer(() => 1_764_000_000_000);
      const { c: a } = await alice(server.url, secret);
      const M = 'mallory-replica-3' as ReplicaId;
      const mallory = await rawConnect(server.url, M);
      mallory.send(hello(M, { token: 'mallory' }));
      const seen: ServerMessage[] = [await mallory.next(), ...(await until(mallory, 1))];
      const task = a.q<string>('[:find ?id . :where [?e "task/title"] [?e "datsync/id" ?id]]');
      // Writes that touch Alice's task, claim her e-mail, or name her as owner: each refused.
      const base = { replica: M, hlc: 1_764_000_000_000 * 1024, ops: [] } as unknown as Transaction;
      const op = (attribute: string, value: unknown, entity = task) => ({
        offset: 0,
        entity,
        attribute,
        kind: 'assert',
        value,
        supersedes: [],
      });
      mallory.send({
        type: 'push',
        txs: [
          { ...base, counter: 1, ops: [op('task/tags', 'guess')] },
          { ...base, counter: 2, ops: [op('user/email', 'alice@example.com', `${M}.2`)] },
          { ...base, counter: 3, ops: [op('task/owner', 'alice', `${M}.3`)] },
        ] as unknown as Transaction[],
      });
      seen.push(...(await until(mallory, 2)));
      await a.transact([{ ':db/id': ['user/email', 'alice@example.com'], 'task/tags': [`${secret} again`] }]);
      await a.whenSynced();
      seen.push(...(await until(mallory, 3)));
      mallory.close();
      await a.close();
      await server.close();
      return seen.map((message) =>
        JSON.stringify(message, (key, value: unknown) =>
          key === 'logId' ? 'log' : value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
        ),
      );
    };
    const first = await observe('secret-one');
    const second = await observe('secret-two');
    expect(first.some((m) => m.includes('"reject"'))).toBe(true);
    expect(first.join('\n')).not.toContain(Buffer.from('secret-one').toString('hex'));
    expect(first.join('\n')).not.toContain('secret-one');
    expect(second).toEqual(first);
  });
});
