/**
 * Drafts in real IndexedDB (issue 7): a draft edited offline in a Chromium
 * page survives a reload, and once the client is back online it is bound to
 * the server's draft and co-edited with another client. Waits are on draft
 * and page events, never on sleeps.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { draftServer, until, userClient } from '../drafts/harness.js';
import { schema } from '../sync/harness.js';
import { browserAvailable, startChromium } from './chromium.js';
import type { DraftsPage } from './fixtures/drafts-page.js';
import { servePage } from './serve.js';

declare global {
  // The fixture page installs it; the test reaches it through page.evaluate.
  var draftsPage: DraftsPage;
}

async function ready(tab: Page): Promise<void> {
  await tab.waitForFunction(() => document.title === 'ready');
}

describe.runIf(browserAvailable())('drafts in IndexedDB in Chromium', () => {
  it('keeps a draft edited offline across a reload, then binds it to the server and co-edits it', async () => {
    const server = await draftServer();
    const served = await servePage('test/browser/fixtures/drafts-page.ts');
    const chrome = await startChromium();
    const ben = await userClient(server.url, 'ben');
    try {
      await ben.transact([{ ':db/id': 't', 'task/title': 'Plan' }], { confirmed: true });
      const context = chrome.browser.contexts()[0] ?? (await chrome.browser.newContext());
      const tab = await context.newPage();
      await tab.goto(served.url);
      await ready(tab);
      const open = () => tab.evaluate(([s, url]) => globalThis.draftsPage.open(s, url, 'token-ann'), [schema, server.url] as const);
      await open();
      const id = await tab.evaluate(() => globalThis.draftsPage.taskTitled('Plan'));

      // Offline, the draft is this client's own copy, stored at each change.
      await tab.evaluate(() => globalThis.draftsPage.disconnect());
      expect(await tab.evaluate((e) => globalThis.draftsPage.openDraft(e), id)).toMatchObject({ title: 'Plan', shared: false });
      await tab.evaluate(() => {
        globalThis.draftsPage.append(' the offsite');
        return globalThis.draftsPage.saved();
      });

      await tab.reload();
      await ready(tab);
      await open();
      expect(await tab.evaluate((e) => globalThis.draftsPage.openDraft(e), id)).toMatchObject({
        title: 'Plan the offsite',
        shared: false,
      });

      // The reopened client reaches the server: the draft is bound to the server's, and co-edited both ways.
      await tab.evaluate(() => globalThis.draftsPage.live());
      const coEdit = await ben.openDraft(id, { fields: ['task/title'] });
      await until(coEdit, () => coEdit.value('task/title') === 'Plan the offsite');
      coEdit.text('task/title').insert(0, 'Ben: ');
      await tab.evaluate(() => globalThis.draftsPage.titleBecomes('Ben: Plan the offsite'));
      await tab.evaluate(() => globalThis.draftsPage.append(' in May'));
      await until(coEdit, () => coEdit.value('task/title') === 'Ben: Plan the offsite in May');
    } finally {
      await ben.close();
      await chrome.close();
      await served.close();
      await server.close();
    }
  });
});
