/**
 * docs/server.md, "In your own process", "Permissions" and "Authentication":
 * a server on SQLite in this process with signed tokens, read rules in their
 * three forms (true, a predicate, Datalog), write rules, a whole-transaction
 * `canWrite` check, queries on the server's own database, and a graceful
 * close.
 *
 * Run: npx tsx examples/server/01-server.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import type { DatsyncClient, RejectedEvent } from '../../src/client/index.js';
import { createClient, DatsyncError, MemoryStorage } from '../../src/client/index.js';
import type { Db, Eid, Permissions, TokenIdentity } from '../../src/server/index.js';
import { createServer, queryDb, SqliteStorage, signToken, tokenAuthenticator } from '../../src/server/index.js';

const schema = {
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/owner': { ':db/valueType': ':db.type/string' },
  'task/private': { ':db/valueType': ':db.type/boolean' },
  'task/estimate': { ':db/valueType': ':db.type/number' },
} as const;

const ownerOf = (db: Db, eid: Eid | undefined): string | null =>
  eid === undefined ? null : queryDb<string | null>('[:find ?o . :in $ ?e :where [?e "task/owner" ?o]]', db, eid);

const permissions: Permissions<TokenIdentity> = {
  read: {
    // Datalog rules defining (readable ?e ?me); ?me is the identity key (the token's `sub`).
    'task/*': { datalog: '[[(readable ?e ?me) [?e "task/private" false]] [(readable ?e ?me) [?e "task/owner" ?me]]]' },
    // A predicate; it reads only the task's own owner, and says so, so the server re-checks little.
    'task/estimate': { allow: ({ identity, eid, db }) => ownerOf(db, eid) === identity.sub, dependsOn: ['task/owner'], local: true },
  },
  write: {
    // Per attribute of each changed entity, with the database before and after the whole transaction.
    'task/*': {
      allow: ({ identity, eidBefore, eidAfter, dbBefore, dbAfter }) => {
        const before = ownerOf(dbBefore, eidBefore);
        if (before !== null) return before === identity.sub || `only ${before} may change this task`;
        return ownerOf(dbAfter, eidAfter) === identity.sub || 'a new task must be owned by its author';
      },
    },
  },
};

/** Resolves with the client's next event of `name`. */
function next<Name extends 'error' | 'status'>(client: DatsyncClient, name: Name, match: (payload: unknown) => boolean = () => true) {
  return new Promise<unknown>((resolve) => {
    const stop = client.on(name, (payload: unknown) => {
      if (!match(payload)) return;
      stop();
      resolve(payload);
    });
  });
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'datsync-example-server-'));
  const secret = randomBytes(32).toString('base64url'); // at least 32 bytes; keep it out of the code
  const server = await createServer({
    schema,
    storage: new SqliteStorage(join(dir, 'datsync.db')), // the default is ./data/datsync.db
    port: 0, // 0 picks a free port; or httpServer: an existing Node HTTP server
    permissions, // required: nothing is readable or writable unless a rule says so (or allowAll)
    authenticate: tokenAuthenticator({ secret }), // HS256 tokens; null (refused: close 4001) when forged or expired
    canWrite: ({ datoms }) =>
      datoms.some((d) => d.a === 'task/estimate' && d.added && (d.v as number) > 100) ? 'an estimate is at most 100' : true,
  });
  server.on('error', (error) => console.error(error));
  const url = `ws://127.0.0.1:${server.port}/sync`;
  const connect = async (sub: string): Promise<DatsyncClient> =>
    createClient({ schema, storage: new MemoryStorage(), url, WebSocket, token: await signToken({ sub }, { secret, expiresIn: '1h' }) });

  const ann = await connect('ann');
  await ann.transact([
    { 'task/title': 'Public roadmap', 'task/owner': 'ann', 'task/private': false, 'task/estimate': 5 },
    { 'task/title': 'Secret plan', 'task/owner': 'ann', 'task/private': true },
  ]);
  await ann.whenSynced();

  // Bob receives what the read rules let him read, and nothing else.
  const bob = await connect('bob');
  const bobRejected: RejectedEvent[] = [];
  bob.on('rejected', (event) => bobRejected.push(event));
  await bob.whenSynced();
  assert.deepEqual(bob.q('[:find ?t :where [_ "task/title" ?t]]'), [['Public roadmap']]);
  assert.deepEqual(bob.q('[:find ?n :where [_ "task/estimate" ?n]]'), []); // estimates are for the owner's eyes

  // A write rule refuses Bob's change of Ann's task: rolled back, with the rule's reason.
  const roadmap = bob.q<number>('[:find ?e . :where [?e "task/title" "Public roadmap"]]');
  await bob.transact([[':db/add', roadmap, 'task/title', 'Bob was here']]);
  await bob.whenSynced();
  assert.equal(bobRejected[0]?.error.message, 'only ann may change this task');
  assert.deepEqual(bob.q('[:find ?t :where [_ "task/title" ?t]]'), [['Public roadmap']]);

  // canWrite judges each whole transaction after the rules.
  const annRejected: RejectedEvent[] = [];
  ann.on('rejected', (event) => annRejected.push(event));
  await ann.transact([{ 'task/title': 'Huge', 'task/owner': 'ann', 'task/private': false, 'task/estimate': 500 }]);
  await ann.whenSynced();
  assert.equal(annRejected[0]?.error.code, 'forbidden');
  assert.equal(annRejected[0]?.error.message, 'an estimate is at most 100');

  // The server's own DataScript database, for hooks, scripts and admin queries.
  assert.equal(queryDb('[:find (count ?e) . :where [?e "task/title"]]', server.db()), 2);
  assert.equal(server.head, 1); // one accepted transaction in the log

  // A forged token is refused: the client hears `unauthenticated` (close 4001).
  const mallory = await createClient({ schema, storage: new MemoryStorage(), url, WebSocket, token: 'forged' });
  const refused = await next(mallory, 'error');
  assert.ok(refused instanceof DatsyncError && refused.code === 'unauthenticated');
  await mallory.close();

  // close(): stops accepting, finishes the commits in flight, closes every socket with 1001, closes storage.
  const annOffline = next(ann, 'status', (status) => status === 'offline');
  await server.close();
  await annOffline; // Ann's client goes offline and would reconnect once a server is back
  console.log('01-server: bob reads', bob.q('[:find [?t ...] :where [_ "task/title" ?t]]'), '| refused:', bobRejected[0]?.error.message);
  await Promise.all([ann.close(), bob.close()]);
  rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
