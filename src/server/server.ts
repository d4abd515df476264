import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { Storage } from '../../storage/contract.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import type { Db } from '../datascript/index.js';
import { payloadCap } from '../protocol/index.js';
import type { CoreOptions, ServerEvents } from './core.js';
import { createSyncCore } from './core.js';
import type { ConnectionInfo, Transport } from './transport.js';

export interface ServerOptions<Identity> extends Omit<CoreOptions<Identity>, 'storage'> {
  /** Where the log lives; SQLite at `./data/datsync.db` by default. */
  readonly storage?: Storage;
  /** Listen on this port (0 picks a free one)… */
  readonly port?: number;
  readonly host?: string;
  /** …or attach to this HTTP server (its upgrade requests on `path`). */
  readonly httpServer?: HttpServer;
  /** The WebSocket path (default `/sync`). */
  readonly path?: string;
  /** Where drafts are served with the y-websocket protocol: `<draftsPath>/<key>` (default `/drafts`). */
  readonly draftsPath?: string;
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
  const storage = options.storage ?? new SqliteStorage('./data/datsync.db');
  const core = await createSyncCore<Identity>({ ...options, storage });
  const log = core.log;
  const path = options.path ?? '/sync';
  // A margin above the frame limit: a frame a little over it gets a too-large error before the close.
  const wss = new WebSocketServer({ noServer: true, maxPayload: payloadCap(core.limits.maxFrameBytes) });
  let accepting = true;
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection = core.connect(new WsTransport(socket), connectionInfo(request));
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) connection.text();
      else connection.frame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    socket.on('close', () => connection.closed());
    socket.on('error', () => undefined);
  });
  const draftsPrefix = `${options.draftsPath ?? '/drafts'}/`;
  const draftSockets = new WebSocketServer({ noServer: true, maxPayload: core.limits.maxFrameBytes });
  draftSockets.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const key = decodeURIComponent(url.pathname.slice(draftsPrefix.length));
    socket.binaryType = 'nodebuffer';
    const roomSocket = {
      send: (data: Uint8Array) => {
        if (socket.readyState === socket.OPEN) socket.send(data);
      },
      close: (code: number, reason: string) => socket.close(code, reason),
    };
    const connection = core.drafts.connect(roomSocket, connectionInfo(request), key, url.searchParams);
    socket.on('message', (data: Buffer) => connection.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    socket.on('close', () => connection.closed());
    socket.on('error', () => undefined);
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const target = url.pathname === path ? wss : url.pathname.startsWith(draftsPrefix) ? draftSockets : undefined;
    if (target === undefined) return; // another handler (the app) may take it
    if (!accepting) {
      socket.destroy();
      return;
    }
    target.handleUpgrade(request, socket, head, (ws) => target.emit('connection', ws, request));
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
      return core.connections;
    },
    on: (name, listener) => core.events.on(name, listener),
    close: () => {
      closing ??= (async () => {
        accepting = false;
        http.off('upgrade', onUpgrade);
        if (options.httpServer === undefined) http.close();
        await core.close();
        wss.close();
        draftSockets.close();
      })();
      return closing;
    },
  };
}
