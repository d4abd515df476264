#!/usr/bin/env node
/**
 * `npm run soak`: the long runs behind the short ones in `npm test`.
 *
 * 1. The property suites at 20 times their CI run counts.
 * 2. The hostile-input and fault tests at soak scale (more frames, more kills).
 * 3. The load run: a real `datsync serve`, 500 clients in a separate process, 60 s.
 * 4. The knee: the same load at growing client counts (20 s each).
 *
 *   npm run soak                 # everything
 *   npm run soak -- --only load  # one of: properties, hardening, load, knee
 *
 * Stops at the first step that fails and exits non-zero.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const scaled = { ...process.env, DATSYNC_PROPERTY_SCALE: '20', DATSYNC_SOAK: '1' };
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const load = ['--import', 'tsx', join(root, 'bench', 'load', 'run.ts')];

const steps = [
  ['properties', [vitest, 'run', 'property-tests']],
  ['hardening', [vitest, 'run', 'test/hardening', 'test/fuzz']],
  ['load', [...load, '--clients', '500', '--seconds', '60', '--rate', '10']],
  ['knee', [...load, '--knee', '100,200,300,500,750,1000', '--seconds', '20', '--rate', '10']],
];

for (const [name, args] of steps) {
  if (only !== undefined && only !== name) continue;
  console.log(`\n### soak: ${name}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, env: scaled, stdio: 'inherit' });
  console.log(`### soak: ${name} ${result.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}
