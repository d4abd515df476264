/**
 * IndexedDB persistence in real Chromium (issue 4): writes survive a reload,
 * a second tab sees the first tab's writes, and a browser killed mid-stream
 * restarts with a prefix of its transactions, never a partial one.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningChromium } from './chromium.js';
import { browserAvailable, startChromium } from './chromium.js';
import type { ServedPage } from './serve.js';
import { servePage } from './serve.js';

type Notes = Array<[number, string | null, string | null]>;

interface PageApi {
  open(): Promise<string>;
  write(seq: number): Promise<void>;
  writeForever(from: number): Promise<void>;
  notes(): Notes;
  waitForNotes(count: number): Promise<void>;
}

declare global {
  // The fixture page installs it; the tests reach it through page.evaluate.
  var page: PageApi;
}

async function openPage(chrome: RunningChromium, url: string): Promise<Page> {
  const context = chrome.browser.contexts()[0] ?? (await chrome.browser.newContext());
  const tab = await context.newPage();
  await tab.goto(url);
  await tab.waitForFunction(() => document.title === 'ready');
  return tab;
}

describe.runIf(browserAvailable())('IndexedDB storage in Chromium', () => {
  let served: ServedPage;
  beforeAll(async () => {
    served = await servePage('test/browser/fixtures/storage-page.ts');
  });
  afterAll(async () => {
    await served?.close();
  });

  it('keeps every write across a reload, and a second tab sees the first tab\u2019s writes', async () => {
    const chrome = await startChromium();
    try {
      const first = await openPage(chrome, served.url);
      const idFirst = await first.evaluate(() => globalThis.page.open());
      for (let seq = 0; seq < 5; seq++) await first.evaluate((n) => globalThis.page.write(n), seq);
      await first.reload();
      await first.waitForFunction(() => document.title === 'ready');
      expect(await first.evaluate(() => globalThis.page.open())).toBe(idFirst);
      expect(await first.evaluate(() => globalThis.page.notes())).toEqual([0, 1, 2, 3, 4].map((n) => [n, `text ${n}`, `tag ${n}`]));

      const second = await openPage(chrome, served.url);
      const idSecond = await second.evaluate(() => globalThis.page.open());
      expect(idSecond).not.toBe(idFirst);
      expect((await second.evaluate(() => globalThis.page.notes())).length).toBe(5);
      const seen = second.evaluate(() => globalThis.page.waitForNotes(6));
      await first.evaluate(() => globalThis.page.write(5));
      await seen;
      expect(await second.evaluate(() => globalThis.page.notes())).toContainEqual([5, 'text 5', 'tag 5']);
      // And back: the second tab's writes reach the first.
      const back = first.evaluate(() => globalThis.page.waitForNotes(7));
      await second.evaluate(() => globalThis.page.write(6));
      await back;
    } finally {
      await chrome.close();
    }
  });

  it('restarts after the browser is killed mid-stream with a prefix of whole transactions', async () => {
    let chrome = await startChromium();
    const dataDir = chrome.userDataDir;
    let acknowledged = -1;
    try {
      for (const afterAcks of [3, 17, 40]) {
        const tab = await openPage(chrome, served.url);
        await tab.evaluate(() => globalThis.page.open());
        const start = (await tab.evaluate(() => globalThis.page.notes())).length;
        let acks = 0;
        let enoughAcks: () => void = () => undefined;
        const enough = new Promise<void>((resolve) => {
          enoughAcks = resolve;
        });
        await tab.exposeFunction('acknowledge', (n: number) => {
          acknowledged = Math.max(acknowledged, n);
          if (++acks >= afterAcks) enoughAcks();
        });
        void tab.evaluate((from) => globalThis.page.writeForever(from), start).catch(() => undefined);
        await enough;
        await chrome.kill();
        chrome = await startChromium(dataDir);
        const check = await openPage(chrome, served.url);
        await check.evaluate(() => globalThis.page.open());
        const notes = await check.evaluate(() => globalThis.page.notes());
        expect(notes.map((n) => n[0])).toEqual(Array.from({ length: notes.length }, (_, i) => i));
        expect(notes.length - 1).toBeGreaterThanOrEqual(acknowledged);
        for (const [seq, text, tag] of notes) {
          expect(text).toBe(`text ${seq}`);
          expect(tag).toBe(`tag ${seq}`);
        }
        await check.close();
      }
    } finally {
      await chrome.close();
    }
  });
});
