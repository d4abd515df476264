#!/usr/bin/env node
/**
 * The `datsync` command.
 *
 *   datsync --version
 *   datsync serve [--port 8080] [--host 127.0.0.1] [--data ./data] [--postgres URL] [--schema FILE | --config FILE]
 *
 * `serve` runs the sync server on SQLite in the data directory (or, with
 * `--postgres URL` or DATSYNC_POSTGRES_URL, on a PostgreSQL log that several
 * nodes may share; see docs/deploy.md) until SIGTERM
 * or SIGINT, then shuts down gracefully: it stops accepting, finishes the
 * commits in flight and closes every socket with code 1001. With `--config`
 * (a module: schema, permissions, authentication, an app to serve; see
 * docs/app.md) it runs an application for real; without, `--allow-all` is
 * required.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PostgresStorage } from '../storage/postgres.js';
import { SqliteStorage } from '../storage/sqlite.js';
import type { SchemaInput } from './schema.js';
import { serveApp } from './serve/app.js';
import { loadConfig } from './serve/config.js';
import { allowAll } from './server/permissions.js';
import { createServer } from './server/server.js';
import { VERSION } from './version.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function usage(): string {
  return 'usage: datsync --version | datsync serve [--port N] [--host H] [--data DIR] [--postgres URL] [--schema FILE | --config FILE]';
}

async function serve(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      data: { type: 'string', default: process.env.DATSYNC_DATA ?? './data' },
      postgres: { type: 'string', default: process.env.DATSYNC_POSTGRES_URL || undefined },
      schema: { type: 'string' },
      config: { type: 'string' },
      'allow-all': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.port}`);
  const config = values.config === undefined ? undefined : await loadConfig(values.config);
  if (config !== undefined && (values.schema !== undefined || values['allow-all'])) {
    throw new Error('--config gives the schema and the permissions: leave out --schema and --allow-all');
  }
  if (config === undefined && !values['allow-all']) {
    throw new Error(
      'no permissions given: pass --config FILE, or --allow-all to let every client read and write everything (development only)',
    );
  }
  mkdirSync(values.data, { recursive: true });
  const storage =
    values.postgres === undefined
      ? new SqliteStorage(join(values.data, 'datsync.db'))
      : await PostgresStorage.open({ url: values.postgres });
  const onError = (error: unknown): void => console.error('datsync:', error);
  let close: () => Promise<void>;
  if (config !== undefined) {
    // Nodes sharing one log must share the token secret too: DATSYNC_TOKEN_SECRET, else the data directory's.
    const tokenSecret = process.env.DATSYNC_TOKEN_SECRET || undefined;
    const app = await serveApp({ config, dataDir: values.data, tokenSecret, storage, port, host: values.host, onError });
    close = app.close;
    console.log(`datsync ${VERSION} serving ${app.url} (sync: ${app.url.replace(/^http/, 'ws')}sync, log: ${storage.name})`);
  } else {
    const schemaPath = values.schema ?? join(packageRoot, 'examples', 'tasks', 'schema.json');
    const schema = JSON.parse(readFileSync(resolve(schemaPath), 'utf8')) as SchemaInput;
    const server = await createServer({ schema, storage, port, host: values.host, permissions: allowAll });
    server.on('error', onError);
    close = server.close;
    console.log(`datsync ${VERSION} serving on ws://${values.host}:${server.port}/sync (log: ${storage.name})`);
  }
  const shutdown = (signal: string): void => {
    console.log(`datsync: ${signal}, shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('datsync: shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--version' || command === 'version') {
    console.log(`datsync ${VERSION}`);
    return 0;
  }
  if (command === 'serve') {
    await serve(rest);
    return 0;
  }
  console.error(`datsync: unknown command "${command}". ${usage()}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`datsync: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
