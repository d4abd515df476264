import { describe, expect, it } from 'vitest';
import type { Hlc } from '../../crdt/index.js';
import {
  DEFAULT_MAX_DRIFT_MS,
  HLC_ZERO,
  HybridClock,
  hlcFromParts,
  hlcLogical,
  hlcWallMs,
  isHlc,
  MAX_WALL_MS,
  parseHlc,
} from '../../crdt/index.js';
import { caught, codeOf } from './helpers.js';

describe('hlcFromParts / hlcWallMs / hlcLogical', () => {
  it('packs wall time and logical part and unpacks them again', () => {
    const t = hlcFromParts(1_700_000_000_123, 17);
    expect(t).toBe(1_700_000_000_123 * 1024 + 17);
    expect(hlcWallMs(t)).toBe(1_700_000_000_123);
    expect(hlcLogical(t)).toBe(17);
    expect(hlcFromParts(0, 0)).toBe(HLC_ZERO);
  });

  it('orders by wall time first, then by logical part', () => {
    expect(hlcFromParts(10, 1023)).toBeLessThan(hlcFromParts(11, 0));
    expect(hlcFromParts(10, 1)).toBeLessThan(hlcFromParts(10, 2));
  });

  it('accepts the largest wall time and logical part, and the result is a safe integer', () => {
    const t = hlcFromParts(MAX_WALL_MS, 1023);
    expect(Number.isSafeInteger(t)).toBe(true);
    expect(hlcWallMs(t)).toBe(MAX_WALL_MS);
    expect(hlcLogical(t)).toBe(1023);
    // One more tick after the largest timestamp still fits.
    expect(Number.isSafeInteger(t + 1)).toBe(true);
  });

  it.each([
    ['negative wall', -1, 0],
    ['fractional wall', 1.5, 0],
    ['NaN wall', Number.NaN, 0],
    ['infinite wall', Number.POSITIVE_INFINITY, 0],
    ['wall beyond MAX_WALL_MS', MAX_WALL_MS + 1, 0],
    ['negative logical', 5, -1],
    ['logical 1024', 5, 1024],
    ['fractional logical', 5, 0.5],
    ['NaN logical', 5, Number.NaN],
  ])('refuses %s with invalid-op', (_label, wall, logical) => {
    expect(codeOf(() => hlcFromParts(wall, logical))).toBe('invalid-op');
  });
});

describe('isHlc / parseHlc', () => {
  it('accepts non-negative safe integers', () => {
    expect(isHlc(0)).toBe(true);
    expect(isHlc(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(parseHlc(12345)).toBe(12345);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, '5', null, undefined, 5n])('refuses %s', (value) => {
    expect(isHlc(value)).toBe(false);
    expect(codeOf(() => parseHlc(value))).toBe('invalid-op');
  });
});

describe('HybridClock construction', () => {
  it('starts at HLC_ZERO with the default drift bound of five minutes', () => {
    const clock = new HybridClock();
    expect(clock.current).toBe(HLC_ZERO);
    expect(clock.maxDriftMs).toBe(DEFAULT_MAX_DRIFT_MS);
    expect(DEFAULT_MAX_DRIFT_MS).toBe(300_000);
  });

  it('resumes from a stored timestamp', () => {
    const clock = new HybridClock(hlcFromParts(5000, 3));
    expect(clock.tick(1000)).toBe(hlcFromParts(5000, 4));
  });

  it('refuses an invalid stored timestamp or a negative drift bound', () => {
    expect(codeOf(() => new HybridClock(-1 as Hlc))).toBe('invalid-op');
    expect(codeOf(() => new HybridClock(1.5 as Hlc))).toBe('invalid-op');
    expect(codeOf(() => new HybridClock(HLC_ZERO, -1))).toBe('invalid-op');
    expect(codeOf(() => new HybridClock(HLC_ZERO, Number.NaN))).toBe('invalid-op');
  });
});

describe('HybridClock.tick', () => {
  it('takes the physical time with logical 0 when the clock is behind it', () => {
    const clock = new HybridClock();
    expect(clock.tick(1000)).toBe(hlcFromParts(1000, 0));
    expect(clock.tick(2000)).toBe(hlcFromParts(2000, 0));
    expect(clock.current).toBe(hlcFromParts(2000, 0));
  });

  it('floors a fractional physical reading', () => {
    const clock = new HybridClock();
    expect(clock.tick(1000.9)).toBe(hlcFromParts(1000, 0));
  });

  it('is strictly monotonic when the physical clock stalls', () => {
    const clock = new HybridClock();
    const stamps = [clock.tick(1000), clock.tick(1000), clock.tick(1000)];
    expect(stamps).toEqual([hlcFromParts(1000, 0), hlcFromParts(1000, 1), hlcFromParts(1000, 2)]);
  });

  it('is strictly monotonic when the physical clock goes backwards', () => {
    const clock = new HybridClock();
    const first = clock.tick(10_000);
    const second = clock.tick(9_000);
    const third = clock.tick(0);
    expect(second).toBe(first + 1);
    expect(third).toBe(first + 2);
    expect(hlcWallMs(third)).toBe(10_000);
    // Once physical time overtakes the clock again, the logical part resets.
    expect(clock.tick(10_001)).toBe(hlcFromParts(10_001, 0));
  });

  it('carries into the wall part after 1024 ticks in one millisecond', () => {
    const clock = new HybridClock();
    const stamps: Hlc[] = [];
    for (let i = 0; i < 1025; i++) stamps.push(clock.tick(5000));
    expect(stamps[1023]).toBe(hlcFromParts(5000, 1023));
    expect(stamps[1024]).toBe(hlcFromParts(5001, 0));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1] as number);
    // The clock now runs ahead of physical time: a reading of 5001 does not move it back.
    expect(clock.tick(5001)).toBe(hlcFromParts(5001, 1));
    expect(clock.tick(5002)).toBe(hlcFromParts(5002, 0));
  });

  it('accepts MAX_WALL_MS as a physical reading', () => {
    const clock = new HybridClock();
    expect(clock.tick(MAX_WALL_MS)).toBe(hlcFromParts(MAX_WALL_MS, 0));
  });

  it.each([
    ['NaN', Number.NaN],
    ['negative', -1],
    ['infinite', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['beyond MAX_WALL_MS', MAX_WALL_MS + 1],
  ])('refuses a %s physical reading and stays where it was', (_label, physical) => {
    const clock = new HybridClock();
    const before = clock.tick(1000);
    const error = caught(() => clock.tick(physical));
    expect(error.code).toBe('clock-drift');
    expect(clock.current).toBe(before);
  });
});

describe('HybridClock.observe', () => {
  it('adopts a later remote timestamp, so the next tick is after it', () => {
    const clock = new HybridClock();
    clock.tick(1000);
    const remote = hlcFromParts(1500, 7);
    clock.observe(remote, 1000);
    expect(clock.current).toBe(remote);
    expect(clock.tick(1000)).toBe(hlcFromParts(1500, 8));
  });

  it('ignores an earlier remote timestamp', () => {
    const clock = new HybridClock();
    const mine = clock.tick(2000);
    clock.observe(hlcFromParts(1000, 5), 2000);
    expect(clock.current).toBe(mine);
  });

  it('accepts a remote exactly at the drift bound and refuses one a millisecond beyond it', () => {
    const clock = new HybridClock(HLC_ZERO, 1000);
    clock.tick(10_000);
    const atBound = hlcFromParts(11_000, 1023);
    clock.observe(atBound, 10_000);
    expect(clock.current).toBe(atBound);

    const fresh = new HybridClock(HLC_ZERO, 1000);
    const before = fresh.tick(10_000);
    const error = caught(() => fresh.observe(hlcFromParts(11_001, 0), 10_000));
    expect(error.code).toBe('clock-drift');
    expect(error.details).toEqual({ aheadMs: 1001, maxDriftMs: 1000 });
    expect(fresh.current).toBe(before);
  });

  it('refuses a remote beyond the default bound of five minutes', () => {
    const clock = new HybridClock();
    const now = 1_700_000_000_000;
    clock.observe(hlcFromParts(now + DEFAULT_MAX_DRIFT_MS, 0), now);
    expect(codeOf(() => clock.observe(hlcFromParts(now + DEFAULT_MAX_DRIFT_MS + 1, 0), now))).toBe('clock-drift');
    expect(clock.current).toBe(hlcFromParts(now + DEFAULT_MAX_DRIFT_MS, 0));
  });

  it('with a zero drift bound accepts only remotes not ahead of physical time', () => {
    const clock = new HybridClock(HLC_ZERO, 0);
    clock.observe(hlcFromParts(500, 900), 500);
    expect(codeOf(() => clock.observe(hlcFromParts(501, 0), 500))).toBe('clock-drift');
    expect(clock.current).toBe(hlcFromParts(500, 900));
  });

  it('refuses a malformed remote timestamp with invalid-op and stays where it was', () => {
    const clock = new HybridClock();
    const before = clock.tick(1000);
    expect(codeOf(() => clock.observe(-5 as Hlc, 1000))).toBe('invalid-op');
    expect(codeOf(() => clock.observe(1.25 as Hlc, 1000))).toBe('invalid-op');
    expect(codeOf(() => clock.observe(Number.NaN as Hlc, 1000))).toBe('invalid-op');
    expect(clock.current).toBe(before);
  });

  it('checkDrift checks without moving the clock', () => {
    const clock = new HybridClock(HLC_ZERO, 10);
    clock.checkDrift(hlcFromParts(110, 0), 100);
    expect(clock.current).toBe(HLC_ZERO);
    expect(codeOf(() => clock.checkDrift(hlcFromParts(111, 0), 100))).toBe('clock-drift');
  });

  // Regression: `wall > NaN + maxDriftMs` is false, so an unchecked NaN (or +Infinity) reading
  // would adopt any remote timestamp and silently switch the drift guard off.
  it('refuses a NaN physical reading instead of adopting an arbitrarily far remote', () => {
    const clock = new HybridClock(HLC_ZERO, 1000);
    const before = clock.tick(1000);
    expect(() => clock.observe(hlcFromParts(4_000_000_000_000, 0), Number.NaN)).toThrow();
    expect(clock.current).toBe(before);
  });

  it('refuses an infinite physical reading instead of adopting an arbitrarily far remote', () => {
    const clock = new HybridClock(HLC_ZERO, 1000);
    const before = clock.tick(1000);
    expect(() => clock.observe(hlcFromParts(4_000_000_000_000, 0), Number.POSITIVE_INFINITY)).toThrow();
    expect(clock.current).toBe(before);
  });
});

describe('HybridClock.rewind', () => {
  it('sets a clock that ran ahead back, so the next tick follows the physical clock again', () => {
    const clock = new HybridClock();
    const hours = 3 * 3_600_000;
    clock.tick(1_700_000_000_000 + hours);
    clock.rewind(hlcFromParts(1_700_000_000_000, 0));
    expect(hlcWallMs(clock.tick(1_700_000_000_001))).toBe(1_700_000_000_001);
  });

  it('never moves a clock forward, and refuses an invalid timestamp', () => {
    const clock = new HybridClock(hlcFromParts(1000, 5));
    clock.rewind(hlcFromParts(2000, 0));
    expect(clock.current).toBe(hlcFromParts(1000, 5));
    expect(() => clock.rewind(-1 as Hlc)).toThrow(expect.objectContaining({ code: 'invalid-op' }));
  });
});
