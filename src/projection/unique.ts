/**
 * Unique attributes across replicas. DataScript refuses two entities with the
 * same value of a unique attribute, but two replicas can create them offline.
 * Until the server decides (it accepts only the first claim it sees, and the
 * other writer rolls back), the projection shows the value on one entity
 * only, chosen by a rule every replica applies alike: the claimant whose
 * entity id sorts first. The others are listed as unique conflicts.
 *
 * @module
 */
import type { Attr, EntityId, Value } from '../../crdt/index.js';
import { canonicalJson } from '../../crdt/index.js';

export function valueKey(value: Value): string {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      // SameValueZero, as DataScript compares: -0 and 0 are one value.
      return `n${value === 0 ? 0 : value}`;
    case 'bigint':
      return `b${value}`;
    case 'boolean':
      return value ? 't' : 'f';
    default:
      return `j${canonicalJson(value)}`;
  }
}

export interface UniqueConflict {
  readonly attribute: Attr;
  readonly value: Value;
  /** Every entity claiming the value; the first is the one shown. */
  readonly entities: readonly EntityId[];
}

/** What to do in DataScript after a claim changes. */
export interface Shift {
  readonly retract?: EntityId;
  readonly add?: EntityId;
}

export class UniqueArbiter {
  private readonly claims = new Map<Attr, Map<string, { value: Value; entities: EntityId[] }>>();

  /** Every entity claiming `value`. */
  claimants(attribute: Attr, value: Value): readonly EntityId[] {
    return this.claims.get(attribute)?.get(valueKey(value))?.entities ?? [];
  }

  /** The entity DataScript shows holding `value`, if any claims it. */
  holder(attribute: Attr, value: Value): EntityId | undefined {
    const entry = this.claims.get(attribute)?.get(valueKey(value));
    return entry === undefined ? undefined : this.holderOf(entry.entities);
  }

  private holderOf(list: readonly EntityId[]): EntityId | undefined {
    let best: EntityId | undefined;
    for (const entity of list) if (best === undefined || entity < best) best = entity;
    return best;
  }

  /** Records that `entity` now shows `value`; says which datom DataScript should hold. */
  claim(attribute: Attr, entity: EntityId, value: Value): Shift {
    let byValue = this.claims.get(attribute);
    if (byValue === undefined) {
      byValue = new Map();
      this.claims.set(attribute, byValue);
    }
    const key = valueKey(value);
    const entry = byValue.get(key);
    if (entry === undefined) {
      byValue.set(key, { value, entities: [entity] });
      return { add: entity };
    }
    const before = this.holderOf(entry.entities);
    if (!entry.entities.includes(entity)) entry.entities.push(entity);
    const after = this.holderOf(entry.entities);
    if (before === after) return {};
    return before === undefined ? { add: entity } : { retract: before, add: entity };
  }

  /** Records that `entity` no longer shows `value`; says which datom DataScript should hold. */
  release(attribute: Attr, entity: EntityId, value: Value): Shift {
    const byValue = this.claims.get(attribute);
    const key = valueKey(value);
    const entry = byValue?.get(key);
    if (byValue === undefined || entry === undefined) return {};
    const before = this.holderOf(entry.entities);
    entry.entities = entry.entities.filter((e) => e !== entity);
    if (entry.entities.length === 0) byValue.delete(key);
    const after = this.holderOf(entry.entities);
    if (before !== entity) return {};
    return after === undefined ? { retract: entity } : { retract: entity, add: after };
  }

  conflicts(entity?: EntityId): UniqueConflict[] {
    const out: UniqueConflict[] = [];
    for (const [attribute, byValue] of this.claims) {
      for (const { value, entities } of byValue.values()) {
        if (entities.length < 2 || (entity !== undefined && !entities.includes(entity))) continue;
        out.push({ attribute, value, entities: [...entities].sort() });
      }
    }
    return out;
  }

  clear(): void {
    this.claims.clear();
  }
}
