/**
 * Who sees what, at scale (issue 6): the server's fan-out of one small
 * transaction to 1,000 clients with query and pull scopes over a
 * 100,000-datom database, against re-running every scope naively.
 *
 * @module
 */
import type { BenchResult, BenchSuite } from './harness.js';
import { fanOutBenchmark } from './scopes/fanout.js';

export const suite: BenchSuite = {
  name: 'scopes',
  title: 'scopes: fan-out to 1,000 scoped clients against re-running every scope',
  async run(): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const benchmark of [fanOutBenchmark]) {
      console.error(`  ${benchmark.name}...`);
      results.push(await benchmark());
    }
    return results;
  },
};
