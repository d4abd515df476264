/**
 * Deliberately broken CRDTs. Each one keeps a plausible-looking bug that real
 * systems shipped; `broken.prop.ts` asserts the property suite catches every
 * one, so no property is a test that cannot fail.
 */
import type { AttributeSpecs, ReplicaId, Transaction } from '../../crdt/index.js';
import { OpKind, ReplicaState, TxStamp, Version } from '../../crdt/index.js';
import type { CrdtImpl } from './impl.js';
import { realImpl } from './impl.js';

/** Last arrival wins: an assert replaces the register whatever its causal context. */
class ArrivalOrderState extends ReplicaState {
  override applyTransactionInto(tx: Transaction, out: Parameters<ReplicaState['applyTransactionInto']>[1]): void {
    const stamp = new TxStamp(tx.replica, tx.counter, tx.hlc);
    for (const op of tx.ops) {
      if (this.context.has(tx.replica, tx.counter + op.offset)) continue;
      if (op.kind === OpKind.Assert) this.setSlot(op.entity, op.attribute, new Version(stamp, op.offset, op.value as never));
      else this.setSlot(op.entity, op.attribute, undefined);
      this.context.add(tx.replica, tx.counter + op.offset, tx.counter + op.offset);
    }
    void out;
  }
}

export const arrivalOrderLww: CrdtImpl = {
  ...realImpl,
  name: 'arrival-order last-writer-wins',
  create: (specs: AttributeSpecs) => new ArrivalOrderState(specs),
};

/** A merge that keeps its own register whenever both sides hold one. */
class LeftBiasedState extends ReplicaState {
  override merge(other: ReplicaState): ReturnType<ReplicaState['merge']> {
    for (const [entity, attribute, slot] of other.registers()) {
      if (this.slot(entity, attribute) === undefined) this.setSlot(entity, attribute, slot);
    }
    this.context.addAll(other.context);
    return [];
  }
}

export const leftBiasedMerge: CrdtImpl = {
  ...realImpl,
  name: 'left-biased merge',
  create: (specs: AttributeSpecs) => new LeftBiasedState(specs),
  merge: (into, other) => {
    into.merge(other);
  },
};

/** Forgets which dots it applied: a redelivered, already superseded version comes back. */
class ForgetfulState extends ReplicaState {
  override applyTransactionInto(tx: Transaction, out: Parameters<ReplicaState['applyTransactionInto']>[1]): void {
    super.applyTransactionInto(tx, out);
    // Drop the record of applied dots (reaching past `private`, as a bug would).
    (this.context as unknown as { entries: Map<unknown, unknown> }).entries.clear();
  }
}

export const forgetfulContext: CrdtImpl = {
  ...realImpl,
  name: 'no causal context',
  create: (specs: AttributeSpecs) => new ForgetfulState(specs),
};

/** Riak's amnesia: a wiped replica comes back under its old id and counts from zero. */
export const reusedReplicaId: CrdtImpl = {
  ...realImpl,
  name: 'reused replica id after amnesia',
  reincarnate: (previous: ReplicaId) => ({ replica: previous, issuedUpTo: 0 }),
};
