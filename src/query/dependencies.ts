/**
 * What a query or pull pattern depends on: the attributes it names (so a
 * transaction touching none of them need not re-run it) and, for a flat pull
 * of one entity, that entity.
 *
 * The analysis is conservative: anything it cannot see through (a variable in
 * attribute position, a rule, a wildcard, a function given the database)
 * makes the query depend on every attribute.
 *
 * @module
 */
import type { Edn } from './edn.js';
import { isKeyword, isSymbol, itemsOf, readEdn } from './edn.js';

export interface Dependencies {
  /** Attribute names, or null for "any attribute". */
  readonly attributes: ReadonlySet<string> | null;
}

/** How a query's result is shaped, which decides how results compare. */
export type FindShape = 'relation' | 'collection' | 'tuple' | 'scalar';

export interface QueryAnalysis extends Dependencies {
  readonly shape: FindShape;
  /**
   * When every clause reads one entity only, named by a scalar input: that
   * input's position among the inputs after the database (so the query can
   * change only when the entity given there does). Null otherwise.
   */
  readonly entityInput: number | null;
}

class Collector {
  readonly attributes = new Set<string>();
  all = false;

  add(attribute: string): void {
    this.attributes.add(attribute.startsWith('_') || attribute.includes('/_') ? attribute.replace(/(^|\/)_/, '$1') : attribute);
  }

  result(): Dependencies {
    return { attributes: this.all ? null : this.attributes };
  }
}

/** Functions that read the database through an attribute argument. */
const attributeReaders = new Set(['get-else', 'get-some', 'missing?']);

function clause(form: Edn, into: Collector): void {
  if (typeof form !== 'object' || form === null) return;
  if (form.kind === 'vector') {
    const items = form.items;
    const head = items[0];
    if (head !== undefined && typeof head === 'object' && head !== null && head.kind === 'list') {
      functionCall(head.items, into);
      return;
    }
    const pattern = head !== undefined && isSymbol(head) && head.name.startsWith('$') ? items.slice(1) : items;
    lookupRef(pattern[0], into);
    lookupRef(pattern[2], into);
    const attribute = pattern[1];
    if (typeof attribute === 'string') into.add(attribute);
    else if (attribute === undefined) into.all = pattern.length < 2 ? into.all : true;
    else into.all = true;
    return;
  }
  if (form.kind === 'list') {
    const [op, ...rest] = form.items;
    const name = op !== undefined && isSymbol(op) ? op.name : '';
    if (name === 'not' || name === 'or' || name === 'and') for (const c of rest) clause(c, into);
    else if (name === 'not-join' || name === 'or-join') for (const c of rest.slice(1)) clause(c, into);
    else into.all = true; // a rule invocation: its body is not visible here
  }
}

function functionCall(items: readonly Edn[], into: Collector): void {
  const [fn, ...args] = items;
  const name = fn !== undefined && isSymbol(fn) ? fn.name : '';
  const readsDb = args.some((arg) => isSymbol(arg) && arg.name.startsWith('$'));
  if (!readsDb) return;
  if (!attributeReaders.has(name)) {
    into.all = true;
    return;
  }
  // (get-else $ ?e attr default), (get-some $ ?e attr…), (missing? $ ?e attr): attributes from the third argument on.
  lookupRef(args[1], into);
  const attributes = name === 'get-else' ? args.slice(2, 3) : args.slice(2);
  for (const arg of attributes) {
    if (typeof arg === 'string') into.add(arg);
    else into.all = true; // an attribute given through a variable could be any
  }
}

/**
 * A lookup ref written in the query (`["user/email" "a@x"]` as entity or ref
 * value) names whichever entity holds that value now: the result depends on
 * the lookup attribute too.
 */
function lookupRef(form: Edn | undefined, into: Collector): void {
  if (typeof form !== 'object' || form === null || form.kind !== 'vector') return;
  const attribute = form.items[0];
  if (form.items.length === 2 && typeof attribute === 'string') into.add(attribute);
}

/**
 * The attributes of the lookup refs among query inputs or a pull's entity, at
 * any depth (a collection or relation binding may hold them). Anything shaped
 * `[attribute, value]` counts: a tuple that is not a lookup ref only costs a
 * re-run that finds the same result.
 */
export function lookupRefAttributes(inputs: readonly unknown[]): Set<string> {
  const out = new Set<string>();
  const visit = (value: unknown): void => {
    if (!Array.isArray(value)) return;
    if (value.length === 2 && typeof value[0] === 'string') out.add(value[0]);
    for (const item of value) visit(item);
  };
  for (const input of inputs) visit(input);
  return out;
}

/** `dependencies` widened by `extra` (nothing to widen when they already cover every attribute). */
export function withAttributes(dependencies: Dependencies, extra: ReadonlySet<string>): Dependencies {
  const attributes = dependencies.attributes;
  if (attributes === null || extra.size === 0) return dependencies;
  return { attributes: new Set([...attributes, ...extra]) };
}

function pullPattern(form: Edn, into: Collector): void {
  const items = itemsOf(form);
  if (items === undefined) {
    into.all = true;
    return;
  }
  for (const item of items) pullItem(item, into);
}

function pullItem(item: Edn, into: Collector): void {
  if (typeof item === 'string') into.add(item);
  else if (isSymbol(item, '*') || isKeyword(item) || isSymbol(item)) into.all = true;
  else if (typeof item === 'object' && item !== null && item.kind === 'map') {
    for (const [key, sub] of item.entries) {
      pullItem(key, into);
      if (isSymbol(sub, '...') || typeof sub === 'number') continue;
      pullPattern(sub, into);
    }
  } else if (typeof item === 'object' && item !== null && item.kind === 'list') {
    // ("attr" :as "x" :limit 10) or (limit "attr" 10) / (default "attr" v)
    for (const part of item.items) if (typeof part === 'string') into.add(part);
  } else if (typeof item === 'object' && item !== null && item.kind === 'vector') {
    const first = item.items[0];
    if (typeof first === 'string') into.add(first);
  }
}

function mapToVector(form: Edn): readonly Edn[] {
  if (typeof form === 'object' && form !== null && form.kind === 'map') {
    const out: Edn[] = [];
    for (const [key, value] of form.entries) out.push(key, ...(itemsOf(value) ?? [value]));
    return out;
  }
  return itemsOf(form) ?? [];
}

/** Reads a Datalog query and reports the attributes it can depend on and the shape of its result. */
export function analyzeQuery(query: string): QueryAnalysis {
  const parts = mapToVector(readEdn(query));
  const into = new Collector();
  let section = '';
  const find: Edn[] = [];
  const inputs: Edn[] = [];
  const where: Edn[] = [];
  for (const part of parts) {
    if (isKeyword(part)) {
      section = part.name;
      continue;
    }
    if (section === 'in') inputs.push(part);
    if (section === 'where') where.push(part);
    if (section === 'find') find.push(part);
    else if (section === 'in' && isSymbol(part, '%')) into.all = true;
    else if (section === 'in') {
      const inner = itemsOf(part);
      if (inner?.some((x) => isSymbol(x, '%'))) into.all = true;
    } else if (section === 'where') clause(part, into);
  }
  // A pull may stand alone or inside a collection or tuple find: [(pull ?e [...]) ...].
  const elements = find.flatMap((element) =>
    typeof element === 'object' && element !== null && element.kind === 'vector' ? element.items : [element],
  );
  let pulls = false;
  for (const element of elements) {
    const items = typeof element === 'object' && element !== null && element.kind === 'list' ? element.items : undefined;
    if (items !== undefined && items[0] !== undefined && isSymbol(items[0], 'pull')) {
      pulls = true;
      const pattern = items[items.length - 1];
      if (pattern !== undefined) pullPattern(typeof pattern === 'string' ? readEdn(pattern) : pattern, into);
    }
  }
  // A pull can follow references to other entities.
  return { ...into.result(), shape: findShape(find), entityInput: pulls ? null : entityInput(inputs, where) };
}

/** The one entity variable the clauses read through, as far as they do; `false` once one reads another way. */
type EntityVar = string | undefined | false;

function sameEntity(found: EntityVar, form: Edn | undefined): EntityVar {
  if (found === false || form === undefined || !isSymbol(form) || !form.name.startsWith('?')) return false;
  return found === undefined || found === form.name ? form.name : false;
}

function clauseEntity(form: Edn, found: EntityVar): EntityVar {
  if (found === false || typeof form !== 'object' || form === null) return false;
  if (form.kind === 'vector') {
    const [head, ...args] = form.items;
    if (head !== undefined && typeof head === 'object' && head !== null && head.kind === 'list') {
      const [fn, ...fnArgs] = head.items;
      if (!fnArgs.some((arg) => isSymbol(arg) && arg.name.startsWith('$'))) return found;
      // (get-else $ ?e attr default) and its kind read the entity given second, from the default source.
      const name = fn !== undefined && isSymbol(fn) ? fn.name : '';
      return attributeReaders.has(name) && fnArgs[0] !== undefined && isSymbol(fnArgs[0], '$') ? sameEntity(found, fnArgs[1]) : false;
    }
    if (head !== undefined && isSymbol(head) && head.name.startsWith('$')) return head.name === '$' ? sameEntity(found, args[0]) : false;
    return sameEntity(found, head);
  }
  if (form.kind === 'list') {
    const [op, ...rest] = form.items;
    const name = op !== undefined && isSymbol(op) ? op.name : '';
    const body =
      name === 'not' || name === 'or' || name === 'and' ? rest : name === 'not-join' || name === 'or-join' ? rest.slice(1) : null;
    if (body === null) return false; // a rule: its body is not visible here
    let inner: EntityVar = found;
    for (const c of body) inner = clauseEntity(c, inner);
    return inner;
  }
  return false;
}

function entityInput(inputs: readonly Edn[], where: readonly Edn[]): number | null {
  const [source, ...rest] = inputs;
  if (source === undefined || !isSymbol(source, '$')) return null;
  let found: EntityVar;
  for (const form of where) found = clauseEntity(form, found);
  if (typeof found !== 'string') return null;
  const index = rest.findIndex((input) => isSymbol(input, found));
  return index < 0 ? null : index;
}

function findShape(find: readonly Edn[]): FindShape {
  const [first, second] = find;
  if (second !== undefined && isSymbol(second, '.')) return 'scalar';
  if (find.length === 1 && first !== undefined && typeof first === 'object' && first !== null && first.kind === 'vector') {
    const last = first.items[first.items.length - 1];
    return last !== undefined && isSymbol(last, '...') ? 'collection' : 'tuple';
  }
  return 'relation';
}

export interface PullAnalysis extends Dependencies {
  /** True when only the pulled entity's own datoms can change the result. */
  readonly flat: boolean;
}

/** Reads a pull pattern and reports the attributes it can depend on. */
export function analyzePull(pattern: string): PullAnalysis {
  const form = readEdn(pattern);
  const into = new Collector();
  pullPattern(form, into);
  const items = itemsOf(form) ?? [];
  const flat = !into.all && items.every((item) => typeof item === 'string' && !item.startsWith('_') && !item.includes('/_'));
  return { ...into.result(), flat };
}
