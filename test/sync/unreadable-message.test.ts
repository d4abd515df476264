/**
 * A client that cannot take a message from the server (undecodable, too
 * large for its frame limit, unappliable) must not take anything after it on
 * that connection: the stream is ordered, so a later batch applied over a
 * dropped one would move the client's position past records it never got,
 * and it would show `live` while missing them, for good. It drops the
 * connection, reports the error and starts over from what it holds.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { ServerMessage } from '../../src/protocol/index.js';
import { DEFAULT_LIMITS, decodeClientMessage, encodeServerMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { client } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A scripted server: answers each hello with `script`, sent back to back in one go. */
async function scriptedServer(script: (connection: number) => Uint8Array[]): Promise<{ url: string; hellos: number[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const hellos: number[] = [];
  wss.on('connection', (socket: WebSocket) => {
    socket.on('message', (data: Buffer) => {
      const message = decodeClientMessage(new Uint8Array(data));
      if (message.type !== 'hello') return;
      hellos.push(message.position);
      for (const frame of script(hellos.length)) socket.send(frame);
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/sync`, hellos };
}

const frame = (message: ServerMessage): Uint8Array => encodeServerMessage(message);

describe('a message the client cannot take', () => {
  it('ends the connection: nothing sent after it on that connection is applied, and the client starts over', async () => {
    const server = await scriptedServer(() => [
      frame({
        type: 'welcome',
        version: PROTOCOL_VERSION,
        logId: 'log-1',
        head: 5,
        serverTime: Date.now(),
        decided: 0,
        limits: DEFAULT_LIMITS,
      }),
      // Batch 1 cannot be read (a records message cut short)…
      frame({ type: 'records', batch: 1, head: 5, through: 4, entries: [] }).subarray(0, 3),
      // …so batch 2, which follows it, must not move the client to position 5.
      frame({ type: 'records', batch: 2, head: 5, through: 5, entries: [] }),
    ]);
    const c = await client(server.url);
    cleanups.push(() => c.close());
    const errors: unknown[] = [];
    c.on('error', (error) => errors.push(error));
    const positions: number[] = [];
    c.on('position', ({ position }) => positions.push(position));
    // The client reconnects after the failure and says hello again, still from position 0.
    await new Promise<void>((resolve) => {
      const stop = c.on('status', (status) => {
        if (status === 'connecting' && server.hellos.length >= 1 && errors.length > 0) {
          stop();
          resolve();
        }
      });
    });
    expect(errors[0]).toMatchObject({ code: 'malformed-message' });
    expect(positions).toEqual([]);
    expect(c.serverPosition).toBe(0);
    expect(c.status).not.toBe('live');
  });
});
