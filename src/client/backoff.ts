/**
 * Reconnect delays: exponential, capped, with full jitter, so a crowd of
 * clients reconnecting after an outage spreads out instead of arriving at once.
 *
 * @module
 */
export interface BackoffOptions {
  readonly initialBackoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
}

/** The delay before reconnect attempt number `attempts` (0 for the first). */
export function backoffDelay(attempts: number, options: BackoffOptions, random: () => number): number {
  const initial = options.initialBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 30_000;
  return random() * Math.min(max, initial * 2 ** Math.min(attempts, 30));
}
