#!/usr/bin/env node
/**
 * `npm start`: installs what is missing, builds, and runs the main job.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(process.execPath, [join(root, 'scripts', 'ensure-deps.mjs')]);
run('npm', ['run', 'build', '--silent']);
run(process.execPath, [join(root, 'dist', 'src', 'cli.js'), 'serve', '--allow-all', ...process.argv.slice(2)]);
