/**
 * Operations and transactions: the unit of replication.
 *
 * A transaction is issued by one replica at one hybrid-logical time and holds
 * ops that travel and apply together. The op at `offset` has the dot
 * `(replica, counter + offset)`. An op carries the dots of the versions its
 * author had seen in that register and meant to replace (`supersedes`): that
 * is the whole of its causal context, so concurrency is decided per register
 * and never by arrival order.
 *
 * @module
 */
import { DatsyncError, ErrorCode } from './errors.js';
import type { Hlc } from './hlc.js';
import { isHlc } from './hlc.js';
import type { Attr, Dot, EntityId, ReplicaId, TxId } from './ids.js';
import { isDot, isEntityId, isReplicaId, isSafeCounter, txIdOf } from './ids.js';
import type { AttributeSpecs } from './schema.js';
import { Cardinality } from './schema.js';
import type { Value } from './values.js';
import { fitsType } from './values.js';

export const OpKind = {
  Assert: 'assert',
  Retract: 'retract',
} as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

export interface Op {
  /** Position in the issuing transaction: the op's dot counter is `tx.counter + offset`. */
  readonly offset: number;
  readonly entity: EntityId;
  readonly attribute: Attr;
  readonly kind: OpKind;
  /** The asserted value; for a retraction, the value retracted (undefined: every observed value). */
  readonly value: Value | undefined;
  /** Dots of the versions this op replaces, as its author had seen them. */
  readonly supersedes: readonly Dot[];
}

export interface Transaction {
  readonly replica: ReplicaId;
  /** Dot counter of the op at offset 0. */
  readonly counter: number;
  readonly hlc: Hlc;
  readonly ops: readonly Op[];
}

export function transactionId(tx: Pick<Transaction, 'replica' | 'counter'>): TxId {
  return txIdOf(tx.replica, tx.counter);
}

/** The highest dot counter the transaction can hold, from its last op. */
export function lastCounter(tx: Transaction): number {
  const last = tx.ops[tx.ops.length - 1];
  return tx.counter + (last === undefined ? 0 : last.offset);
}

/** Whether offsets run 0..n-1 without gaps (not a filtered subset of a transaction). */
export function isWhole(tx: Transaction): boolean {
  const last = tx.ops[tx.ops.length - 1];
  return last === undefined || last.offset === tx.ops.length - 1;
}

function fail(message: string, details?: Record<string, string | number | boolean>): never {
  throw new DatsyncError(ErrorCode.InvalidOp, message, details);
}

/**
 * Checks a transaction whole against the attribute specs; throws
 * `invalid-op`, `unknown-attribute` or `invalid-value` naming the offending
 * op. Nothing is applied by checking, so a refused transaction leaves every
 * state untouched.
 */
export function validateTransaction(tx: Transaction, specs: AttributeSpecs): void {
  if (typeof tx !== 'object' || tx === null) fail('transaction must be an object');
  if (!isReplicaId(tx.replica)) fail('transaction has no valid replica id');
  if (!isSafeCounter(tx.counter)) fail('transaction counter must be a positive safe integer');
  if (!isHlc(tx.hlc)) fail('transaction hlc must be a non-negative safe integer');
  if (!Array.isArray(tx.ops) || tx.ops.length === 0) fail('transaction must hold at least one op');
  let previousOffset = -1;
  const ops = tx.ops;
  // One op per (entity, attribute) of cardinality one: a second would stand beside the first as a
  // sibling no write rule sees (rules read the projection, which shows one value). Authors never make one.
  // Entities seen per attribute (a catch-up checks every op: no key string per op).
  const single = ops.length > 1 ? new Map<string, Set<string>>() : undefined;
  // Ops of one entity come in runs: its id is checked once per run.
  let checkedEntity: string | undefined;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index] as Op;
    if (typeof op !== 'object' || op === null) fail('op must be an object', { op: index });
    if (!Number.isSafeInteger(op.offset) || op.offset <= previousOffset) fail('op offsets must strictly increase', { op: index });
    previousOffset = op.offset;
    if (!Number.isSafeInteger(tx.counter + op.offset)) fail('op counter overflows', { op: index });
    if (checkedEntity === undefined || op.entity !== checkedEntity) {
      if (!isEntityId(op.entity)) fail('op has no valid entity id', { op: index });
      checkedEntity = op.entity;
    }
    const spec = typeof op.attribute === 'string' ? specs.get(op.attribute) : undefined;
    if (spec === undefined) {
      throw new DatsyncError(ErrorCode.UnknownAttribute, `op ${index} names an attribute outside the schema`, { op: index });
    }
    if (single !== undefined && spec.cardinality === Cardinality.One) {
      let entities = single.get(op.attribute);
      if (entities === undefined) {
        entities = new Set();
        single.set(op.attribute, entities);
      }
      if (entities.has(op.entity)) fail(`op ${index} is a second op on one entity and attribute of cardinality one`, { op: index });
      entities.add(op.entity);
    }
    if (op.kind === OpKind.Assert) {
      if (!fitsType(spec.valueType, op.value)) {
        throw new DatsyncError(ErrorCode.InvalidValue, `op ${index} carries a value that is not of type ${spec.valueType}`, {
          op: index,
          attribute: op.attribute,
          expected: spec.valueType,
        });
      }
    } else if (op.kind === OpKind.Retract) {
      if (op.value !== undefined && !fitsType(spec.valueType, op.value)) {
        throw new DatsyncError(ErrorCode.InvalidValue, `op ${index} retracts a value that is not of type ${spec.valueType}`, {
          op: index,
          attribute: op.attribute,
          expected: spec.valueType,
        });
      }
    } else {
      fail(`op ${index} has an unknown kind`, { op: index });
    }
    if (!Array.isArray(op.supersedes)) fail('op supersedes must be a list of dots', { op: index });
    for (const dot of op.supersedes) {
      if (!isDot(dot)) fail('op supersedes a malformed dot', { op: index });
      // A transaction's ops are concurrent with each other; none can replace another, or a later one.
      if (dot.replica === tx.replica && dot.counter >= tx.counter)
        fail('op supersedes a dot of its own transaction or later', { op: index });
    }
  }
}
