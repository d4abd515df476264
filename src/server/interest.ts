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

function add<K, M>(map: Map<K, Set<M>>, key: K, member: M): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(member);
}

function remove<K, M>(map: Map<K, Set<M>>, key: K, member: M): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(member);
  if (set.size === 0) map.delete(key);
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
  /** References some pull scope crosses, with how many scopes do. */
  private readonly references = new Map<string, number>();
  /** Attributes whose read rule reads other entities: touching what they read concerns everyone. */
  private readonly nonLocal: readonly CompiledReadRule<unknown>[];

  constructor(source: InterestSource) {
    this.nonLocal = source.attributes.map((attribute) => source.readRule(attribute)).filter((rule) => !rule.local);
  }

  /** Enters a session in the index; it is concerned by every group until it declares its scopes. */
  enter(member: M, replica: ReplicaId): InterestHandle {
    this.members.add(member);
    add(this.byReplica, replica, member);
    this.always.add(member);
    let triggers: readonly ScopeTrigger[] = [];
    const unregister = (): void => {
      this.always.delete(member);
      for (const trigger of triggers) {
        if (trigger.kind === 'attributes') {
          for (const attribute of trigger.attributes) remove(this.byAttribute, attribute, member);
          if (trigger.root !== null) remove(this.rootOf, trigger.root, member);
        } else if (trigger.kind === 'key') {
          const byValue = this.byKey.get(trigger.attribute);
          if (byValue !== undefined) {
            remove(byValue, trigger.value ?? ANY, member);
            if (byValue.size === 0) this.byKey.delete(trigger.attribute);
          }
        } else if (trigger.kind === 'reach') {
          remove(this.rootOf, trigger.root, member);
          for (const reference of trigger.references) {
            const count = (this.references.get(reference) ?? 1) - 1;
            if (count > 0) this.references.set(reference, count);
            else this.references.delete(reference);
          }
        }
      }
      triggers = [];
    };
    return {
      held: (entity, on) => (on ? add(this.heldBy, entity, member) : remove(this.heldBy, entity, member)),
      selected: (entity, on) => (on ? add(this.selectedBy, entity, member) : remove(this.selectedBy, entity, member)),
      scopes: (next) => {
        unregister();
        if (next === null || next.some((trigger) => trigger.kind === 'any')) {
          this.always.add(member);
          return;
        }
        triggers = next;
        for (const trigger of next) {
          if (trigger.kind === 'attributes') {
            for (const attribute of trigger.attributes) add(this.byAttribute, attribute, member);
            if (trigger.root !== null) add(this.rootOf, trigger.root, member);
          } else if (trigger.kind === 'key') {
            let byValue = this.byKey.get(trigger.attribute);
            if (byValue === undefined) {
              byValue = new Map();
              this.byKey.set(trigger.attribute, byValue);
            }
            add(byValue, trigger.value ?? ANY, member);
          } else if (trigger.kind === 'reach') {
            add(this.rootOf, trigger.root, member);
            for (const reference of trigger.references) this.references.set(reference, (this.references.get(reference) ?? 0) + 1);
          }
        }
      },
      stale: (on) => {
        if (on) this.stale.add(member);
        else this.stale.delete(member);
      },
      drop: () => {
        unregister();
        this.stale.delete(member);
        this.members.delete(member);
        remove(this.byReplica, replica, member);
      },
    };
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
