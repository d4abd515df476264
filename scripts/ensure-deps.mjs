#!/usr/bin/env node
/**
 * Makes `npm start` and `npm test` work on a fresh clone: installs the npm
 * packages from the lock file when they are missing or older than it.
 * Uses only Node built-ins, because it runs before anything is installed.
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
