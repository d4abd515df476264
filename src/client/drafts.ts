/**
 * Opening drafts, checking what the application asks for first.
 *
 * @module
 */
import type { Attr, EntityId, Value } from '../../crdt/index.js';
import { checkValue, compareValues, DatsyncError, ErrorCode, isEntityId } from '../../crdt/index.js';
import type { Storage } from '../../storage/contract.js';
import type { DraftValue } from '../drafts/document.js';
import type { AttributeDef, Schema } from '../schema.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import { Draft } from './draft.js';
import type { DraftHost } from './draft-host.js';
import { DraftLink } from './draft-link.js';
import type { TxReport } from './replica.js';
import type { ConnectionStatus, SyncOptions } from './sync.js';
import { defaultScheduler } from './sync.js';
import type { TxData } from './tx-forms.js';

export interface OpenDraftOptions {
  /**
   * The fields the form edits. For an existing entity, by default the
   * attributes it has now; a new entity's draft needs them.
   */
  readonly fields?: readonly string[];
  /** How co-editors see this editor; without it, this editor is invisible in `presence()`. */
  readonly presence?: { readonly name: string; readonly color?: string };
  /** Joins a new entity's draft a co-editor opened (its `id`, "new-…"). */
  readonly key?: string;
}

const NEW_KEY = /^new-[A-Za-z0-9_-]{8,64}$/;

function invalid(message: string): never {
  throw new DatsyncError(ErrorCode.InvalidValue, `openDraft: ${message}`);
}

function fieldDefs(schema: Schema, fields: readonly string[]): AttributeDef[] {
  if (!Array.isArray(fields) || fields.length > 200) invalid('fields must be a list of at most 200 attribute names');
  const defs: AttributeDef[] = [];
  for (const name of fields) {
    const def = typeof name === 'string' ? schema.attributes.get(name as Attr) : undefined;
    if (def === undefined || def.name === ENTITY_ID_ATTR) {
      throw new DatsyncError(ErrorCode.UnknownAttribute, `openDraft: ${String(name)} is not an attribute of the schema`, {
        attribute: String(name),
      });
    }
    if (!defs.includes(def)) defs.push(def);
  }
  return defs;
}

function randomKey(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12));
  let out = 'new-';
  for (const byte of bytes) out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[byte & 63];
  return out;
}

/** Opens the draft of `entity`, or of a new entity (null), as `client.openDraft` documents. */
export async function openDraft(
  host: DraftHost,
  entity: EntityId | null,
  options: OpenDraftOptions,
  attributesOf: (entity: EntityId) => readonly string[],
): Promise<Draft> {
  if (entity !== null && !isEntityId(entity)) invalid('entity must be an entity id (or null for a new entity)');
  if (options.key !== undefined && (entity !== null || typeof options.key !== 'string' || !NEW_KEY.test(options.key))) {
    invalid('key joins a new entity\'s draft: pass null as the entity and the draft\'s "new-…" id');
  }
  const presence = options.presence;
  if (presence !== undefined && (typeof presence.name !== 'string' || presence.name.length === 0 || presence.name.length > 100)) {
    invalid('presence.name must be 1 to 100 characters');
  }
  const requested = options.fields ?? (entity === null ? undefined : attributesOf(entity));
  if (requested === undefined || requested.length === 0) invalid("a new entity's draft needs its fields");
  const defs = fieldDefs(host.schema, requested);
  const key = entity ?? options.key ?? randomKey();
  const link = await DraftLink.open(host, key, defs, entity);
  return new Draft(host, key, defs, link, presence);
}

/** Checks a value for a field: one value (or undefined) for cardinality one, a list for many. */
export function checkFieldValue(def: AttributeDef, value: DraftValue): void {
  if (value === undefined) return;
  if (def.cardinality === 'many') {
    if (!Array.isArray(value))
      throw new DatsyncError(ErrorCode.InvalidValue, `${def.name} holds a set: pass a list`, { attribute: def.name });
    for (const member of value as unknown[]) checkValue(def.valueType, member, def.name);
    return;
  }
  checkValue(def.valueType, value, def.name);
}

/** What the client lends its drafts. */
export interface DraftHostParts {
  readonly storage: Storage;
  readonly schema: Schema;
  values(entity: EntityId, attribute: Attr): Value[];
  transact(txData: TxData): Promise<TxReport>;
  now(): number;
  error(error: unknown): void;
  /** The client's sync options (undefined: no server). */
  syncOptions(): SyncOptions | undefined;
  online(): boolean;
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
}

/** Drafts are served beside the sync endpoint: `…/sync` → `…/drafts/<key>`. */
export function draftUrl(syncUrl: string, key: string, params: URLSearchParams): string {
  const url = new URL(syncUrl);
  const base = url.pathname.endsWith('/sync') ? url.pathname.slice(0, -'/sync'.length) : url.pathname.replace(/\/$/, '');
  url.pathname = `${base}/drafts/${encodeURIComponent(key)}`;
  url.search = params.toString();
  return url.toString();
}

export function createDraftHost(parts: DraftHostParts): DraftHost {
  return {
    storage: parts.storage,
    schema: parts.schema,
    current: (entity, def) => {
      const values = parts.values(entity, def.name);
      // A set in the order drafts keep theirs, so that equal sets compare equal.
      return def.cardinality === 'many' ? [...values].sort(compareValues) : values[0];
    },
    checkFieldValue,
    transact: (txData) => parts.transact(txData),
    now: () => parts.now(),
    safely: (callback) => {
      try {
        callback();
      } catch (error) {
        parts.error(error);
      }
    },
    error: (error) => parts.error(error),
    channel: (key, params) => {
      const options = parts.syncOptions();
      if (options === undefined) return undefined;
      const token = options.token;
      return {
        url: async () => {
          const query = new URLSearchParams(params);
          const value = typeof token === 'function' ? await token() : token;
          if (value !== undefined) query.set('token', value);
          return draftUrl(options.url, key, query);
        },
        WebSocket: options.WebSocket,
        scheduler: options.scheduler ?? defaultScheduler,
        initialBackoffMs: options.initialBackoffMs,
        maxBackoffMs: options.maxBackoffMs,
      };
    },
    get online() {
      return parts.online();
    },
    onOnline: (listener) =>
      parts.onStatus((status) => {
        if (status === 'live') listener();
      }),
  };
}

/** Drafts committed or discarded here whose close the server has not confirmed: tell it now. */
export async function deliverPendingCloses(host: DraftHost): Promise<void> {
  for (const summary of await host.storage.drafts()) {
    if (summary.closed === undefined || summary.bytes === 0) continue;
    const defs: AttributeDef[] = [];
    await DraftLink.resumeClose(host, summary.key, defs);
  }
}
