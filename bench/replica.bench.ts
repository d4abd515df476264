/**
 * The client replica against raw DataScript: local transactions, opening a
 * replica from storage, interactive writes under live subscriptions, and the
 * heap of a client holding 100,000 datoms.
 *
 * @module
 */
import type { BenchResult, BenchSuite } from './harness.js';
import { coldStartBenchmark } from './replica/coldstart.js';
import { interactiveBenchmark } from './replica/interactive.js';
import { memoryBenchmark } from './replica/memory.js';
import { transactBenchmark } from './replica/transact.js';

export const suite: BenchSuite = {
  name: 'replica',
  title: 'replica: the client replica against raw DataScript',
  async run(): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const benchmark of [transactBenchmark, coldStartBenchmark, interactiveBenchmark, memoryBenchmark]) {
      console.error(`  ${benchmark.name}...`);
      results.push(await benchmark());
    }
    return results;
  },
};
