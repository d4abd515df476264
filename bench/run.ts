/**
 * Runs benchmark suites: `npm run bench -- [suite names...] [--write] [--quick]`.
 *
 * Every `bench/<name>.bench.ts` exporting `suite` is a suite; all run by
 * default. Each prints markdown tables, writes raw JSON to
 * `bench/results/<name>.json`, and with `--write` replaces its section of
 * `docs/benchmarks.md`. `--quick` runs fewer rounds to check that a suite
 * works; its figures are too rough to publish, so it refuses `--write`.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuite } from './harness.js';
import { hasGc, settings } from './harness.js';
import { currentEnvironment, renderSuite, replaceSection } from './report.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(benchDir, 'results');
const docPath = join(benchDir, '..', 'docs', 'benchmarks.md');
const SUFFIX = '.bench.ts';

const DOC_HEADER = '# Benchmarks\n';

interface Options {
  readonly names: readonly string[];
  readonly write: boolean;
  readonly quick: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const names: string[] = [];
  let write = false;
  let quick = false;
  for (const arg of args) {
    if (arg === '--write') write = true;
    else if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run bench -- [suite names...] [--write] [--quick]');
      process.exit(0);
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else names.push(arg);
  }
  if (write && quick) throw new Error('--quick figures are too rough for docs/benchmarks.md: drop one of --write and --quick');
  return { names, write, quick };
}

function isSuite(value: unknown): value is BenchSuite {
  if (typeof value !== 'object' || value === null) return false;
  const suite = value as Partial<Record<keyof BenchSuite, unknown>>;
  return typeof suite.name === 'string' && typeof suite.title === 'string' && typeof suite.run === 'function';
}

async function loadSuites(): Promise<BenchSuite[]> {
  const files = readdirSync(benchDir)
    .filter((file) => file.endsWith(SUFFIX))
    .sort();
  const suites: BenchSuite[] = [];
  for (const file of files) {
    const module: { suite?: unknown } = await import(pathToFileURL(join(benchDir, file)).href);
    if (!isSuite(module.suite)) throw new Error(`${file} does not export a BenchSuite named "suite"`);
    if (`${module.suite.name}${SUFFIX}` !== file) throw new Error(`${file} exports a suite named "${module.suite.name}"`);
    suites.push(module.suite);
  }
  return suites;
}

function select(suites: readonly BenchSuite[], names: readonly string[]): BenchSuite[] {
  if (names.length === 0) return [...suites];
  return names.map((name) => {
    const suite = suites.find((s) => s.name === name);
    if (suite === undefined) throw new Error(`no suite "${name}"; there are: ${suites.map((s) => s.name).join(', ')}`);
    return suite;
  });
}

/**
 * Heap figures need `global.gc`. Started without `--expose-gc` (plain
 * `tsx bench/run.ts`), run again with it, keeping tsx's loader flags.
 */
function rerunWithGc(): never {
  // The variable stops a loop should the flag somehow not take.
  if (process.env.DATSYNC_BENCH_RERUN === '1') throw new Error('global.gc is missing even with --expose-gc');
  const result = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, DATSYNC_BENCH_RERUN: '1' },
  });
  process.exit(result.status ?? 1);
}

async function main(): Promise<void> {
  if (!hasGc()) rerunWithGc();
  const options = parseArgs(process.argv.slice(2));
  settings.quick = options.quick;
  const suites = select(await loadSuites(), options.names);
  const env = currentEnvironment();
  mkdirSync(resultsDir, { recursive: true });
  for (const suite of suites) {
    console.error(`running ${suite.name}${options.quick ? ' (quick)' : ''}...`);
    const results = await suite.run();
    const markdown = renderSuite(suite, results, env);
    console.log(`${markdown}\n`);
    const record = { suite: suite.name, title: suite.title, quick: options.quick, env, results };
    writeFileSync(join(resultsDir, `${suite.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
    if (options.write) {
      const document = existsSync(docPath) ? readFileSync(docPath, 'utf8') : DOC_HEADER;
      writeFileSync(docPath, replaceSection(document, suite.name, markdown));
      console.error(`wrote the ${suite.name} section of docs/benchmarks.md`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
