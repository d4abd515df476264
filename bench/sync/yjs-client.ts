/**
 * Stock y-websocket clients for the Yjs peer: a `WebsocketProvider` per
 * Y.Doc, with the `ws` WebSocket in Node.
 *
 * Two settings differ from the defaults, both so that the providers measure
 * what the datsync clients measure: `disableBc` (in one Node process every
 * provider of a room would otherwise also sync through a BroadcastChannel,
 * bypassing the server), and no awareness state (datsync has no presence,
 * and each provider's presence would be broadcast to every other one).
 *
 * @module
 */

import type { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export const ROOM = 'bench';

export interface YjsClient {
  readonly doc: Y.Doc;
  readonly provider: WebsocketProvider;
  /** Connects, resolving once the server's document is applied (sync step 2 received). */
  connect(): Promise<void>;
  destroy(): void;
}

export function yjsClient(url: string, Socket: typeof WebSocket, clientId?: number): YjsClient {
  const doc = new Y.Doc();
  if (clientId !== undefined) doc.clientID = clientId;
  const provider = new WebsocketProvider(url, ROOM, doc, {
    connect: false,
    disableBc: true,
    WebSocketPolyfill: Socket as unknown as typeof globalThis.WebSocket,
  });
  provider.awareness.setLocalState(null);
  return {
    doc,
    provider,
    connect: () =>
      new Promise<void>((resolve) => {
        const onSync = (synced: boolean): void => {
          if (!synced) return;
          provider.off('sync', onSync);
          resolve();
        };
        provider.on('sync', onSync);
        provider.connect();
      }),
    destroy: () => {
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
    },
  };
}
