/**
 * Who may read and write what. Secure by default: an attribute no rule names
 * (exactly, by its namespace as `"task/*"`, or by `"*"`) is neither readable
 * nor writable. Allowing everything is the explicit, named `allowAll`.
 *
 * A read rule decides per (identity, entity, attribute), with the server's
 * DataScript database at hand: `true`, `false`, a TypeScript predicate, or
 * Datalog rules evaluated on that database. A write rule decides per
 * attribute an entity's datoms change in a transaction, seeing the database
 * before and after the whole transaction (never op by op).
 *
 * @example
 * const permissions: Permissions<User> = {
 *   read: {
 *     'user/*': true,
 *     'task/*': { datalog: `[[(readable ?e ?me) [?e "task/private" false]]
 *                            [(readable ?e ?me) [?e "task/owner" ?o] [?o "user/name" ?me]]]`,
 *                 identity: (user) => user.name },
 *   },
 *   write: { 'task/*': { allow: ({ identity, eidBefore, dbBefore, eidAfter, dbAfter }) => … } },
 * };
 *
 * @module
 */
import type { Attr, EntityId } from '../../crdt/index.js';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import { q } from '../datascript/index.js';
import { analyzeQuery } from '../query/dependencies.js';
import { printEdn, readEdn } from '../query/edn.js';

export interface ReadContext<Identity> {
  readonly identity: Identity;
  readonly entity: EntityId;
  readonly eid: Eid;
  readonly attribute: Attr;
  readonly db: Db;
}

export interface WriteContext<Identity> {
  readonly identity: Identity;
  readonly entity: EntityId;
  /** The entity's eid before and after the transaction (undefined where it has no datoms). */
  readonly eidBefore: Eid | undefined;
  readonly eidAfter: Eid | undefined;
  readonly attribute: Attr;
  readonly dbBefore: Db;
  readonly dbAfter: Db;
}

export type ReadRule<Identity> =
  | boolean
  | {
      readonly allow: (context: ReadContext<Identity>) => boolean;
      /**
       * Attributes the predicate reads; a change to one of them re-checks what
       * it decided (every attribute when absent).
       */
      readonly dependsOn?: readonly string[];
      /** The predicate reads only the entity's own datoms (then only changed entities are re-checked). */
      readonly local?: boolean;
    }
  | {
      /** Datalog rules defining `(readable ?e ?identity)`. */
      readonly datalog: string;
      /** The value bound to ?identity (default: the identity key). */
      readonly identity?: (identity: Identity) => unknown;
    };

export type WriteRule<Identity> = boolean | { readonly allow: (context: WriteContext<Identity>) => boolean | string };

export interface Permissions<Identity> {
  readonly read: Readonly<Record<string, ReadRule<Identity>>>;
  readonly write: Readonly<Record<string, WriteRule<Identity>>>;
}

/** Everyone may read and write everything: for development and public data, never a default. */
export const allowAll: Permissions<unknown> = Object.freeze({ read: Object.freeze({ '*': true }), write: Object.freeze({ '*': true }) });

/** The rule for `attribute`: its own, its namespace's, then `*`; undefined means denied. */
export function ruleFor<Rule>(rules: Readonly<Record<string, Rule>>, attribute: string): Rule | undefined {
  if (Object.hasOwn(rules, attribute)) return rules[attribute];
  const slash = attribute.indexOf('/');
  if (slash > 0) {
    const namespace = `${attribute.slice(0, slash)}/*`;
    if (Object.hasOwn(rules, namespace)) return rules[namespace];
  }
  return Object.hasOwn(rules, '*') ? rules['*'] : undefined;
}

/** A read rule prepared for evaluation: what it depends on, and a per-entity check. */
export interface CompiledReadRule<Identity> {
  /** Attributes it depends on (null: every attribute). */
  readonly dependsOn: ReadonlySet<string> | null;
  /** It reads only the entity's own datoms. */
  readonly local: boolean;
  check(identity: Identity, identityKey: string, eid: Eid, entity: EntityId, attribute: Attr, db: Db): boolean;
}

const constant = <Identity>(value: boolean): CompiledReadRule<Identity> => ({ dependsOn: new Set(), local: true, check: () => value });

export function compileReadRule<Identity>(rule: ReadRule<Identity> | undefined): CompiledReadRule<Identity> {
  if (rule === undefined || rule === false) return constant(false);
  if (rule === true) return constant(true);
  if ('allow' in rule) {
    const allow = rule.allow;
    return {
      dependsOn: rule.dependsOn === undefined ? null : new Set(rule.dependsOn),
      local: rule.local === true,
      check: (identity, _key, eid, entity, attribute, db) => allow({ identity, entity, eid, attribute, db }) === true,
    };
  }
  const rules = rule.datalog;
  const toValue = rule.identity;
  const query = '[:find ?e . :in $ % ?e ?me :where (readable ?e ?me)]';
  const analysis = analyzeRules(rules);
  return {
    dependsOn: analysis.attributes,
    local: analysis.local,
    check: (identity, key, eid, _entity, _attribute, db) => {
      try {
        return q(query, db, rules, eid, toValue === undefined ? key : toValue(identity)) !== null;
      } catch (cause) {
        throw new DatsyncError(ErrorCode.InvalidQuery, 'a Datalog read rule failed', undefined, { cause });
      }
    },
  };
}

/**
 * The attributes Datalog rules mention, and whether every data pattern is
 * about the rule's first argument (?e) alone (a local rule).
 */
function analyzeRules(rules: string): { attributes: ReadonlySet<string> | null; local: boolean } {
  const form = readEdn(rules);
  const items = typeof form === 'object' && form !== null && 'items' in form ? form.items : [];
  const attributes = new Set<string>();
  let all = false;
  let local = true;
  for (const rule of items) {
    const parts = typeof rule === 'object' && rule !== null && 'items' in rule ? rule.items : [];
    const [head, ...body] = parts;
    const headItems = typeof head === 'object' && head !== null && 'items' in head ? head.items : [];
    const self = headItems[1];
    const selfName = typeof self === 'object' && self !== null && 'name' in self ? self.name : undefined;
    // Reuse the query analysis: a rule body is a :where clause list.
    const analysis = analyzeQuery(`[:find ?x :where ${body.map(printEdn).join(' ')}]`);
    if (analysis.attributes === null) all = true;
    else for (const attribute of analysis.attributes) attributes.add(attribute);
    for (const clause of body) {
      const clauseItems = typeof clause === 'object' && clause !== null && 'items' in clause ? clause.items : [];
      const subject = clauseItems[0];
      if (typeof subject === 'object' && subject !== null && 'kind' in subject && subject.kind === 'list') continue;
      const name = typeof subject === 'object' && subject !== null && 'name' in subject ? subject.name : undefined;
      if (name !== selfName) local = false;
    }
  }
  return { attributes: all ? null : attributes, local };
}
