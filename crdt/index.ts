/**
 * The pure CRDT core of datsync: clocks, versioned attribute registers,
 * replica states, merge and encoding. No I/O, no timers, no randomness: time
 * and random bytes enter as arguments.
 *
 * @module
 */

export type { ObservedView, WriteIntent } from './author.js';
export { LocalAuthor } from './author.js';
export { CausalContext } from './causal-context.js';
export type { DecodedRegisters } from './codec-state.js';
export { decodeRegisters, decodeState, encodeRegisters, encodeState } from './codec-state.js';
export { decodeTransactions, encodeTransactions, StringTable } from './codec-tx.js';
export { readValue, writeValue } from './codec-value.js';
export { sameTransaction, transactionDigest } from './digest.js';
export { Decoder, Encoder } from './encoding.js';
export type { ErrorData } from './errors.js';
export { check, DatsyncError, ErrorCode, isErrorCode } from './errors.js';
export type { Hlc } from './hlc.js';
export {
  DEFAULT_MAX_DRIFT_MS,
  HLC_ZERO,
  HybridClock,
  hlcFromParts,
  hlcLogical,
  hlcWallMs,
  isHlc,
  MAX_WALL_MS,
  parseHlc,
} from './hlc.js';
export type { Attr, Dot, EntityId, ReplicaId, TxId } from './ids.js';
export {
  compareDots,
  entityIdFromDot,
  isAttr,
  isDot,
  isEntityId,
  isReplicaId,
  isSafeCounter,
  isTxId,
  mintReplicaId,
  parseAttr,
  parseEntityId,
  parseReplicaId,
  parseTxId,
  txIdOf,
} from './ids.js';
export type { Conflict, HistoryEntry } from './inspect.js';
export { conflictsIn, conflictsOf, historyOf, valuesAsOf } from './inspect.js';
export type { Op, Transaction } from './op.js';
export { isWhole, lastCounter, OpKind, transactionId, validateTransaction } from './op.js';
export type { DotSet, OpRef, PendingMark, Slot } from './register.js';
export { cloneSlot, compareRefs, liveOf, PastVersion, Register, TxStamp, Version, visibleValues, winnerOf } from './register.js';
export { compactSlot, mergeSlots } from './register-merge.js';
export type { DatomChange } from './replica-state.js';
export { diffVisible, ReplicaState } from './replica-state.js';
export type { AttributeSpec, AttributeSpecs } from './schema.js';
export { Cardinality } from './schema.js';
export { TentativeState } from './tentative-state.js';
export type { JsonValue, Value } from './values.js';
export { canonicalJson, checkValue, compareValues, fitsType, MAX_JSON_DEPTH, VALUE_TYPES, ValueType, valuesEqual } from './values.js';
export type { VersionVector } from './version-vector.js';
export {
  compareVectors,
  EMPTY_VECTOR,
  mergeVectors,
  minimumVector,
  Ordering,
  vectorCovers,
  vectorToObject,
} from './version-vector.js';
