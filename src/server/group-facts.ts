/**
 * What a durable group of transactions touched, worked out once for every
 * session: the fan-out of one group runs the same questions for each of
 * possibly thousands of sessions (which entities and attributes changed,
 * which of the changed entities hold a given value), so the answers are
 * computed on first use and shared, for as long as the group is.
 *
 * @module
 */
import type { EntityId } from '../../crdt/index.js';
import type { Db } from '../datascript/index.js';
import { datoms } from '../datascript/index.js';
import type { Projection } from '../projection/projection.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import type { Appended } from './log.js';

export interface FactsSource {
  readonly projection: Projection;
  readonly db: Db;
}

const cache = new WeakMap<readonly Appended[], GroupFacts>();

export class GroupFacts {
  /** Every entity an op or a visible change of the group is about, with the attributes concerned. */
  readonly entities = new Map<EntityId, Set<string>>();
  /** Every attribute concerned; `datsync/id` too when any visible datom changed (entities may have appeared). */
  readonly attributes = new Set<string>();
  private readonly source: FactsSource;
  private readonly group: readonly Appended[];
  /** Current datoms of touched entities, by attribute. */
  private readonly current = new Map<EntityId, Map<string, unknown[]>>();
  private readonly targetsOf = new Map<string, Set<EntityId>>();
  private readonly touching = new Map<ReadonlySet<string>, boolean>();

  private constructor(group: readonly Appended[], source: FactsSource) {
    this.group = group;
    this.source = source;
    const touch = (entity: EntityId, attribute: string): void => {
      let attributes = this.entities.get(entity);
      if (attributes === undefined) {
        attributes = new Set();
        this.entities.set(entity, attributes);
      }
      attributes.add(attribute);
      this.attributes.add(attribute);
    };
    for (const { record, changes } of group) {
      for (const op of record.tx.ops) touch(op.entity, op.attribute);
      for (const change of changes) touch(change.entity, change.attribute);
      if (changes.length > 0) this.attributes.add(ENTITY_ID_ATTR);
    }
  }

  /** The facts of `group`, computed once whoever asks (the database must still show the group). */
  static of(group: readonly Appended[], source: FactsSource): GroupFacts {
    let facts = cache.get(group);
    if (facts === undefined) {
      facts = new GroupFacts(group, source);
      cache.set(group, facts);
    }
    return facts;
  }

  private datomsOf(entity: EntityId): Map<string, unknown[]> {
    let byAttribute = this.current.get(entity);
    if (byAttribute === undefined) {
      byAttribute = new Map();
      const eid = this.source.projection.existingEid(entity);
      for (const datom of eid === undefined ? [] : datoms(this.source.db, ':eavt', eid)) {
        const values = byAttribute.get(datom.a);
        if (values === undefined) byAttribute.set(datom.a, [datom.v]);
        else values.push(datom.v);
      }
      this.current.set(entity, byAttribute);
    }
    return byAttribute;
  }

  /** Whether the group touched any of `attributes` (answered once per set object). */
  touchesAny(attributes: ReadonlySet<string>): boolean {
    let answer = this.touching.get(attributes);
    if (answer === undefined) {
      answer = false;
      for (const attribute of this.attributes) if (attributes.has(attribute)) answer = true;
      this.touching.set(attributes, answer);
    }
    return answer;
  }

  /** Whether touched `entity` now has a datom of `attribute` (holding `value`, when given). */
  has(entity: EntityId, attribute: string, value: unknown): boolean {
    const values = this.values(entity, attribute);
    return value === undefined ? values.length > 0 : values.includes(value);
  }

  /** The values touched `entity` now holds for `attribute`. */
  values(entity: EntityId, attribute: string): readonly unknown[] {
    return this.datomsOf(entity).get(attribute) ?? [];
  }

  /**
   * The entities the touched entities refer to through reference
   * `attribute`, now or before the group: wherever a reference changed, or
   * its readability may have, one of its ends is touched or in here.
   */
  targets(attribute: string): ReadonlySet<EntityId> {
    let out = this.targetsOf.get(attribute);
    if (out === undefined) {
      out = new Set();
      for (const { changes } of this.group)
        for (const change of changes) if (change.attribute === attribute) out.add(change.value as EntityId);
      for (const entity of this.entities.keys()) {
        for (const eid of this.datomsOf(entity).get(attribute) ?? []) {
          const target = typeof eid === 'number' ? this.source.projection.entityId(eid) : undefined;
          if (target !== undefined) out.add(target);
        }
      }
      this.targetsOf.set(attribute, out);
    }
    return out;
  }
}
