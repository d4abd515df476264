/**
 * State-based merge and compaction of one register.
 *
 * Merge follows the causal-context rule of delta-state CRDTs: a live version
 * survives if both sides hold it live, or if one side holds it and the other
 * has never seen its dot. A version one side has seen but no longer holds
 * live was superseded there, so it is superseded in the merge too.
 *
 * @module
 */
import type { CausalContext } from './causal-context.js';
import { OpKind } from './op.js';
import type { OpRef, PendingMark, Slot } from './register.js';
import { compareRefs, dotCounter, PastVersion, Register, Version } from './register.js';
import type { AttributeSpec } from './schema.js';
import type { VersionVector } from './version-vector.js';

function sameDot(a: OpRef, b: OpRef): boolean {
  return a.tx.replica === b.tx.replica && dotCounter(a) === dotCounter(b);
}

function parts(slot: Slot | undefined): { live: readonly Version[]; past: readonly PastVersion[]; pending: readonly PendingMark[] } {
  if (slot === undefined) return { live: [], past: [], pending: [] };
  if (slot instanceof Version) return { live: [slot], past: [], pending: [] };
  return { live: slot.live, past: slot.past ?? [], pending: slot.pending ?? [] };
}

function markFor(pending: readonly PendingMark[], ref: OpRef): PendingMark | undefined {
  const counter = dotCounter(ref);
  return pending.find((mark) => mark.replica === ref.tx.replica && mark.counter === counter);
}

function least(a: OpRef | null, b: OpRef | null): OpRef | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareRefs(b, a) < 0 ? b : a;
}

/** What a merge accumulates for one register. */
interface MergeAcc {
  readonly live: Version[];
  /** Past versions by "replica:counter"; only filled with history on. */
  readonly past: Map<string, PastVersion>;
  readonly history: boolean;
}

function addPast(acc: MergeAcc, entry: PastVersion): void {
  const key = `${entry.tx.replica}:${dotCounter(entry)}`;
  const existing = acc.past.get(key);
  if (existing === undefined) acc.past.set(key, entry);
  else {
    const by = least(existing.supersededBy, entry.supersededBy);
    if (by !== existing.supersededBy) acc.past.set(key, new PastVersion(existing.tx, existing.offset, existing.kind, existing.value, by));
  }
}

/** Keeps `version` live unless the other side has seen its dot and no longer holds it. */
function keepOrRetire(
  acc: MergeAcc,
  version: Version,
  otherLive: readonly Version[],
  otherContext: CausalContext,
  otherPending: readonly PendingMark[],
): void {
  for (const other of otherLive) {
    if (sameDot(other, version)) {
      acc.live.push(version);
      return;
    }
  }
  const mark = markFor(otherPending, version);
  if (mark === undefined && !otherContext.has(version.tx.replica, dotCounter(version))) {
    acc.live.push(version);
    return;
  }
  if (acc.history && mark !== undefined) {
    addPast(acc, new PastVersion(version.tx, version.offset, OpKind.Assert, version.value, mark.by));
  }
}

/**
 * Merges register `a` (of a state with context `ca`) with register `b` (context
 * `cb`). `merged` is `ca ∪ cb`. Returns a fresh slot; inputs are not changed.
 */
export function mergeSlots(
  a: Slot | undefined,
  ca: CausalContext,
  b: Slot | undefined,
  cb: CausalContext,
  merged: CausalContext,
  spec: AttributeSpec,
): Slot | undefined {
  // Lone versions (nearly every register) carry no history and no marks: each survives
  // unless the other side has seen its dot. This is the general rule below, without its
  // allocations.
  if (!(a instanceof Register) && !(b instanceof Register)) return mergeVersions(a, ca, b, cb);
  const pa = parts(a);
  const pb = parts(b);
  const acc: MergeAcc = { live: [], past: new Map(), history: spec.history };
  for (const version of pa.live) keepOrRetire(acc, version, pb.live, cb, pb.pending);
  for (const version of pb.live) {
    if (pa.live.some((other) => sameDot(other, version))) continue;
    keepOrRetire(acc, version, pa.live, ca, pa.pending);
  }
  const { live, past } = acc;
  if (spec.history) {
    for (const entry of pa.past) addPast(acc, entry);
    for (const entry of pb.past) addPast(acc, entry);
  }
  const pending: PendingMark[] = [];
  for (const mark of [...pa.pending, ...pb.pending]) {
    if (merged.has(mark.replica, mark.counter)) {
      // The version arrived on one side: it was retired above; record the superseder in history.
      const key = `${mark.replica}:${mark.counter}`;
      const entry = past.get(key);
      if (entry !== undefined && entry.kind === OpKind.Assert) {
        const by = least(entry.supersededBy, mark.by);
        if (by !== entry.supersededBy) past.set(key, new PastVersion(entry.tx, entry.offset, entry.kind, entry.value, by));
      }
      continue;
    }
    const index = pending.findIndex((m) => m.replica === mark.replica && m.counter === mark.counter);
    if (index < 0) pending.push(mark);
    else {
      const existing = pending[index] as PendingMark;
      if (compareRefs(mark.by, existing.by) < 0) pending[index] = mark;
    }
  }
  const reg = new Register(live, spec.history && past.size > 0 ? [...past.values()] : null, pending.length > 0 ? pending : null);
  if (reg.past === null && reg.pending === null) {
    if (live.length === 0) return undefined;
    if (live.length === 1) return live[0];
  }
  return reg;
}

/** `mergeSlots` of two slots that are each a lone version or empty. */
function mergeVersions(a: Version | undefined, ca: CausalContext, b: Version | undefined, cb: CausalContext): Slot | undefined {
  if (a !== undefined && b !== undefined && sameDot(a, b)) return a;
  const keepA = a !== undefined && !cb.has(a.tx.replica, dotCounter(a));
  const keepB = b !== undefined && !ca.has(b.tx.replica, dotCounter(b));
  if (keepA && keepB) return new Register([a, b], null, null);
  if (keepA) return a;
  if (keepB) return b;
  return undefined;
}

function covered(frontier: VersionVector, replica: string, counter: number): boolean {
  return (frontier.get(replica as never) ?? 0) >= counter;
}

/**
 * Drops what no future op can concern, given the causally stable frontier:
 * pending marks for dots at or below it (those ops arrived everywhere or were
 * voided), and, when `pruneHistory`, past versions whose superseder is stable.
 */
export function compactSlot(slot: Slot | undefined, frontier: VersionVector, pruneHistory: boolean): Slot | undefined {
  if (slot === undefined || slot instanceof Version) return slot;
  let pending = slot.pending;
  if (pending !== null) {
    pending = pending.filter((mark) => !covered(frontier, mark.replica, mark.counter));
    if (pending.length === 0) pending = null;
  }
  let past = slot.past;
  if (past !== null && pruneHistory) {
    past = past.filter((entry) => {
      if (entry.kind === OpKind.Retract) return !covered(frontier, entry.tx.replica, dotCounter(entry));
      return entry.supersededBy === null || !covered(frontier, entry.supersededBy.tx.replica, dotCounter(entry.supersededBy));
    });
    if (past.length === 0) past = null;
  }
  const reg = new Register([...slot.live], past === null ? null : [...past], pending === null ? null : [...pending]);
  if (reg.past === null && reg.pending === null) {
    if (reg.live.length === 0) return undefined;
    if (reg.live.length === 1) return reg.live[0];
  }
  return reg;
}
