/**
 * The sync server without its network: the log, the sessions and the hooks,
 * taking connections through the `Transport` interface. `createServer` puts
 * WebSockets in front of it; the property tests put a simulated network.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { Storage } from '../../storage/contract.js';
import { resolveEid } from '../datascript/index.js';
import { Emitter } from '../emitter.js';
import type { ProtocolLimits } from '../protocol/index.js';
import { CloseCode, DEFAULT_LIMITS, frameLimitsInvalid } from '../protocol/index.js';
import type { Schema, SchemaInput } from '../schema.js';
import { compileSchema, ENTITY_ID_ATTR } from '../schema.js';
import type { DraftLimits } from './drafts.js';
import { DEFAULT_DRAFT_LIMITS, DraftHub } from './drafts.js';
import { GroupFacts } from './group-facts.js';
import { Interest } from './interest.js';
import type { Appended, WriteCheck } from './log.js';
import { ServerLog } from './log.js';
import type { CompiledReadRule, Permissions, ReadRule } from './permissions.js';
import { compileReadRule, ruleFor } from './permissions.js';
import type { SessionHooks } from './session.js';
import { Session } from './session.js';
import type { ConnectionInfo, Transport } from './transport.js';
import type { VisibilitySource } from './visibility.js';

export interface CoreOptions<Identity> {
  readonly schema: SchemaInput;
  readonly storage: Storage;
  /** Resolves a connecting client's identity from its token; null refuses the connection. */
  readonly authenticate?: (token: string | null, info: ConnectionInfo) => Identity | null | Promise<Identity | null>;
  /** A stable key for an identity (replica ids are bound to it); JSON of the identity by default. */
  readonly identityKey?: (identity: Identity) => string;
  /**
   * Who may read and write what. Required: nothing is readable or writable
   * unless a rule says so; pass `allowAll` to allow everything, explicitly.
   */
  readonly permissions: Permissions<Identity>;
  /** A further check on each whole transaction, after the write rules; true, or a reason to refuse. */
  readonly canWrite?: WriteCheck<Identity>;
  /** When an identity's credentials expire (ms since the epoch); by default its `exp` claim (s). */
  readonly expiresAt?: (identity: Identity) => number | undefined;
  readonly limits?: Partial<ProtocolLimits>;
  /** Bounds on collaborative drafts (size, count per identity, when idle rooms unload). */
  readonly draftLimits?: Partial<DraftLimits>;
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
  /** Collaborative drafts, served with the y-websocket protocol. */
  readonly drafts: DraftHub<Identity>;
  readonly limits: ProtocolLimits;
  readonly events: Emitter<ServerEvents>;
  readonly connections: number;
  connect(transport: Transport, info: ConnectionInfo): Connection;
  /** Stops accepting, finishes in-flight commits, closes every session with 1001. */
  close(): Promise<void>;
}

function defaultIdentityKey(identity: unknown): string {
  if (typeof identity === 'string') return identity;
  const subject = (identity as { sub?: unknown } | null)?.sub;
  return typeof subject === 'string' ? subject : JSON.stringify(identity);
}

function defaultExpiry(identity: unknown): number | undefined {
  const exp = (identity as { exp?: unknown } | null)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

/** The write rules of `permissions`, per changed (entity, attribute), then the whole-transaction check. */
function writeCheck<Identity>(permissions: Permissions<Identity>, extra: WriteCheck<Identity> | undefined): WriteCheck<Identity> {
  return async (request) => {
    const seen = new Set<string>();
    for (const op of request.tx.ops) {
      const key = `${op.entity}\u0000${op.attribute}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const rule = ruleFor(permissions.write, op.attribute);
      if (rule === true) continue;
      if (rule === undefined || rule === false) return `no rule allows writing ${op.attribute}`;
      const verdict = rule.allow({
        identity: request.identity,
        entity: op.entity,
        eidBefore: resolveEid(request.dbBefore, [ENTITY_ID_ATTR, op.entity]) ?? undefined,
        eidAfter: resolveEid(request.dbAfter, [ENTITY_ID_ATTR, op.entity]) ?? undefined,
        attribute: op.attribute,
        dbBefore: request.dbBefore,
        dbAfter: request.dbAfter,
      });
      if (verdict !== true) return typeof verdict === 'string' ? verdict : `writing ${op.attribute} here is not allowed`;
    }
    return extra === undefined ? true : extra(request);
  };
}

/** What the fan-out engine reads of the log, with each attribute's read rule compiled once. */
export function visibilitySource<Identity>(
  log: ServerLog<Identity>,
  schema: Schema,
  read: Permissions<Identity>['read'],
): VisibilitySource {
  const rules = new Map<string, CompiledReadRule<unknown>>();
  return {
    projection: log.projection,
    get db() {
      return log.db;
    },
    attributes: [...schema.attributes.keys()],
    readRule(attribute) {
      let rule = rules.get(attribute);
      if (rule === undefined) {
        rule = compileReadRule(ruleFor(read, attribute) as ReadRule<unknown> | undefined);
        rules.set(attribute, rule);
      }
      return rule;
    },
    slot: (entity, attribute) => log.state.confirmed.slot(entity, attribute),
    attributesOf: (entity) => [...log.state.confirmed.attributesOf(entity)].map(([attribute]) => attribute),
    registers: () => log.state.confirmed.registers(),
  };
}

export async function createSyncCore<Identity>(options: CoreOptions<Identity>): Promise<SyncCore<Identity>> {
  const schema = compileSchema(options.schema);
  const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...options.limits };
  // Clients keep to the limits the server states, and refuse a welcome stating impossible ones.
  const invalid = frameLimitsInvalid(limits);
  if (invalid !== undefined) throw new DatsyncError(ErrorCode.InvalidSchema, `limits: ${invalid}`);
  const now = options.now ?? Date.now;
  const events = new Emitter<ServerEvents>();
  const onError = (error: unknown): void => {
    events.emit('error', error);
  };
  const permissions = options.permissions;
  if (
    typeof permissions !== 'object' ||
    permissions === null ||
    typeof permissions.read !== 'object' ||
    typeof permissions.write !== 'object'
  ) {
    throw new DatsyncError(ErrorCode.InvalidSchema, 'permissions are required: { read, write } rules, or allowAll');
  }
  const log = await ServerLog.open<Identity>({
    schema,
    storage: options.storage,
    canWrite: writeCheck(permissions, options.canWrite),
    now,
    maxDriftMs: options.maxDriftMs ?? 5 * 60 * 1000,
    onError,
    randomId: () => randomBytes(12).toString('base64url'),
  });
  const authenticate = options.authenticate ?? (() => ({ anonymous: true }) as Identity);
  const sessions = new Set<Session<Identity>>();
  const source = visibilitySource(log, schema, permissions.read);
  // Each group goes to the log-form sessions, and to the state-form sessions it may concern (found by index, the others untouched).
  const followers = new Set<Session<Identity>>();
  const interest = new Interest<Session<Identity>>(source);
  const fanOut = (group: readonly Appended[]): void => {
    for (const session of [...followers, ...interest.candidates(group, GroupFacts.of(group, source))]) {
      try {
        session.appended(group);
      } catch (error) {
        onError(error);
      }
    }
  };
  let listening: (() => void) | undefined;
  const hooks: SessionHooks<Identity> = {
    log,
    schema,
    limits,
    authenticate: async (token: string | null, info: ConnectionInfo) => authenticate(token, info),
    identityKey: options.identityKey ?? defaultIdentityKey,
    expiresAt: options.expiresAt ?? defaultExpiry,
    readsEverything: permissions.read['*'] === true && Object.keys(permissions.read).length === 1,
    source,
    enterState: (session, replica) => interest.enter(session, replica),
    followLog(session) {
      followers.add(session);
      return () => followers.delete(session);
    },
    onError,
    now,
  };
  const drafts = new DraftHub<Identity>({
    log,
    schema,
    storage: options.storage,
    permissions,
    readRule: (attribute) => hooks.source.readRule(attribute),
    authenticate: hooks.authenticate,
    identityKey: hooks.identityKey,
    expiresAt: hooks.expiresAt,
    limits: { ...DEFAULT_DRAFT_LIMITS, ...options.draftLimits },
    now,
    onError,
  });
  let closing: Promise<void> | undefined;
  return {
    log,
    drafts,
    limits,
    events,
    get connections() {
      return sessions.size;
    },
    connect(transport, info) {
      // Subscribed with the first connection: whatever listened to the log before (a benchmark's clock) hears each group first.
      listening ??= log.events.on('appended', fanOut);
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
        listening?.();
        await drafts.close();
        for (const session of sessions) session.close(CloseCode.GoingAway, 'server shutting down');
        sessions.clear();
        await options.storage.close();
      })();
      return closing;
    },
  };
}
