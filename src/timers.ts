/**
 * Timers that never keep a Node process alive on their own (a closed client
 * or server exits even while a timeout is pending); browsers have no such
 * notion, so there it is a no-op.
 *
 * @module
 */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
