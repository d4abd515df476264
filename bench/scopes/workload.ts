/**
 * The data of the scopes benchmark: a task tracker of 100 projects and
 * 10,000 tasks (100,000 task datoms), read rules that hide private tasks
 * from everyone but their owner, and the one scope each of 1,000 clients
 * declares.
 *
 * The server's state is built in memory by `LocalAuthor` and
 * `applyTransaction` (3 M ops/s) and handed to the server as a snapshot, as
 * a server restarting from its last snapshot finds it: nothing is replayed
 * through the log one transaction at a time.
 *
 * @module
 */
import type { Attr, EntityId, ReplicaId, Transaction, Value, WriteIntent } from '../../crdt/index.js';
import { encodeState, HybridClock, LocalAuthor, mintReplicaId, OpKind, ReplicaState } from '../../crdt/index.js';
import type { ScopeSpec } from '../../src/client/api.js';
import type { Db, Eid } from '../../src/datascript/index.js';
import { datoms } from '../../src/datascript/index.js';
import type { SchemaInput } from '../../src/schema.js';
import { compileSchema } from '../../src/schema.js';
import type { Permissions } from '../../src/server/permissions.js';
import { MemoryStorage } from '../../storage/memory.js';
import { Random } from '../random.js';

export const PROJECTS = 100;
export const TASKS = 10_000;
export const CLIENTS = 1_000;
/** Users owning tasks; clients are users `u0` to `u999`, so a fifth of them own some. */
const OWNERS = 200;
/** One task in ten is an epic, the parent of the nine after it. */
const EPIC_EVERY = 10;
const BASE_MS = 1_700_000_000_000;

export const SCHEMA = {
  'project/key': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'project/name': { ':db/valueType': ':db.type/string' },
  'project/lead': { ':db/valueType': ':db.type/string' },
  'task/title': { ':db/valueType': ':db.type/string' },
  'task/project': { ':db/valueType': ':db.type/string' },
  'task/status': { ':db/valueType': ':db.type/string' },
  'task/priority': { ':db/valueType': ':db.type/number' },
  'task/owner': { ':db/valueType': ':db.type/string' },
  'task/private': { ':db/valueType': ':db.type/boolean' },
  'task/estimate': { ':db/valueType': ':db.type/number' },
  'task/tag': { ':db/valueType': ':db.type/string' },
  'task/order': { ':db/valueType': ':db.type/number' },
  'task/parent': { ':db/valueType': ':db.type/ref' },
  'task/note': { ':db/valueType': ':db.type/string' },
} as const satisfies SchemaInput;

export const COMPILED = compileSchema(SCHEMA);

export type User = { readonly sub: string };

function attributeValue(db: Db, eid: Eid, attribute: string): unknown {
  return datoms(db, ':eavt', eid, attribute)[0]?.v;
}

/** Whether `me` may read task `eid`: it is not private, or `me` owns it. */
export function taskReadable(me: string, db: Db, eid: Eid): boolean {
  return attributeValue(db, eid, 'task/private') !== true || attributeValue(db, eid, 'task/owner') === me;
}

/** Projects are public; a private task is its owner's alone; everyone may write (the write path is not what is measured). */
export const PERMISSIONS: Permissions<User> = {
  read: {
    'project/*': true,
    'task/*': {
      allow: ({ identity, eid, db }) => taskReadable(identity.sub, db, eid),
      dependsOn: ['task/private', 'task/owner'],
      local: true,
    },
  },
  write: { '*': true },
};

export const projectKey = (p: number): string => `p${p}`;

export interface Dataset {
  readonly storage: MemoryStorage;
  readonly projects: readonly EntityId[];
  readonly tasks: readonly EntityId[];
  /** Task index → project index, as loaded. */
  readonly projectOf: readonly number[];
  /** Task datoms (entity ids not counted) and project datoms. */
  readonly taskDatoms: number;
  readonly projectDatoms: number;
}

const WORDS = ['review', 'budget', 'draft', 'launch', 'fix', 'login', 'cache', 'sync', 'report', 'design', 'invoice', 'deploy'];
const STATUSES = ['todo', 'doing', 'review', 'done', 'blocked'];
const TAGS = ['urgent', 'backend', 'frontend', 'ops', 'docs', 'bug', 'feature'];

function title(rng: Random): string {
  return `${rng.pick(WORDS)} ${rng.pick(WORDS)} ${rng.below(1000)}`;
}

/**
 * Writes the whole dataset into fresh memory storage as a snapshot (and,
 * behind it, the log records it came from), ready for `createSyncCore`.
 */
export async function buildDataset(seed: number): Promise<Dataset> {
  const rng = new Random(seed);
  const loader = new LocalAuthor(mintReplicaId(rng.bytes(12)), 0, new HybridClock());
  const state = new ReplicaState(COMPILED.specs);
  const records: Array<{ position: number; tx: Transaction }> = [];
  const write = (intents: WriteIntent[]): void => {
    const tx = loader.author(intents, state, COMPILED.specs, BASE_MS + records.length);
    if (tx === null) throw new Error('the loader wrote nothing');
    state.applyTransaction(tx);
    records.push({ position: records.length + 1, tx });
  };
  const assert = (entity: EntityId, attribute: string, value: Value): WriteIntent => ({
    entity,
    attribute: attribute as Attr,
    kind: OpKind.Assert,
    value,
  });
  const projects: EntityId[] = [];
  const projectIntents: WriteIntent[] = [];
  for (let p = 0; p < PROJECTS; p++) {
    const id = loader.newEntityId(projectIntents.length);
    projects.push(id);
    projectIntents.push(
      assert(id, 'project/key', projectKey(p)),
      assert(id, 'project/name', `project ${p}`),
      assert(id, 'project/lead', `u${rng.below(OWNERS)}`),
    );
  }
  write(projectIntents);
  // Tasks in transactions of ten (an epic and its nine subtasks), 100 ops each.
  const tasks: EntityId[] = [];
  const projectOf: number[] = [];
  let intents: WriteIntent[] = [];
  for (let t = 0; t < TASKS; t++) {
    const id = loader.newEntityId(intents.length);
    const project = Math.floor(t / (TASKS / PROJECTS));
    tasks.push(id);
    projectOf.push(project);
    intents.push(
      assert(id, 'task/title', title(rng)),
      assert(id, 'task/project', projectKey(project)),
      assert(id, 'task/status', rng.pick(STATUSES)),
      assert(id, 'task/priority', rng.below(5)),
      assert(id, 'task/owner', `u${rng.below(OWNERS)}`),
      assert(id, 'task/private', rng.below(10) === 0),
      assert(id, 'task/estimate', rng.below(400) / 10),
      assert(id, 'task/tag', rng.pick(TAGS)),
      assert(id, 'task/order', rng.below(1_000_000)),
    );
    const epic = t - (t % EPIC_EVERY);
    intents.push(epic === t ? assert(id, 'task/note', title(rng)) : assert(id, 'task/parent', tasks[epic] as EntityId));
    if (t % EPIC_EVERY === EPIC_EVERY - 1) {
      write(intents);
      intents = [];
    }
  }
  const storage = new MemoryStorage();
  await storage.commit({ log: records });
  await storage.putSnapshot({ state: encodeState(state), position: records.length });
  return { storage, projects, tasks, projectOf, taskDatoms: TASKS * 10, projectDatoms: PROJECTS * 3 };
}

export const isEpic = (task: number): boolean => task % EPIC_EVERY === 0;
export const epicOf = (task: number): number => task - (task % EPIC_EVERY);

/** What client `i` declares: a project's tasks (literal or as an input), an epic by pull, or every project. */
export function scopeOf(i: number, rng: Random, data: Dataset): { readonly spec: ScopeSpec; readonly kind: string } {
  if (i % 10 === 9) {
    const epic = epicOf(rng.below(TASKS));
    return {
      kind: 'pull',
      spec: {
        name: 'epic',
        pull: '["task/title" "task/status" {"task/_parent" ["task/title" "task/status" "task/owner"]}]',
        entity: data.tasks[epic] as EntityId,
      },
    };
  }
  if (i % 20 === 8) return { kind: 'categorical', spec: { name: 'projects', query: '[:find ?e :where [?e "project/name"]]' } };
  const key = projectKey(rng.below(PROJECTS));
  return i % 2 === 0
    ? { kind: 'query', spec: { name: 'project', query: `[:find ?e :where [?e "task/project" "${key}"]]` } }
    : { kind: 'query', spec: { name: 'project', query: '[:find ?e :in $ ?p :where [?e "task/project" ?p]]', inputs: [key] } };
}

export function replicaOf(seed: number): ReplicaId {
  return mintReplicaId(new Random(seed).bytes(12));
}
