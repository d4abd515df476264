#!/usr/bin/env node
/**
 * The `datsync` command.
 *
 *   datsync --version
 *   datsync serve [--port N] [--data DIR] [--schema FILE]
 */
import { VERSION } from './version.js';

function main(argv: readonly string[]): number {
  const [command] = argv;
  if (command === undefined || command === '--version' || command === 'version') {
    console.log(`datsync ${VERSION}`);
    return 0;
  }
  if (command === 'serve') {
    console.log(`datsync ${VERSION}: the sync server arrives with the sync issue; nothing to serve yet.`);
    return 0;
  }
  console.error(`datsync: unknown command "${command}". Try: datsync --version, datsync serve`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
