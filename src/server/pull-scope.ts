/**
 * The entities a pull scope reaches, on the database as a client may read it.
 *
 * This walks the pattern itself instead of running DataScript's `pull` on a
 * filtered database, which is both wrong and slow there: it seeks the index
 * from the pulled entity onwards without stopping at the entity, so a pull
 * of entity 2 can come back with a reference entity 3 holds (see
 * property-tests/visibility.prop.ts), and it calls the filter on thousands of
 * unrelated datoms on the way (tens of milliseconds on 100,000 datoms).
 *
 * The walk follows what decides which entities a pull reaches: reference
 * attributes forwards and backwards (`"task/_parent"`), nested patterns,
 * recursion (`...` or a depth), the wildcard (`*`, and component references,
 * which pull expands whole) and limits (`:limit`, 1,000 values by default
 * for many-valued and reverse references, as in pull). A reference counts
 * only where the client may read its datom. Recursion reaches every entity
 * within its depth, each walked once. Options that only shape a pull's
 * result (`:as`, `:default`, `:xform`) change nothing here.
 *
 * @module
 */
import type { EntityId } from '../../crdt/index.js';
import { Cardinality } from '../../crdt/index.js';
import type { Eid } from '../datascript/index.js';
import { datoms } from '../datascript/index.js';
import type { Edn } from '../query/edn.js';
import { isKeyword, isSymbol, itemsOf, readEdn } from '../query/edn.js';
import type { Schema } from '../schema.js';
import type { ScopeView } from './scope-view.js';

/** DataScript's default limit on the values of one attribute in a pull. */
const DEFAULT_LIMIT = 1000;

interface Edge {
  readonly attribute: string;
  readonly reverse: boolean;
  /** Values taken at most (null: all). */
  readonly limit: number | null;
  /** A nested pattern, recursion into the enclosing one (with a depth, null for `...`), or neither. */
  readonly next: Spec | { readonly depth: number | null } | null;
}

interface Spec {
  readonly id: number;
  readonly wildcard: boolean;
  readonly edges: readonly Edge[];
}

/** A pull pattern prepared for walking: only what can reach entities is kept. */
export interface PullWalk {
  reach(view: ScopeView, root: Eid): Set<EntityId>;
}

export function compilePull(pattern: string, schema: Schema): PullWalk {
  let ids = 0;
  const refs = new Set<string>(schema.refAttributes);
  const many = (attribute: string): boolean => schema.attributes.get(attribute as never)?.cardinality === Cardinality.Many;
  const components = new Set([...schema.attributes.values()].filter((def) => def.isComponent).map((def) => def.name as string));

  /** An attribute spec: a name, `("name" :limit n …)`, `["name" :limit n …]`, `(limit "name" n)` or `(default "name" v)`. */
  const attributeOf = (form: Edn): { attribute: string; limit: number | null | undefined } | undefined => {
    if (typeof form === 'string') return { attribute: form, limit: undefined };
    const items = itemsOf(form);
    if (items === undefined) return undefined;
    const [head, ...rest] = items;
    if (isSymbol(head as Edn, 'limit') || head === 'limit') {
      const limit = rest[1];
      return typeof rest[0] === 'string' ? { attribute: rest[0], limit: typeof limit === 'number' ? limit : null } : undefined;
    }
    if (isSymbol(head as Edn, 'default') || head === 'default')
      return typeof rest[0] === 'string' ? { attribute: rest[0], limit: undefined } : undefined;
    if (typeof head !== 'string') return undefined;
    let limit: number | null | undefined;
    for (let i = 0; i + 1 < rest.length; i += 2) {
      const key = rest[i] as Edn;
      if (isKeyword(key, 'limit') || key === 'limit') limit = typeof rest[i + 1] === 'number' ? (rest[i + 1] as number) : null;
    }
    return { attribute: head, limit };
  };

  const edgeOf = (form: Edn, next: Edge['next']): Edge | undefined => {
    const spec = attributeOf(form);
    if (spec === undefined) return undefined;
    const name = spec.attribute;
    const reversed = name.startsWith('_') ? name.slice(1) : name.includes('/_') ? name.replace('/_', '/') : undefined;
    const attribute = reversed !== undefined && refs.has(reversed) ? reversed : name;
    if (!refs.has(attribute)) return undefined;
    const reverse = attribute !== name;
    const limit = spec.limit === undefined ? (reverse || many(attribute) ? DEFAULT_LIMIT : null) : spec.limit;
    return { attribute, reverse, limit, next };
  };

  const compile = (form: Edn): Spec => {
    const edges: Edge[] = [];
    let wildcard = false;
    for (const item of itemsOf(form) ?? []) {
      if (isSymbol(item, '*') || item === '*') wildcard = true;
      else if (typeof item === 'object' && item !== null && item.kind === 'map') {
        for (const [key, value] of item.entries) {
          const next = isSymbol(value, '...') ? { depth: null } : typeof value === 'number' ? { depth: value } : compile(value);
          const edge = edgeOf(key, next);
          if (edge !== undefined) edges.push(edge);
        }
      } else {
        const edge = edgeOf(item, null);
        if (edge !== undefined) edges.push(edge);
      }
    }
    return { id: ids++, wildcard, edges };
  };
  const top = compile(readEdn(pattern));
  // What pull does with a component reference named plainly (or through `*`): the whole entity, recursively.
  const whole: Spec = { id: ids++, wildcard: true, edges: [] };

  return {
    reach(view, root) {
      const out = new Set<EntityId>();
      const visited = new Set<string>();
      const targets = (eid: Eid, edge: Edge): Eid[] => {
        const found: Eid[] = [];
        if (edge.reverse) {
          for (const datom of datoms(view.whole, ':avet', edge.attribute, eid)) {
            if (edge.limit !== null && found.length >= edge.limit) break;
            if (view.readable(datom.e, edge.attribute)) found.push(datom.e);
          }
        } else if (view.readable(eid, edge.attribute)) {
          for (const datom of datoms(view.whole, ':eavt', eid, edge.attribute)) {
            if (edge.limit !== null && found.length >= edge.limit) break;
            if (typeof datom.v === 'number') found.push(datom.v);
          }
        }
        return found;
      };
      const walk = (spec: Spec, eid: Eid, depths: ReadonlyMap<Edge, number>): void => {
        const key = `${eid} ${spec.id} ${[...depths.values()].join(',')}`;
        if (visited.has(key)) return;
        visited.add(key);
        const id = view.entityIdOf(eid);
        if (id !== undefined) out.add(id);
        const edges = [...spec.edges];
        if (spec.wildcard) {
          const named = new Set(edges.filter((e) => !e.reverse).map((e) => e.attribute));
          for (const datom of datoms(view.whole, ':eavt', eid)) {
            if (refs.has(datom.a) && !named.has(datom.a)) {
              named.add(datom.a);
              edges.push({ attribute: datom.a, reverse: false, limit: many(datom.a) ? DEFAULT_LIMIT : null, next: null });
            }
          }
        }
        for (const edge of edges) {
          for (const target of targets(eid, edge)) {
            const next = edge.next;
            if (next === null) {
              if (!edge.reverse && components.has(edge.attribute)) walk(whole, target, depths);
              else {
                const targetId = view.entityIdOf(target);
                if (targetId !== undefined) out.add(targetId);
              }
            } else if ('edges' in next) walk(next, target, depths);
            else {
              const left = depths.get(edge) ?? next.depth;
              if (left !== null && left <= 0) {
                const targetId = view.entityIdOf(target);
                if (targetId !== undefined) out.add(targetId);
                continue;
              }
              walk(spec, target, left === null ? depths : new Map(depths).set(edge, left - 1));
            }
          }
        }
      };
      walk(top, root, new Map());
      return out;
    },
  };
}
