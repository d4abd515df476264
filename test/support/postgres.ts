/**
 * The PostgreSQL server the tests run against, found through
 * DATSYNC_TEST_POSTGRES_URL, which the run's global setup
 * (test/support/global-postgres.ts) sets to a throwaway server it starts
 * when PostgreSQL is installed and no URL was given.
 *
 * Without it the PostgreSQL tests are skipped, loudly, on a developer's
 * machine; in CI (CI set) its absence fails the run instead, so a broken
 * CI setup cannot pass by skipping them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { it } from 'vitest';

export const postgresUrl: string | undefined = process.env.DATSYNC_TEST_POSTGRES_URL || undefined;

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

if (postgresUrl === undefined) {
  const line = '*'.repeat(78);
  console.warn(
    `\n${line}\n* DATSYNC_TEST_POSTGRES_URL is not set: the PostgreSQL tests are ${inCi ? 'FAILING (CI needs them)' : 'SKIPPED'}.\n` +
      `* Install Debian's postgresql (npm test then starts a throwaway server), or set the URL yourself.\n${line}\n`,
  );
}

/** Call at the top level of a PostgreSQL test file: in CI, a missing server is a failure, not a skip. */
export function requirePostgresInCi(): void {
  if (postgresUrl === undefined && inCi) {
    it('has a PostgreSQL server to test against (DATSYNC_TEST_POSTGRES_URL)', () => {
      throw new Error(
        'DATSYNC_TEST_POSTGRES_URL is not set in CI: PostgreSQL must be installed (.ci/run installs it) so the test run can start a server',
      );
    });
  }
}

/** A fresh, empty schema name, unique across test files running in parallel. */
export function freshSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A fresh, empty database on the test server; its URL. */
export async function freshDatabase(): Promise<string> {
  const url = postgresUrl;
  if (url === undefined) throw new Error('no PostgreSQL server');
  const name = freshSchema('db');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const next = new URL(url);
  next.pathname = `/${name}`;
  return next.toString();
}

/** Runs one statement on the test server (or on `url`). */
export async function sql<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
  url = postgresUrl,
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}
