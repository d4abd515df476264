/**
 * Query scopes: the data a client asks to have checked out. A scope is a
 * Datalog query (its first find variable names entities, and entities
 * reachable from them through `follow` attributes come along) or a pull
 * pattern from one entity. The server evaluates scopes on the database as the
 * client's identity may read it, so a scope can never reveal, even by which
 * entities it selects, a value the client may not read.
 *
 * @module
 */
import type { Attr, EntityId } from '../../crdt/index.js';
import { DatsyncError, ErrorCode, isEntityId } from '../../crdt/index.js';
import type { Eid } from '../datascript/index.js';
import { datoms, q, resolveEid } from '../datascript/index.js';
import { analyzePull, analyzeQuery } from '../query/dependencies.js';
import type { Schema } from '../schema.js';
import { ENTITY_ID_ATTR } from '../schema.js';
import type { LocalScope } from './local-scope.js';
import { localScope } from './local-scope.js';
import { compilePull } from './pull-scope.js';
import type { ScopeView } from './scope-view.js';

export type ScopeInput = string | number | boolean;

export type ScopeDef =
  | {
      readonly name: string;
      /** A Datalog query whose first find variable names entities, e.g. `[:find ?e :where [?e "task/title"]]`. */
      readonly query: string;
      readonly inputs?: readonly ScopeInput[];
      /** Reference attributes to follow from the result entities (transitively). */
      readonly follow?: readonly string[];
      /** Re-evaluate at most this often (ms): the "gating" that trades freshness for load. */
      readonly minIntervalMs?: number;
    }
  | {
      readonly name: string;
      /** A pull pattern; the entity and every entity it reaches through the pattern are in scope. */
      readonly pull: string;
      readonly entity: EntityId;
      readonly minIntervalMs?: number;
    };

export const MAX_SCOPES = 32;
const MAX_QUERY_LENGTH = 10_000;

function invalid(message: string): never {
  throw new DatsyncError(ErrorCode.InvalidQuery, `scope: ${message}`);
}

/** Checks a scope a client declared (it is untrusted input). */
export function parseScope(value: unknown, schema: Schema): ScopeDef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('a scope must be an object');
  const def = value as Record<string, unknown>;
  const name = def.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 100) invalid('a scope needs a name of 1 to 100 characters');
  const minIntervalMs = def.minIntervalMs;
  if (minIntervalMs !== undefined && (typeof minIntervalMs !== 'number' || !Number.isFinite(minIntervalMs) || minIntervalMs < 0)) {
    invalid('minIntervalMs must be a non-negative number');
  }
  const gate = minIntervalMs === undefined ? {} : { minIntervalMs: minIntervalMs as number };
  if (typeof def.pull === 'string') {
    if (def.pull.length > MAX_QUERY_LENGTH) invalid('pull pattern too long');
    if (!isEntityId(def.entity)) invalid('a pull scope needs an entity id');
    analyzePull(def.pull);
    return { name, pull: def.pull, entity: def.entity, ...gate };
  }
  if (typeof def.query !== 'string' || def.query.length > MAX_QUERY_LENGTH)
    invalid('a scope needs a query (or a pull pattern) of at most 10,000 characters');
  analyzeQuery(def.query);
  const inputs = def.inputs ?? [];
  if (!Array.isArray(inputs) || inputs.length > 16 || !inputs.every((i) => ['string', 'number', 'boolean'].includes(typeof i))) {
    invalid('inputs must be at most 16 strings, numbers or booleans');
  }
  const follow = def.follow ?? [];
  if (
    !Array.isArray(follow) ||
    follow.length > 16 ||
    !follow.every((a) => typeof a === 'string' && schema.refAttributes.includes(a as never))
  ) {
    invalid('follow must list reference attributes of the schema');
  }
  return { name, query: def.query, inputs: inputs as ScopeInput[], follow: follow as string[], ...gate };
}

export interface CompiledScope {
  readonly def: ScopeDef;
  /** Attributes a change to which can change the result (null: any). */
  readonly dependsOn: ReadonlySet<string> | null;
  /** A query about one entity at a time: a group's changed entities are asked again, not the whole query. */
  readonly local: LocalScope | null;
  /** A pull scope's entity: its result changes only where a reference of `dependsOn` it reaches changed. */
  readonly root: EntityId | null;
  evaluate(view: ScopeView): Set<EntityId>;
}

function failed(def: ScopeDef, cause: unknown): never {
  throw new DatsyncError(ErrorCode.InvalidQuery, `scope ${def.name}: the query failed`, undefined, { cause });
}

export function compileScope(def: ScopeDef, schema: Schema): CompiledScope {
  if ('pull' in def) {
    const analysis = analyzePull(def.pull);
    const walk = compilePull(def.pull, schema);
    // Which entities a pull reaches depends on its references alone (and on its entity existing).
    const refs: ReadonlySet<string> = new Set(schema.refAttributes);
    const named = analysis.attributes === null ? null : [...analysis.attributes].filter((a) => refs.has(a));
    // A component named in the pattern is walked whole, through any reference.
    const whole = named === null || named.some((a) => schema.attributes.get(a as Attr)?.isComponent === true);
    const reached = whole ? refs : new Set(named);
    return {
      def,
      dependsOn: reached,
      local: null,
      root: def.entity,
      evaluate(view) {
        const eid = resolveEid(view.whole, [ENTITY_ID_ATTR, def.entity]);
        return eid === null ? new Set() : walk.reach(view, eid);
      },
    };
  }
  const analysis = analyzeQuery(def.query);
  const follow = def.follow ?? [];
  const dependsOn = analysis.attributes === null ? null : new Set([...analysis.attributes, ...follow]);
  const inputs = def.inputs ?? [];
  const local = follow.length === 0 && dependsOn !== null ? localScope(def.query, inputs) : null;
  return {
    def,
    dependsOn,
    local:
      local === null
        ? null
        : {
            ...local,
            select(view, eids) {
              try {
                return local.select(view, eids);
              } catch (cause) {
                return failed(def, cause);
              }
            },
          },
    root: null,
    evaluate({ db, entityIdOf }) {
      let rows: unknown;
      try {
        rows = q(def.query, db, ...inputs);
      } catch (cause) {
        failed(def, cause);
      }
      const eids: Eid[] = [];
      const take = (value: unknown): void => {
        if (typeof value === 'number') eids.push(value);
      };
      // The first find variable of each match: a relation's rows, a collection's items, a tuple's or a scalar's one.
      if (analysis.shape === 'relation') for (const row of rows as unknown[][]) take(row[0]);
      else if (analysis.shape === 'collection') for (const item of rows as unknown[]) take(item);
      else take(analysis.shape === 'tuple' ? (rows as unknown[] | null)?.[0] : rows);
      // Follow references, breadth first, each entity once.
      const seen = new Set<Eid>(eids);
      for (let i = 0; i < eids.length && follow.length > 0; i++) {
        for (const attribute of follow) {
          for (const datom of datoms(db, ':eavt', eids[i], attribute)) {
            const target = datom.v;
            if (typeof target === 'number' && !seen.has(target)) {
              seen.add(target);
              eids.push(target);
            }
          }
        }
      }
      const out = new Set<EntityId>();
      for (const eid of seen) {
        const id = entityIdOf(eid);
        if (id !== undefined) out.add(id);
      }
      return out;
    },
  };
}
