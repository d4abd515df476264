/**
 * Hard limits on what a peer may send. Every decoder checks them before
 * allocating, so an oversized or absurd frame costs nothing but its bytes;
 * the rate limits bound how much a peer may send over time (see
 * `src/server/rate-limit.ts`).
 *
 * @module
 */

/** A token bucket: `burst` at once, refilled at `perSecond`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface ProtocolLimits {
  /** Largest frame accepted, in bytes. */
  readonly maxFrameBytes: number;
  /** Most transactions in one push. */
  readonly maxPushTransactions: number;
  /** Most ops in one transaction. */
  readonly maxOpsPerTransaction: number;
  /** Most log records in one records message. */
  readonly maxBatchRecords: number;
  /** Messages one connection may send (credits the server asked for are free). */
  readonly messages: RateLimit;
  /** Bytes one connection may send. */
  readonly bytes: RateLimit;
  /** Transactions one connection may push. */
  readonly transactions: RateLimit;
  /** Messages one identity may send over all its connections. */
  readonly identityMessages: RateLimit;
  /** Transactions one identity may push over all its connections. */
  readonly identityTransactions: RateLimit;
}

export const DEFAULT_LIMITS: ProtocolLimits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxPushTransactions: 1000,
  maxOpsPerTransaction: 10_000,
  maxBatchRecords: 2000,
  messages: { perSecond: 1000, burst: 5000 },
  bytes: { perSecond: 16 * 1024 * 1024, burst: 64 * 1024 * 1024 },
  transactions: { perSecond: 2000, burst: 50_000 },
  identityMessages: { perSecond: 5000, burst: 20_000 },
  identityTransactions: { perSecond: 5000, burst: 100_000 },
};
