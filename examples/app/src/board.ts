/**
 * The board: every task the user may read, in three columns, kept current by
 * one reactive Datalog query; each card marks conflicts and private tasks,
 * and moves between columns with its status menu.
 */
import type { DatsyncClient, EntityId } from '../../../src/client/index.js';
import { coalesced, h, keepingFocus } from './dom.js';
import { conflictedTasks } from './inspect-views.js';
import { demoUsers } from './session.js';
import type { Status, Task } from './tasks.js';
import { ALL_TASKS, byCreation, STATUSES, toTask } from './tasks.js';

const nameOf = (sub: string): string => demoUsers.find((u) => u.sub === sub)?.name ?? (sub || 'nobody');

export interface BoardActions {
  open(id: EntityId, opener: HTMLElement): void;
  /** Moves a task at once: a plain write, which works offline (and can meet a concurrent move: a conflict). */
  move(id: EntityId, status: Status): void;
  readonly readOnly: boolean;
}

function card(task: Task, conflicted: boolean, actions: BoardActions): HTMLElement {
  const metaId = `meta-${task.id}`;
  const open = h('button', { type: 'button', class: 'card-title', 'data-key': `open:${task.id}`, 'aria-describedby': metaId }, task.title);
  open.addEventListener('click', () => actions.open(task.id, open));
  const move = h(
    'select',
    { class: 'card-status', 'aria-label': `Status of ${task.title}`, 'data-key': `status:${task.id}`, disabled: actions.readOnly },
    ...STATUSES.map(([value, label]) => h('option', { value, selected: value === task.status }, label)),
  );
  move.addEventListener('change', () => actions.move(task.id, move.value as Status));
  return h(
    'li',
    { class: 'card', 'data-task-id': task.id },
    h('div', { class: 'card-head' }, open, move),
    h(
      'p',
      { class: 'card-meta', id: metaId },
      h('span', { class: 'owner' }, nameOf(task.owner)),
      ...task.tags.map((tag) => h('span', { class: 'tag' }, tag)),
      task.private ? h('span', { class: 'badge private' }, 'Private') : null,
      conflicted ? h('span', { class: 'badge conflicted', 'data-conflict-marker': '' }, 'Conflict') : null,
    ),
  );
}

export function boardView(client: DatsyncClient, actions: BoardActions): { element: HTMLElement; stop: () => void } {
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
  const render = coalesced(() => {
    const conflicted = conflictedTasks(client);
    // The whole board at once: a card moved with the keyboard keeps focus in its new column.
    keepingFocus(element, () => {
      for (const [status] of STATUSES) {
        const mine = tasks.filter((task) => task.status === status);
        const cards = mine.map((task) => card(task, conflicted.has(task.id), actions));
        (lists.get(status) as HTMLUListElement).replaceChildren(
          ...(cards.length === 0 ? [h('li', { class: 'empty' }, 'Nothing here')] : cards),
        );
        (counts.get(status) as HTMLElement).textContent = `(${mine.length})`;
      }
    });
  });
  const stops = [
    client.subscribe<Array<Record<string, unknown>>>(ALL_TASKS, [], (rows) => {
      tasks = rows.map(toTask).sort(byCreation);
      render();
    }),
    // Siblings can arrive, or go, without the shown values changing: look again after every change.
    client.on('position', render),
    client.on('pending', render),
  ];
  return {
    element,
    stop: () => {
      for (const stop of stops) stop();
    },
  };
}
