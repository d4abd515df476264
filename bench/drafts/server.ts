/**
 * The server of a drafts benchmark run, in a process of its own so that its
 * event loop is not the editors' (they run in the parent). `argv[2]` picks
 * the peer:
 *
 * - `datsync`: `createServer` as an application runs it: drafts served by
 *   the draft hub at `/drafts/<key>` beside the sync, HS256 tokens
 *   (`tokenAuthenticator`, the secret in `argv[3]`) and permissions with a
 *   write rule, on in-memory storage.
 * - `yjs`: the plain peer, what y-websocket's own server does: one `YRoom`
 *   (src/server/yjs-room.ts, the y-websocket protocol room the hub builds
 *   on) per room name, behind a `ws` WebSocketServer, nothing around it.
 *
 * It sends `{ kind: 'ready', port }` once listening, and exits on
 * `{ kind: 'stop' }` or when the parent goes away.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import type { Permissions } from '../../src/server/permissions.js';
import { createServer } from '../../src/server/server.js';
import type { TokenIdentity } from '../../src/server/tokens.js';
import { tokenAuthenticator } from '../../src/server/tokens.js';
import { YRoom } from '../../src/server/yjs-room.js';
import { MemoryStorage } from '../../storage/memory.js';
import { SCHEMA } from './workload.js';

export type ServerKind = 'datsync' | 'yjs';

export type ServerReply = { readonly kind: 'ready'; readonly port: number } | { readonly kind: 'stopped' };

/** Editors may write tasks; everyone signed in may read them. */
const permissions: Permissions<TokenIdentity> = {
  read: { 'task/*': true },
  write: { 'task/*': { allow: ({ identity }) => identity.sub.startsWith('editor-') || 'only editors write tasks' } },
};

async function datsyncServer(secret: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = await createServer<TokenIdentity>({
    schema: SCHEMA,
    storage: new MemoryStorage(),
    port: 0,
    permissions,
    authenticate: tokenAuthenticator({ secret }),
  });
  return { port: server.port as number, close: () => server.close() };
}

async function yjsServer(): Promise<{ port: number; close(): Promise<void> }> {
  const rooms = new Map<string, YRoom>();
  const http = createHttpServer((_request, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const name = (request.url ?? '/').slice(1).split('?')[0] ?? '';
    let room = rooms.get(name);
    if (room === undefined) {
      room = new YRoom(new Y.Doc());
      rooms.set(name, room);
    }
    const member = {
      send: (data: Uint8Array) => {
        if (socket.readyState === socket.OPEN) socket.send(data);
      },
      close: (code: number, reason: string) => socket.close(code, reason),
    };
    const joined = room;
    joined.join(member, false);
    socket.on('message', (data: Buffer) => joined.receive(member, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    socket.on('close', () => joined.leave(member));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  const server = kind === 'datsync' ? await datsyncServer(process.argv[3] ?? '') : await yjsServer();
  process.on('message', (message: { kind?: string }) => {
    if (message.kind !== 'stop') return;
    void server.close().then(() => {
      process.send?.({ kind: 'stopped' } satisfies ServerReply, () => process.exit(0));
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ kind: 'ready', port: server.port } satisfies ServerReply);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
