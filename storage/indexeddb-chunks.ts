/**
 * The IndexedDB log's records: chunks of consecutive log records, their
 * transactions held together as columns (layout 2 and up; layout 1 wrote the
 * core's binary encoding, which is still read).
 *
 * @module
 */
import type { Attr, Dot, EntityId, Hlc, Op, ReplicaId, Transaction, Value } from '../crdt/index.js';
import {
  DatsyncError,
  Decoder,
  decodeTransactions,
  Encoder,
  ErrorCode,
  OpKind,
  readValue,
  StringTable,
  transactionId,
  writeValue,
} from '../crdt/index.js';
import type { LogRecord } from './contract.js';

/**
 * About the bytes a chunk's structured clone may take, unless one transaction
 * alone takes more. A bulk commit is written as several chunks, not one: a
 * clone above 64 KiB leaves Chromium's database for a blob file of its own,
 * which costs more per op to write than records of some tens of kilobytes
 * written together (one record per datom costs far more again).
 */
export const CHUNK_BYTES = 48 * 1024;

export interface Chunk {
  readonly last: number;
  readonly positions: readonly number[];
  readonly txIds: readonly string[];
  /** Layout 1: the transactions in the core's binary encoding. */
  readonly data?: Uint8Array;
  /** Layout 2 writes this instead (and reads both). */
  readonly columns?: LogColumns;
}

/**
 * A log chunk's transactions as columns: typed arrays and arrays of strings,
 * which structured clone copies nearly as fast as bytes. Writing and reading
 * them costs a fraction of the binary encoding, whose per-character work in
 * JavaScript dominates a bulk commit (in Chromium, about half its time).
 * Values other than strings and numbers go through the core's value codec,
 * so every value reads back exactly as the binary encoding gives it back.
 */
interface LogColumns {
  readonly replicas: readonly string[];
  /** Entities, listed once per run of consecutive ops on one (so possibly more than once). */
  readonly entities: readonly string[];
  readonly attributes: readonly string[];
  /** Per transaction: replica index, counter, HLC, op count. */
  readonly txs: Float64Array;
  /** Per op: its offset in its transaction. Integer columns are as narrow as their values allow. */
  readonly offsets: UintColumn | Float64Array;
  /** Per op: entity index, attribute index. */
  readonly refs: UintColumn;
  /** Per op: bit 0 set for a retraction, bits 1 and 2 the value's kind (`ValueKind`), bits 3 up the supersedes count. */
  readonly flags: UintColumn;
  readonly strings: readonly string[];
  readonly numbers: Float64Array;
  /** The other values (booleans, big integers, null, JSON), one after another in the core's value encoding. */
  readonly others: Uint8Array;
  /** Superseded dots: replica index, counter. */
  readonly dots: Float64Array;
}

type UintColumn = Uint8Array | Uint16Array | Uint32Array;

const ValueKind = { None: 0, String: 1, Number: 2, Other: 3 } as const;

/** The narrowest unsigned array holding every value of `values` (each below 2^32). */
function narrow(values: Uint32Array, max: number): Uint32Array | Uint16Array | Uint8Array {
  if (max <= 0xff) return Uint8Array.from(values);
  if (max <= 0xffff) return Uint16Array.from(values);
  return values;
}

export function toColumns(txs: readonly Transaction[]): LogColumns {
  const replicas = new StringTable();
  // An entity is listed once per run of consecutive ops on it (nearly always once): no table lookup needed.
  const entities: string[] = [];
  const attributes = new StringTable();
  let opCount = 0;
  let dotCount = 0;
  let maxOffset = 0;
  let maxSupersedes = 0;
  for (let t = 0; t < txs.length; t++) {
    const ops = (txs[t] as Transaction).ops;
    opCount += ops.length;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Op;
      const superseded = op.supersedes.length;
      dotCount += superseded;
      if (op.offset > maxOffset) maxOffset = op.offset;
      if (superseded > maxSupersedes) maxSupersedes = superseded;
    }
  }
  const txColumn = new Float64Array(txs.length * 4);
  const offsets = maxOffset > 0xffffffff ? new Float64Array(opCount) : new Uint32Array(opCount);
  const refs = new Uint32Array(opCount * 2);
  const flags = new Uint32Array(opCount);
  const dots = new Float64Array(dotCount * 2);
  const numbers = new Float64Array(opCount);
  const strings: string[] = [];
  let numberCount = 0;
  let others: Encoder | undefined;
  let k = 0;
  let d = 0;
  let lastEntity: string | undefined;
  for (let t = 0; t < txs.length; t++) {
    const tx = txs[t] as Transaction;
    const ops = tx.ops;
    txColumn[4 * t] = replicas.add(tx.replica);
    txColumn[4 * t + 1] = tx.counter;
    txColumn[4 * t + 2] = tx.hlc;
    txColumn[4 * t + 3] = ops.length;
    for (let i = 0; i < ops.length; i++, k++) {
      const op = ops[i] as Op;
      offsets[k] = op.offset;
      if (op.entity !== lastEntity) {
        lastEntity = op.entity;
        entities.push(op.entity);
      }
      refs[2 * k] = entities.length - 1;
      refs[2 * k + 1] = attributes.add(op.attribute);
      const value = op.value;
      let kind: number;
      if (value === undefined) kind = ValueKind.None;
      else if (typeof value === 'string') {
        kind = ValueKind.String;
        strings.push(value);
      } else if (typeof value === 'number') {
        kind = ValueKind.Number;
        numbers[numberCount++] = value;
      } else {
        kind = ValueKind.Other;
        others ??= new Encoder();
        writeValue(others, value);
      }
      const supersedes = op.supersedes;
      flags[k] = (op.kind === OpKind.Retract ? 1 : 0) | (kind << 1) | (supersedes.length << 3);
      for (let j = 0; j < supersedes.length; j++) {
        const dot = supersedes[j] as Dot;
        dots[d++] = replicas.add(dot.replica);
        dots[d++] = dot.counter;
      }
    }
  }
  return {
    replicas: replicas.items,
    entities,
    attributes: attributes.items,
    txs: txColumn,
    offsets: offsets instanceof Float64Array ? offsets : narrow(offsets, maxOffset),
    refs: narrow(refs, Math.max(entities.length, attributes.items.length)),
    flags: narrow(flags, (maxSupersedes << 3) | 7),
    strings,
    numbers: numbers.slice(0, numberCount),
    others: others?.finish() ?? new Uint8Array(0),
    dots,
  };
}

export function corrupt(what: string): never {
  throw new DatsyncError(ErrorCode.StorageFailed, `a stored log chunk is damaged: ${what}`);
}

function entry<T>(table: readonly T[], index: number | undefined, what: string): T {
  const item = index === undefined ? undefined : table[index];
  return item === undefined ? corrupt(what) : item;
}

function fromColumns(c: LogColumns): Transaction[] {
  const txs: Transaction[] = [];
  const others = c.others.length > 0 ? new Decoder(c.others) : undefined;
  let k = 0;
  let d = 0;
  let s = 0;
  let n = 0;
  for (let t = 0; t < c.txs.length; t += 4) {
    const replica = entry(c.replicas, c.txs[t], 'replica index') as ReplicaId;
    const counter = c.txs[t + 1] as number;
    const hlc = c.txs[t + 2] as Hlc;
    const count = c.txs[t + 3] as number;
    const ops: Op[] = [];
    for (let i = 0; i < count; i++, k++) {
      const flags = c.flags[k];
      if (flags === undefined) corrupt('op count');
      const offset = c.offsets[k] as number;
      const entity = entry(c.entities, c.refs[2 * k], 'entity index') as EntityId;
      const attribute = entry(c.attributes, c.refs[2 * k + 1], 'attribute index') as Attr;
      const kind = (flags >>> 1) & 3;
      let value: Value | undefined;
      if (kind === ValueKind.String) value = entry(c.strings, s++, 'string value');
      else if (kind === ValueKind.Number) value = entry(c.numbers as unknown as readonly number[], n++, 'number value');
      else if (kind === ValueKind.Other) value = others === undefined ? corrupt('value') : readValue(others);
      const supersedes: Dot[] = [];
      for (let j = flags >>> 3; j > 0; j--) {
        const dotReplica = entry(c.replicas, c.dots[d], 'dot replica') as ReplicaId;
        supersedes.push({ replica: dotReplica, counter: c.dots[d + 1] as number });
        d += 2;
      }
      ops.push({ offset, entity, attribute, kind: (flags & 1) !== 0 ? OpKind.Retract : OpKind.Assert, value, supersedes });
    }
    txs.push({ replica, counter, hlc, ops });
  }
  return txs;
}

/** `records` (positions increasing) as chunks of consecutive records, each of about `CHUNK_BYTES` at most. */
export function* toChunks(records: readonly LogRecord[]): Generator<Chunk> {
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const size = cloneBytes((records[i] as LogRecord).tx);
    if (i > from && bytes + size > CHUNK_BYTES) {
      yield toChunk(records.slice(from, i));
      from = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (from < records.length) yield toChunk(records.slice(from));
}

/**
 * About the bytes `tx` adds to a chunk's clone: its id and position, then per op
 * its columns and its entity (listed once per run of ops), and its string value.
 * Other values are counted as small: the bound is for speed, not correctness.
 */
function cloneBytes(tx: Transaction): number {
  let bytes = 48;
  for (const op of tx.ops) bytes += typeof op.value === 'string' ? 12 + op.value.length : 16;
  return bytes;
}

function toChunk(records: readonly LogRecord[]): Chunk {
  const txs = records.map((record) => record.tx);
  return {
    last: (records[records.length - 1] as LogRecord).position,
    positions: records.map((record) => record.position),
    txIds: txs.map(transactionId),
    columns: toColumns(txs),
  };
}

/** A chunk's transactions, in either layout. */
export function chunkTransactions(chunk: Chunk): Transaction[] {
  if (chunk.columns !== undefined) return fromColumns(chunk.columns);
  if (chunk.data !== undefined) return decodeTransactions(chunk.data);
  return corrupt('no transactions');
}
