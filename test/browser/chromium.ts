/**
 * Headless Chromium for tests and benchmarks: Debian's `chromium` binary,
 * started as a child process (so a test can SIGKILL it for real) and driven
 * over CDP by playwright-core. No browser is ever downloaded.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';

/** The Chromium binary: $CHROMIUM_PATH, else what `which chromium` names. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
  const which = spawnSync('which', ['chromium'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path.length > 0 ? path : undefined;
}

/**
 * Whether browser tests can run. Outside CI a missing Chromium skips them
 * with a loud message; inside CI (`CI` set) its absence fails the run.
 */
export function browserAvailable(): boolean {
  if (chromiumPath() !== undefined) return true;
  const message = 'Chromium not found (apt-get install chromium, or set CHROMIUM_PATH): browser tests cannot run';
  if (process.env.CI !== undefined) throw new Error(message);
  console.warn(`\n!!! ${message}; skipping them.\n`);
  return false;
}

export interface RunningChromium {
  readonly browser: Browser;
  readonly process: ChildProcess;
  readonly userDataDir: string;
  /** Kills the browser process outright (no shutdown, no flush). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Starts Chromium on `userDataDir` (a fresh one by default) and connects to
 * it; `extraFlags` are added to `CHROMIUM_FLAGS` (the benchmarks pass
 * `--js-flags=--expose-gc`).
 */
export async function startChromium(
  userDataDir = mkdtempSync(join(tmpdir(), 'datsync-chromium-')),
  extraFlags: readonly string[] = [],
): Promise<RunningChromium> {
  const executable = chromiumPath();
  if (executable === undefined) throw new Error('Chromium not found');
  const child = spawn(
    executable,
    [...CHROMIUM_FLAGS, ...extraFlags, `--user-data-dir=${userDataDir}`, '--remote-debugging-port=0', 'about:blank'],
    // A process group of its own: a crash test kills the whole browser (renderers, utility processes), as a real crash or power loss does.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const onData = (chunk: Buffer): void => {
      stderr += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        child.stderr?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`chromium exited (${code}) before listening: ${stderr.slice(-1000)}`)));
  });
  const browser = await chromium.connectOverCDP(endpoint);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    browser,
    process: child,
    userDataDir,
    kill: async () => {
      signalGroup(child.pid, 'SIGKILL');
      await exited;
      // A surviving child could still hold the profile's files when the next browser opens them.
      await groupGone(child.pid);
    },
    close: async () => {
      await browser.close().catch(() => undefined);
      signalGroup(child.pid, 'SIGTERM');
      await exited;
      await groupGone(child.pid);
    },
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Resolves once no process of the group is left (polled: the OS tells no one when the last member of a group exits). */
async function groupGone(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  for (let waited = 0; waited < 10_000; waited += 20) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  signalGroup(pid, 'SIGKILL');
}
