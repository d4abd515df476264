/**
 * The fan-out engine's shortcuts, checked against starting over: after
 * every durable group, what each client holds (kept up to date by
 * `Visibility.advance`, which re-asks only the scopes, entities and read
 * rules a group can affect) equals what a fresh snapshot for the same
 * identity and scopes would give. A group is handed only to the clients
 * the fan-out index (`Interest`) names as candidates, as the server does, so
 * the property covers what it leaves out too. Random read rules (about the entity
 * alone, or reading other entities), random scopes of every form the
 * engine treats apart (keyed one-entity queries, queries the plain
 * matcher answers, queries only DataScript answers, categorical queries,
 * queries reading other entities, follow, flat and recursive pulls whose
 * entity may not exist yet), and random writes committed in groups.
 *
 * A second property checks the two evaluation shortcuts on their own
 * against DataScript: a one-entity query asked about some entities, and a
 * pull walked on the whole database with unreadable references cut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attr, EntityId, ReplicaId, Value, WriteIntent } from '../crdt/index.js';
import { entityIdFromDot, HybridClock, LocalAuthor, mintReplicaId, OpKind } from '../crdt/index.js';
import type { Db, Eid } from '../src/datascript/index.js';
import { datoms, dbWith, emptyDb, filterDb, pull, resolveEid } from '../src/datascript/index.js';
import type { SchemaInput } from '../src/schema.js';
import { compileSchema, ENTITY_ID_ATTR } from '../src/schema.js';
import { createSyncCore, visibilitySource } from '../src/server/core.js';
import { GroupFacts } from '../src/server/group-facts.js';
import { Interest } from '../src/server/interest.js';
import type { Permissions } from '../src/server/permissions.js';
import type { ScopeView } from '../src/server/scope-view.js';
import type { ScopeDef } from '../src/server/scopes.js';
import { compileScope } from '../src/server/scopes.js';
import { Visibility } from '../src/server/visibility.js';
import { MemoryStorage } from '../storage/memory.js';
import { runs } from './setup.js';

const schema: SchemaInput = {
  'n/tag': { ':db/valueType': ':db.type/string' },
  'n/group': { ':db/valueType': ':db.type/string' },
  'n/owner': { ':db/valueType': ':db.type/string' },
  'n/parent': { ':db/valueType': ':db.type/ref' },
  'n/text': { ':db/valueType': ':db.type/string' },
};
const compiled = compileSchema(schema);
const USERS = ['ann', 'ben'];
const ENTITIES = 6;
const minter = mintReplicaId(new Uint8Array(12).fill(7));
const entities: EntityId[] = Array.from({ length: ENTITIES }, (_, k) => entityIdFromDot(minter, k + 1));

function valueOn(db: Db, eid: Eid, attribute: string): unknown {
  return datoms(db, ':eavt', eid, attribute)[0]?.v;
}

const families: ReadonlyArray<Permissions<{ sub: string }>> = [
  // About the entity alone, as a predicate: secret groups are their owner's.
  {
    read: {
      'n/*': {
        allow: ({ identity, eid, db }) => valueOn(db, eid, 'n/group') !== 'secret' || valueOn(db, eid, 'n/owner') === identity.sub,
        dependsOn: ['n/group', 'n/owner'],
        local: true,
      },
    },
    write: { '*': true },
  },
  // About the entity alone, in Datalog.
  {
    read: { 'n/*': { datalog: '[[(readable ?e ?me) [?e "n/group" "public"]] [(readable ?e ?me) [?e "n/owner" ?me]]]' } },
    write: { '*': true },
  },
  // Reading other entities: whatever belongs to a group in which you own something.
  {
    read: { 'n/*': { datalog: '[[(readable ?e ?me) [?e "n/group" ?g] [?o "n/group" ?g] [?o "n/owner" ?me]]]' } },
    write: { '*': true },
  },
  // Constant rules, one attribute denied.
  { read: { 'n/*': true, 'n/text': false }, write: { '*': true } },
];

type ScopeChoice = (root: EntityId) => ScopeDef;
const SCOPES: readonly ScopeChoice[] = [
  () => ({ name: 'red', query: '[:find ?e :where [?e "n/tag" "red"]]' }),
  () => ({ name: 'input', query: '[:find ?e :in $ ?t :where [?e "n/tag" ?t]]', inputs: ['blue'] }),
  () => ({ name: 'not', query: '[:find ?e :where [?e "n/tag" "red"] (not [?e "n/group" "secret"])]' }),
  () => ({ name: 'grouped', query: '[:find ?e :where [?e "n/group"]]' }),
  () => ({ name: 'follow', query: '[:find ?e :where [?e "n/tag" "red"]]', follow: ['n/parent'] }),
  () => ({ name: 'child-of-red', query: '[:find ?e :where [?e "n/parent" ?p] [?p "n/tag" "red"]]' }),
  (root) => ({ name: 'pull', pull: '["n/tag" {"n/parent" ["n/tag"]} {"n/_parent" ["n/text"]}]', entity: root }),
  (root) => ({ name: 'tree', pull: '["n/tag" {"n/_parent" ...}]', entity: root }),
];

const VALUES: Record<string, readonly string[]> = {
  'n/tag': ['red', 'blue', 'green'],
  'n/group': ['public', 'secret', 'team'],
  'n/owner': USERS,
  'n/text': ['x', 'y'],
};
const ATTRIBUTES = ['n/tag', 'n/group', 'n/owner', 'n/parent', 'n/text'];

const writeArb = fc.record({
  entity: fc.nat(ENTITIES - 1),
  attribute: fc.nat(ATTRIBUTES.length - 1),
  value: fc.nat(5),
  retract: fc.boolean(),
});
const clientArb = fc.record({
  user: fc.nat(USERS.length - 1),
  scopes: fc.option(fc.uniqueArray(fc.nat(SCOPES.length - 1), { minLength: 1, maxLength: 2 }), { nil: null }),
  root: fc.nat(ENTITIES - 1),
});
const scenarioArb = fc.record({
  family: fc.nat(families.length - 1),
  clients: fc.array(clientArb, { minLength: 1, maxLength: 3 }),
  // Each inner list is committed as one group.
  groups: fc.array(fc.array(writeArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
  rescope: fc.option(
    fc.record({ at: fc.nat(11), client: fc.nat(2), scopes: fc.uniqueArray(fc.nat(SCOPES.length - 1), { maxLength: 2 }) }),
    {
      nil: null,
    },
  ),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function scopesOf(choice: readonly number[] | null, root: EntityId) {
  return choice === null ? null : choice.map((i) => compileScope((SCOPES[i] as ScopeChoice)(root), compiled));
}

async function run(scenario: Scenario): Promise<void> {
  const permissions = families[scenario.family] as Permissions<{ sub: string }>;
  let now = 1_700_000_000_000;
  const core = await createSyncCore<{ sub: string }>({ schema, storage: new MemoryStorage(), permissions, now: () => now });
  const log = core.log;
  const source = visibilitySource(log, compiled, permissions.read);
  const interest = new Interest<number>(source);
  const clients = scenario.clients.map((c, i) => {
    const user = { sub: USERS[c.user] as string };
    const root = entities[c.root] as EntityId;
    const self = `client-${i}`;
    const handle = interest.enter(i, self as ReplicaId);
    const visibility = new Visibility(source, user, user.sub, self, scopesOf(c.scopes, root), () => now, handle);
    visibility.snapshot();
    return { user, root, visibility, scopes: c.scopes };
  });
  log.events.on('appended', (group) => {
    for (const i of interest.candidates(group, GroupFacts.of(group, source))) clients[i]?.visibility.advance(group);
  });
  // Fresh snapshots, the reference, enter an index of their own.
  const scratch = new Interest<string>(source);
  const author = new LocalAuthor(mintReplicaId(new Uint8Array(12).fill(9)), 0, new HybridClock());
  for (const [index, group] of scenario.groups.entries()) {
    if (scenario.rescope !== null && scenario.rescope.at === index) {
      const client = clients[scenario.rescope.client % clients.length];
      if (client !== undefined) {
        client.scopes = scenario.rescope.scopes;
        client.visibility.setScopes(scopesOf(client.scopes, client.root));
      }
    }
    now += 1000;
    const submitted: Array<Promise<unknown>> = [];
    for (const write of group) {
      const attribute = ATTRIBUTES[write.attribute] as string;
      const entity = entities[write.entity] as EntityId;
      const value: Value =
        attribute === 'n/parent'
          ? (entities[write.value % ENTITIES] as EntityId)
          : ((VALUES[attribute] as readonly string[])[write.value % 3] ?? 'x');
      const intent: WriteIntent = write.retract
        ? { entity, attribute: attribute as Attr, kind: OpKind.Retract }
        : { entity, attribute: attribute as Attr, kind: OpKind.Assert, value };
      const tx = author.author([intent], log.state, compiled.specs, now);
      // Not awaited one by one: what arrives together is decided and committed as one group.
      if (tx !== null) submitted.push(log.submit({ sub: 'writer' }, tx));
    }
    await Promise.all(submitted);
    for (const [i, client] of clients.entries()) {
      const scopes = scopesOf(client.scopes, client.root);
      const fresh = new Visibility(
        source,
        client.user,
        client.user.sub,
        'fresh',
        scopes,
        () => now,
        scratch.enter('fresh', 'fresh' as ReplicaId),
      );
      const expected = new Set(fresh.snapshot().map(([entity, attribute]) => `${entity} ${attribute}`));
      fresh.dispose();
      const held: string[] = [];
      for (const [entity, attribute] of log.state.confirmed.registers()) {
        if (client.visibility.holds(entity, attribute)) held.push(`${entity} ${attribute}`);
      }
      expect({ client: i, group: index, held: held.sort() }).toEqual({ client: i, group: index, held: [...expected].sort() });
    }
  }
  await core.close();
}

/** A database of `ENTITIES` entities from random datoms, and a random readability of its (entity, attribute) pairs. */
const dbArb = fc.record({
  datoms: fc.array(fc.tuple(fc.nat(ENTITIES - 1), fc.nat(ATTRIBUTES.length - 1), fc.nat(5)), { maxLength: 30 }),
  hidden: fc.uniqueArray(fc.tuple(fc.nat(ENTITIES - 1), fc.nat(ATTRIBUTES.length - 1)), { maxLength: 8 }),
});

/** The view the engine gets (a filtered database), and the readable database built for real (the reference). */
function viewOf(input: { datoms: ReadonlyArray<[number, number, number]>; hidden: ReadonlyArray<[number, number]> }): {
  view: ScopeView;
  readable: Db;
} {
  const hidden = new Set(input.hidden.map(([e, a]) => `${e + 1} ${ATTRIBUTES[a]}`));
  const readable = (eid: Eid, attribute: string): boolean => attribute === ENTITY_ID_ATTR || !hidden.has(`${eid} ${attribute}`);
  const ids = entities.map((id, k) => [':db/add', k + 1, ENTITY_ID_ATTR, id] as const);
  const data = input.datoms.map(([e, a, v]) => {
    const attribute = ATTRIBUTES[a] as string;
    const value = attribute === 'n/parent' ? (v % ENTITIES) + 1 : ((VALUES[attribute] as readonly string[])[v % 3] ?? 'x');
    return [':db/add', e + 1, attribute, value] as const;
  });
  const whole = dbWith(emptyDb(compiled.datascript), [...ids, ...data]);
  const view: ScopeView = {
    db: filterDb(whole, (datom) => readable(datom.e, datom.a)),
    whole,
    readable,
    entityIdOf: (eid) => entities[eid - 1],
  };
  return { view, readable: dbWith(emptyDb(compiled.datascript), [...ids, ...data.filter(([, e, a]) => readable(e, a))]) };
}

function idsIn(value: unknown, view: ScopeView, out: Set<EntityId>): Set<EntityId> {
  if (Array.isArray(value)) for (const item of value) idsIn(item, view, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === ':db/id' && typeof item === 'number') {
        const id = view.entityIdOf(item);
        if (id !== undefined) out.add(id);
      } else idsIn(item, view, out);
    }
  }
  return out;
}

describe('who sees what, kept up to date', () => {
  it('holds after every group exactly what a fresh snapshot would hold', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), { numRuns: runs(150) });
  });

  it('asks one-entity queries about some entities, and walks pulls, as DataScript would on the readable database', () => {
    fc.assert(
      fc.property(dbArb, fc.nat(SCOPES.length - 1), fc.nat(ENTITIES - 1), (input, choice, root) => {
        const { view, readable } = viewOf(input);
        const def = (SCOPES[choice] as ScopeChoice)(entities[root] as EntityId);
        const scope = compileScope(def, compiled);
        const found = [...scope.evaluate(view)].sort();
        if ('pull' in def) {
          const eid = resolveEid(readable, [ENTITY_ID_ATTR, def.entity]) as Eid;
          const pattern = def.pull.replace(/\[/g, '[:db/id ');
          expect(found).toEqual([...idsIn(pull(readable, pattern, eid), view, new Set())].sort());
          return;
        }
        expect(found).toEqual([...scope.evaluate({ ...view, db: readable })].sort());
        if (scope.local === null) return;
        const all = entities.map((_, k) => k + 1);
        const selected = [...scope.local.select(view, all)].map((eid) => view.entityIdOf(eid));
        expect(selected.sort()).toEqual(found);
      }),
      { numRuns: runs(300) },
    );
  });

  it('treats as one-entity queries exactly those whose clauses are all about the found entity', () => {
    const local = (query: string): boolean => compileScope({ name: 's', query }, compiled).local !== null;
    expect(local('[:find ?e :where [?e "n/tag" "red"]]')).toBe(true);
    expect(local('[:find [?e ...] :where [?e "n/tag" ?t] [(not= ?t "red")]]')).toBe(true);
    expect(local('[:find ?e :where [?e "n/tag"] (or [?e "n/group" "a"] [?e "n/group" "b"])]')).toBe(true);
    // Another entity, a single result, a rule, a function of the database: the whole query decides.
    expect(local('[:find ?e :where [?e "n/parent" ?p] [?p "n/tag" "red"]]')).toBe(false);
    expect(local('[:find ?e . :where [?e "n/tag" "red"]]')).toBe(false);
    expect(local('[:find ?e :in $ % :where (tagged ?e)]')).toBe(false);
    expect(local('[:find ?e :where [?e "n/tag"] [(get-else $ ?e "n/group" "none") ?g]]')).toBe(false);
  });
});
