/**
 * An edit form's state kept in this tab only: the task as the replica holds
 * it (kept current as other people's changes arrive) under the user's own
 * unsaved edits. Saving writes the edited fields in one transaction.
 */
import type { DatsyncClient, EntityId } from '../../../src/client/index.js';
import type { FieldName, TaskFields } from './tasks.js';
import { editTx, fieldsOf, TASK_PATTERN, toTask } from './tasks.js';

export class LocalDraft {
  readonly entity: EntityId;
  private readonly client: DatsyncClient;
  private base: TaskFields | null;
  private readonly edits = new Map<FieldName, TaskFields[FieldName]>();
  private readonly listeners = new Set<() => void>();
  private readonly stop: () => void;

  constructor(client: DatsyncClient, entity: EntityId) {
    this.client = client;
    this.entity = entity;
    this.base = null;
    this.stop = client.subscribePull(TASK_PATTERN, entity, (pulled) => {
      this.base = pulled === null ? null : fieldsOf(toTask(pulled));
      for (const listener of this.listeners) listener();
    });
  }

  /** False once the task is gone from this replica (deleted, or no longer readable). */
  get exists(): boolean {
    return this.base !== null;
  }

  value<Name extends FieldName>(name: Name): TaskFields[Name] | undefined {
    return this.edits.has(name) ? (this.edits.get(name) as TaskFields[Name]) : this.base?.[name];
  }

  set<Name extends FieldName>(name: Name, value: TaskFields[Name]): void {
    this.edits.set(name, value);
    for (const listener of this.listeners) listener();
  }

  /** The edited fields that differ from the task as stored. */
  changes(): Partial<TaskFields> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of this.edits) {
      const base = this.base?.[name];
      if (JSON.stringify(base) !== JSON.stringify(value)) out[name] = value;
    }
    return out as Partial<TaskFields>;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async commit(): Promise<void> {
    const base = this.base;
    if (base === null) throw new Error('this task is no longer available');
    const changes = this.changes();
    if (Object.keys(changes).length > 0) await this.client.transact(editTx(this.entity, base, changes));
    this.close();
  }

  async discard(): Promise<void> {
    this.close();
  }

  close(): void {
    this.stop();
    this.listeners.clear();
  }
}
