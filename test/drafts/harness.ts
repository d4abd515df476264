/**
 * Drafts over a real server and real clients on loopback. Waits are on draft
 * and client events, never on sleeps.
 */
import type { Client } from '../../src/client/client.js';
import type { Draft } from '../../src/client/draft.js';
import type { Permissions } from '../../src/server/permissions.js';
import type { Storage } from '../../storage/contract.js';
import { MemoryStorage, MemoryStore } from '../../storage/memory.js';
import { client, startServer } from '../sync/harness.js';

export type User = { readonly sub: string };

/** ann and ben own tasks; cal may read every task but write none; eve may do nothing. */
export const permissions: Permissions<User> = {
  read: {
    'task/*': { allow: ({ identity }) => identity.sub !== 'eve', local: true, dependsOn: [] },
    'user/*': true,
  },
  write: {
    'task/*': { allow: ({ identity }) => identity.sub === 'ann' || identity.sub === 'ben' || 'only ann and ben write tasks' },
    'user/*': true,
  },
};

export function authenticate(token: string | null): User | null {
  return token?.startsWith('token-') === true ? { sub: token.slice(6) } : null;
}

export async function draftServer(options: Parameters<typeof startServer<User>>[0] = {}) {
  return startServer<User>({ permissions, authenticate, ...options });
}

export async function userClient(url: string, user: string, storage: Storage = new MemoryStorage(new MemoryStore())): Promise<Client> {
  return client(url, { token: `token-${user}`, storage });
}

/** Resolves once `check` holds, re-checking on each change of `draft`. */
export function until(draft: Draft, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = draft.subscribe(() => {
      if (check()) {
        stop();
        resolve();
      }
    });
  });
}

/** Resolves once `check` holds for the draft's presence. */
export function untilPresence(draft: Draft, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = draft.onPresence(() => {
      if (check()) {
        stop();
        resolve();
      }
    });
  });
}

/** Resolves once the client's view satisfies `check`. */
export function untilView(c: Client, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = c.subscribe('[:find ?e ?a ?v :where [?e ?a ?v]]', [], () => {
      if (check()) {
        queueMicrotask(() => stop());
        resolve();
      }
    });
  });
}

/** The draft's close, as co-editors learn it. */
export function closing(draft: Draft): Promise<NonNullable<Draft['closed']>> {
  return new Promise((resolve) => draft.onClose(resolve));
}
