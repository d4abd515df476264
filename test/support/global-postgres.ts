/**
 * Vitest global setup: gives the PostgreSQL tests a server, so that `npm test`
 * runs all of them on any machine with Debian's postgresql installed (which
 * `scripts/ensure-deps.mjs --system` installs when it can).
 *
 * A DATSYNC_TEST_POSTGRES_URL already set is used as it is. Otherwise a
 * throwaway cluster is started with `scripts/postgres.sh start` (loopback,
 * an unprivileged owner, a fresh directory) and stopped, directory and all,
 * when the run ends. The URL reaches the test workers through the
 * environment, which they inherit. Without PostgreSQL binaries nothing is
 * started and test/support/postgres.ts says the tests are skipped (or fails
 * them in CI).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/postgres.sh', import.meta.url));

function havePostgres(): boolean {
  const base = '/usr/lib/postgresql';
  return existsSync(base) && readdirSync(base).some((version) => existsSync(`${base}/${version}/bin/initdb`));
}

export default function setup(): (() => void) | undefined {
  if (process.env.DATSYNC_TEST_POSTGRES_URL || !havePostgres()) return undefined;
  const started = spawnSync('bash', [script, 'start'], { encoding: 'utf8' });
  if (started.status !== 0) {
    // A cluster that cannot start is reported, not hidden: the PostgreSQL tests then skip (or fail in CI) and say why.
    console.warn(`test/support/global-postgres: scripts/postgres.sh start failed:\n${started.stderr}`);
    return undefined;
  }
  for (const line of started.stdout.split('\n')) {
    const match = /^export (DATSYNC_TEST_POSTGRES_(?:URL|DIR))=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) process.env[match[1]] = match[2];
  }
  const directory = process.env.DATSYNC_TEST_POSTGRES_DIR;
  return () => {
    if (directory !== undefined) spawnSync('bash', [script, 'stop', directory], { stdio: 'inherit' });
  };
}
