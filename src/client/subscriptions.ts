/**
 * Reactive queries. A subscription names the attributes its query or pull
 * pattern can depend on; after a change only the subscriptions indexed under
 * a changed attribute re-run, and a callback fires only when the result
 * really changed.
 *
 * @module
 */
import type { Db, Eid } from '../datascript/index.js';
import type { Dependencies, FindShape } from '../query/dependencies.js';
import { canonicalResult } from './canonical.js';

export type Unsubscribe = () => void;

export interface SubscriptionSpec<Result> {
  readonly dependencies: Dependencies;
  readonly shape: FindShape | 'pull';
  /** When set, only changes to this entity can change the result. */
  readonly entity?: Eid;
  run(db: Db): Result;
  readonly callback: (result: Result) => void;
}

interface Live {
  readonly spec: SubscriptionSpec<unknown>;
  last: string;
  active: boolean;
}

export interface ChangeSummary {
  readonly db: Db;
  readonly attributes: ReadonlySet<string> | 'all';
  readonly entities: ReadonlySet<Eid> | 'all';
}

export class Subscriptions {
  private readonly byAttribute = new Map<string, Set<Live>>();
  private readonly anyAttribute = new Set<Live>();
  private readonly onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.onError = onError;
  }

  get size(): number {
    const n = this.anyAttribute.size;
    const seen = new Set<Live>();
    for (const set of this.byAttribute.values()) for (const live of set) seen.add(live);
    return n + seen.size;
  }

  /** Registers a subscription and calls it once with the current result (errors in `run` propagate). */
  add<Result>(spec: SubscriptionSpec<Result>, db: Db): Unsubscribe {
    const first = spec.run(db);
    const live: Live = { spec: spec as SubscriptionSpec<unknown>, last: canonicalResult(first, spec.shape), active: true };
    const attributes = spec.dependencies.attributes;
    if (attributes === null) this.anyAttribute.add(live);
    else
      for (const attribute of attributes) {
        let set = this.byAttribute.get(attribute);
        if (set === undefined) {
          set = new Set();
          this.byAttribute.set(attribute, set);
        }
        set.add(live);
      }
    this.deliver(live, first);
    return () => {
      live.active = false;
      this.anyAttribute.delete(live);
      if (attributes !== null) for (const attribute of attributes) this.byAttribute.get(attribute)?.delete(live);
    };
  }

  /** Re-runs the subscriptions a change can affect and calls those whose result changed. */
  notify(change: ChangeSummary): void {
    const affected = new Set<Live>(this.anyAttribute);
    if (change.attributes === 'all') {
      for (const set of this.byAttribute.values()) for (const live of set) affected.add(live);
    } else {
      if (change.attributes.size === 0) return;
      for (const attribute of change.attributes) {
        const set = this.byAttribute.get(attribute);
        if (set !== undefined) for (const live of set) affected.add(live);
      }
    }
    for (const live of affected) {
      if (!live.active) continue;
      const entity = live.spec.entity;
      if (entity !== undefined && change.entities !== 'all' && !change.entities.has(entity)) continue;
      let result: unknown;
      try {
        result = live.spec.run(change.db);
      } catch (error) {
        this.onError(error);
        continue;
      }
      const key = canonicalResult(result, live.spec.shape);
      if (key === live.last) continue;
      live.last = key;
      this.deliver(live, result);
    }
  }

  private deliver(live: Live, result: unknown): void {
    try {
      live.spec.callback(result);
    } catch (error) {
      this.onError(error);
    }
  }

  clear(): void {
    for (const set of this.byAttribute.values()) for (const live of set) live.active = false;
    for (const live of this.anyAttribute) live.active = false;
    this.byAttribute.clear();
    this.anyAttribute.clear();
  }
}
