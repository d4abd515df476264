/**
 * Starting over under a new replica id (see src/client/reissue.ts): the
 * entities the reissued writes created are renamed, references to them
 * follow, and everything else keeps its name.
 */
import { describe, expect, it } from 'vitest';
import type { EntityId, ReplicaId, Transaction } from '../../crdt/index.js';
import { entityIdFromDot, OpKind } from '../../crdt/index.js';
import { planReissue } from '../../src/client/reissue.js';
import { compileSchema } from '../../src/schema.js';
import { SCHEMA } from './helpers.js';

const OLD = 'AAAAAAAAAAAAAAAA' as ReplicaId;
const NEW = 'BBBBBBBBBBBBBBBB' as ReplicaId;
const OTHER = 'CCCCCCCCCCCCCCCC' as ReplicaId;
const specs = compileSchema(SCHEMA).specs;

function tx(counter: number, ops: Array<[EntityId, string, unknown]>): Transaction {
  return {
    replica: OLD,
    counter,
    hlc: '0' as never,
    ops: ops.map(([entity, attribute, value], offset) => ({
      offset,
      entity,
      attribute,
      kind: OpKind.Assert,
      value,
      supersedes: [],
    })) as never,
  };
}

describe('planReissue', () => {
  const before = entityIdFromDot(OLD, 3); // created before the copies parted: kept
  const created = entityIdFromDot(OLD, 5);
  const later = entityIdFromDot(OLD, 6);
  const foreign = entityIdFromDot(OTHER, 9);
  const txs = [
    tx(5, [
      [created, 'person/name', 'Ann'],
      [created, 'person/friend', before],
    ]),
    tx(7, [
      [later, 'person/name', 'Bob'],
      [later, 'person/friends', created],
      [foreign, 'person/friend', later],
    ]),
  ];

  it('renames the entities created from the first reissued counter on, after reserved dots of the new id', () => {
    const plan = planReissue(txs, OLD, 5, NEW, specs);
    expect([...plan.renamed]).toEqual([
      [created, entityIdFromDot(NEW, 1)],
      [later, entityIdFromDot(NEW, 2)],
    ]);
    expect(plan.reserved).toBe(2);
  });

  it('carries the values over, with references to renamed entities following them', () => {
    const plan = planReissue(txs, OLD, 5, NEW, specs);
    expect(plan.intents(txs[1] as Transaction)).toEqual([
      { entity: entityIdFromDot(NEW, 2), attribute: 'person/name', kind: OpKind.Assert, value: 'Bob' },
      { entity: entityIdFromDot(NEW, 2), attribute: 'person/friends', kind: OpKind.Assert, value: entityIdFromDot(NEW, 1) },
      { entity: foreign, attribute: 'person/friend', kind: OpKind.Assert, value: entityIdFromDot(NEW, 2) },
    ]);
    expect(plan.intents(txs[0] as Transaction)[1]).toEqual({
      entity: entityIdFromDot(NEW, 1),
      attribute: 'person/friend',
      kind: OpKind.Assert,
      value: before,
    });
  });

  it('a string value that looks like an entity id is a string, not a reference', () => {
    const plan = planReissue([tx(5, [[created, 'person/name', later]])], OLD, 5, NEW, specs);
    expect(plan.intents(tx(5, [[created, 'person/name', later]]))[0]?.value).toBe(later);
  });
});
