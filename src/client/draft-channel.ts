/**
 * One draft's connection to the server, speaking the standard y-websocket
 * protocol (y-protocols sync and awareness over lib0 framing), with the
 * client's reconnect policy. Our own rather than y-websocket's provider so
 * that credentials are fresh at each connect and the server's draft close
 * codes end it instead of starting endless reconnects.
 *
 * @module
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import type * as Y from 'yjs';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import { CloseCode } from '../protocol/index.js';
import type { BackoffOptions } from './backoff.js';
import { backoffDelay } from './backoff.js';
import type { Scheduler, SocketFactory, SocketLike } from './sync.js';
import { toBytes } from './sync.js';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;
const OPEN = 1;

export type ChannelStatus = 'offline' | 'connecting' | 'live';

export interface ChannelOptions extends BackoffOptions {
  /** The full URL, query parameters included, built at each connect (fresh credentials). */
  url(): Promise<string>;
  readonly WebSocket?: SocketFactory | undefined;
  readonly scheduler: Scheduler;
}

export interface ChannelEvents {
  status(status: ChannelStatus): void;
  /** The server ended the channel for good: the draft closed (code 4410), or it refused us. */
  ended(code: number, reason: string): void;
  error(error: unknown): void;
}

/** Close codes after which reconnecting cannot help. */
const endCodes = new Set<number>([
  CloseCode.DraftBadRequest,
  CloseCode.DraftForbidden,
  CloseCode.DraftNotFound,
  CloseCode.DraftClosed,
  CloseCode.DraftTooLarge,
  CloseCode.DraftLimit,
]);

export class DraftChannel {
  private readonly doc: Y.Doc;
  private readonly awareness: awarenessProtocol.Awareness;
  private readonly options: ChannelOptions;
  private readonly events: ChannelEvents;
  private socket: SocketLike | undefined;
  private current: ChannelStatus = 'offline';
  private stopped = true;
  private attempts = 0;
  private retry: unknown;
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return;
    this.sendSync((encoder) => syncProtocol.writeUpdate(encoder, update));
  };
  private readonly onAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin !== 'local') return;
    this.sendAwareness([...added, ...updated, ...removed]);
  };

  constructor(doc: Y.Doc, awareness: awarenessProtocol.Awareness, options: ChannelOptions, events: ChannelEvents) {
    this.doc = doc;
    this.awareness = awareness;
    this.options = options;
    this.events = events;
  }

  get status(): ChannelStatus {
    return this.current;
  }

  private setStatus(status: ChannelStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.events.status(status);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.doc.on('update', this.onUpdate);
    this.awareness.on('update', this.onAwareness);
    void this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.doc.off('update', this.onUpdate);
    this.awareness.off('update', this.onAwareness);
    if (this.retry !== undefined) this.options.scheduler.clearTimeout(this.retry);
    this.retry = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) {
      // Tell the others we left before the socket goes.
      awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], 'local');
      socket.close(CloseCode.Normal, 'draft closed by the client');
    }
    this.forgetOthers();
    this.setStatus('offline');
  }

  private async connect(): Promise<void> {
    this.retry = undefined;
    if (this.stopped) return;
    const Socket = this.options.WebSocket ?? (globalThis as { WebSocket?: SocketFactory }).WebSocket;
    if (Socket === undefined) {
      this.events.error(new DatsyncError(ErrorCode.Unavailable, 'no WebSocket implementation: pass one as the WebSocket option'));
      return;
    }
    this.setStatus('connecting');
    let socket: SocketLike;
    try {
      const url = await this.options.url();
      if (this.stopped) return;
      socket = new Socket(url) as unknown as SocketLike;
    } catch (error) {
      this.events.error(error);
      this.scheduleReconnect();
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.sendSync((encoder) => syncProtocol.writeSyncStep1(encoder, this.doc));
      if (this.awareness.getLocalState() !== null) this.sendAwareness([this.doc.clientID]);
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      const bytes = toBytes(event.data);
      if (bytes === undefined) return;
      try {
        this.receive(bytes);
      } catch (error) {
        this.events.error(error);
        socket.close(CloseCode.ProtocolError, 'client could not read a draft message');
      }
    };
    socket.onclose = (event) => this.closed(socket, event.code, event.reason);
    socket.onerror = () => undefined; // onclose follows
  }

  private receive(bytes: Uint8Array): void {
    const decoder = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_SYNC) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      const kind = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this);
      if (encoding.length(encoder) > 1) this.socket?.send(encoding.toUint8Array(encoder));
      // The server's answer to our state vector: we hold everything it has.
      if (kind === syncProtocol.messageYjsSyncStep2) {
        this.attempts = 0;
        this.setStatus('live');
      }
    } else if (type === MESSAGE_AWARENESS) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this);
    } else if (type === MESSAGE_QUERY_AWARENESS) {
      this.sendAwareness([...this.awareness.getStates().keys()]);
    }
  }

  private sendSync(write: (encoder: encoding.Encoder) => void): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== OPEN) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    write(encoder);
    socket.send(encoding.toUint8Array(encoder));
  }

  private sendAwareness(clients: readonly number[]): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== OPEN || clients.length === 0) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...clients]));
    socket.send(encoding.toUint8Array(encoder));
  }

  /** Others' presence is unknown while we are away. */
  private forgetOthers(): void {
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    if (others.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
  }

  private closed(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (!this.stopped && endCodes.has(code)) {
      // Heard before the status changes, so that no one takes the end for a passing disconnect.
      this.events.ended(code, reason);
      this.stop();
      return;
    }
    this.forgetOthers();
    this.setStatus('offline');
    if (this.stopped) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry !== undefined) return;
    const delay = backoffDelay(this.attempts, this.options, () => this.options.scheduler.random());
    this.attempts = Math.min(this.attempts + 1, 30);
    this.retry = this.options.scheduler.setTimeout(() => void this.connect(), delay);
  }
}
