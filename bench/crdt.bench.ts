/**
 * The CRDT core against its peers: applying ops, exchanging and merging
 * concurrent writes, retained memory, and the nested Y.Map pitfall.
 *
 * @module
 */
import { applyBenchmark } from './crdt/apply.js';
import { memoryBenchmark } from './crdt/memory.js';
import { mergeBenchmark } from './crdt/merge.js';
import { pitfallBenchmark } from './crdt/pitfall.js';
import type { BenchResult, BenchSuite } from './harness.js';

export const suite: BenchSuite = {
  name: 'crdt',
  title: 'crdt: the CRDT core against Yjs and plain JavaScript',
  async run(): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const benchmark of [applyBenchmark, mergeBenchmark, memoryBenchmark, pitfallBenchmark]) {
      console.error(`  ${benchmark.name}...`);
      results.push(benchmark());
    }
    return results;
  },
};
