/**
 * Transaction data in DataScript's JavaScript form, read into a flat list of
 * operations with every entity reference resolved (existing entities by
 * their stable id, new ones by a placeholder) and every value checked
 * against the schema.
 *
 * Accepted forms, as in DataScript:
 * - `{ ":db/id": ref?, attr: value, … }` (values of cardinality-many
 *   attributes may be arrays; ref values may be nested maps)
 * - `[":db/add", ref, attr, value]`, `[":db/retract", ref, attr, value?]`
 * - `[":db/retractEntity", ref]` (also `":db.fn/retractEntity"`)
 * - `[":db.fn/retractAttribute", ref, attr]`
 *
 * A ref is an eid of the projection (positive integer), a tempid (string or
 * negative integer) or a lookup ref `[uniqueAttr, value]`;
 * `["datsync/id", id]` names any entity by its stable id.
 *
 * @module
 */
import type { EntityId, Value } from '../../crdt/index.js';
import { checkValue, DatsyncError, ErrorCode, isEntityId } from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import { resolveEid } from '../datascript/index.js';
import type { AttributeDef, Schema } from '../schema.js';
import { attributeOf, ENTITY_ID_ATTR } from '../schema.js';

/** An entity reference as the application writes it. */
export type EntityRef = Eid | string | readonly [string, unknown];

export type TxForm =
  | { readonly [attribute: string]: unknown }
  | readonly [':db/add', EntityRef, string, unknown]
  | readonly [':db/retract', EntityRef, string, unknown?]
  | readonly [':db/retractEntity' | ':db.fn/retractEntity', EntityRef]
  | readonly [':db.fn/retractAttribute', EntityRef, string];

export type TxData = readonly TxForm[];

/**
 * An entity named in transaction data: an existing one by stable id, a new
 * one by tempid, or whichever entity a lookup ref names at the point of the
 * transaction where it is used (as in DataScript, an earlier operation of the
 * same transaction can change that). A class, so that no JSON value can pass
 * for one.
 */
export class Target {
  readonly existing: EntityId | undefined;
  readonly temp: string | undefined;
  readonly lookup: { readonly def: AttributeDef; readonly value: Value } | undefined;

  private constructor(existing: EntityId | undefined, temp: string | undefined, lookup: Target['lookup']) {
    this.existing = existing;
    this.temp = temp;
    this.lookup = lookup;
  }

  static existing(id: EntityId): Target {
    return new Target(id, undefined, undefined);
  }

  static temp(name: string): Target {
    return new Target(undefined, name, undefined);
  }

  static lookupRef(def: AttributeDef, value: Value): Target {
    return new Target(undefined, undefined, { def, value });
  }
}

export type FormOp =
  | {
      readonly op: 'add' | 'retract';
      readonly target: Target;
      readonly def: AttributeDef;
      readonly value: Value | Target;
      readonly index: number;
    }
  | { readonly op: 'retract-attribute'; readonly target: Target; readonly def: AttributeDef; readonly index: number }
  | { readonly op: 'retract-entity'; readonly target: Target; readonly index: number };

export interface FormContext {
  readonly schema: Schema;
  readonly db: Db;
  entityIdOf(eid: Eid): EntityId | undefined;
}

export const MAX_TX_FORMS = 100_000;
const MAX_NESTING = 16;

function fail(
  code: (typeof ErrorCode)[keyof typeof ErrorCode],
  index: number,
  message: string,
  details: Record<string, string | number> = {},
): never {
  throw new DatsyncError(code, `transaction item ${index}: ${message}`, { index, ...details });
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

export class FormReader {
  private readonly ctx: FormContext;
  readonly ops: FormOp[] = [];
  private autoTemp = 0;

  constructor(ctx: FormContext) {
    this.ctx = ctx;
  }

  read(txData: unknown): FormOp[] {
    if (!Array.isArray(txData))
      throw new DatsyncError(ErrorCode.InvalidTransaction, 'transaction data must be an array of maps and vectors');
    if (txData.length > MAX_TX_FORMS) throw new DatsyncError(ErrorCode.TooLarge, `a transaction holds at most ${MAX_TX_FORMS} items`);
    for (const [index, form] of (txData as unknown[]).entries()) this.form(form, index);
    return this.ops;
  }

  private form(form: unknown, index: number): void {
    if (Array.isArray(form)) this.vector(form, index);
    else if (typeof form === 'object' && form !== null) this.map(form as Record<string, unknown>, index, 0);
    else fail(ErrorCode.InvalidTransaction, index, `expected a map or a vector, got ${describe(form)}`);
  }

  private vector(form: readonly unknown[], index: number): void {
    const [op, ref, attribute, value] = form;
    switch (op) {
      case ':db/add': {
        if (form.length !== 4) fail(ErrorCode.InvalidTransaction, index, ':db/add takes an entity, an attribute and a value');
        const def = this.attribute(attribute, index);
        this.ops.push({ op: 'add', target: this.target(ref, index), def, value: this.value(def, value, index, 0, false), index });
        return;
      }
      case ':db/retract': {
        if (form.length !== 3 && form.length !== 4)
          fail(ErrorCode.InvalidTransaction, index, ':db/retract takes an entity, an attribute and an optional value');
        const def = this.attribute(attribute, index);
        const target = this.target(ref, index);
        if (form.length === 3) this.ops.push({ op: 'retract-attribute', target, def, index });
        else this.ops.push({ op: 'retract', target, def, value: this.value(def, value, index, 0, false), index });
        return;
      }
      case ':db.fn/retractAttribute': {
        if (form.length !== 3) fail(ErrorCode.InvalidTransaction, index, ':db.fn/retractAttribute takes an entity and an attribute');
        this.ops.push({ op: 'retract-attribute', target: this.target(ref, index), def: this.attribute(attribute, index), index });
        return;
      }
      case ':db/retractEntity':
      case ':db.fn/retractEntity': {
        if (form.length !== 2) fail(ErrorCode.InvalidTransaction, index, `${op} takes one entity`);
        this.ops.push({ op: 'retract-entity', target: this.target(ref, index), index });
        return;
      }
      default:
        fail(ErrorCode.InvalidTransaction, index, `unknown operation ${typeof op === 'string' ? op.slice(0, 40) : describe(op)}`);
    }
  }

  /** Reads an entity map; returns its target so a nested map can be referenced. */
  private map(form: Record<string, unknown>, index: number, depth: number): Target {
    if (depth > MAX_NESTING) fail(ErrorCode.InvalidTransaction, index, 'nested maps too deep');
    const target = Object.hasOwn(form, ':db/id') ? this.target(form[':db/id'], index) : Target.temp(`\u0000auto${this.autoTemp++}`);
    let wrote = false;
    for (const key of Object.keys(form)) {
      if (key === ':db/id') continue;
      const def = this.attribute(key, index);
      const raw = form[key];
      const values = def.cardinality === 'many' && Array.isArray(raw) && !this.isSingleValue(def, raw) ? raw : [raw];
      for (const item of values) {
        this.ops.push({ op: 'add', target, def, value: this.value(def, item, index, depth, true), index });
        wrote = true;
      }
    }
    if (!wrote) fail(ErrorCode.InvalidTransaction, index, 'an entity map needs at least one attribute');
    return target;
  }

  /**
   * An array is the list of values of a cardinality-many attribute, except a
   * JSON array (one value) and, as in DataScript, a lookup ref given to a
   * reference attribute.
   */
  private isSingleValue(def: AttributeDef, raw: readonly unknown[]): boolean {
    if (def.valueType === 'json') return true;
    if (def.valueType !== 'ref' || raw.length !== 2 || typeof raw[0] !== 'string') return false;
    return raw[0] === ENTITY_ID_ATTR || this.ctx.schema.attributes.get(raw[0] as never)?.unique != null;
  }

  private attribute(attribute: unknown, index: number): AttributeDef {
    if (attribute === ENTITY_ID_ATTR) fail(ErrorCode.InvalidTransaction, index, 'datsync/id is assigned by datsync and cannot be written');
    try {
      return attributeOf(this.ctx.schema, attribute);
    } catch (error) {
      if (error instanceof DatsyncError) fail(error.code, index, error.message, { attribute: String(error.details?.attribute ?? '') });
      throw error;
    }
  }

  private target(ref: unknown, index: number): Target {
    if (typeof ref === 'string') return ref.length > 0 ? Target.temp(ref) : fail(ErrorCode.InvalidTransaction, index, 'empty tempid');
    if (typeof ref === 'number') {
      if (!Number.isSafeInteger(ref) || ref === 0) fail(ErrorCode.InvalidTransaction, index, 'entity id must be a non-zero integer');
      if (ref < 0) return Target.temp(`${ref}`);
      const id = this.ctx.entityIdOf(ref);
      if (id === undefined) fail(ErrorCode.UnknownEntity, index, `no entity with eid ${ref}`);
      return Target.existing(id);
    }
    if (Array.isArray(ref) && ref.length === 2 && typeof ref[0] === 'string') return this.lookup(ref[0], ref[1], index);
    return fail(ErrorCode.InvalidTransaction, index, `expected an eid, a tempid or a lookup ref, got ${describe(ref)}`);
  }

  private lookup(attribute: string, value: unknown, index: number): Target {
    if (attribute === ENTITY_ID_ATTR) {
      // A stable id names its entity even where this replica holds none of its datoms.
      if (!isEntityId(value)) fail(ErrorCode.InvalidTransaction, index, 'a datsync/id lookup ref needs a well-formed entity id');
      return Target.existing(value);
    }
    const def = this.attribute(attribute, index);
    if (def.unique === null) fail(ErrorCode.InvalidTransaction, index, `lookup ref attribute ${attribute} is not unique`, { attribute });
    const v = this.value(def, value, index, 0, false);
    if (v instanceof Target) return fail(ErrorCode.InvalidTransaction, index, 'lookup ref value cannot be an entity');
    return Target.lookupRef(def, v);
  }

  /** The entity a lookup ref names in the database as it is (for reads, outside any transaction). */
  resolveNow(ref: unknown): EntityId | undefined {
    const target = this.target(ref, 0);
    if (target.existing !== undefined) return target.existing;
    if (target.lookup === undefined) return undefined;
    const { def, value } = target.lookup;
    const eid = resolveEid(this.ctx.db, [def.name, def.valueType === 'instant' && typeof value === 'number' ? new Date(value) : value]);
    return eid === null ? undefined : this.ctx.entityIdOf(eid);
  }

  /** `nested`: whether a map may stand for a new entity (only inside entity maps, as in DataScript). */
  private value(def: AttributeDef, value: unknown, index: number, depth: number, nested: boolean): Value | Target {
    if (value === null || value === undefined)
      fail(ErrorCode.InvalidValue, index, `attribute ${def.name} cannot hold ${describe(value)}`, { attribute: def.name });
    if (def.valueType === 'ref') {
      if (typeof value === 'object' && !Array.isArray(value)) {
        if (!nested) fail(ErrorCode.InvalidTransaction, index, 'a nested entity map is allowed only inside an entity map');
        return this.map(value as Record<string, unknown>, index, depth + 1);
      }
      return this.target(value, index);
    }
    if (def.valueType === 'instant') {
      const ms = value instanceof Date ? value.getTime() : value;
      if (typeof ms !== 'number' || !Number.isFinite(ms))
        fail(ErrorCode.InvalidValue, index, `attribute ${def.name} expects a Date or epoch milliseconds`, { attribute: def.name });
      return ms;
    }
    try {
      checkValue(def.valueType, value, def.name);
    } catch (error) {
      if (error instanceof DatsyncError) fail(error.code, index, error.message, { attribute: def.name });
      throw error;
    }
    return value;
  }
}
