/**
 * Cutting messages to the frame limit by their encoded size, not by count:
 * 2,000 records or 1,000 pushed transactions of large values can exceed
 * any frame limit, and a frame the other side refuses is refused again at
 * every reconnect, so the sender would stall for good.
 *
 * @module
 */
import type { Transaction } from '../../crdt/index.js';
import { DatsyncError, ErrorCode, encodeTransactions, transactionId } from '../../crdt/index.js';
import type { ProtocolLimits } from './limits.js';

/**
 * Bytes a `push` or `records` frame adds around the transactions it carries
 * (tag, batch, head, through, count, position, kind, length prefix: nine
 * varints of at most 8 bytes and two flag bytes), rounded up.
 */
const FRAME_OVERHEAD = 96;

/**
 * Why `tx` cannot travel in a frame of its own under `limits` (pushed by
 * its author, then relayed as a one-record batch), or undefined when it
 * can. Client and server ask the same question with the same limits (the
 * server states them in `welcome`), so what one lets through the other
 * takes. A transaction encoded alone is never larger than its share of a
 * batch: its string tables are a subset of the batch's.
 */
export function unsendable(tx: Transaction, limits: ProtocolLimits): DatsyncError | undefined {
  if (tx.ops.length > limits.maxOpsPerTransaction) {
    return new DatsyncError(
      ErrorCode.TooLarge,
      `transaction ${transactionId(tx)} holds ${tx.ops.length} ops, more than the ${limits.maxOpsPerTransaction} one transaction may hold`,
      { ops: tx.ops.length, limit: limits.maxOpsPerTransaction },
    );
  }
  const bytes = encodeTransactions([tx]).length + FRAME_OVERHEAD;
  if (bytes <= limits.maxFrameBytes) return undefined;
  return new DatsyncError(
    ErrorCode.TooLarge,
    `transaction ${transactionId(tx)} takes ${bytes} bytes encoded, more than the frame limit of ${limits.maxFrameBytes}`,
    { bytes, limit: limits.maxFrameBytes },
  );
}

/** Whether a frame of `frameBytes` holding transactions holds only ones that pass `unsendable` on size. */
export function surelyFits(frameBytes: number, limits: ProtocolLimits): boolean {
  return frameBytes + FRAME_OVERHEAD <= limits.maxFrameBytes;
}

/**
 * The longest prefix of `items` (at most `maxCount`, at least one) whose
 * frame `fits`, found by halving: one encoding when the whole lot fits, as
 * it nearly always does. When even one item does not fit, the frame
 * returned for it does not either: the caller decides what to do.
 */
export function firstFrame<T>(
  items: readonly T[],
  maxCount: number,
  fits: (frame: Uint8Array) => boolean,
  encode: (items: readonly T[]) => Uint8Array,
): { readonly count: number; readonly frame: Uint8Array } {
  let count = Math.max(1, Math.min(items.length, maxCount));
  let frame = encode(items.slice(0, count));
  while (!fits(frame) && count > 1) {
    count = Math.ceil(count / 2);
    frame = encode(items.slice(0, count));
  }
  return { count: Math.min(count, items.length), frame };
}
