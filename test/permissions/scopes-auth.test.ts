/**
 * Query scopes (partial replication), write permissions and authentication
 * (issue 6).
 */
import { describe, expect, it } from 'vitest';
import { q } from '../../src/datascript/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import { allowAll } from '../../src/server/permissions.js';
import { signToken, tokenAuthenticator } from '../../src/server/tokens.js';
import { hello, rawConnect } from '../sync/raw.js';
import { startServer, titles, user } from './harness.js';

describe('query scopes', () => {
  it('check out only what a scope selects; entities enter and leave as another client changes them', async () => {
    const server = await startServer({ permissions: { ...allowAll } as never });
    const alice = await user(server.url, 'alice');
    await alice.transact([
      { 'task/title': 'red one', 'task/tag': 'red' },
      { 'task/title': 'blue one', 'task/tag': 'blue' },
    ]);
    await alice.whenSynced();
    const bob = await user(server.url, 'bob');
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['blue one', 'red one']);
    await bob.scope('red', { query: '[:find ?e :where [?e "task/tag" "red"]]' });
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['red one']);
    // Another client's change moves an entity into the scope, then out of it.
    const blue = alice.q<number>('[:find ?e . :where [?e "task/title" "blue one"]]');
    await alice.transact([[':db/add', blue, 'task/tag', 'red']]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['blue one', 'red one']);
    await alice.transact([[':db/add', blue, 'task/tag', 'green']]);
    await alice.whenSynced();
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['red one']);
    // A second scope adds to the first; dropping it takes its entities away again.
    const green = await bob.scope('green', { query: '[:find ?e :in $ ?tag :where [?e "task/tag" ?tag]]', inputs: ['green'] });
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['blue one', 'red one']);
    await green.drop();
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['red one']);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('follow references from scope results, and pull scopes take what the pattern reaches', async () => {
    const server = await startServer({ permissions: allowAll as never });
    const alice = await user(server.url, 'alice');
    const made = await alice.transact([
      { ':db/id': 'project', 'task/title': 'project' },
      { ':db/id': 'child', 'task/title': 'child', 'task/parent': 'project', 'task/tag': 'mine' },
      { 'task/title': 'unrelated' },
    ]);
    await alice.whenSynced();
    const bob = await user(server.url, 'bob');
    await bob.setScopes([{ name: 'mine', query: '[:find ?e :where [?e "task/tag" "mine"]]', follow: ['task/parent'] }]);
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['child', 'project']);
    await bob.setScopes([
      { name: 'tree', pull: '["task/title" {"task/parent" ["task/title"]}]', entity: made.entityIds.child ?? ('' as never) },
    ]);
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['child', 'project']);
    await bob.setScopes([]);
    await bob.whenSynced();
    expect(titles(bob)).toEqual([]);
    await bob.setScopes(null);
    await bob.whenSynced();
    expect(titles(bob)).toEqual(['child', 'project', 'unrelated']);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('keep a client\u2019s own pending writes to an entity that leaves every scope, and still sync them', async () => {
    const server = await startServer({ permissions: allowAll as never });
    const alice = await user(server.url, 'alice');
    await alice.transact([{ 'task/title': 'shared', 'task/tag': 'red' }]);
    await alice.whenSynced();
    const bob = await user(server.url, 'bob');
    await bob.scope('red', { query: '[:find ?e :where [?e "task/tag" "red"]]' });
    await bob.whenSynced();
    const shared = bob.q<number>('[:find ?e . :where [?e "task/title" "shared"]]');
    bob.disconnect();
    await bob.transact([[':db/add', shared, 'task/notes', 'written offline']]);
    await alice.transact([[':db/add', alice.q<number>('[:find ?e . :where [?e "task/title" "shared"]]'), 'task/tag', 'blue']]);
    await alice.whenSynced();
    bob.connect({ url: server.url, WebSocket: (await import('ws')).WebSocket, initialBackoffMs: 20, maxBackoffMs: 200, token: 'bob' });
    await bob.whenSynced();
    // The entity left bob's scope; his own note stayed until the server took it, and it reached alice.
    expect(titles(bob)).toEqual([]);
    await alice.whenSynced();
    expect(alice.q('[:find ?n :where [_ "task/notes" ?n]]')).toEqual([['written offline']]);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });

  it('refuse a malformed scope with invalid-query, naming it', async () => {
    const server = await startServer({ permissions: allowAll as never });
    const bob = await user(server.url, 'bob');
    await expect(bob.setScopes([{ name: 'bad', query: '[:find ?e :where [?e' }])).rejects.toMatchObject({ code: 'invalid-query' });
    await expect(
      bob.setScopes([
        { name: 'x', query: '[:find ?e :where [?e "a"]]' },
        { name: 'x', query: '[:find ?e :where [?e "a"]]' },
      ]),
    ).rejects.toMatchObject({
      code: 'invalid-query',
    });
    await bob.close();
    await server.close();
  });
});

describe('write permissions', () => {
  it('judge the whole transaction on its after-state: two writes each fine alone can be refused together', async () => {
    // A task may be private, or tagged "shared", but not both at once.
    const strict = await startServer({
      permissions: allowAll as never,
      canWrite: ({ dbAfter }) => {
        const clash = q<number | null>('[:find ?e . :where [?e "task/private" true] [?e "task/tag" "shared"]]', dbAfter);
        return clash === null ? true : 'a private task cannot be shared';
      },
    });
    const alice = await user(strict.url, 'alice');
    const reasons: string[] = [];
    alice.on('rejected', ({ error }) => reasons.push(error.message));
    await alice.transact([{ ':db/id': 't', 'task/title': 't', 'task/private': true }]);
    await alice.transact([{ 'task/title': 'u', 'task/tag': 'shared' }]);
    await alice.whenSynced();
    const t = alice.q<number>('[:find ?e . :where [?e "task/title" "t"]]');
    await alice.transact([[':db/add', t, 'task/tag', 'shared']]);
    await alice.whenSynced();
    expect(reasons).toEqual(['a private task cannot be shared']);
    expect(alice.q('[:find ?g :in $ ?e :where [?e "task/tag" ?g]]', t)).toEqual([]);
    await alice.close();
    await strict.close();
  });

  it('roll a refused write back on the writer with the reason, and tell no one else', async () => {
    const server = await startServer();
    const alice = await user(server.url, 'alice');
    const bob = await user(server.url, 'bob');
    await alice.transact([{ 'task/title': 'alice task', 'task/owner': 'alice', 'task/private': false }]);
    await alice.whenSynced();
    await bob.whenSynced();
    const task = bob.q<number>('[:find ?e . :where [?e "task/title" "alice task"]]');
    const rejected: Array<{ code: string; message: string }> = [];
    bob.on('rejected', ({ error }) => rejected.push({ code: error.code, message: error.message }));
    await bob.transact([[':db/add', task, 'task/title', 'hijacked']]);
    expect(titles(bob)).toEqual(['hijacked']);
    await bob.whenSynced();
    expect(rejected).toEqual([{ code: 'forbidden', message: 'only alice may change this task' }]);
    expect(titles(bob)).toEqual(['alice task']);
    await alice.whenSynced();
    expect(titles(alice)).toEqual(['alice task']);
    await Promise.all([alice.close(), bob.close()]);
    await server.close();
  });
});

describe('authentication', () => {
  const secret = 'a test secret that is at least 32 bytes long';

  it('accepts signed tokens, refuses forged and expired ones with close code 4001', async () => {
    const server = await startServer({ authenticate: tokenAuthenticator({ secret }) as never });
    const good = await signToken({ sub: 'alice' }, { secret, expiresIn: '1h' });
    const forged = await signToken({ sub: 'alice' }, { secret: 'another secret, also 32 bytes or more', expiresIn: '1h' });
    const expired = await signToken({ sub: 'alice' }, { secret, expiresIn: -10 });
    const alice = await user(server.url, 'alice', undefined, { token: () => good });
    await alice.transact([{ 'task/title': 'signed', 'task/owner': 'alice', 'task/private': false }]);
    await alice.whenSynced();
    for (const token of [forged, expired, 'not a token']) {
      const raw = await rawConnect(server.url, 'raw-replica-1' as never);
      raw.send(hello('raw-replica-1' as never, { token }));
      expect((await raw.nextOf('error')).error.code).toBe('unauthenticated');
      expect((await raw.closed).code).toBe(CloseCode.Unauthenticated);
    }
    await alice.close();
    await server.close();
  });

  it('stops reads and writes when a token expires mid-session, keeps the outbox, and resumes with a fresh token', async () => {
    let now = Date.now();
    const server = await startServer({ authenticate: tokenAuthenticator({ secret }) as never, now: () => now });
    let issued = 0;
    // Valid for an hour of the server's time.
    const token = async (): Promise<string> => {
      issued++;
      return signToken({ sub: 'alice' }, { secret, expiresIn: Math.floor(now / 1000) + 3600 });
    };
    const alice = await user(server.url, 'alice', undefined, { token });
    await alice.transact([{ 'task/title': 'before expiry', 'task/owner': 'alice', 'task/private': false }]);
    await alice.whenSynced();
    // Two hours later (by the server's clock) the token has expired.
    now += 2 * 60 * 60 * 1000;
    const rejected: string[] = [];
    alice.on('rejected', ({ error }) => rejected.push(error.code));
    await alice.transact([{ 'task/title': 'after expiry', 'task/owner': 'alice', 'task/private': false }]);
    await alice.whenSynced();
    expect(issued).toBeGreaterThanOrEqual(2);
    expect(rejected).toEqual([]);
    expect(await alice.storage.outbox()).toEqual([]);
    const reader = await user(server.url, 'alice', undefined, { token });
    await reader.whenSynced();
    expect(titles(reader)).toEqual(['after expiry', 'before expiry']);
    await Promise.all([alice.close(), reader.close()]);
    await server.close();
  });
});
