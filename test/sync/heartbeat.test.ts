/**
 * A connection that dies without either end being told (a sleeping laptop, a
 * changed network) must not show `live` forever: the client pings a silent
 * server and reconnects when even the ping goes unanswered.
 */
import type { Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { client, startServer, statusBecomes } from './harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP proxy whose current connections can be frozen: open, but nothing passes either way. */
async function freezableProxy(port: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const all = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = createConnection(port, '127.0.0.1');
    all.add(inbound).add(outbound);
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    freeze: () => {
      for (const [inbound, outbound] of pairs) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
      pairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of all) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('heartbeat', () => {
  it('drops a connection that went silent and reconnects, without waiting for TCP to notice', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const proxy = await freezableProxy(server.port as number);
    cleanups.push(() => proxy.close());
    const c = await client(`ws://127.0.0.1:${proxy.port}/sync`, { reconnect: { initialMs: 10, maxMs: 50, heartbeatMs: 100 } });
    cleanups.push(() => c.close());
    await statusBecomes(c, 'live');
    proxy.freeze();
    // A write made now cannot get through the frozen connection...
    await c.transact([{ 'task/title': 'written while the line was dead' }]);
    expect(c.pendingCount).toBe(1);
    // ...the client notices the silence, drops the connection, and the write goes through a new one.
    await statusBecomes(c, 'offline');
    await c.whenSynced();
    expect(c.pendingCount).toBe(0);
    expect(server.head).toBe(1);
  });
});
