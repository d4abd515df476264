#!/usr/bin/env node
/**
 * `npm start`: installs what is missing, builds what is out of date (the
 * library into dist/, the example app into examples/app/dist/), then runs
 * the sync server in this process, on SQLite in ./data, serving the app:
 *
 *   datsync serve --config examples/app/server.config.js [your options]
 *
 * Options after `npm start --` go to `datsync serve` (`--port 9000`, `--data DIR`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The newest modification time under `paths` (skipping build output and dependencies). */
function newest(paths) {
  let latest = 0;
  const visit = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return;
    if (!stat.isDirectory()) {
      latest = Math.max(latest, stat.mtimeMs);
      return;
    }
    for (const entry of readdirSync(path)) if (entry !== 'dist' && entry !== 'node_modules') visit(join(path, entry));
  };
  for (const path of paths) visit(join(root, path));
  return latest;
}

const outdated = (output, inputs) => !existsSync(join(root, output)) || statSync(join(root, output)).mtimeMs < newest(inputs);
const library = ['crdt', 'storage', 'src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

run(process.execPath, [join(root, 'scripts', 'ensure-deps.mjs')]);
if (outdated('dist/src/cli.js', library)) {
  console.log('datsync: building the library …');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
}
// The app bundles the client from the sources, so they count too.
if (outdated('examples/app/dist/index.html', [...library, 'examples/app', 'examples/tasks'])) {
  console.log('datsync: building the example app …');
  run(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'examples/app']);
}

console.log('datsync: starting the task board. Open the address below in two browser windows, sign in as two people, and edit.');
// One process: the command runs here, as `datsync serve --config …` would.
process.argv = [
  process.argv[0] ?? 'node',
  join(root, 'dist', 'src', 'cli.js'),
  'serve',
  '--config',
  join(root, 'examples', 'app', 'server.config.js'),
  ...process.argv.slice(2),
];
await import(pathToFileURL(join(root, 'dist', 'src', 'cli.js')).href);
