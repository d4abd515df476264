/**
 * JSON values inside DataScript.
 *
 * DataScript (through Closure's `goog.getUid`) orders and compares plain
 * objects by a hidden id it writes onto them as an ordinary, enumerable
 * property: it would mutate our stored values, show up in pulls, and make a
 * retraction match only the very same object. So each distinct JSON value is
 * projected as one interned, frozen copy that already carries that id as a
 * non-enumerable property: equal values are the same object, the id never
 * shows, and nothing of ours is mutated.
 *
 * @module
 */
import type { JsonValue } from '../../crdt/index.js';
import { canonicalJson } from '../../crdt/index.js';
import { initDb } from '../datascript/index.js';

/** The name of the property `goog.getUid` writes, found by letting DataScript compare two probes. */
function discoverUidProperty(): string | undefined {
  const probes = [{ probe: 1 }, { probe: 2 }];
  initDb(
    probes.map((probe) => [1, 'probe', probe, 536870913] as const),
    { probe: { ':db/cardinality': ':db.cardinality/many' } },
  );
  for (const probe of probes) {
    const name = Object.keys(probe).find((key) => key.startsWith('closure_uid_'));
    if (name !== undefined) return name;
  }
  return undefined;
}

const UID_PROPERTY = discoverUidProperty();
/** Above any id Closure's own counter will reach, so the ids never collide. */
let nextUid = 2 ** 40;
const interned = new Map<string, WeakRef<object>>();
const cleanup = new FinalizationRegistry<string>((key) => {
  if (interned.get(key)?.deref() === undefined) interned.delete(key);
});

function frozenCopy(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  const copy: JsonValue = Array.isArray(value)
    ? value.map(frozenCopy)
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, frozenCopy(item as JsonValue)]));
  if (UID_PROPERTY !== undefined) Object.defineProperty(copy, UID_PROPERTY, { value: nextUid++, enumerable: false });
  return Object.freeze(copy);
}

/** The one frozen object that stands for `value` in DataScript. */
export function internJson(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  const key = canonicalJson(value);
  const existing = interned.get(key)?.deref();
  if (existing !== undefined) return existing as JsonValue;
  const copy = frozenCopy(value) as object;
  interned.set(key, new WeakRef(copy));
  cleanup.register(copy, key);
  return copy as JsonValue;
}
