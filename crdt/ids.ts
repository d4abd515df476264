/**
 * Branded identifiers. Each is a plain string at run time, minted or parsed
 * only here, so a `ReplicaId` can never be passed where an `EntityId` is due.
 *
 * - A replica id names one replica's lifetime of writes. A replica that lost
 *   its storage must mint a new one (see docs/crdt.md, "Amnesia").
 * - An entity id is derived from the dot of the op that created the entity,
 *   so any replica can mint globally unique ids offline.
 * - A transaction id is the dot of its first op.
 *
 * @module
 */
import { check, ErrorCode } from './errors.js';

declare const replicaIdBrand: unique symbol;
declare const entityIdBrand: unique symbol;
declare const txIdBrand: unique symbol;
declare const attrBrand: unique symbol;

export type ReplicaId = string & { readonly [replicaIdBrand]: true };
export type EntityId = string & { readonly [entityIdBrand]: true };
export type TxId = string & { readonly [txIdBrand]: true };
/** An attribute name, such as `"task/title"`. */
export type Attr = string & { readonly [attrBrand]: true };

/** A dot names one op: the `counter`-th op issued by `replica`. */
export interface Dot {
  readonly replica: ReplicaId;
  readonly counter: number;
}

const replicaIdPattern = /^[A-Za-z0-9_-]{4,40}$/;
const entityIdPattern = /^[A-Za-z0-9_-]{4,40}\.[0-9a-z]{1,11}$/;
const txIdPattern = /^[A-Za-z0-9_-]{4,40}:[0-9]{1,16}$/;
const attrPattern = /^[^\s\0]{1,200}$/;
const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function isReplicaId(value: unknown): value is ReplicaId {
  return typeof value === 'string' && replicaIdPattern.test(value);
}

export function parseReplicaId(value: unknown): ReplicaId {
  check(isReplicaId(value), ErrorCode.InvalidOp, 'replica id must be 4 to 40 characters of [A-Za-z0-9_-]');
  return value;
}

/**
 * Mints a replica id from at least 12 random bytes supplied by the caller
 * (the core owns no randomness: pass `crypto.getRandomValues(new Uint8Array(12))`).
 */
export function mintReplicaId(randomBytes: Uint8Array): ReplicaId {
  check(randomBytes.length >= 12, ErrorCode.InvalidOp, 'a replica id needs at least 12 random bytes');
  let id = '';
  for (let i = 0; i < 16; i++) id += base64url[(randomBytes[i % randomBytes.length] ?? 0) & 63];
  return id as ReplicaId;
}

export function isSafeCounter(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

export function isEntityId(value: unknown): value is EntityId {
  return typeof value === 'string' && entityIdPattern.test(value);
}

export function parseEntityId(value: unknown): EntityId {
  check(isEntityId(value), ErrorCode.InvalidOp, 'entity id must be "<replica>.<base36 counter>"');
  return value;
}

/** The id of the entity first written by the op at `dot`: unique because dots are. */
export function entityIdFromDot(replica: ReplicaId, counter: number): EntityId {
  return `${replica}.${counter.toString(36)}` as EntityId;
}

export function txIdOf(replica: ReplicaId, counter: number): TxId {
  return `${replica}:${counter}` as TxId;
}

export function isTxId(value: unknown): value is TxId {
  return typeof value === 'string' && txIdPattern.test(value);
}

export function parseTxId(value: unknown): { replica: ReplicaId; counter: number } {
  check(isTxId(value), ErrorCode.InvalidOp, 'transaction id must be "<replica>:<counter>"');
  const at = value.lastIndexOf(':');
  const counter = Number(value.slice(at + 1));
  check(isSafeCounter(counter), ErrorCode.InvalidOp, 'transaction counter out of range');
  return { replica: value.slice(0, at) as ReplicaId, counter };
}

export function isAttr(value: unknown): value is Attr {
  return typeof value === 'string' && attrPattern.test(value);
}

export function parseAttr(value: unknown): Attr {
  check(isAttr(value), ErrorCode.UnknownAttribute, 'attribute name must be 1 to 200 non-space characters');
  return value;
}

export function isDot(value: unknown): value is Dot {
  if (typeof value !== 'object' || value === null) return false;
  const dot = value as { replica?: unknown; counter?: unknown };
  return isReplicaId(dot.replica) && isSafeCounter(dot.counter);
}

/**
 * The total order on dots used to break ties: by replica id, then counter.
 * Relayed ops keep their origin dot, so every replica breaks ties alike.
 */
export function compareDots(a: Dot, b: Dot): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  return a.counter - b.counter;
}
