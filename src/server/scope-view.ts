/**
 * What a scope is evaluated on: the database as one client may read it,
 * and the whole database with the read decision at hand (cheaper to walk
 * than DataScript's filtered database, where that gives the same answer).
 *
 * @module
 */
import type { EntityId } from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';

export interface ScopeView {
  /** The database as the client may read it. */
  readonly db: Db;
  /** The whole database. */
  readonly whole: Db;
  /** Whether the client may read (eid, attribute) of the whole database. */
  readable(eid: Eid, attribute: string): boolean;
  entityIdOf(eid: Eid): EntityId | undefined;
}
