/**
 * The board: every task the user may read, in three columns, kept current by
 * one reactive Datalog query; each card marks conflicts and private tasks.
 */
import type { DatsyncClient, EntityId } from '../../../src/client/index.js';
import { h, replaceChildren } from './dom.js';
import { conflictedTasks } from './inspect-views.js';
import { demoUsers } from './session.js';
import type { Task } from './tasks.js';
import { ALL_TASKS, byCreation, STATUSES, toTask } from './tasks.js';

const nameOf = (sub: string): string => demoUsers.find((u) => u.sub === sub)?.name ?? (sub || 'nobody');

function card(task: Task, conflicted: boolean, open: (id: EntityId, opener: HTMLElement) => void): HTMLElement {
  const metaId = `meta-${task.id}`;
  const button = h(
    'button',
    { type: 'button', class: 'card-title', 'data-key': `open:${task.id}`, 'aria-describedby': metaId },
    task.title,
  );
  button.addEventListener('click', () => open(task.id, button));
  return h(
    'li',
    { class: 'card', 'data-task-id': task.id },
    button,
    h(
      'p',
      { class: 'card-meta', id: metaId },
      h('span', { class: 'owner' }, nameOf(task.owner)),
      ...task.tags.map((tag) => h('span', { class: 'tag' }, tag)),
      task.private ? h('span', { class: 'badge private' }, 'Private') : null,
      conflicted ? h('span', { class: 'badge conflict', 'data-conflict-marker': '' }, 'Conflict') : null,
    ),
  );
}

export function boardView(
  client: DatsyncClient,
  open: (id: EntityId, opener: HTMLElement) => void,
): { element: HTMLElement; stop: () => void } {
  const lists = new Map(STATUSES.map(([status]) => [status, h('ul', { class: 'cards', role: 'list' })]));
  const counts = new Map(STATUSES.map(([status]) => [status, h('span', { class: 'count' })]));
  const element = h(
    'div',
    { class: 'board' },
    ...STATUSES.map(([status, label]) =>
      h(
        'section',
        { class: 'column', 'aria-labelledby': `column-${status}`, 'data-column': status },
        h('h2', { id: `column-${status}` }, label, ' ', counts.get(status) ?? null),
        lists.get(status) ?? null,
      ),
    ),
  );
  let tasks: Task[] = [];
  const render = (): void => {
    const conflicted = conflictedTasks(client);
    for (const [status] of STATUSES) {
      const mine = tasks.filter((task) => task.status === status);
      const list = lists.get(status) as HTMLUListElement;
      replaceChildren(
        list,
        mine.length === 0 ? [h('li', { class: 'empty' }, 'Nothing here')] : mine.map((t) => card(t, conflicted.has(t.id), open)),
      );
      (counts.get(status) as HTMLElement).textContent = `(${mine.length})`;
    }
  };
  let scheduled = false;
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      render();
    });
  };
  const stops = [
    client.subscribe<Array<Record<string, unknown>>>(ALL_TASKS, [], (rows) => {
      tasks = rows.map(toTask).sort(byCreation);
      schedule();
    }),
    // Siblings can arrive, or go, without the shown values changing: look again after every change.
    client.on('position', schedule),
    client.on('pending', schedule),
  ];
  return {
    element,
    stop: () => {
      for (const stop of stops) stop();
    },
  };
}
