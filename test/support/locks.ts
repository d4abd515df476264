/**
 * A minimal in-process Web Locks manager (exclusive locks, `ifAvailable`),
 * so multi-tab logic can be tested in Node, which has no `navigator.locks`.
 * The real one is exercised in Chromium by the browser tests.
 */
export function createLockManager(): LockManager {
  const held = new Set<string>();
  const request = (async (name: string, optionsOrCallback: unknown, maybeCallback?: unknown): Promise<unknown> => {
    const options = (typeof optionsOrCallback === 'function' ? {} : optionsOrCallback) as LockOptions;
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as LockGrantedCallback<unknown>;
    if (held.has(name)) {
      if (options.ifAvailable === true) return callback(null);
      throw new Error('test lock manager: waiting for a held lock is not supported');
    }
    held.add(name);
    try {
      return await callback({ name, mode: 'exclusive' } as Lock);
    } finally {
      held.delete(name);
    }
  }) as LockManager['request'];
  return { request, query: async () => ({ held: [...held].map((name) => ({ name, mode: 'exclusive' as const })), pending: [] }) };
}
