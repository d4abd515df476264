/**
 * A tiny typed event emitter: `on` returns its own unsubscribe function, and
 * a throwing listener cannot stop the others.
 *
 * @module
 */
export type Listener<Payload> = (payload: Payload) => void;

export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();
  private readonly onListenerError: (error: unknown, event: keyof Events) => void;

  constructor(
    onListenerError: (error: unknown, event: keyof Events) => void = (error) =>
      queueMicrotask(() => {
        throw error;
      }),
  ) {
    this.onListenerError = onListenerError;
  }

  on<Name extends keyof Events>(name: Name, listener: Listener<Events[Name]>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  emit<Name extends keyof Events>(name: Name, payload: Events[Name]): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[Name]>)(payload);
      } catch (error) {
        this.onListenerError(error, name);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
