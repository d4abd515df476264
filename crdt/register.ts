/**
 * The versioned register of one (entity, attribute): its live versions, its
 * retained history, and marks for versions superseded before they arrived.
 *
 * A register that holds one live version and nothing else is stored as that
 * `Version` alone (the overwhelmingly common case, and the one the memory
 * budget is set by); anything richer is a `Register`.
 *
 * Semantics (docs/crdt.md):
 * - an op removes exactly the versions it names in `supersedes`;
 * - an assert adds a live version, unless an op that arrived earlier already
 *   named it (a pending mark), in which case it is born superseded;
 * - cardinality one shows the live version with the greatest
 *   (hlc, replica, counter); cardinality many shows the set of live values.
 *
 * @module
 */
import type { Hlc } from './hlc.js';
import type { Dot, ReplicaId } from './ids.js';
import type { Op, OpKind } from './op.js';
import { OpKind as Kind } from './op.js';
import type { AttributeSpec } from './schema.js';
import { Cardinality } from './schema.js';
import type { Value } from './values.js';
import { valuesEqual } from './values.js';

/** What every version of one transaction shares: one object per transaction. */
export class TxStamp {
  readonly replica: ReplicaId;
  readonly counter: number;
  readonly hlc: Hlc;
  constructor(replica: ReplicaId, counter: number, hlc: Hlc) {
    this.replica = replica;
    this.counter = counter;
    this.hlc = hlc;
  }
}

/** A live assertion. Immutable, so states may share it. */
export class Version {
  readonly tx: TxStamp;
  readonly offset: number;
  readonly value: Value;
  constructor(tx: TxStamp, offset: number, value: Value) {
    this.tx = tx;
    this.offset = offset;
    this.value = value;
  }
}

/** Names an op (the superseder of a past version) by its transaction and offset. */
export interface OpRef {
  readonly tx: TxStamp;
  readonly offset: number;
}

/** A retained superseded assertion, or a retraction. Immutable. */
export class PastVersion {
  readonly tx: TxStamp;
  readonly offset: number;
  readonly kind: OpKind;
  readonly value: Value | undefined;
  /** The least (by hlc, replica, counter) op that superseded it; null for a retraction. */
  readonly supersededBy: OpRef | null;
  constructor(tx: TxStamp, offset: number, kind: OpKind, value: Value | undefined, supersededBy: OpRef | null) {
    this.tx = tx;
    this.offset = offset;
    this.kind = kind;
    this.value = value;
    this.supersededBy = supersededBy;
  }
}

/** A dot some op superseded before the op at that dot arrived here. */
export interface PendingMark {
  readonly replica: ReplicaId;
  readonly counter: number;
  readonly by: OpRef;
}

export class Register {
  live: Version[];
  past: PastVersion[] | null;
  pending: PendingMark[] | null;
  constructor(live: Version[], past: PastVersion[] | null, pending: PendingMark[] | null) {
    this.live = live;
    this.past = past;
    this.pending = pending;
  }
}

export type Slot = Version | Register;

/** The dots a register may consult to tell "already applied and gone" from "not yet arrived". */
export interface DotSet {
  hasDot(dot: Dot): boolean;
}

/** A copy that can be changed without changing `slot` (versions are immutable and shared). */
export function cloneSlot(slot: Slot | undefined): Slot | undefined {
  if (slot === undefined || slot instanceof Version) return slot;
  return new Register([...slot.live], slot.past === null ? null : [...slot.past], slot.pending === null ? null : [...slot.pending]);
}

/** A change to the visible datom set of one register. */
export interface VisibleChange {
  readonly added: boolean;
  readonly value: Value;
}

export function dotCounter(ref: OpRef): number {
  return ref.tx.counter + ref.offset;
}

function refIs(ref: OpRef, replica: ReplicaId, counter: number): boolean {
  return ref.tx.replica === replica && ref.tx.counter + ref.offset === counter;
}

/** The total order that picks a winner: hlc, then replica id, then counter. */
export function compareRefs(a: OpRef, b: OpRef): number {
  if (a.tx.hlc !== b.tx.hlc) return a.tx.hlc - b.tx.hlc;
  if (a.tx.replica !== b.tx.replica) return a.tx.replica < b.tx.replica ? -1 : 1;
  return dotCounter(a) - dotCounter(b);
}

function minRef(a: OpRef | null, b: OpRef): OpRef {
  return a === null || compareRefs(b, a) < 0 ? b : a;
}

export function liveOf(slot: Slot | undefined): readonly Version[] {
  if (slot === undefined) return [];
  return slot instanceof Version ? [slot] : slot.live;
}

export function winnerOf(live: readonly Version[]): Version | undefined {
  let best: Version | undefined;
  for (const version of live) if (best === undefined || compareRefs(version, best) > 0) best = version;
  return best;
}

function toRegister(slot: Slot | undefined): Register {
  if (slot === undefined) return new Register([], null, null);
  if (slot instanceof Version) return new Register([slot], null, null);
  return slot;
}

/** The compact form: a lone live version stands for itself; an empty register disappears. */
function normalize(reg: Register): Slot | undefined {
  if (reg.past === null && reg.pending === null) {
    if (reg.live.length === 0) return undefined;
    if (reg.live.length === 1) return reg.live[0];
  }
  return reg;
}

function hasValue(live: readonly Version[], value: Value): boolean {
  for (const version of live) if (valuesEqual(version.value, value)) return true;
  return false;
}

/**
 * Applies one op to a register and appends the visible changes to `out`
 * (null: the caller needs none, as when it rebuilds its view from the state).
 * Returns the new slot (undefined when the register became empty).
 * The caller has checked that the op's dot is not yet in `context`.
 */
export function applyOp(
  slot: Slot | undefined,
  op: Op,
  stamp: TxStamp,
  spec: AttributeSpec,
  context: DotSet,
  out: VisibleChange[] | null,
): Slot | undefined {
  const supersedes = op.supersedes;
  // Fast path: overwrite the one live version of a plain cardinality-one register.
  if (
    slot instanceof Version &&
    op.kind === Kind.Assert &&
    supersedes.length === 1 &&
    !spec.history &&
    spec.cardinality === Cardinality.One
  ) {
    const dot = supersedes[0] as Dot;
    if (refIs(slot, dot.replica, dot.counter)) {
      const next = new Version(stamp, op.offset, op.value as Value);
      if (!valuesEqual(slot.value, next.value)) {
        out?.push({ added: false, value: slot.value }, { added: true, value: next.value });
      }
      return next;
    }
  }
  if (slot === undefined && op.kind === Kind.Assert && supersedes.length === 0 && !spec.history) {
    out?.push({ added: true, value: op.value as Value });
    return new Version(stamp, op.offset, op.value as Value);
  }
  // Fast path: an assert concurrent with the one live version (its author saw nothing here),
  // as every register of two replicas that wrote the same keys offline. Both stay live:
  // siblings of a cardinality-one register, or two members of a set. Same result as the
  // general path, without building the register up step by step.
  if (slot instanceof Version && op.kind === Kind.Assert && supersedes.length === 0 && !spec.history) {
    const added = new Version(stamp, op.offset, op.value as Value);
    const differs = !valuesEqual(slot.value, added.value);
    if (spec.cardinality === Cardinality.One) {
      if (differs && compareRefs(added, slot) > 0) out?.push({ added: false, value: slot.value }, { added: true, value: added.value });
    } else if (differs) out?.push({ added: true, value: added.value });
    return new Register([slot, added], null, null);
  }
  return applyGeneral(toRegister(slot), op, stamp, spec, context, out ?? []);
}

function applyGeneral(reg: Register, op: Op, stamp: TxStamp, spec: AttributeSpec, context: DotSet, out: VisibleChange[]): Slot | undefined {
  const one = spec.cardinality === Cardinality.One;
  const before = one ? winnerOf(reg.live) : undefined;
  const self: OpRef = { tx: stamp, offset: op.offset };
  const removed: Version[] = [];
  for (const dot of op.supersedes) {
    const index = reg.live.findIndex((v) => refIs(v, dot.replica, dot.counter));
    if (index >= 0) {
      const version = reg.live[index] as Version;
      reg.live.splice(index, 1);
      removed.push(version);
      if (spec.history) pushPast(reg, new PastVersion(version.tx, version.offset, Kind.Assert, version.value, self));
      continue;
    }
    if (spec.history && supersedePast(reg, dot, self)) continue;
    // Applied here before and already gone: nothing left to replace.
    if (context.hasDot(dot)) continue;
    addPending(reg, dot, self);
  }
  let added: Version | undefined;
  const counter = stamp.counter + op.offset;
  if (op.kind === Kind.Assert) {
    const mark = takePending(reg, stamp.replica, counter);
    if (mark === undefined) {
      added = new Version(stamp, op.offset, op.value as Value);
      reg.live.push(added);
    } else if (spec.history) {
      pushPast(reg, new PastVersion(stamp, op.offset, Kind.Assert, op.value, mark.by));
    }
  } else if (spec.history) {
    pushPast(reg, new PastVersion(stamp, op.offset, Kind.Retract, op.value, null));
  }
  if (one) {
    const after = winnerOf(reg.live);
    emitWinnerChange(before, after, out);
  } else {
    for (let i = 0; i < removed.length; i++) {
      const value = (removed[i] as Version).value;
      if (hasValue(reg.live, value)) continue;
      let duplicate = false;
      for (let j = 0; j < i; j++) if (valuesEqual((removed[j] as Version).value, value)) duplicate = true;
      if (!duplicate) out.push({ added: false, value });
    }
    if (added !== undefined) {
      // Shown before the op if another live version holds it, or a version this op replaced did
      // (the replaced version's removal was not reported above, since the new version holds the value).
      let shown = hasValue(removed, added.value);
      for (const version of reg.live) if (version !== added && valuesEqual(version.value, added.value)) shown = true;
      if (!shown) out.push({ added: true, value: added.value });
    }
  }
  return normalize(reg);
}

export function emitWinnerChange(before: Version | undefined, after: Version | undefined, out: VisibleChange[]): void {
  if (before === after) return;
  if (before !== undefined && after !== undefined && valuesEqual(before.value, after.value)) return;
  if (before !== undefined) out.push({ added: false, value: before.value });
  if (after !== undefined) out.push({ added: true, value: after.value });
}

function pushPast(reg: Register, entry: PastVersion): void {
  if (reg.past === null) reg.past = [entry];
  else reg.past.push(entry);
}

function supersedePast(reg: Register, dot: Dot, by: OpRef): boolean {
  const past = reg.past;
  if (past === null) return false;
  for (let i = 0; i < past.length; i++) {
    const entry = past[i] as PastVersion;
    if (entry.kind === Kind.Assert && refIs(entry, dot.replica, dot.counter)) {
      const least = minRef(entry.supersededBy, by);
      if (least !== entry.supersededBy) past[i] = new PastVersion(entry.tx, entry.offset, entry.kind, entry.value, least);
      return true;
    }
  }
  return false;
}

function addPending(reg: Register, dot: Dot, by: OpRef): void {
  const pending = reg.pending ?? [];
  const index = pending.findIndex((mark) => mark.replica === dot.replica && mark.counter === dot.counter);
  if (index < 0) pending.push({ replica: dot.replica, counter: dot.counter, by });
  else {
    const mark = pending[index] as PendingMark;
    pending[index] = { replica: mark.replica, counter: mark.counter, by: minRef(mark.by, by) };
  }
  reg.pending = pending;
}

function takePending(reg: Register, replica: ReplicaId, counter: number): PendingMark | undefined {
  const pending = reg.pending;
  if (pending === null) return undefined;
  const index = pending.findIndex((mark) => mark.replica === replica && mark.counter === counter);
  if (index < 0) return undefined;
  const mark = pending[index];
  pending.splice(index, 1);
  if (pending.length === 0) reg.pending = null;
  return mark;
}

/** The visible values of a slot: the winner for cardinality one, the distinct values for many. */
export function visibleValues(slot: Slot | undefined, spec: AttributeSpec): Value[] {
  if (slot === undefined) return [];
  if (slot instanceof Version) return [slot.value];
  if (spec.cardinality === Cardinality.One) {
    const winner = winnerOf(slot.live);
    return winner === undefined ? [] : [winner.value];
  }
  const out: Value[] = [];
  outer: for (const version of slot.live) {
    for (const seen of out) if (valuesEqual(seen, version.value)) continue outer;
    out.push(version.value);
  }
  return out;
}
