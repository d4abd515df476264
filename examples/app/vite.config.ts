/**
 * Builds the task board into examples/app/dist, which the server config
 * serves. The datsync client is bundled from this repository's sources.
 *
 * The service worker is not bundled: sw.js is copied with the list of every
 * file of the build (to precache) and a version derived from their names
 * (Vite names files by content hash), so each build that changes anything
 * is a new worker.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(`${dir}/${entry.name}`, `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

function precacheServiceWorker(): Plugin {
  return {
    name: 'precache-service-worker',
    enforce: 'post',
    apply: 'build',
    generateBundle(_options, bundle) {
      const built = Object.keys(bundle).filter((name) => !name.endsWith('.map'));
      const paths = ['/', ...[...built, ...files(`${here}public`)].map((name) => `/${name}`)].sort();
      const version = createHash('sha256')
        .update(JSON.stringify(paths))
        .update(readFileSync(`${here}sw.js`))
        .digest('hex')
        .slice(0, 16);
      const template = readFileSync(`${here}sw.js`, 'utf8');
      const source = template
        .replace(/^const VERSION = .*;$/m, `const VERSION = '${version}';`)
        .replace(/^const PRECACHE = .*;$/m, `const PRECACHE = ${JSON.stringify(paths)};`);
      if (!source.includes(version) || !source.includes('"/index.html"')) throw new Error('sw.js: VERSION or PRECACHE not found');
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  root: here,
  // Relative to root; the config must not pick up a PostCSS or env file from the repository root.
  envDir: here,
  // DataScript is most of the bundle (about 590 kB, 150 kB gzipped); the service worker caches it once.
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 1024 },
  plugins: [precacheServiceWorker()],
  logLevel: 'warn',
});
