/**
 * Server nodes in one process, each with its own PostgreSQL connections
 * (its own `PostgresStorage`), sharing one log: what a node decides and
 * what it hears from the others, without the network in between.
 */
import type { Transaction } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { TxData } from '../../src/client/tx-forms.js';
import type { SchemaInput } from '../../src/schema.js';
import type { SyncCore } from '../../src/server/core.js';
import { createSyncCore } from '../../src/server/core.js';
import type { WriteCheck } from '../../src/server/log.js';
import { allowAll } from '../../src/server/permissions.js';
import type { Storage } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import { PostgresStorage } from '../../storage/postgres.js';

export const schema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/status': { ':db/valueType': ':db.type/string' },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'user/name': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
};

export interface TestNode {
  readonly core: SyncCore<string>;
  readonly storage: PostgresStorage;
  /** Every position the node passed on as appended, in order. */
  readonly positions: number[];
  readonly errors: unknown[];
  submit(tx: Transaction, identity?: string): ReturnType<SyncCore<string>['log']['submit']>;
  /** Resolves once the node's head reaches `position`. */
  reaches(position: number): Promise<void>;
  close(): Promise<void>;
}

export interface NodeOptions {
  readonly canWrite?: WriteCheck<string>;
  /** A node that hears nothing of the others' commits: it learns of them only in its own turns. */
  readonly deaf?: boolean;
  readonly pollMs?: number;
}

/** The same storage, hearing no notices. */
export function deafened(storage: PostgresStorage): Storage {
  const shared = storage.shared;
  return Object.assign(Object.create(storage) as PostgresStorage, {
    shared: { turn: (after: number) => shared.turn(after), watch: () => () => undefined },
  });
}

export async function openNode(url: string, namespace: string, options: NodeOptions = {}): Promise<TestNode> {
  const storage = await PostgresStorage.open({
    url,
    schema: namespace,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
  });
  const core = await createSyncCore<string>({
    schema,
    storage: options.deaf === true ? deafened(storage) : storage,
    permissions: allowAll,
    authenticate: (token) => token ?? 'anonymous',
    ...(options.canWrite === undefined ? {} : { canWrite: options.canWrite }),
  });
  const positions: number[] = [];
  const errors: unknown[] = [];
  const waiters: Array<{ position: number; resolve: () => void }> = [];
  core.events.on('error', (error) => errors.push(error));
  core.log.events.on('appended', (group) => {
    for (const { record } of group) positions.push(record.position);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter !== undefined && core.log.head >= waiter.position) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  });
  return {
    core,
    storage,
    positions,
    errors,
    submit: (tx, identity = 'anonymous') => core.log.submit(identity, tx),
    reaches: (position) => (core.log.head >= position ? Promise.resolve() : new Promise((resolve) => waiters.push({ position, resolve }))),
    close: () => core.close(),
  };
}

/** A local replica that writes transactions for the tests to submit by hand. */
export async function writer(): Promise<{ client: Client; mint(data: TxData): Promise<Transaction> }> {
  const client = (await createClient({ schema, storage: new MemoryStorage() })) as Client;
  return {
    client,
    async mint(data) {
      const { txId } = await client.transact(data);
      const tx = (await client.storage.outbox()).find((t) => transactionId(t) === txId);
      if (tx === undefined) throw new Error('the transaction is not in the outbox');
      return tx;
    },
  };
}

/** Positions 1..n. */
export function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
