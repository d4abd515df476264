/**
 * A canonical text for query results, so a reactive query can tell whether
 * its result really changed. Relations and collections are sets: their
 * members are sorted, so DataScript's iteration order does not matter.
 *
 * @module
 */
import type { FindShape } from '../query/dependencies.js';

function encode(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isNaN(value) ? 'NaN' : String(value === 0 ? 0 : value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    default:
      break;
  }
  if (value instanceof Date) return `#inst ${value.getTime()}`;
  if (Array.isArray(value)) return `[${value.map(encode).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${encode(obj[key])}`)
      .join(',')}}`;
  }
  return String(value);
}

export function canonicalResult(result: unknown, shape: FindShape | 'pull'): string {
  if ((shape === 'relation' || shape === 'collection') && Array.isArray(result)) {
    return `#{${result.map(encode).sort().join(',')}}`;
  }
  return encode(result);
}
