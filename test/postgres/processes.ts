/**
 * `datsync serve --postgres URL` as a child process: one server node, as
 * an operator runs it, and waiting for a client of it to catch up. Used by
 * the multi-node tests and nothing else.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '../../src/client/client.js';

export interface NodeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts a node on the log at `postgresUrl`; resolves once it serves. */
export function startNodeProcess(postgresUrl: string): Promise<NodeProcess> {
  const data = mkdtempSync(join(tmpdir(), 'datsync-node-'));
  // One process (node with the tsx loader), so SIGKILL hits the server itself, not a wrapper.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli.ts',
      'serve',
      '--postgres',
      postgresUrl,
      '--port',
      '0',
      '--data',
      data,
      '--schema',
      'examples/tasks/schema.json',
      '--allow-all',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    let serving = false;
    // Both pipes are read to the end, or a chatty child would block on a full pipe.
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
      const match = /serving on (ws:\/\/\S+\/sync)/.exec(output);
      if (serving || match?.[1] === undefined) return;
      serving = true;
      resolve({
        url: match[1],
        child,
        exited,
        kill: async (signal) => {
          child.kill(signal);
          await exited;
        },
      });
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    void exited.then(() => {
      if (!serving) reject(new Error(`the node exited before serving:\n${output}`));
    });
  });
}

/** Resolves once the client holds the log up to `position`. */
export function holds(c: Client, position: number): Promise<void> {
  if (c.serverPosition >= position) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = c.on('position', () => {
      if (c.serverPosition < position) return;
      stop();
      resolve();
    });
  });
}
