/**
 * Values in binary: a one-byte tag, then the payload. Deterministic (object
 * keys are written sorted, NaN has one bit pattern) and exact (-0, NaN,
 * infinities, subnormals, big integers and any string round-trip).
 *
 * @module
 */
import type { Decoder, Encoder } from './encoding.js';
import { DatsyncError, ErrorCode } from './errors.js';
import type { JsonValue, Value } from './values.js';
import { MAX_BIGINT_DIGITS, MAX_JSON_DEPTH } from './values.js';

const Tag = {
  String: 0,
  Int: 1,
  Float: 2,
  False: 3,
  True: 4,
  BigInt: 5,
  Null: 6,
  Array: 7,
  Object: 8,
} as const;

const bigintPattern = /^-?[0-9]+$/;

export function writeValue(encoder: Encoder, value: Value): void {
  writeAt(encoder, value, 0);
}

function writeAt(encoder: Encoder, value: Value, depth: number): void {
  switch (typeof value) {
    case 'string':
      encoder.uint8(Tag.String);
      encoder.string(value);
      return;
    case 'number':
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
        encoder.uint8(Tag.Int);
        encoder.varInt(value);
      } else {
        encoder.uint8(Tag.Float);
        encoder.float64(value);
      }
      return;
    case 'boolean':
      encoder.uint8(value ? Tag.True : Tag.False);
      return;
    case 'bigint':
      encoder.uint8(Tag.BigInt);
      encoder.string(value.toString());
      return;
    default:
      break;
  }
  if (value === null) {
    encoder.uint8(Tag.Null);
    return;
  }
  if (depth >= MAX_JSON_DEPTH) throw new DatsyncError(ErrorCode.InvalidValue, `value nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    encoder.uint8(Tag.Array);
    encoder.varUint(value.length);
    for (const item of value) writeAt(encoder, item as JsonValue, depth + 1);
    return;
  }
  const object = value as { readonly [key: string]: JsonValue };
  const keys = Object.keys(object).sort();
  encoder.uint8(Tag.Object);
  encoder.varUint(keys.length);
  for (const key of keys) {
    encoder.string(key);
    writeAt(encoder, object[key] as JsonValue, depth + 1);
  }
}

export function readValue(decoder: Decoder): Value {
  return readAt(decoder, 0);
}

function readAt(decoder: Decoder, depth: number): Value {
  const tag = decoder.uint8();
  switch (tag) {
    case Tag.String:
      return decoder.string();
    case Tag.Int:
      return decoder.varInt();
    case Tag.Float:
      return decoder.float64();
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.BigInt: {
      const text = decoder.string();
      const digits = text.startsWith('-') ? text.length - 1 : text.length;
      if (digits > MAX_BIGINT_DIGITS || !bigintPattern.test(text)) decoder.fail('malformed big integer');
      return BigInt(text);
    }
    case Tag.Null:
      return null;
    case Tag.Array: {
      if (depth >= MAX_JSON_DEPTH) decoder.fail('value nested too deeply');
      const n = decoder.count(1);
      const out: JsonValue[] = [];
      for (let i = 0; i < n; i++) out.push(readJson(decoder, depth + 1));
      return out;
    }
    case Tag.Object: {
      if (depth >= MAX_JSON_DEPTH) decoder.fail('value nested too deeply');
      const n = decoder.count(2);
      const out: Record<string, JsonValue> = {};
      let previous: string | undefined;
      for (let i = 0; i < n; i++) {
        const key = decoder.string();
        if (previous !== undefined && key <= previous) decoder.fail('object keys out of order');
        previous = key;
        const item = readJson(decoder, depth + 1);
        // "__proto__" must stay an own key, not replace the prototype.
        if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
        else out[key] = item;
      }
      return out;
    }
    default:
      return decoder.fail(`unknown value tag ${tag}`);
  }
}

function readJson(decoder: Decoder, depth: number): JsonValue {
  const value = readAt(decoder, depth);
  if (typeof value === 'bigint') decoder.fail('big integer inside a JSON value');
  return value;
}
