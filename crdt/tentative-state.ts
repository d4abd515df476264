/**
 * A replica state as a client holds it: the confirmed state (what the
 * authority has accepted, plus what it relayed from others) with the client's
 * own tentative transactions on top. A tentative transaction is visible at
 * once and later either confirmed (it moves into the confirmed state) or
 * rejected (it is rolled back exactly, and later tentative transactions are
 * re-applied on what remains).
 *
 * Only registers a tentative transaction touched are copied (the overlay);
 * every other register is read straight from the confirmed state, so an
 * online client holds one copy of its data.
 *
 * @module
 */
import type { ObservedView } from './author.js';
import { DatsyncError, ErrorCode } from './errors.js';
import type { Attr, Dot, EntityId, ReplicaId, TxId } from './ids.js';
import type { Op, Transaction } from './op.js';
import { transactionId } from './op.js';
import type { DotSet, Slot, VisibleChange } from './register.js';
import { applyOp, cloneSlot, liveOf, TxStamp, Version, visibleValues } from './register.js';
import type { DatomChange } from './replica-state.js';
import { diffVisible, type ReplicaState } from './replica-state.js';
import type { Value } from './values.js';

interface OverlayEntry {
  slot: Slot | undefined;
  /** How many tentative transactions touch this register. */
  refs: number;
}

/** The versions a register holds, live and past. */
function slotRefs(slot: Slot): Array<{ readonly tx: TxStamp; readonly offset: number }> {
  if (slot instanceof Version) return [slot];
  return [...slot.live, ...(slot.past ?? [])];
}

export class TentativeState implements ObservedView {
  readonly confirmed: ReplicaState;
  private readonly overlay = new Map<EntityId, Map<Attr, OverlayEntry>>();
  private readonly pendingList: Transaction[] = [];
  private readonly pendingById = new Map<TxId, Transaction>();
  /** Ops of tentative transactions by dot: a lookup must not scan an outbox that grows while offline. */
  private readonly pendingOps = new Map<ReplicaId, Map<number, Op>>();
  /** Dots of tentative transactions, which the overlay has applied but the confirmed state has not. */
  private readonly dots: DotSet;
  private readonly scratch: VisibleChange[] = [];

  constructor(confirmed: ReplicaState) {
    this.confirmed = confirmed;
    this.dots = {
      hasDot: (dot: Dot): boolean => this.confirmed.context.hasDot(dot) || this.isPendingDot(dot),
    };
  }

  /** The dots the tentative op named `dot` superseded, and theirs if tentative too (none for a confirmed dot). */
  undecidedSupersedes(dot: Dot): Dot[] {
    const out: Dot[] = [];
    const first = this.pendingOp(dot);
    if (first === undefined) return out;
    const seen = new Map<ReplicaId, Set<number>>();
    const visit = (op: Op): void => {
      for (const earlier of op.supersedes) {
        let counters = seen.get(earlier.replica);
        if (counters === undefined) {
          counters = new Set();
          seen.set(earlier.replica, counters);
        }
        if (counters.has(earlier.counter)) continue;
        counters.add(earlier.counter);
        out.push(earlier);
        const next = this.pendingOp(earlier);
        if (next !== undefined) visit(next);
      }
    };
    visit(first);
    return out;
  }

  private pendingOp(dot: Dot): Op | undefined {
    return this.pendingOps.get(dot.replica)?.get(dot.counter);
  }

  /**
   * Only the dots of pending ops, as ReplicaState's context holds only the
   * dots of applied ops: the unused dots of a transaction with gaps in its
   * offsets stay unseen in both.
   */
  private isPendingDot(dot: Dot): boolean {
    return this.pendingOps.get(dot.replica)?.has(dot.counter) === true;
  }

  private indexPending(tx: Transaction): void {
    let ops = this.pendingOps.get(tx.replica);
    if (ops === undefined) {
      ops = new Map();
      this.pendingOps.set(tx.replica, ops);
    }
    for (const op of tx.ops) {
      const counter = tx.counter + op.offset;
      if (!ops.has(counter)) ops.set(counter, op);
    }
  }

  private unindexPending(tx: Transaction): void {
    const ops = this.pendingOps.get(tx.replica);
    if (ops !== undefined) {
      for (const op of tx.ops) {
        const counter = tx.counter + op.offset;
        if (ops.get(counter) === op) ops.delete(counter);
      }
      if (ops.size === 0) this.pendingOps.delete(tx.replica);
    }
  }

  /** The register as it is shown: tentative if a pending transaction touched it, confirmed otherwise. */
  slot(entity: EntityId, attribute: Attr): Slot | undefined {
    const entry = this.overlay.get(entity)?.get(attribute);
    return entry === undefined ? this.confirmed.slot(entity, attribute) : entry.slot;
  }

  live(entity: EntityId, attribute: Attr): Array<{ dot: Dot; value: Value }> {
    return liveOf(this.slot(entity, attribute)).map((v) => ({
      dot: { replica: v.tx.replica, counter: v.tx.counter + v.offset },
      value: v.value,
    }));
  }

  values(entity: EntityId, attribute: Attr): Value[] {
    return visibleValues(this.slot(entity, attribute), this.confirmed.spec(attribute));
  }

  /** Tentative transactions, oldest first. */
  pending(): readonly Transaction[] {
    return this.pendingList;
  }

  isPending(id: TxId): boolean {
    return this.pendingById.has(id);
  }

  private entry(entity: EntityId, attribute: Attr): OverlayEntry {
    let attrs = this.overlay.get(entity);
    if (attrs === undefined) {
      attrs = new Map();
      this.overlay.set(entity, attrs);
    }
    let entry = attrs.get(attribute);
    if (entry === undefined) {
      entry = { slot: cloneSlot(this.confirmed.slot(entity, attribute)), refs: 0 };
      attrs.set(attribute, entry);
    }
    return entry;
  }

  private dropEntry(entity: EntityId, attribute: Attr): void {
    const attrs = this.overlay.get(entity);
    if (attrs === undefined) return;
    attrs.delete(attribute);
    if (attrs.size === 0) this.overlay.delete(entity);
  }

  private applyToSlot(slot: Slot | undefined, tx: Transaction, index: number, stamp: TxStamp, out: VisibleChange[]): Slot | undefined {
    const op = tx.ops[index];
    if (op === undefined) return slot;
    // Registers the overlay copies are never shared with the confirmed state, so in-place change is safe.
    return applyOp(slot, op, stamp, this.confirmed.spec(op.attribute), this.dots, out);
  }

  /** Shows a new local transaction (already validated) at once. */
  addTentative(tx: Transaction): DatomChange[] {
    const id = transactionId(tx);
    if (this.pendingById.has(id) || this.confirmed.context.has(tx.replica, tx.counter)) return [];
    const out: DatomChange[] = [];
    const stamp = new TxStamp(tx.replica, tx.counter, tx.hlc);
    const scratch = this.scratch;
    // Cleared once per transaction, not per op: truncating an array frees its backing store.
    scratch.length = 0;
    for (let i = 0; i < tx.ops.length; i++) {
      const op = tx.ops[i];
      if (op === undefined) continue;
      const entry = this.entry(op.entity, op.attribute);
      entry.refs++;
      const mark = scratch.length;
      entry.slot = this.applyToSlot(entry.slot, tx, i, stamp, scratch);
      for (let j = mark; j < scratch.length; j++) {
        const change = scratch[j] as VisibleChange;
        out.push({ entity: op.entity, attribute: op.attribute, value: change.value, added: change.added });
      }
    }
    scratch.length = 0;
    this.pendingList.push(tx);
    this.pendingById.set(id, tx);
    this.indexPending(tx);
    return out;
  }

  /**
   * Applies a transaction from the authority: someone else's, or one of ours
   * coming back (which confirms it). Duplicates are ignored.
   */
  applyConfirmed(tx: Transaction): DatomChange[] {
    const out: DatomChange[] = [];
    this.applyConfirmedInto(tx, out);
    return out;
  }

  /** As {@link applyConfirmed}, appending to `out`; null when the caller needs no list (it rebuilds its view from the state). */
  applyConfirmedInto(tx: Transaction, out: DatomChange[] | null): void {
    const id = transactionId(tx);
    if (this.pendingById.has(id)) {
      const changes = this.confirm(id, tx);
      if (out !== null) for (const change of changes) out.push(change);
      return;
    }
    // Nothing tentative: every register is the confirmed one (the case of a catch-up).
    if (this.overlay.size === 0) {
      this.confirmed.applyTransactionInto(tx, out);
      return;
    }
    const stamp = new TxStamp(tx.replica, tx.counter, tx.hlc);
    const context = this.confirmed.context;
    // Registers under the overlay take the op too, so they stay "confirmed plus tentative".
    for (let i = 0; i < tx.ops.length; i++) {
      const op = tx.ops[i];
      if (op === undefined) continue;
      const entry = this.overlay.get(op.entity)?.get(op.attribute);
      if (entry === undefined || context.has(tx.replica, tx.counter + op.offset)) continue;
      const scratch: VisibleChange[] = [];
      entry.slot = this.applyToSlot(entry.slot, tx, i, stamp, scratch);
      if (out === null) continue;
      for (const change of scratch) out.push({ entity: op.entity, attribute: op.attribute, value: change.value, added: change.added });
    }
    if (out === null) {
      this.confirmed.applyTransactionInto(tx, null);
      return;
    }
    const underlying: DatomChange[] = [];
    this.confirmed.applyTransactionInto(tx, underlying);
    for (const change of underlying) {
      if (this.overlay.get(change.entity)?.has(change.attribute) !== true) out.push(change);
    }
  }

  /**
   * The authority accepted one of our tentative transactions. `applied` is
   * what of it the confirmed state takes, when the authority lets this
   * replica keep only part of it (partial replication); all of it by default.
   */
  confirm(id: TxId, applied?: Transaction): DatomChange[] {
    const tx = this.takePending(id);
    this.confirmed.applyTransactionInto(applied ?? tx, null);
    const out: DatomChange[] = [];
    for (const op of tx.ops) {
      const entry = this.overlay.get(op.entity)?.get(op.attribute);
      if (entry === undefined) continue;
      entry.refs--;
      if (entry.refs > 0) continue;
      this.dropEntry(op.entity, op.attribute);
      diffVisible(
        op.entity,
        op.attribute,
        this.confirmed.spec(op.attribute),
        entry.slot,
        this.confirmed.slot(op.entity, op.attribute),
        out,
      );
    }
    return out;
  }

  /** The authority refused one of our tentative transactions: roll it back exactly. */
  reject(id: TxId): DatomChange[] {
    const tx = this.takePending(id);
    const out: DatomChange[] = [];
    const seen = new Set<string>();
    for (const op of tx.ops) {
      const entry = this.overlay.get(op.entity)?.get(op.attribute);
      if (entry === undefined) continue;
      entry.refs--;
      const key = `${op.entity}\u0000${op.attribute}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const before = entry.slot;
      const after = entry.refs > 0 ? this.rebuild(op.entity, op.attribute) : this.confirmed.slot(op.entity, op.attribute);
      if (entry.refs > 0) entry.slot = after;
      else this.dropEntry(op.entity, op.attribute);
      diffVisible(op.entity, op.attribute, this.confirmed.spec(op.attribute), before, after, out);
    }
    return out;
  }

  /** Confirmed register plus every remaining tentative op on it, in issue order. */
  private rebuild(entity: EntityId, attribute: Attr): Slot | undefined {
    let slot = cloneSlot(this.confirmed.slot(entity, attribute));
    for (const tx of this.pendingList) {
      const stamp = new TxStamp(tx.replica, tx.counter, tx.hlc);
      for (let i = 0; i < tx.ops.length; i++) {
        const op = tx.ops[i];
        if (op !== undefined && op.entity === entity && op.attribute === attribute) slot = this.applyToSlot(slot, tx, i, stamp, []);
      }
    }
    return slot;
  }

  private takePending(id: TxId): Transaction {
    const tx = this.pendingById.get(id);
    if (tx === undefined) throw new DatsyncError(ErrorCode.Internal, 'no tentative transaction with this id', { tx: id });
    this.pendingById.delete(id);
    this.unindexPending(tx);
    const index = this.pendingList.indexOf(tx);
    this.pendingList.splice(index, 1);
    return tx;
  }

  /**
   * Replaces confirmed registers wholesale, as an authority that filters what
   * this replica may hold decides (installing registers it may now hold,
   * `undefined` for those it may no longer hold). Tentative writes stay on
   * top. Returns the visible changes.
   */
  replaceConfirmed(entries: ReadonlyArray<readonly [EntityId, Attr, Slot | undefined]>): DatomChange[] {
    const out: DatomChange[] = [];
    for (const [entity, attribute, slot] of entries) {
      const before = this.slot(entity, attribute);
      this.confirmed.setSlot(entity, attribute, slot);
      if (slot !== undefined)
        for (const ref of slotRefs(slot))
          this.confirmed.context.add(ref.tx.replica, ref.tx.counter + ref.offset, ref.tx.counter + ref.offset);
      const entry = this.overlay.get(entity)?.get(attribute);
      if (entry !== undefined) entry.slot = this.rebuild(entity, attribute);
      diffVisible(entity, attribute, this.confirmed.spec(attribute), before, this.slot(entity, attribute), out);
    }
    return out;
  }

  /** Every visible register: confirmed ones not under the overlay, then the overlay. */
  *registers(): IterableIterator<[EntityId, Attr, Slot]> {
    for (const [entity, attribute, slot] of this.confirmed.registers()) {
      if (this.overlay.get(entity)?.has(attribute) !== true) yield [entity, attribute, slot];
    }
    for (const [entity, attrs] of this.overlay) {
      for (const [attribute, entry] of attrs) if (entry.slot !== undefined) yield [entity, attribute, entry.slot];
    }
  }

  /** Every visible datom. */
  *datoms(): IterableIterator<[EntityId, Attr, Value]> {
    for (const [entity, attribute, slot] of this.registers()) {
      if (slot instanceof Version) yield [entity, attribute, slot.value];
      else for (const value of visibleValues(slot, this.confirmed.spec(attribute))) yield [entity, attribute, value];
    }
  }

  /** Every visible datom, in the order `datoms()` yields them, without an array per datom. */
  forEachDatom(visit: (entity: EntityId, attribute: Attr, value: Value) => void): void {
    const overlay = this.overlay;
    const confirmed = this.confirmed;
    const visitSlot = (entity: EntityId, attribute: Attr, slot: Slot): void => {
      if (slot instanceof Version) visit(entity, attribute, slot.value);
      else for (const value of visibleValues(slot, confirmed.spec(attribute))) visit(entity, attribute, value);
    };
    confirmed.forEachRegister((entity, attribute, slot) => {
      if (overlay.size === 0 || overlay.get(entity)?.has(attribute) !== true) visitSlot(entity, attribute, slot);
    });
    for (const [entity, attrs] of overlay) {
      for (const [attribute, entry] of attrs) if (entry.slot !== undefined) visitSlot(entity, attribute, entry.slot);
    }
  }

  /** Attributes of one entity that hold a register (visible or not). */
  attributesOf(entity: EntityId): Attr[] {
    const out = new Set<Attr>();
    for (const [attribute] of this.confirmed.attributesOf(entity)) out.add(attribute);
    for (const [attribute, entry] of this.overlay.get(entity) ?? []) {
      if (entry.slot === undefined) out.delete(attribute);
      else out.add(attribute);
    }
    return [...out];
  }

  /** Replicas with tentative transactions (normally just this one). */
  pendingReplicas(): Set<ReplicaId> {
    return new Set(this.pendingList.map((tx) => tx.replica));
  }
}
