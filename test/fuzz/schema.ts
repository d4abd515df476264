/** The schema of the fuzz target and the fuzzer's valid frames. */
import type { SchemaInput } from '../../src/schema.js';

export const fuzzSchema: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  'task/done': { ':db/valueType': ':db.type/boolean' },
  'task/author': { ':db/valueType': ':db.type/string' },
  'task/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
  'task/meta': { ':db/valueType': ':db.type/json' },
  'task/owner': { ':db/valueType': ':db.type/ref' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'secret/code': { ':db/valueType': ':db.type/string' },
};

/** The fuzz target's frame limit (small, so oversized frames are cheap to send). */
export const HOSTILE_FRAME_LIMIT = 256 * 1024;
