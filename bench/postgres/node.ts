/**
 * One server node of the PostgreSQL benchmark, in a process of its own
 * (`bench/postgres/load.ts` forks it): `createServer` on SQLite or on a
 * PostgreSQL log, everyone allowed everything, as `datsync serve` runs it.
 *
 * argv: `sqlite <file>` or `postgres <url> <schema>`. It sends
 * `{ kind: 'ready', port }`, and on `{ kind: 'stop' }` closes and exits.
 *
 * @module
 */
import { allowAll } from '../../src/server/permissions.js';
import { createServer } from '../../src/server/server.js';
import type { Storage } from '../../storage/contract.js';
import { PostgresStorage } from '../../storage/postgres.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { SCHEMA } from './wire.js';

export type NodeMessage = { readonly kind: 'ready'; readonly port: number } | { readonly kind: 'stopped' };

async function main(): Promise<void> {
  const [kind, where, namespace] = process.argv.slice(2);
  if (where === undefined) throw new Error('usage: node.ts sqlite FILE | postgres URL SCHEMA');
  const storage: Storage =
    kind === 'sqlite'
      ? new SqliteStorage(where)
      : await PostgresStorage.open({ url: where, ...(namespace === undefined ? {} : { schema: namespace }) });
  const server = await createServer({ schema: SCHEMA, storage, port: 0, permissions: allowAll });
  server.on('error', (error) => console.error('bench node:', error));
  process.on('message', (message: { kind?: string }) => {
    if (message.kind !== 'stop') return;
    void server.close().then(() => {
      process.send?.({ kind: 'stopped' } satisfies NodeMessage);
      process.disconnect();
    });
  });
  process.send?.({ kind: 'ready', port: server.port ?? 0 } satisfies NodeMessage);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
