/**
 * A load run: a real `datsync serve` process, a separate load-generating
 * process (bench/load/generator.ts), the server's memory sampled every
 * second, optional faults injected meanwhile (the server SIGKILLed and
 * restarted, …), and at the end the checks: every client converged to the
 * state of the server's SQLite log, and every write a client saw
 * acknowledged is in that log.
 *
 *   node --import tsx bench/load/run.ts [--clients 500] [--seconds 60] [--rate 10] [--writers N] [--disconnects 0]
 *   node --import tsx bench/load/run.ts --knee 100,250,500,750,1000 [--seconds 20]
 *
 * `--rate` is the total offered write rate (tx/s), spread over the writers
 * (one client in twenty by default).
 *
 * `npm run soak` runs both; `test/hardening/load.test.ts` a short version.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TxId } from '../../crdt/index.js';
import { readServerLog } from './check.js';
import type { GeneratorConfig, GeneratorResult } from './generator.js';
import type { ServerProcess } from './server-process.js';
import { loadSchema, repoRoot, startServerProcess } from './server-process.js';

export interface LoadOptions {
  readonly clients: number;
  readonly seconds: number;
  readonly writers: number;
  readonly ratePerWriter: number;
  readonly boards?: number;
  readonly disconnectsPerSecond?: number;
  readonly settleSeconds?: number;
  /** Runs while the clients write; may kill and restart the server. */
  readonly faults?: (control: FaultControl) => Promise<void>;
  /** Called with each progress line of the generator. */
  readonly onProgress?: (line: Record<string, unknown>) => void;
}

export interface FaultControl {
  readonly server: ServerProcess;
  /** SIGKILL the server and wait for it to die. */
  kill(): Promise<void>;
  /** Start it again on the same port and data. */
  restart(): Promise<void>;
  /** Resolves after the generator's next progress line (about a second of load). */
  tick(): Promise<void>;
}

export interface LoadReport {
  readonly generator: GeneratorResult;
  /** Server resident memory, one sample a second (MiB), and its peak. */
  readonly rssMiB: readonly number[];
  readonly peakRssMiB: number;
  readonly restarts: number;
  readonly logHead: number;
  readonly acceptedPerSecond: number;
  /** Server CPU use while the clients wrote (100 = one core busy). */
  readonly serverCpuPercent: number;
  /** The machine's 1-minute load average at the end (other work on it slows every figure). */
  readonly loadAverage: number;
  /** Everything that went wrong; empty when the run held every guarantee. */
  readonly problems: readonly string[];
}

const generatorPath = join(repoRoot, 'bench', 'load', 'generator.ts');

function runGenerator(
  config: GeneratorConfig,
  onProgress: (line: Record<string, unknown>) => void,
): { result: Promise<GeneratorResult>; kill(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', generatorPath, JSON.stringify(config)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-10_000);
  });
  const result = new Promise<GeneratorResult>((resolveResult, reject) => {
    let buffer = '';
    let final: GeneratorResult | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('progress ')) onProgress(JSON.parse(line.slice(9)) as Record<string, unknown>);
        else if (line.startsWith('result ')) final = JSON.parse(line.slice(7)) as GeneratorResult;
      }
    });
    child.once('exit', (code) => {
      if (code === 0 && final !== undefined) resolveResult(final);
      else reject(new Error(`load generator failed (${code}): ${stderr.slice(-4000)}`));
    });
  });
  return { result, kill: () => child.kill('SIGKILL') };
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const dir = mkdtempSync(join(tmpdir(), 'datsync-load-'));
  const dbPath = join(dir, 'datsync.db');
  let server = await startServerProcess({ data: dir });
  const port = server.port;
  let restarts = 0;
  const rssMiB: number[] = [];
  const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
  // Server CPU while the clients write: summed over restarts, per process.
  let cpuMs = 0;
  let cpuFrom: { pid: number; ms: number } | undefined;
  const sampler = setInterval(() => {
    if (!server.alive) return;
    rssMiB.push(mib(server.rss()));
    const ms = server.cpuMs();
    if (writing && cpuFrom !== undefined && cpuFrom.pid === server.pid) cpuMs += ms - cpuFrom.ms;
    cpuFrom = { pid: server.pid, ms };
  }, 1000);
  const ticks: Array<() => void> = [];
  let writing = false;
  const generator = runGenerator(
    {
      url: server.url,
      clients: options.clients,
      seconds: options.seconds,
      writers: options.writers,
      ratePerWriter: options.ratePerWriter,
      boards: options.boards ?? 20,
      disconnectsPerSecond: options.disconnectsPerSecond ?? 0,
      settleSeconds: options.settleSeconds ?? 120,
      ackFile: join(dir, 'acked.json'),
    },
    (line) => {
      writing = true;
      options.onProgress?.(line);
      for (const resolveTick of ticks.splice(0)) resolveTick();
    },
  );
  let faults: Promise<void> = Promise.resolve();
  const startFaults = options.faults;
  const control: FaultControl = {
    get server() {
      return server;
    },
    kill: () => server.kill(),
    restart: async () => {
      server = await startServerProcess({ data: dir, port });
      restarts++;
    },
    tick: () => new Promise<void>((resolveTick) => ticks.push(resolveTick)),
  };
  const problems: string[] = [];
  let result: GeneratorResult;
  try {
    if (startFaults !== undefined) {
      faults = (async () => {
        await control.tick();
        await startFaults(control);
        if (!server.alive) await control.restart();
      })();
    }
    result = await generator.result;
    await faults;
  } catch (error) {
    generator.kill();
    clearInterval(sampler);
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  clearInterval(sampler);
  await server.stop();
  const log = await readServerLog(dbPath, loadSchema());
  const acked = JSON.parse(readFileSync(join(dir, 'acked.json'), 'utf8')) as TxId[];
  rmSync(dir, { recursive: true, force: true });

  const lost = acked.filter((id) => !log.txIds.has(id));
  if (lost.length > 0) problems.push(`${lost.length} acknowledged writes are not in the log, e.g. ${lost.slice(0, 3).join(', ')}`);
  if (!log.contiguous) problems.push('the log has a hole or a duplicate transaction');
  const hashes = Object.keys(result.fingerprints);
  if (hashes.length !== 1 || hashes[0] !== log.fingerprint.hash) {
    problems.push(`clients did not converge on the log's state ${log.fingerprint.hash}: ${JSON.stringify(result.fingerprints)}`);
  }
  if (result.pendingAfter > 0) problems.push(`${result.pendingAfter} writes still pending after sync`);
  if (result.written !== result.acknowledged) problems.push(`${result.written} writes resolved but ${result.acknowledged} acknowledged`);
  // The boards transaction is the one write before the load.
  const loadWrites = log.head - 1;
  return {
    generator: result,
    rssMiB,
    peakRssMiB: Math.max(0, ...rssMiB),
    restarts,
    logHead: log.head,
    acceptedPerSecond: Math.round(loadWrites / result.writeSeconds),
    serverCpuPercent: Math.round(cpuMs / (result.writeSeconds * 10)),
    loadAverage: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    problems,
  };
}

/** One line of a report, for the terminal and docs. */
export function summarize(report: LoadReport): string {
  const g = report.generator;
  const rss = report.rssMiB;
  return [
    `${g.clients} clients, ${g.writeSeconds} s: ${report.acceptedPerSecond} accepted tx/s (${report.logHead - 1} in the log, ${g.acknowledged} acknowledged)`,
    `propagation p50 ${g.latencyMs.p50} ms, p90 ${g.latencyMs.p90} ms, p99 ${g.latencyMs.p99} ms, max ${g.latencyMs.max} ms (${g.latencyMs.count} deliveries)`,
    `server RSS ${rss[0] ?? '?'} → ${rss[rss.length - 1] ?? '?'} MiB (peak ${report.peakRssMiB}), CPU ${report.serverCpuPercent}%; generator CPU ${g.generatorCpuPercent}%, loop p99 ${g.generatorLoopP99Ms} ms`,
    `connect ${g.connectMs} ms, settle ${g.settleMs} ms, restarts ${report.restarts}, disconnects ${g.disconnects}, machine load average ${report.loadAverage} on ${cpus().length} cores`,
    report.problems.length === 0 ? 'converged, nothing lost' : `PROBLEMS: ${report.problems.join('; ')}`,
  ].join('\n');
}

/** The smallest client count whose propagation p99 exceeds 100 ms. */
export function kneeOf(reports: readonly LoadReport[]): number | undefined {
  return reports.find((report) => report.generator.latencyMs.p99 > 100)?.generator.clients;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '60' },
      writers: { type: 'string' },
      rate: { type: 'string', default: '10' },
      knee: { type: 'string' },
      disconnects: { type: 'string', default: '0' },
    },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const counts = values.knee === undefined ? [Number(values.clients)] : values.knee.split(',').map(Number);
  let failed = false;
  const rows: string[] = [];
  const reports: LoadReport[] = [];
  for (const clients of counts) {
    // One client in twenty writes; together they offer `rate` transactions a second, whatever the crowd.
    const writers = values.writers === undefined ? Math.max(1, Math.round(clients / 20)) : Number(values.writers);
    console.log(`\n== ${clients} clients (${writers} writing ${rate} tx/s in all) for ${seconds} s`);
    const report = await runLoad({
      clients,
      seconds,
      writers,
      ratePerWriter: rate / writers,
      disconnectsPerSecond: Number(values.disconnects),
      onProgress: (line) => console.log(`  ${JSON.stringify(line)}`),
    });
    reports.push(report);
    console.log(summarize(report));
    console.log(`RSS samples (MiB): ${report.rssMiB.join(' ')}`);
    failed ||= report.problems.length > 0;
    const g = report.generator;
    rows.push(
      `| ${clients} | ${report.acceptedPerSecond} | ${g.latencyMs.p50} | ${g.latencyMs.p99} | ${report.peakRssMiB} | ${report.serverCpuPercent} | ${g.generatorCpuPercent} | ${report.problems.length === 0 ? 'yes' : 'NO'} |`,
    );
  }
  console.log(
    '\n| clients | accepted tx/s | p50 ms | p99 ms | server peak RSS MiB | server CPU % | generator CPU % | converged, nothing lost |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  if (counts.length > 1) {
    const knee = kneeOf(reports);
    console.log(
      knee === undefined
        ? '\nknee: p99 stayed within 100 ms up to the largest crowd'
        : `\nknee: p99 first exceeds 100 ms at ${knee} clients`,
    );
  }
  return failed ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
