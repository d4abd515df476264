/**
 * History, as-of databases and conflicts, as the application sees them:
 * values as DataScript holds them (eids for refs, `Date`s for instants).
 *
 * @module
 */
import type { Attr, EntityId, Hlc, ReplicaId, Slot, TxId, Value } from '../../crdt/index.js';
import {
  conflictsIn,
  DatsyncError,
  ErrorCode,
  historyOf,
  hlcWallMs,
  isHlc,
  isTxId,
  Register,
  Version,
  valuesAsOf,
} from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import { TX0 } from '../datascript/index.js';
import { bulkDb } from '../projection/projection.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import type { Replica } from './replica.js';

export interface HistoryItem {
  readonly kind: 'assert' | 'retract';
  /** The value as the projection shows it (undefined for a retraction of every value). */
  readonly value: unknown;
  readonly tx: TxId;
  readonly time: Date;
  readonly hlc: Hlc;
  readonly replica: ReplicaId;
  /** Still live: the winner or a sibling. */
  readonly live: boolean;
  /** The transaction that replaced it, if any. */
  readonly supersededBy: TxId | null;
  /** Written here and not yet accepted by the server. */
  readonly pending: boolean;
}

export function historyItems(replica: Replica, entity: EntityId, attribute: Attr): HistoryItem[] {
  const def = replica.schema.attributes.get(attribute);
  if (def === undefined) return [];
  return historyOf(replica.state.slot(entity, attribute)).map((entry) => ({
    kind: entry.kind,
    value: entry.value === undefined ? undefined : replica.projection.toDataScript(def, entry.value),
    tx: entry.tx,
    time: new Date(hlcWallMs(entry.hlc)),
    hlc: entry.hlc,
    replica: entry.replica,
    live: entry.live,
    supersededBy: entry.supersededBy,
    pending: replica.state.isPending(entry.tx),
  }));
}

export type AsOfPoint = TxId | Date | number;

function stampsOf(slot: Slot): Array<{ tx: TxId; hlc: Hlc }> {
  const out: Array<{ tx: TxId; hlc: Hlc }> = [];
  const push = (replica: ReplicaId, counter: number, hlc: Hlc): void => {
    out.push({ tx: `${replica}:${counter}` as TxId, hlc });
  };
  if (slot instanceof Version) push(slot.tx.replica, slot.tx.counter, slot.tx.hlc);
  else if (slot instanceof Register) {
    for (const v of slot.live) push(v.tx.replica, v.tx.counter, v.tx.hlc);
    for (const p of slot.past ?? []) push(p.tx.replica, p.tx.counter, p.tx.hlc);
  }
  return out;
}

/** The hybrid-logical time a point names: a transaction's own time, or the end of a millisecond. */
export function pointToHlc(replica: Replica, point: AsOfPoint): Hlc {
  if (point instanceof Date || typeof point === 'number') {
    const ms = point instanceof Date ? point.getTime() : point;
    if (!Number.isFinite(ms) || ms < 0) throw new DatsyncError(ErrorCode.InvalidQuery, 'asOf needs a valid time');
    const hlc = Math.floor(ms) * 1024 + 1023;
    if (!isHlc(hlc)) throw new DatsyncError(ErrorCode.InvalidQuery, 'asOf time out of range');
    return hlc;
  }
  if (!isTxId(point)) throw new DatsyncError(ErrorCode.InvalidQuery, 'asOf needs a transaction id, a Date or epoch milliseconds');
  const remembered = replica.timeOf(point);
  if (remembered !== undefined) return remembered;
  for (const [, , slot] of replica.state.registers()) {
    for (const stamp of stampsOf(slot)) if (stamp.tx === point) return stamp.hlc;
  }
  throw new DatsyncError(ErrorCode.InvalidQuery, 'asOf: this replica holds no version written by that transaction', { tx: point });
}

/**
 * The database as of a point: every register as it stood then. Exact for
 * attributes with history; see docs/crdt.md for those without.
 */
export function asOfDb(replica: Replica, point: AsOfPoint): Db {
  const at = pointToHlc(replica, point);
  const rows: Array<readonly [Eid, string, unknown, number]> = [];
  const shown = new Set<EntityId>();
  for (const [entity, attribute, slot] of replica.state.registers()) {
    const def = replica.schema.attributes.get(attribute);
    if (def === undefined) continue;
    for (const value of valuesAsOf(slot, def, at)) {
      rows.push([replica.projection.eid(entity), attribute, replica.projection.toDataScript(def, value), TX0]);
      shown.add(entity);
    }
  }
  for (const entity of shown) rows.push([replica.projection.eid(entity), ENTITY_ID_ATTR, entity, TX0]);
  return bulkDb(rows, replica.schema);
}

export type ConflictInfo =
  | {
      readonly kind: 'siblings';
      readonly entity: Eid;
      readonly entityId: EntityId;
      readonly attribute: Attr;
      /** The value shown. */
      readonly value: unknown;
      readonly siblings: ReadonlyArray<{ readonly value: unknown; readonly tx: TxId; readonly time: Date; readonly replica: ReplicaId }>;
    }
  | {
      readonly kind: 'unique';
      readonly attribute: Attr;
      readonly value: unknown;
      /** Entities claiming the value; the first one holds it in the projection. */
      readonly entities: readonly Eid[];
      readonly entityIds: readonly EntityId[];
    };

export function conflictInfos(replica: Replica, entity?: EntityId): ConflictInfo[] {
  const registers =
    entity === undefined
      ? replica.state.registers()
      : replica.state.attributesOf(entity).flatMap((attribute) => {
          const slot = replica.state.slot(entity, attribute);
          return slot === undefined ? [] : [[entity, attribute, slot] as const];
        });
  const out: ConflictInfo[] = [];
  for (const conflict of conflictsIn(registers, replica.schema.specs)) {
    const def = replica.schema.attributes.get(conflict.attribute);
    if (def === undefined) continue;
    const show = (value: Value): unknown => replica.projection.toDataScript(def, value);
    out.push({
      kind: 'siblings',
      entity: replica.projection.eid(conflict.entity),
      entityId: conflict.entity,
      attribute: conflict.attribute,
      value: show(conflict.winner),
      siblings: conflict.siblings.map((s) => ({ value: show(s.value), tx: s.tx, time: new Date(hlcWallMs(s.hlc)), replica: s.replica })),
    });
  }
  for (const conflict of replica.projection.uniqueConflicts(entity)) {
    const def = replica.schema.attributes.get(conflict.attribute);
    out.push({
      kind: 'unique',
      attribute: conflict.attribute,
      value: def === undefined ? conflict.value : replica.projection.toDataScript(def, conflict.value),
      entities: conflict.entities.map((id) => replica.projection.eid(id)),
      entityIds: conflict.entities,
    });
  }
  return out;
}
