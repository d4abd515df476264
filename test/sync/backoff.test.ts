/**
 * Reconnect delays (issue 5): exponential from `initialBackoffMs` (250 ms),
 * capped at `maxBackoffMs` (30 s), with full jitter: a delay is drawn from
 * the whole range below the cap, so a crowd of clients that lost the server
 * at the same moment does not come back in step.
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/client/backoff.js';

const almostOne = () => 1 - Number.EPSILON;

describe('reconnect backoff', () => {
  it('doubles from 250 ms up to a cap of 30 s by default', () => {
    const ceilings = Array.from({ length: 10 }, (_, attempt) => Math.round(backoffDelay(attempt, {}, almostOne)));
    expect(ceilings).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoffDelay(1000, {}, almostOne)).toBeLessThanOrEqual(30_000);
  });

  it('takes its bounds from the options', () => {
    const options = { initialBackoffMs: 20, maxBackoffMs: 200 };
    expect([0, 1, 2, 3, 4, 5].map((attempt) => Math.round(backoffDelay(attempt, options, almostOne)))).toEqual([20, 40, 80, 160, 200, 200]);
  });

  it('draws each delay from the whole range below the ceiling (full jitter)', () => {
    expect(backoffDelay(5, {}, () => 0)).toBe(0);
    expect(backoffDelay(5, {}, () => 0.5)).toBe(4000);
    // A thousand clients on their third attempt spread over [0, 1 s), not bunched at one moment.
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    const delays = Array.from({ length: 1000 }, () => backoffDelay(2, {}, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1000);
    const tenths = new Set(delays.map((d) => Math.floor(d / 100)));
    expect(tenths.size).toBe(10);
  });
});
