/**
 * Credentials that have already expired when they arrive (an `authenticate`
 * hook that does not check expiry itself, with `expiresAt` saying it is
 * past) are refused at once with 4001, at hello and as a renewal. Let
 * through, the session would tell the client they expired, the client would
 * renew with the same, and the two would trade notices and renewals until
 * the rate limit closed the connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import { DatsyncError } from '../../crdt/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import { client, startServer } from './harness.js';
import { hello, rawConnect, untilPong } from './raw.js';

interface User {
  readonly sub: string;
  /** When the credentials expire (ms, server clock). */
  readonly exp: number;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Tokens are `sub:exp`; the hook accepts them whatever `exp` says, and `expiresAt` reports it. */
async function server(clock: { now: number }) {
  const s = await startServer<User>({
    authenticate: (token) => {
      const [sub, exp] = (token ?? '').split(':');
      return sub === undefined || exp === undefined ? null : { sub, exp: Number(exp) };
    },
    identityKey: (user) => user.sub,
    expiresAt: (user) => user.exp,
    now: () => clock.now,
  });
  cleanups.push(() => s.close());
  return s;
}

describe('credentials already expired', () => {
  it('are refused at hello with unauthenticated and 4001', async () => {
    const clock = { now: Date.now() };
    const s = await server(clock);
    const self = 'expiring-1' as ReplicaId;

    const late = await rawConnect(s.url, self);
    late.send(hello(self, { token: `alice:${clock.now - 1}` }));
    expect(await late.nextOf('error')).toEqual({
      type: 'error',
      error: { code: 'unauthenticated', message: 'the credentials have already expired' },
      fatal: true,
    });
    expect((await late.closed).code).toBe(CloseCode.Unauthenticated);
  });

  it('a renewal already past its expiry ends the connection after one notice', async () => {
    const clock = { now: Date.now() };
    const s = await server(clock);
    const self = 'expiring-2' as ReplicaId;
    const raw = await rawConnect(s.url, self);
    cleanups.push(() => raw.close());
    raw.send(hello(self, { token: `alice:${clock.now + 1000}` }));
    await raw.nextOf('welcome');
    expect(await untilPong(raw, 1)).toEqual([]);
    clock.now += 2000;
    // Expiry shows on the next thing the session does for this client: here, a credit.
    raw.send({ type: 'credit', batch: 0 });
    expect(await raw.next()).toEqual({
      type: 'error',
      error: { code: 'unauthenticated', message: 'the credentials expired: send new ones' },
      fatal: false,
    });
    raw.send({ type: 'auth', token: `alice:${clock.now - 1}` });
    expect(await raw.next()).toEqual({
      type: 'error',
      error: { code: 'unauthenticated', message: 'the credentials have already expired' },
      fatal: true,
    });
    expect((await raw.closed).code).toBe(CloseCode.Unauthenticated);
  });

  it('a client whose token function hands back stale tokens is told, reconnects with backoff, and resumes with a fresh one', async () => {
    const clock = { now: Date.now() };
    const s = await server(clock);
    let token = `alice:${clock.now + 1000}`;
    const c = await client(s.url, { token: () => token });
    cleanups.push(() => c.close());
    await c.whenSynced();
    const errors: DatsyncError[] = [];
    const stale = new Promise<void>((resolve) =>
      c.on('error', (error) => {
        if (error instanceof DatsyncError) errors.push(error);
        if (error instanceof DatsyncError && error.message === 'the credentials have already expired') resolve();
      }),
    );
    // The token expires and the function still returns it: the write is held back, the renewal refused.
    clock.now += 2000;
    await c.transact([{ 'task/title': 'written while expired' }]);
    await stale;
    expect(s.head).toBe(0);
    // A fresh token: the next connection is welcomed and the write goes through.
    token = `alice:${clock.now + 60_000}`;
    await c.whenSynced();
    expect(s.head).toBe(1);
    expect(errors.map((e) => e.code)).not.toContain('rate-limited');
    expect(errors.every((e) => e.code === 'unauthenticated')).toBe(true);
  });
});
