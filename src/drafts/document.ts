/**
 * The layout of a draft's Yjs document, which the client and the server
 * (and any stock y-websocket peer) share:
 *
 *   meta    Y.Map   generation: number, entity: string | null, fields: string[], closed?: DraftClosed
 *   base    Y.Map   attribute → the committed value the draft started from
 *                   (cardinality one: encoded value, absent for none; many: encoded[])
 *   fields  Y.Map   attribute → the draft's value:
 *                   string, cardinality one → Y.Text (empty text: no value)
 *                   other, cardinality one  → encoded value (absent: no value)
 *                   cardinality many        → Y.Map canonical key → encoded value (a set)
 *
 * Values are encoded as JSON Yjs can hold: strings, numbers and booleans as
 * they are, `{ $bigint: "…" }`, `{ $json: … }`; refs are entity ids.
 *
 * Only whoever creates a generation initialises it (the server; a client only
 * for a draft opened offline, which stays its own until bound): two
 * independent initialisations of one document would duplicate text once
 * merged.
 *
 * @module
 */
import * as Y from 'yjs';
import type { Attr, JsonValue, Value } from '../../crdt/index.js';
import { canonicalJson, compareValues, fitsType, valuesEqual } from '../../crdt/index.js';
import type { DraftClosed } from '../../storage/contract.js';
import type { AttributeDef } from '../schema.js';

/** A field's value in a draft: one value (or none) for cardinality one, a sorted list for many. */
export type DraftValue = Value | readonly Value[] | undefined;

export type FieldKind = 'text' | 'value' | 'set';

export interface DraftMeta {
  readonly generation: number;
  /** The entity the draft edits; null for an entity that does not exist yet. */
  readonly entity: string | null;
  readonly fields: readonly Attr[];
  readonly closed: DraftClosed | undefined;
}

type Encoded = string | number | boolean | { readonly $bigint: string } | { readonly $json: JsonValue };

export function fieldKind(def: AttributeDef): FieldKind {
  if (def.cardinality === 'many') return 'set';
  return def.valueType === 'string' ? 'text' : 'value';
}

export function encodeDraftValue(value: Value): Encoded {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return { $json: value };
}

/** Decodes a value a peer wrote; anything that does not fit the attribute reads as no value. */
export function decodeDraftValue(encoded: unknown, def: AttributeDef): Value | undefined {
  let value: unknown = encoded;
  if (typeof encoded === 'object' && encoded !== null && !Array.isArray(encoded)) {
    const tagged = encoded as { $bigint?: unknown; $json?: unknown };
    if (typeof tagged.$bigint === 'string' && /^-?\d{1,4096}$/.test(tagged.$bigint)) value = BigInt(tagged.$bigint);
    else if ('$json' in tagged) value = tagged.$json;
    else return undefined;
  } else if (def.valueType === 'json') {
    // A bare JSON scalar is a JSON value too.
    value = encoded;
  }
  return fitsType(def.valueType, value) ? value : undefined;
}

/** A set member's key: equal values (by the core's equality) have equal keys. */
function memberKey(value: Value): string {
  return canonicalJson(encodeDraftValue(value) as JsonValue);
}

/** A set's members, valid ones only, sorted (a JSON array member stays one member). */
function decodeMembers(encoded: Iterable<unknown>, def: AttributeDef): Value[] {
  const out: Value[] = [];
  for (const item of encoded) {
    const value = decodeDraftValue(item, def);
    if (value !== undefined) out.push(value);
  }
  return out.sort(compareValues);
}

export function draftMeta(doc: Y.Doc): DraftMeta {
  const meta = doc.getMap('meta');
  const generation = meta.get('generation');
  const entity = meta.get('entity');
  const fields = meta.get('fields');
  const closed = meta.get('closed');
  return {
    generation: typeof generation === 'number' ? generation : 0,
    entity: typeof entity === 'string' ? entity : null,
    fields: Array.isArray(fields) ? (fields.filter((f) => typeof f === 'string') as Attr[]) : [],
    closed: typeof closed === 'object' && closed !== null ? (closed as DraftClosed) : undefined,
  };
}

/** Creates a draft's first state (the creator of a generation only). */
export function initDraft(
  doc: Y.Doc,
  init: { readonly generation: number; readonly entity: string | null },
  defs: readonly AttributeDef[],
  base: (attribute: Attr) => DraftValue,
): void {
  doc.transact(() => {
    const meta = doc.getMap('meta');
    meta.set('generation', init.generation);
    meta.set('entity', init.entity);
    meta.set('fields', []);
    addFields(doc, defs, base);
  }, 'init');
}

/** Adds fields the draft does not have yet, starting from `base` (a later editor may want more fields). */
export function addFields(doc: Y.Doc, defs: readonly AttributeDef[], base: (attribute: Attr) => DraftValue): Attr[] {
  const meta = doc.getMap('meta');
  const have = new Set(draftMeta(doc).fields);
  const added = defs.filter((def) => !have.has(def.name));
  if (added.length === 0) return [];
  doc.transact(() => {
    const baseMap = doc.getMap('base');
    const fields = doc.getMap('fields');
    for (const def of added) {
      const value = base(def.name);
      const kind = fieldKind(def);
      if (kind === 'set') {
        const values = Array.isArray(value) ? (value as Value[]) : [];
        baseMap.set(def.name, values.map(encodeDraftValue) as never);
        const set = new Y.Map<Encoded>();
        for (const member of values) set.set(memberKey(member), encodeDraftValue(member));
        fields.set(def.name, set);
      } else {
        const single = value as Value | undefined;
        if (single !== undefined) baseMap.set(def.name, encodeDraftValue(single) as never);
        if (kind === 'text') fields.set(def.name, new Y.Text(typeof single === 'string' ? single : ''));
        else if (single !== undefined) fields.set(def.name, encodeDraftValue(single) as never);
      }
    }
    meta.set('fields', [...have, ...added.map((def) => def.name)]);
  }, 'init');
  return added.map((def) => def.name);
}

export function baseValue(doc: Y.Doc, def: AttributeDef): DraftValue {
  const encoded = doc.getMap('base').get(def.name);
  if (def.cardinality === 'many') {
    return Array.isArray(encoded) ? decodeMembers(encoded, def) : [];
  }
  return decodeDraftValue(encoded, def);
}

export function fieldValue(doc: Y.Doc, def: AttributeDef): DraftValue {
  const field = doc.getMap('fields').get(def.name);
  const kind = fieldKind(def);
  if (kind === 'text') {
    const text = field instanceof Y.Text ? field.toString() : '';
    return text === '' ? undefined : text;
  }
  if (kind === 'set') {
    if (!(field instanceof Y.Map)) return [];
    return decodeMembers(field.values(), def);
  }
  return field instanceof Y.AbstractType ? undefined : decodeDraftValue(field, def);
}

export function draftValuesEqual(def: AttributeDef, a: DraftValue, b: DraftValue): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (def.cardinality === 'many') {
    const left = a as readonly Value[];
    const right = b as readonly Value[];
    return left.length === right.length && left.every((value, i) => valuesEqual(value, right[i] as Value));
  }
  return valuesEqual(a as Value, b as Value);
}

/** The shared text of a string field (for binding an editor to it). */
export function fieldText(doc: Y.Doc, def: AttributeDef): Y.Text | undefined {
  const field = doc.getMap('fields').get(def.name);
  return field instanceof Y.Text ? field : undefined;
}

/** Sets a field to `value`; text changes by the smallest edit, so co-editors' cursors and edits elsewhere survive. */
export function setFieldValue(doc: Y.Doc, def: AttributeDef, value: DraftValue, origin: unknown): void {
  doc.transact(() => {
    const fields = doc.getMap('fields');
    const kind = fieldKind(def);
    if (kind === 'text') {
      const text = fieldText(doc, def);
      if (text === undefined) fields.set(def.name, new Y.Text(typeof value === 'string' ? value : ''));
      else replaceText(text, typeof value === 'string' ? value : '');
    } else if (kind === 'set') {
      let set = fields.get(def.name);
      if (!(set instanceof Y.Map)) {
        set = new Y.Map();
        fields.set(def.name, set);
      }
      const members = set as Y.Map<Encoded>;
      const wanted = new Map((Array.isArray(value) ? (value as Value[]) : []).map((v) => [memberKey(v), v] as const));
      for (const key of [...members.keys()]) if (!wanted.has(key)) members.delete(key);
      for (const [key, member] of wanted) if (!members.has(key)) members.set(key, encodeDraftValue(member));
    } else if (value === undefined) fields.delete(def.name);
    else fields.set(def.name, encodeDraftValue(value as Value) as never);
  }, origin);
}

/** Adds or removes one member of a cardinality-many field (concurrent add and remove: the later wins). */
export function changeMember(doc: Y.Doc, def: AttributeDef, value: Value, present: boolean, origin: unknown): void {
  doc.transact(() => {
    const fields = doc.getMap('fields');
    let set = fields.get(def.name);
    if (!(set instanceof Y.Map)) {
      set = new Y.Map();
      fields.set(def.name, set);
    }
    const members = set as Y.Map<Encoded>;
    if (present) members.set(memberKey(value), encodeDraftValue(value));
    else members.delete(memberKey(value));
  }, origin);
}

/** Moves a field's base to `current` (the draft was rebased on the entity as it is now). */
export function setBase(doc: Y.Doc, def: AttributeDef, current: DraftValue, origin: unknown): void {
  doc.transact(() => {
    const base = doc.getMap('base');
    if (def.cardinality === 'many') base.set(def.name, (Array.isArray(current) ? (current as Value[]) : []).map(encodeDraftValue) as never);
    else if (current === undefined) base.delete(def.name);
    else base.set(def.name, encodeDraftValue(current as Value) as never);
  }, origin);
}

export function markClosed(doc: Y.Doc, closed: DraftClosed, origin: unknown): void {
  doc.transact(() => doc.getMap('meta').set('closed', closed as never), origin);
}

/** Replaces a text's content by the smallest single edit (common prefix and suffix kept). */
export function replaceText(text: Y.Text, next: string): void {
  const current = text.toString();
  if (current === next) return;
  let start = 0;
  const max = Math.min(current.length, next.length);
  while (start < max && current.charCodeAt(start) === next.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && current.charCodeAt(current.length - 1 - end) === next.charCodeAt(next.length - 1 - end)) end++;
  // Never split a surrogate pair: step back over a high surrogate left at the edge.
  if (start > 0 && isHighSurrogate(current.charCodeAt(start - 1))) start--;
  if (end > 0 && isLowSurrogate(current.charCodeAt(current.length - end))) end--;
  const removed = current.length - start - end;
  if (removed > 0) text.delete(start, removed);
  const inserted = next.slice(start, next.length - end);
  if (inserted.length > 0) text.insert(start, inserted);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
