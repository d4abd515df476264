/**
 * The protocol version. A peer speaking another version is refused with
 * `protocol-version` and close code 4009, never half-understood.
 *
 * History:
 * - 1: hello/welcome, push, records (catch-up and live, with credit-based
 *   back-pressure), reject, error, ping/pong, auth, scopes, registers, evict.
 * - 2: welcome states the server's frame limit (both sides cut frames by
 *   encoded size to it, instead of by count alone); an own record in
 *   `records` carries the transaction's fingerprint (`transactionDigest`), so
 *   a copy of a replica never takes another's transaction for its own.
 *
 * @module
 */
export const PROTOCOL_VERSION = 2;
