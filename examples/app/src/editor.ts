/**
 * The edit form, in a modal dialog. Members edit a collaborative draft: who
 * else is in it and where shows at the top and on the field, their typing
 * shows live, and Save commits one transaction. Each field also shows its
 * concurrent values (with a way to keep one) and, for text, its history.
 * Focus moves into the dialog when it opens and back to the task when it
 * closes; Escape leaves the draft as it is.
 */
import type { DatsyncClient, EntityId } from '../../../src/client/index.js';
import { coalesced, h } from './dom.js';
import { conflictBox, display, historyItems, siblingConflicts } from './inspect-views.js';
import type { Session } from './session.js';
import { demoUsers } from './session.js';
import { CommittedTask, isDraftConflict, TaskDraft } from './task-form.js';
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
const labelOf = (name: string): string => FIELDS.find((spec) => spec.name === name)?.label ?? name;

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

/** Where a caret at `caret` in `before` belongs in `after` (someone else's edit of one stretch of text). */
export function caretAfter(before: string, after: string, caret: number): number {
  let prefix = 0;
  while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  while (suffix < before.length - prefix && suffix < after.length - prefix && before.at(-1 - suffix) === after.at(-1 - suffix)) suffix++;
  if (caret <= prefix) return caret;
  if (caret >= before.length - suffix) return caret + after.length - before.length;
  return after.length - suffix;
}

/** Puts a value into a control unless it already says the same, keeping the caret where the user had it. */
function write(spec: FieldSpec, control: Control, value: TaskFields[FieldName] | undefined): void {
  if (value === undefined || JSON.stringify(read(spec, control)) === JSON.stringify(value)) return;
  if (spec.kind === 'checkbox') (control as HTMLInputElement).checked = value === true;
  else if (spec.kind === 'tags') {
    if (document.activeElement !== control) control.value = (value as readonly string[]).join(', ');
  } else if (control instanceof HTMLSelectElement) control.value = String(value);
  else {
    const before = control.value;
    const after = String(value);
    const focused = document.activeElement === control;
    const [start, end] = [control.selectionStart ?? 0, control.selectionEnd ?? 0];
    control.value = after;
    if (focused) control.setSelectionRange(caretAfter(before, after, start), caretAfter(before, after, end));
  }
}

export interface EditorContext {
  readonly client: DatsyncClient;
  readonly session: Session;
  /** Tells everyone (a live region) what happened. */
  announce(message: string): void;
}

let current: { close(): void } | undefined;
let opening = 0;

export async function openEditor(context: EditorContext, entity: EntityId, opener: HTMLElement | null): Promise<void> {
  current?.close();
  const ticket = ++opening;
  const { client, session } = context;
  let form: TaskDraft | CommittedTask;
  try {
    form = session.user.role === 'member' ? await TaskDraft.open(client, entity, session.user) : new CommittedTask(client, entity);
  } catch (cause) {
    context.announce(`This task cannot be edited now: ${(cause as Error).message}`);
    return;
  }
  if (ticket !== opening) {
    form.close(); // another task was opened meanwhile
    return;
  }
  const draft = form instanceof TaskDraft ? form : undefined;
  const controls = new Map<FieldName, Control>();
  const conflictSlots = new Map<FieldName, HTMLElement>();
  const presenceSlots = new Map<FieldName, HTMLElement>();
  const historyLists = new Map<FieldName, HTMLOListElement>();
  const error = h('p', { class: 'error', role: 'alert' });
  const notice = h('p', { class: 'hint', role: 'status' });
  const heading = h('h2', { id: 'editor-heading' }, 'Edit task');
  const presence = h('ul', { class: 'presence', 'aria-label': 'Also editing' });
  const draftConflicts = h('div', { class: 'draft-conflicts' });

  const fields = FIELDS.map((spec) => {
    const hintId = spec.hint === undefined ? undefined : `${idFor(spec.name)}-hint`;
    const control = controlFor(spec, hintId);
    const event = spec.kind === 'checkbox' || control instanceof HTMLSelectElement ? 'change' : 'input';
    control.addEventListener(event, () => draft?.set(spec.name, read(spec, control)));
    control.addEventListener('focus', () => draft?.focus(spec.name));
    control.addEventListener('blur', () => draft?.focus(null));
    controls.set(spec.name, control);
    const conflicts = h('div', { class: 'conflict-slot' });
    conflictSlots.set(spec.name, conflicts);
    const here = h('span', { class: 'field-presence' });
    presenceSlots.set(spec.name, here);
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
      here,
      spec.hint === undefined ? null : h('p', { class: 'hint', id: hintId }, spec.hint),
      conflicts,
      history,
    );
  });

  const close = (): void => {
    if (current !== handle) return;
    current = undefined;
    for (const stop of stops) stop();
    form.close();
    if (dialog.open) dialog.close();
    dialog.remove();
    opener?.isConnected ? opener.focus() : document.querySelector<HTMLElement>(`[data-key="open:${CSS.escape(entity)}"]`)?.focus();
  };
  const handle = { close };

  const save = async (overwrite = false): Promise<void> => {
    if (draft === undefined) return;
    error.textContent = '';
    draftConflicts.replaceChildren();
    if ((draft.value('task/title') ?? '').trim() === '') {
      error.textContent = 'A task needs a title.';
      return;
    }
    saveButton.disabled = true;
    notice.textContent = client.status === 'live' ? 'Saving…' : 'Saving… it goes through once the connection is back.';
    try {
      await draft.commit(overwrite);
      context.announce('Task saved.');
      close();
    } catch (cause) {
      notice.textContent = '';
      if (isDraftConflict(cause)) showDraftConflicts();
      else error.textContent = `Not saved: ${(cause as Error).message}`;
    } finally {
      saveButton.disabled = false;
    }
  };

  /** Fields changed here that someone else saved meanwhile: the user decides, field by field in view. */
  const showDraftConflicts = (): void => {
    if (draft === undefined) return;
    const items = draft
      .conflicts()
      .map((c) =>
        h(
          'li',
          {},
          `${labelOf(c.name)}: someone saved “${display(client, c.name, c.current)}” while you wrote “${display(client, c.name, c.mine)}”.`,
        ),
      );
    draftConflicts.replaceChildren(
      h(
        'div',
        { class: 'conflict', role: 'group', 'aria-label': 'Changed meanwhile' },
        h('p', {}, h('strong', {}, 'Changed meanwhile. '), 'Keep your values, or take theirs and review.'),
        h('ul', {}, ...items),
        h(
          'div',
          { class: 'conflict-choices' },
          h('button', { type: 'button', class: 'secondary', onclick: () => void save(true) }, 'Save mine anyway'),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                draft.takeTheirs();
                draftConflicts.replaceChildren();
              },
            },
            'Take theirs',
          ),
        ),
      ),
    );
  };

  const confirmStep = (label: string, confirmLabel: string, action: () => Promise<unknown>): HTMLButtonElement => {
    const button = h('button', { type: 'button', class: 'danger' }, label);
    let armed = false;
    button.addEventListener('click', () => {
      if (!armed) {
        armed = true;
        button.textContent = confirmLabel;
        return;
      }
      action().then(close, (cause: unknown) => {
        error.textContent = (cause as Error).message;
      });
    });
    return button;
  };

  const saveButton = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const formElement = h(
    'form',
    { class: 'editor-form', novalidate: true },
    h('header', { class: 'editor-header' }, heading, presence),
    draft === undefined ? h('p', { class: 'hint' }, 'You can read this task but not change it.') : null,
    h('fieldset', { disabled: draft === undefined }, h('legend', { class: 'visually-hidden' }, 'Task'), ...fields),
    draftConflicts,
    error,
    notice,
    h(
      'footer',
      { class: 'editor-actions' },
      draft === undefined ? null : saveButton,
      h('button', { type: 'button', class: 'secondary', onclick: close }, 'Close'),
      draft === undefined ? null : confirmStep('Discard changes', 'Discard for everyone', () => draft.discard()),
      draft === undefined
        ? null
        : confirmStep('Delete task', 'Confirm delete', () => client.transact([[':db/retractEntity', ['datsync/id', entity]]])),
    ),
  );
  formElement.addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });
  const dialog = h('dialog', { class: 'editor', 'aria-labelledby': 'editor-heading' }, formElement);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    close();
  });

  const keep = (name: FieldName) => (value: unknown) => {
    // Writing a value again supersedes every sibling: the conflict ends, on every replica.
    client.transact([[':db/add', ['datsync/id', entity], name, value]]).catch((cause: unknown) => {
      error.textContent = `Not resolved: ${(cause as Error).message}`;
    });
  };

  const renderPresence = (): void => {
    const others = draft?.others() ?? [];
    presence.replaceChildren(
      ...others.map((other) => {
        const chip = h('li', { class: 'who' }, other.field === null ? other.name : `${other.name} · ${labelOf(other.field)}`);
        if (other.color !== undefined) chip.style.background = other.color;
        return chip;
      }),
    );
    for (const [name, slot] of presenceSlots) {
      const here = others.filter((other) => other.field === name);
      slot.textContent = here.length === 0 ? '' : `${here.map((other) => other.name).join(', ')} editing`;
      slot.parentElement?.classList.toggle('editing-elsewhere', here.length > 0);
      if (here[0]?.color !== undefined) slot.parentElement?.style.setProperty('--presence', here[0].color);
    }
  };

  const render = (): void => {
    if (!form.exists) {
      error.textContent = 'This task was deleted, or you can no longer see it.';
      formElement.querySelector('fieldset')?.setAttribute('disabled', '');
      saveButton.disabled = true;
      return;
    }
    heading.textContent = `Edit “${form instanceof TaskDraft ? form.committed.value('task/title') : form.value('task/title')}”`;
    const owner = controls.get('task/owner') as HTMLSelectElement;
    const known = client.q<string[]>('[:find [?n ...] :where [_ "user/name" ?n]]').sort();
    if ([...owner.options].map((option) => option.value).join() !== known.join()) {
      owner.replaceChildren(...known.map((sub) => h('option', { value: sub }, demoUsers.find((u) => u.sub === sub)?.name ?? sub)));
    }
    for (const spec of FIELDS) write(spec, controls.get(spec.name) as Control, form.value(spec.name));
    const conflicts = siblingConflicts(client, entity);
    for (const spec of FIELDS) {
      const conflict = conflicts.get(spec.name);
      const slot = conflictSlots.get(spec.name) as HTMLElement;
      slot.replaceChildren(
        ...(conflict === undefined ? [] : [conflictBox(client, conflict, spec.label, keep(spec.name), draft === undefined)]),
      );
    }
    for (const [name, list] of historyLists) list.replaceChildren(...historyItems(client, entity, name));
  };
  const schedule = coalesced(() => {
    if (current === handle) render();
  });
  const stops = [form.subscribe(schedule), client.on('position', schedule), client.on('pending', schedule)];
  if (draft !== undefined) {
    stops.push(
      draft.onPresence(renderPresence),
      draft.onClosedElsewhere((message, open) => {
        context.announce(message);
        if (open) notice.textContent = message;
        else close();
      }),
    );
  }

  current = handle;
  document.body.append(dialog);
  render();
  renderPresence();
  dialog.showModal();
  (controls.get('task/title') as Control).focus();
}
