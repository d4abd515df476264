import { describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import {
  compareDots,
  entityIdFromDot,
  isAttr,
  isDot,
  isEntityId,
  isReplicaId,
  isSafeCounter,
  isTxId,
  mintReplicaId,
  parseAttr,
  parseEntityId,
  parseReplicaId,
  parseTxId,
  txIdOf,
} from '../../crdt/index.js';
import { A, B, codeOf, dot } from './helpers.js';

describe('replica ids', () => {
  it.each(['abcd', 'A-_9', 'x'.repeat(40), 'replica-a0'])('accepts %s', (id) => {
    expect(isReplicaId(id)).toBe(true);
    expect(parseReplicaId(id)).toBe(id);
  });

  it.each(['abc', 'x'.repeat(41), '', 'ab:cd', 'ab.cd', ' abcd', 'abcd ', 'abçd', 'ab/cd', 42, null, undefined, { id: 'abcd' }])(
    'refuses %s with invalid-op',
    (id) => {
      expect(isReplicaId(id)).toBe(false);
      expect(codeOf(() => parseReplicaId(id))).toBe('invalid-op');
    },
  );
});

describe('mintReplicaId', () => {
  it('mints a valid 16-character id from 12 bytes, deterministically', () => {
    const bytes = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const id = mintReplicaId(bytes);
    expect(id).toHaveLength(16);
    expect(isReplicaId(id)).toBe(true);
    expect(mintReplicaId(bytes)).toBe(id);
    expect(id).toBe('ABCDEFGHIJKLABCD');
  });

  it('different random bytes give different ids', () => {
    const one = mintReplicaId(new Uint8Array(16).fill(1));
    const two = mintReplicaId(new Uint8Array(16).fill(2));
    expect(one).not.toBe(two);
  });

  it('uses all 64 url-safe characters', () => {
    const id = mintReplicaId(new Uint8Array([62, 63, 255, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(id.slice(0, 4)).toBe('-__A');
    expect(isReplicaId(id)).toBe(true);
  });

  it('needs at least 12 random bytes', () => {
    expect(codeOf(() => mintReplicaId(new Uint8Array(11)))).toBe('invalid-op');
    expect(codeOf(() => mintReplicaId(new Uint8Array(0)))).toBe('invalid-op');
    expect(isReplicaId(mintReplicaId(new Uint8Array(12)))).toBe(true);
  });
});

describe('entity ids', () => {
  it.each(['abcd.1', 'abcd.z', 'replicaA.2gosa7pa2gv', `${'x'.repeat(40)}.0`])('accepts %s', (id) => {
    expect(isEntityId(id)).toBe(true);
    expect(parseEntityId(id)).toBe(id);
  });

  it.each(['abcd.', 'abcd.A', 'abcd.123456789012', 'abc.1', 'abcd:1', 'abcd.1.2', '.1', 'abcd', 'ab cd.1', 'abcd.-1', 7, null])(
    'refuses %s with invalid-op',
    (id) => {
      expect(isEntityId(id)).toBe(false);
      expect(codeOf(() => parseEntityId(id))).toBe('invalid-op');
    },
  );

  it('entityIdFromDot names the entity after the dot in base 36', () => {
    expect(entityIdFromDot(A, 1)).toBe('replicaA.1');
    expect(entityIdFromDot(A, 35)).toBe('replicaA.z');
    expect(entityIdFromDot(A, 36)).toBe('replicaA.10');
    const largest = entityIdFromDot(A, Number.MAX_SAFE_INTEGER);
    expect(isEntityId(largest)).toBe(true);
    expect(largest).toBe('replicaA.2gosa7pa2gv');
  });

  it('distinct dots give distinct entity ids', () => {
    const ids = new Set([entityIdFromDot(A, 1), entityIdFromDot(A, 2), entityIdFromDot(B, 1), entityIdFromDot(B, 2)]);
    expect(ids.size).toBe(4);
  });
});

describe('transaction ids', () => {
  it('txIdOf and parseTxId round-trip', () => {
    for (const counter of [1, 9, 10, 123_456, Number.MAX_SAFE_INTEGER]) {
      const id = txIdOf(A, counter);
      expect(id).toBe(`replicaA:${counter}`);
      expect(isTxId(id)).toBe(true);
      expect(parseTxId(id)).toEqual({ replica: A, counter });
    }
  });

  it.each([
    ['counter 0', 'replicaA:0'],
    ['counter 0 with leading zeros', 'replicaA:0000'],
    ['an unsafe counter', `replicaA:${Number.MAX_SAFE_INTEGER + 1}`],
    ['17 digits', 'replicaA:12345678901234567'],
    ['a negative counter', 'replicaA:-1'],
    ['no counter', 'replicaA:'],
    ['no colon', 'replicaA'],
    ['a bad replica', 'rep!:1'],
    ['an entity id', 'replicaA.1'],
    ['a number', 5],
  ])('refuses %s with invalid-op', (_label, id) => {
    expect(codeOf(() => parseTxId(id))).toBe('invalid-op');
  });
});

describe('attributes', () => {
  it.each(['task/title', ':db/ident', 'a', 'x'.repeat(200), 'ünïcödé/attr'])('accepts %s', (name) => {
    expect(isAttr(name)).toBe(true);
    expect(parseAttr(name)).toBe(name);
  });

  it.each(['', 'has space', 'tab\there', 'new\nline', 'nul\0byte', 'x'.repeat(201), 3, null])(
    'refuses %s with unknown-attribute',
    (name) => {
      expect(isAttr(name)).toBe(false);
      expect(codeOf(() => parseAttr(name))).toBe('unknown-attribute');
    },
  );
});

describe('dots', () => {
  it('isSafeCounter accepts positive safe integers only', () => {
    expect(isSafeCounter(1)).toBe(true);
    expect(isSafeCounter(Number.MAX_SAFE_INTEGER)).toBe(true);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, '1', 1n]) expect(isSafeCounter(bad)).toBe(false);
  });

  it('isDot checks the replica and the counter', () => {
    expect(isDot(dot(A, 1))).toBe(true);
    expect(isDot({ replica: A, counter: 1, extra: true })).toBe(true);
    expect(isDot({ replica: A, counter: 0 })).toBe(false);
    expect(isDot({ replica: A, counter: 2.5 })).toBe(false);
    expect(isDot({ replica: A, counter: Number.MAX_SAFE_INTEGER + 1 })).toBe(false);
    expect(isDot({ replica: 'no', counter: 1 })).toBe(false);
    expect(isDot({ counter: 1 })).toBe(false);
    expect(isDot(null)).toBe(false);
    expect(isDot('replicaA:1')).toBe(false);
  });

  it('compareDots orders by replica id, then counter', () => {
    expect(compareDots(dot(A, 9), dot(B, 1))).toBeLessThan(0);
    expect(compareDots(dot(B, 1), dot(A, 9))).toBeGreaterThan(0);
    expect(compareDots(dot(A, 2), dot(A, 10))).toBeLessThan(0);
    expect(compareDots(dot(A, 10), dot(A, 2))).toBeGreaterThan(0);
    expect(compareDots(dot(A, 3), dot(A, 3))).toBe(0);
    const sorted = [dot(B, 2), dot(A, 10), dot(B, 1), dot(A, 2)].sort(compareDots);
    expect(sorted).toEqual([dot(A, 2), dot(A, 10), dot(B, 1), dot(B, 2)]);
  });

  it('compareDots compares replica ids by code unit, not locale', () => {
    const upper = 'Zeta' as ReplicaId;
    const lower = 'alpha' as ReplicaId;
    expect(compareDots(dot(upper, 1), dot(lower, 1))).toBeLessThan(0);
  });
});
