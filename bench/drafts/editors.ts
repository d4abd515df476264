/**
 * The server of each peer, in a child process (bench/drafts/server.ts) that
 * serves every run of the benchmark, and the editors of one run, in this
 * process, on a draft (a room) of their own.
 *
 * - datsync: `createClient` clients, each signed in with its own token, each
 *   `openDraft` on the same task; an editor types into `draft.text(field)`.
 * - yjs: stock `WebsocketProvider`s from the y-websocket package on one room,
 *   each with its own Y.Doc; an editor types into a Y.Text of it. Like the
 *   drafts, they have no presence (no awareness state) and sync only through
 *   the server (`disableBc`: no BroadcastChannel between providers of one
 *   process).
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { EntityId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import { signToken } from '../../src/server/tokens.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { ServerKind, ServerReply } from './server.js';
import { FIELD, INITIAL_TEXT, SCHEMA } from './workload.js';

export interface Editor {
  readonly doc: Y.Doc;
  /** The field's shared text: where this editor types, and its screen model. */
  readonly text: Y.Text;
}

export interface Editors {
  readonly editors: readonly Editor[];
  close(): Promise<void>;
}

export interface PeerServer {
  /** Opens `count` editors on a draft no run used before. */
  editors(count: number): Promise<Editors>;
  /** CPU the server process used so far, ms. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));

/** Forks the server with this process's node flags (tsx's loader), resolving once it listens. */
async function startChild(kind: ServerKind, secret: string): Promise<{ port: number; cpu(): Promise<number>; stop(): Promise<void> }> {
  const child: ChildProcess = fork(serverPath, [kind, secret], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Extract<ServerReply, { kind: 'ready' }>>((resolve, reject) => {
    child.once('message', (reply: ServerReply) => (reply.kind === 'ready' ? resolve(reply) : reject(new Error('server not ready'))));
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited with ${code}`)));
  });
  return {
    port: ready.port,
    cpu: () => cpuOf(child.pid as number),
    stop: async () => {
      child.send({ kind: 'stop' });
      await exited;
    },
  };
}

/** CPU time a process used so far (Linux: /proc), ms. */
async function cpuOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function waitFor(check: () => boolean, subscribe: (listener: () => void) => () => void): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = subscribe(() => {
      if (!check()) return;
      stop();
      resolve();
    });
  });
}

/** datsync: each editor a client signed in with its own token; each run drafts a task of its own. */
export async function datsyncServer(): Promise<PeerServer> {
  const secret = [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const server = await startChild('datsync', secret);
  const url = `ws://127.0.0.1:${server.port}/sync`;
  return {
    cpu: server.cpu,
    stop: server.stop,
    editors: async (count) => {
      const clients: Client[] = [];
      for (let i = 0; i < count; i++) {
        const token = await signToken({ sub: `editor-${i}` }, { secret, expiresIn: '1h' });
        clients.push((await createClient({ schema: SCHEMA, storage: new MemoryStorage(), url, token, WebSocket })) as Client);
      }
      const first = clients[0] as Client;
      await waitFor(
        () => first.status === 'live',
        (listener) => first.on('status', listener),
      );
      const created = await first.transact([{ ':db/id': 't', [FIELD]: INITIAL_TEXT }], { confirmed: true });
      const entity = created.entityIds.t as EntityId;
      await Promise.all(clients.map((c) => c.whenSynced()));
      const editors: Editor[] = [];
      for (const client of clients) {
        const draft = await client.openDraft(entity, { fields: [FIELD] });
        editors.push({ doc: draft.doc, text: draft.text(FIELD) });
      }
      return {
        editors,
        close: async () => {
          for (const client of clients) await client.close();
        },
      };
    },
  };
}

/** Plain Yjs: each editor a stock provider with a Y.Doc; each run a room of its own. */
export async function yjsServer(): Promise<PeerServer> {
  const server = await startChild('yjs', '');
  let runs = 0;
  return {
    cpu: server.cpu,
    stop: server.stop,
    editors: async (count) => {
      // Each provider in Node listens for the process's exit.
      process.setMaxListeners(Math.max(process.getMaxListeners(), count + 10));
      const room = `draft-${++runs}`;
      const providers: WebsocketProvider[] = [];
      const editors: Editor[] = [];
      for (let i = 0; i < count; i++) {
        const doc = new Y.Doc();
        const provider = new WebsocketProvider(`ws://127.0.0.1:${server.port}`, room, doc, {
          disableBc: true,
          WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        });
        provider.awareness.setLocalState(null);
        await waitFor(
          () => provider.synced,
          (listener) => {
            provider.on('sync', listener);
            return () => provider.off('sync', listener);
          },
        );
        // The first editor brings the field, as the draft hub does for datsync.
        if (i === 0) doc.getMap('fields').set(FIELD, new Y.Text(INITIAL_TEXT));
        const text = doc.getMap('fields').get(FIELD);
        if (!(text instanceof Y.Text)) throw new Error('the Yjs room lost the field');
        providers.push(provider);
        editors.push({ doc, text });
      }
      return {
        editors,
        close: async () => {
          for (const provider of providers) {
            provider.destroy();
            provider.doc.destroy();
          }
        },
      };
    },
  };
}
