/**
 * The example app (issue 8), end to end in Chromium: two people at two
 * browsers edit one board; one goes offline, edits, reloads with no network
 * and finds the app and the data, comes back and both converge; concurrent
 * edits of one field show the same winner and a conflict marker on both
 * sides until someone picks a value; a private task never reaches the user
 * who may not read it, neither the page nor IndexedDB.
 *
 * Waits are on the DOM (Playwright's locators), never on time. Screenshots
 * go to test-results/app/.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningChromium } from '../browser/chromium.js';
import { browserAvailable, startChromium } from '../browser/chromium.js';
import type { AppUnderTest, Person } from './app-harness.js';
import {
  addTask,
  boardOf,
  cardById,
  cardByTitle,
  indexedDbMentions,
  moveTask,
  openTask,
  SHOTS,
  signIn,
  startApp,
  statusIs,
} from './app-harness.js';

const publicCards = (board: string[][]): string[][] => board.filter(([, , , marks]) => !marks?.includes('Private'));

describe.runIf(browserAvailable())('the task board in Chromium', () => {
  let app: AppUnderTest;
  let chrome: RunningChromium;
  let ann: Person;
  let bob: Person;
  let launchPost: string;

  beforeAll(async () => {
    [app, chrome] = await Promise.all([startApp(), startChromium()]);
    const [annContext, bobContext] = await Promise.all([
      chrome.browser.newContext({ viewport: { width: 1200, height: 800 } }),
      chrome.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }),
    ]);
    ann = await signIn(annContext, app.url, 'Ann', '01-sign-in.png');
    bob = await signIn(bobContext, app.url, 'Bob');
  });

  afterAll(async () => {
    await chrome?.close();
    await app?.close();
  });

  it('shows each person the other’s edits as they happen', async () => {
    launchPost = await addTask(ann, 'Write the launch post');
    await cardById(bob.page, launchPost).waitFor();

    await moveTask(bob.page, launchPost, 'doing');
    await ann.page.locator(`[data-column="doing"] .card[data-task-id="${launchPost}"]`).waitFor();
    const dialog = await openTask(bob.page, launchPost);
    await dialog.getByLabel('Tags').fill('writing, launch');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await cardById(ann.page, launchPost).locator('.tag', { hasText: 'launch' }).waitFor();

    const pricing = await addTask(bob, 'Review the pricing page');
    await moveTask(ann.page, pricing, 'doing');
    await bob.page.locator(`[data-column="doing"] .card[data-task-id="${pricing}"]`).waitFor();
    await statusIs(ann.page, 'live', 0);
    await statusIs(bob.page, 'live', 0);
    expect(await boardOf(bob.page)).toEqual(await boardOf(ann.page));
    await ann.page.screenshot({ path: join(SHOTS, '02-board.png') });
    await bob.page.screenshot({ path: join(SHOTS, '02-board-phone.png') });
  });

  it('never lets Bob see Ann’s private task: not on the page, not in IndexedDB', async () => {
    const secret = 'Plan the surprise party for Bob';
    const hidden = await addTask(ann, secret, { private: true });
    await cardById(ann.page, hidden).filter({ hasText: 'Private' }).waitFor();
    // A public task written after it: once Bob has it, Bob's replica has been sent everything before it.
    await addTask(ann, 'Book the venue');
    await cardByTitle(bob.page, 'Book the venue').waitFor();
    await statusIs(ann.page, 'live', 0);

    expect(await bob.page.content()).not.toContain(hidden);
    expect(await bob.page.content()).not.toContain('surprise party');
    expect(await indexedDbMentions(bob.page, [secret, hidden])).toEqual([]);
    // The same search finds it where it belongs, so it can find it at all.
    expect(await indexedDbMentions(ann.page, [secret, hidden])).toEqual([secret, hidden]);
    expect(publicCards(await boardOf(ann.page))).toEqual(await boardOf(bob.page));
  });

  it('keeps working offline, reloads with no network, and converges when back', async () => {
    await bob.context.setOffline(true);
    await statusIs(bob.page, 'offline');
    const idea = await addTask(bob, 'Sketch the offline banner');
    const venue = (await cardByTitle(bob.page, 'Book the venue').getAttribute('data-task-id')) ?? '';
    await moveTask(bob.page, venue, 'done');
    await statusIs(bob.page, 'offline', 2);

    const reloaded = await bob.page.reload();
    expect(reloaded?.fromServiceWorker()).toBe(true); // the app itself came from the service worker's cache
    await cardById(bob.page, idea).waitFor(); // and the data from IndexedDB
    await bob.page.locator(`[data-column="done"] .card[data-task-id="${venue}"]`).waitFor();
    await statusIs(bob.page, 'offline', 2);
    await bob.page.screenshot({ path: join(SHOTS, '03-offline-phone.png') });
    expect(await cardById(ann.page, idea).count()).toBe(0);

    await bob.context.setOffline(false);
    await statusIs(bob.page, 'live', 0);
    await cardById(ann.page, idea).waitFor();
    await ann.page.locator(`[data-column="done"] .card[data-task-id="${venue}"]`).waitFor();
    await statusIs(ann.page, 'live', 0);
    expect(publicCards(await boardOf(ann.page))).toEqual(await boardOf(bob.page));
  });

  it('shows concurrent edits of one field as the same winner and a conflict on both sides, until someone picks', async () => {
    await ann.context.setOffline(true);
    await statusIs(ann.page, 'offline');
    await moveTask(ann.page, launchPost, 'done');
    await statusIs(ann.page, 'offline', 1);
    await moveTask(bob.page, launchPost, 'todo');
    await statusIs(bob.page, 'live', 0);

    await ann.context.setOffline(false);
    await statusIs(ann.page, 'live', 0);
    for (const { page } of [ann, bob]) await cardById(page, launchPost).locator('[data-conflict-marker]').waitFor();
    const [annBoard, bobBoard] = await Promise.all([boardOf(ann.page), boardOf(bob.page)]);
    const winner = annBoard.find(([, , id]) => id === launchPost)?.[0];
    expect(['done', 'todo']).toContain(winner);
    expect(publicCards(annBoard)).toEqual(bobBoard); // the same winner on both sides
    await bob.page.screenshot({ path: join(SHOTS, '04-conflict-phone.png') });
    await ann.page.screenshot({ path: join(SHOTS, '04-conflict-board.png') });

    const dialogs = await Promise.all([ann, bob].map(({ page }) => openTask(page, launchPost)));
    for (const dialog of dialogs) {
      const conflict = dialog.getByRole('group', { name: 'Conflicting values for Status' });
      expect((await conflict.getByRole('button').allTextContents()).sort()).toEqual(['Keep “Done”', 'Keep “To do”']);
    }
    await ann.page.screenshot({ path: join(SHOTS, '04-conflict.png') });

    // Bob keeps Ann's move: the conflict ends on both sides, with the task done.
    await dialogs[1]?.getByRole('button', { name: 'Keep “Done”' }).click();
    for (const [index, { page }] of [ann, bob].entries()) {
      await dialogs[index]?.getByRole('group', { name: 'Conflicting values for Status' }).waitFor({ state: 'detached' });
      await page.keyboard.press('Escape');
      await page.locator(`[data-column="done"] .card[data-task-id="${launchPost}"]`).waitFor();
      expect(await cardById(page, launchPost).locator('[data-conflict-marker]').count()).toBe(0);
    }
  });

  it('shows the history of a field', async () => {
    for (const [person, title] of [
      [ann, 'Launch post: the story'],
      [bob, 'Launch post: the numbers'],
    ] as const) {
      const dialog = await openTask(person.page, launchPost);
      await dialog.getByLabel('Title').fill(title);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'detached' });
      for (const { page } of [ann, bob]) await cardByTitle(page, title).waitFor();
    }
    const dialog = await openTask(ann.page, launchPost);
    const history = dialog.locator('[data-history="task/title"]');
    await history.locator('summary').click();
    expect(await history.locator('li q').allTextContents()).toEqual([
      'Launch post: the numbers',
      'Launch post: the story',
      'Write the launch post',
    ]);
    expect(await history.locator('li').first().textContent()).toContain('another device · current');
    await ann.page.screenshot({ path: join(SHOTS, '05-history.png') });
    await ann.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Focus went back to the task the editor was opened from.
    expect(await ann.page.evaluate(() => document.activeElement?.closest('.card')?.getAttribute('data-task-id'))).toBe(launchPost);
  });

  it('shows a draft live in the co-editor’s form, and in no list until it is saved', async () => {
    const pricing = (await cardByTitle(ann.page, 'Review the pricing page').getAttribute('data-task-id')) ?? '';
    const annDialog = await openTask(ann.page, pricing);
    const bobDialog = await openTask(bob.page, pricing);
    await annDialog.locator('.presence .who', { hasText: 'Bob' }).waitFor();
    await bobDialog.locator('.presence .who', { hasText: 'Ann' }).waitFor();

    // Ann types at the end of the title, key by key; Bob writes notes.
    const title = annDialog.getByLabel('Title');
    await title.press('End');
    await title.pressSequentially(' and the FAQ');
    const drafted = 'Review the pricing page and the FAQ';
    await bobDialog.getByLabel('Notes').fill('Compare with last year');
    await bob.page.waitForFunction((value) => document.querySelector<HTMLInputElement>('#field-task-title')?.value === value, drafted);
    await ann.page.waitForFunction(
      () => document.querySelector<HTMLTextAreaElement>('#field-task-notes')?.value === 'Compare with last year',
    );
    await bobDialog.locator('[data-field="task/title"] .field-presence', { hasText: 'Ann editing' }).waitFor();
    await bob.page.screenshot({ path: join(SHOTS, '06-draft-phone.png') });
    await ann.page.screenshot({ path: join(SHOTS, '06-draft.png') });

    // Neither board shows the draft.
    for (const { page } of [ann, bob]) {
      expect(await cardById(page, pricing).locator('.card-title').textContent()).toBe('Review the pricing page');
      expect((await boardOf(page)).map(([, cardTitle]) => cardTitle)).not.toContain(drafted);
    }

    // Ann saves: both changes in one transaction; Bob's form closes, saying who saved it.
    await annDialog.getByRole('button', { name: 'Save' }).click();
    await annDialog.waitFor({ state: 'detached' });
    for (const { page } of [ann, bob]) await cardByTitle(page, drafted).waitFor();
    await bobDialog.waitFor({ state: 'detached' });
    expect(await bob.page.locator('#announcer').textContent()).toBe('Ann saved this task.');
    const reopened = await openTask(bob.page, pricing);
    expect(await reopened.getByLabel('Notes').inputValue()).toBe('Compare with last year');
    await reopened.getByRole('button', { name: 'Close' }).click();
    await reopened.waitFor({ state: 'detached' });
  });

  it('logged no errors, in the pages or on the server', () => {
    expect(ann.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
    expect(app.errors).toEqual([]);
  });
});
