/**
 * Collaborative drafts on the server: one Yjs room per draft, served with the
 * standard y-websocket protocol at `/drafts/<key>` beside the datom sync.
 *
 * - A key names an existing entity (its id) or a new one (`new-…`). At most
 *   one draft per key is open; each commit or discard ends a generation, and
 *   a peer holding an older generation is told it closed (code 4410 with the
 *   reason), so a late editor cannot resurrect a closed draft.
 * - The server alone creates a generation, from the committed state at that
 *   moment: no two peers ever initialise one document.
 * - Joining takes the same credentials as the sync (`?token=`): an identity
 *   that may read and write every field edits; one that may read them
 *   watches (its updates are ignored); anyone else is refused.
 * - Bounded: a draft may not grow past `maxDraftBytes`, an identity may hold
 *   `maxOpenDrafts` open, and a room nobody is in is saved and unloaded.
 *   Rooms are saved shortly after each change, so a restart loses at most
 *   that delay (and editors send what the server lacks when they reconnect).
 *
 * @module
 */
import * as Y from 'yjs';
import type { Attr, EntityId } from '../../crdt/index.js';
import { isEntityId } from '../../crdt/index.js';
import type { DraftClosed, Storage, StoredDraft } from '../../storage/contract.js';
import { resolveEid } from '../datascript/index.js';
import type { DraftValue } from '../drafts/document.js';
import { addFields, draftMeta, initDraft } from '../drafts/document.js';
import { CloseCode } from '../protocol/index.js';
import type { AttributeDef, Schema } from '../schema.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import { unrefTimer } from '../timers.js';
import type { ServerLog } from './log.js';
import type { CompiledReadRule, Permissions } from './permissions.js';
import { ruleFor } from './permissions.js';
import type { ConnectionInfo } from './transport.js';
import type { RoomSocket } from './yjs-room.js';
import { YRoom } from './yjs-room.js';

export interface DraftLimits {
  /** The largest a draft's document may grow (bytes of updates), default 1 MiB. */
  readonly maxDraftBytes: number;
  /** Drafts one identity may have open at once, default 50. */
  readonly maxOpenDrafts: number;
  /** A room nobody is in is unloaded after this long (ms), default 30 s. */
  readonly idleUnloadMs: number;
  /** A changed room is saved after at most this long (ms), default 300 ms. */
  readonly saveDelayMs: number;
  /** The largest message a member may send (bytes), default 256 KiB. */
  readonly maxMessageBytes: number;
}

export const DEFAULT_DRAFT_LIMITS: DraftLimits = {
  maxDraftBytes: 1024 * 1024,
  maxOpenDrafts: 50,
  idleUnloadMs: 30_000,
  saveDelayMs: 300,
  maxMessageBytes: 256 * 1024,
};

export interface DraftHubHooks<Identity> {
  readonly log: ServerLog<Identity>;
  readonly schema: Schema;
  readonly storage: Storage;
  readonly permissions: Permissions<Identity>;
  readRule(attribute: Attr): CompiledReadRule<unknown>;
  authenticate(token: string | null, info: ConnectionInfo): Promise<Identity | null>;
  identityKey(identity: Identity): string;
  expiresAt(identity: Identity): number | undefined;
  readonly limits: DraftLimits;
  now(): number;
  onError(error: unknown): void;
}

/** What the WebSocket layer feeds a draft connection. */
export interface DraftConnection {
  message(bytes: Uint8Array): void;
  closed(): void;
}

const NEW_KEY = /^new-[A-Za-z0-9_-]{8,64}$/;

export function isDraftKey(key: string): boolean {
  return isEntityId(key) || NEW_KEY.test(key);
}

interface LoadedRoom {
  readonly key: string;
  readonly room: YRoom;
  readonly generation: number;
  readonly owner: string;
  bytes: number;
  saveTimer: ReturnType<typeof setTimeout> | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  closing: boolean;
}

export class DraftHub<Identity> {
  private readonly hooks: DraftHubHooks<Identity>;
  private readonly rooms = new Map<string, LoadedRoom>();
  /** Rooms being loaded or created, so two joiners of one key share one. */
  private readonly loading = new Map<string, Promise<LoadedRoom | DraftClosed | undefined>>();
  /** Open drafts per identity key (counted from storage at start). */
  private readonly openCount = new Map<string, number>();
  private ready: Promise<void>;
  private closed = false;

  constructor(hooks: DraftHubHooks<Identity>) {
    this.hooks = hooks;
    this.ready = this.countOpen();
  }

  private async countOpen(): Promise<void> {
    for (const draft of await this.hooks.storage.drafts()) {
      if (draft.closed === undefined && draft.owner !== undefined) this.bump(draft.owner, 1);
    }
  }

  private bump(owner: string, by: number): void {
    const next = (this.openCount.get(owner) ?? 0) + by;
    if (next <= 0) this.openCount.delete(owner);
    else this.openCount.set(owner, next);
  }

  /** A connection to `/drafts/<key>`; messages that arrive while it is admitted wait. */
  connect(socket: RoomSocket, info: ConnectionInfo, key: string, params: URLSearchParams): DraftConnection {
    const early: Uint8Array[] = [];
    let joined: LoadedRoom | undefined;
    let gone = false;
    let expiry: ReturnType<typeof setTimeout> | undefined;
    const admitted = this.admit(socket, info, key, params).then(
      (result) => {
        if (result === undefined) return;
        if (gone) {
          this.left(result.loaded);
          return;
        }
        joined = result.loaded;
        result.loaded.room.join(socket, result.readOnly);
        this.touch(result.loaded);
        for (const bytes of early.splice(0)) result.loaded.room.receive(socket, bytes);
        const expiresAt = result.expiresAt;
        if (expiresAt !== undefined) {
          expiry = unrefTimer(
            setTimeout(() => socket.close(CloseCode.Unauthenticated, 'the credentials expired'), Math.max(0, expiresAt - this.hooks.now())),
          );
        }
      },
      (error: unknown) => {
        this.hooks.onError(error);
        socket.close(CloseCode.InternalError, 'the draft could not be opened');
      },
    );
    void admitted;
    return {
      message: (bytes) => {
        if (joined !== undefined) joined.room.receive(socket, bytes);
        else if (early.length < 64) early.push(bytes);
        else socket.close(CloseCode.DraftBadRequest, 'too many messages before joining');
      },
      closed: () => {
        gone = true;
        if (expiry !== undefined) clearTimeout(expiry);
        if (joined === undefined) return;
        joined.room.leave(socket);
        this.left(joined);
      },
    };
  }

  private async admit(
    socket: RoomSocket,
    info: ConnectionInfo,
    key: string,
    params: URLSearchParams,
  ): Promise<{ loaded: LoadedRoom; readOnly: boolean; expiresAt: number | undefined } | undefined> {
    await this.ready;
    const refuse = (code: number, reason: string): undefined => {
      socket.close(code, reason);
      return undefined;
    };
    if (this.closed) return refuse(CloseCode.GoingAway, 'server shutting down');
    if (!isDraftKey(key)) return refuse(CloseCode.DraftBadRequest, 'a draft key is an entity id or "new-" and 8 to 64 letters');
    const identity = await this.hooks.authenticate(info.urlToken, info);
    if (identity === null) return refuse(CloseCode.Unauthenticated, 'missing or invalid credentials');
    const expiresAt = this.hooks.expiresAt(identity);
    if (expiresAt !== undefined && expiresAt <= this.hooks.now()) return refuse(CloseCode.Unauthenticated, 'the credentials expired');
    const requested = parseFields(params.get('fields'), this.hooks.schema);
    if (requested === null) return refuse(CloseCode.DraftBadRequest, 'fields must name attributes of the schema, comma-separated');
    const wantGeneration = params.get('generation');
    const generation = wantGeneration === null ? undefined : Number(wantGeneration);
    if (generation !== undefined && !(Number.isSafeInteger(generation) && generation > 0)) {
      return refuse(CloseCode.DraftBadRequest, 'generation must be a positive integer');
    }
    const watchOnly = params.get('watch') === '1';

    let loaded = await this.load(key);
    if (loaded !== undefined && !(loaded instanceof YRoomHolder)) {
      // The key's last draft is closed: a peer that knew it learns why; anyone else may open the next one.
      const closed = loaded;
      if (generation !== undefined || watchOnly) return refuse(CloseCode.DraftClosed, closeReason(closed));
      loaded = undefined;
    }
    const existing = loaded instanceof YRoomHolder ? loaded.loaded : undefined;
    if (existing !== undefined && generation !== undefined && generation !== existing.generation) {
      return refuse(CloseCode.DraftClosed, closeReason({ reason: 'superseded', at: this.hooks.now() }));
    }
    const fields = existing === undefined ? requested : union(draftMeta(existing.room.doc).fields, requested, this.hooks.schema);
    const access = this.access(identity, key, fields);
    if (!access.read) return refuse(CloseCode.DraftForbidden, 'this identity may not see this draft');
    const readOnly = watchOnly || !access.write;
    if (existing === undefined) {
      if (readOnly) return refuse(CloseCode.DraftNotFound, 'no draft of this entity is open');
      const owner = this.hooks.identityKey(identity);
      if ((this.openCount.get(owner) ?? 0) >= this.hooks.limits.maxOpenDrafts) {
        return refuse(CloseCode.DraftLimit, `an identity may have ${this.hooks.limits.maxOpenDrafts} drafts open; commit or discard one`);
      }
      // A peer bringing a generation the server has no record of (its drafts were lost) fills an empty room with its copy.
      const created = await this.create(key, owner, fields, generation);
      if (created instanceof YRoomHolder) return { loaded: created.loaded, readOnly, expiresAt };
      return refuse(CloseCode.InternalError, 'the draft could not be created');
    }
    if (!readOnly) {
      const added = addFields(existing.room.doc, defsOf(requested, this.hooks.schema), (a) => this.committedValue(key, a));
      if (added.length > 0) this.scheduleSave(existing);
    }
    return { loaded: existing, readOnly, expiresAt };
  }

  /** Whether `identity` may read and write every field of the draft of `key`. */
  private access(identity: Identity, key: string, fields: readonly Attr[]): { read: boolean; write: boolean } {
    const log = this.hooks.log;
    const db = log.db;
    const eid = isEntityId(key) ? (resolveEid(db, [ENTITY_ID_ATTR, key]) ?? undefined) : undefined;
    const identityKey = this.hooks.identityKey(identity);
    let write = true;
    for (const attribute of fields) {
      const rule = ruleFor(this.hooks.permissions.write, attribute);
      if (rule === true) continue;
      if (rule === undefined || rule === false) {
        write = false;
        break;
      }
      const verdict = rule.allow({
        identity,
        entity: key as EntityId,
        eidBefore: eid,
        eidAfter: eid,
        attribute,
        dbBefore: db,
        dbAfter: db,
      });
      if (verdict !== true) {
        write = false;
        break;
      }
    }
    // An entity that does not exist yet has nothing to read: whoever may write it may see its draft.
    if (eid === undefined) return { read: write, write };
    const read = fields.every((attribute) =>
      this.hooks.readRule(attribute).check(identity, identityKey, eid, key as EntityId, attribute, db),
    );
    return { read, write: read && write };
  }

  private committedValue(key: string, attribute: Attr): DraftValue {
    if (!isEntityId(key)) return undefined;
    const state = this.hooks.log.state.confirmed;
    const def = this.hooks.schema.attributes.get(attribute);
    if (def?.cardinality === 'many') return state.values(key as EntityId, attribute);
    return state.value(key as EntityId, attribute);
  }

  /** The loaded room of `key`, loading it from storage; a closed draft's tombstone; or nothing. */
  private load(key: string): Promise<YRoomHolder | DraftClosed | undefined> {
    const inMemory = this.rooms.get(key);
    if (inMemory !== undefined && !inMemory.closing) return Promise.resolve(new YRoomHolder(inMemory));
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending.then((r) => (r === undefined || 'reason' in r ? r : new YRoomHolder(r)));
    const work = (async (): Promise<LoadedRoom | DraftClosed | undefined> => {
      const stored = await this.hooks.storage.draft(key);
      if (stored === undefined) return undefined;
      if (stored.closed !== undefined) return stored.closed;
      const doc = new Y.Doc();
      Y.applyUpdate(doc, stored.state);
      return this.install(key, doc, stored.generation, stored.owner ?? '', stored.state.length);
    })();
    this.loading.set(key, work);
    return work.finally(() => this.loading.delete(key)).then((r) => (r === undefined || 'reason' in r ? r : new YRoomHolder(r)));
  }

  private async create(key: string, owner: string, fields: readonly Attr[], adopt: number | undefined): Promise<YRoomHolder | undefined> {
    const previous = await this.hooks.storage.draft(key);
    // Another joiner may have created it while we looked.
    const raced = this.rooms.get(key);
    if (raced !== undefined && !raced.closing) return new YRoomHolder(raced);
    const generation = adopt ?? (previous?.generation ?? 0) + 1;
    const doc = new Y.Doc();
    if (adopt === undefined) {
      initDraft(doc, { generation, entity: isEntityId(key) ? key : null }, defsOf(fields, this.hooks.schema), (a) =>
        this.committedValue(key, a),
      );
    }
    const state = Y.encodeStateAsUpdate(doc);
    const loaded = this.install(key, doc, generation, owner, state.length);
    this.bump(owner, 1);
    await this.save(loaded);
    return new YRoomHolder(loaded);
  }

  private install(key: string, doc: Y.Doc, generation: number, owner: string, bytes: number): LoadedRoom {
    const limits = this.hooks.limits;
    let loaded: LoadedRoom;
    const room = new YRoom(doc, {
      maxMessageBytes: limits.maxMessageBytes,
      admitUpdate: (update) => {
        if (loaded.bytes + update.length > limits.maxDraftBytes) {
          return { code: CloseCode.DraftTooLarge, reason: `the draft would exceed ${limits.maxDraftBytes} bytes` };
        }
        return null;
      },
      onUpdate: (update) => {
        loaded.bytes += update.length;
        this.scheduleSave(loaded);
      },
    });
    loaded = { key, room, generation, owner, bytes, saveTimer: undefined, idleTimer: undefined, closing: false };
    doc.getMap('meta').observe((event) => {
      if (event.keysChanged.has('closed') && draftMeta(doc).closed !== undefined) queueMicrotask(() => void this.end(loaded));
    });
    this.rooms.set(key, loaded);
    return loaded;
  }

  /** A member closed the draft (committed or discarded): tombstone it and close it for everyone. */
  private async end(loaded: LoadedRoom): Promise<void> {
    if (loaded.closing) return;
    loaded.closing = true;
    const closed = draftMeta(loaded.room.doc).closed as DraftClosed;
    this.clearTimers(loaded);
    this.rooms.delete(loaded.key);
    this.bump(loaded.owner, -1);
    try {
      await this.hooks.storage.putDraft({
        key: loaded.key,
        generation: loaded.generation,
        state: new Uint8Array(),
        owner: loaded.owner,
        closed,
        updatedAt: this.hooks.now(),
      });
    } catch (error) {
      this.hooks.onError(error);
    }
    loaded.room.closeAll(CloseCode.DraftClosed, closeReason(closed));
    loaded.room.destroy();
  }

  private touch(loaded: LoadedRoom): void {
    if (loaded.idleTimer !== undefined) clearTimeout(loaded.idleTimer);
    loaded.idleTimer = undefined;
  }

  private left(loaded: LoadedRoom): void {
    if (loaded.room.size > 0 || loaded.closing) return;
    if (loaded.idleTimer !== undefined) clearTimeout(loaded.idleTimer);
    loaded.idleTimer = unrefTimer(setTimeout(() => void this.unload(loaded), this.hooks.limits.idleUnloadMs));
  }

  private async unload(loaded: LoadedRoom): Promise<void> {
    loaded.idleTimer = undefined;
    if (loaded.room.size > 0 || loaded.closing) return;
    loaded.closing = true;
    this.rooms.delete(loaded.key);
    this.clearTimers(loaded);
    await this.save(loaded);
    loaded.room.destroy();
  }

  private scheduleSave(loaded: LoadedRoom): void {
    if (loaded.saveTimer !== undefined || loaded.closing) return;
    loaded.saveTimer = unrefTimer(
      setTimeout(() => {
        loaded.saveTimer = undefined;
        void this.save(loaded);
      }, this.hooks.limits.saveDelayMs),
    );
  }

  private async save(loaded: LoadedRoom): Promise<void> {
    const record: StoredDraft = {
      key: loaded.key,
      generation: loaded.generation,
      state: Y.encodeStateAsUpdate(loaded.room.doc),
      owner: loaded.owner,
      updatedAt: this.hooks.now(),
    };
    try {
      await this.hooks.storage.putDraft(record);
    } catch (error) {
      this.hooks.onError(error);
    }
  }

  private clearTimers(loaded: LoadedRoom): void {
    if (loaded.saveTimer !== undefined) clearTimeout(loaded.saveTimer);
    if (loaded.idleTimer !== undefined) clearTimeout(loaded.idleTimer);
    loaded.saveTimer = undefined;
    loaded.idleTimer = undefined;
  }

  /** Open rooms in memory (for tests and metrics). */
  get loadedRooms(): number {
    return this.rooms.size;
  }

  /** Saves every room and closes every draft connection with 1001. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.loading.values()]);
    const rooms = [...this.rooms.values()];
    this.rooms.clear();
    for (const loaded of rooms) {
      this.clearTimers(loaded);
      await this.save(loaded);
      loaded.room.closeAll(CloseCode.GoingAway, 'server shutting down');
      loaded.room.destroy();
    }
  }
}

/** Distinguishes a loaded room from a tombstone in one return value. */
class YRoomHolder {
  readonly loaded: LoadedRoom;
  constructor(loaded: LoadedRoom) {
    this.loaded = loaded;
  }
}

/** A WebSocket close reason holds at most 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

/** Why a draft closed, as JSON that fits a close reason: who closed it goes first, then the transaction. */
function closeReason(closed: DraftClosed): string {
  const { by, txId, ...rest } = closed;
  const fits = (reason: string): boolean => new TextEncoder().encode(reason).length <= MAX_CLOSE_REASON_BYTES;
  for (const candidate of [closed, { ...rest, ...(txId === undefined ? {} : { txId }) }, rest]) {
    const reason = JSON.stringify(candidate);
    if (fits(reason)) return reason;
  }
  return JSON.stringify({ reason: closed.reason, at: closed.at });
}

function parseFields(value: string | null, schema: Schema): Attr[] | null {
  if (value === null || value === '') return [];
  const names = value.split(',');
  if (names.length > 200) return null;
  const out: Attr[] = [];
  for (const name of names) {
    const def = schema.attributes.get(name as Attr);
    if (def === undefined || def.name === ENTITY_ID_ATTR) return null;
    if (!out.includes(def.name)) out.push(def.name);
  }
  return out;
}

function union(have: readonly Attr[], more: readonly Attr[], schema: Schema): Attr[] {
  return [...new Set([...have, ...more])].filter((a) => schema.attributes.has(a));
}

function defsOf(fields: readonly Attr[], schema: Schema): AttributeDef[] {
  return fields.flatMap((a) => {
    const def = schema.attributes.get(a);
    return def === undefined ? [] : [def];
  });
}
