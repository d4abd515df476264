/**
 * Runs the IndexedDB subjects in real Chromium: Debian's `chromium`, headless,
 * started with `--js-flags=--expose-gc` and driven over CDP (the browser test
 * tooling of test/browser). The bench page (`page.ts`) is bundled with
 * esbuild and served on loopback; each run happens in the page and reports
 * its own `performance.now()` timings back through `page.evaluate`.
 *
 * @module
 */
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { chromiumPath, startChromium } from '../../test/browser/chromium.js';
import { servePage } from '../../test/browser/serve.js';
import type { AsyncTrial, Sample } from '../harness.js';
import type { BulkSubject, ColdSubject, LiveSubject } from './shared.js';

interface BenchPage {
  prepare(): Promise<void>;
  run(group: string, subject: string): Promise<Sample>;
  clean(): Promise<void>;
  userAgent(): string;
}

declare global {
  // The bench page installs it; Node reaches it through page.evaluate.
  var bench: BenchPage;
}

export interface ChromiumSession {
  readonly version: string;
  readonly bulk: Record<BulkSubject, AsyncTrial>;
  readonly cold: Record<ColdSubject, AsyncTrial>;
  readonly live: Record<LiveSubject, AsyncTrial>;
  close(): Promise<void>;
}

export function chromiumAvailable(): boolean {
  return chromiumPath() !== undefined;
}

function remote<K extends string>(page: Page, group: string, subjects: readonly K[]): Record<K, AsyncTrial> {
  const trials = {} as Record<K, AsyncTrial>;
  for (const subject of subjects) {
    // Setup and collection happen in the page, inside `bench.run`.
    trials[subject] = async () => async () => page.evaluate(([g, s]) => globalThis.bench.run(g, s), [group, subject] as const);
  }
  return trials;
}

/** Starts Chromium on a fresh profile, opens the bench page and prepares its inputs (2 to 5 s). */
export async function openChromium(): Promise<ChromiumSession> {
  const served = await servePage('bench/storage/page.ts');
  const chrome = await startChromium(undefined, [process.env.BENCH_JS_FLAGS ?? '--js-flags=--expose-gc']);
  try {
    const context = chrome.browser.contexts()[0] ?? (await chrome.browser.newContext());
    const page = await context.newPage();
    if (process.env.BENCH_PAGE_LOG) page.on('console', (m) => console.log('page:', m.text()));
    await page.goto(served.url);
    await page.waitForFunction(() => document.title === 'ready');
    const agent = await page.evaluate(() => globalThis.bench.userAgent());
    const version = /Chrome\/([\d.]+)/.exec(agent)?.[1] ?? agent;
    await page.evaluate(() => globalThis.bench.prepare());
    return {
      version,
      bulk: remote(page, 'bulk', ['commit', 'receive', 'transact', 'raw'] as const),
      cold: remote(page, 'cold', ['log', 'snapshot', 'raw'] as const),
      live: remote(page, 'live', ['datsync', 'raw'] as const),
      close: async () => {
        await page.evaluate(() => globalThis.bench.clean()).catch(() => undefined);
        await chrome.close();
        await served.close();
        rmSync(chrome.userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await chrome.close();
    await served.close();
    rmSync(chrome.userDataDir, { recursive: true, force: true });
    throw error;
  }
}
