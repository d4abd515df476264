/**
 * Crash-test child: a Node client on SQLite storage writing transactions of
 * three datoms each, printing "ok <n>" once each is durable. The parent kills
 * it with SIGKILL at a random moment.
 */
import { createClient } from '../../src/client/client.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { crashSchema } from './schema.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: client-writer <path>');
const client = await createClient({ schema: crashSchema, storage: new SqliteStorage(path) });
let next = client.q<number | null>('[:find (max ?n) . :where [_ "crash/seq" ?n]]') ?? -1;
for (;;) {
  next++;
  await client.transact([{ 'crash/seq': next, 'crash/a': next, 'crash/b': `b${next}` }]);
  process.stdout.write(`ok ${next}\n`);
}
