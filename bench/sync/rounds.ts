/**
 * `sideBySide` (bench/harness.ts) for asynchronous trials: each round runs
 * every subject once, in an order that rotates from round to round, after
 * warm-up rounds that are not counted; a full collection, in this process
 * and in the server children, separates each trial's setup from its timed
 * part.
 *
 * @module
 */
import type { RunCounts } from '../harness.js';
import { collectGarbage } from '../harness.js';

/** Sets up (not timed), then returns the timed run, which resolves to its measurements. */
export type AsyncTrial<S> = () => Promise<() => Promise<S>>;

export async function sideBySideAsync<K extends string, S>(
  trials: Readonly<Record<K, AsyncTrial<S>>>,
  counts: RunCounts,
  collect: () => Promise<void>,
): Promise<Record<K, S[]>> {
  const names = Object.keys(trials) as K[];
  const samples = {} as Record<K, S[]>;
  for (const name of names) samples[name] = [];
  for (let round = 0; round < counts.warmup + counts.runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as K;
      const run = await trials[name]();
      collectGarbage();
      await collect();
      const sample = await run();
      if (round >= counts.warmup) samples[name].push(sample);
    }
  }
  return samples;
}
