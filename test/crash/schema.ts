import type { SchemaInput } from '../../src/schema.js';

export const crashSchema: SchemaInput = {
  'crash/seq': { ':db/valueType': ':db.type/number', ':db/unique': ':db.unique/identity' },
  'crash/a': { ':db/valueType': ':db.type/number' },
  'crash/b': { ':db/valueType': ':db.type/string' },
};
