/**
 * Read-only views of registers: history, conflicts, and the state as of a
 * point in hybrid-logical time.
 *
 * @module
 */
import type { Hlc } from './hlc.js';
import type { Attr, EntityId, ReplicaId, TxId } from './ids.js';
import { txIdOf } from './ids.js';
import type { OpKind } from './op.js';
import { OpKind as Kind } from './op.js';
import type { OpRef, Slot } from './register.js';
import { compareRefs, dotCounter, liveOf, Version, winnerOf } from './register.js';
import type { ReplicaState } from './replica-state.js';
import type { AttributeSpec, AttributeSpecs } from './schema.js';
import { Cardinality } from './schema.js';
import type { Value } from './values.js';
import { valuesEqual } from './values.js';

export interface HistoryEntry {
  readonly kind: OpKind;
  readonly value: Value | undefined;
  readonly tx: TxId;
  readonly replica: ReplicaId;
  readonly counter: number;
  readonly hlc: Hlc;
  /** Still live (a sibling or the winner). */
  readonly live: boolean;
  /** The transaction of the earliest op that replaced it, if any. */
  readonly supersededBy: TxId | null;
}

function txOfRef(ref: OpRef): TxId {
  return txIdOf(ref.tx.replica, ref.tx.counter);
}

/**
 * Every version the register holds, oldest first (by hlc, then replica, then
 * counter: a linear extension of causal order). Without history retention
 * only the live versions remain.
 */
export function historyOf(slot: Slot | undefined): HistoryEntry[] {
  if (slot === undefined) return [];
  const entries: Array<{ ref: OpRef; entry: HistoryEntry }> = [];
  for (const version of liveOf(slot)) {
    entries.push({
      ref: version,
      entry: {
        kind: Kind.Assert,
        value: version.value,
        tx: txOfRef(version),
        replica: version.tx.replica,
        counter: dotCounter(version),
        hlc: version.tx.hlc,
        live: true,
        supersededBy: null,
      },
    });
  }
  if (!(slot instanceof Version) && slot.past !== null) {
    for (const past of slot.past) {
      entries.push({
        ref: past,
        entry: {
          kind: past.kind,
          value: past.value,
          tx: txOfRef(past),
          replica: past.tx.replica,
          counter: dotCounter(past),
          hlc: past.tx.hlc,
          live: false,
          supersededBy: past.supersededBy === null ? null : txOfRef(past.supersededBy),
        },
      });
    }
  }
  entries.sort((a, b) => compareRefs(a.ref, b.ref));
  return entries.map((item) => item.entry);
}

export interface Conflict {
  readonly entity: EntityId;
  readonly attribute: Attr;
  /** The value shown (the deterministic winner). */
  readonly winner: Value;
  /** Every live value, winner included, in winner order (greatest first). */
  readonly siblings: ReadonlyArray<{ readonly value: Value; readonly tx: TxId; readonly hlc: Hlc; readonly replica: ReplicaId }>;
}

/** Cardinality-one registers holding concurrent siblings, for one entity or all. */
export function conflictsOf(state: ReplicaState, entity?: EntityId): Conflict[] {
  const registers: Iterable<readonly [EntityId, Attr, Slot]> =
    entity === undefined
      ? state.registers()
      : [...state.attributesOf(entity)].map(([attribute, slot]) => [entity, attribute, slot] as const);
  return conflictsIn(registers, state.specs);
}

/** The conflicts among any set of registers (a whole state, a tentative view, one entity). */
export function conflictsIn(registers: Iterable<readonly [EntityId, Attr, Slot]>, specs: AttributeSpecs): Conflict[] {
  const out: Conflict[] = [];
  for (const [id, attribute, slot] of registers) {
    if (slot instanceof Version || slot.live.length < 2) continue;
    if (specs.get(attribute)?.cardinality !== Cardinality.One) continue;
    const live = [...slot.live].sort((a, b) => compareRefs(b, a));
    out.push({
      entity: id,
      attribute,
      winner: (live[0] as Version).value,
      siblings: live.map((v) => ({ value: v.value, tx: txOfRef(v), hlc: v.tx.hlc, replica: v.tx.replica })),
    });
  }
  return out;
}

/**
 * The visible values of a register as of hybrid-logical time `at`: the
 * versions written at or before `at` that no op at or before `at` replaced.
 * Exact for attributes with history; without history only live versions are
 * known, so a value overwritten since `at` is missing.
 */
export function valuesAsOf(slot: Slot | undefined, spec: AttributeSpec, at: Hlc): Value[] {
  if (slot === undefined) return [];
  const candidates: Version[] = [];
  for (const version of liveOf(slot)) if (version.tx.hlc <= at) candidates.push(version);
  if (!(slot instanceof Version) && slot.past !== null) {
    for (const past of slot.past) {
      if (past.kind !== Kind.Assert || past.tx.hlc > at) continue;
      if (past.supersededBy !== null && past.supersededBy.tx.hlc <= at) continue;
      candidates.push(new Version(past.tx, past.offset, past.value as Value));
    }
  }
  if (spec.cardinality === Cardinality.One) {
    const winner = winnerOf(candidates);
    return winner === undefined ? [] : [winner.value];
  }
  const out: Value[] = [];
  for (const version of candidates) if (!out.some((v) => valuesEqual(v, version.value))) out.push(version.value);
  return out;
}
