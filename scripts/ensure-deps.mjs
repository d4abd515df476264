#!/usr/bin/env node
/**
 * Makes `npm start` and `npm test` work on a fresh clone: installs the npm
 * packages from the lock file when they are missing or older than it, and
 * (with `--system`, for the tests) Debian's Chromium when it is missing and
 * apt-get can install it. Uses only Node built-ins, because it runs before
 * anything is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('datsync: installing npm packages from package-lock.json …');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

if (process.argv.includes('--system') && !have('chromium') && have('apt-get')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const prefix = root ? [] : ['sudo', '-n'];
  console.log("datsync: installing Debian's chromium for the browser tests …");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) =>
    spawnSync(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(root ? [] : ['apt-get']), ...args], { stdio: 'inherit', env });
  if (apt(['update', '-qq']).status !== 0 || apt(['install', '-y', '-qq', 'chromium']).status !== 0) {
    console.warn('datsync: could not install chromium; browser tests will say so.');
  }
}
