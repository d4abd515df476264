/**
 * `createServer`: the datsync sync server on the `ws` package, on its own
 * port or attached to an existing Node HTTP server.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { Transaction } from '../../crdt/index.js';
import type { LogRecord, Storage } from '../../storage/contract.js';
import { SqliteStorage } from '../../storage/sqlite.js';
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

export interface ServerOptions<Identity> {
  readonly schema: SchemaInput;
  /** Where the log lives; SQLite at `./data/datsync.db` by default. */
  readonly storage?: Storage;
  /** Listen on this port (0 picks a free one)… */
  readonly port?: number;
  readonly host?: string;
  /** …or attach to this HTTP server (its upgrade requests on `path`). */
  readonly httpServer?: HttpServer;
  /** The WebSocket path (default `/sync`). */
  readonly path?: string;
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

export interface DatsyncServer {
  /** The port it listens on (when it opened one). */
  readonly port: number | undefined;
  /** The server's DataScript projection of its own log. */
  db(): Db;
  /** The last position of the log. */
  readonly head: number;
  /** Connected clients. */
  readonly connections: number;
  on<Name extends keyof ServerEvents>(name: Name, listener: (payload: ServerEvents[Name]) => void): () => void;
  /** Stops accepting, finishes in-flight commits, closes every socket with 1001, closes storage. */
  close(): Promise<void>;
}

class WsTransport implements Transport {
  private readonly socket: WebSocket;
  constructor(socket: WebSocket) {
    this.socket = socket;
  }
  send(frame: Uint8Array): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
  }
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
}

function connectionInfo(request: IncomingMessage): ConnectionInfo {
  const url = new URL(request.url ?? '/', 'http://localhost');
  return { remoteAddress: request.socket.remoteAddress, headers: request.headers, urlToken: url.searchParams.get('token') };
}

/**
 * Starts a sync server.
 *
 * @example
 * const server = await createServer({ schema, storage: new SqliteStorage('./data/datsync.db'), port: 8080 });
 * // clients: createClient({ schema, url: 'ws://localhost:8080/sync' })
 */
export async function createServer<Identity = { readonly anonymous: true }>(options: ServerOptions<Identity>): Promise<DatsyncServer> {
  const schema = compileSchema(options.schema);
  const storage = options.storage ?? new SqliteStorage('./data/datsync.db');
  const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const events = new Emitter<ServerEvents>();
  const onError = (error: unknown): void => {
    events.emit('error', error);
  };
  const log = await ServerLog.open<Identity>({
    schema,
    storage,
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
  const path = options.path ?? '/sync';
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes });
  let accepting = true;
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const session = new Session<Identity>(new WsTransport(socket), connectionInfo(request), hooks);
    sessions.add(session);
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) session.onText();
      else session.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    socket.on('close', () => {
      session.closed();
      sessions.delete(session);
    });
    socket.on('error', () => undefined);
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return; // another handler (drafts, the app) may take it
    if (!accepting) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  const http =
    options.httpServer ??
    createHttpServer((_request, response) => {
      response.writeHead(404).end();
    });
  http.on('upgrade', onUpgrade);
  let port: number | undefined;
  if (options.httpServer === undefined) {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    port = (http.address() as AddressInfo).port;
  } else if (http.listening) port = (http.address() as AddressInfo | null)?.port;
  let closing: Promise<void> | undefined;
  return {
    get port() {
      return port;
    },
    db: () => log.db,
    get head() {
      return log.head;
    },
    get connections() {
      return sessions.size;
    },
    on: (name, listener) => events.on(name, listener),
    close: () => {
      closing ??= (async () => {
        accepting = false;
        http.off('upgrade', onUpgrade);
        if (options.httpServer === undefined) http.close();
        await log.close();
        for (const session of sessions) session.close(CloseCode.GoingAway, 'server shutting down');
        wss.close();
        await storage.close();
      })();
      return closing;
    },
  };
}
