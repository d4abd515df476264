/**
 * The state of one replica: every register, and the causal context of every
 * op applied. Applying transactions is idempotent and order-insensitive;
 * merging two states is commutative, associative and idempotent.
 *
 * Each apply reports the change to the visible datom set, so a projection
 * (DataScript, a UI) can follow incrementally.
 *
 * @example
 * const state = new ReplicaState(specs);
 * const changes = state.applyTransaction(tx); // [{ entity, attribute, value, added }]
 * state.value(entity, attr);                    // the winner
 *
 * @module
 */
import { CausalContext } from './causal-context.js';
import { DatsyncError, ErrorCode } from './errors.js';
import type { HybridClock } from './hlc.js';
import type { Attr, Dot, EntityId, ReplicaId } from './ids.js';
import type { Transaction } from './op.js';
import { isWhole, validateTransaction } from './op.js';
import type { Slot, VisibleChange } from './register.js';
import { applyOp, liveOf, Register, TxStamp, Version, visibleValues, winnerOf } from './register.js';
import { compactSlot, mergeSlots } from './register-merge.js';
import type { AttributeSpec, AttributeSpecs } from './schema.js';
import { Cardinality } from './schema.js';
import type { Value } from './values.js';
import { valuesEqual } from './values.js';
import type { VersionVector } from './version-vector.js';

/** One change to the visible datom set. */
export interface DatomChange {
  readonly entity: EntityId;
  readonly attribute: Attr;
  readonly value: Value;
  readonly added: boolean;
}

export class ReplicaState {
  readonly specs: AttributeSpecs;
  readonly context = new CausalContext();
  private readonly entities = new Map<EntityId, Map<Attr, Slot>>();
  /** Scratch buffer reused across applies (the hot path allocates no arrays). */
  private readonly scratch: VisibleChange[] = [];

  constructor(specs: AttributeSpecs) {
    this.specs = specs;
  }

  spec(attribute: Attr): AttributeSpec {
    const spec = this.specs.get(attribute);
    if (spec === undefined) {
      throw new DatsyncError(ErrorCode.UnknownAttribute, 'attribute is not in the schema', { attribute });
    }
    return spec;
  }

  /**
   * Checks a transaction from elsewhere whole (shape, schema, value types
   * and, given a clock, its timestamp against the drift bound) and only then
   * applies it. A refused transaction throws a `DatsyncError` and leaves the
   * state and the clock untouched.
   */
  receive(tx: Transaction, clock?: { readonly clock: HybridClock; readonly physicalMs: number }): DatomChange[] {
    validateTransaction(tx, this.specs);
    if (clock !== undefined) clock.clock.checkDrift(tx.hlc, clock.physicalMs);
    const changes = this.applyTransaction(tx);
    if (clock !== undefined) clock.clock.observe(tx.hlc, clock.physicalMs);
    return changes;
  }

  /**
   * Applies a transaction already validated (by `receive`, or read back from
   * this replica's own storage) and returns the visible changes. Ops already
   * applied are skipped, so redelivery is harmless.
   */
  applyTransaction(tx: Transaction): DatomChange[] {
    const out: DatomChange[] = [];
    this.applyTransactionInto(tx, out);
    return out;
  }

  /**
   * As {@link applyTransaction}, appending to `out`; null when the caller
   * needs no list (it rebuilds its view from the state).
   */
  applyTransactionInto(tx: Transaction, out: DatomChange[] | null): void {
    const ops = tx.ops;
    if (ops.length === 0) return;
    const whole = isWhole(tx);
    const first = tx.counter;
    const last = first + (ops[ops.length - 1]?.offset ?? 0);
    const context = this.context;
    if (whole && context.hasRange(tx.replica, first, last)) return;
    const checkEach = !whole || context.hasAnyInRange(tx.replica, first, last);
    const stamp = new TxStamp(tx.replica, tx.counter, tx.hlc);
    const scratch = this.scratch;
    // Each op appends its changes after `mark`; the buffer is emptied once per transaction,
    // not per op (setting an array's length is a call into the runtime).
    scratch.length = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op === undefined) continue;
      if (checkEach && context.has(tx.replica, first + op.offset)) continue;
      const spec = this.spec(op.attribute);
      let attrs = this.entities.get(op.entity);
      if (attrs === undefined) {
        attrs = new Map();
        this.entities.set(op.entity, attrs);
      }
      const mark = scratch.length;
      const next = applyOp(attrs.get(op.attribute), op, stamp, spec, context, out === null ? null : scratch);
      if (next === undefined) {
        attrs.delete(op.attribute);
        if (attrs.size === 0) this.entities.delete(op.entity);
      } else attrs.set(op.attribute, next);
      if (out === null) continue;
      for (let j = mark; j < scratch.length; j++) {
        const change = scratch[j] as VisibleChange;
        out.push({ entity: op.entity, attribute: op.attribute, value: change.value, added: change.added });
      }
    }
    scratch.length = 0;
    if (whole) context.add(tx.replica, first, last);
    else for (const op of ops) context.add(tx.replica, first + op.offset, first + op.offset);
  }

  /** Merges every register and the context of `other` into this state. */
  merge(other: ReplicaState): DatomChange[] {
    const out: DatomChange[] = [];
    // Merging a state with itself changes nothing (merge is idempotent).
    if (other === this) return out;
    const merged = this.context.clone();
    merged.addAll(other.context);
    // Registers are visited once each: ours (with theirs, if any), then those only they have.
    // Emptied registers and entities are removed at the end, so "only they have" still
    // means "we had none before the merge".
    const emptied: EntityId[] = [];
    for (const [entity, mine] of this.entities) {
      this.mergeEntity(entity, mine, other.entities.get(entity), other.context, merged, out);
      if (mine.size === 0) emptied.push(entity);
    }
    for (const [entity, theirs] of other.entities) {
      if (this.entities.has(entity)) continue;
      const mine = new Map<Attr, Slot>();
      this.mergeEntity(entity, mine, theirs, other.context, merged, out);
      if (mine.size > 0) this.entities.set(entity, mine);
    }
    for (const entity of emptied) this.entities.delete(entity);
    this.context.addAll(other.context);
    return out;
  }

  /** Merges `theirs` into `mine`, the registers of one entity, in place. */
  private mergeEntity(
    entity: EntityId,
    mine: Map<Attr, Slot>,
    theirs: ReadonlyMap<Attr, Slot> | undefined,
    theirContext: CausalContext,
    merged: CausalContext,
    out: DatomChange[],
  ): void {
    let emptied: Attr[] | undefined;
    for (const [attribute, before] of mine) {
      const spec = this.spec(attribute);
      const after = mergeSlots(before, this.context, theirs?.get(attribute), theirContext, merged, spec);
      if (after === undefined) {
        emptied ??= [];
        emptied.push(attribute);
      } else if (after !== before) mine.set(attribute, after);
      diffVisible(entity, attribute, spec, before, after, out);
    }
    if (theirs !== undefined) {
      for (const [attribute, slot] of theirs) {
        if (mine.has(attribute)) continue;
        const spec = this.spec(attribute);
        const after = mergeSlots(undefined, this.context, slot, theirContext, merged, spec);
        if (after !== undefined) mine.set(attribute, after);
        diffVisible(entity, attribute, spec, undefined, after, out);
      }
    }
    if (emptied !== undefined) for (const attribute of emptied) mine.delete(attribute);
  }

  /**
   * Drops what no future op can concern, given the causally stable frontier
   * (the pointwise minimum of the vectors of every known replica): pending
   * marks at or below it, and with `pruneHistory` the history it makes stable.
   * The visible state does not change.
   */
  compact(frontier: VersionVector, options: { pruneHistory?: boolean } = {}): void {
    this.context.advanceTo(frontier);
    const prune = options.pruneHistory === true;
    for (const [entity, attrs] of this.entities) {
      for (const [attribute, slot] of attrs) {
        if (slot instanceof Version) continue;
        const next = compactSlot(slot, frontier, prune);
        if (next === undefined) attrs.delete(attribute);
        else attrs.set(attribute, next);
      }
      if (attrs.size === 0) this.entities.delete(entity);
    }
  }

  slot(entity: EntityId, attribute: Attr): Slot | undefined {
    return this.entities.get(entity)?.get(attribute);
  }

  /** Replaces one register wholesale (decoding, and installing state from an authority). */
  setSlot(entity: EntityId, attribute: Attr, slot: Slot | undefined): void {
    let attrs = this.entities.get(entity);
    if (slot === undefined) {
      if (attrs === undefined) return;
      attrs.delete(attribute);
      if (attrs.size === 0) this.entities.delete(entity);
      return;
    }
    if (attrs === undefined) {
      attrs = new Map();
      this.entities.set(entity, attrs);
    }
    attrs.set(attribute, slot);
  }

  /** The winner of a cardinality-one attribute. */
  value(entity: EntityId, attribute: Attr): Value | undefined {
    return winnerOf(liveOf(this.slot(entity, attribute)))?.value;
  }

  /** The visible values: at most one for cardinality one, the set for many. */
  values(entity: EntityId, attribute: Attr): Value[] {
    return visibleValues(this.slot(entity, attribute), this.spec(attribute));
  }

  /** The live versions of one register: what an author writing to it has seen. */
  live(entity: EntityId, attribute: Attr): Array<{ dot: Dot; value: Value }> {
    return liveOf(this.slot(entity, attribute)).map((v) => ({
      dot: { replica: v.tx.replica, counter: v.tx.counter + v.offset },
      value: v.value,
    }));
  }

  hasEntity(entity: EntityId): boolean {
    return this.entities.has(entity);
  }

  entityIds(): IterableIterator<EntityId> {
    return this.entities.keys();
  }

  attributesOf(entity: EntityId): IterableIterator<[Attr, Slot]> {
    return (this.entities.get(entity) ?? new Map<Attr, Slot>()).entries();
  }

  /** Every register, entity by entity, as `registers()` yields them but without an array per register. */
  forEachRegister(visit: (entity: EntityId, attribute: Attr, slot: Slot) => void): void {
    this.entities.forEach((attrs, entity) => {
      attrs.forEach((slot, attribute) => {
        visit(entity, attribute, slot);
      });
    });
  }

  /** Every register, entity by entity. */
  *registers(): IterableIterator<[EntityId, Attr, Slot]> {
    for (const [entity, attrs] of this.entities) {
      for (const [attribute, slot] of attrs) yield [entity, attribute, slot];
    }
  }

  /** Every visible datom. */
  *datoms(): IterableIterator<[EntityId, Attr, Value]> {
    for (const [entity, attrs] of this.entities) {
      for (const [attribute, slot] of attrs) {
        if (slot instanceof Version) yield [entity, attribute, slot.value];
        else for (const value of visibleValues(slot, this.spec(attribute))) yield [entity, attribute, value];
      }
    }
  }

  /** The vector of contiguously applied dots. */
  vector(): VersionVector {
    return this.context.toVector();
  }

  entityCount(): number {
    return this.entities.size;
  }

  /** Throws `replica-reused` if `tx` claims to come from `self` but was never issued here. */
  static assertNotReused(self: ReplicaId, issuedUpTo: number, tx: Transaction): void {
    if (tx.replica === self && tx.counter > issuedUpTo) {
      throw new DatsyncError(
        ErrorCode.ReplicaReused,
        'an op carries this replica id but was not issued by this replica: its storage was lost or copied',
        { counter: tx.counter, issuedUpTo },
      );
    }
  }
}

/** Appends to `out` the visible difference between two slots of one register. */
export function diffVisible(
  entity: EntityId,
  attribute: Attr,
  spec: AttributeSpec,
  before: Slot | undefined,
  after: Slot | undefined,
  out: DatomChange[],
): void {
  if (before === after) return;
  // A slot shows at most one value when it is a lone version, or a cardinality-one
  // register (its winner): compare the two values without building lists.
  if (spec.cardinality === Cardinality.One || (!(before instanceof Register) && !(after instanceof Register))) {
    const was = shownVersion(before);
    const now = shownVersion(after);
    if (was !== undefined && now !== undefined && valuesEqual(was.value, now.value)) return;
    if (was !== undefined) out.push({ entity, attribute, value: was.value, added: false });
    if (now !== undefined) out.push({ entity, attribute, value: now.value, added: true });
    return;
  }
  const was = visibleValues(before, spec);
  const now = visibleValues(after, spec);
  for (const value of was) if (!now.some((v) => valuesEqual(v, value))) out.push({ entity, attribute, value, added: false });
  for (const value of now) if (!was.some((v) => valuesEqual(v, value))) out.push({ entity, attribute, value, added: true });
}

/** The version a slot shows when it shows at most one: itself if lone, else the winner of its live versions. */
function shownVersion(slot: Slot | undefined): Version | undefined {
  if (slot === undefined || slot instanceof Version) return slot;
  return winnerOf(slot.live);
}
