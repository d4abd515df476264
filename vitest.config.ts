import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A `datsync serve --config` module imports the package by name; tests run it against the sources.
  resolve: { alias: { 'datsync/server': fileURLToPath(new URL('./src/server/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts', 'property-tests/**/*.prop.ts'],
    setupFiles: ['property-tests/setup.ts'],
    // Starts a throwaway PostgreSQL server for the PostgreSQL tests when none is given.
    globalSetup: ['test/support/global-postgres.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
