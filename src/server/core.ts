/**
 * The sync server without its network: the log, the sessions and the hooks,
 * taking connections through the `Transport` interface. `createServer` puts
 * WebSockets in front of it; the property tests put a simulated network.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from '../../crdt/index.js';
import type { LogRecord, Storage } from '../../storage/contract.js';
import type { Db } from '../datascript/index.js';
import { Emitter } from '../emitter.js';
import type { ProtocolLimits } from '../protocol/index.js';
import { CloseCode, DEFAULT_LIMITS } from '../protocol/index.js';
import type { SchemaInput } from '../schema.js';
import { compileSchema } from '../schema.js';
import type { WriteCheck } from './log.js';
import { ServerLog } from './log.js';
import { Session } from './session.js';
import type { ConnectionInfo, Transport } from './transport.js';

export interface CoreOptions<Identity> {
  readonly schema: SchemaInput;
  readonly storage: Storage;
  /** Resolves a connecting client's identity from its token; null refuses the connection. */
  readonly authenticate?: (token: string | null, info: ConnectionInfo) => Identity | null | Promise<Identity | null>;
  /** A stable key for an identity (replica ids are bound to it); JSON of the identity by default. */
  readonly identityKey?: (identity: Identity) => string;
  /** Decides whether a transaction may be written; true, or a reason to refuse. */
  readonly canWrite?: WriteCheck<Identity>;
  /** What of each log record an identity may see (default: everything). */
  readonly visible?: (identity: Identity, record: LogRecord, db: Db) => Transaction | null;
  readonly limits?: Partial<ProtocolLimits>;
  /** How far ahead of the server's clock a transaction may be stamped (default 5 minutes). */
  readonly maxDriftMs?: number;
  readonly now?: () => number;
}

export interface ServerEvents extends Record<string, unknown> {
  error: unknown;
}

/** A connection's handle: feed it what arrives. */
export interface Connection {
  frame(bytes: Uint8Array): void;
  text(): void;
  closed(): void;
}

export interface SyncCore<Identity> {
  readonly log: ServerLog<Identity>;
  readonly limits: ProtocolLimits;
  readonly events: Emitter<ServerEvents>;
  readonly connections: number;
  connect(transport: Transport, info: ConnectionInfo): Connection;
  /** Stops accepting, finishes in-flight commits, closes every session with 1001. */
  close(): Promise<void>;
}

export async function createSyncCore<Identity>(options: CoreOptions<Identity>): Promise<SyncCore<Identity>> {
  const schema = compileSchema(options.schema);
  const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const events = new Emitter<ServerEvents>();
  const onError = (error: unknown): void => {
    events.emit('error', error);
  };
  const log = await ServerLog.open<Identity>({
    schema,
    storage: options.storage,
    canWrite: options.canWrite ?? (() => true),
    now,
    maxDriftMs: options.maxDriftMs ?? 5 * 60 * 1000,
    onError,
    randomId: () => randomBytes(12).toString('base64url'),
  });
  const authenticate = options.authenticate ?? (() => ({ anonymous: true }) as Identity);
  const visible = options.visible ?? ((_identity: Identity, record: LogRecord) => record.tx);
  const sessions = new Set<Session<Identity>>();
  const hooks = {
    log,
    limits,
    authenticate: async (token: string | null, info: ConnectionInfo) => authenticate(token, info),
    identityKey: options.identityKey ?? ((identity: Identity) => (typeof identity === 'string' ? identity : JSON.stringify(identity))),
    visible: (identity: Identity, record: LogRecord) => visible(identity, record, log.db),
    onError,
    now,
  };
  let closing: Promise<void> | undefined;
  return {
    log,
    limits,
    events,
    get connections() {
      return sessions.size;
    },
    connect(transport, info) {
      const session = new Session<Identity>(transport, info, hooks);
      if (closing !== undefined) session.close(CloseCode.GoingAway, 'server shutting down');
      else sessions.add(session);
      return {
        frame: (bytes) => session.onFrame(bytes),
        text: () => session.onText(),
        closed: () => {
          session.closed();
          sessions.delete(session);
        },
      };
    },
    close() {
      closing ??= (async () => {
        await log.close();
        for (const session of sessions) session.close(CloseCode.GoingAway, 'server shutting down');
        sessions.clear();
        await options.storage.close();
      })();
      return closing;
    },
  };
}
