/**
 * The implementation a property runs against. The real one is the core; the
 * broken ones (./broken.ts) exist to show that each property can fail.
 */
import type { AttributeSpecs, ReplicaId, Transaction } from '../../crdt/index.js';
import { encodeState, ReplicaState } from '../../crdt/index.js';

export interface CrdtImpl {
  readonly name: string;
  create(specs: AttributeSpecs): ReplicaState;
  apply(state: ReplicaState, tx: Transaction): void;
  merge(into: ReplicaState, other: ReplicaState): void;
  /** The replica id and first counter a replica takes after losing its storage. */
  reincarnate(previous: ReplicaId, generation: number): { replica: ReplicaId; issuedUpTo: number };
}

export const realImpl: CrdtImpl = {
  name: 'datsync',
  create: (specs) => new ReplicaState(specs),
  apply: (state, tx) => {
    state.applyTransaction(tx);
  },
  merge: (into, other) => {
    into.merge(other);
  },
  // A wiped replica mints a new id: it can never reissue a dot.
  reincarnate: (previous, generation) => ({ replica: `${previous}-g${generation}` as ReplicaId, issuedUpTo: 0 }),
};

/** Canonical bytes of a state as a string, for equality assertions with readable diffs. */
export function fingerprint(state: ReplicaState): string {
  return Buffer.from(encodeState(state)).toString('base64');
}

/** The visible datoms, sorted, as text. */
export function visible(state: ReplicaState): string[] {
  return [...state.datoms()]
    .map(([e, a, v]) => `${e} ${a} ${typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : JSON.stringify(v)}`)
    .sort();
}

/** A deterministic shuffle driven by fast-check-generated keys. */
export function permute<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.item);
}
