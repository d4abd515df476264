/**
 * The client replica: the tentative CRDT state, its DataScript projection and
 * the reactive queries over it. Local transactions, remote transactions,
 * acknowledgements and rejections all go through one path: a change to the
 * tentative state yields visible changes, which the projection applies and
 * the subscriptions follow.
 *
 * This is internal; `createClient` wraps it with storage and sync.
 *
 * @module
 */
import type { Attr, DatomChange, EntityId, Hlc, ReplicaId, Slot, Transaction, TxId, WriteIntent } from '../../crdt/index.js';
import {
  DatsyncError,
  ErrorCode,
  HybridClock,
  hlcFromParts,
  hlcWallMs,
  LocalAuthor,
  liveOf,
  ReplicaState,
  TentativeState,
  transactionId,
  validateTransaction,
} from '../../crdt/index.js';
import type { Db, Eid } from '../datascript/index.js';
import type { ProjectedDatom, ProjectionReport } from '../projection/projection.js';
import { Projection } from '../projection/projection.js';
import type { Schema } from '../schema.js';
import type { SubscriptionSpec, Unsubscribe } from './subscriptions.js';
import { Subscriptions } from './subscriptions.js';
import { FormReader } from './tx-forms.js';
import { netIntents } from './tx-net.js';

/** What `transact` resolves to, in the spirit of DataScript's tx report. */
export interface TxReport {
  /** The transaction's id, or null when it changed nothing. */
  readonly txId: TxId | null;
  /** Tempid → DataScript eid, as DataScript reports it. */
  readonly tempids: Readonly<Record<string, Eid>>;
  /** Tempid → stable entity id. */
  readonly entityIds: Readonly<Record<string, EntityId>>;
  /** Datoms added and removed in the projection. */
  readonly datoms: readonly ProjectedDatom[];
  readonly dbBefore: Db;
  readonly dbAfter: Db;
}

export interface ReplicaInit {
  readonly schema: Schema;
  readonly replicaId: ReplicaId;
  /** The last dot counter this replica issued (persisted with every transaction). */
  readonly issuedUpTo: number;
  readonly hlc: Hlc;
  readonly now: () => number;
  readonly maxDriftMs?: number;
  readonly confirmed?: ReplicaState;
  readonly pending?: readonly Transaction[];
  readonly onError: (error: unknown) => void;
}

/** Changes above this count rebuild the projection instead of transacting into it. */
const REBUILD_ABOVE = 20_000;

export interface PreparedTx {
  readonly tx: Transaction | null;
  readonly tempids: ReadonlyMap<string, EntityId>;
}

export class Replica {
  readonly schema: Schema;
  private tentative: TentativeState;
  readonly projection: Projection;
  /** Replaced only when the replica starts over under a new id (see `reissue`). */
  author: LocalAuthor;
  private readonly subscriptions: Subscriptions;
  private readonly now: () => number;
  /** When recent transactions happened, for `asOf(txId)` after their versions are gone (bounded). */
  private readonly txTimes = new Map<TxId, Hlc>();

  constructor(init: ReplicaInit) {
    this.schema = init.schema;
    this.now = init.now;
    this.tentative = new TentativeState(init.confirmed ?? new ReplicaState(init.schema.specs));
    for (const tx of init.pending ?? []) {
      this.tentative.addTentative(tx);
      this.noteTime(tx);
    }
    this.author = new LocalAuthor(init.replicaId, init.issuedUpTo, new HybridClock(init.hlc, init.maxDriftMs));
    this.projection = new Projection(init.schema);
    this.projection.rebuild(this.tentative);
    this.subscriptions = new Subscriptions(init.onError);
  }

  get db(): Db {
    return this.projection.db;
  }

  /** The CRDT state shown: confirmed plus tentative. */
  get state(): TentativeState {
    return this.tentative;
  }

  /**
   * Swaps in another confirmed state (the server's log was replaced, or a
   * snapshot arrived); tentative transactions stay on top of it.
   */
  replaceConfirmed(confirmed: ReplicaState): void {
    const pending = this.tentative.pending();
    this.tentative = new TentativeState(confirmed);
    for (const tx of pending) this.tentative.addTentative(tx);
    this.rebuild();
  }

  /** Rebuilds the projection in one pass and re-runs every subscription. */
  private rebuild(): ProjectionReport {
    const dbBefore = this.projection.db;
    const dbAfter = this.projection.rebuild(this.tentative);
    this.subscriptions.notify({ db: dbAfter, attributes: 'all', entities: 'all' });
    return { dbBefore, dbAfter, datoms: [], attributes: new Set(), entities: new Set() };
  }

  get replicaId(): ReplicaId {
    return this.author.replica;
  }

  /**
   * Reads and checks transaction data against the current state and authors
   * a transaction from it (null when it changes nothing). Throws a
   * `DatsyncError` naming the offending item; nothing is applied.
   */
  prepare(txData: unknown): PreparedTx {
    const ops = new FormReader({
      schema: this.schema,
      db: this.projection.db,
      entityIdOf: (eid) => this.projection.entityId(eid),
    }).read(txData);
    const net = netIntents(ops, {
      schema: this.schema,
      db: this.projection.db,
      existingEid: (id) => this.projection.existingEid(id),
      entityIdOf: (eid) => this.projection.entityId(eid),
      values: (entity, attribute) => ({
        values: this.tentative.values(entity, attribute),
        live: liveOf(this.tentative.slot(entity, attribute)).length,
      }),
      attributesOf: (entity) => this.tentative.attributesOf(entity),
      mint: (k) => this.author.newEntityId(k),
    });
    const tx = this.author.author(net.intents, this.state, this.schema.specs, this.now());
    return { tx, tempids: net.tempids };
  }

  private noteTime(tx: Transaction): void {
    this.txTimes.set(transactionId(tx), tx.hlc);
    if (this.txTimes.size > 100_000) {
      const oldest = this.txTimes.keys().next().value;
      if (oldest !== undefined) this.txTimes.delete(oldest);
    }
  }

  /** The time of a transaction seen in this session, if remembered. */
  timeOf(id: TxId): Hlc | undefined {
    return this.txTimes.get(id);
  }

  /**
   * This replica's physical clock ran ahead (the server's clock, now in
   * `now`, says so): rewinds the hybrid clock, and writes again, stamped now,
   * its undecided transactions from the first one stamped more than
   * `marginMs` ahead, which the server would refuse. Only transactions above
   * `decided` are touched: the server never saw them, so no copy of them
   * exists anywhere else. Their ops keep their entities and values; their
   * dots are new (the old counters stay unused). Returns what leaves and
   * joins the outbox, or null when the clock was not ahead.
   */
  restampAhead(decided: number, marginMs: number): { readonly removed: TxId[]; readonly added: Transaction[] } | null {
    const now = Math.floor(this.now());
    const limit = now + marginMs;
    const clock = this.author.clock;
    const ahead = hlcWallMs(clock.current) > limit;
    if (!ahead) return null;
    clock.rewind(hlcFromParts(now, 0));
    const own = this.tentative.pending().filter((tx) => tx.replica === this.author.replica && tx.counter > decided);
    const first = own.findIndex((tx) => hlcWallMs(tx.hlc) > limit);
    if (first < 0) return { removed: [], added: [] };
    // Everything after the first one too: a later write may supersede its dots, which are about to change.
    const redo = own.slice(first);
    for (const tx of [...redo].reverse()) this.tentative.reject(transactionId(tx));
    const added: Transaction[] = [];
    for (const tx of redo) {
      const intents = tx.ops.map((op) => ({ entity: op.entity, attribute: op.attribute, kind: op.kind, value: op.value }));
      const again = this.author.author(intents, this.state, this.schema.specs, now);
      if (again === null) continue;
      this.tentative.addTentative(again);
      this.noteTime(again);
      added.push(again);
    }
    this.rebuild();
    return { removed: redo.map(transactionId), added };
  }

  /**
   * Continues under `replica` (see `reissue.ts`): `redo`, ours and undecided,
   * oldest first, leaves the state and is written again under the new id
   * from the intents given (null where nothing is left to write), shown
   * again if it was shown (strong-mode writes are not).
   */
  reissue(
    replica: ReplicaId,
    reserved: number,
    redo: readonly Transaction[],
    intents: (tx: Transaction) => WriteIntent[],
  ): Array<Transaction | null> {
    const shown = new Set(redo.map(transactionId).filter((id) => this.tentative.isPending(id)));
    for (const tx of [...redo].reverse()) if (shown.has(transactionId(tx))) this.tentative.reject(transactionId(tx));
    this.author = new LocalAuthor(replica, reserved, this.author.clock);
    const now = Math.floor(this.now());
    const added = redo.map((tx) => {
      const again = this.author.author(intents(tx), this.state, this.schema.specs, now);
      if (again !== null && shown.has(transactionId(tx))) {
        this.tentative.addTentative(again);
        this.noteTime(again);
      }
      return again;
    });
    this.rebuild();
    return added;
  }

  /** Shows a prepared local transaction at once (optimistic). */
  applyLocal(prepared: PreparedTx): TxReport {
    if (prepared.tx !== null) this.noteTime(prepared.tx);
    const report = prepared.tx === null ? this.unchanged() : this.publish(this.tentative.addTentative(prepared.tx));
    const tempids: Record<string, Eid> = {};
    const entityIds: Record<string, EntityId> = {};
    for (const [temp, id] of prepared.tempids) {
      tempids[temp] = this.projection.eid(id);
      entityIds[temp] = id;
    }
    return {
      txId: prepared.tx === null ? null : transactionId(prepared.tx),
      tempids,
      entityIds,
      datoms: report.datoms,
      dbBefore: report.dbBefore,
      dbAfter: report.dbAfter,
    };
  }

  /** Applies transactions the authority sent (others', or ours coming back). */
  applyRemote(txs: readonly Transaction[]): ProjectionReport {
    // Checked whole before any is applied: a bad one must not leave the state and the projection apart.
    let ops = 0;
    for (const tx of txs) {
      validateTransaction(tx, this.schema.specs);
      ops += tx.ops.length;
    }
    // A batch this large rebuilds the projection from the state (see `publish`): a list of its changes would go unread.
    const changes: DatomChange[] | null = ops > REBUILD_ABOVE ? null : [];
    for (const tx of txs) {
      if (
        tx.replica === this.author.replica &&
        !this.tentative.isPending(transactionId(tx)) &&
        !this.tentative.confirmed.context.has(tx.replica, tx.counter)
      ) {
        ReplicaState.assertNotReused(this.author.replica, this.author.issuedUpTo, tx);
      }
      this.author.clock.adopt(tx.hlc);
      this.noteTime(tx);
      this.tentative.applyConfirmedInto(tx, changes);
    }
    return changes === null ? this.rebuild() : this.publish(changes);
  }

  /** Shows transactions another tab of this app wrote and has not had confirmed yet. */
  applyForeignPending(txs: readonly Transaction[]): ProjectionReport {
    for (const tx of txs) validateTransaction(tx, this.schema.specs);
    const changes: DatomChange[] = [];
    for (const tx of txs) {
      this.author.clock.adopt(tx.hlc);
      this.noteTime(tx);
      for (const change of this.tentative.addTentative(tx)) changes.push(change);
    }
    return this.publish(changes);
  }

  /** Installs or evicts confirmed registers (partial replication decided by the server). */
  replaceRegisters(entries: ReadonlyArray<readonly [EntityId, Attr, Slot | undefined]>): ProjectionReport {
    return this.publish(this.tentative.replaceConfirmed(entries));
  }

  /** The authority accepted a local transaction (keeping `applied` of it here, all of it by default). */
  confirm(id: TxId, applied?: Transaction): ProjectionReport {
    return this.publish(this.tentative.confirm(id, applied));
  }

  /** The authority refused a local transaction: it is rolled back everywhere it shows. */
  reject(id: TxId): ProjectionReport {
    return this.publish(this.tentative.reject(id));
  }

  private unchanged(): ProjectionReport {
    const db = this.projection.db;
    return { dbBefore: db, dbAfter: db, datoms: [], attributes: new Set(), entities: new Set() };
  }

  private publish(changes: readonly DatomChange[]): ProjectionReport {
    if (changes.length === 0) return this.unchanged();
    // A large catch-up is built in one pass: DataScript transacts ~75k datoms/s but init_db builds 500k/s.
    if (changes.length > REBUILD_ABOVE) return this.rebuild();
    const report = this.projection.apply(changes);
    this.subscriptions.notify({ db: report.dbAfter, attributes: report.attributes, entities: report.entities });
    return report;
  }

  subscribe<Result>(spec: SubscriptionSpec<Result>): Unsubscribe {
    return this.subscriptions.add(spec, this.projection.db);
  }

  /** Resolves an eid, stable id or lookup ref to a stable entity id (for the read API). */
  entityIdOf(entity: unknown): EntityId {
    let id: EntityId | undefined;
    if (typeof entity === 'number') id = this.projection.entityId(entity);
    else if (typeof entity === 'string')
      id = this.projection.existingEid(entity as EntityId) === undefined ? undefined : (entity as EntityId);
    else if (Array.isArray(entity) && entity.length === 2 && typeof entity[0] === 'string') {
      try {
        id = new FormReader({ schema: this.schema, db: this.projection.db, entityIdOf: (eid) => this.projection.entityId(eid) }).resolveNow(
          entity,
        );
      } catch (error) {
        // A malformed reference in a read is a bad query, not a bad transaction.
        if (error instanceof DatsyncError && error.code !== ErrorCode.UnknownEntity) {
          throw new DatsyncError(ErrorCode.InvalidQuery, error.message.replace(/^transaction item 0: /, ''), error.details, {
            cause: error,
          });
        }
        throw error;
      }
    }
    if (id === undefined) throw new DatsyncError(ErrorCode.UnknownEntity, 'no such entity (expected an eid, a stable id or a lookup ref)');
    return id;
  }

  attribute(attribute: string): Attr {
    if (!this.schema.attributes.has(attribute as Attr)) {
      throw new DatsyncError(ErrorCode.UnknownAttribute, `attribute ${attribute.slice(0, 200)} is not in the schema`, {
        attribute: attribute.slice(0, 200),
      });
    }
    return attribute as Attr;
  }

  close(): void {
    this.subscriptions.clear();
  }
}
