/**
 * datsync for the server: `createServer` and the storage it runs on.
 *
 * @module
 */
export type { Attr, EntityId, ErrorData, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
export { DatsyncError, ErrorCode } from '../../crdt/index.js';
export type { AppendTurn, CommitBatch, LogRecord, Meta, Rejection, SharedLog, Snapshot, Storage } from '../../storage/contract.js';
export { MemoryStorage, MemoryStore } from '../../storage/memory.js';
export type { PostgresOptions } from '../../storage/postgres.js';
export { PostgresStorage } from '../../storage/postgres.js';
export { SqliteStorage } from '../../storage/sqlite.js';
export type { Datom, Db, Eid } from '../datascript/index.js';
/** Query and pull the databases hooks receive (`dbBefore`/`dbAfter` of a write rule, `server.db()`). */
export { pull as pullDb, q as queryDb } from '../datascript/index.js';
export type { ProjectedDatom } from '../projection/projection.js';
export type { ProtocolLimits } from '../protocol/index.js';
export { CloseCode, DEFAULT_LIMITS, PROTOCOL_VERSION } from '../protocol/index.js';
export type { AttributeInput, SchemaInput } from '../schema.js';
export type { ServerEvents } from './core.js';
export type { Outcome, WriteCheck, WriteRequest } from './log.js';
export type { Permissions, ReadContext, ReadRule, WriteContext, WriteRule } from './permissions.js';
export { allowAll } from './permissions.js';
export type { ScopeDef, ScopeInput } from './scopes.js';
export type { DatsyncServer, ServerOptions } from './server.js';
export { createServer } from './server.js';
export type { TokenIdentity, TokenOptions } from './tokens.js';
export { signToken, tokenAuthenticator } from './tokens.js';
export type { ConnectionInfo } from './transport.js';
