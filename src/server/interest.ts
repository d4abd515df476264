/**
 * Which sessions a durable group can concern, found without visiting the
 * others: an inverted index kept by the core beside the sessions.
 *
 * A session in the state form (`visibility.ts`) is sent something for a
 * group only if the group wrote one of its transactions, touched an entity
 * it holds or has in scope, can change what one of its scopes selects, or
 * can change what a read rule reading other entities decides. The index
 * keeps, for every such session:
 *
 * - the entities it holds or its scopes select, and the entities its pull
 *   scopes start from;
 * - for a scope about one entity at a time, its key (`task/project` = "p17"):
 *   an entity now holding the key may enter it;
 * - for a pull scope, the references it crosses: an entity a touched entity
 *   refers to (now or before the group) may have become reachable;
 * - for any other scope, the attributes whose change makes it run again (or
 *   "any attribute"); a scope waiting for its minimum interval also counts
 *   as concerned by any group;
 * - its replica id (its own transactions are acknowledged to it).
 *
 * Read rules reading other entities are the server's, not a session's: when
 * a group touches what one of them reads, every session is concerned.
 *
 * The candidates are a superset of the concerned sessions, each of which
 * then works out precisely what it must receive; the mirror of this
 * reasoning, session side, is `ScopeTracker.update` and
 * `Visibility.concerned`. A session left out is not sent anything: its
 * position catches up with the next batch it is sent, or when it asks for
 * the head (`Session`).
 *
 * @module
 */
import type { Attr, EntityId, ReplicaId } from '../../crdt/index.js';
import type { GroupFacts } from './group-facts.js';
import type { KeyValue } from './local-scope.js';
import type { Appended } from './log.js';
import type { CompiledReadRule } from './permissions.js';
import type { ScopeTrigger } from './scope-tracker.js';
import { intersects } from './scope-tracker.js';

/** A session's side of the index: its engine reports what it holds and selects as that changes. */
export interface InterestHandle {
  /** The client holds some register of `entity` (true), or none any more (false). */
  held(entity: EntityId, on: boolean): void;
  /** One of the client's scopes selects `entity` (true), or none does any more (false). */
  selected(entity: EntityId, on: boolean): void;
  /** The client's scopes (null: none declared, every entity is in scope). */
  scopes(triggers: readonly ScopeTrigger[] | null): void;
  /** A scope holds changes back for its minimum interval. */
  stale(on: boolean): void;
  /** The session is gone. */
  drop(): void;
}

/** `undefined` as a map key: a key scope that takes any value of its attribute. */
const ANY = Symbol('any value');

interface InterestSource {
  /** Every attribute of the schema. */
  readonly attributes: readonly Attr[];
  readRule(attribute: Attr): CompiledReadRule<unknown>;
}

function toggle<K, M>(map: Map<K, Set<M>>, key: K, member: M, on: boolean): void {
  let set = map.get(key);
  if (on) {
    if (set === undefined) {
      set = new Set();
      map.set(key, set);
    }
    set.add(member);
  } else if (set !== undefined) {
    set.delete(member);
    if (set.size === 0) map.delete(key);
  }
}

function addAll<M>(out: Set<M>, members: ReadonlySet<M> | undefined): void {
  if (members !== undefined) for (const member of members) out.add(member);
}

export class Interest<M> {
  /** Sessions concerned by every group: no scopes, a scope on any attribute, or one held back (stale). */
  private readonly always = new Set<M>();
  private readonly stale = new Set<M>();
  private readonly members = new Set<M>();
  private readonly byReplica = new Map<ReplicaId, Set<M>>();
  private readonly heldBy = new Map<EntityId, Set<M>>();
  private readonly selectedBy = new Map<EntityId, Set<M>>();
  private readonly rootOf = new Map<EntityId, Set<M>>();
  private readonly byAttribute = new Map<string, Set<M>>();
  private readonly byKey = new Map<string, Map<KeyValue | typeof ANY, Set<M>>>();
  /** References some pull scope crosses, with the sessions whose pulls do. */
  private readonly references = new Map<string, Set<M>>();
  /** Attributes whose read rule reads other entities: touching what they read concerns everyone. */
  private readonly nonLocal: readonly CompiledReadRule<unknown>[];

  constructor(source: InterestSource) {
    this.nonLocal = source.attributes.map((attribute) => source.readRule(attribute)).filter((rule) => !rule.local);
  }

  /** Enters a session in the index; it is concerned by every group until it declares its scopes. */
  enter(member: M, replica: ReplicaId): InterestHandle {
    this.members.add(member);
    toggle(this.byReplica, replica, member, true);
    this.always.add(member);
    let triggers: readonly ScopeTrigger[] = [];
    const unfile = (): void => {
      this.always.delete(member);
      for (const trigger of triggers) this.file(member, trigger, false);
      triggers = [];
    };
    return {
      held: (entity, on) => toggle(this.heldBy, entity, member, on),
      selected: (entity, on) => toggle(this.selectedBy, entity, member, on),
      scopes: (next) => {
        unfile();
        if (next === null || next.some((trigger) => trigger.kind === 'any')) {
          this.always.add(member);
          return;
        }
        triggers = next;
        for (const trigger of next) this.file(member, trigger, true);
      },
      stale: (on) => {
        if (on) this.stale.add(member);
        else this.stale.delete(member);
      },
      drop: () => {
        unfile();
        this.stale.delete(member);
        this.members.delete(member);
        toggle(this.byReplica, replica, member, false);
      },
    };
  }

  private file(member: M, trigger: ScopeTrigger, on: boolean): void {
    if (trigger.kind === 'attributes') {
      for (const attribute of trigger.attributes) toggle(this.byAttribute, attribute, member, on);
      if (trigger.root !== null) toggle(this.rootOf, trigger.root, member, on);
    } else if (trigger.kind === 'key') {
      const byValue = this.byKey.get(trigger.attribute) ?? new Map<KeyValue | typeof ANY, Set<M>>();
      toggle(byValue, trigger.value ?? ANY, member, on);
      if (byValue.size > 0) this.byKey.set(trigger.attribute, byValue);
      else this.byKey.delete(trigger.attribute);
    } else if (trigger.kind === 'reach') {
      toggle(this.rootOf, trigger.root, member, on);
      for (const reference of trigger.references) toggle(this.references, reference, member, on);
    }
  }

  /** The sessions `group` may concern (a superset: each then decides precisely). */
  candidates(group: readonly Appended[], facts: GroupFacts): Set<M> {
    if (this.nonLocal.some((rule) => rule.dependsOn === null || intersects(rule.dependsOn, facts.attributes))) return new Set(this.members);
    const out = new Set<M>(this.always);
    addAll(out, this.stale);
    for (const { record } of group) addAll(out, this.byReplica.get(record.tx.replica));
    for (const attribute of facts.attributes) addAll(out, this.byAttribute.get(attribute));
    for (const entity of facts.entities.keys()) {
      addAll(out, this.heldBy.get(entity));
      addAll(out, this.selectedBy.get(entity));
      addAll(out, this.rootOf.get(entity));
      for (const [attribute, byValue] of this.byKey) {
        const values = facts.values(entity, attribute);
        if (values.length === 0) continue;
        addAll(out, byValue.get(ANY));
        for (const value of values) addAll(out, byValue.get(value as KeyValue));
      }
    }
    for (const reference of this.references.keys()) {
      for (const target of facts.targets(reference)) {
        addAll(out, this.heldBy.get(target));
        addAll(out, this.selectedBy.get(target));
      }
    }
    return out;
  }
}
