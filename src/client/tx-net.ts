/**
 * From resolved transaction operations to write intents, with DataScript's
 * meaning: operations apply in order within the transaction, so only each
 * register's net effect is written (no op for a datom added then retracted,
 * none for asserting the value already shown). Tempids resolve by upsert
 * through unique-identity attributes, or become new entities; entity
 * retraction expands into retractions of the entity's values, of the
 * references to it and of its components.
 *
 * @module
 */
import type { Attr, EntityId, Value, WriteIntent } from '../../crdt/index.js';
import { DatsyncError, ErrorCode, OpKind, valuesEqual } from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import { datoms, resolveEid } from '../datascript/index.js';
import { valueKey } from '../projection/unique.js';
import type { AttributeDef, Schema } from '../schema.js';
import type { FormOp } from './tx-forms.js';
import { Target } from './tx-forms.js';

export interface NetContext {
  readonly schema: Schema;
  readonly db: Db;
  existingEid(id: EntityId): Eid | undefined;
  entityIdOf(eid: Eid): EntityId | undefined;
  /** Visible values of a register, and how many live versions it holds (siblings). */
  values(entity: EntityId, attribute: Attr): { readonly values: readonly Value[]; readonly live: number };
  attributesOf(entity: EntityId): readonly Attr[];
  /** The id of the k-th entity this transaction creates. */
  mint(k: number): EntityId;
}

export interface NetResult {
  readonly intents: WriteIntent[];
  /** Tempid → entity, for every tempid the transaction named (upserted or new). */
  readonly tempids: ReadonlyMap<string, EntityId>;
  readonly created: readonly EntityId[];
}

/** A new entity, known by its tempid until it is minted. */
class TempRef {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

type Ref = EntityId | TempRef;
type Item = Value | TempRef;

function same(a: Item, b: Item): boolean {
  if (a instanceof TempRef || b instanceof TempRef) return a instanceof TempRef && b instanceof TempRef && a.name === b.name;
  return valuesEqual(a, b);
}

interface Register {
  readonly entity: Ref;
  readonly def: AttributeDef;
  readonly original: readonly Value[];
  readonly siblings: boolean;
  current: Item[];
}

function fail(code: (typeof ErrorCode)[keyof typeof ErrorCode], index: number, message: string): never {
  throw new DatsyncError(code, `transaction item ${index}: ${message}`, { index });
}

/** The registers a transaction touches, by entity and attribute, and in order of first use. */
class Registers {
  private readonly byEntity = new Map<Ref, Map<Attr, Register>>();
  readonly order: Register[] = [];

  get(entity: Ref, attribute: Attr): Register | undefined {
    return this.byEntity.get(entity)?.get(attribute);
  }

  has(entity: Ref, attribute: Attr): boolean {
    return this.byEntity.get(entity)?.has(attribute) === true;
  }

  add(reg: Register): void {
    let byAttribute = this.byEntity.get(reg.entity);
    if (byAttribute === undefined) {
      byAttribute = new Map();
      this.byEntity.set(reg.entity, byAttribute);
    }
    byAttribute.set(reg.def.name, reg);
    this.order.push(reg);
  }
}

export function netIntents(ops: readonly FormOp[], ctx: NetContext): NetResult {
  const { upserts, aliases } = resolveUpserts(ops, ctx);
  const temps = new Map<string, TempRef>();
  const registers = new Registers();
  const registerOf = (entity: Ref, def: AttributeDef): Register => {
    let reg = registers.get(entity, def.name);
    if (reg === undefined) {
      const seen = entity instanceof TempRef ? { values: [], live: 0 } : ctx.values(entity, def.name);
      reg = { entity, def, original: seen.values, siblings: seen.live > 1, current: [...seen.values] };
      registers.add(reg);
    }
    return reg;
  };
  const tempRef = (name: string): Ref => {
    const canonical = aliases.get(name) ?? name;
    const upserted = upserts.get(canonical);
    if (upserted !== undefined) return upserted;
    let temp = temps.get(canonical);
    if (temp === undefined) {
      temp = new TempRef(canonical);
      temps.set(canonical, temp);
    }
    return temp;
  };
  /**
   * The entity a lookup ref names at this point of the transaction, as in
   * DataScript: a value written earlier in the transaction counts. Undefined
   * when no entity holds the value now but one did before the transaction.
   */
  const resolveLookup = (def: AttributeDef, value: Value, index: number): Ref | undefined => {
    for (const reg of registers.order) {
      if (reg.def === def && reg.current.some((item) => same(item, value))) return reg.entity;
    }
    const holder = holderOf(ctx, def, value);
    if (holder !== undefined) {
      if (!registers.has(holder, def.name)) return holder;
      return undefined;
    }
    return fail(ErrorCode.UnknownEntity, index, `no entity has ${def.name} equal to the given value`);
  };
  /** Undefined only for a lookup ref an earlier operation of this transaction invalidated. */
  const refOf = (target: Target, index: number): Ref | undefined => {
    if (target.existing !== undefined) return target.existing;
    if (target.temp !== undefined) return tempRef(target.temp);
    const lookup = target.lookup;
    if (lookup === undefined) return fail(ErrorCode.InvalidTransaction, index, 'unresolvable entity reference');
    return resolveLookup(lookup.def, lookup.value, index);
  };
  const mustRef = (target: Target, index: number): Ref =>
    refOf(target, index) ?? fail(ErrorCode.UnknownEntity, index, 'lookup ref no longer resolves at this point of the transaction');
  const itemOf = (value: Value | Target, index: number): Item => (value instanceof Target ? mustRef(value, index) : value);
  // Uniqueness holds after every operation, as DataScript checks it (so swapping two values in one transaction fails there too).
  const checkUniqueNow = (entity: Ref, def: AttributeDef, item: Item, index: number): void => {
    if (item instanceof TempRef) return;
    for (const reg of registers.order) {
      if (reg.def === def && reg.entity !== entity && reg.current.some((x) => same(x, item))) {
        fail(ErrorCode.UniqueConflict, index, `another entity already holds this value of unique attribute ${def.name}`);
      }
    }
    const holder = holderOf(ctx, def, item);
    if (holder === undefined || holder === entity || registers.has(holder, def.name)) return;
    fail(ErrorCode.UniqueConflict, index, `another entity already holds this value of unique attribute ${def.name}`);
  };
  const isEntity = (item: Item): item is EntityId | TempRef => item instanceof TempRef || typeof item === 'string';
  const retractEntity = (entity: Ref, visited: Set<Ref>): void => {
    if (visited.has(entity)) return;
    visited.add(entity);
    const attributes = new Set<Attr>();
    if (!(entity instanceof TempRef)) {
      const eid = ctx.existingEid(entity);
      if (eid !== undefined) {
        for (const attribute of ctx.schema.refAttributes) {
          const def = ctx.schema.attributes.get(attribute);
          if (def === undefined) continue;
          for (const datom of datoms(ctx.db, ':avet', attribute, eid)) {
            const from = ctx.entityIdOf(datom.e);
            if (from !== undefined) registerOf(from, def);
          }
        }
      }
      for (const attribute of ctx.attributesOf(entity)) attributes.add(attribute);
    }
    // References anywhere, including those written earlier in this transaction, go with it.
    for (const reg of registers.order) {
      if (reg.def.valueType === 'ref') reg.current = reg.current.filter((item) => item !== entity);
      if (reg.entity === entity) attributes.add(reg.def.name);
    }
    for (const attribute of attributes) {
      const def = ctx.schema.attributes.get(attribute);
      if (def === undefined) continue;
      const reg = registerOf(entity, def);
      const children = def.isComponent ? reg.current.filter(isEntity) : [];
      reg.current = [];
      for (const child of children) retractEntity(child, visited);
    }
  };
  for (const op of ops) {
    const entity = op.op === 'add' ? mustRef(op.target, op.index) : refOf(op.target, op.index);
    // A retraction through a lookup ref an earlier operation invalidated does nothing (DataScript's entid).
    if (entity === undefined) continue;
    if (op.op === 'retract-entity') {
      if (entity instanceof TempRef) fail(ErrorCode.UnknownEntity, op.index, 'cannot retract an entity that does not exist yet');
      retractEntity(entity, new Set());
      continue;
    }
    const reg = registerOf(entity, op.def);
    if (op.op === 'retract-attribute') {
      // As in DataScript, retracting a component attribute retracts the components too.
      const children = op.def.isComponent ? reg.current.filter(isEntity) : [];
      reg.current = [];
      for (const child of children) retractEntity(child, new Set());
    } else if (op.op === 'add') {
      const item = itemOf(op.value, op.index);
      if (op.def.unique !== null) checkUniqueNow(entity, op.def, item, op.index);
      if (op.def.cardinality === 'one') reg.current = [item];
      else if (!reg.current.some((x) => same(x, item))) reg.current.push(item);
    } else {
      const item = itemOf(op.value, op.index);
      reg.current = reg.current.filter((x) => !same(x, item));
    }
  }
  return finish(ops, registers.order, upserts, aliases, ctx);
}

/**
 * Tempids that name an existing entity through a unique-identity value
 * (DataScript's upsert), and tempids that name the same new entity because
 * they carry the same new identity value.
 */
function resolveUpserts(ops: readonly FormOp[], ctx: NetContext): { upserts: Map<string, EntityId>; aliases: Map<string, string> } {
  const upserts = new Map<string, EntityId>();
  const aliases = new Map<string, string>();
  const firstWithValue = new Map<string, string>();
  for (const op of ops) {
    if (op.op !== 'add' || op.target.temp === undefined || op.def.unique !== 'identity' || op.value instanceof Target) continue;
    const temp = op.target.temp;
    const holder = holderOf(ctx, op.def, op.value);
    if (holder === undefined) {
      const key = `${op.def.name}\u0000${valueKey(op.value)}`;
      const first = firstWithValue.get(key);
      if (first === undefined) firstWithValue.set(key, temp);
      else if (first !== temp) aliases.set(temp, aliases.get(first) ?? first);
      continue;
    }
    const previous = upserts.get(temp);
    if (previous !== undefined && previous !== holder) {
      fail(ErrorCode.UniqueConflict, op.index, `tempid resolves to two entities through ${op.def.name}`);
    }
    upserts.set(temp, holder);
  }
  // A tempid aliased to one that upserts, upserts too.
  for (const [temp, target] of aliases) {
    const holder = upserts.get(target);
    if (holder !== undefined) upserts.set(temp, holder);
  }
  return { upserts, aliases };
}

function holderOf(ctx: NetContext, def: AttributeDef, value: Value): EntityId | undefined {
  let lookup: unknown = value;
  if (def.valueType === 'instant' && typeof value === 'number') lookup = new Date(value);
  if (def.valueType === 'ref' && typeof value === 'string') lookup = ctx.existingEid(value as EntityId) ?? -1;
  const eid = resolveEid(ctx.db, [def.name, lookup]);
  return eid === null ? undefined : ctx.entityIdOf(eid);
}

function finish(
  ops: readonly FormOp[],
  order: readonly Register[],
  upserts: ReadonlyMap<string, EntityId>,
  aliases: ReadonlyMap<string, string>,
  ctx: NetContext,
): NetResult {
  // New entities that end with at least one value, minted in order of first appearance.
  const created = new Set<string>();
  for (const reg of order) {
    if (reg.entity instanceof TempRef && reg.current.length > 0) created.add(reg.entity.name);
  }
  const firstSeen = new Set<string>();
  for (const op of ops) {
    const temp = op.target.temp === undefined ? undefined : (aliases.get(op.target.temp) ?? op.target.temp);
    if (temp !== undefined && created.has(temp)) firstSeen.add(temp);
  }
  const minted = new Map<string, EntityId>([...firstSeen].map((temp, k) => [temp, ctx.mint(k)]));
  const resolve = (item: Item): Value => {
    if (!(item instanceof TempRef)) return item;
    const id = minted.get(item.name);
    if (id === undefined) {
      const index = ops.find((op) => op.op === 'add' && op.value instanceof Target && op.value.temp === item.name)?.index ?? 0;
      fail(
        ErrorCode.InvalidTransaction,
        index,
        `tempid ${item.name.startsWith('\u0000') ? '(of a nested map)' : item.name} is used only as a value`,
      );
    }
    return id;
  };
  const intents: WriteIntent[] = [];
  for (const reg of order) {
    if (reg.entity instanceof TempRef && !created.has(reg.entity.name)) continue;
    const entity = resolve(reg.entity) as EntityId;
    const current = reg.current.map(resolve);
    const attribute = reg.def.name;
    if (reg.def.cardinality === 'one') {
      const next = current[current.length - 1];
      if (next === undefined) {
        if (reg.original.length > 0) intents.push({ entity, attribute, kind: OpKind.Retract });
        continue;
      }
      const unchanged = reg.original.length === 1 && !reg.siblings && valuesEqual(reg.original[0] as Value, next);
      if (!unchanged) intents.push({ entity, attribute, kind: OpKind.Assert, value: next });
    } else {
      for (const value of reg.original)
        if (!current.some((v) => valuesEqual(v, value))) intents.push({ entity, attribute, kind: OpKind.Retract, value });
      for (const value of current)
        if (!reg.original.some((v) => valuesEqual(v, value))) intents.push({ entity, attribute, kind: OpKind.Assert, value });
    }
  }
  const tempids = new Map<string, EntityId>();
  for (const [temp, id] of [...upserts, ...minted]) if (!temp.startsWith('\u0000')) tempids.set(temp, id);
  for (const [temp, canonical] of aliases) {
    const id = minted.get(canonical) ?? upserts.get(canonical);
    if (id !== undefined && !temp.startsWith('\u0000')) tempids.set(temp, id);
  }
  return { intents, tempids, created: [...minted.values()] };
}
