/**
 * Hybrid logical clock (Kulkarni et al., 2014), packed into one number.
 *
 * A timestamp is `wallMs * 1024 + logical`: one float64 that stays a safe
 * integer until the year 2248, compares with `<`, and costs no allocation.
 * When more than 1024 events fall in one millisecond the logical part
 * carries into the wall part, so the clock runs ahead of physical time by at
 * most (events per ms) / 1024 ms and stays strictly monotonic.
 *
 * Time is an argument: the caller passes the physical clock reading, so the
 * core stays deterministic and testable.
 *
 * @module
 */
import { check, DatsyncError, ErrorCode } from './errors.js';

declare const hlcBrand: unique symbol;
export type Hlc = number & { readonly [hlcBrand]: true };

const LOGICAL_BITS = 1024;
/** The largest physical time (ms since the Unix epoch) a timestamp can carry. */
export const MAX_WALL_MS = Math.floor(Number.MAX_SAFE_INTEGER / LOGICAL_BITS) - 1;
/** The default bound on how far a remote timestamp may run ahead of our clock. */
export const DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000;

export const HLC_ZERO = 0 as Hlc;

export function isHlc(value: unknown): value is Hlc {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function parseHlc(value: unknown): Hlc {
  check(isHlc(value), ErrorCode.InvalidOp, 'hlc must be a non-negative safe integer');
  return value;
}

export function hlcFromParts(wallMs: number, logical: number): Hlc {
  check(Number.isSafeInteger(wallMs) && wallMs >= 0 && wallMs <= MAX_WALL_MS, ErrorCode.InvalidOp, 'hlc wall time out of range');
  check(Number.isInteger(logical) && logical >= 0 && logical < LOGICAL_BITS, ErrorCode.InvalidOp, 'hlc logical out of range');
  return (wallMs * LOGICAL_BITS + logical) as Hlc;
}

/** The physical part: milliseconds since the Unix epoch. */
export function hlcWallMs(hlc: Hlc): number {
  return Math.floor(hlc / LOGICAL_BITS);
}

export function hlcLogical(hlc: Hlc): number {
  return hlc % LOGICAL_BITS;
}

function physicalToHlc(physicalMs: number): Hlc {
  if (!Number.isFinite(physicalMs) || physicalMs < 0 || physicalMs > MAX_WALL_MS) {
    throw new DatsyncError(ErrorCode.ClockDrift, 'physical clock reading is not a valid time');
  }
  return (Math.floor(physicalMs) * LOGICAL_BITS) as Hlc;
}

/**
 * One replica's clock. `tick` stamps a local event; `observe` folds in a
 * remote timestamp and refuses one further ahead than `maxDriftMs`.
 *
 * @example
 * const clock = new HybridClock(HLC_ZERO);
 * const t1 = clock.tick(Date.now());
 * clock.observe(remoteHlc, Date.now()); // throws `clock-drift` if absurd
 */
export class HybridClock {
  private last: Hlc;
  readonly maxDriftMs: number;

  constructor(last: Hlc = HLC_ZERO, maxDriftMs: number = DEFAULT_MAX_DRIFT_MS) {
    this.last = parseHlc(last);
    check(maxDriftMs >= 0, ErrorCode.InvalidOp, 'maxDriftMs must be non-negative');
    this.maxDriftMs = maxDriftMs;
  }

  /** The latest timestamp issued or observed. */
  get current(): Hlc {
    return this.last;
  }

  /** A new timestamp greater than every timestamp seen so far. */
  tick(physicalMs: number): Hlc {
    const physical = physicalToHlc(physicalMs);
    const next = physical > this.last ? physical : ((this.last + 1) as Hlc);
    this.last = next;
    return next;
  }

  /** Throws `clock-drift` when `remote` lies too far beyond `physicalMs`. */
  checkDrift(remote: Hlc, physicalMs: number): void {
    // An unreadable physical clock must not switch the guard off (NaN compares false).
    physicalToHlc(physicalMs);
    if (hlcWallMs(remote) > physicalMs + this.maxDriftMs) {
      throw new DatsyncError(ErrorCode.ClockDrift, 'remote timestamp is too far in the future', {
        aheadMs: hlcWallMs(remote) - Math.floor(physicalMs),
        maxDriftMs: this.maxDriftMs,
      });
    }
  }

  /**
   * Merges a timestamp from an authority that has already checked it (a
   * server-confirmed transaction), without the drift check: a replica must
   * never refuse confirmed data because its own clock is behind.
   */
  adopt(remote: Hlc): void {
    parseHlc(remote);
    if (remote > this.last) this.last = remote;
  }

  /**
   * Sets the clock back to `to` when it is further ahead: for a replica that
   * learns its physical clock ran ahead (the server's clock says so), whose
   * timestamps beyond `to` the authority never accepted. Without it, one
   * reading hours ahead would stamp every later write hours ahead too.
   */
  rewind(to: Hlc): void {
    parseHlc(to);
    if (to < this.last) this.last = to;
  }

  /** Merges a remote timestamp so later local events are ordered after it. */
  observe(remote: Hlc, physicalMs: number): void {
    parseHlc(remote);
    this.checkDrift(remote, physicalMs);
    if (remote > this.last) this.last = remote;
  }
}
