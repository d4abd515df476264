/**
 * Which entities one client's scopes select, kept current group by group.
 *
 * A scope is asked again only when a group can have changed its result: it
 * touched an attribute the scope reads, or one that the read rules of those
 * attributes read (scopes run on the readable database). Under read rules
 * about each entity alone, only the group's own entities can move in or out,
 * so a one-entity-at-a-time query is asked about just those of them that were
 * in its result or now hold its key (`[?e "task/project" "p17"]`: a task of
 * p42 does not ask it), and a pull only where a changed reference has an end
 * it reached. Anything else runs whole.
 *
 * A scope with a minimum interval runs at most that often: a change within
 * the interval marks it stale, and it runs whole once the interval has passed
 * (`dueAt`, `refresh`).
 *
 * @module
 */
import type { Attr, EntityId } from '../../crdt/index.js';
import type { Eid } from '../datascript/index.js';
import type { Projection } from '../projection/projection.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import type { GroupFacts } from './group-facts.js';
import type { KeyValue, LocalScope } from './local-scope.js';
import type { CompiledReadRule } from './permissions.js';
import type { ScopeView } from './scope-view.js';
import type { CompiledScope } from './scopes.js';

export interface TrackerHost {
  readonly projection: Projection;
  readRule(attribute: Attr): CompiledReadRule<unknown>;
  /** The database as the client may read it, for the pass under way. */
  view(): ScopeView;
  /** Some scope selects `entity` now (true), or none does any more (false). */
  selected(entity: EntityId, on: boolean): void;
}

/**
 * What makes one scope worth asking again besides a change to an entity it
 * selects (the fan-out index of `interest.ts` keeps it): any group; a group
 * touching one of `attributes` (or `root`); an entity holding the `key` of a
 * one-entity-at-a-time query; or, for a pull, a touched entity referring
 * through one of `references` (now or before) to an entity it reaches.
 */
export type ScopeTrigger =
  | { readonly kind: 'any' }
  | { readonly kind: 'attributes'; readonly attributes: ReadonlySet<string>; readonly root: EntityId | null }
  | { readonly kind: 'key'; readonly attribute: string; readonly value: KeyValue | undefined }
  | { readonly kind: 'reach'; readonly root: EntityId; readonly references: ReadonlySet<string> };

interface ScopeState {
  readonly compiled: CompiledScope;
  result: Set<EntityId>;
  /**
   * Attributes whose change on an entity can change whether the scope
   * selects it: those it reads and those their read rules read (null: any).
   */
  readonly relevant: ReadonlySet<string> | null;
  /** Every attribute the scope reads has a read rule about the entity's own datoms alone. */
  readonly localRules: boolean;
  evaluatedAt: number;
  /** Changes waited for the scope's minimum interval: its next evaluation runs it whole. */
  stale: boolean;
}

export class ScopeTracker {
  /** Entities that entered, and left, every scope in the pass under way. */
  readonly entered = new Set<EntityId>();
  readonly left = new Set<EntityId>();
  private readonly host: TrackerHost;
  /** Null: no scopes were declared, and every entity is selected. */
  private scopes: ScopeState[] | null = null;
  /** How many scopes select each entity. */
  private readonly selected = new Map<EntityId, number>();
  /** Something entered or left in the pass under way. */
  private changed = false;

  constructor(host: TrackerHost, scopes: readonly CompiledScope[] | null) {
    this.host = host;
    this.declare(scopes);
  }

  /** Replaces the scopes; `evaluateAll` then selects anew. */
  declare(scopes: readonly CompiledScope[] | null): void {
    this.scopes = scopes === null ? null : scopes.map((compiled) => this.stateOf(compiled));
  }

  private stateOf(compiled: CompiledScope): ScopeState {
    const deps = compiled.dependsOn;
    let relevant: Set<string> | null = deps === null ? null : new Set(deps);
    let localRules = deps !== null;
    for (const attribute of deps ?? []) {
      if (attribute === ENTITY_ID_ATTR) continue;
      const rule = this.host.readRule(attribute as Attr);
      localRules &&= rule.local;
      if (rule.dependsOn === null) relevant = null;
      else for (const dep of rule.dependsOn) relevant?.add(dep);
    }
    return { compiled, result: new Set(), relevant: relevant === null ? null : shared(relevant), localRules, evaluatedAt: 0, stale: false };
  }

  /** No scopes: every entity counts as selected. */
  get everything(): boolean {
    return this.scopes === null;
  }

  covers(entity: EntityId): boolean {
    return this.scopes === null || this.selected.has(entity);
  }

  /** The selected entities (with scopes declared). */
  entities(): Iterable<EntityId> {
    return this.selected.keys();
  }

  /** Starts a pass: nothing entered or left yet. */
  begin(): void {
    if (!this.changed) return;
    this.changed = false;
    this.entered.clear();
    this.left.clear();
  }

  private enter(state: ScopeState, entity: EntityId): void {
    state.result.add(entity);
    const count = this.selected.get(entity) ?? 0;
    this.selected.set(entity, count + 1);
    if (count > 0) return;
    this.host.selected(entity, true);
    this.changed = true;
    if (this.left.has(entity)) this.left.delete(entity);
    else this.entered.add(entity);
  }

  private leave(state: ScopeState, entity: EntityId): void {
    state.result.delete(entity);
    const count = (this.selected.get(entity) ?? 1) - 1;
    if (count > 0) {
      this.selected.set(entity, count);
      return;
    }
    this.selected.delete(entity);
    this.host.selected(entity, false);
    this.changed = true;
    if (this.entered.has(entity)) this.entered.delete(entity);
    else this.left.add(entity);
  }

  /** Runs a scope whole and takes its new result. */
  private evaluate(state: ScopeState, now: number): void {
    state.evaluatedAt = now;
    state.stale = false;
    const next = state.compiled.evaluate(this.host.view());
    for (const entity of [...state.result]) if (!next.has(entity)) this.leave(state, entity);
    for (const entity of next) if (!state.result.has(entity)) this.enter(state, entity);
  }

  /** Asks a one-entity-at-a-time scope again about `entities` alone. */
  private recheck(state: ScopeState, local: LocalScope, entities: readonly EntityId[], now: number): void {
    state.evaluatedAt = now;
    const projection = this.host.projection;
    const eids: Eid[] = [];
    for (const entity of entities) {
      const eid = projection.existingEid(entity);
      if (eid !== undefined) eids.push(eid);
    }
    const selected = local.select(this.host.view(), eids);
    for (const entity of entities) {
      const eid = projection.existingEid(entity);
      const member = eid !== undefined && selected.has(eid);
      if (member && !state.result.has(entity)) this.enter(state, entity);
      else if (!member && state.result.has(entity)) this.leave(state, entity);
    }
  }

  /** Runs every scope from nothing (on connect, and when the scopes change). */
  evaluateAll(now: number): void {
    for (const entity of this.selected.keys()) this.host.selected(entity, false);
    this.selected.clear();
    for (const state of this.scopes ?? []) {
      state.result = new Set();
      this.evaluate(state, now);
    }
  }

  /**
   * What makes each scope worth asking again (null: no scopes), mirroring
   * `update`: a group that triggers none of them, and changes no entity they
   * select, cannot change their results.
   */
  triggers(): ScopeTrigger[] | null {
    return (
      this.scopes?.map(({ compiled, relevant, localRules }): ScopeTrigger => {
        if (relevant === null) return { kind: 'any' };
        if (localRules && compiled.local !== null)
          return { kind: 'key', attribute: compiled.local.keyAttribute, value: compiled.local.keyValue };
        if (localRules && compiled.root !== null) return { kind: 'reach', root: compiled.root, references: compiled.dependsOn ?? relevant };
        return { kind: 'attributes', attributes: relevant, root: compiled.root };
      }) ?? null
    );
  }

  /** Brings every scope up to date with a durable group. */
  advance(facts: GroupFacts, now: number): void {
    for (const state of this.scopes ?? []) this.update(state, facts, now);
  }

  private update(state: ScopeState, facts: GroupFacts, now: number): void {
    const scope = state.compiled;
    const rootTouched = scope.root !== null && facts.entities.has(scope.root);
    if (!state.stale && !rootTouched && state.relevant !== null && !facts.touchesAny(state.relevant)) return;
    let entities: EntityId[] | undefined;
    if (!state.stale && state.localRules && state.relevant !== null) {
      const relevant = state.relevant;
      if (scope.local !== null) {
        const local = scope.local;
        entities = [];
        for (const [entity, attributes] of facts.entities) {
          if (!intersects(attributes, relevant)) continue;
          if (state.result.has(entity) || facts.has(entity, local.keyAttribute, local.keyValue)) entities.push(entity);
        }
        if (entities.length === 0) return;
      } else if (scope.root !== null && !rootTouched && !reaches(state, relevant, facts)) return;
    }
    const interval = scope.def.minIntervalMs ?? 0;
    if (interval > 0 && now - state.evaluatedAt < interval) {
      state.stale = true;
      return;
    }
    if (entities !== undefined && scope.local !== null) this.recheck(state, scope.local, entities, now);
    else this.evaluate(state, now);
  }

  /** When a scope held back by its minimum interval is due, if one is. */
  dueAt(): number | undefined {
    let due: number | undefined;
    for (const state of this.scopes ?? []) {
      if (!state.stale) continue;
      const at = state.evaluatedAt + (state.compiled.def.minIntervalMs ?? 0);
      due = due === undefined ? at : Math.min(due, at);
    }
    return due;
  }

  /** Runs the held-back scopes whose interval has passed. */
  refresh(now: number): void {
    for (const state of this.scopes ?? []) {
      if (state.stale && now - state.evaluatedAt >= (state.compiled.def.minIntervalMs ?? 0)) this.evaluate(state, now);
    }
  }
}

/**
 * One set object for every scope relevant to the same attributes: thousands
 * of clients with the same kind of scope then share it, and the question of
 * whether a group touched it is answered once per group (`touchesAny`).
 */
const sharedSets = new Map<string, ReadonlySet<string>>();
/** Clients declare scopes, so the kinds are theirs to multiply: past this many, a set is just not shared. */
const MAX_SHARED_SETS = 1024;

function shared(attributes: ReadonlySet<string>): ReadonlySet<string> {
  const key = [...attributes].sort().join('\u0000');
  const set = sharedSets.get(key);
  if (set !== undefined) return set;
  if (sharedSets.size < MAX_SHARED_SETS) sharedSets.set(key, attributes);
  return attributes;
}

export function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size > b.size) return intersects(b, a);
  for (const item of a) if (b.has(item)) return true;
  return false;
}

/**
 * Whether a group can change what a pull scope reaches: only where a
 * reference (or its readability) changed with one of its ends reached.
 */
function reaches(state: ScopeState, relevant: ReadonlySet<string>, facts: GroupFacts): boolean {
  for (const [entity, attributes] of facts.entities) if (state.result.has(entity) && intersects(attributes, relevant)) return true;
  for (const attribute of state.compiled.dependsOn ?? [])
    for (const target of facts.targets(attribute)) if (state.result.has(target)) return true;
  return false;
}
