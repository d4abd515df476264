import { describe, expect, it } from 'vitest';
import type { EntityId, Transaction, WriteIntent } from '../../crdt/index.js';
import { entityIdFromDot, HybridClock, hlcFromParts, LocalAuthor, OpKind, ReplicaState, validateTransaction } from '../../crdt/index.js';
import { A, ATTR, B, codeOf, dot, E1, E2, fail, put, SPECS, snapshot } from './helpers.js';

const NOW = 1_700_000_000_000;

function authorFor(issuedUpTo = 0): LocalAuthor {
  return new LocalAuthor(A, issuedUpTo, new HybridClock());
}

function assert(entity: EntityId, attribute: WriteIntent['attribute'], value: WriteIntent['value']): WriteIntent {
  return { entity, attribute, kind: OpKind.Assert, value };
}

function retract(entity: EntityId, attribute: WriteIntent['attribute'], value?: WriteIntent['value']): WriteIntent {
  return { entity, attribute, kind: OpKind.Retract, value };
}

/** Authors `intents` against `state` and applies the result there; fails if nothing was authored. */
function write(author: LocalAuthor, state: ReplicaState, intents: WriteIntent[], physicalMs = NOW): Transaction {
  const tx = author.author(intents, state, SPECS, physicalMs) ?? fail('expected a transaction');
  state.applyTransaction(tx);
  return tx;
}

/** A state where B wrote concurrently with A: score siblings 1 and 2, tags {x (twice), y}. */
function withSiblings(): ReplicaState {
  const state = new ReplicaState(SPECS);
  state.applyTransaction(put(A, 1, 100, E1, ATTR.score, 1));
  state.applyTransaction(put(B, 1, 100, E1, ATTR.score, 2));
  state.applyTransaction(put(A, 2, 100, E1, ATTR.tags, 'x'));
  state.applyTransaction(put(B, 2, 100, E1, ATTR.tags, 'x'));
  state.applyTransaction(put(B, 3, 100, E1, ATTR.tags, 'y'));
  return state;
}

describe('LocalAuthor.author', () => {
  it('numbers ops from issuedUpTo + 1, stamps one hlc, and advances issuedUpTo by the op count', () => {
    const author = authorFor(10);
    expect(author.nextCounter).toBe(11);
    const state = new ReplicaState(SPECS);
    const tx = write(author, state, [assert(E1, ATTR.score, 1), assert(E1, ATTR.tags, 'a'), assert(E2, ATTR.name, 'n')]);
    expect(tx.replica).toBe(A);
    expect(tx.counter).toBe(11);
    expect(tx.hlc).toBe(hlcFromParts(NOW, 0));
    expect(tx.ops.map((op) => op.offset)).toEqual([0, 1, 2]);
    expect(author.issuedUpTo).toBe(13);
    expect(author.nextCounter).toBe(14);
    expect(author.clock.current).toBe(tx.hlc);
    const next = write(author, state, [assert(E1, ATTR.score, 2)], NOW);
    expect(next.counter).toBe(14);
    expect(next.hlc).toBeGreaterThan(tx.hlc);
    expect(author.issuedUpTo).toBe(14);
  });

  it('produces transactions that validate and that another replica can receive', () => {
    const mine = withSiblings();
    const tx = write(authorFor(5), mine, [assert(E1, ATTR.score, 3), retract(E1, ATTR.tags, 'x'), assert(E1, ATTR.tags, 'z')]);
    expect(() => validateTransaction(tx, SPECS)).not.toThrow();
    const other = withSiblings();
    other.receive(tx);
    expect(other.values(E1, ATTR.score)).toEqual([3]);
    expect(other.values(E1, ATTR.tags).sort()).toEqual(['y', 'z']);
    expect(snapshot(other)).toBe(snapshot(mine));
  });

  it('does not apply what it authors', () => {
    const state = withSiblings();
    const before = snapshot(state);
    authorFor(5).author([assert(E1, ATTR.score, 9)], state, SPECS, NOW);
    expect(snapshot(state)).toBe(before);
  });

  it('cardinality one: an assert supersedes the live version', () => {
    const state = new ReplicaState(SPECS);
    const author = authorFor();
    const first = write(author, state, [assert(E1, ATTR.score, 1)]);
    expect(first.ops[0]?.supersedes).toEqual([]);
    const second = write(author, state, [assert(E1, ATTR.score, 2)]);
    expect(second.ops[0]?.supersedes).toEqual([dot(A, 1)]);
    expect(state.values(E1, ATTR.score)).toEqual([2]);
  });

  it('cardinality one: an assert over siblings supersedes all of them and resolves the conflict', () => {
    const state = withSiblings();
    const author = authorFor(5);
    const tx = write(author, state, [assert(E1, ATTR.score, 3)]);
    expect(tx.ops[0]?.supersedes).toEqual(expect.arrayContaining([dot(A, 1), dot(B, 1)]));
    expect(tx.ops[0]?.supersedes).toHaveLength(2);
    expect(state.live(E1, ATTR.score)).toEqual([{ dot: dot(A, 6), value: 3 }]);
  });

  it('cardinality one: asserting the value a sibling holds is not a no-op, it resolves the conflict', () => {
    const state = withSiblings();
    const tx = write(authorFor(5), state, [assert(E1, ATTR.score, 2)]);
    expect(tx.ops[0]?.supersedes).toHaveLength(2);
    expect(state.live(E1, ATTR.score)).toHaveLength(1);
    expect(state.values(E1, ATTR.score)).toEqual([2]);
  });

  it('drops asserting the value already shown with no siblings', () => {
    const state = new ReplicaState(SPECS);
    const author = authorFor();
    write(author, state, [assert(E1, ATTR.score, 1)]);
    const clockBefore = author.clock.current;
    expect(author.author([assert(E1, ATTR.score, 1)], state, SPECS, NOW + 10)).toBeNull();
    expect(author.issuedUpTo).toBe(1);
    expect(author.clock.current).toBe(clockBefore);
  });

  it('treats -0 and 0 as the same value when dropping no-ops', () => {
    const state = new ReplicaState(SPECS);
    const author = authorFor();
    write(author, state, [assert(E1, ATTR.score, 0)]);
    expect(author.author([assert(E1, ATTR.score, -0)], state, SPECS, NOW)).toBeNull();
  });

  it('drops re-adding a value already in a set, and adds a new one beside the others', () => {
    const state = withSiblings();
    const author = authorFor(5);
    expect(author.author([assert(E1, ATTR.tags, 'x')], state, SPECS, NOW)).toBeNull();
    const tx = write(author, state, [assert(E1, ATTR.tags, 'z')]);
    expect(tx.ops[0]?.supersedes).toEqual([]);
    expect(state.values(E1, ATTR.tags).sort()).toEqual(['x', 'y', 'z']);
  });

  it('drops retracting a value that is not there, and retract-all of an empty register', () => {
    const state = withSiblings();
    const author = authorFor(5);
    expect(author.author([retract(E1, ATTR.tags, 'absent')], state, SPECS, NOW)).toBeNull();
    expect(author.author([retract(E1, ATTR.score, 99)], state, SPECS, NOW)).toBeNull();
    expect(author.author([retract(E2, ATTR.tags)], state, SPECS, NOW)).toBeNull();
    expect(author.issuedUpTo).toBe(5);
  });

  it('a retract of a value supersedes every version holding it, and only those', () => {
    const state = withSiblings();
    const tx = write(authorFor(5), state, [retract(E1, ATTR.tags, 'x')]);
    expect(tx.ops[0]?.supersedes).toEqual(expect.arrayContaining([dot(A, 2), dot(B, 2)]));
    expect(tx.ops[0]?.supersedes).toHaveLength(2);
    expect(state.values(E1, ATTR.tags)).toEqual(['y']);
  });

  it('a retract-all supersedes every live version', () => {
    const state = withSiblings();
    const tx = write(authorFor(5), state, [retract(E1, ATTR.tags), retract(E1, ATTR.score)]);
    expect(tx.ops[0]?.supersedes).toHaveLength(3);
    expect(tx.ops[1]?.supersedes).toHaveLength(2);
    expect(tx.ops.every((op) => op.value === undefined)).toBe(true);
    expect(state.values(E1, ATTR.tags)).toEqual([]);
    expect(state.values(E1, ATTR.score)).toEqual([]);
  });

  it('keeps the real intents of a mixed batch, renumbered without gaps', () => {
    const state = withSiblings();
    const author = authorFor(5);
    const tx = write(author, state, [
      assert(E1, ATTR.tags, 'x'),
      assert(E1, ATTR.flag, true),
      retract(E1, ATTR.tags, 'absent'),
      assert(E2, ATTR.name, 'n'),
    ]);
    expect(tx.ops.map((op) => [op.offset, op.attribute])).toEqual([
      [0, ATTR.flag],
      [1, ATTR.name],
    ]);
    expect(author.issuedUpTo).toBe(7);
  });

  it('returns null for an empty list of intents', () => {
    const author = authorFor(3);
    expect(author.author([], new ReplicaState(SPECS), SPECS, NOW)).toBeNull();
    expect(author.issuedUpTo).toBe(3);
  });

  it('refuses an attribute outside the schema and an assert without a value', () => {
    const author = authorFor();
    const state = new ReplicaState(SPECS);
    expect(codeOf(() => author.author([assert(E1, 'no/such' as typeof ATTR.name, 1)], state, SPECS, NOW))).toBe('unknown-attribute');
    expect(codeOf(() => author.author([assert(E1, ATTR.name, undefined)], state, SPECS, NOW))).toBe('invalid-op');
    expect(author.issuedUpTo).toBe(0);
    expect(author.clock.current).toBe(0);
  });

  it('refuses to issue past the largest safe counter', () => {
    const author = authorFor(Number.MAX_SAFE_INTEGER);
    expect(codeOf(() => author.author([assert(E1, ATTR.score, 1)], new ReplicaState(SPECS), SPECS, NOW))).toBe('invalid-op');
    expect(author.issuedUpTo).toBe(Number.MAX_SAFE_INTEGER);
    expect(author.clock.current).toBe(0);
  });

  it('refuses a negative or fractional issuedUpTo', () => {
    expect(codeOf(() => new LocalAuthor(A, -1, new HybridClock()))).toBe('invalid-op');
    expect(codeOf(() => new LocalAuthor(A, 1.5, new HybridClock()))).toBe('invalid-op');
  });
});

describe('LocalAuthor.newEntityId', () => {
  it('names the k-th new entity after the dot of op k of the next transaction', () => {
    const author = authorFor(41);
    expect(author.newEntityId(0)).toBe(entityIdFromDot(A, 42));
    expect(author.newEntityId(2)).toBe(entityIdFromDot(A, 44));
  });

  it('is unique across transactions that give each new entity an attribute', () => {
    const author = authorFor();
    const state = new ReplicaState(SPECS);
    const seen = new Set<EntityId>();
    for (let round = 0; round < 5; round++) {
      const ids = [author.newEntityId(0), author.newEntityId(1)];
      const tx = write(author, state, [
        assert(ids[0] ?? fail('id'), ATTR.name, `first ${round}`),
        assert(ids[1] ?? fail('id'), ATTR.name, `second ${round}`),
      ]);
      for (const [k, id] of ids.entries()) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        // The id is named after the dot of the op that created the entity.
        expect(id).toBe(entityIdFromDot(A, tx.counter + k));
      }
    }
    expect(seen.size).toBe(10);
    expect(state.entityCount()).toBe(10);
  });

  it('different replicas never mint the same id', () => {
    const a = new LocalAuthor(A, 0, new HybridClock());
    const b = new LocalAuthor(B, 0, new HybridClock());
    expect(a.newEntityId(0)).not.toBe(b.newEntityId(0));
  });
});
