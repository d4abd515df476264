/**
 * Tasks as the views see them, read from the replica with one pull pattern,
 * and the transactions that write them.
 */
import type { DatsyncClient, EntityId, TxData, TxForm } from '../../../src/client/index.js';

export const STATUSES = [
  ['todo', 'To do'],
  ['doing', 'Doing'],
  ['done', 'Done'],
] as const;
export type Status = (typeof STATUSES)[number][0];

export const TASK_PATTERN =
  '["datsync/id" "task/title" "task/notes" "task/status" "task/private" "task/tags" "task/created" {"task/owner" ["user/name"]}]';

/** Every task this replica holds, for the board: re-run whenever one of the pulled attributes changes. */
export const ALL_TASKS = `[:find [(pull ?e ${TASK_PATTERN}) ...] :where [?e "task/title"]]`;

export interface Task {
  readonly id: EntityId;
  readonly title: string;
  readonly notes: string;
  readonly status: Status;
  readonly private: boolean;
  /** The owner's user name (`sub`). */
  readonly owner: string;
  readonly tags: readonly string[];
  readonly created: number;
}

export function toTask(pulled: Record<string, unknown>): Task {
  const status = pulled['task/status'];
  const owner = pulled['task/owner'] as { 'user/name'?: string } | undefined;
  const created = pulled['task/created'];
  return {
    id: pulled['datsync/id'] as EntityId,
    title: String(pulled['task/title'] ?? ''),
    notes: String(pulled['task/notes'] ?? ''),
    status: STATUSES.some(([s]) => s === status) ? (status as Status) : 'todo',
    // A task without the flag is readable by its owner only, as the server's read rule says.
    private: pulled['task/private'] !== false,
    owner: owner?.['user/name'] ?? '',
    tags: ((pulled['task/tags'] as string[] | undefined) ?? []).slice().sort(),
    created: created instanceof Date ? created.getTime() : 0,
  };
}

/** Oldest first; ties (tasks created in the same millisecond) by id, the same on every replica. */
export function byCreation(a: Task, b: Task): number {
  return a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function newTaskTx(title: string, isPrivate: boolean, owner: string, now: Date): TxData {
  return [
    {
      'task/title': title,
      'task/status': 'todo',
      'task/private': isPrivate,
      'task/owner': ['user/name', owner],
      'task/created': now,
    },
  ];
}

/** The fields an edit form works on, as plain values. */
export interface TaskFields {
  readonly 'task/title': string;
  readonly 'task/notes': string;
  readonly 'task/status': Status;
  readonly 'task/private': boolean;
  readonly 'task/owner': string;
  readonly 'task/tags': readonly string[];
}
export type FieldName = keyof TaskFields;

export function fieldsOf(task: Task): TaskFields {
  return {
    'task/title': task.title,
    'task/notes': task.notes,
    'task/status': task.status,
    'task/private': task.private,
    'task/owner': task.owner,
    'task/tags': task.tags,
  };
}

/** One transaction writing `changes` over `base`; tags are added and retracted one by one (a set merges). */
export function editTx(id: EntityId, base: TaskFields, changes: Partial<TaskFields>): TxData {
  const ref = ['datsync/id', id] as const;
  const tx: TxForm[] = [];
  for (const [name, value] of Object.entries(changes) as Array<[FieldName, TaskFields[FieldName]]>) {
    if (name === 'task/tags') {
      const next = new Set(value as readonly string[]);
      for (const tag of base['task/tags']) if (!next.has(tag)) tx.push([':db/retract', ref, name, tag]);
      for (const tag of next) if (!base['task/tags'].includes(tag)) tx.push([':db/add', ref, name, tag]);
    } else if (name === 'task/owner') {
      tx.push([':db/add', ref, name, ['user/name', value as string]]);
    } else if (value === '') {
      tx.push([':db/retract', ref, name]);
    } else {
      tx.push([':db/add', ref, name, value as string | boolean]);
    }
  }
  return tx;
}

export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((tag) => tag.trim())
        .filter((tag) => tag.length > 0),
    ),
  ].sort();
}

/** A user's display name from their `sub`. */
export function userNameOf(client: DatsyncClient, eid: unknown): string {
  if (typeof eid !== 'number') return String(eid);
  return String(client.pull('["user/name"]', eid)?.['user/name'] ?? 'someone');
}
