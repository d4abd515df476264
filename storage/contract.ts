/**
 * The storage contract every adapter implements (memory, IndexedDB, SQLite,
 * PostgreSQL), and that both the client replica and the server log use.
 *
 * Everything a write changes goes through `commit`, which is atomic: after a
 * crash either all of a batch is stored or none of it. `commit` resolves only
 * once the batch is durable, so a caller never acknowledges what it could
 * lose.
 *
 * The log is append-only and totally ordered by `position`. On the server it
 * is the authoritative log; on a client it holds the transactions the server
 * confirmed, in the server's order (positions are the server's). Each
 * record keeps its origin dot, so "every record this version vector lacks"
 * can be read through an index on (replica, counter).
 *
 * @module
 */
import type { ReplicaId, Transaction, TxId, VersionVector } from '../crdt/index.js';

export interface LogRecord {
  /** Position in the total order; strictly increasing, starting at 1. */
  readonly position: number;
  readonly tx: Transaction;
}

/** A transaction the server refused, remembered so a resend gets the same answer. */
export interface Rejection {
  readonly txId: TxId;
  readonly code: string;
  readonly message: string;
  /** How many ops the refused transaction held (its dots stay void); 1 when absent. */
  readonly ops?: number;
}

/** Small values kept beside the data; every key is optional. */
export interface Meta {
  /** This replica's id (client) or the log's id (server): minted once, lost with the storage. */
  readonly replicaId?: ReplicaId;
  /** The last dot counter this replica issued. */
  readonly issuedUpTo?: number;
  /** The last hybrid-logical timestamp issued or seen. */
  readonly hlc?: number;
  /** Client: the last server log position received. */
  readonly serverPosition?: number;
  /** The identity of the server log this client follows (a reset log has a new one). */
  readonly logId?: string;
  readonly schemaFingerprint?: string;
  /** Server: per replica, every counter up to which transactions were decided (accepted or rejected). */
  readonly decided?: Readonly<Record<string, number>>;
  /** Client: the scopes it declared (null: everything it may read). */
  readonly scopes?: unknown;
}

export interface Snapshot {
  /** The encoded state (crdt `encodeState`) after applying the log up to `position`. */
  readonly state: Uint8Array;
  readonly position: number;
}

/** One atomic write. Every field is optional; an empty batch is a no-op. */
export interface CommitBatch {
  /**
   * Appended to the log, positions strictly increasing after the current last
   * one. A record already in the log at the same position (the same
   * transaction appended twice, as two tabs sharing one database may) is
   * skipped; any other record at or below the last position is refused.
   */
  readonly log?: readonly LogRecord[];
  /** Local transactions waiting for the server, appended in order. */
  readonly outboxAdd?: readonly Transaction[];
  /** Outbox entries the server has decided (accepted or rejected). */
  readonly outboxRemove?: readonly TxId[];
  readonly rejections?: readonly Rejection[];
  /** Merged into the stored meta. */
  readonly meta?: Meta;
  /** Server: binds replica ids to the identity that first wrote under them. */
  readonly owners?: ReadonlyArray<{ readonly replica: ReplicaId; readonly owner: string }>;
}

/** Why a draft ended, kept where it was (a tombstone) so late editors learn it. */
export interface DraftClosed {
  /** `superseded`: the peer's draft ended and a newer one is open (why it ended is no longer known). */
  readonly reason: 'committed' | 'discarded' | 'superseded';
  /** The transaction a commit produced (none when the draft changed nothing). */
  readonly txId?: string;
  /** The entity a commit wrote (a new entity's id is known only then). */
  readonly entity?: string;
  /** Who closed it, as its presence named them. */
  readonly by?: string;
  readonly at: number;
}

/**
 * A collaborative draft (docs/drafts.md) kept beside the data: the server
 * keeps every open draft and a tombstone of each closed one, a client the
 * drafts it edits (so they survive reloads and offline edits).
 */
export interface StoredDraft {
  /** An entity id, or "new-…" for a draft of an entity that does not exist yet. */
  readonly key: string;
  /** Which draft of that key this is; each commit or discard ends one (0: opened offline, not yet shared). */
  readonly generation: number;
  /** The Yjs document (`Y.encodeStateAsUpdate`); empty once closed. */
  readonly state: Uint8Array;
  /** Server: the identity that opened this generation (drafts are counted per identity). */
  readonly owner?: string;
  readonly closed?: DraftClosed;
  /** ms since the epoch. */
  readonly updatedAt: number;
}

/** A stored draft without its document. */
export type DraftSummary = Omit<StoredDraft, 'state'> & { readonly bytes: number };

/** A change another process or tab made to the same storage (see `Storage.watch`). */
export type ExternalChange =
  | { readonly kind: 'outbox-added'; readonly txs: readonly Transaction[] }
  | { readonly kind: 'log-appended'; readonly after: number }
  | { readonly kind: 'outbox-removed'; readonly txIds: readonly TxId[]; readonly rejections: readonly Rejection[] };

/**
 * The exclusive right to append to a log several server processes share
 * (see `SharedLog`). While a turn is held no one else appends, so what is
 * decided in it is judged against the log exactly as it stands at `head`.
 */
export interface AppendTurn {
  /** The last log position as the turn began: every record up to it is committed and readable. */
  readonly head: number;
  /**
   * Records after the position `turn` was given, up to `head`, read with the
   * lock (all of them, or the first of them: the caller reads the rest).
   */
  readonly records: readonly LogRecord[];
  /**
   * Stores `batch` (its log records follow `head`) and ends the turn: atomic
   * and durable as `Storage.commit`. When the connection broke while the
   * commit was on its way, whether it took is unknown: the error then
   * carries `details.outcome === 'unknown'`.
   */
  commit(batch: CommitBatch): Promise<void>;
  /** Ends the turn without writing. */
  release(): Promise<void>;
}

/**
 * A log several server processes append to in one total order: appends
 * take turns, and each process hears of what the others committed.
 */
export interface SharedLog {
  /** Waits for the right to append (see `AppendTurn`); `after`: the last position the caller holds. */
  turn(after: number): Promise<AppendTurn>;
  /**
   * Calls `listener` with the new head when another process may have
   * appended, and with undefined when notices may have been missed (after a
   * reconnect, and now and then for safety): then read the log to be sure.
   */
  watch(listener: (head: number | undefined) => void): () => void;
}

export interface Storage {
  /** A short name for messages, such as "indexeddb:tasks" or "sqlite:./data/datsync.db". */
  readonly name: string;
  /** Present when several server processes share this log (PostgreSQL). */
  readonly shared?: SharedLog;
  /**
   * Listens for changes other tabs or processes make to the same storage
   * (IndexedDB shared between tabs); adapters that cannot be shared omit it.
   */
  watch?(listener: (change: ExternalChange) => void): () => void;
  commit(batch: CommitBatch): Promise<void>;
  meta(): Promise<Meta>;
  /** Up to `limit` log records with position > `after`, in order. */
  readLog(after: number, limit: number): Promise<LogRecord[]>;
  /**
   * Up to `limit` log records (position > `after`) whose origin dot `vector`
   * does not cover, in order. Adapters answer through an index on (replica, counter).
   */
  readLacking(vector: VersionVector, after: number, limit: number): Promise<LogRecord[]>;
  /** The position of the last log record (0 when empty). */
  lastPosition(): Promise<number>;
  /** The log record holding this transaction, if any. */
  findTransaction(txId: TxId): Promise<LogRecord | undefined>;
  rejection(txId: TxId): Promise<Rejection | undefined>;
  /**
   * The highest dot counter of `replica` the log holds or a rejection names:
   * every transaction of that replica up to it has been decided.
   */
  decided(replica: ReplicaId): Promise<number>;
  /** The identity a replica id is bound to (server), if any. */
  replicaOwner(replica: ReplicaId): Promise<string | undefined>;
  /** Local transactions not yet decided by the server, in the order added. */
  outbox(): Promise<Transaction[]>;
  /** Stores a snapshot; log records at or before its position may then be pruned by `compact`. */
  putSnapshot(snapshot: Snapshot): Promise<void>;
  snapshot(): Promise<Snapshot | undefined>;
  /** Drops log records at or before `position` (they must be covered by a snapshot). */
  compact(position: number): Promise<void>;
  /**
   * Forgets the log, the snapshot and the rejections, keeping the outbox and
   * the meta: a client whose server log was replaced (a new log id) starts
   * over from position 0 with its own unsent writes intact.
   */
  resetLog(): Promise<void>;
  /** Stores a draft, replacing the one under the same key (drafts are not part of any commit batch). */
  putDraft(draft: StoredDraft): Promise<void>;
  draft(key: string): Promise<StoredDraft | undefined>;
  deleteDraft(key: string): Promise<void>;
  /** Every stored draft, without documents. */
  drafts(): Promise<DraftSummary[]>;
  close(): Promise<void>;
}
