/**
 * What one client may see and has asked for, kept current as the log grows.
 *
 * A client holds a datom (e, a, v) exactly when entity e is in one of its
 * scopes (or it declared none: then every entity) and the read rule of a
 * lets its identity read (e, a). This engine tracks the registers a client
 * holds and, after each durable group of transactions, works out what it
 * must receive: the group's ops on registers it keeps holding (filtered
 * record by record), evictions of registers it may no longer hold, and the
 * full state of registers it now may hold.
 *
 * A group is fanned out to every session, so the work per session is kept
 * to what the group can change for it (the group's facts are worked out
 * once for all sessions, in `GroupFacts`):
 *
 * - a scope is asked again only if the group touched an attribute it reads,
 *   or one its read rules read; a scope about one entity at a time is asked
 *   only about the touched entities that were in its result or now hold its
 *   key (`[?e "task/project" "p17"]`: a task of p42 does not ask it); a pull
 *   scope only where a changed reference has an end it reached;
 * - of a touched entity, only the registers the group wrote, or whose read
 *   rule reads what it wrote, are decided again; read rules reading other
 *   entities re-decide every register they govern when what they read
 *   changes;
 * - a session none of that concerns only acknowledges the client's own
 *   transactions; most sessions are not even asked, as the fan-out index
 *   (`interest.ts`, which this engine keeps informed of what the client
 *   holds, selects and asks for) leaves them out.
 *
 * A scope may declare a minimum interval between evaluations: changes to
 * its result then wait until the interval has passed (`dueAt`, `refresh`).
 *
 * @module
 */
import type { Attr, EntityId, Op, Slot, Transaction, TxId } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import { datoms, filterDb } from '../datascript/index.js';
import type { Projection } from '../projection/projection.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import { GroupFacts } from './group-facts.js';
import type { InterestHandle } from './interest.js';
import type { Appended } from './log.js';
import type { CompiledReadRule } from './permissions.js';
import { intersects, ScopeTracker } from './scope-tracker.js';
import type { ScopeView } from './scope-view.js';
import type { CompiledScope } from './scopes.js';

/** What the engine needs of the server. */
export interface VisibilitySource {
  readonly projection: Projection;
  readonly db: Db;
  /** Every attribute of the schema. */
  readonly attributes: readonly Attr[];
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
  | { readonly position: number; readonly own: TxId; readonly digest: number; readonly hidden?: readonly number[] };

export interface GroupOut {
  readonly records: readonly RecordOut[];
  readonly evict: ReadonlyArray<readonly [EntityId, Attr]>;
  readonly install: ReadonlyArray<readonly [EntityId, Attr, Slot]>;
  readonly through: number;
}

const NONE: readonly Attr[] = [];

function pairKey(entity: EntityId, attribute: Attr): string {
  return `${entity}\u0000${attribute}`;
}

export class Visibility {
  private readonly source: VisibilitySource;
  private readonly identity: unknown;
  private readonly identityKey: string;
  private readonly self: string;
  private readonly now: () => number;
  private readonly scopes: ScopeTracker;
  private readonly interest: InterestHandle;
  private readonly held = new Map<EntityId, Set<Attr>>();
  /** Held registers whose read rule reads other entities, by attribute: a change elsewhere re-checks them. */
  private readonly heldNonLocal = new Map<Attr, Set<EntityId>>();
  /** Attributes whose read rule reads other entities than the one it decides about. */
  private readonly nonLocal: readonly Attr[];
  /** Read decisions within one group (rules see one database per group). */
  private memo = new Map<string, boolean>();
  private currentView: ScopeView | undefined;
  /** The memo or the view holds something of the pass under way. */
  private dirty = false;
  /** The client's own queued transactions, whose hidden ops are worked out as they leave. */
  private readonly ownTransactions = new Map<TxId, Transaction>();

  constructor(
    source: VisibilitySource,
    identity: unknown,
    identityKey: string,
    self: string,
    scopes: readonly CompiledScope[] | null,
    now: () => number,
    interest: InterestHandle,
  ) {
    this.source = source;
    this.interest = interest;
    this.identity = identity;
    this.identityKey = identityKey;
    this.self = self;
    this.now = now;
    const nonLocal = source.attributes.filter((attribute) => !source.readRule(attribute).local);
    this.nonLocal = nonLocal.length === 0 ? NONE : nonLocal;
    this.scopes = new ScopeTracker(
      {
        projection: source.projection,
        readRule: (attribute) => source.readRule(attribute),
        view: () => this.view(),
        selected: (entity, on) => interest.selected(entity, on),
      },
      scopes,
    );
    interest.scopes(this.scopes.triggers());
  }

  /** The session is gone: the fan-out index forgets it. */
  dispose(): void {
    for (const entity of this.held.keys()) this.interest.held(entity, false);
    for (const entity of this.scopes.everything ? [] : this.scopes.entities()) this.interest.selected(entity, false);
    this.interest.drop();
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
    this.dirty = true;
    return value;
  }

  private covered(entity: EntityId): boolean {
    return this.scopes.covers(entity);
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
      return [{ position: entry.position, own: entry.own, digest: entry.digest, hidden }];
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
      // A client without scopes is concerned by every group anyway: the index need not know each entity.
      if (!this.scopes.everything) this.interest.held(entity, true);
    }
    attrs.add(attribute);
    if (attribute === ENTITY_ID_ATTR || this.source.readRule(attribute).local) return;
    let entities = this.heldNonLocal.get(attribute);
    if (entities === undefined) {
      entities = new Set();
      this.heldNonLocal.set(attribute, entities);
    }
    entities.add(entity);
  }

  private release(entity: EntityId, attribute: Attr): void {
    const attrs = this.held.get(entity);
    if (attrs === undefined) return;
    attrs.delete(attribute);
    if (attrs.size === 0) {
      this.held.delete(entity);
      this.interest.held(entity, false);
    }
    const entities = this.heldNonLocal.get(attribute);
    entities?.delete(entity);
    if (entities?.size === 0) this.heldNonLocal.delete(attribute);
  }

  /** Scopes run on the database as this client's identity may read it. */
  private view(): ScopeView {
    if (this.currentView === undefined) {
      this.dirty = true;
      const projection = this.source.projection;
      const readable = (eid: Eid, attribute: string): boolean => {
        const entity = projection.entityId(eid);
        return entity !== undefined && this.readable(eid, entity, attribute as Attr);
      };
      this.currentView = {
        db: filterDb(this.source.db, (datom) => readable(datom.e, datom.a)),
        whole: this.source.db,
        readable,
        entityIdOf: (eid) => projection.entityId(eid),
      };
    }
    return this.currentView;
  }

  /** Starts a pass over one database value: read decisions and the readable view are per database. */
  private begin(): void {
    // Most passes decide nothing: touching as little as possible then is what keeps a fan-out to thousands cheap.
    if (this.dirty) {
      this.dirty = false;
      this.memo.clear();
      this.currentView = undefined;
    }
    this.scopes.begin();
  }

  /** Every register the client may hold now, which it then holds (the state sent on connect). */
  snapshot(): Array<readonly [EntityId, Attr, Slot]> {
    this.begin();
    for (const entity of this.held.keys()) this.interest.held(entity, false);
    this.held.clear();
    this.heldNonLocal.clear();
    this.scopes.evaluateAll(this.now());
    this.interest.stale(false);
    const out: Array<readonly [EntityId, Attr, Slot]> = [];
    const registers: Iterable<readonly [EntityId, Attr, Slot]> = this.scopes.everything
      ? this.source.registers()
      : [...this.scopes.entities()].flatMap((entity) =>
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
    this.begin();
    return out;
  }

  /** Changes the declared scopes; returns what to evict and install. */
  setScopes(scopes: readonly CompiledScope[] | null): GroupOut {
    // A scope that fails throws here, before anything changed: the client keeps its previous scopes.
    this.begin();
    for (const scope of scopes ?? []) scope.evaluate(this.view());
    this.scopes.declare(scopes);
    this.interest.scopes(this.scopes.triggers());
    const before = new Map([...this.held].map(([entity, attrs]) => [entity, new Set(attrs)]));
    const now = this.snapshot();
    const evict: Array<readonly [EntityId, Attr]> = [];
    for (const [entity, attrs] of before)
      for (const attribute of attrs) if (!this.holds(entity, attribute)) evict.push([entity, attribute]);
    const install = now.filter(([entity, attribute]) => before.get(entity)?.has(attribute) !== true);
    return { records: [], evict, install, through: 0 };
  }

  /** When a scope held back by its minimum interval is due, if one is. */
  dueAt(): number | undefined {
    return this.scopes.dueAt();
  }

  /** Evaluates the scopes whose minimum interval has passed; returns what to evict and install. */
  refresh(): GroupOut {
    this.begin();
    this.scopes.refresh(this.now());
    const { evict, install } = this.settle(new Map(), new Set());
    this.begin();
    this.interest.stale(this.scopes.dueAt() !== undefined);
    return { records: [], evict, install, through: 0 };
  }

  /** What this client must receive for a durable group of records. */
  advance(group: readonly Appended[]): GroupOut {
    this.begin();
    const facts = GroupFacts.of(group, this.source);
    this.scopes.advance(facts, this.now());
    this.interest.stale(this.scopes.dueAt() !== undefined);
    const through = group[group.length - 1]?.record.position ?? 0;
    const records: RecordOut[] = [];
    // Most groups concern most clients not at all: then only their own transactions need answering.
    if (this.scopes.entered.size === 0 && this.scopes.left.size === 0 && !this.concerned(facts)) {
      for (const { record } of group) if (record.tx.replica === this.self) records.push(this.own(record.position, record.tx));
      return { records, evict: [], install: [], through };
    }
    const { evict, install, heldBefore } = this.settle(facts.entities, facts.attributes);
    // The group's ops go out for registers held before and after it; new ones arrive as state instead.
    const keeps = (op: Op): boolean => heldBefore.has(pairKey(op.entity, op.attribute)) && this.holds(op.entity, op.attribute);
    for (const { record } of group) {
      const tx = record.tx;
      if (tx.replica === this.self) {
        records.push(this.own(record.position, tx));
        continue;
      }
      const ops = tx.ops.filter(keeps);
      if (ops.length > 0) records.push({ position: record.position, tx: ops.length === tx.ops.length ? tx : { ...tx, ops } });
    }
    this.begin();
    return { records, evict, install, through };
  }

  /** The client holds its own ops already; it keeps in its confirmed state those it may hold. */
  private own(position: number, tx: Transaction): RecordOut {
    const hidden = tx.ops.filter((op) => !this.holds(op.entity, op.attribute)).map((op) => op.offset);
    this.ownTransactions.set(transactionId(tx), tx);
    return { position, own: tx, hidden };
  }

  /** Whether a group touched anything this client holds or has in scope, or what a read rule reading other entities reads. */
  private concerned(facts: GroupFacts): boolean {
    for (const entity of facts.entities.keys()) if (this.held.has(entity) || this.covered(entity)) return true;
    return this.nonLocal !== NONE && this.nonLocal.some((attribute) => this.rereads(attribute, facts.attributes));
  }

  /** Whether a group touching `touched` may change what the read rule of `attribute` decides. */
  private rereads(attribute: Attr, touched: ReadonlySet<string>): boolean {
    const deps = this.source.readRule(attribute).dependsOn;
    return deps === null || intersects(deps, touched);
  }

  /**
   * Re-decides the registers whose holding may have changed: of entering
   * and leaving entities; of touched entities, those the group wrote or
   * whose read rule reads what it wrote; and under read rules reading other
   * entities, every one the client may hold.
   */
  private settle(
    touched: ReadonlyMap<EntityId, ReadonlySet<string>>,
    touchedAttributes: ReadonlySet<string>,
  ): Pick<GroupOut, 'evict' | 'install'> & { readonly heldBefore: ReadonlySet<string> } {
    const candidates = new Set<string>();
    const pairs: Array<readonly [EntityId, Attr]> = [];
    const consider = (entity: EntityId, attribute: Attr): void => {
      const key = pairKey(entity, attribute);
      if (candidates.has(key)) return;
      candidates.add(key);
      pairs.push([entity, attribute]);
    };
    for (const entity of [...this.scopes.entered, ...this.scopes.left]) {
      for (const attribute of this.source.attributesOf(entity)) consider(entity, attribute);
      for (const attribute of this.held.get(entity) ?? []) consider(entity, attribute);
    }
    for (const [entity, written] of touched) {
      const held = this.held.get(entity);
      // Neither held nor in scope: nothing of it can be held after the group either.
      if (held === undefined && !this.covered(entity)) continue;
      const affected = (attribute: Attr): boolean => written.has(attribute) || this.rereads(attribute, written);
      for (const attribute of this.source.attributesOf(entity)) if (affected(attribute)) consider(entity, attribute);
      for (const attribute of held ?? []) if (affected(attribute)) consider(entity, attribute);
    }
    for (const attribute of this.nonLocal) {
      if (!this.rereads(attribute, touchedAttributes)) continue;
      for (const entity of this.heldNonLocal.get(attribute) ?? []) consider(entity, attribute);
      if (this.scopes.everything) {
        const projection = this.source.projection;
        for (const datom of datoms(this.source.db, ':aevt', attribute)) {
          const entity = projection.entityId(datom.e);
          if (entity !== undefined) consider(entity, attribute);
        }
      } else
        for (const entity of this.scopes.entities()) if (this.source.slot(entity, attribute) !== undefined) consider(entity, attribute);
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
    return { evict, install, heldBefore };
  }
}
