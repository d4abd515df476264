/**
 * The server the fuzzer attacks, as its own process: `createServer` on
 * SQLite with authentication (a token `user-…` is that user; anything else
 * is refused), read and write rules (`task/*` readable by everyone and
 * writable only by the task's author, `secret/*` for no one), so every
 * session gets the filtered stream, and small frame
 * limits so oversized frames are cheap to send. Prints the ready line
 * `bench/load/server-process.ts` waits for.
 *
 *   node --import tsx test/fuzz/hostile-server.ts --port 0 --data DIR --schema IGNORED
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from '../../src/server/server.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { ownedBy } from '../support/owner-rule.js';
import { fuzzSchema, HOSTILE_FRAME_LIMIT } from './schema.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, data: { type: 'string', default: './data' }, schema: { type: 'string' } },
});
mkdirSync(values.data, { recursive: true });
const storagePath = join(values.data, 'datsync.db');
const server = await createServer<{ readonly sub: string }>({
  schema: fuzzSchema,
  storage: new SqliteStorage(storagePath),
  port: Number(values.port),
  authenticate: (token) => (token !== null && /^user-[a-z0-9-]{1,40}$/.test(token) ? { sub: token } : null),
  permissions: {
    read: { 'task/*': true, 'user/*': true, 'secret/*': false },
    write: { 'task/*': ownedBy('task/author'), 'user/*': true },
  },
  limits: { maxFrameBytes: HOSTILE_FRAME_LIMIT },
});
server.on('error', (error) => console.error('datsync:', error));
console.log(`datsync fuzz target serving on ws://127.0.0.1:${server.port}/sync (log: ${storagePath})`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
