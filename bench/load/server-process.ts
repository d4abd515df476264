/**
 * A real server process on loopback, for the load, fault and fuzz runs:
 * `datsync serve` itself (through tsx, so a fresh clone needs no build), or
 * a test server script that prints the same ready line. The parent can read
 * its resident memory, SIGKILL it, and start it again on the same port.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SchemaInput } from '../../src/schema.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const loadSchemaPath = join(repoRoot, 'bench', 'load', 'schema.json');

/** The schema of the load runs (the server reads the same file). */
export function loadSchema(): SchemaInput {
  return JSON.parse(readFileSync(loadSchemaPath, 'utf8')) as SchemaInput;
}

export interface ServerProcessOptions {
  /** The directory of the SQLite log. */
  readonly data: string;
  /** A schema JSON file (the load schema by default). */
  readonly schema?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** A TypeScript entry other than `src/cli.ts serve --allow-all` (it gets `--port`, `--data`, `--schema`). */
  readonly script?: string;
  /** RLIMIT_FSIZE in 1 KiB blocks: writes past it fail with EFBIG, as on a full disk. */
  readonly fileSizeLimitKiB?: number;
  /** Extra environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resident set size now, in bytes (from /proc; 0 once it exited). */
  rss(): number;
  /** CPU time used so far (user + system), in ms (from /proc; 0 once it exited). */
  cpuMs(): number;
  /** Everything it wrote to stderr (for failure messages). */
  stderr(): string;
  /** Whether it is still running. */
  readonly alive: boolean;
  /** Resolves with the exit code or signal once it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful: decides and stores what it received), and wait for the exit. */
  stop(): Promise<void>;
}

const READY = /serving on ws:\/\/([^:]+):(\d+)\/sync/;

/** Starts a server process and resolves once it serves (or rejects with its stderr if it dies first). */
export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const script = options.script ?? join(repoRoot, 'src', 'cli.ts');
  const args = [
    '--import',
    'tsx',
    script,
    ...(options.script === undefined ? ['serve', '--allow-all'] : []),
    '--port',
    String(options.port ?? 0),
    '--data',
    options.data,
    '--schema',
    options.schema ?? loadSchemaPath,
  ];
  const env = { ...process.env, ...options.env };
  // One process either way (exec), so a SIGKILL hits the server itself, not a wrapper.
  const child: ChildProcess =
    options.fileSizeLimitKiB === undefined
      ? spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `ulimit -f ${Math.floor(options.fileSizeLimitKiB)} && exec "$0" "$@"`, process.execPath, ...args], {
          cwd: repoRoot,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stderr = '';
  let alive = true;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const onData = (chunk: Buffer): void => {
      stdout += chunk.toString();
      const match = READY.exec(stdout);
      if (match === null) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      const port = Number(match[2]);
      const pid = child.pid as number;
      const waitExit = async (): Promise<void> => {
        await exited;
      };
      resolve({
        url: `ws://127.0.0.1:${port}/sync`,
        port,
        pid,
        rss: () => (alive ? residentBytes(pid) : 0),
        cpuMs: () => (alive ? cpuTimeMs(pid) : 0),
        stderr: () => stderr,
        get alive() {
          return alive;
        },
        exited,
        kill: () => {
          if (alive) child.kill('SIGKILL');
          return waitExit();
        },
        stop: () => {
          if (alive) child.kill('SIGTERM');
          return waitExit();
        },
      });
    };
    child.stdout?.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before serving: ${stderr.slice(-3000)}`)));
  });
}

/** VmRSS of a process, in bytes. */
export function residentBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0;
  }
}

/** User plus system CPU time of a process, in ms. */
export function cpuTimeMs(pid: number): number {
  try {
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}
