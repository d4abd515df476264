/**
 * Staged changes (`Projection.stage`, what the server log uses so that a
 * group of transactions costs one DataScript transaction) give exactly the
 * databases that applying them one batch at a time gives, at every mark, and
 * a mark already transacted past is refused rather than answered wrongly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attr, DatomChange, EntityId } from '../../crdt/index.js';
import { runs } from '../../property-tests/setup.js';
import type { Db } from '../../src/datascript/index.js';
import { datoms } from '../../src/datascript/index.js';
import { Projection } from '../../src/projection/projection.js';
import { compileSchema } from '../../src/schema.js';

const schema = compileSchema({
  'x/title': { ':db/valueType': ':db.type/string' },
  'x/tags': { ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' },
  'x/code': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
});

const entity = fc.constantFrom('e1', 'e2', 'e3', 'e4') as fc.Arbitrary<EntityId>;
const value = fc.constantFrom('a', 'b', 'c');
const step = fc.record({ entity, attribute: fc.constantFrom('x/title', 'x/tags', 'x/code') as fc.Arbitrary<Attr>, value });

/** Turns wishes into visible changes a CRDT could emit: a cardinality-one value is replaced, a shown datom is retracted. */
function changesOf(wishes: ReadonlyArray<{ entity: EntityId; attribute: Attr; value: string }>, shown: Map<string, Set<string>>) {
  const out: DatomChange[] = [];
  for (const { entity: e, attribute, value: v } of wishes) {
    const key = `${e} ${attribute}`;
    const values = shown.get(key) ?? new Set<string>();
    shown.set(key, values);
    const change = (val: string, added: boolean): DatomChange => ({ entity: e, attribute, value: val, added });
    if (values.has(v)) {
      out.push(change(v, false));
      values.delete(v);
      continue;
    }
    if (attribute !== 'x/tags') {
      for (const old of values) out.push(change(old, false));
      values.clear();
    }
    out.push(change(v, true));
    values.add(v);
  }
  return out;
}

function rows(db: Db): string[] {
  return datoms(db, ':eavt').map((d) => JSON.stringify([d.e, d.a, d.v]));
}

describe('Projection.stage', () => {
  it('gives the databases applying batch by batch gives, at every mark, read in any order of marks', () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { maxLength: 6 }), { minLength: 1, maxLength: 12 }), fc.array(fc.boolean()), (wishes, reads) => {
        const shown = new Map<string, Set<string>>();
        const batches = wishes.map((batch) => changesOf(batch, shown));
        const applied = new Projection(schema);
        const staged = new Projection(schema);
        const expected = batches.map((batch) => rows(applied.apply(batch).dbAfter));
        batches.forEach((batch, i) => {
          const report = staged.stage(batch);
          // Some marks are read as they come (a write rule reading the database), others only at the end.
          if (reads[i] === true) expect(rows(staged.at(report.after))).toEqual(expected[i]);
        });
        expect(rows(staged.db)).toEqual(expected[expected.length - 1]);
      }),
      { numRuns: runs(300) },
    );
  });

  it('refuses a mark it has transacted past', () => {
    const projection = new Projection(schema);
    const title = 'x/title' as Attr;
    const first = projection.stage([{ entity: 'e1' as EntityId, attribute: title, value: 'a', added: true }]);
    projection.stage([{ entity: 'e2' as EntityId, attribute: title, value: 'b', added: true }]);
    const db = projection.db;
    expect(() => projection.at(first.after)).toThrow(/no longer at hand/);
    expect(projection.at(projection.mark)).toBe(db);
  });
});
