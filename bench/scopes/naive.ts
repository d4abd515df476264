/**
 * The naive baseline: after every transaction, re-run every client's scope
 * on the database as that client's identity may read it, and diff the
 * result with the previous one. It uses the server's own building blocks
 * (`parseScope`, `compileScope`, the compiled read rules), so the only
 * difference from datsync is what the indexing saves. It stops at the diff:
 * a naive server would then still have to work out and send each client's
 * registers, which datsync's figure includes and this one does not.
 *
 * @module
 */
import type { Attr, EntityId } from '../../crdt/index.js';
import type { ScopeSpec } from '../../src/client/api.js';
import type { Eid } from '../../src/datascript/index.js';
import { filterDb } from '../../src/datascript/index.js';
import { ENTITY_ID_ATTR } from '../../src/schema.js';
import type { SyncCore } from '../../src/server/core.js';
import type { CompiledReadRule, ReadRule } from '../../src/server/permissions.js';
import { compileReadRule, ruleFor } from '../../src/server/permissions.js';
import type { ScopeView } from '../../src/server/scope-view.js';
import type { CompiledScope } from '../../src/server/scopes.js';
import { compileScope, parseScope } from '../../src/server/scopes.js';
import type { User } from './workload.js';
import { COMPILED, PERMISSIONS } from './workload.js';

interface Subscriber {
  readonly user: User;
  readonly scope: CompiledScope;
  result: Set<EntityId>;
}

export class NaiveScopes {
  private readonly core: SyncCore<User>;
  private readonly subscribers: Subscriber[];
  private readonly rules = new Map<string, CompiledReadRule<User>>();

  constructor(core: SyncCore<User>, scopes: ReadonlyArray<{ readonly user: string; readonly spec: ScopeSpec }>) {
    this.core = core;
    this.subscribers = scopes.map(({ user, spec }) => ({
      user: { sub: user },
      scope: compileScope(parseScope(spec, COMPILED), COMPILED),
      result: new Set<EntityId>(),
    }));
  }

  private rule(attribute: string): CompiledReadRule<User> {
    let rule = this.rules.get(attribute);
    if (rule === undefined) {
      rule = compileReadRule(ruleFor(PERMISSIONS.read, attribute) as ReadRule<User> | undefined);
      this.rules.set(attribute, rule);
    }
    return rule;
  }

  /** The database as `user` may read it, as the server's own scopes see it. */
  private view(user: User): ScopeView {
    const whole = this.core.log.db;
    const projection = this.core.log.projection;
    const readable = (eid: Eid, attribute: string): boolean => {
      if (attribute === ENTITY_ID_ATTR) return true;
      const entity = projection.entityId(eid);
      return entity !== undefined && this.rule(attribute).check(user, user.sub, eid, entity, attribute as Attr, whole);
    };
    return {
      db: filterDb(whole, (datom) => readable(datom.e, datom.a)),
      whole,
      readable,
      entityIdOf: (eid) => projection.entityId(eid),
    };
  }

  /** Re-runs every scope; returns the subscribers whose result changed. */
  evaluateAll(): Set<number> {
    const changed = new Set<number>();
    for (const [index, subscriber] of this.subscribers.entries()) {
      const next = subscriber.scope.evaluate(this.view(subscriber.user));
      if (next.size !== subscriber.result.size || [...next].some((entity) => !subscriber.result.has(entity))) changed.add(index);
      subscriber.result = next;
    }
    return changed;
  }

  /** Whether subscriber `index`'s last result holds `entity`. */
  holds(index: number, entity: EntityId): boolean {
    return this.subscribers[index]?.result.has(entity) === true;
  }
}
