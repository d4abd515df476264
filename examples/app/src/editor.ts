/**
 * The edit form, in a modal dialog: every field of a task, the conflicts and
 * history of each, Save / Cancel / Delete. Focus moves into the dialog when
 * it opens and back to the task's button when it closes; Escape cancels.
 */
import type { DatsyncClient, EntityId } from '../../../src/client/index.js';
import { coalesced, h } from './dom.js';
import { conflictBox, historyItems, siblingConflicts } from './inspect-views.js';
import { LocalDraft } from './local-draft.js';
import type { Session } from './session.js';
import { demoUsers } from './session.js';
import type { FieldName, TaskFields } from './tasks.js';
import { parseTags, STATUSES } from './tasks.js';

type Kind = 'text' | 'textarea' | 'status' | 'owner' | 'checkbox' | 'tags';
interface FieldSpec {
  readonly name: FieldName;
  readonly label: string;
  readonly kind: Kind;
  readonly history?: boolean;
  readonly hint?: string;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'task/title', label: 'Title', kind: 'text', history: true },
  { name: 'task/notes', label: 'Notes', kind: 'textarea', history: true },
  { name: 'task/status', label: 'Status', kind: 'status' },
  { name: 'task/owner', label: 'Owner', kind: 'owner' },
  { name: 'task/private', label: 'Private', kind: 'checkbox', hint: 'Only the owner can see a private task.' },
  { name: 'task/tags', label: 'Tags', kind: 'tags', hint: 'Separate tags with commas.' },
];

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

const idFor = (name: FieldName): string => `field-${name.replace('/', '-')}`;

function controlFor(spec: FieldSpec, describedBy: string | undefined): Control {
  const common = { id: idFor(spec.name), name: spec.name, 'aria-describedby': describedBy };
  switch (spec.kind) {
    case 'text':
      return h('input', { ...common, type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
    case 'textarea':
      return h('textarea', { ...common, rows: 4 });
    case 'status':
      return h('select', common, ...STATUSES.map(([value, label]) => h('option', { value }, label)));
    case 'owner':
      return h('select', common);
    case 'checkbox':
      return h('input', { ...common, type: 'checkbox' });
    case 'tags':
      return h('input', { ...common, type: 'text', autocomplete: 'off' });
  }
}

/** The control's content as a field value. */
function read(spec: FieldSpec, control: Control): TaskFields[FieldName] {
  if (spec.kind === 'checkbox') return (control as HTMLInputElement).checked;
  if (spec.kind === 'tags') return parseTags(control.value);
  return control.value as TaskFields[FieldName];
}

/** Puts a value into a control unless it already says the same (keeping the caret where the user left it). */
function write(spec: FieldSpec, control: Control, value: TaskFields[FieldName] | undefined): void {
  if (value === undefined || JSON.stringify(read(spec, control)) === JSON.stringify(value)) return;
  if (spec.kind === 'checkbox') (control as HTMLInputElement).checked = value === true;
  else if (spec.kind === 'tags') control.value = (value as readonly string[]).join(', ');
  else if (control instanceof HTMLSelectElement) control.value = String(value);
  else {
    const { selectionStart, selectionEnd } = control;
    control.value = String(value);
    if (document.activeElement === control) control.setSelectionRange(selectionStart, selectionEnd);
  }
}

export interface EditorContext {
  readonly client: DatsyncClient;
  readonly session: Session;
  /** Tells everyone (a live region) what happened. */
  announce(message: string): void;
}

let current: { close(): void } | undefined;

export function openEditor(context: EditorContext, entity: EntityId, opener: HTMLElement | null): void {
  current?.close();
  const { client, session } = context;
  const readOnly = session.user.role !== 'member';
  const draft = new LocalDraft(client, entity);
  const controls = new Map<FieldName, Control>();
  const conflictSlots = new Map<FieldName, HTMLElement>();
  const historyLists = new Map<FieldName, HTMLOListElement>();
  const error = h('p', { class: 'error', role: 'alert' });
  const heading = h('h2', { id: 'editor-heading' }, 'Edit task');

  const fields = FIELDS.map((spec) => {
    const hintId = spec.hint === undefined ? undefined : `${idFor(spec.name)}-hint`;
    const control = controlFor(spec, hintId);
    control.addEventListener(spec.kind === 'checkbox' || control instanceof HTMLSelectElement ? 'change' : 'input', () =>
      draft.set(spec.name, read(spec, control)),
    );
    controls.set(spec.name, control);
    const conflicts = h('div', { class: 'conflict-slot' });
    conflictSlots.set(spec.name, conflicts);
    const label = h('label', { for: idFor(spec.name) }, spec.label);
    let history: HTMLElement | null = null;
    if (spec.history === true) {
      const list = h('ol', { class: 'history-list' });
      historyLists.set(spec.name, list);
      history = h(
        'details',
        { class: 'history', 'data-history': spec.name },
        h('summary', {}, `History of ${spec.label.toLowerCase()}`),
        list,
      );
    }
    return h(
      'div',
      { class: `field field-${spec.kind}`, 'data-field': spec.name },
      ...(spec.kind === 'checkbox' ? [control, label] : [label, control]),
      spec.hint === undefined ? null : h('p', { class: 'hint', id: hintId }, spec.hint),
      conflicts,
      history,
    );
  });

  const close = (): void => {
    if (current !== handle) return;
    current = undefined;
    for (const stop of stops) stop();
    draft.close();
    if (dialog.open) dialog.close();
    dialog.remove();
    opener?.focus();
  };
  const handle = { close };

  const save = async (): Promise<void> => {
    error.textContent = '';
    try {
      await draft.commit();
      context.announce('Task saved.');
      close();
    } catch (cause) {
      error.textContent = `Not saved: ${(cause as Error).message}`;
    }
  };
  let confirmingDelete = false;
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
  remove.addEventListener('click', () => {
    if (!confirmingDelete) {
      confirmingDelete = true;
      remove.textContent = 'Confirm delete';
      return;
    }
    client.transact([[':db/retractEntity', ['datsync/id', entity]]]).then(
      () => {
        context.announce('Task deleted.');
        close();
      },
      (cause: unknown) => {
        error.textContent = `Not deleted: ${(cause as Error).message}`;
      },
    );
  });

  const form = h(
    'form',
    { class: 'editor-form', novalidate: true },
    h('header', { class: 'editor-header' }, heading, h('p', { class: 'presence', 'aria-live': 'polite' })),
    readOnly ? h('p', { class: 'hint' }, 'You can read this task but not change it.') : null,
    h('fieldset', { disabled: readOnly }, h('legend', { class: 'visually-hidden' }, 'Task'), ...fields),
    error,
    h(
      'footer',
      { class: 'editor-actions' },
      readOnly ? null : h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('button', { type: 'button', class: 'secondary', onclick: () => void draft.discard().then(close) }, readOnly ? 'Close' : 'Cancel'),
      readOnly ? null : remove,
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });
  const dialog = h('dialog', { class: 'editor', 'aria-labelledby': 'editor-heading' }, form);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    void draft.discard().then(close);
  });

  const keep = (name: FieldName) => (value: unknown) => {
    // Writing a value again supersedes every sibling: the conflict ends, on every replica.
    client.transact([[':db/add', ['datsync/id', entity], name, value]]).catch((cause: unknown) => {
      error.textContent = `Not resolved: ${(cause as Error).message}`;
    });
  };

  const render = (): void => {
    if (!draft.exists) {
      error.textContent = 'This task was deleted, or you can no longer see it.';
      form.querySelector('fieldset')?.setAttribute('disabled', '');
      return;
    }
    heading.textContent = `Edit “${draft.value('task/title') ?? ''}”`;
    const owner = controls.get('task/owner') as HTMLSelectElement;
    const known = client.q<string[]>('[:find [?n ...] :where [_ "user/name" ?n]]');
    if (owner.options.length !== known.length) {
      owner.replaceChildren(...known.sort().map((sub) => h('option', { value: sub }, demoUsers.find((u) => u.sub === sub)?.name ?? sub)));
    }
    for (const spec of FIELDS) write(spec, controls.get(spec.name) as Control, draft.value(spec.name));
    const conflicts = siblingConflicts(client, entity);
    for (const spec of FIELDS) {
      const conflict = conflicts.get(spec.name);
      const slot = conflictSlots.get(spec.name) as HTMLElement;
      slot.replaceChildren(...(conflict === undefined ? [] : [conflictBox(client, conflict, spec.label, keep(spec.name), readOnly)]));
    }
    for (const [name, list] of historyLists) list.replaceChildren(...historyItems(client, entity, name));
  };
  const schedule = coalesced(() => {
    if (current === handle) render();
  });
  const stops = [draft.subscribe(schedule), client.on('position', schedule), client.on('pending', schedule)];

  current = handle;
  document.body.append(dialog);
  render();
  dialog.showModal();
  (controls.get('task/title') as Control).focus();
}
