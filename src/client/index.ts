/**
 * datsync for the client: `createClient` and the types of its API.
 *
 * @module
 */
export type { Attr, EntityId, ErrorData, ReplicaId, TxId } from '../../crdt/index.js';
export { DatsyncError, ErrorCode } from '../../crdt/index.js';
export type { CommitBatch, DraftClosed, LogRecord, Meta, Snapshot, Storage } from '../../storage/contract.js';
export type { IndexedDbOptions } from '../../storage/indexeddb.js';
export { IndexedDbStorage, openIndexedDbStorage } from '../../storage/indexeddb.js';
export { MemoryStorage, MemoryStore } from '../../storage/memory.js';
export type { Datom, Db, Eid } from '../datascript/index.js';
/** Query and pull any database value (`asOf`, a report's `dbBefore`/`dbAfter`), typed. */
export { pull as pullDb, q as queryDb } from '../datascript/index.js';
export type { DraftValue } from '../drafts/document.js';
export type { ProjectedDatom } from '../projection/projection.js';
export type { AttributeInput, SchemaInput } from '../schema.js';
export { ENTITY_ID_ATTR } from '../schema.js';
export type {
  ClientEvents,
  ClientOptions,
  DatsyncClient,
  EntityLike,
  RejectedEvent,
  ScopeHandle,
  ScopeQuery,
  ScopeSpec,
  TransactOptions,
} from './api.js';
export { createClient } from './client.js';
export type { CommitOptions, CommitResult, Draft, DraftChange, DraftConflict, DraftPresence, DraftStatus } from './draft.js';
export type { OpenDraftOptions } from './drafts.js';
export type { AsOfPoint, ConflictInfo, HistoryItem } from './inspect.js';
export type { TxReport } from './replica.js';
export type { Unsubscribe } from './subscriptions.js';
export type { ConnectionStatus, Scheduler, SocketFactory, SocketShape } from './sync.js';
export type { EntityRef, TxData, TxForm } from './tx-forms.js';
