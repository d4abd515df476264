/**
 * What one client may see and has asked for, kept current as the log grows.
 *
 * A client holds a datom (e, a, v) exactly when entity e is in one of its
 * scopes (or it declared none: then every entity) and the read rule of a
 * lets its identity read (e, a). This engine tracks the registers a client
 * holds and, after each durable group of transactions, works out what it
 * must receive: the group's ops on registers it keeps holding (filtered
 * record by record), evictions of registers it may no longer hold, and the
 * full state of registers it now may hold. Only the scopes and read rules a
 * group could affect are re-evaluated (indexed by the attributes they read).
 *
 * @module
 */
import type { Attr, DatomChange, EntityId, Op, Slot, Transaction, TxId } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import { filterDb } from '../datascript/index.js';
import type { Projection } from '../projection/projection.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import type { Appended } from './log.js';
import type { CompiledReadRule } from './permissions.js';
import type { CompiledScope } from './scopes.js';

/** What the engine needs of the server. */
export interface VisibilitySource {
  readonly projection: Projection;
  readonly db: Db;
  readRule(attribute: Attr): CompiledReadRule<unknown>;
  /** The durable register of (entity, attribute). */
  slot(entity: EntityId, attribute: Attr): Slot | undefined;
  /** The attributes of an entity that hold a durable register. */
  attributesOf(entity: EntityId): Iterable<Attr>;
  /** Every durable register. */
  registers(): Iterable<readonly [EntityId, Attr, Slot]>;
}

export type RecordOut =
  | { readonly position: number; readonly tx: Transaction }
  | { readonly position: number; readonly own: Transaction; readonly hidden: readonly number[] };

/** A record entry as the protocol carries it. */
export type RecordEntryOut =
  | { readonly position: number; readonly tx: Transaction }
  | { readonly position: number; readonly own: TxId; readonly hidden?: readonly number[] };

export interface GroupOut {
  readonly records: readonly RecordOut[];
  readonly evict: ReadonlyArray<readonly [EntityId, Attr]>;
  readonly install: ReadonlyArray<readonly [EntityId, Attr, Slot]>;
  readonly through: number;
}

interface ScopeState {
  readonly compiled: CompiledScope;
  result: Set<EntityId>;
}

function pairKey(entity: EntityId, attribute: Attr): string {
  return `${entity}\u0000${attribute}`;
}

export class Visibility {
  private readonly source: VisibilitySource;
  private readonly identity: unknown;
  private readonly identityKey: string;
  private readonly self: string;
  /** Null: the client declared no scopes and sees every entity it may read. */
  private scopes: Map<string, ScopeState> | null;
  private readonly inScope = new Map<EntityId, number>();
  private readonly held = new Map<EntityId, Set<Attr>>();
  /** Read decisions within one group (rules see one database per group). */
  private memo = new Map<string, boolean>();
  /** The client's own queued transactions, whose hidden ops are worked out as they leave. */
  private readonly ownTransactions = new Map<TxId, Transaction>();

  constructor(source: VisibilitySource, identity: unknown, identityKey: string, self: string, scopes: readonly CompiledScope[] | null) {
    this.source = source;
    this.identity = identity;
    this.identityKey = identityKey;
    this.self = self;
    this.scopes =
      scopes === null ? null : new Map(scopes.map((compiled) => [compiled.def.name, { compiled, result: new Set<EntityId>() }]));
  }

  private readable(eid: Eid | undefined, entity: EntityId, attribute: Attr): boolean {
    if (attribute === ENTITY_ID_ATTR) return true;
    const key = pairKey(entity, attribute);
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const rule = this.source.readRule(attribute);
    const id = eid ?? this.source.projection.existingEid(entity);
    const value = id !== undefined && rule.check(this.identity, this.identityKey, id, entity, attribute, this.source.db);
    this.memo.set(key, value);
    return value;
  }

  private covered(entity: EntityId): boolean {
    return this.scopes === null || this.inScope.has(entity);
  }

  /** Whether the client holds (may hold) the register now. */
  holds(entity: EntityId, attribute: Attr): boolean {
    return this.held.get(entity)?.has(attribute) === true;
  }

  /**
   * A record entry as it may leave now: the ops of registers the client
   * still holds (for its own transaction, the offsets it may not keep).
   */
  stillHeld(entry: RecordEntryOut): RecordEntryOut[] {
    if ('own' in entry) {
      const own = this.ownTransactions.get(entry.own);
      if (own === undefined) return [entry];
      this.ownTransactions.delete(entry.own);
      const hidden = own.ops.filter((op) => !this.holds(op.entity, op.attribute)).map((op) => op.offset);
      return [{ position: entry.position, own: entry.own, hidden }];
    }
    const ops = entry.tx.ops.filter((op) => this.holds(op.entity, op.attribute));
    if (ops.length === 0) return [];
    return [{ position: entry.position, tx: ops.length === entry.tx.ops.length ? entry.tx : { ...entry.tx, ops } }];
  }

  private hold(entity: EntityId, attribute: Attr): void {
    let attrs = this.held.get(entity);
    if (attrs === undefined) {
      attrs = new Set();
      this.held.set(entity, attrs);
    }
    attrs.add(attribute);
  }

  private release(entity: EntityId, attribute: Attr): void {
    const attrs = this.held.get(entity);
    if (attrs === undefined) return;
    attrs.delete(attribute);
    if (attrs.size === 0) this.held.delete(entity);
  }

  /** The database as this client's identity may read it (scopes run on it). */
  private readableDb(): Db {
    const projection = this.source.projection;
    return filterDb(this.source.db, (datom) => {
      const entity = projection.entityId(datom.e);
      return entity !== undefined && this.readable(datom.e, entity, datom.a as Attr);
    });
  }

  private evaluate(state: ScopeState, db: Db): { entered: EntityId[]; left: EntityId[] } {
    const next = state.compiled.evaluate(db, (eid) => this.source.projection.entityId(eid));
    const entered: EntityId[] = [];
    const left: EntityId[] = [];
    for (const entity of next) {
      if (state.result.has(entity)) continue;
      const count = this.inScope.get(entity) ?? 0;
      this.inScope.set(entity, count + 1);
      if (count === 0) entered.push(entity);
    }
    for (const entity of state.result) {
      if (next.has(entity)) continue;
      const count = (this.inScope.get(entity) ?? 1) - 1;
      if (count <= 0) {
        this.inScope.delete(entity);
        left.push(entity);
      } else this.inScope.set(entity, count);
    }
    state.result = next;
    return { entered, left };
  }

  /** Every register the client may hold now, which it then holds (the state sent on connect). */
  snapshot(): Array<readonly [EntityId, Attr, Slot]> {
    this.memo.clear();
    this.held.clear();
    this.inScope.clear();
    if (this.scopes !== null) {
      const db = this.readableDb();
      for (const state of this.scopes.values()) {
        state.result = new Set();
        this.evaluate(state, db);
      }
    }
    const out: Array<readonly [EntityId, Attr, Slot]> = [];
    const registers: Iterable<readonly [EntityId, Attr, Slot]> =
      this.scopes === null
        ? this.source.registers()
        : [...this.inScope.keys()].flatMap((entity) =>
            [...this.source.attributesOf(entity)].flatMap((attribute) => {
              const slot = this.source.slot(entity, attribute);
              return slot === undefined ? [] : [[entity, attribute, slot] as const];
            }),
          );
    for (const [entity, attribute, slot] of registers) {
      if (!this.readable(undefined, entity, attribute)) continue;
      this.hold(entity, attribute);
      out.push([entity, attribute, slot]);
    }
    this.memo.clear();
    return out;
  }

  /** Changes the declared scopes; returns what to evict and install. */
  setScopes(scopes: readonly CompiledScope[] | null): GroupOut {
    this.scopes =
      scopes === null ? null : new Map(scopes.map((compiled) => [compiled.def.name, { compiled, result: new Set<EntityId>() }]));
    this.memo.clear();
    this.inScope.clear();
    const before = new Map([...this.held].map(([entity, attrs]) => [entity, new Set(attrs)]));
    const now = this.snapshot();
    const evict: Array<readonly [EntityId, Attr]> = [];
    for (const [entity, attrs] of before)
      for (const attribute of attrs) if (!this.holds(entity, attribute)) evict.push([entity, attribute]);
    const install = now.filter(([entity, attribute]) => before.get(entity)?.has(attribute) !== true);
    return { records: [], evict, install, through: 0 };
  }

  /**
   * Whether a scope reading `deps` may give another result after a group
   * touching `touched`: scopes run on the readable database, so a change to
   * what a read rule of `deps` depends on counts as much as a change to `deps`.
   */
  private mayChange(deps: ReadonlySet<string> | null, touched: ReadonlySet<string>): boolean {
    if (deps === null) return true;
    for (const attribute of deps) {
      if (touched.has(attribute)) return true;
      const ruleDeps = this.source.readRule(attribute as Attr).dependsOn;
      if (ruleDeps === null || [...ruleDeps].some((a) => touched.has(a))) return true;
    }
    return false;
  }

  /** What this client must receive for a durable group of records. */
  advance(group: readonly Appended[]): GroupOut {
    this.memo.clear();
    const touchedEntities = new Set<EntityId>();
    const touchedAttributes = new Set<string>();
    for (const { record, changes } of group) {
      for (const op of record.tx.ops) {
        touchedEntities.add(op.entity);
        touchedAttributes.add(op.attribute);
      }
      noteChanges(changes, touchedAttributes);
    }
    // Scopes a change could affect are evaluated again; the rest keep their result.
    const entered = new Set<EntityId>();
    const left = new Set<EntityId>();
    if (this.scopes !== null) {
      let db: Db | undefined;
      for (const state of this.scopes.values()) {
        if (!this.mayChange(state.compiled.dependsOn, touchedAttributes)) continue;
        db ??= this.readableDb();
        const diff = this.evaluate(state, db);
        for (const entity of diff.entered) left.has(entity) ? left.delete(entity) : entered.add(entity);
        for (const entity of diff.left) entered.has(entity) ? entered.delete(entity) : left.add(entity);
      }
    }
    // Registers whose holding may have changed: of touched or entering entities, and under read rules a change may affect.
    const candidates = new Set<string>();
    const pairs: Array<readonly [EntityId, Attr]> = [];
    const consider = (entity: EntityId, attribute: Attr): void => {
      const key = pairKey(entity, attribute);
      if (candidates.has(key)) return;
      candidates.add(key);
      pairs.push([entity, attribute]);
    };
    for (const entity of [...touchedEntities, ...entered, ...left]) {
      for (const attribute of this.source.attributesOf(entity)) consider(entity, attribute);
      for (const attribute of this.held.get(entity) ?? []) consider(entity, attribute);
    }
    for (const [entity, attrs] of this.held) {
      for (const attribute of attrs) {
        const rule = this.source.readRule(attribute);
        if (rule.local) continue;
        if (rule.dependsOn !== null && ![...rule.dependsOn].some((a) => touchedAttributes.has(a))) continue;
        consider(entity, attribute);
      }
    }
    const heldBefore = new Set<string>();
    const evict: Array<readonly [EntityId, Attr]> = [];
    const install: Array<readonly [EntityId, Attr, Slot]> = [];
    for (const [entity, attribute] of pairs) {
      const had = this.holds(entity, attribute);
      if (had) heldBefore.add(pairKey(entity, attribute));
      const slot = this.source.slot(entity, attribute);
      const should = slot !== undefined && this.covered(entity) && this.readable(undefined, entity, attribute);
      if (should && !had) {
        this.hold(entity, attribute);
        install.push([entity, attribute, slot]);
      } else if (!should && had) {
        this.release(entity, attribute);
        // A register that merely emptied is kept in step by the ops; one the client may no longer see is evicted.
        if (slot !== undefined || !this.covered(entity) || !this.readable(undefined, entity, attribute)) evict.push([entity, attribute]);
      }
    }
    // The group's ops go out for registers held before and after it; new ones arrive as state instead.
    const keeps = (op: Op): boolean => heldBefore.has(pairKey(op.entity, op.attribute)) && this.holds(op.entity, op.attribute);
    const records: RecordOut[] = [];
    for (const { record } of group) {
      const tx = record.tx;
      if (tx.replica === this.self) {
        // The client holds its own ops already; it keeps in its confirmed state those it may hold.
        const hidden = tx.ops.filter((op) => !this.holds(op.entity, op.attribute)).map((op) => op.offset);
        this.ownTransactions.set(transactionId(tx), tx);
        records.push({ position: record.position, own: tx, hidden });
        continue;
      }
      const ops = tx.ops.filter(keeps);
      if (ops.length > 0) records.push({ position: record.position, tx: ops.length === tx.ops.length ? tx : { ...tx, ops } });
    }
    this.memo.clear();
    return { records, evict, install, through: group[group.length - 1]?.record.position ?? 0 };
  }
}

function noteChanges(changes: readonly DatomChange[], into: Set<string>): void {
  for (const change of changes) into.add(change.attribute);
  if (changes.length > 0) into.add(ENTITY_ID_ATTR);
}
