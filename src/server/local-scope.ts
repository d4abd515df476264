/**
 * Query scopes about one entity at a time. When every clause of a scope's
 * query is about the found entity itself (`[?e "task/project" "p17"]`,
 * `[?e "task/done" false]`, predicates, `not` / `or` of such clauses), whether
 * an entity is in the result depends on that entity's datoms alone. Then a
 * group of transactions can only move the entities it changed in or out, and
 * the server asks exactly that, for those entities, instead of re-running
 * the query over the whole database.
 *
 * Each such scope also names a key: the attribute (and, when it is a
 * constant, the value) of its first clause. An entity without a datom
 * matching the key cannot be in the result, so a change to task 9 of
 * project p42 need not even ask a scope of project p17.
 *
 * @module
 */
import type { Eid } from '../datascript/index.js';
import { datoms, q } from '../datascript/index.js';
import type { Edn } from '../query/edn.js';
import { isKeyword, isSymbol, itemsOf, printEdn, readEdn } from '../query/edn.js';
import type { ScopeView } from './scope-view.js';

export type KeyValue = string | number | boolean;

export interface LocalScope {
  /** The attribute every entity in the result has a datom of. */
  readonly keyAttribute: string;
  /** The value that datom holds, when the query fixes it. */
  readonly keyValue: KeyValue | undefined;
  /** Which of `eids` the query selects on the readable database. */
  select(view: ScopeView, eids: readonly Eid[]): Set<Eid>;
}

/** `[?e "attribute" value]`: a datom of the attribute holding the value (any value when undefined). */
interface Pattern {
  readonly attribute: string;
  readonly value: KeyValue | undefined;
}

/**
 * The query as plain patterns, when it is nothing else: each clause a data
 * pattern whose value is a constant, an input, `_` or a variable used
 * nowhere else in the clauses (no join, no predicate). Such a query selects
 * an entity exactly when each pattern has a readable matching datom, which
 * is asked directly instead of through the query engine (40 µs a query).
 */
function plainPatterns(where: readonly Edn[], constant: (symbol: string) => KeyValue | undefined): Pattern[] | null {
  const uses = new Map<string, number>();
  const count = (form: Edn): void => {
    if (isSymbol(form)) uses.set(form.name, (uses.get(form.name) ?? 0) + 1);
    for (const item of itemsOf(form) ?? []) count(item);
  };
  for (const clause of where) count(clause);
  const patterns: Pattern[] = [];
  for (const clause of where) {
    const items = typeof clause === 'object' && clause !== null && clause.kind === 'vector' ? clause.items : undefined;
    const attribute = items?.[1];
    if (items === undefined || typeof attribute !== 'string') return null;
    const value = items[2];
    if (value === undefined || isSymbol(value, '_')) patterns.push({ attribute, value: undefined });
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') patterns.push({ attribute, value });
    else if (isSymbol(value) && constant(value.name) !== undefined) patterns.push({ attribute, value: constant(value.name) });
    else if (isSymbol(value) && uses.get(value.name) === 1) patterns.push({ attribute, value: undefined });
    else return null;
  }
  return patterns;
}

function matches(view: ScopeView, eid: Eid, pattern: Pattern): boolean {
  const found = datoms(view.whole, ':eavt', eid, pattern.attribute);
  return found.some((datom) => pattern.value === undefined || datom.v === pattern.value) && view.readable(eid, pattern.attribute);
}

/** Functions that read the database; a clause calling one is not about its entity alone. */
function readsDatabase(args: readonly Edn[]): boolean {
  return args.some((arg) => isSymbol(arg) && arg.name.startsWith('$'));
}

/** Whether a clause is about `self` alone. */
function isLocalClause(clause: Edn, self: string): boolean {
  if (typeof clause !== 'object' || clause === null) return false;
  if (clause.kind === 'vector') {
    const [head, ...rest] = clause.items;
    if (head === undefined) return false;
    if (typeof head === 'object' && head !== null && head.kind === 'list') return !readsDatabase(head.items.slice(1));
    // A data pattern [?e "attr" value?]: no other source, no transaction position.
    return isSymbol(head, self) && typeof rest[0] === 'string' && rest.length <= 2;
  }
  if (clause.kind === 'list') {
    const [op, ...body] = clause.items;
    if (op === undefined || !(isSymbol(op, 'not') || isSymbol(op, 'or') || isSymbol(op, 'and'))) return false;
    return body.length > 0 && body.every((c) => isLocalClause(c, self));
  }
  return false;
}

/** The sections of a query in vector or map form. */
function sections(form: Edn): Map<string, Edn[]> | null {
  const out = new Map<string, Edn[]>();
  if (typeof form === 'object' && form !== null && form.kind === 'map') {
    for (const [key, value] of form.entries) {
      if (!isKeyword(key)) return null;
      out.set(key.name, [...(itemsOf(value) ?? [value])]);
    }
    return out;
  }
  let current: Edn[] | undefined;
  for (const part of itemsOf(form) ?? []) {
    if (isKeyword(part)) {
      current = [];
      out.set(part.name, current);
    } else if (current === undefined) return null;
    else current.push(part);
  }
  return out;
}

/**
 * The local form of a query, or null when its result can depend on other
 * entities (or when its shape keeps only part of the matches, as `?e .`).
 */
export function localScope(query: string, inputs: readonly KeyValue[]): LocalScope | null {
  const parts = sections(readEdn(query));
  if (parts === null || [...parts.keys()].some((name) => name !== 'find' && name !== 'in' && name !== 'where')) return null;
  const find = parts.get('find') ?? [];
  const first = find[0];
  // Relations and collections keep every match; `?e .` and `[?e ?x]` keep one.
  const self =
    first !== undefined && isSymbol(first) && !find.some((item) => isSymbol(item, '.'))
      ? first
      : find.length === 1 && first !== undefined && typeof first === 'object' && first !== null && first.kind === 'vector'
        ? first.items.length === 2 && isSymbol(first.items[1] as Edn, '...') && isSymbol(first.items[0] as Edn)
          ? (first.items[0] as { kind: 'symbol'; name: string })
          : undefined
        : undefined;
  if (self === undefined || !self.name.startsWith('?')) return null;
  const declared = parts.get('in') ?? [{ kind: 'symbol', name: '$' }];
  const [source, ...bound] = declared;
  if (source === undefined || !isSymbol(source, '$') || bound.length !== inputs.length) return null;
  if (!bound.every((b) => isSymbol(b) && b.name.startsWith('?') && b.name !== self.name)) return null;
  const where = parts.get('where') ?? [];
  if (where.length === 0 || !where.every((clause) => isLocalClause(clause, self.name))) return null;
  // The key: the first clause that is a plain data pattern.
  const pattern = where.map(itemsOf).find((items) => items !== undefined && isSymbol(items[0] as Edn, self.name));
  const attribute = pattern?.[1];
  if (pattern === undefined || typeof attribute !== 'string') return null;
  const value = pattern[2];
  let keyValue: KeyValue | undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') keyValue = value;
  else if (value !== undefined && isSymbol(value)) {
    const at = bound.findIndex((b) => isSymbol(b, value.name));
    if (at >= 0) keyValue = inputs[at];
  }
  const text = `[:find ${self.name} :in $ ${bound.map(printEdn).join(' ')} [${self.name} ...] :where ${where.map(printEdn).join(' ')}]`;
  const patterns = plainPatterns(where, (name) => {
    const at = bound.findIndex((b) => isSymbol(b, name));
    return at >= 0 ? inputs[at] : undefined;
  });
  return {
    keyAttribute: attribute,
    keyValue,
    select(view, eids) {
      if (patterns !== null) return new Set(eids.filter((eid) => patterns.every((pattern) => matches(view, eid, pattern))));
      if (eids.length === 0) return new Set();
      const rows = q<number[][]>(text, view.db, ...inputs, eids);
      return new Set(rows.map((row) => row[0] as number));
    },
  };
}
