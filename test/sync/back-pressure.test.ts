/**
 * Back-pressure on the stream (issue 5, docs/protocol.md "A connection"):
 * the server keeps at most four batches unacknowledged per connection, and
 * each credit lets exactly one more go, so a client that stops reading
 * never makes the server queue the log for it. Waits are on messages: a
 * pong answers after everything the server had sent before it.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaId } from '../../crdt/index.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { client, startServer } from './harness.js';
import { hello, rawConnect, untilPong } from './raw.js';

describe('back-pressure', () => {
  it('sends at most four batches ahead of the credits, one more per credit, and the whole log in the end', async () => {
    const server = await startServer({ limits: { maxBatchRecords: 10 } });
    const writer = await client(server.url);
    for (let i = 0; i < 100; i++) await writer.transact([{ 'task/title': `task ${i}` }]);
    await writer.whenSynced();
    expect(server.head).toBe(100);

    const self = 'slow-reader-1' as ReplicaId;
    const reader = await rawConnect(server.url, self);
    reader.send(hello(self));
    await reader.nextOf('welcome');
    let pings = 0;
    const drain = (): Promise<ServerMessage[]> => untilPong(reader, ++pings);
    const batches = async (count: number): Promise<Array<Extract<ServerMessage, { type: 'records' }>>> => {
      const got: Array<Extract<ServerMessage, { type: 'records' }>> = [];
      while (got.length < count) got.push(await reader.nextOf('records'));
      return got;
    };

    const first = await batches(4);
    expect(first.map((b) => b.through)).toEqual([10, 20, 30, 40]);
    // No credit yet: nothing more comes.
    expect(await drain()).toEqual([]);
    reader.send({ type: 'credit', batch: 1 });
    const fifth = await batches(1);
    expect(fifth.map((b) => b.through)).toEqual([50]);
    expect(await drain()).toEqual([]);
    // Credits for the rest: the log to its head, in order, in batches of at most 10.
    const positions = [...first, ...fifth].flatMap((b) => b.entries.map((e) => e.position));
    for (let batch = 2; positions.length < 100; batch++) {
      reader.send({ type: 'credit', batch });
      const [next] = await batches(1);
      expect(next?.entries.length).toBeLessThanOrEqual(10);
      positions.push(...(next?.entries.map((e) => e.position) ?? []));
    }
    expect(positions).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    reader.close();
    await writer.close();
    await server.close();
  });
});
