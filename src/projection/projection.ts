/**
 * The projection of a replica's visible datoms into a DataScript database.
 *
 * Entities get DataScript integer ids (eids) local to this projection; each
 * entity's stable id is the value of its `datsync/id` attribute (unique
 * identity), so `["datsync/id", id]` works as a lookup ref. Ref values
 * become eids and instants become `Date`s.
 *
 * The projection follows the CRDT's stream of visible changes: each applied
 * change becomes exactly one DataScript add or retract (never a no-op), and a
 * large state is built in one pass with `init_db`, never by replay.
 *
 * @module
 */
import type { Attr, DatomChange, EntityId, JsonValue, Value } from '../../crdt/index.js';
import { Cardinality } from '../../crdt/index.js';
import type { Db, Eid, TxOp } from '../datascript/index.js';
import { dbWith, emptyDb } from '../datascript/index.js';
import type { AttributeDef, Schema } from '../schema.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import { bulkDb, DatomBuffer } from './bulk.js';
import { internJson } from './json.js';
import type { UniqueConflict } from './unique.js';
import { UniqueArbiter } from './unique.js';

/** A datom as the application sees it in a report: eids, `Date`s. */
export interface ProjectedDatom {
  readonly e: Eid;
  readonly a: Attr;
  readonly v: unknown;
  readonly added: boolean;
}

interface Changed {
  readonly datoms: readonly ProjectedDatom[];
  /** Attributes whose visible datoms changed. */
  readonly attributes: ReadonlySet<Attr>;
  /** Entities whose visible datoms changed. */
  readonly entities: ReadonlySet<Eid>;
}

export interface ProjectionReport extends Changed {
  readonly dbBefore: Db;
  readonly dbAfter: Db;
}

/** What staged changes changed; the databases before and after them are `at(before)` and `at(after)`. */
export interface StagedChanges extends Changed {
  readonly before: number;
  readonly after: number;
}

export { bulkDb } from './bulk.js';

/** Visible datoms handed over one by one (a `TentativeState`), rather than iterated. */
export interface VisibleDatoms {
  forEachDatom(visit: (entity: EntityId, attribute: Attr, value: Value) => void): void;
}

export class Projection {
  private readonly schema: Schema;
  private current: Db;
  private readonly eids = new Map<EntityId, Eid>();
  private readonly ids = new Map<Eid, EntityId>();
  private nextEid = 1;
  /** Datoms shown per entity: its `datsync/id` datom exists while this is above zero. */
  private readonly shown = new Map<EntityId, number>();
  private readonly unique = new UniqueArbiter();
  /** Ops `stage` took and DataScript has not yet transacted: the next read transacts them, in order. */
  private pending: TxOp[] = [];
  /** Ops transacted since this projection began: with `pending`, what marks count. */
  private transacted = 0;

  constructor(schema: Schema) {
    this.schema = schema;
    this.current = emptyDb(schema.datascript);
  }

  get db(): Db {
    return this.flush();
  }

  /** Transacts whatever is staged (see `stage`); the database as it now stands. */
  flush(): Db {
    return this.at(this.mark);
  }

  /** Ops staged so far: where a database `at` can be asked for. */
  get mark(): number {
    return this.transacted + this.pending.length;
  }

  /**
   * The database once the ops staged up to `mark` are applied. It
   * transacts the staged ops up to there in one DataScript transaction (which
   * takes them in order, as one at a time would), so a mark already passed
   * cannot be had again.
   */
  at(mark: number): Db {
    const count = mark - this.transacted;
    if (count < 0 || count > this.pending.length) throw new Error('projection: that database is no longer at hand');
    if (count > 0) {
      const ops = this.pending.splice(0, count);
      this.transacted = mark;
      this.current = dbWith(this.current, ops);
    }
    return this.current;
  }

  /** The eid of an entity, allocated on first sight. */
  eid(id: EntityId): Eid {
    let eid = this.eids.get(id);
    if (eid === undefined) {
      eid = this.nextEid++;
      this.eids.set(id, eid);
      this.ids.set(eid, id);
    }
    return eid;
  }

  existingEid(id: EntityId): Eid | undefined {
    return this.eids.get(id);
  }

  entityId(eid: Eid): EntityId | undefined {
    return this.ids.get(eid);
  }

  /** A CRDT value as DataScript holds it. */
  toDataScript(def: AttributeDef, value: Value): unknown {
    if (def.valueType === 'ref' && typeof value === 'string') return this.eid(value as EntityId);
    if (def.valueType === 'instant' && typeof value === 'number') return new Date(value);
    if (def.valueType === 'json') return internJson(value as JsonValue);
    return value;
  }

  /** A DataScript value (as found in query results) back as a CRDT value. */
  fromDataScript(def: AttributeDef, value: unknown): unknown {
    if (def.valueType === 'ref' && typeof value === 'number') return this.ids.get(value);
    if (def.valueType === 'instant' && value instanceof Date) return value.getTime();
    return value;
  }

  private def(attribute: Attr): AttributeDef {
    const def = this.schema.attributes.get(attribute);
    if (def === undefined) throw new Error(`projection: attribute ${attribute} is not in the schema`);
    return def;
  }

  /** Applies visible changes to the database; returns what changed. */
  apply(changes: readonly DatomChange[]): ProjectionReport {
    const dbBefore = this.db;
    const { datoms, attributes, entities } = this.stage(changes);
    return { dbBefore, dbAfter: this.db, datoms, attributes, entities };
  }

  /**
   * Takes visible changes without transacting them yet: the bookkeeping
   * (eids, unique values, what changed) is done now, the DataScript
   * transaction when a database is next read, together with whatever else
   * was staged by then. A server deciding a group of transactions that no
   * write rule reads the database of pays one DataScript transaction for the
   * group, and pays it after the group is committed.
   */
  stage(changes: readonly DatomChange[]): StagedChanges {
    const before = this.mark;
    const ops: Array<TxOp | null> = [];
    /**
     * Where the retraction of a cardinality-one datom sits in `ops`, by eid
     * and attribute: when the same attribute of the same entity is then
     * added (a value replaced), the retraction is left out, since DataScript's
     * own add of a cardinality-one value retracts the one it replaces (and
     * that is much faster than an explicit retraction followed by an add).
     * Not for unique attributes, whose retraction must come where it is.
     */
    let retracted: Map<Eid, Map<Attr, number>> | undefined;
    const datoms: ProjectedDatom[] = [];
    const attributes = new Set<Attr>();
    const entities = new Set<Eid>();
    const emit = (entity: EntityId, def: AttributeDef, value: Value, added: boolean): void => {
      const e = this.eid(entity);
      const v = this.toDataScript(def, value);
      const count = this.shown.get(entity) ?? 0;
      // Unique values stay explicit: an operation in between may claim the value this retraction frees.
      const one = def.cardinality === Cardinality.One && def.unique === null;
      if (added) {
        if (one && retracted !== undefined) {
          const byAttribute = retracted.get(e);
          const at = byAttribute?.get(def.name);
          if (at !== undefined) {
            ops[at] = null;
            byAttribute?.delete(def.name);
          }
        }
        ops.push([':db/add', e, def.name, v]);
        if (count === 0) {
          ops.push([':db/add', e, ENTITY_ID_ATTR, entity]);
          attributes.add(ENTITY_ID_ATTR);
        }
        this.shown.set(entity, count + 1);
      } else {
        if (one) {
          retracted ??= new Map();
          let byAttribute = retracted.get(e);
          if (byAttribute === undefined) {
            byAttribute = new Map();
            retracted.set(e, byAttribute);
          }
          byAttribute.set(def.name, ops.length);
        }
        ops.push([':db/retract', e, def.name, v]);
        if (count <= 1) {
          ops.push([':db/retract', e, ENTITY_ID_ATTR, entity]);
          attributes.add(ENTITY_ID_ATTR);
          this.shown.delete(entity);
        } else this.shown.set(entity, count - 1);
      }
      datoms.push({ e, a: def.name, v, added });
      attributes.add(def.name);
      entities.add(e);
    };
    for (const change of changes) {
      const def = this.def(change.attribute);
      if (def.unique === null) {
        emit(change.entity, def, change.value, change.added);
        continue;
      }
      const shift = change.added
        ? this.unique.claim(def.name, change.entity, change.value)
        : this.unique.release(def.name, change.entity, change.value);
      if (shift.retract !== undefined) emit(shift.retract, def, change.value, false);
      if (shift.add !== undefined) emit(shift.add, def, change.value, true);
    }
    for (const op of ops) if (op !== null) this.pending.push(op);
    return { before, after: this.mark, datoms, attributes, entities };
  }

  /** Rebuilds the whole database from visible datoms in one pass. */
  rebuild(visible: Iterable<readonly [EntityId, Attr, Value]> | VisibleDatoms): Db {
    // What was staged is in `visible` too.
    this.transacted = this.mark;
    this.pending = [];
    this.shown.clear();
    this.unique.clear();
    const datoms = new DatomBuffer();
    const pendingUnique: Array<readonly [EntityId, AttributeDef, Value]> = [];
    // Datoms come entity by entity (but for tentative registers): count each run of one entity at once.
    let entity: EntityId | undefined;
    let eid = 0;
    let count = 0;
    const flush = (): void => {
      if (entity !== undefined && count > 0) this.shown.set(entity, (this.shown.get(entity) ?? 0) + count);
    };
    const visit = (next: EntityId, attribute: Attr, value: Value): void => {
      const def = this.def(attribute);
      if (def.unique !== null) {
        pendingUnique.push([next, def, value]);
        return;
      }
      if (next !== entity) {
        flush();
        entity = next;
        eid = this.eid(next);
        count = 0;
      }
      datoms.add(eid, attribute, this.toDataScript(def, value));
      count++;
    };
    if ('forEachDatom' in visible) visible.forEachDatom(visit);
    else for (const [next, attribute, value] of visible) visit(next, attribute, value);
    flush();
    for (const [holder, def, value] of pendingUnique) this.unique.claim(def.name, holder, value);
    for (const [holder, def, value] of pendingUnique) {
      if (this.unique.holder(def.name, value) !== holder) continue;
      datoms.add(this.eid(holder), def.name, this.toDataScript(def, value));
      this.shown.set(holder, (this.shown.get(holder) ?? 0) + 1);
    }
    for (const shown of this.shown.keys()) datoms.add(this.eid(shown), ENTITY_ID_ATTR, shown);
    this.current = bulkDb(datoms, this.schema);
    return this.current;
  }

  /** Entities claiming a value of a unique attribute (more than one is a conflict). */
  claimants(attribute: Attr, value: Value): readonly EntityId[] {
    return this.unique.claimants(attribute, value);
  }

  uniqueConflicts(entity?: EntityId): UniqueConflict[] {
    return this.unique.conflicts(entity);
  }
}
