/**
 * One shared Yjs document served with the standard y-websocket protocol
 * (y-protocols sync and awareness), so the stock `WebsocketProvider` talks
 * to it. Connections may be read-only: their document updates are ignored
 * (their presence still counts). Updates are bounded in size and a bad one
 * closes only the connection that sent it.
 *
 * Drafts (`drafts.ts`) add authentication, permissions and a lifecycle
 * around it; on its own it is the plain peer the benchmarks compare with.
 *
 * @module
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;

/** What a room needs of a connection. */
export interface RoomSocket {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
}

interface Member {
  readonly readOnly: boolean;
  /** Awareness client ids this connection speaks for (removed when it leaves). */
  readonly controls: Set<number>;
}

export interface RoomOptions {
  /** Largest message a connection may send (bytes). */
  readonly maxMessageBytes?: number;
  /** Called with the encoded update after every change (for persistence). */
  readonly onUpdate?: (update: Uint8Array) => void;
  /** Called when a member's message was refused (too large, malformed). */
  readonly onRefused?: (reason: string) => void;
  /** Asked before a member's document update is applied: a reason refuses it (and closes that member). */
  readonly admitUpdate?: (update: Uint8Array) => { readonly code: number; readonly reason: string } | null;
}

export const ROOM_CLOSE_REFUSED = 4400;

export class YRoom {
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  private readonly members = new Map<RoomSocket, Member>();
  private readonly options: RoomOptions;
  /** Last time anyone was here or changed anything (for unloading idle rooms). */
  lastActive = Date.now();

  constructor(doc: Y.Doc, options: RoomOptions = {}) {
    this.doc = doc;
    this.options = options;
    this.awareness = new awarenessProtocol.Awareness(doc);
    // The server itself has no presence.
    this.awareness.setLocalState(null);
    doc.on('update', (update: Uint8Array) => {
      this.lastActive = Date.now();
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeUpdate(encoder, update);
      this.broadcast(encoding.toUint8Array(encoder));
      options.onUpdate?.(update);
    });
    this.awareness.on(
      'update',
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        const changed = [...added, ...updated, ...removed];
        const member = this.members.get(origin as RoomSocket);
        if (member !== undefined) {
          for (const id of added) member.controls.add(id);
          for (const id of removed) member.controls.delete(id);
        }
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
        encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
        this.broadcast(encoding.toUint8Array(encoder));
      },
    );
  }

  get size(): number {
    return this.members.size;
  }

  private broadcast(message: Uint8Array): void {
    for (const socket of this.members.keys()) socket.send(message);
  }

  /** Adds a connection: it gets the document (sync step 1) and everyone's presence. */
  join(socket: RoomSocket, readOnly: boolean): void {
    this.lastActive = Date.now();
    this.members.set(socket, { readOnly, controls: new Set() });
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, this.doc);
    socket.send(encoding.toUint8Array(encoder));
    const states = [...this.awareness.getStates().keys()];
    if (states.length > 0) {
      const presence = encoding.createEncoder();
      encoding.writeVarUint(presence, MESSAGE_AWARENESS);
      encoding.writeVarUint8Array(presence, awarenessProtocol.encodeAwarenessUpdate(this.awareness, states));
      socket.send(encoding.toUint8Array(presence));
    }
  }

  /** A message from a member; a bad one closes that member only. */
  receive(socket: RoomSocket, message: Uint8Array): void {
    const member = this.members.get(socket);
    if (member === undefined) return;
    const limit = this.options.maxMessageBytes ?? 1024 * 1024;
    if (message.length > limit) {
      this.refuse(socket, `message of ${message.length} bytes exceeds ${limit}`);
      return;
    }
    this.lastActive = Date.now();
    try {
      const decoder = decoding.createDecoder(message);
      const type = decoding.readVarUint(decoder);
      if (type === MESSAGE_SYNC) this.sync(socket, member, decoder);
      else if (type === MESSAGE_AWARENESS)
        awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), socket);
      else if (type === MESSAGE_QUERY_AWARENESS) {
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
        encoding.writeVarUint8Array(
          encoder,
          awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]),
        );
        socket.send(encoding.toUint8Array(encoder));
      }
    } catch (error) {
      this.refuse(socket, error instanceof Error ? error.message : 'malformed message');
    }
  }

  private sync(socket: RoomSocket, member: Member, decoder: decoding.Decoder): void {
    const kind = decoding.readVarUint(decoder);
    if (kind === syncProtocol.messageYjsSyncStep1) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeSyncStep2(encoder, this.doc, decoding.readVarUint8Array(decoder));
      socket.send(encoding.toUint8Array(encoder));
      return;
    }
    if (kind !== syncProtocol.messageYjsSyncStep2 && kind !== syncProtocol.messageYjsUpdate) throw new Error('unknown sync message');
    const update = decoding.readVarUint8Array(decoder);
    // A watcher may look but not touch.
    if (member.readOnly) return;
    const refusal = this.options.admitUpdate?.(update);
    if (refusal != null) {
      this.refuse(socket, refusal.reason, refusal.code);
      return;
    }
    Y.applyUpdate(this.doc, update, socket);
  }

  private refuse(socket: RoomSocket, reason: string, code: number = ROOM_CLOSE_REFUSED): void {
    this.options.onRefused?.(reason);
    this.leave(socket);
    socket.close(code, reason.slice(0, 120));
  }

  /** A connection went away: its presence goes with it. */
  leave(socket: RoomSocket): void {
    const member = this.members.get(socket);
    if (member === undefined) return;
    this.members.delete(socket);
    if (member.controls.size > 0) awarenessProtocol.removeAwarenessStates(this.awareness, [...member.controls], null);
  }

  /** Closes every connection with `code` and `reason` (the draft was committed or discarded). */
  closeAll(code: number, reason: string): void {
    for (const socket of [...this.members.keys()]) {
      this.leave(socket);
      socket.close(code, reason);
    }
  }

  destroy(): void {
    this.awareness.destroy();
    this.doc.destroy();
  }
}
