/**
 * The data of the sync benchmarks: the task-tracker attributes of the CRDT
 * benchmarks (bench/crdt/workload.ts) as an application schema, and the same
 * writes as transaction data for a client and as Yjs map writes.
 *
 * @module
 */
import type { SchemaInput } from '../../src/schema.js';
import type { Write } from '../crdt/workload.js';
import { SPECS } from '../crdt/workload.js';

function schemaOf(): SchemaInput {
  const schema: Record<string, { ':db/valueType': ':db.type/string' | ':db.type/number' | ':db.type/instant' }> = {};
  for (const [name, spec] of SPECS) {
    if (spec.valueType !== 'string' && spec.valueType !== 'number' && spec.valueType !== 'instant')
      throw new Error('the workload holds strings, numbers and instants');
    schema[name] = { ':db/valueType': `:db.type/${spec.valueType}` };
  }
  return schema;
}

/** Ten cardinality-one attributes without history: strings, numbers and an instant. */
export const SCHEMA: SchemaInput = schemaOf();

/** The writes of one batch as entity maps, one per entity, with tempids `e0`, `e1`, ... in order of first write. */
export function entityMaps(batch: readonly Write[]): { readonly maps: Record<string, unknown>[]; readonly entities: string[] } {
  const byEntity = new Map<string, Record<string, unknown>>();
  for (const write of batch) {
    let map = byEntity.get(write.entity);
    if (map === undefined) {
      map = { ':db/id': `e${byEntity.size}` };
      byEntity.set(write.entity, map);
    }
    map[write.attribute] = write.value;
  }
  return { maps: [...byEntity.values()], entities: [...byEntity.keys()] };
}
