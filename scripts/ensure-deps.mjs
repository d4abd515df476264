#!/usr/bin/env node
/**
 * Makes `npm start` and `npm test` work on a fresh clone: installs the npm
 * packages from the lock file when they are missing or older than it, and
 * (with `--system`, for the tests) Debian's Chromium, PostgreSQL and nginx
 * when they are missing and apt-get can install them. Uses only Node built-ins, because it runs before
 * anything is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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

function havePostgres() {
  const base = '/usr/lib/postgresql';
  return existsSync(base) && readdirSync(base).some((version) => existsSync(join(base, version, 'bin', 'initdb')));
}

// The browser tests drive Debian's Chromium; the multi-node tests start a throwaway PostgreSQL server; the deployment example runs behind nginx.
const missing = [];
if (process.argv.includes('--system')) {
  if (!have('chromium')) missing.push('chromium');
  if (!havePostgres()) missing.push('postgresql');
  if (!have('nginx')) missing.push('nginx');
}
if (missing.length > 0 && have('apt-get')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const prefix = root ? [] : ['sudo', '-n'];
  console.log(`datsync: installing Debian's ${missing.join(' and ')} for the tests …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) =>
    spawnSync(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(root ? [] : ['apt-get']), ...args], { stdio: 'inherit', env });
  if (apt(['update', '-qq']).status !== 0 || apt(['install', '-y', '-qq', ...missing]).status !== 0) {
    console.warn(`datsync: could not install ${missing.join(' and ')}; the tests that need them will say so.`);
  }
}
