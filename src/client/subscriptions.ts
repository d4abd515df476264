/**
 * Reactive queries. A subscription names the attributes its query or pull
 * pattern can depend on, and the entity when only one can matter; after a
 * change only the subscriptions indexed under a changed attribute (or a
 * changed entity) re-run, and a callback fires only when the result really
 * changed.
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
  /** The notification that last queued it (so one queued under several attributes runs once). */
  queued: number;
}

export interface ChangeSummary {
  readonly db: Db;
  readonly attributes: ReadonlySet<string> | 'all';
  readonly entities: ReadonlySet<Eid> | 'all';
}

function addTo<K>(index: Map<K, Set<Live>>, key: K, live: Live): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(live);
}

function removeFrom<K>(index: Map<K, Set<Live>>, key: K, live: Live): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(live);
  if (set.size === 0) index.delete(key);
}

/** Whether a subscription depending on `attributes` (null: any) can see a change to `changed`. */
function touches(attributes: ReadonlySet<string> | null, changed: ReadonlySet<string> | 'all'): boolean {
  if (attributes === null || changed === 'all') return true;
  for (const attribute of attributes) if (changed.has(attribute)) return true;
  return false;
}

/**
 * Subscriptions scoped to one entity are indexed by that entity, the others
 * by attribute: a write then visits only what it can affect, however many
 * subscriptions watch other entities.
 */
export class Subscriptions {
  private readonly byAttribute = new Map<string, Set<Live>>();
  private readonly anyAttribute = new Set<Live>();
  private readonly byEntity = new Map<Eid, Set<Live>>();
  private readonly onError: (error: unknown) => void;
  private notifications = 0;

  constructor(onError: (error: unknown) => void) {
    this.onError = onError;
  }

  get size(): number {
    let n = this.anyAttribute.size;
    for (const set of this.byEntity.values()) n += set.size;
    const seen = new Set<Live>();
    for (const set of this.byAttribute.values()) for (const live of set) seen.add(live);
    return n + seen.size;
  }

  /** Registers a subscription and calls it once with the current result (errors in `run` propagate). */
  add<Result>(spec: SubscriptionSpec<Result>, db: Db): Unsubscribe {
    const first = spec.run(db);
    const live: Live = { spec: spec as SubscriptionSpec<unknown>, last: canonicalResult(first, spec.shape), active: true, queued: 0 };
    const attributes = spec.dependencies.attributes;
    const entity = spec.entity;
    if (entity !== undefined) addTo(this.byEntity, entity, live);
    else if (attributes === null) this.anyAttribute.add(live);
    else for (const attribute of attributes) addTo(this.byAttribute, attribute, live);
    this.deliver(live, first);
    return () => {
      live.active = false;
      if (entity !== undefined) removeFrom(this.byEntity, entity, live);
      else if (attributes === null) this.anyAttribute.delete(live);
      else for (const attribute of attributes) removeFrom(this.byAttribute, attribute, live);
    };
  }

  /** Re-runs the subscriptions a change can affect and calls those whose result changed. */
  notify(change: ChangeSummary): void {
    const { attributes, entities } = change;
    if (attributes !== 'all' && attributes.size === 0) return;
    // Collected before any runs: a callback may subscribe, unsubscribe or transact.
    const affected: Live[] = [];
    const mark = ++this.notifications;
    const queue = (live: Live): void => {
      if (live.queued === mark) return;
      live.queued = mark;
      affected.push(live);
    };
    for (const live of this.anyAttribute) queue(live);
    if (attributes === 'all') {
      for (const set of this.byAttribute.values()) for (const live of set) queue(live);
    } else {
      for (const attribute of attributes) {
        const set = this.byAttribute.get(attribute);
        if (set !== undefined) for (const live of set) queue(live);
      }
    }
    if (entities === 'all') {
      for (const set of this.byEntity.values())
        for (const live of set) if (touches(live.spec.dependencies.attributes, attributes)) queue(live);
    } else {
      for (const entity of entities) {
        const set = this.byEntity.get(entity);
        if (set !== undefined) for (const live of set) if (touches(live.spec.dependencies.attributes, attributes)) queue(live);
      }
    }
    for (const live of affected) {
      if (!live.active) continue;
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
    for (const index of [this.byAttribute, this.byEntity]) for (const set of index.values()) for (const live of set) live.active = false;
    for (const live of this.anyAttribute) live.active = false;
    this.byAttribute.clear();
    this.byEntity.clear();
    this.anyAttribute.clear();
  }
}
