/**
 * The benchmark harness: what a suite returns, and the timing, statistics
 * and heap helpers every suite shares.
 *
 * Machines that run benchmarks are shared and noisy, so absolute times drift
 * from run to run. Suites therefore run their subjects side by side in one
 * process, interleaved round by round, and report ratios between them: a
 * slow minute slows every subject alike, so the ratio holds.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';

/** A benchmark suite: one module `bench/<name>.bench.ts` exporting `suite`. */
export interface BenchSuite {
  /** The name used on the command line and in the docs markers. */
  name: string;
  title: string;
  run(): Promise<BenchResult[]>;
}

/** How a number is shown. */
export type Format = 'opsPerSecond' | 'ms' | 'bytes' | 'bytesFine' | 'megabytes' | 'count' | 'ratio';

export interface Column {
  readonly key: string;
  readonly label: string;
  readonly format: Format;
}

/** One subject of a workload (datsync, a peer) and its measured figures, keyed by column. */
export interface Row {
  readonly subject: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface Target {
  readonly op: '>=' | '<=' | '<';
  readonly value: number;
}

/** A derived figure (usually a ratio between subjects), with the target it is held to, if any. */
export interface Finding {
  readonly label: string;
  readonly value: number;
  readonly format: Format;
  readonly target: Target | null;
  /** Whether `value` meets `target`; null without a target. */
  readonly met: boolean | null;
  /** For a ratio over paired rounds: its first and third quartile, how much it moved between rounds. */
  readonly spread: readonly [number, number] | null;
}

/** The outcome of one workload: a table of subjects and the findings drawn from it. */
export interface BenchResult {
  readonly id: string;
  readonly title: string;
  /** Markdown: what was measured and how. */
  readonly description: string;
  readonly columns: readonly Column[];
  readonly rows: readonly Row[];
  readonly findings: readonly Finding[];
  /** Raw samples (milliseconds, bytes, counts) for the JSON record. */
  readonly raw: Readonly<Record<string, readonly number[]>>;
}

/** Harness-wide settings, set by `bench/run.ts`. */
export const settings = {
  /** Fewer runs, for checking that a suite works; never written to the docs. */
  quick: false,
};

export interface RunCounts {
  readonly warmup: number;
  readonly runs: number;
}

/** The run counts a suite asked for, cut down in quick mode. */
export function runCounts(warmup: number, runs: number): RunCounts {
  return settings.quick ? { warmup: 1, runs: Math.min(runs, 3) } : { warmup, runs };
}

/** One measured run: its total time and, if the trial times steps within it, each step. */
export interface Sample {
  readonly ms: number;
  readonly laps: readonly number[];
}

/**
 * One run of a subject, in two steps: the trial sets up (not timed) and
 * returns the run, which times what it measures and returns the sample.
 */
export type Trial = () => () => Sample;

/** Milliseconds `fn` takes. */
export function timeOf(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** A sample timed as a whole, with no laps. */
export function sampleOf(fn: () => void): Sample {
  return { ms: timeOf(fn), laps: [] };
}

/**
 * Times `steps` one after another, each as a lap. The total is the sum of
 * the laps, so the few microseconds spent between laps are not counted.
 */
export function lapsOf(steps: number, step: (index: number) => void): Sample {
  const laps = new Array<number>(steps);
  let total = 0;
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    step(i);
    const lap = performance.now() - start;
    laps[i] = lap;
    total += lap;
  }
  return { ms: total, laps };
}

/** Collects garbage if the process was started with `--expose-gc` (`bench/run.ts` makes sure it is). */
export function collectGarbage(): void {
  const gc = globalThis.gc;
  if (gc === undefined) return;
  // Twice: the first pass can leave objects whose finalisation frees more.
  gc();
  gc();
}

export function hasGc(): boolean {
  return typeof globalThis.gc === 'function';
}

/** Heap in use after a full collection, in bytes. */
export function settledHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/**
 * The heap a structure retains: `build` runs between two settled heap
 * readings. The structure is returned with the figure, which keeps it alive
 * across the second reading.
 */
export function retainedBy<T>(build: () => T): { readonly bytes: number; readonly value: T } {
  const before = settledHeap();
  const value = build();
  const after = settledHeap();
  return { bytes: after - before, value };
}

/**
 * Structures kept alive while a benchmark runs, as an application keeps its
 * data. V8 keeps an object layout (hidden class) only while some object has
 * it, and discards the optimised code built on a layout that died; with no
 * store of a subject alive, the collection before each run would do that,
 * and every run would time V8 relearning the subject's code instead of the
 * code. A resident copy of each subject's store avoids that, for every
 * subject alike.
 */
const residents: unknown[] = [];

export function keepResident(...values: unknown[]): void {
  residents.push(...values);
}

export function releaseResidents(): void {
  residents.length = 0;
}

/** Samples of each subject, in run order. */
export type Samples<K extends string> = Record<K, Sample[]>;

/**
 * Runs every trial `warmup` times and then `runs` times, interleaved: each
 * round runs every subject once, in an order that rotates from round to
 * round. A full collection runs between a trial's setup and its timed run,
 * so no run pays for the garbage of the one before it, nor for moving its
 * own freshly built inputs out of the young generation.
 */
export function sideBySide<K extends string>(trials: Readonly<Record<K, Trial>>, counts: RunCounts): Samples<K> {
  const names = Object.keys(trials) as K[];
  const samples = {} as Samples<K>;
  for (const name of names) samples[name] = [];
  for (let round = 0; round < counts.warmup + counts.runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as K;
      const run = trials[name]();
      collectGarbage();
      const sample = run();
      if (round >= counts.warmup) samples[name].push(sample);
    }
  }
  return samples;
}

/** An asynchronous trial: sets up (not timed) and returns the run, which times what it measures. */
export type AsyncTrial = () => Promise<() => Promise<Sample>>;

/**
 * `sideBySide` for subjects that await (storage, a browser): the same
 * rounds, rotation, warm-up and collection between setup and run.
 */
export async function sideBySideAsync<K extends string>(trials: Readonly<Record<K, AsyncTrial>>, counts: RunCounts): Promise<Samples<K>> {
  const names = Object.keys(trials) as K[];
  const samples = {} as Samples<K>;
  for (const name of names) samples[name] = [];
  for (let round = 0; round < counts.warmup + counts.runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as K;
      const run = await trials[name]();
      collectGarbage();
      const sample = await run();
      if (round >= counts.warmup) samples[name].push(sample);
    }
  }
  return samples;
}

/** `lapsOf` for steps that await: each step's time, from its call until it settles. */
export async function lapsOfAsync(steps: number, step: (index: number) => Promise<unknown>): Promise<Sample> {
  const laps = new Array<number>(steps);
  let total = 0;
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await step(i);
    const lap = performance.now() - start;
    laps[i] = lap;
    total += lap;
  }
  return { ms: total, laps };
}

/** Milliseconds `fn` takes to settle. */
export async function timeOfAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** `retainedBy` for structures built asynchronously (a client opened from storage). */
export async function retainedByAsync<T>(build: () => Promise<T>): Promise<{ readonly bytes: number; readonly value: T }> {
  const before = settledHeap();
  const value = await build();
  const after = settledHeap();
  return { bytes: after - before, value };
}

/** The `p`-th percentile (0 to 100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function totals(samples: readonly Sample[]): number[] {
  return samples.map((sample) => sample.ms);
}

export function allLaps(samples: readonly Sample[]): number[] {
  return samples.flatMap((sample) => sample.laps);
}

/** `numerator / denominator` round by round, pairing the runs of one round. */
export function pairedRatios(numerator: readonly number[], denominator: readonly number[]): number[] {
  const n = Math.min(numerator.length, denominator.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push((numerator[i] as number) / (denominator[i] as number));
  return ratios;
}

/** A finding, held to a target if one is given. */
export function finding(label: string, value: number, format: Format, target: Target | null = null): Finding {
  return { label, value, format, target, met: target === null ? null : meets(value, target), spread: null };
}

/**
 * A ratio between two subjects' run times: the median over rounds of the
 * paired ratio, with its quartiles. Pairing is what makes it robust: both
 * runs of a round saw the same machine.
 */
export function ratioFinding(
  label: string,
  numerator: readonly number[],
  denominator: readonly number[],
  target: Target | null = null,
): Finding {
  const ratios = pairedRatios(numerator, denominator);
  return { ...finding(label, median(ratios), 'ratio', target), spread: [percentile(ratios, 25), percentile(ratios, 75)] };
}

function meets(value: number, target: Target): boolean {
  switch (target.op) {
    case '>=':
      return value >= target.value;
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
    default: {
      const never: never = target.op;
      return never;
    }
  }
}

/** Throws unless `ok`: a benchmark of replicas that disagree measures nothing. */
export function verify(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark check failed: ${what}`);
}
