/**
 * The schema: DataScript's form, plus datsync's options per attribute.
 *
 * Every attribute a transaction names must be declared (an undeclared one is
 * refused with `unknown-attribute`); `{}` declares an untyped
 * cardinality-one attribute, as in DataScript.
 *
 * @example
 * const schema = compileSchema({
 *   'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
 *   'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
 *   'task/owner': { ':db/valueType': ':db.type/ref' },
 *   'user/email': { ':db/unique': ':db.unique/identity', ':db/valueType': ':db.type/string' },
 * });
 *
 * @module
 */
import type { Attr, AttributeSpec, AttributeSpecs, ValueType } from '../crdt/index.js';
import { Cardinality, DatsyncError, ErrorCode, isAttr } from '../crdt/index.js';

/** The attribute that carries each entity's stable, globally unique id in the DataScript projection. */
export const ENTITY_ID_ATTR = 'datsync/id' as Attr;

const valueTypes = {
  ':db.type/string': 'string',
  ':db.type/number': 'number',
  ':db.type/long': 'number',
  ':db.type/double': 'number',
  ':db.type/float': 'number',
  ':db.type/bigint': 'bigint',
  ':db.type/boolean': 'boolean',
  ':db.type/instant': 'instant',
  ':db.type/ref': 'ref',
  ':db.type/json': 'json',
} as const satisfies Record<string, ValueType>;

export type ValueTypeKeyword = keyof typeof valueTypes;

/** One attribute's declaration, as written by the application. */
export interface AttributeInput {
  readonly ':db/cardinality'?: ':db.cardinality/one' | ':db.cardinality/many';
  /** Checked on every write; `:db.type/long` and `:db.type/double` are accepted as `number`. Untyped when absent. */
  readonly ':db/valueType'?: ValueTypeKeyword;
  readonly ':db/unique'?: ':db.unique/identity' | ':db.unique/value';
  readonly ':db/isComponent'?: boolean;
  readonly ':db/index'?: boolean;
  readonly ':db/doc'?: string;
  /** Keep every version and retraction of this attribute (for `history` and `asOf`). */
  readonly ':datsync/history'?: boolean;
}

export type SchemaInput = Readonly<Record<string, AttributeInput>>;

export type Uniqueness = 'identity' | 'value';

export interface AttributeDef {
  readonly name: Attr;
  readonly cardinality: Cardinality;
  readonly valueType: ValueType;
  readonly unique: Uniqueness | null;
  readonly isComponent: boolean;
  readonly history: boolean;
}

export interface Schema {
  readonly attributes: ReadonlyMap<Attr, AttributeDef>;
  /** What the CRDT core needs. */
  readonly specs: AttributeSpecs;
  /** The schema handed to DataScript (refs, cardinality, uniqueness, components, the id attribute). */
  readonly datascript: Readonly<Record<string, Readonly<Record<string, string | boolean>>>>;
  /** Attributes whose values are entity references. */
  readonly refAttributes: readonly Attr[];
  /** The input, canonically serialized: two peers with equal schemas have equal fingerprints. */
  readonly fingerprint: string;
}

const knownKeys = new Set([
  ':db/cardinality',
  ':db/valueType',
  ':db/unique',
  ':db/isComponent',
  ':db/index',
  ':db/doc',
  ':datsync/history',
]);

function invalid(attribute: string, message: string): never {
  throw new DatsyncError(ErrorCode.InvalidSchema, `schema attribute ${attribute}: ${message}`, { attribute });
}

/** Validates and compiles a schema; throws `invalid-schema` naming the first bad declaration. */
export function compileSchema(input: SchemaInput): Schema {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new DatsyncError(ErrorCode.InvalidSchema, 'schema must be an object of attribute declarations');
  }
  const attributes = new Map<Attr, AttributeDef>();
  const specs = new Map<Attr, AttributeSpec>();
  const datascript: Record<string, Record<string, string | boolean>> = {
    [ENTITY_ID_ATTR]: { ':db/unique': ':db.unique/identity' },
  };
  const refAttributes: Attr[] = [];
  for (const name of Object.keys(input).sort()) {
    const decl = input[name];
    if (!isAttr(name)) invalid(name, 'names must be 1 to 200 characters without spaces');
    if (name.startsWith('datsync/') || name.startsWith(':db') || name.startsWith('db/'))
      invalid(name, 'the datsync/ and db/ namespaces are reserved');
    if (typeof decl !== 'object' || decl === null || Array.isArray(decl)) invalid(name, 'declaration must be an object');
    for (const key of Object.keys(decl)) if (!knownKeys.has(key)) invalid(name, `unknown option ${key}`);
    const cardinalityKey = decl[':db/cardinality'] ?? ':db.cardinality/one';
    if (cardinalityKey !== ':db.cardinality/one' && cardinalityKey !== ':db.cardinality/many') invalid(name, 'unknown cardinality');
    const typeKey = decl[':db/valueType'];
    const valueType: ValueType = typeKey === undefined ? 'any' : (valueTypes[typeKey] ?? invalid(name, 'unknown value type'));
    const uniqueKey = decl[':db/unique'];
    if (uniqueKey !== undefined && uniqueKey !== ':db.unique/identity' && uniqueKey !== ':db.unique/value')
      invalid(name, 'unknown uniqueness');
    const isComponent = decl[':db/isComponent'] === true;
    if (isComponent && valueType !== 'ref') invalid(name, 'a component must have value type :db.type/ref');
    for (const flag of [':db/isComponent', ':db/index', ':datsync/history'] as const) {
      if (decl[flag] !== undefined && typeof decl[flag] !== 'boolean') invalid(name, `${flag} must be a boolean`);
    }
    const cardinality = cardinalityKey === ':db.cardinality/many' ? Cardinality.Many : Cardinality.One;
    const def: AttributeDef = {
      name,
      cardinality,
      valueType,
      unique: uniqueKey === ':db.unique/identity' ? 'identity' : uniqueKey === ':db.unique/value' ? 'value' : null,
      isComponent,
      history: decl[':datsync/history'] === true,
    };
    attributes.set(name, def);
    specs.set(name, { cardinality, valueType, history: def.history });
    const ds: Record<string, string | boolean> = {};
    if (cardinality === Cardinality.Many) ds[':db/cardinality'] = ':db.cardinality/many';
    if (valueType === 'ref') {
      ds[':db/valueType'] = ':db.type/ref';
      refAttributes.push(name);
    }
    if (uniqueKey !== undefined) ds[':db/unique'] = uniqueKey;
    if (isComponent) ds[':db/isComponent'] = true;
    if (decl[':db/index'] === true) ds[':db/index'] = true;
    datascript[name] = ds;
  }
  const fingerprint = JSON.stringify(
    [...attributes.values()].map((d) => [d.name, d.cardinality, d.valueType, d.unique, d.isComponent, d.history]),
  );
  return { attributes, specs, datascript, refAttributes, fingerprint };
}

/** The declaration of `attribute`, or `unknown-attribute`. */
export function attributeOf(schema: Schema, attribute: unknown): AttributeDef {
  const def = typeof attribute === 'string' ? schema.attributes.get(attribute as Attr) : undefined;
  if (def === undefined) {
    throw new DatsyncError(
      ErrorCode.UnknownAttribute,
      `attribute ${typeof attribute === 'string' ? attribute.slice(0, 200) : typeof attribute} is not in the schema`,
      {
        attribute: typeof attribute === 'string' ? attribute.slice(0, 200) : typeof attribute,
      },
    );
  }
  return def;
}
