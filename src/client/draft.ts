/**
 * A collaborative draft of one entity's form (docs/drafts.md): a Yjs document
 * co-editors share live through the server, kept out of the main views until
 * `commit` turns it into ONE transaction of the fields that differ from the
 * base. Persisted in the client's storage, so it survives reloads and
 * offline edits, and merges with co-editors' edits once back online.
 *
 * A draft opened while the server is unreachable starts as this client's own
 * copy (generation 0, initialised here from what the client shows). When the
 * server is reachable it is bound: the server's draft of the entity is
 * joined, the local changes are replayed onto it field by field, and the
 * draft switches documents (subscribers hear of it; `text()` gives the new
 * texts). Never are two initialisations of one document merged.
 *
 * @module
 */
import type * as Y from 'yjs';
import type { EntityId, Value } from '../../crdt/index.js';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { DraftClosed } from '../../storage/contract.js';
import type { DraftValue } from '../drafts/document.js';
import {
  baseValue,
  changeMember,
  draftMeta,
  draftValuesEqual,
  fieldText,
  fieldValue,
  markClosed,
  setBase,
  setFieldValue,
} from '../drafts/document.js';
import type { AttributeDef } from '../schema.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import type { DraftHost } from './draft-host.js';
import type { DraftLink } from './draft-link.js';
import type { TxData, TxForm } from './tx-forms.js';

export type DraftStatus = 'local' | 'connecting' | 'live' | 'closed';

export interface DraftPresence {
  /** The Yjs client id of the editor's document. */
  readonly clientId: number;
  readonly name: string;
  readonly color: string | undefined;
  /** The field being edited, if any. */
  readonly field: string | null;
  /** This draft's own presence. */
  readonly self: boolean;
}

export interface DraftChange {
  readonly attribute: string;
  readonly base: DraftValue;
  readonly draft: DraftValue;
}

export interface DraftConflict extends DraftChange {
  /** The value the entity holds now, changed by someone else since the draft's base. */
  readonly current: DraftValue;
}

export interface CommitOptions {
  /** Commit the draft's values even over concurrent changes of the same fields. */
  readonly overwrite?: boolean;
}

export interface CommitResult {
  /** The transaction, or null when the draft changed nothing. */
  readonly txId: string | null;
  /** The entity written (a new entity's id is minted by the commit). */
  readonly entity: EntityId | null;
}

export class Draft {
  readonly key: string;
  private readonly host: DraftHost;
  private readonly defs: readonly AttributeDef[];
  private readonly link: DraftLink;
  private readonly listeners = new Set<() => void>();
  private readonly presenceListeners = new Set<(presence: DraftPresence[]) => void>();
  private readonly closeListeners = new Set<(closed: DraftClosed) => void>();
  private closedWith: DraftClosed | undefined;
  private committing = false;
  private focused: string | null = null;
  private readonly presenceName: { readonly name: string; readonly color?: string } | undefined;
  private readonly release: () => void;

  /** @internal use `client.openDraft` */
  constructor(
    host: DraftHost,
    key: string,
    defs: readonly AttributeDef[],
    link: DraftLink,
    presence: { readonly name: string; readonly color?: string } | undefined,
  ) {
    this.host = host;
    this.key = key;
    this.defs = defs;
    this.link = link;
    this.presenceName = presence;
    this.release = link.use({
      changed: () => this.notify(),
      presence: () => this.notifyPresence(),
      swapped: () => {
        this.announce();
        this.notify();
      },
      closed: (closed) => this.finish(closed),
    });
    // A stored copy whose draft ended meanwhile (and that holds changes of its own) opens closed, with the reason.
    this.closedWith = link.closed;
    this.announce();
  }

  /** The key co-editors open it by: the entity's id, or the `new-…` key of a new entity's draft. */
  get id(): string {
    return this.key;
  }

  /** The entity edited; null until a new entity's draft is committed. */
  get entity(): EntityId | null {
    return (this.closedWith?.entity as EntityId | undefined) ?? (draftMeta(this.doc).entity as EntityId | null);
  }

  /** The shared document (for editor bindings); it changes once when a draft opened offline is bound. */
  get doc(): Y.Doc {
    return this.link.doc;
  }

  get status(): DraftStatus {
    if (this.closedWith !== undefined) return 'closed';
    return this.link.status;
  }

  /** Whether co-editors share it (false for a draft opened offline and not yet bound). */
  get shared(): boolean {
    return draftMeta(this.doc).generation > 0;
  }

  /** Why it closed, once it has. */
  get closed(): DraftClosed | undefined {
    return this.closedWith;
  }

  get fields(): readonly string[] {
    return this.defs.map((def) => def.name);
  }

  private def(attribute: string): AttributeDef {
    const def = this.defs.find((d) => d.name === attribute);
    if (def === undefined) {
      throw new DatsyncError(ErrorCode.UnknownAttribute, `the draft has no field ${attribute} (its fields: ${this.fields.join(', ')})`, {
        attribute,
      });
    }
    return def;
  }

  private ensureOpen(): void {
    if (this.closedWith !== undefined) {
      throw new DatsyncError(ErrorCode.DraftFailed, `the draft was ${this.closedWith.reason}`, { reason: this.closedWith.reason });
    }
  }

  value(attribute: string): DraftValue {
    return fieldValue(this.doc, this.def(attribute));
  }

  values(): Record<string, DraftValue> {
    return Object.fromEntries(this.defs.map((def) => [def.name, fieldValue(this.doc, def)]));
  }

  /** The shared text of a string field, for binding an input to it. */
  text(attribute: string): Y.Text {
    const text = fieldText(this.doc, this.def(attribute));
    if (text === undefined) throw new DatsyncError(ErrorCode.InvalidValue, `${attribute} is not a text field`, { attribute });
    return text;
  }

  /** Sets a field (a list for cardinality-many; undefined for no value); text fields change by the smallest edit. */
  set(attribute: string, value: DraftValue): void {
    this.ensureOpen();
    const def = this.def(attribute);
    this.host.checkFieldValue(def, value);
    setFieldValue(this.doc, def, value, 'local');
  }

  add(attribute: string, value: Value): void {
    this.member(attribute, value, true);
  }

  remove(attribute: string, value: Value): void {
    this.member(attribute, value, false);
  }

  private member(attribute: string, value: Value, present: boolean): void {
    this.ensureOpen();
    const def = this.def(attribute);
    if (def.cardinality !== 'many') {
      throw new DatsyncError(ErrorCode.InvalidValue, `${attribute} holds one value: use set`, { attribute });
    }
    this.host.checkFieldValue(def, [value]);
    changeMember(this.doc, def, value, present, 'local');
  }

  /** The fields whose draft value differs from the base. */
  changes(): DraftChange[] {
    return this.defs.flatMap((def) => {
      const base = baseValue(this.doc, def);
      const draft = fieldValue(this.doc, def);
      return draftValuesEqual(def, base, draft) ? [] : [{ attribute: def.name, base, draft }];
    });
  }

  /** Changed fields the entity also changed since the base, to another value. */
  conflicts(): DraftConflict[] {
    const entity = draftMeta(this.doc).entity as EntityId | null;
    if (entity === null) return [];
    return this.changes().flatMap((change) => {
      const def = this.def(change.attribute);
      const current = this.host.current(entity, def);
      if (draftValuesEqual(def, current, change.base) || draftValuesEqual(def, current, change.draft)) return [];
      return [{ ...change, current }];
    });
  }

  /** Moves the base to the entity as it is now; fields the draft did not change take the current values. */
  rebase(): void {
    this.ensureOpen();
    const entity = draftMeta(this.doc).entity as EntityId | null;
    if (entity === null) return;
    this.doc.transact(() => {
      for (const def of this.defs) {
        const current = this.host.current(entity, def);
        if (draftValuesEqual(def, fieldValue(this.doc, def), baseValue(this.doc, def))) setFieldValue(this.doc, def, current, 'local');
        setBase(this.doc, def, current, 'local');
      }
    }, 'local');
  }

  /**
   * Commits the changed fields as ONE transaction, waiting for the server's
   * decision. A concurrent change of a changed field refuses the commit with
   * `draft-conflict` (see `conflicts()`; `rebase()` or `{ overwrite: true }`);
   * a rejection keeps the draft open. On success the draft closes for every editor.
   */
  async commit(options: CommitOptions = {}): Promise<CommitResult> {
    this.ensureOpen();
    if (this.committing) throw new DatsyncError(ErrorCode.DraftFailed, 'the draft is being committed already');
    const conflicts = options.overwrite === true ? [] : this.conflicts();
    if (conflicts.length > 0) {
      throw new DatsyncError(
        ErrorCode.DraftConflict,
        `the entity changed since the draft began, in ${conflicts.map((c) => c.attribute).join(', ')}: rebase, or commit with overwrite`,
        { fields: conflicts.map((c) => c.attribute).join(',') },
      );
    }
    const changes = this.changes();
    const entity = draftMeta(this.doc).entity as EntityId | null;
    this.committing = true;
    try {
      let txId: string | null = null;
      let written: EntityId | null = entity;
      if (changes.length > 0) {
        const report = await this.host.transact(this.txData(entity, changes));
        txId = report.txId;
        written = entity ?? report.entityIds.draft ?? null;
      }
      await this.end({ reason: 'committed', ...(txId === null ? {} : { txId }), ...(written === null ? {} : { entity: written }) });
      return { txId, entity: written };
    } finally {
      this.committing = false;
    }
  }

  /** Drops the draft for every editor. */
  async discard(): Promise<void> {
    this.ensureOpen();
    await this.end({ reason: 'discarded' });
  }

  /** Closes the draft here at once; settles when the server holds the close too (see `closeDelivered`). */
  private async end(how: Omit<DraftClosed, 'at' | 'by'>): Promise<void> {
    const closed: DraftClosed = {
      ...how,
      ...(this.presenceName === undefined ? {} : { by: this.presenceName.name }),
      at: this.host.now(),
    };
    markClosed(this.doc, closed, 'local');
    this.finish(closed);
    try {
      await this.link.deliverClose();
      await this.link.closeDelivered();
    } catch (error) {
      // The draft is closed here and its transaction (if any) stands; a failure to tell the server is the client's error, not the commit's.
      this.host.error(error);
    }
  }

  private txData(entity: EntityId | null, changes: readonly DraftChange[]): TxData {
    const target = entity === null ? 'draft' : ([ENTITY_ID_ATTR, entity] as const);
    const forms: TxForm[] = [];
    const asserted: Record<string, unknown> = { ':db/id': target };
    for (const change of changes) {
      const def = this.def(change.attribute);
      const wrap = (value: Value): unknown => (def.valueType === 'ref' ? [ENTITY_ID_ATTR, value] : value);
      if (def.cardinality === 'many') {
        // Against the entity as it is, so that the set ends exactly as the draft's, over a concurrent change too.
        const before = (entity === null ? [] : (this.host.current(entity, def) ?? [])) as readonly Value[];
        const after = (change.draft ?? []) as readonly Value[];
        const added = after.filter((v) => !before.some((b) => draftValuesEqual(def, [b], [v])));
        const removed = before.filter((v) => !after.some((a) => draftValuesEqual(def, [a], [v])));
        if (added.length > 0) asserted[def.name] = added.map(wrap);
        for (const value of removed) forms.push([':db/retract', target, def.name, wrap(value)]);
      } else if (change.draft === undefined) forms.push([':db/retract', target, def.name]);
      else asserted[def.name] = wrap(change.draft as Value);
    }
    return Object.keys(asserted).length > 1 ? [asserted, ...forms] : forms;
  }

  /** Says which field this editor is in (null: none), for co-editors' presence. */
  focus(attribute: string | null): void {
    if (attribute !== null) this.def(attribute);
    this.focused = attribute;
    this.announce();
  }

  private announce(): void {
    if (this.presenceName === undefined || this.closedWith !== undefined) return;
    this.link.awareness.setLocalState({ user: { ...this.presenceName }, field: this.focused });
  }

  /** Who is in the draft now, this editor included (when it has a presence). */
  presence(): DraftPresence[] {
    const self = this.doc.clientID;
    return [...this.link.awareness.getStates()].flatMap(([clientId, state]) => {
      const user = (state as { user?: { name?: unknown; color?: unknown } }).user;
      if (typeof user?.name !== 'string') return [];
      const field = (state as { field?: unknown }).field;
      return [
        {
          clientId,
          name: user.name,
          color: typeof user.color === 'string' ? user.color : undefined,
          field: typeof field === 'string' ? field : null,
          self: clientId === self,
        },
      ];
    });
  }

  /** Calls `listener` on every change of the draft (values, base, status, document). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onPresence(listener: (presence: DraftPresence[]) => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  /** Calls `listener` once the draft is committed or discarded, here or by a co-editor. */
  onClose(listener: (closed: DraftClosed) => void): () => void {
    if (this.closedWith !== undefined) {
      listener(this.closedWith);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Leaves the draft (it stays open for the others, and stored here to reopen); a closed one still tells the server. */
  close(): void {
    if (this.closedWith === undefined) this.release();
  }

  /** @internal the client is closing: stop syncing, whatever the state. */
  stop(): void {
    this.link.leave();
  }

  /** @internal the client disconnected, or connected again. */
  pause(): void {
    this.link.pause();
  }

  /** @internal */
  resume(): void {
    this.link.resume();
  }

  /** @internal resolves once this client has nothing more to do for the draft. */
  get ended(): Promise<void> {
    return this.link.ended;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) this.host.safely(listener);
  }

  private notifyPresence(): void {
    const presence = this.presence();
    for (const listener of [...this.presenceListeners]) this.host.safely(() => listener(presence));
  }

  private finish(closed: DraftClosed): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = closed;
    this.notify();
    for (const listener of [...this.closeListeners]) this.host.safely(() => listener(closed));
    this.closeListeners.clear();
  }
}
