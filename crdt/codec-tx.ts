/**
 * Transactions in binary. A batch writes each replica id, entity id and
 * attribute name once, in tables, and then refers to them by index, so an op
 * costs a few bytes plus its value.
 *
 * Layout: format byte, three string tables (replicas, entities, attributes),
 * then per transaction: replica index, counter, hlc, op count, and per op:
 * offset gap, entity index, attribute index, flags (kind, has value,
 * supersedes count), value, supersedes dots.
 *
 * @module
 */

import { readValue, writeValue } from './codec-value.js';
import { Decoder, Encoder } from './encoding.js';
import type { Hlc } from './hlc.js';
import type { Attr, Dot, EntityId, ReplicaId } from './ids.js';
import type { Op, Transaction } from './op.js';
import { OpKind } from './op.js';

const FORMAT = 1;
const FLAG_RETRACT = 1;
const FLAG_VALUE = 2;
const INLINE_SUPERSEDES = 63;

/** Assigns each distinct string an index in order of first use. */
export class StringTable {
  private readonly index = new Map<string, number>();
  readonly items: string[] = [];
  /** About the bytes the items take written (their lengths, plus one each for the length). */
  bytes = 0;

  add(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.items.length;
      this.index.set(value, i);
      this.items.push(value);
      this.bytes += value.length + 1;
    }
    return i;
  }

  write(encoder: Encoder): void {
    encoder.varUint(this.items.length);
    for (const item of this.items) encoder.string(item);
  }
}

/** Keeps the layout of string tables, which live for one call, alive: see `LAYOUT_ANCHORS` in encoding.ts. */
export const STRING_TABLE_ANCHOR: object = new StringTable();

export function readStringTable(decoder: Decoder): string[] {
  const n = decoder.count(1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(decoder.string());
  return out;
}

export function pick<T extends string>(decoder: Decoder, table: readonly string[]): T {
  const value = table[decoder.varUint()];
  if (value === undefined) decoder.fail('table index out of range');
  return value as T;
}

/**
 * Scratch space for `encodeTransactions`: the table indexes of each op of the
 * batch being encoded, kept between calls (encoding is synchronous and never
 * nested) so that batches up to `SCRATCH_OPS` ops allocate nothing for them.
 */
const SCRATCH_OPS = 4096;
const entityIndexes = new Uint32Array(SCRATCH_OPS);
const attributeIndexes = new Uint32Array(SCRATCH_OPS);

export function encodeTransactions(txs: readonly Transaction[]): Uint8Array {
  const replicas = new StringTable();
  const entities = new StringTable();
  const attributes = new StringTable();
  let opCount = 0;
  for (const tx of txs) opCount += tx.ops.length;
  // Each op's table indexes, found once: the tables are written before the ops that refer to them.
  const small = opCount <= SCRATCH_OPS;
  const entityAt = small ? entityIndexes : new Uint32Array(opCount);
  const attributeAt = small ? attributeIndexes : new Uint32Array(opCount);
  let at = 0;
  // An entity's ops usually come together: its index is looked up once per run of them.
  let lastEntity: string | undefined;
  let lastEntityIndex = 0;
  for (const tx of txs) {
    replicas.add(tx.replica);
    for (const op of tx.ops) {
      if (op.entity !== lastEntity) {
        lastEntity = op.entity;
        lastEntityIndex = entities.add(op.entity);
      }
      entityAt[at] = lastEntityIndex;
      attributeAt[at] = attributes.add(op.attribute);
      at++;
      for (const dot of op.supersedes) replicas.add(dot.replica);
    }
  }
  // Room for the tables, headers and small values at once: most batches then never grow the buffer.
  const encoder = new Encoder(64 + replicas.bytes + entities.bytes + attributes.bytes + txs.length * 24 + opCount * 16);
  encoder.uint8(FORMAT);
  replicas.write(encoder);
  entities.write(encoder);
  attributes.write(encoder);
  encoder.varUint(txs.length);
  at = 0;
  for (const tx of txs) {
    encoder.varUint(replicas.add(tx.replica));
    encoder.varUint(tx.counter);
    encoder.varUint(tx.hlc);
    encoder.varUint(tx.ops.length);
    let previous = -1;
    for (const op of tx.ops) {
      encoder.varUint(op.offset - previous - 1);
      previous = op.offset;
      encoder.varUint(entityAt[at] as number);
      encoder.varUint(attributeAt[at] as number);
      at++;
      const n = op.supersedes.length;
      let flags = (op.kind === OpKind.Retract ? FLAG_RETRACT : 0) | (op.value !== undefined ? FLAG_VALUE : 0);
      flags |= Math.min(n, INLINE_SUPERSEDES) << 2;
      encoder.uint8(flags);
      if (n >= INLINE_SUPERSEDES) encoder.varUint(n - INLINE_SUPERSEDES);
      if (op.value !== undefined) writeValue(encoder, op.value);
      for (const dot of op.supersedes) {
        encoder.varUint(replicas.add(dot.replica));
        encoder.varUint(dot.counter);
      }
    }
  }
  return encoder.finish();
}

/** The `supersedes` of every decoded op that replaces nothing (most of a catch-up): one frozen list, not one each. */
const NO_DOTS: readonly Dot[] = Object.freeze([]);

/**
 * Decodes a batch. Structure is checked here (`invalid-encoding`); meaning
 * (attributes, value types, dots) is checked by `validateTransaction`.
 */
export function decodeTransactions(bytes: Uint8Array): Transaction[] {
  const decoder: Decoder = new Decoder(bytes);
  if (decoder.uint8() !== FORMAT) decoder.fail('unknown transaction format');
  const replicas = readStringTable(decoder);
  const entities = readStringTable(decoder);
  const attributes = readStringTable(decoder);
  const count = decoder.count(4);
  const txs: Transaction[] = [];
  for (let t = 0; t < count; t++) {
    const replica = pick<ReplicaId>(decoder, replicas);
    const counter = decoder.varUint();
    const hlc = decoder.varUint() as Hlc;
    const opCount = decoder.count(4);
    const ops: Op[] = [];
    let previous = -1;
    for (let i = 0; i < opCount; i++) {
      const offset = previous + 1 + decoder.varUint();
      previous = offset;
      const entity = pick<EntityId>(decoder, entities);
      const attribute = pick<Attr>(decoder, attributes);
      const flags = decoder.uint8();
      let n = flags >> 2;
      if (n === INLINE_SUPERSEDES) n += decoder.count(2);
      const value = (flags & FLAG_VALUE) !== 0 ? readValue(decoder) : undefined;
      let supersedes: readonly Dot[] = NO_DOTS;
      if (n > 0) {
        const dots: Dot[] = [];
        for (let k = 0; k < n; k++) {
          const dotReplica = pick<ReplicaId>(decoder, replicas);
          dots.push({ replica: dotReplica, counter: decoder.varUint() });
        }
        supersedes = dots;
      }
      ops.push({ offset, entity, attribute, kind: (flags & FLAG_RETRACT) !== 0 ? OpKind.Retract : OpKind.Assert, value, supersedes });
    }
    txs.push({ replica, counter, hlc, ops });
  }
  if (!decoder.done) decoder.fail('trailing bytes after the last transaction');
  return txs;
}
