/**
 * The public types of the client: what `createClient` takes and returns.
 *
 * @module
 */
import type { DatsyncError, EntityId, ReplicaId, TxId } from '../../crdt/index.js';
import type { Storage } from '../../storage/contract.js';
import type { Db, Eid } from '../datascript/index.js';
import type { ProjectedDatom } from '../projection/projection.js';
import type { SchemaInput } from '../schema.js';
import type { Draft } from './draft.js';
import type { OpenDraftOptions } from './drafts.js';
import type { AsOfPoint, ConflictInfo, HistoryItem } from './inspect.js';
import type { TxReport } from './replica.js';
import type { Unsubscribe } from './subscriptions.js';
import type { ConnectionStatus, Scheduler, SocketFactory } from './sync.js';
import type { TxData } from './tx-forms.js';

/** An entity as the read API accepts it: an eid, a stable id, or a lookup ref. */
export type EntityLike = Eid | EntityId | readonly [string, unknown];

export interface ClientOptions {
  readonly schema: SchemaInput;
  /** Where the replica persists; in memory (nothing survives a reload) by default. */
  readonly storage?: Storage;
  /** The server's sync endpoint, such as `ws://localhost:8080/sync`; without it the client stays local. */
  readonly url?: string;
  /** Other nodes serving the same log, tried in turn after `url` when a connection fails (see docs/deploy.md). */
  readonly failoverUrls?: readonly string[];
  /** Credentials for the server: a token, or a function returning a fresh one at each connect. */
  readonly token?: string | (() => string | Promise<string>);
  /** A WebSocket implementation where there is no global one (in Node 20: `import { WebSocket } from 'ws'`). */
  readonly WebSocket?: SocketFactory;
  /** Reconnect backoff: the first delay and the cap (ms); the actual delay is random up to it. */
  readonly reconnect?: {
    readonly initialMs?: number;
    readonly maxMs?: number;
    /** Ping a server silent this long, reconnect when silent twice as long (default 15 s; 0 turns it off). */
    readonly heartbeatMs?: number;
  };
  /** Timers and randomness for reconnecting (tests inject a simulated clock). */
  readonly scheduler?: Scheduler;
  /** The physical clock, in epoch milliseconds. */
  readonly now?: () => number;
  /** Random bytes, for minting this replica's id. */
  readonly randomBytes?: (length: number) => Uint8Array;
  /** How far ahead of our clock a remote timestamp may be (default 5 minutes). */
  readonly maxDriftMs?: number;
  /**
   * The data to check out: named scopes, or null (the default) for everything
   * this client may read. Stored with the replica; `setScopes` changes them.
   */
  readonly scopes?: readonly ScopeSpec[] | null;
}

/** What a scope checks out: a Datalog query (first find variable: entities), or a pull from one entity. */
export type ScopeQuery =
  | {
      readonly query: string;
      readonly inputs?: ReadonlyArray<string | number | boolean>;
      /** Reference attributes to follow from the result entities (transitively). */
      readonly follow?: readonly string[];
      /** Let the server re-evaluate it at most this often (ms), trading freshness for load. */
      readonly minIntervalMs?: number;
    }
  | { readonly pull: string; readonly entity: EntityId; readonly minIntervalMs?: number };

export type ScopeSpec = ScopeQuery & { readonly name: string };

export interface ScopeHandle {
  readonly name: string;
  drop(): Promise<void>;
}

export interface TransactOptions {
  /**
   * Strong mode: the write is not shown until the server accepts it; the
   * promise resolves with the server's decision (and rejects with its reason).
   */
  readonly confirmed?: boolean;
}

export interface RejectedEvent {
  readonly txId: TxId;
  readonly error: DatsyncError;
  /** What the rollback removed from (and restored to) the projection. */
  readonly datoms: readonly ProjectedDatom[];
}

export interface ClientEvents extends Record<string, unknown> {
  /** A local transaction was refused (by the server, or by storage) and rolled back. */
  rejected: RejectedEvent;
  /** An error no caller could receive (a throwing subscription callback, a failed background write). */
  error: unknown;
  /** The replica now holds the server's log up to this position. */
  position: { readonly position: number };
  /** The connection changed state. */
  status: ConnectionStatus;
  /** The number of local writes the server has not yet decided changed. */
  pending: { readonly count: number };
}

export interface DatsyncClient {
  readonly replicaId: ReplicaId;
  /** `offline`, `connecting`, `catching-up` or `live`. */
  readonly status: ConnectionStatus;
  /** Local writes the server has not decided yet. */
  readonly pendingCount: number;
  /**
   * Validates, applies (optimistically, unless `confirmed`) and persists a
   * transaction; resolves once it is durable (or, in strong mode, accepted).
   */
  transact(txData: TxData, options?: TransactOptions): Promise<TxReport>;
  /** The current database value. */
  db(): Db;
  q<Result = unknown>(query: string, ...inputs: readonly unknown[]): Result;
  pull(pattern: string, entity: EntityLike): Record<string, unknown> | null;
  /** Calls `callback` with the query's result now, and again whenever a transaction changes it. */
  subscribe<Result = unknown>(query: string, inputs: readonly unknown[], callback: (result: Result) => void): Unsubscribe;
  /** Calls `callback` with the pull's result now, and again whenever a transaction changes it. */
  subscribePull(pattern: string, entity: EntityLike, callback: (result: Record<string, unknown> | null) => void): Unsubscribe;
  /** Every version of one attribute of one entity, oldest first. */
  history(entity: EntityLike, attribute: string): HistoryItem[];
  /** The database as of a transaction or a time. */
  asOf(point: AsOfPoint): Db;
  /** Attributes holding concurrent siblings, and unique values claimed twice. */
  conflicts(entity?: EntityLike): ConflictInfo[];
  /** The stable id of an eid, and back. */
  entityId(eid: Eid): EntityId | undefined;
  eid(entity: EntityLike): Eid | undefined;
  /** The scopes declared: what the server sends this client (null: everything it may read). */
  readonly scopes: readonly ScopeSpec[] | null;
  /** Replaces the declared scopes; entities leaving every scope are evicted (pending writes stay). */
  setScopes(scopes: readonly ScopeSpec[] | null): Promise<void>;
  /** Declares (or redefines) one scope. */
  scope(name: string, spec: ScopeQuery): Promise<ScopeHandle>;
  dropScope(name: string): Promise<void>;
  /**
   * Opens the collaborative draft of `entity` (null: of a new entity): shared
   * live with co-editors, kept out of the views until `commit` turns it into
   * one transaction. See docs/drafts.md.
   */
  openDraft(entity: EntityId | null, options?: OpenDraftOptions): Promise<Draft>;
  /**
   * Resolves once every local write has been decided by the server and this
   * replica holds everything the server held when it was called.
   */
  whenSynced(): Promise<void>;
  on<Name extends keyof ClientEvents>(name: Name, listener: (payload: ClientEvents[Name]) => void): () => void;
  close(): Promise<void>;
}
