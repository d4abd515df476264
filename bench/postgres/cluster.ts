/**
 * The PostgreSQL server the benchmark runs against: the one
 * DATSYNC_TEST_POSTGRES_URL names, or else a throwaway cluster started with
 * scripts/postgres.sh for the run and stopped after it.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const script = fileURLToPath(new URL('../../scripts/postgres.sh', import.meta.url));

export interface Cluster {
  readonly url: string;
  /** A fresh, empty database; its URL. */
  database(): Promise<string>;
  stop(): void;
}

export function startCluster(): Cluster | undefined {
  let url = process.env.DATSYNC_TEST_POSTGRES_URL;
  let dir: string | undefined;
  if (url === undefined || url === '') {
    let exports: string;
    try {
      exports = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    } catch {
      return undefined;
    }
    url = /DATSYNC_TEST_POSTGRES_URL=(\S+)/.exec(exports)?.[1];
    dir = /DATSYNC_TEST_POSTGRES_DIR=(\S+)/.exec(exports)?.[1];
    if (url === undefined) return undefined;
  }
  const base = url;
  let databases = 0;
  return {
    url: base,
    async database() {
      const name = `bench_${process.pid}_${databases++}`;
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const next = new URL(base);
      next.pathname = `/${name}`;
      return next.toString();
    },
    stop() {
      if (dir !== undefined) execFileSync('bash', [script, 'stop', dir], { stdio: 'inherit' });
    },
  };
}
