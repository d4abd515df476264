/**
 * Shared fixtures for the unit tests of the CRDT core: a schema covering every
 * cardinality, value type and history setting, a few replica and entity ids,
 * and builders for hand-made transactions (so equal HLCs, out-of-order
 * arrival and malformed input can be constructed exactly).
 */
import type { Attr, AttributeSpec, Dot, EntityId, ErrorCode, Hlc, Op, ReplicaId, Transaction, Value } from '../../crdt/index.js';
import {
  DatsyncError,
  encodeState,
  hlcFromParts,
  OpKind,
  parseAttr,
  parseEntityId,
  parseReplicaId,
  type ReplicaState,
} from '../../crdt/index.js';

/** Three replicas whose ids sort A < B < C. */
export const A: ReplicaId = parseReplicaId('replicaA');
export const B: ReplicaId = parseReplicaId('replicaB');
export const C: ReplicaId = parseReplicaId('replicaC');

export const E1: EntityId = parseEntityId('replicaA.1');
export const E2: EntityId = parseEntityId('replicaA.2');
export const E3: EntityId = parseEntityId('replicaB.1');

export const ATTR = {
  /** one, string, history */
  name: parseAttr('person/name'),
  /** one, number, no history */
  score: parseAttr('person/score'),
  /** many, string, no history */
  tags: parseAttr('person/tags'),
  /** many, string, history */
  notes: parseAttr('person/notes'),
  /** one, ref */
  friend: parseAttr('person/friend'),
  /** one, json */
  data: parseAttr('person/data'),
  /** one, bigint */
  big: parseAttr('person/big'),
  /** one, boolean */
  flag: parseAttr('person/flag'),
  /** one, instant */
  born: parseAttr('person/born'),
  /** many, any */
  misc: parseAttr('person/misc'),
} as const;

export const SPECS: ReadonlyMap<Attr, AttributeSpec> = new Map<Attr, AttributeSpec>([
  [ATTR.name, { cardinality: 'one', valueType: 'string', history: true }],
  [ATTR.score, { cardinality: 'one', valueType: 'number', history: false }],
  [ATTR.tags, { cardinality: 'many', valueType: 'string', history: false }],
  [ATTR.notes, { cardinality: 'many', valueType: 'string', history: true }],
  [ATTR.friend, { cardinality: 'one', valueType: 'ref', history: false }],
  [ATTR.data, { cardinality: 'one', valueType: 'json', history: false }],
  [ATTR.big, { cardinality: 'one', valueType: 'bigint', history: false }],
  [ATTR.flag, { cardinality: 'one', valueType: 'boolean', history: false }],
  [ATTR.born, { cardinality: 'one', valueType: 'instant', history: false }],
  [ATTR.misc, { cardinality: 'many', valueType: 'any', history: false }],
]);

/** A timestamp at `wallMs` with logical part `logical`. */
export function hlc(wallMs: number, logical = 0): Hlc {
  return hlcFromParts(wallMs, logical);
}

export function dot(replica: ReplicaId, counter: number): Dot {
  return { replica, counter };
}

export function assertOp(offset: number, entity: EntityId, attribute: Attr, value: Value, supersedes: readonly Dot[] = []): Op {
  return { offset, entity, attribute, kind: OpKind.Assert, value, supersedes };
}

export function retractOp(offset: number, entity: EntityId, attribute: Attr, value: Value | undefined, supersedes: readonly Dot[]): Op {
  return { offset, entity, attribute, kind: OpKind.Retract, value, supersedes };
}

export function tx(replica: ReplicaId, counter: number, at: Hlc, ops: readonly Op[]): Transaction {
  return { replica, counter, hlc: at, ops };
}

/** A one-op transaction asserting `value`, at wall time `wallMs`. */
export function put(
  replica: ReplicaId,
  counter: number,
  wallMs: number,
  entity: EntityId,
  attribute: Attr,
  value: Value,
  supersedes: readonly Dot[] = [],
): Transaction {
  return tx(replica, counter, hlc(wallMs), [assertOp(0, entity, attribute, value, supersedes)]);
}

/** A one-op transaction retracting `value` (undefined: every value), at wall time `wallMs`. */
export function del(
  replica: ReplicaId,
  counter: number,
  wallMs: number,
  entity: EntityId,
  attribute: Attr,
  value: Value | undefined,
  supersedes: readonly Dot[],
): Transaction {
  return tx(replica, counter, hlc(wallMs), [retractOp(0, entity, attribute, value, supersedes)]);
}

/** The DatsyncError `fn` throws; fails the test if it throws nothing or something else. */
export function caught(fn: () => unknown): DatsyncError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DatsyncError) return error;
    throw new Error(`expected a DatsyncError, got ${String(error)}`);
  }
  throw new Error('expected a DatsyncError, nothing was thrown');
}

/** The code of the DatsyncError `fn` throws. */
export function codeOf(fn: () => unknown): ErrorCode {
  return caught(fn).code;
}

/** The canonical bytes of a state, as hex (readable in a failing diff). */
export function snapshot(state: ReplicaState): string {
  return Buffer.from(encodeState(state)).toString('hex');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The visible datoms, sorted, as text. */
export function datoms(state: ReplicaState): string[] {
  return [...state.datoms()].map(([e, a, v]) => `${e} ${a} ${show(v)}`).sort();
}

export function show(value: Value | undefined): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  return JSON.stringify(value);
}

/** Fails the test with `message` (for `?? fail(...)` on possibly-undefined lookups). */
export function fail(message: string): never {
  throw new Error(message);
}
