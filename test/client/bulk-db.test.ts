/**
 * The bulk builder (`src/projection/bulk.ts`) builds exactly the database
 * DataScript's `init_db` builds from the same datoms, or steps aside: same
 * datoms in the same index order, same schema, same max eid and tx.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runs } from '../../property-tests/setup.js';
import type { DataScriptSchema, Db, Eid } from '../../src/datascript/index.js';
import { datoms, initDb, pull, q, serializable, TX0 } from '../../src/datascript/index.js';
import type { BulkRow } from '../../src/projection/bulk.js';
import { sortedDb } from '../../src/projection/bulk.js';

const SCHEMA: DataScriptSchema = {
  'datsync/id': { ':db/unique': ':db.unique/identity' },
  'x/tags': { ':db/cardinality': ':db.cardinality/many' },
  'x/refs': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/ref' },
  'x/ref': { ':db/valueType': ':db.type/ref' },
  'x/code': { ':db/unique': ':db.unique/value' },
  'x/when': { ':db/index': true },
};

function same(fast: Db | undefined, rows: readonly BulkRow[]): boolean {
  if (fast === undefined) return false;
  expect(JSON.stringify(serializable(fast))).toBe(JSON.stringify(serializable(initDb(rows, SCHEMA))));
  return true;
}

const strings = fc.constantFrom('', 'a', 'B', 'é', 'b', 'aa', '\u{1F600}', '\uffff', 'zeta', 'ab');
const numbers = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.5, -2.25, 1e21, 2 ** 53, Number.POSITIVE_INFINITY));
const dates = fc.integer({ min: -10_000, max: 10_000 }).map((ms) => new Date(ms * 1000));

/** Datoms of one value kind per attribute (what a typed schema gives), distinct per entity and attribute. */
const typedRows = fc
  .uniqueArray(
    fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/title'), strings),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/tags'), strings),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/score'), numbers),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/refs'), fc.integer({ min: 1, max: 60 })),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/ref'), fc.integer({ min: 1, max: 60 })),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/code'), numbers),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/when'), dates),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('x/flag'), fc.boolean()),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constant('datsync/id'), strings),
    ),
    {
      maxLength: 120,
      selector: ([e, a, v]) => `${e} ${a} ${v instanceof Date ? `d${v.getTime()}` : `${typeof v}${String(v)}`}`,
    },
  )
  .map((rows) => rows.map(([e, a, v]): BulkRow => [e as Eid, a, v, TX0]));

describe('bulk database builder', () => {
  it('builds what init_db builds from the datoms a projection makes', () => {
    fc.assert(
      fc.property(typedRows, (rows) => {
        // Single-valued attributes of one value kind: the fast path must take them all.
        const taken = sortedDb(rows, SCHEMA);
        expect(same(taken, rows)).toBe(true);
      }),
      { numRuns: runs(300) },
    );
  });

  it('builds what init_db builds, or steps aside, whatever the values', () => {
    const anyValue = fc.oneof(strings, numbers, fc.boolean(), dates, fc.constant(Number.NaN), fc.bigInt({ min: -3n, max: 3n }));
    const rows = fc
      .uniqueArray(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.constantFrom('x/tags', 'x/any', 'x/code', 'x/when'), anyValue), {
        maxLength: 60,
        selector: ([e, a, v]) => `${e} ${a} ${v instanceof Date ? `d${v.getTime()}` : `${typeof v}${String(v)}`}`,
      })
      .map((list) => list.map(([e, a, v]): BulkRow => [e as Eid, a, v, TX0]));
    fc.assert(
      fc.property(rows, (list) => {
        const fast = sortedDb(list, SCHEMA);
        if (fast !== undefined) same(fast, list);
      }),
      { numRuns: runs(300) },
    );
  });

  it('gives dates back as the very Date objects, queryable', () => {
    const when = new Date(1_700_000_000_000);
    const rows: BulkRow[] = [
      [2, 'x/when', when, TX0],
      [1, 'x/when', new Date(0), TX0],
      [1, 'datsync/id', 'one', TX0],
      [2, 'datsync/id', 'two', TX0],
    ];
    const db = sortedDb(rows, SCHEMA);
    expect(db).toBeDefined();
    if (db === undefined) return;
    expect(datoms(db, ':eavt', 2, 'x/when')[0]?.v).toBe(when);
    expect(pull(db, '["x/when"]', ['datsync/id', 'two'])).toEqual({ 'x/when': when });
    expect(q('[:find ?e . :in $ ?t :where [?e "x/when" ?t]]', db, when)).toBe(2);
  });

  it('keeps each datom\u2019s transaction', () => {
    const rows: BulkRow[] = [
      [1, 'x/tags', 'b', TX0 + 3],
      [1, 'x/tags', 'a', TX0],
      [2, 'x/title', 'two', TX0 + 7],
      [1, 'x/title', 'one', TX0],
    ];
    expect(same(sortedDb(rows, SCHEMA), rows)).toBe(true);
  });

  it('steps aside for what it does not order', () => {
    expect(sortedDb([[1, ':kw/attr', 1, TX0]], SCHEMA)).toBeUndefined();
    expect(sortedDb([[1, 'x/any', 5n, TX0]], SCHEMA)).toBeUndefined();
    expect(sortedDb([[1, 'x/any', { a: 1 }, TX0]], SCHEMA)).toBeUndefined();
    expect(
      sortedDb(
        [
          [1, 'x/tags', 'a', TX0],
          [1, 'x/tags', 2, TX0],
        ],
        SCHEMA,
      ),
    ).toBeUndefined();
    expect(
      sortedDb(
        [
          [1, 'x/when', new Date(0), TX0],
          [2, 'x/when', 5, TX0],
        ],
        SCHEMA,
      ),
    ).toBeUndefined();
  });
});
