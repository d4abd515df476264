/** A bare protocol client, for tests that need to send exactly what they choose. */
import { WebSocket } from 'ws';
import type { ReplicaId } from '../../crdt/index.js';
import type { ClientMessage, Hello, ServerMessage } from '../../src/protocol/index.js';
import { decodeServerMessage, encodeClientMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';

export interface RawConnection {
  send(message: ClientMessage): void;
  sendBytes(bytes: Uint8Array | string): void;
  /** The next message from the server. */
  next(): Promise<ServerMessage>;
  /** The next message of a given type, skipping others. */
  nextOf<T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>>;
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function rawConnect(url: string, self: ReplicaId): Promise<RawConnection> {
  const socket = new WebSocket(url);
  socket.binaryType = 'nodebuffer';
  const queue: ServerMessage[] = [];
  const waiters: Array<(message: ServerMessage) => void> = [];
  socket.on('message', (data: Buffer) => {
    const message = decodeServerMessage(new Uint8Array(data), self);
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const next = (): Promise<ServerMessage> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => waiters.push(resolve));
  };
  return {
    send: (message) => socket.send(encodeClientMessage(message)),
    sendBytes: (bytes) => socket.send(bytes),
    next,
    nextOf: async <T extends ServerMessage['type']>(type: T) => {
      for (;;) {
        const message = await next();
        if (message.type === type) return message as Extract<ServerMessage, { type: T }>;
      }
    },
    closed,
    close: () => socket.close(),
  };
}

export function hello(replicaId: ReplicaId, extra: Partial<Hello> = {}): ClientMessage {
  const base: Hello = {
    type: 'hello',
    version: PROTOCOL_VERSION,
    replicaId,
    logId: null,
    position: 0,
    issuedUpTo: 0,
    schemaFingerprint: '',
    token: null,
    scopes: null,
  };
  return { ...base, ...extra, scopes: extra.scopes ?? null };
}

/**
 * Everything the server sends until it answers a ping sent now: the pong
 * comes after whatever the server sent before it, so this is a barrier, not
 * a wait. With `credit`, each batch is credited as it comes.
 */
export async function untilPong(raw: RawConnection, id: number, options: { readonly credit?: boolean } = {}): Promise<ServerMessage[]> {
  raw.send({ type: 'ping', id });
  const seen: ServerMessage[] = [];
  for (;;) {
    const message = await raw.next();
    if (message.type === 'pong' && message.id === id) return seen;
    seen.push(message);
    if (options.credit === true && 'batch' in message) raw.send({ type: 'credit', batch: message.batch });
  }
}
