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
  /**
   * Largest frame, in bytes, in either direction: the server accepts frames
   * up to it, cuts what it sends to fit, and states it in `welcome` so the
   * client cuts its pushes to fit too. Between `MIN_FRAME_BYTES` and
   * `MAX_FRAME_BYTES`.
   */
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

/** The range a server's `maxFrameBytes` may take (a client refuses a welcome stating another). */
export const MIN_FRAME_BYTES = 16 * 1024;
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * What the WebSocket layer lets through (`maxPayload`): a margin above the
 * frame limit, so a frame somewhat over it reaches the decoder and is
 * answered with a `too-large` error before the close, while anything larger
 * is cut off by the WebSocket layer unread (a bare 1009), which bounds what
 * one connection can make either side buffer.
 */
export function payloadCap(maxFrameBytes: number): number {
  return maxFrameBytes + Math.max(64 * 1024, Math.floor(maxFrameBytes / 4));
}

/** The limits a server states in `welcome`: both sides keep to the same ones. */
export type FrameLimits = Pick<ProtocolLimits, 'maxFrameBytes' | 'maxPushTransactions' | 'maxOpsPerTransaction' | 'maxBatchRecords'>;

/** What is wrong with `limits` (a server refuses to start with it, a client refuses a welcome stating it), if anything. */
export function frameLimitsInvalid(limits: FrameLimits): string | undefined {
  const frame = limits.maxFrameBytes;
  if (!Number.isSafeInteger(frame) || frame < MIN_FRAME_BYTES || frame > MAX_FRAME_BYTES) {
    return `maxFrameBytes must be a whole number of bytes from ${MIN_FRAME_BYTES} to ${MAX_FRAME_BYTES}`;
  }
  for (const name of ['maxPushTransactions', 'maxOpsPerTransaction', 'maxBatchRecords'] as const) {
    if (!Number.isSafeInteger(limits[name]) || limits[name] < 1) return `${name} must be a whole number of at least 1`;
  }
  return undefined;
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
