/**
 * Yjs as a peer: the same writes as datsync, in the two layouts a datom
 * store would use, with one Yjs transaction per datsync transaction.
 *
 * @module
 */
import * as Y from 'yjs';
import type { Write } from './workload.js';

/** A document with a fixed client id: Yjs otherwise draws one at random, and merges would differ run to run. */
export function newDoc(clientId: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  return doc;
}

export function flatKey(entity: string, attribute: string): string {
  return `${entity}|${attribute}`;
}

/** Flat layout: one Y.Map keyed by `${entity}|${attribute}`. */
export function writeFlat(doc: Y.Doc, batch: readonly Write[]): void {
  const map = doc.getMap<unknown>('datoms');
  doc.transact(() => {
    for (const write of batch) map.set(flatKey(write.entity, write.attribute), write.value);
  });
}

/**
 * Nested layout: one Y.Map per entity, created in a transaction of its own
 * before the writes, so `targets[i][j]` is the map write j of batch i goes to.
 */
export function precreateEntityMaps(doc: Y.Doc, batches: readonly (readonly Write[])[]): Y.Map<unknown>[][] {
  const root = doc.getMap<Y.Map<unknown>>('entities');
  const maps = new Map<string, Y.Map<unknown>>();
  doc.transact(() => {
    for (const batch of batches) {
      for (const write of batch) {
        if (maps.has(write.entity)) continue;
        const map = new Y.Map<unknown>();
        root.set(write.entity, map);
        maps.set(write.entity, map);
      }
    }
  });
  return batches.map((batch) =>
    batch.map((write) => {
      const map = maps.get(write.entity);
      if (map === undefined) throw new Error('entity map missing');
      return map;
    }),
  );
}

export function writeNested(doc: Y.Doc, batch: readonly Write[], targets: readonly Y.Map<unknown>[]): void {
  doc.transact(() => {
    for (let j = 0; j < batch.length; j++) {
      const write = batch[j] as Write;
      (targets[j] as Y.Map<unknown>).set(write.attribute, write.value);
    }
  });
}

/** Both directions of a Yjs delta sync: each side sends what the other's state vector lacks. */
export function exchange(a: Y.Doc, b: Y.Doc): number {
  const vectorA = Y.encodeStateVector(a);
  const vectorB = Y.encodeStateVector(b);
  const toB = Y.encodeStateAsUpdate(a, vectorB);
  const toA = Y.encodeStateAsUpdate(b, vectorA);
  Y.applyUpdate(b, toB);
  Y.applyUpdate(a, toA);
  return toB.length + toA.length;
}

/** Whether two documents show the same flat map, whatever order each inserted the keys in. */
export function sameFlatContent(a: Y.Doc, b: Y.Doc): boolean {
  const left = a.getMap<unknown>('datoms');
  const right = b.getMap<unknown>('datoms');
  if (left.size !== right.size) return false;
  for (const [key, value] of left.entries()) if (right.get(key) !== value) return false;
  return true;
}

/** JSON with object keys sorted: documents that inserted keys in different orders still compare equal. */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${sortedJson(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sameStateVector(a: Y.Doc, b: Y.Doc): boolean {
  return bytesEqual(Y.encodeStateVector(a), Y.encodeStateVector(b));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
