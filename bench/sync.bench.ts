/**
 * Sync over the network (issue 5): catch-up of a fresh client, propagation
 * among 100 connected clients with the server's own part timed, and the wire
 * encoding; beside y-websocket (Yjs) and JSON.
 *
 * @module
 */
import type { BenchResult, BenchSuite } from './harness.js';
import { catchUpBenchmark } from './sync/catchup.js';
import { propagationBenchmark } from './sync/propagation.js';
import { protocolBenchmark } from './sync/protocol.js';

export const suite: BenchSuite = {
  name: 'sync',
  title: 'sync: catch-up, propagation and the wire protocol against y-websocket',
  async run(): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const benchmark of [catchUpBenchmark, propagationBenchmark, protocolBenchmark]) {
      console.error(`  ${benchmark.name}...`);
      results.push(await benchmark());
    }
    return results;
  },
};
