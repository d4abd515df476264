/**
 * What the replica knows beyond the current value: concurrent siblings of a
 * field (with a way to keep one), and a field's history.
 */
import type { ConflictInfo, DatsyncClient, EntityId, HistoryItem } from '../../../src/client/index.js';
import { h } from './dom.js';
import { STATUSES, userNameOf } from './tasks.js';

/** Attributes of `entity` holding concurrent siblings. */
export function siblingConflicts(client: DatsyncClient, entity: EntityId): Map<string, Extract<ConflictInfo, { kind: 'siblings' }>> {
  const out = new Map<string, Extract<ConflictInfo, { kind: 'siblings' }>>();
  if (client.eid(entity) === undefined) return out;
  for (const conflict of client.conflicts(entity)) if (conflict.kind === 'siblings') out.set(conflict.attribute, conflict);
  return out;
}

/** Every task id with a conflict, for the board's markers. */
export function conflictedTasks(client: DatsyncClient): Set<EntityId> {
  const out = new Set<EntityId>();
  for (const conflict of client.conflicts()) if (conflict.kind === 'siblings') out.add(conflict.entityId);
  return out;
}

/** A value as a person reads it. */
export function display(client: DatsyncClient, attribute: string, value: unknown): string {
  if (attribute === 'task/owner') return userNameOf(client, value);
  if (attribute === 'task/status') return STATUSES.find(([s]) => s === value)?.[1] ?? String(value);
  if (attribute === 'task/private') return value === true ? 'private' : 'public';
  return String(value);
}

/**
 * The conflict box of one field: the values written concurrently, the one
 * every replica shows, and a button per value to keep it (writing it again
 * supersedes the siblings, everywhere).
 */
export function conflictBox(
  client: DatsyncClient,
  conflict: Extract<ConflictInfo, { kind: 'siblings' }>,
  label: string,
  keep: (value: unknown) => void,
  readOnly: boolean,
): HTMLElement {
  const shown = display(client, conflict.attribute, conflict.value);
  return h(
    'div',
    { class: 'conflict', role: 'group', 'aria-label': `Conflicting values for ${label}`, 'data-conflict': conflict.attribute },
    h('p', {}, h('strong', {}, 'Conflict: '), `these values were written at the same time. Everyone sees “${shown}”.`),
    readOnly
      ? null
      : h(
          'div',
          { class: 'conflict-choices' },
          ...conflict.siblings.map((sibling) =>
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                'data-keep': display(client, conflict.attribute, sibling.value),
                onclick: () => keep(sibling.value),
              },
              `Keep “${display(client, conflict.attribute, sibling.value)}”`,
            ),
          ),
        ),
  );
}

function describe(client: DatsyncClient, item: HistoryItem, liveCount: number): string {
  const state = item.live ? (liveCount > 1 ? 'concurrent' : 'current') : 'replaced';
  const who = item.replica === client.replicaId ? 'this device' : 'another device';
  return [who, state, item.pending ? 'not synced yet' : null].filter((part) => part !== null).join(' · ');
}

/** The versions of one field, newest first. */
export function historyItems(client: DatsyncClient, entity: EntityId, attribute: string): HTMLElement[] {
  if (client.eid(entity) === undefined) return [];
  const items = client.history(entity, attribute);
  const liveCount = items.filter((item) => item.live).length;
  return items
    .slice()
    .reverse()
    .map((item) =>
      h(
        'li',
        { class: item.live ? 'live' : 'past' },
        item.kind === 'retract' ? h('em', {}, 'cleared') : h('q', {}, display(client, attribute, item.value)),
        ' ',
        h('time', { datetime: item.time.toISOString() }, item.time.toLocaleString()),
        h('span', { class: 'history-meta' }, ` · ${describe(client, item, liveCount)}`),
      ),
    );
}
