#!/usr/bin/env node
/**
 * The `datsync` command.
 *
 *   datsync --version
 *   datsync serve [--port 8080] [--host 127.0.0.1] [--data ./data] [--schema FILE]
 *
 * `serve` runs the sync server on SQLite in the data directory until SIGTERM
 * or SIGINT, then shuts down gracefully: it stops accepting, finishes the
 * commits in flight and closes every socket with code 1001.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SqliteStorage } from '../storage/sqlite.js';
import type { SchemaInput } from './schema.js';
import { allowAll } from './server/permissions.js';
import { createServer } from './server/server.js';
import { VERSION } from './version.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function usage(): string {
  return 'usage: datsync --version | datsync serve [--port N] [--host H] [--data DIR] [--schema FILE]';
}

async function serve(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      data: { type: 'string', default: process.env.DATSYNC_DATA ?? './data' },
      schema: { type: 'string', default: join(packageRoot, 'examples', 'tasks', 'schema.json') },
      'allow-all': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.port}`);
  const schema = JSON.parse(readFileSync(resolve(values.schema), 'utf8')) as SchemaInput;
  mkdirSync(values.data, { recursive: true });
  const storagePath = join(values.data, 'datsync.db');
  if (!values['allow-all']) {
    throw new Error('no permissions given: pass --allow-all to let every client read and write everything (development only)');
  }
  const server = await createServer({ schema, storage: new SqliteStorage(storagePath), port, host: values.host, permissions: allowAll });
  server.on('error', (error) => console.error('datsync:', error));
  console.log(`datsync ${VERSION} serving on ws://${values.host}:${server.port}/sync (log: ${storagePath})`);
  const shutdown = (signal: string): void => {
    console.log(`datsync: ${signal}, shutting down`);
    server.close().then(
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
