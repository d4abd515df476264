/**
 * Random schemas and random DataScript transaction streams, written so that
 * raw DataScript can run the same data: every entity carries a unique
 * `k/key`, and everything else refers to entities through lookup refs or
 * upserting tempids, so two databases can be compared entity by entity.
 */
import fc from 'fast-check';
import type { AttributeInput, SchemaInput } from '../../src/schema.js';

export interface AttrShape {
  readonly name: string;
  readonly many: boolean;
  readonly type: 'string' | 'number' | 'boolean' | 'ref';
  readonly unique: boolean;
  readonly component: boolean;
}

export const KEY_ATTR = 'k/key';
export const KEYS = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'];

export const schemaArb: fc.Arbitrary<AttrShape[]> = fc
  .array(
    fc.record({
      many: fc.boolean(),
      type: fc.constantFrom<AttrShape['type']>('string', 'number', 'boolean', 'ref'),
      unique: fc.boolean(),
      component: fc.boolean(),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((shapes) =>
    shapes.map((shape, i) => ({
      ...shape,
      name: `a/attr${i}`,
      component: shape.component && shape.type === 'ref',
      // Unique values of strings and numbers: concurrent claims must resolve alike everywhere.
      unique: shape.unique && (shape.type === 'string' || shape.type === 'number'),
    })),
  );

export function toSchema(attrs: readonly AttrShape[]): SchemaInput {
  const schema: Record<string, AttributeInput> = {
    [KEY_ATTR]: { ':db/unique': ':db.unique/identity', ':db/valueType': ':db.type/string' },
  };
  for (const attr of attrs) {
    const decl: { -readonly [K in keyof AttributeInput]: AttributeInput[K] } = {};
    if (attr.many) decl[':db/cardinality'] = ':db.cardinality/many';
    decl[':db/valueType'] =
      attr.type === 'ref'
        ? ':db.type/ref'
        : attr.type === 'number'
          ? ':db.type/number'
          : attr.type === 'boolean'
            ? ':db.type/boolean'
            : ':db.type/string';
    if (attr.component) decl[':db/isComponent'] = true;
    if (attr.unique) decl[':db/unique'] = ':db.unique/value';
    schema[attr.name] = decl;
  }
  return schema;
}

/** DataScript's own schema for the same attributes. */
export function toDataScriptSchema(attrs: readonly AttrShape[]): Record<string, Record<string, string | boolean>> {
  const schema: Record<string, Record<string, string | boolean>> = { [KEY_ATTR]: { ':db/unique': ':db.unique/identity' } };
  for (const attr of attrs) {
    const decl: Record<string, string | boolean> = {};
    if (attr.many) decl[':db/cardinality'] = ':db.cardinality/many';
    if (attr.type === 'ref') decl[':db/valueType'] = ':db.type/ref';
    if (attr.component) decl[':db/isComponent'] = true;
    if (attr.unique) decl[':db/unique'] = ':db.unique/value';
    schema[attr.name] = decl;
  }
  return schema;
}

/** One abstract operation; `materialize` turns it into tx data. */
export type AbstractOp =
  | { readonly type: 'upsert'; readonly key: number; readonly attr: number; readonly value: number }
  | { readonly type: 'add'; readonly key: number; readonly attr: number; readonly value: number }
  | { readonly type: 'retract'; readonly key: number; readonly attr: number; readonly value: number }
  | { readonly type: 'retract-attribute'; readonly key: number; readonly attr: number }
  | { readonly type: 'retract-entity'; readonly key: number };

export const opArb: fc.Arbitrary<AbstractOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('upsert' as const), key: fc.nat(KEYS.length - 1), attr: fc.nat(4), value: fc.nat(5) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('add' as const), key: fc.nat(KEYS.length - 1), attr: fc.nat(4), value: fc.nat(5) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('retract' as const), key: fc.nat(KEYS.length - 1), attr: fc.nat(4), value: fc.nat(5) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('retract-attribute' as const), key: fc.nat(KEYS.length - 1), attr: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('retract-entity' as const), key: fc.nat(KEYS.length - 1) }) },
);

export const streamArb: fc.Arbitrary<AbstractOp[][]> = fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 12,
});

function sampleValue(attr: AttrShape, n: number): unknown {
  switch (attr.type) {
    case 'string':
      return `s${n}`;
    case 'number':
      return n * 1.5;
    case 'boolean':
      return n % 2 === 0;
    case 'ref':
      return [KEY_ATTR, KEYS[n % KEYS.length]];
  }
}

/**
 * Tx data for one abstract transaction. Ops on entities that do not exist
 * (per `exists`) become upserts, since DataScript cannot add to a lookup ref
 * that resolves to nothing; ref values point only at existing entities.
 */
export function materialize(ops: readonly AbstractOp[], attrs: readonly AttrShape[], exists: (key: string) => boolean): unknown[] {
  const out: unknown[] = [];
  for (const op of ops) {
    const key = KEYS[op.key] as string;
    const ref = [KEY_ATTR, key];
    if (op.type === 'retract-entity') {
      if (exists(key)) out.push([':db/retractEntity', ref]);
      continue;
    }
    const attr = attrs[op.attr % attrs.length] as AttrShape;
    if (op.type === 'retract-attribute') {
      if (exists(key)) out.push([':db.fn/retractAttribute', ref, attr.name]);
      continue;
    }
    let value = sampleValue(attr, op.value);
    if (attr.type === 'ref') {
      const target = KEYS[op.value % KEYS.length] as string;
      if (!exists(target)) continue;
      value = [KEY_ATTR, target];
    }
    if (op.type === 'retract') {
      if (exists(key)) out.push([':db/retract', ref, attr.name, value]);
      continue;
    }
    if (op.type === 'upsert' || !exists(key)) out.push({ ':db/id': `t-${key}`, [KEY_ATTR]: key, [attr.name]: value });
    else out.push([':db/add', ref, attr.name, value]);
  }
  return out;
}
