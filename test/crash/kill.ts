/** Spawns a TypeScript child and SIGKILLs it once it has acknowledged `after` lines and `delayMs` more passed. */
import { spawn } from 'node:child_process';

export interface KillResult {
  /** The numbers the child acknowledged before it died. */
  readonly acknowledged: number[];
}

export function runAndKill(script: string, args: readonly string[], afterAcks: number): Promise<KillResult> {
  return new Promise((resolve, reject) => {
    // One process (node with the tsx loader), so SIGKILL hits the writer itself, not a wrapper.
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: number[] = [];
    let buffer = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const n = Number(line.split(' ')[1]);
        if (Number.isFinite(n)) acknowledged.push(n);
      }
      if (!killed && acknowledged.length >= afterAcks) {
        killed = true;
        // Kill in the middle of the next write, not at a quiet moment.
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve({ acknowledged });
      else reject(new Error(`child exited on its own: ${stderr.slice(-2000)}`));
    });
  });
}
