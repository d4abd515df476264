/**
 * Who sees what (issue 6), at least 300 runs per CI run: random identities,
 * read rules, scopes and transaction streams from several clients over the
 * simulated network. A monitor decodes every frame the server sends and
 * checks every datom in it against a reference read rule on the server's
 * database at that very moment: no forbidden datom ever crosses the wire,
 * at any moment. At quiescence every client's projection is exactly
 * readable(identity) ∩ inScope(client) of the server's state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attr, EntityId } from '../crdt/index.js';
import { decodeRegisters, liveOf, Register } from '../crdt/index.js';
import type { ScopeSpec } from '../src/client/api.js';
import type { Client } from '../src/client/client.js';
import { createClient } from '../src/client/client.js';
import type { Db } from '../src/datascript/index.js';
import { datoms } from '../src/datascript/index.js';
import { decodeServerMessage } from '../src/protocol/index.js';
import type { SchemaInput } from '../src/schema.js';
import { compileSchema } from '../src/schema.js';
import type { Connection, SyncCore } from '../src/server/core.js';
import { createSyncCore } from '../src/server/core.js';
import type { Permissions } from '../src/server/permissions.js';
import type { Transport } from '../src/server/transport.js';
import { MemoryStorage, MemoryStore } from '../storage/memory.js';
import { runs } from './setup.js';
import { drain, SimNetwork } from './support/sim-network.js';

const schema: SchemaInput = {
  'doc/key': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'doc/owner': { ':db/valueType': ':db.type/string' },
  'doc/group': { ':db/valueType': ':db.type/string' },
  'doc/text': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'doc/secret': { ':db/valueType': ':db.type/string' },
  'doc/tag': { ':db/valueType': ':db.type/string' },
};
const specs = compileSchema(schema).specs;
const USERS = ['ann', 'ben', 'cal'];
const ATTRS = ['doc/owner', 'doc/group', 'doc/text', 'doc/secret', 'doc/tag'];
type User = { readonly sub: string };

function valueOn(db: Db, eid: number, attribute: string): unknown {
  return datoms(db, ':eavt', eid, attribute)[0]?.v;
}

/** The rule families under test, each with the reference the monitor checks against. */
const families: ReadonlyArray<{
  readonly name: string;
  readonly permissions: Permissions<User>;
  readonly readable: (me: string, db: Db, eid: number, attribute: string) => boolean;
}> = [
  {
    name: 'datalog: public group or own',
    permissions: {
      read: { 'doc/*': { datalog: '[[(readable ?e ?me) [?e "doc/group" "public"]] [(readable ?e ?me) [?e "doc/owner" ?me]]]' } },
      write: { '*': true },
    },
    readable: (me, db, eid) => valueOn(db, eid, 'doc/group') === 'public' || valueOn(db, eid, 'doc/owner') === me,
  },
  {
    name: 'predicate: secrets for owners, the rest for all',
    permissions: {
      read: {
        'doc/*': true,
        'doc/secret': {
          allow: ({ identity, eid, db }) => valueOn(db, eid, 'doc/owner') === identity.sub,
          dependsOn: ['doc/owner'],
          local: true,
        },
      },
      write: { '*': true },
    },
    readable: (me, db, eid, attribute) => attribute !== 'doc/secret' || valueOn(db, eid, 'doc/owner') === me,
  },
  {
    // Non-local: whether a doc is readable depends on other docs, so a write to one doc changes who may read others.
    name: 'datalog across entities: docs of a group you own a doc in',
    permissions: {
      read: { 'doc/*': { datalog: '[[(readable ?e ?me) [?e "doc/group" ?g] [?o "doc/group" ?g] [?o "doc/owner" ?me]]]' } },
      write: { '*': true },
    },
    readable: (me, db, eid) => {
      const group = valueOn(db, eid, 'doc/group');
      return group !== undefined && datoms(db, ':aevt', 'doc/group').some((d) => d.v === group && valueOn(db, d.e, 'doc/owner') === me);
    },
  },
  {
    name: 'default deny: no rule for secrets',
    permissions: {
      read: { 'doc/key': true, 'doc/owner': true, 'doc/group': true, 'doc/text': true, 'doc/tag': true },
      write: { '*': true },
    },
    readable: (_me, _db, _eid, attribute) => attribute !== 'doc/secret',
  },
];

type Step =
  | { readonly type: 'write'; readonly client: number; readonly doc: number; readonly attr: number; readonly value: number }
  | { readonly type: 'scopes'; readonly client: number; readonly scope: number }
  | { readonly type: 'deliver'; readonly pick: number; readonly count: number }
  | { readonly type: 'kill'; readonly pick: number }
  | { readonly type: 'tick' };

const SCOPES: ReadonlyArray<readonly ScopeSpec[] | null> = [
  null,
  [{ name: 'red', query: '[:find ?e :where [?e "doc/tag" "red"]]' }],
  [{ name: 'public', query: '[:find ?e :where [?e "doc/group" "public"]]' }],
  [
    { name: 'red', query: '[:find ?e :where [?e "doc/tag" "red"]]' },
    { name: 'blue', query: '[:find ?e :where [?e "doc/tag" "blue"]]' },
  ],
];

function valueFor(attribute: string, n: number, user: string): string {
  if (attribute === 'doc/owner') return USERS[n % USERS.length] ?? user;
  if (attribute === 'doc/group') return n % 2 === 0 ? 'public' : 'team';
  if (attribute === 'doc/tag') return ['red', 'blue', 'green'][n % 3] ?? 'red';
  return `${attribute.slice(4)}-${n}`;
}

const scheduleArb = fc.record({
  family: fc.nat(families.length - 1),
  users: fc.array(fc.nat(USERS.length - 1), { minLength: 2, maxLength: 4 }),
  scopes: fc.array(fc.nat(SCOPES.length - 1), { minLength: 4, maxLength: 4 }),
  steps: fc.array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          type: fc.constant('write' as const),
          client: fc.nat(3),
          doc: fc.nat(3),
          attr: fc.nat(ATTRS.length - 1),
          value: fc.nat(5),
        }),
      },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('scopes' as const), client: fc.nat(3), scope: fc.nat(SCOPES.length - 1) }) },
      { weight: 8, arbitrary: fc.record({ type: fc.constant('deliver' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('kill' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('tick' as const) }) },
    ),
    { minLength: 5, maxLength: 60, size: 'medium' },
  ),
});

/** The server's side of every connection, wrapped to check what it sends. */
function monitored(core: SyncCore<User>, violations: string[], family: (typeof families)[number]): SyncCore<User> {
  return {
    ...core,
    get connections() {
      return core.connections;
    },
    connect(transport: Transport, info) {
      let user: string | undefined;
      let self = '';
      const check = (entity: EntityId, attribute: Attr, value: unknown): void => {
        const eid = core.log.projection.existingEid(entity);
        if (user === undefined || eid === undefined) return;
        if (!family.readable(user, core.log.db, eid, attribute))
          violations.push(`${user} was sent ${entity} ${attribute} ${String(value)}`);
      };
      const watched: Transport = {
        get bufferedAmount() {
          return transport.bufferedAmount;
        },
        close: (code, reason) => transport.close(code, reason),
        send: (frame) => {
          const message = decodeServerMessage(frame, self as never);
          if (message.type === 'records') {
            for (const entry of message.entries) if ('tx' in entry) for (const op of entry.tx.ops) check(op.entity, op.attribute, op.value);
          } else if (message.type === 'registers' || (message.type === 'snapshot' && message.final)) {
            const bytes = message.type === 'registers' ? message.state : message.part;
            for (const [entity, attribute, slot] of decodeRegisters(bytes, specs).registers) {
              for (const version of liveOf(slot)) check(entity, attribute, version.value);
              if (slot instanceof Register) for (const past of slot.past ?? []) check(entity, attribute, past.value);
            }
          }
          transport.send(frame);
        },
      };
      const connection: Connection = core.connect(watched, info);
      return {
        ...connection,
        frame: (bytes) => {
          // Learn who this connection is from its hello (the sim sends it first).
          if (user === undefined && bytes[0] === 1) {
            const text = new TextDecoder().decode(bytes);
            user = USERS.find((u) => text.includes(`token-${u}`));
            const match = /([A-Za-z0-9_-]{16})/.exec(text);
            self = match?.[1] ?? '';
          }
          connection.frame(bytes);
        },
      };
    },
  };
}

type Schedule = { family: number; users: number[]; scopes: number[]; steps: readonly Step[] };

/** Runs a schedule; `served` replaces the permissions the server enforces (to show the checks can fail). */
async function run(schedule: Schedule, served?: Permissions<User>): Promise<boolean> {
  const family = families[schedule.family] as (typeof families)[number];
  const network = new SimNetwork();
  const violations: string[] = [];
  const core = await createSyncCore<User>({
    schema,
    storage: new MemoryStorage(),
    now: () => network.now,
    permissions: served ?? family.permissions,
    authenticate: (token) => (token?.startsWith('token-') === true ? { sub: token.slice(6) } : null),
  });
  network.attach(monitored(core, violations, family) as SyncCore<unknown>);
  const clients: Client[] = [];
  const scopeOf: Array<readonly ScopeSpec[] | null> = [];
  for (const [i, u] of schedule.users.entries()) {
    const name = USERS[u] as string;
    scopeOf[i] = SCOPES[schedule.scopes[i] ?? 0] ?? null;
    clients.push(
      (await createClient({
        schema,
        storage: new MemoryStorage(new MemoryStore()),
        url: 'sim://server/sync',
        token: `token-${name}`,
        scopes: scopeOf[i] ?? null,
        WebSocket: network.Socket,
        scheduler: network.scheduler,
        now: () => network.now,
        reconnect: { initialMs: 10, maxMs: 100 },
      })) as Client,
    );
  }
  for (const step of schedule.steps) {
    network.now += 3;
    if (step.type === 'write') {
      const client = clients[step.client % clients.length] as Client;
      const name = USERS[schedule.users[step.client % clients.length] ?? 0] as string;
      const attribute = ATTRS[step.attr] as string;
      await client.transact([{ ':db/id': 'd', 'doc/key': `doc${step.doc}`, [attribute]: valueFor(attribute, step.value, name) }] as never);
    } else if (step.type === 'scopes') {
      const i = step.client % clients.length;
      scopeOf[i] = SCOPES[step.scope] ?? null;
      await (clients[i] as Client).setScopes(scopeOf[i] ?? null);
    } else if (step.type === 'deliver') {
      for (let k = 0; k < step.count; k++) {
        if (!network.deliver(step.pick + k, k % 2 === 0)) break;
        await drain();
      }
    } else if (step.type === 'kill') network.kill(step.pick);
    else network.tick();
    await drain();
  }
  // Heal.
  let settled = false;
  for (let i = 0; i < 20_000 && !settled; i++) {
    await drain();
    if (network.deliver(i, i % 2 === 0)) continue;
    await drain();
    settled = clients.every((c) => c.status === 'live' && c.pendingCount === 0 && c.serverPosition === core.log.head) && !network.busy;
    if (!settled && !network.tick()) break;
  }
  let ok = settled && violations.length === 0;
  if (ok) {
    const db = core.log.db;
    for (const [i, client] of clients.entries()) {
      const me = USERS[schedule.users[i] ?? 0] as string;
      const expected = expectedView(db, core, family, me, scopeOf[i] ?? null);
      if (JSON.stringify(view(client)) !== JSON.stringify(expected)) {
        ok = false;
      }
    }
  }
  for (const client of clients) await client.close();
  await core.close();
  return ok;
}

function inScope(db: Db, eid: number, scopes: readonly ScopeSpec[] | null, readable: (attribute: string) => boolean): boolean {
  if (scopes === null) return true;
  const tag = readable('doc/tag') ? valueOn(db, eid, 'doc/tag') : undefined;
  const group = readable('doc/group') ? valueOn(db, eid, 'doc/group') : undefined;
  return scopes.some((scope) => (scope.name === 'public' ? group === 'public' : tag === scope.name));
}

function expectedView(
  db: Db,
  core: SyncCore<User>,
  family: (typeof families)[number],
  me: string,
  scopes: readonly ScopeSpec[] | null,
): string[] {
  const rows: string[] = [];
  for (const d of datoms(db, ':eavt')) {
    if (d.a === 'datsync/id') continue;
    if (!family.readable(me, db, d.e, d.a)) continue;
    if (!inScope(db, d.e, scopes, (attribute) => family.readable(me, db, d.e, attribute))) continue;
    rows.push(`${core.log.projection.entityId(d.e)} ${d.a} ${JSON.stringify(d.v)}`);
  }
  return rows.sort();
}

function view(client: Client): string[] {
  return datoms(client.db(), ':eavt')
    .filter((d) => d.a !== 'datsync/id')
    .map((d) => `${client.entityId(d.e)} ${d.a} ${JSON.stringify(d.v)}`)
    .sort();
}

describe('who sees what, over a hostile network', () => {
  it('never sends a forbidden datom, and each client ends with exactly readable ∩ in scope', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, (schedule) => run(schedule)),
      { numRuns: runs(300) },
    );
  });

  it('catches a server that leaks, and one that withholds', async () => {
    // Serving every secret to everyone (family 1 keeps them for owners) must be caught.
    const leaky = await fc.check(
      fc.asyncProperty(
        scheduleArb.map((s) => ({ ...s, family: 1 })),
        (s) => run(s, { read: { '*': true }, write: { '*': true } }),
      ),
      { numRuns: 300, seed: 42 },
    );
    expect(leaky.failed).toBe(true);
    // Serving no secrets at all, not even to owners: some owner's view must come out short.
    const stingy = await fc.check(
      fc.asyncProperty(
        scheduleArb.map((s) => ({ ...s, family: 1 })),
        (s) =>
          run(s, {
            read: { 'doc/key': true, 'doc/owner': true, 'doc/group': true, 'doc/text': true, 'doc/tag': true },
            write: { '*': true },
          }),
      ),
      { numRuns: 300, seed: 42 },
    );
    expect(stingy.failed).toBe(true);
  });
});
