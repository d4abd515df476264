/**
 * Hard limits on what a peer may send. Every decoder checks them before
 * allocating, so an oversized or absurd frame costs nothing but its bytes.
 *
 * @module
 */
export interface ProtocolLimits {
  /** Largest frame accepted, in bytes. */
  readonly maxFrameBytes: number;
  /** Most transactions in one push. */
  readonly maxPushTransactions: number;
  /** Most ops in one transaction. */
  readonly maxOpsPerTransaction: number;
  /** Most log records in one records message. */
  readonly maxBatchRecords: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxPushTransactions: 1000,
  maxOpsPerTransaction: 10_000,
  maxBatchRecords: 2000,
};
