/**
 * What the edit form shows and edits. A member edits through a collaborative
 * draft (docs/drafts.md): co-editors see each other's typing and presence,
 * and the board sees nothing until Save commits one transaction. A viewer,
 * who may not write, sees the task as committed.
 *
 * A field the draft has not changed shows the task as committed now, so the
 * form stays current while others save; a changed field shows the draft.
 */
import type { DatsyncClient, DatsyncError, Draft, DraftClosed, DraftPresence, EntityId } from '../../../src/client/index.js';
import type { User } from './session.js';
import type { FieldName, TaskFields } from './tasks.js';
import { fieldsOf, TASK_PATTERN, toTask } from './tasks.js';

export const FORM_FIELDS: readonly FieldName[] = ['task/title', 'task/notes', 'task/status', 'task/owner', 'task/private', 'task/tags'];

export interface FieldConflict {
  readonly name: FieldName;
  /** What someone else saved meanwhile. */
  readonly current: TaskFields[FieldName] | undefined;
  readonly mine: TaskFields[FieldName] | undefined;
}

/** The task as committed, kept current: a viewer's form, and what a draft's unchanged fields show. */
export class CommittedTask {
  private fields: TaskFields | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly stop: () => void;

  constructor(client: DatsyncClient, entity: EntityId) {
    this.stop = client.subscribePull(TASK_PATTERN, entity, (pulled) => {
      this.fields = pulled === null ? null : fieldsOf(toTask(pulled));
      for (const listener of this.listeners) listener();
    });
  }

  /** False once the task is gone from this replica (deleted, or no longer readable). */
  get exists(): boolean {
    return this.fields !== null;
  }

  value<Name extends FieldName>(name: Name): TaskFields[Name] | undefined {
    return this.fields?.[name];
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.stop();
    this.listeners.clear();
  }
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A member's form: a draft of the task, shared with everyone editing it. */
export class TaskDraft {
  readonly committed: CommittedTask;
  private readonly client: DatsyncClient;
  private readonly entity: EntityId;
  private readonly user: User;
  private draft: Draft;
  private openedAt: number;
  /** What this editor set since it opened: replayed if the draft has to be opened again. */
  private readonly mine = new Map<FieldName, TaskFields[FieldName]>();
  /** This editor is committing, discarding or leaving: a close is not news from someone else. */
  private closing = false;
  private readonly listeners = new Set<() => void>();
  private readonly presenceListeners = new Set<() => void>();
  private readonly closeListeners = new Set<(message: string, open: boolean) => void>();
  private unbind: () => void = () => undefined;

  private constructor(client: DatsyncClient, entity: EntityId, user: User, draft: Draft) {
    this.client = client;
    this.entity = entity;
    this.user = user;
    this.draft = draft;
    this.openedAt = Date.now();
    this.committed = new CommittedTask(client, entity);
    this.committed.subscribe(() => this.emit());
    this.bind(draft);
  }

  private static async openDraft(client: DatsyncClient, entity: EntityId, user: User): Promise<Draft> {
    const draft = await client.openDraft(entity, { fields: FORM_FIELDS, presence: { name: user.name, color: user.color } });
    // Nobody has changed anything yet: start from the task as it is now, not as it was when the draft began.
    if (draft.changes().length === 0) draft.rebase();
    return draft;
  }

  static async open(client: DatsyncClient, entity: EntityId, user: User): Promise<TaskDraft> {
    return new TaskDraft(client, entity, user, await TaskDraft.openDraft(client, entity, user));
  }

  private bind(draft: Draft): void {
    const stops = [
      draft.subscribe(() => this.emit()),
      draft.onPresence(() => {
        for (const listener of this.presenceListeners) listener();
      }),
      draft.onClose((closed) => void this.closedElsewhere(closed)),
    ];
    this.unbind = () => {
      for (const stop of stops) stop();
    };
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  /**
   * Someone else committed or discarded the draft, now or (a copy kept from
   * an earlier visit) before this form opened. If this editor has changed
   * nothing since, or the close is old news, the form goes on with a fresh
   * draft (what this editor set is set again); otherwise it is over.
   */
  private async closedElsewhere(closed: DraftClosed): Promise<void> {
    if (this.closing) return;
    const who = closed.by ?? 'Someone';
    const message = closed.reason === 'committed' ? `${who} saved this task.` : `${who} discarded the changes to this task.`;
    const news = closed.at >= this.openedAt;
    if (news && this.mine.size > 0) {
      for (const listener of this.closeListeners) listener(message, false);
      return;
    }
    this.unbind();
    const fresh = await TaskDraft.openDraft(this.client, this.entity, this.user);
    if (this.closing) {
      fresh.close();
      return;
    }
    this.draft = fresh;
    this.openedAt = Date.now();
    this.bind(fresh);
    for (const [name, value] of this.mine) this.set(name, value);
    this.emit();
    if (news) for (const listener of this.closeListeners) listener(message, true);
  }

  get exists(): boolean {
    return this.committed.exists;
  }

  private changed(): Set<string> {
    return new Set(this.draft.changes().map((change) => change.attribute));
  }

  /** A draft value in the form's terms: the owner as a user name, tags sorted, no text as ''. */
  private fromDraft<Name extends FieldName>(name: Name, raw: unknown): TaskFields[Name] | undefined {
    switch (name) {
      case 'task/title':
      case 'task/notes':
        return (raw ?? '') as TaskFields[Name];
      case 'task/owner':
        return (
          typeof raw === 'string' ? (this.client.pull('["user/name"]', raw as EntityId)?.['user/name'] ?? '') : ''
        ) as TaskFields[Name];
      case 'task/tags':
        return [...((raw as string[] | undefined) ?? [])].sort() as unknown as TaskFields[Name];
      default:
        return raw as TaskFields[Name] | undefined;
    }
  }

  value<Name extends FieldName>(name: Name): TaskFields[Name] | undefined {
    return this.changed().has(name) ? this.fromDraft(name, this.draft.value(name)) : this.committed.value(name);
  }

  set<Name extends FieldName>(name: Name, value: TaskFields[Name]): void {
    this.mine.set(name, value);
    // An unchanged field holds the draft's base; if that is stale, setting it back to the base would count as no
    // change (and show the current value): move the base to now first.
    if (!this.changed().has(name) && !same(this.fromDraft(name, this.draft.value(name)), this.committed.value(name))) {
      this.draft.rebase();
    }
    if (name === 'task/owner') {
      const eid = this.client.eid(['user/name', value as string]);
      this.draft.set(name, eid === undefined ? undefined : this.client.entityId(eid));
    } else this.draft.set(name, value as never);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Who else is in the draft, and the field each is in. */
  others(): DraftPresence[] {
    return this.draft.presence().filter((p) => !p.self);
  }

  onPresence(listener: () => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  focus(name: FieldName | null): void {
    this.draft.focus(name);
  }

  /** The changed fields someone else saved another value of meanwhile. */
  conflicts(): FieldConflict[] {
    return this.draft.conflicts().map((conflict) => {
      const name = conflict.attribute as FieldName;
      return { name, current: this.fromDraft(name, conflict.current), mine: this.fromDraft(name, conflict.draft) };
    });
  }

  /** One transaction of the changed fields; waits for the server (and the connection). */
  async commit(overwrite = false): Promise<void> {
    this.closing = true;
    try {
      await this.draft.commit({ overwrite });
    } catch (error) {
      this.closing = false;
      throw error;
    }
  }

  /** Gives up the conflicting changes: those fields take what was saved meanwhile. */
  takeTheirs(): void {
    const names = new Set(this.draft.conflicts().map((c) => c.attribute));
    this.draft.rebase();
    for (const name of names) {
      this.mine.delete(name as FieldName);
      this.draft.set(name, this.draft.changes().find((c) => c.attribute === name)?.base);
    }
  }

  /** Drops the draft for everyone in it. */
  async discard(): Promise<void> {
    this.closing = true;
    await this.draft.discard();
  }

  /** Someone else committed or discarded: `open` says whether the form goes on (with a fresh draft). */
  onClosedElsewhere(listener: (message: string, open: boolean) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Leaves the draft: it stays for the others, and for this user to come back to. */
  close(): void {
    this.closing = true;
    this.unbind();
    this.draft.close();
    this.committed.close();
    this.listeners.clear();
  }
}

export function isDraftConflict(error: unknown): error is DatsyncError {
  return (error as DatsyncError | null)?.code === 'draft-conflict';
}
