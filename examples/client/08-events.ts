/**
 * docs/client.md, "Events" and "Syncing": 'status', 'position', 'pending',
 * 'rejected' and 'error', whenSynced, strong mode, and close, against a
 * datsync server started in this process (the public `datsync/server` entry).
 *
 * Run: npx tsx examples/client/08-events.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import type { ConnectionStatus, DatsyncClient, RejectedEvent, SchemaInput } from '../../src/client/index.js';
import { createClient, DatsyncError } from '../../src/client/index.js';
import { allowAll, createServer, MemoryStorage } from '../../src/server/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string' },
} as const satisfies SchemaInput;

/** Resolves once `client` reports `status` (or has it already). */
function statusBecomes(client: DatsyncClient, status: ConnectionStatus): Promise<void> {
  if (client.status === status) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.on('status', (now) => {
      if (now !== status) return;
      stop();
      resolve();
    });
  });
}

export async function main(): Promise<void> {
  // Everyone may read and write (allowAll, for the example), but the server refuses titles
  // containing "forbidden" (its write check); port 0 picks a free port.
  const server = await createServer({
    schema,
    storage: new MemoryStorage(),
    port: 0,
    permissions: allowAll,
    canWrite: ({ datoms }) => (datoms.some((d) => String(d.v).includes('forbidden')) ? 'that title is not allowed' : true),
  });
  const url = `ws://127.0.0.1:${server.port}/sync`;

  // In Node 20 pass the `ws` package's WebSocket (browsers have a global one).
  const client = await createClient({ schema, url, WebSocket });
  const statuses: ConnectionStatus[] = [client.status]; // already 'connecting': createClient starts at once
  const positions: number[] = [];
  const pending: number[] = [];
  const rejected: RejectedEvent[] = [];
  const errors: unknown[] = [];
  client.on('status', (status) => statuses.push(status));
  client.on('position', ({ position }) => positions.push(position));
  client.on('pending', ({ count }) => pending.push(count));
  client.on('rejected', (event) => rejected.push(event));
  client.on('error', (error) => errors.push(error));
  await statusBecomes(client, 'live');

  // --- optimistic writes: shown at once, sent, then decided by the server ---
  await client.transact([{ 'task/title': 'Ship it' }]);
  const refused = await client.transact([{ ':db/id': 't', 'task/title': 'A forbidden title' }]);
  assert.notEqual(client.q('[:find ?e . :where [?e "task/title" "A forbidden title"]]'), null); // shown for now
  await client.whenSynced(); // every local write decided, and everything the server held received
  assert.equal(client.pendingCount, 0);

  // The refused write was rolled back, and 'rejected' said why.
  assert.deepEqual(client.q('[:find [?t ...] :where [_ "task/title" ?t]]'), ['Ship it']);
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]?.txId, refused.txId);
  assert.equal(rejected[0]?.error.code, 'forbidden');
  assert.equal(rejected[0]?.error.message, 'that title is not allowed');
  assert.deepEqual(
    rejected[0]?.datoms.map((d) => [d.v, d.added]),
    [['A forbidden title', false]],
  );

  assert.deepEqual(statuses, ['connecting', 'live']); // an empty server log: nothing to catch up
  assert.equal(positions.at(-1), 1); // the server log holds one record: the accepted write
  assert.equal(pending[0], 1); // after the first transact
  assert.equal(pending.at(-1), 0); // after the server decided both

  // --- strong mode: not shown until the server accepts it; rejects with the server's reason ---
  const strong = await client.transact([{ 'task/title': 'Confirmed' }], { confirmed: true });
  assert.ok(strong.txId !== null);
  const strongRefusal = await client.transact([{ 'task/title': 'forbidden too' }], { confirmed: true }).catch((error: unknown) => error);
  assert.ok(strongRefusal instanceof DatsyncError && strongRefusal.code === 'forbidden');
  assert.equal(rejected.length, 1); // a strong-mode refusal rejects the promise; no 'rejected' event

  // --- 'error': errors no caller could receive, such as a throwing subscription callback ---
  client.subscribe('[:find ?t . :where [_ "task/title" ?t]]', [], () => {
    throw new Error('a bug in a callback');
  });
  assert.equal((errors[0] as Error).message, 'a bug in a callback');

  // A second client first catches up from the server's log, then is live.
  const other = await createClient({ schema, url, WebSocket });
  const otherStatuses: ConnectionStatus[] = [other.status];
  other.on('status', (status) => otherStatuses.push(status));
  await other.whenSynced();
  assert.deepEqual(otherStatuses, ['connecting', 'catching-up', 'live']);
  assert.deepEqual(other.q<string[]>('[:find [?t ...] :where [_ "task/title" ?t]]').sort(), ['Confirmed', 'Ship it']);

  console.log('08-events: status', otherStatuses.join(' → '), '| positions', positions.join(','), '| pending', pending.join(','));
  console.log('08-events: rejected', rejected[0]?.error.code, `"${rejected[0]?.error.message}"`);

  // close(): stops syncing (status 'offline'), subscriptions and listeners, then closes storage.
  await client.close();
  assert.equal(statuses.at(-1), 'offline');
  await other.close();
  await server.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
