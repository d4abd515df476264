/**
 * A write rule the hardening tests share: an entity belongs to the identity
 * its `attribute` names; only that identity may change the entity, and it
 * must keep naming itself.
 */
import type { Db, Eid } from '../../src/datascript/index.js';
import { pull } from '../../src/datascript/index.js';
import type { WriteRule } from '../../src/server/permissions.js';

/** The value of `attribute` of an entity (undefined when it has none, or there is no entity). */
export function attributeOf(db: Db, eid: Eid | undefined, attribute: string): unknown {
  return eid === undefined ? undefined : pull(db, `["${attribute}"]`, eid)?.[attribute];
}

export function ownedBy(attribute: string): WriteRule<{ readonly sub: string }> {
  return {
    allow: ({ identity, eidBefore, eidAfter, dbBefore, dbAfter }) => {
      const before = attributeOf(dbBefore, eidBefore, attribute);
      if (before !== undefined && before !== identity.sub) return `only the identity its ${attribute} names may change it`;
      return attributeOf(dbAfter, eidAfter, attribute) === identity.sub || `it must name its writer in ${attribute}`;
    },
  };
}
