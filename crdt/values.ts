/**
 * Attribute values, their types, and the one equality the core uses.
 *
 * Numbers compare as DataScript compares them, SameValueZero: `NaN` equals
 * `NaN` and `-0` equals `0` (so a set never holds both, and retracting `0`
 * retracts `-0`). The encoding still keeps `-0` exact: a register that holds
 * `-0` shows `-0`. JSON values compare structurally.
 *
 * @module
 */
import { DatsyncError, ErrorCode } from './errors.js';
import { isEntityId } from './ids.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** What the core stores. Instants are milliseconds since the epoch; refs are entity ids. */
export type Value = string | number | bigint | boolean | JsonValue;

export const ValueType = {
  String: 'string',
  Number: 'number',
  BigInt: 'bigint',
  Boolean: 'boolean',
  Instant: 'instant',
  Ref: 'ref',
  Json: 'json',
  /** Any string, number, bigint or boolean (DataScript's untyped attribute). */
  Any: 'any',
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

export const VALUE_TYPES: readonly ValueType[] = Object.values(ValueType);

/** Nesting deeper than this is refused: it guards every recursive walk. */
export const MAX_JSON_DEPTH = 32;
/** The most decimal digits a big integer may have (so every accepted value also decodes). */
export const MAX_BIGINT_DIGITS = 4096;

function fitsBigInt(value: bigint): boolean {
  const digits = value < 0n ? value.toString().length - 1 : value.toString().length;
  return digits <= MAX_BIGINT_DIGITS;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Throws `invalid-value` unless `value` fits `type`. The message names the
 * expected and actual type, never the value itself.
 */
export function checkValue(type: ValueType, value: unknown, attribute: string): asserts value is Value {
  if (!fitsType(type, value)) {
    throw new DatsyncError(ErrorCode.InvalidValue, `attribute ${attribute} expects a value of type ${type}, got ${describe(value)}`, {
      attribute,
      expected: type,
      actual: describe(value),
    });
  }
}

export function fitsType(type: ValueType, value: unknown): value is Value {
  switch (type) {
    case ValueType.String:
      return typeof value === 'string';
    case ValueType.Number:
      return typeof value === 'number';
    case ValueType.BigInt:
      return typeof value === 'bigint' && fitsBigInt(value);
    case ValueType.Boolean:
      return typeof value === 'boolean';
    case ValueType.Instant:
      return typeof value === 'number' && Number.isFinite(value);
    case ValueType.Ref:
      return isEntityId(value);
    case ValueType.Json:
      // null is "no value" (DataScript stores none): retract instead. Inside a structure it is fine.
      return value !== null && isJsonValue(value, 0);
    case ValueType.Any:
      return (
        typeof value === 'string' ||
        typeof value === 'number' ||
        (typeof value === 'bigint' && fitsBigInt(value)) ||
        typeof value === 'boolean'
      );
    default: {
      const never: never = type;
      return never;
    }
  }
}

/** A container may sit at depth 0 to MAX_JSON_DEPTH - 1, exactly what the encoding accepts. */
function isJsonValue(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return true;
  if (typeof value === 'object' && depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    for (const key of Object.keys(value)) {
      if (!isJsonValue((value as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return true;
  }
  return false;
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return jsonEqual(a, b);
}

function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] as JsonValue, b[i] as JsonValue)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const objA = a as { readonly [key: string]: JsonValue };
  const objB = b as { readonly [key: string]: JsonValue };
  const keysA = Object.keys(objA);
  if (keysA.length !== Object.keys(objB).length) return false;
  for (const key of keysA) {
    if (!Object.hasOwn(objB, key) || !jsonEqual(objA[key] as JsonValue, objB[key] as JsonValue)) return false;
  }
  return true;
}

const typeRank = { boolean: 0, number: 1, bigint: 2, string: 3, object: 4 } as const;

/**
 * A total order on values, used only to make encodings and listings
 * deterministic (never to pick a winner).
 */
export function compareValues(a: Value, b: Value): number {
  const ta = typeRank[typeof a as keyof typeof typeRank] ?? 5;
  const tb = typeRank[typeof b as keyof typeof typeRank] ?? 5;
  if (ta !== tb) return ta - tb;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    if (a === b) return Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1;
    return a < b ? -1 : 1;
  }
  if (typeof a === 'object' || typeof b === 'object') {
    const sa = canonicalJson(a as JsonValue);
    const sb = canonicalJson(b as JsonValue);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with sorted keys, -0 and non-finite numbers spelled out: a comparison key, not JSON to parse. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    // String() spells NaN and the infinities as bare words, distinct from any JSON string.
    return Object.is(value, -0) ? '-0' : String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as { readonly [key: string]: JsonValue };
  return `{${Object.keys(obj)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(obj[key] as JsonValue)}`)
    .join(',')}}`;
}
