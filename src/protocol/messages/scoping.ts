/**
 * Partial replication messages. A client declares its scopes (`scopes`);
 * the server answers with state rather than history: `snapshot` (everything
 * the client may hold, on connect; in parts when large), `registers` (the
 * state of registers the client may now hold) and `evict` (registers it may
 * no longer hold). Each is a numbered batch of the stream, credited like
 * `records`.
 */
import type { Attr, Decoder, Encoder, EntityId } from '../../../crdt/index.js';
import { isAttr, isEntityId } from '../../../crdt/index.js';
import { readJson, writeJson } from './common.js';

export interface Scopes {
  readonly type: 'scopes';
  /** The full list of scopes (replacing the previous one), or null for everything readable. */
  readonly scopes: unknown;
}

export interface SnapshotPart {
  readonly type: 'snapshot';
  readonly batch: number;
  /** The log position the snapshot stands at. */
  readonly position: number;
  /** Whether this is the last part; the parts concatenated are one `encodeRegisters` blob. */
  readonly final: boolean;
  readonly part: Uint8Array;
}

export interface Registers {
  readonly type: 'registers';
  readonly batch: number;
  readonly position: number;
  /** `encodeRegisters` of the registers to install. */
  readonly state: Uint8Array;
}

export interface Evict {
  readonly type: 'evict';
  readonly batch: number;
  readonly position: number;
  readonly pairs: ReadonlyArray<readonly [EntityId, Attr]>;
}

export const writeScopes = (e: Encoder, m: Scopes): void => writeJson(e, m.scopes);
export const readScopes = (d: Decoder): Scopes => ({ type: 'scopes', scopes: readJson(d, 256 * 1024) });

export function writeSnapshotPart(e: Encoder, m: SnapshotPart): void {
  e.varUint(m.batch);
  e.varUint(m.position);
  e.uint8(m.final ? 1 : 0);
  e.bytes(m.part);
}

export function readSnapshotPart(d: Decoder): SnapshotPart {
  return { type: 'snapshot', batch: d.varUint(), position: d.varUint(), final: d.uint8() === 1, part: d.bytes() };
}

export function writeRegisters(e: Encoder, m: Registers): void {
  e.varUint(m.batch);
  e.varUint(m.position);
  e.bytes(m.state);
}

export function readRegisters(d: Decoder): Registers {
  return { type: 'registers', batch: d.varUint(), position: d.varUint(), state: d.bytes() };
}

export function writeEvict(e: Encoder, m: Evict): void {
  e.varUint(m.batch);
  e.varUint(m.position);
  e.varUint(m.pairs.length);
  for (const [entity, attribute] of m.pairs) {
    e.string(entity);
    e.string(attribute);
  }
}

export function readEvict(d: Decoder): Evict {
  const batch = d.varUint();
  const position = d.varUint();
  const count = d.count(4);
  const pairs: Array<readonly [EntityId, Attr]> = [];
  for (let i = 0; i < count; i++) {
    const entity = d.string();
    const attribute = d.string();
    if (!isEntityId(entity) || !isAttr(attribute)) d.fail('malformed evicted register');
    pairs.push([entity, attribute]);
  }
  return { type: 'evict', batch, position, pairs };
}
