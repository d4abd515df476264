/**
 * Whether the log may take a transaction: validated whole (shape, schema,
 * types, clock drift), then applied tentatively and checked for unique values
 * another entity holds and against the write rules, on the database before
 * and after it. The server log calls it once it holds the right to append, so
 * the state it judges against is the log exactly where the transaction would
 * go.
 *
 * @module
 */
import type { DatomChange, ErrorData, Hlc, Transaction, TxId } from '../../crdt/index.js';
import { DatsyncError, ErrorCode, hlcWallMs, type TentativeState, validateTransaction } from '../../crdt/index.js';
import type { Db } from '../datascript/index.js';
import type { ProjectedDatom, Projection, StagedChanges } from '../projection/projection.js';
import type { Schema } from '../schema.js';

/** What a write check sees: the transaction, as ops and as the datoms it changes. */
export interface WriteRequest<Identity> {
  readonly identity: Identity;
  readonly tx: Transaction;
  readonly txId: TxId;
  /** The datoms it adds and removes, as the projection shows them. */
  readonly datoms: readonly ProjectedDatom[];
  readonly dbBefore: Db;
  readonly dbAfter: Db;
}

/** Returns true to allow, or a reason (string) to refuse. May be async. */
export type WriteCheck<Identity> = (request: WriteRequest<Identity>) => boolean | string | Promise<boolean | string>;

export interface Judged<Identity> {
  readonly schema: Schema;
  readonly state: TentativeState;
  readonly projection: Projection;
  readonly canWrite: WriteCheck<Identity>;
  readonly now: () => number;
  readonly maxDriftMs: number;
  readonly onError: (error: unknown) => void;
}

/**
 * Judges `tx`: if it may be accepted it stays applied (tentatively) and its
 * visible changes come back; else why not, with nothing of it left applied.
 */
export async function judge<Identity>(
  on: Judged<Identity>,
  identity: Identity,
  tx: Transaction,
  txId: TxId,
): Promise<{ changes: DatomChange[] } | { error: ErrorData }> {
  try {
    validateTransaction(tx, on.schema.specs);
  } catch (error) {
    if (error instanceof DatsyncError) return { error: error.toJSON() };
    throw error;
  }
  if (hlcWallMs(tx.hlc as Hlc) > on.now() + on.maxDriftMs) {
    return {
      error: { code: ErrorCode.ClockDrift, message: 'the transaction is stamped too far in the future: check this device\u2019s clock' },
    };
  }
  const changes = on.state.addTentative(tx);
  // Staged, not transacted: a check that never reads the databases costs no DataScript transaction (see `Projection.stage`).
  const staged = on.projection.stage(changes);
  const undo = (): void => {
    on.projection.stage(on.state.reject(txId));
  };
  const conflict = uniqueConflict(on, changes);
  if (conflict !== null) {
    undo();
    return {
      error: { code: ErrorCode.UniqueConflict, message: `another entity already holds this value of unique attribute ${conflict}` },
    };
  }
  let verdict: boolean | string;
  try {
    verdict = await on.canWrite(request(on.projection, identity, tx, txId, staged));
  } catch (error) {
    undo();
    on.onError(error);
    return { error: { code: ErrorCode.Forbidden, message: 'the write check failed' } };
  }
  if (verdict !== true) {
    undo();
    const message = typeof verdict === 'string' && verdict.length > 0 ? verdict.slice(0, 500) : 'this write is not allowed';
    return { error: { code: ErrorCode.Forbidden, message } };
  }
  return { changes };
}

/**
 * The request a write check gets, its databases made when first read: the
 * one before is made first, so both can be read in either order. Read after
 * the check has returned, they may no longer be at hand.
 */
function request<Identity>(
  projection: Projection,
  identity: Identity,
  tx: Transaction,
  txId: TxId,
  staged: StagedChanges,
): WriteRequest<Identity> {
  let dbBefore: Db | undefined;
  let dbAfter: Db | undefined;
  const before = (): Db => {
    dbBefore ??= projection.at(staged.before);
    return dbBefore;
  };
  return {
    identity,
    tx,
    txId,
    datoms: staged.datoms,
    get dbBefore() {
      return before();
    },
    get dbAfter() {
      before();
      dbAfter ??= projection.at(staged.after);
      return dbAfter;
    },
  };
}

/** The first unique attribute one of `changes` gave a value that another entity also holds. */
function uniqueConflict<Identity>(on: Judged<Identity>, changes: readonly DatomChange[]): string | null {
  for (const change of changes) {
    if (!change.added || on.schema.attributes.get(change.attribute)?.unique == null) continue;
    if (on.projection.claimants(change.attribute, change.value).length > 1) return change.attribute;
  }
  return null;
}
