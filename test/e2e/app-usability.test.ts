/**
 * The example app (issue 8) as a product, in Chromium: an installable PWA
 * (a manifest with its icons, a service worker that precaches exactly the
 * files of the build), usable with the keyboard alone, legible on a phone
 * (no sideways scrolling, every control named, tap targets of at least
 * 36 px, as docs/app.md says), the draft's Discard for everyone, and a
 * viewer who reads but changes nothing.
 *
 * Waits are on the DOM, never on time. Screenshots go to test-results/app/.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningChromium } from '../browser/chromium.js';
import { browserAvailable, startChromium } from '../browser/chromium.js';
import type { AppUnderTest, Person } from './app-harness.js';
import { addTask, boardOf, cardById, cardByTitle, openTask, SHOTS, signIn, startApp, statusIs } from './app-harness.js';

/** Every file under `dir`, as paths from it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/**
 * Presses Tab until `predicate` holds for the focused element; fails after
 * `max` presses. The predicate runs in the page, so it may use nothing but
 * its argument.
 */
async function tabTo(page: Page, what: string, predicate: (active: Element | null) => boolean, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate<boolean>(`(${predicate.toString()})(document.activeElement)`)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${what}`);
}

/**
 * What is wrong with the screen for a phone user: sideways scrolling, a
 * control without an accessible name, a visible tap target under 36 px
 * (a checkbox or radio counts with its label, which takes the tap too).
 * Inside an open dialog only the dialog is looked at.
 */
function phoneProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const root = document.scrollingElement ?? document.documentElement;
    if (root.scrollWidth > window.innerWidth) problems.push(`scrolls sideways: ${root.scrollWidth} px in ${window.innerWidth}`);
    const scope: ParentNode = document.querySelector('dialog[open]') ?? document;
    const controls = scope.querySelectorAll<HTMLElement>('button, input, select, textarea, summary, a[href]');
    for (const control of controls) {
      const box = control.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue; // not shown
      const labelled = control.getAttribute('aria-labelledby');
      const labels = 'labels' in control ? [...((control as HTMLInputElement).labels ?? [])] : [];
      const name = (
        control.getAttribute('aria-label') ?? (labelled === null ? '' : (document.getElementById(labelled)?.textContent ?? ''))
      ).trim();
      const labelText = labels.map((label) => label.textContent ?? '').join(' ');
      const ownText = control instanceof HTMLInputElement || control instanceof HTMLSelectElement ? '' : (control.textContent ?? '');
      const describe = `${control.tagName.toLowerCase()}${control.id === '' ? '' : `#${control.id}`} “${(name || labelText || ownText).trim().slice(0, 40)}”`;
      if (`${name}${labelText}${ownText}`.trim() === '') problems.push(`${describe}: no accessible name`);
      const toggle = control instanceof HTMLInputElement && (control.type === 'checkbox' || control.type === 'radio');
      let target: Element = control;
      if (toggle) {
        const label = control.closest('label') ?? labels[0];
        // The smallest element holding the input and its label: the area a tap on either lands in.
        if (label !== undefined && label !== null) {
          let common: Element | null = label;
          while (common !== null && !common.contains(control)) common = common.parentElement;
          target = common ?? control;
        }
      }
      const area = target.getBoundingClientRect();
      if (area.height < 36 || area.width < 36)
        problems.push(`${describe}: tap target ${Math.round(area.width)}×${Math.round(area.height)} px`);
    }
    return problems;
  });
}

describe.runIf(browserAvailable())('the task board as a product: PWA, keyboard, phone, discard, viewer', () => {
  let app: AppUnderTest;
  let chrome: RunningChromium;
  let ann: Person;
  let bob: Person;
  let retro: string;
  const errors: string[] = [];

  beforeAll(async () => {
    [app, chrome] = await Promise.all([startApp(), startChromium()]);
  });

  afterAll(async () => {
    await chrome?.close();
    await app?.close();
  });

  it('is an installable PWA: a manifest with its icons, and a service worker precaching every file of the build', async () => {
    const html = await (await fetch(app.url)).text();
    expect(html).toContain('<link rel="manifest" href="/manifest.webmanifest"');
    const manifest = (await (await fetch(new URL('/manifest.webmanifest', app.url))).json()) as {
      name: string;
      short_name: string;
      start_url: string;
      display: string;
      icons: Array<{ src: string; type: string; purpose: string }>;
    };
    expect(manifest).toMatchObject({ start_url: '/', display: 'standalone' });
    expect(manifest.name.length).toBeGreaterThan(0);
    expect(manifest.short_name.length).toBeGreaterThan(0);
    expect(manifest.icons.map((icon) => icon.purpose).sort()).toEqual(['any', 'maskable']);
    for (const icon of manifest.icons) {
      const response = await fetch(new URL(icon.src, app.url));
      expect(response.status, icon.src).toBe(200);
      expect(response.headers.get('content-type'), icon.src).toContain(icon.type);
    }

    // The worker's list is the build, file for file: the shell ('/') and every file but the worker itself.
    const worker = await (await fetch(new URL('/sw.js', app.url))).text();
    const precache = JSON.parse(/^const PRECACHE = (.*);$/m.exec(worker)?.[1] ?? 'null') as string[];
    const built = filesUnder(join(dirname(app.dataDir), 'dist'))
      .filter((name) => name !== 'sw.js')
      .map((name) => `/${name}`);
    expect([...precache].sort()).toEqual(['/', ...built].sort());
    for (const path of precache) expect((await fetch(new URL(path, app.url))).status, path).toBe(200);

    // Installed in a browser, its cache holds exactly that list.
    const context = await chrome.browser.newContext();
    const person = await signIn(context, app.url, 'Cy');
    const cached = await person.page.evaluate(async () => {
      const key = (await caches.keys()).find((name) => name.startsWith('app-shell-'));
      if (key === undefined) return [];
      return (await (await caches.open(key)).keys()).map((request) => new URL(request.url).pathname);
    });
    expect(cached.sort()).toEqual([...precache].sort());
    errors.push(...person.errors);
    await context.close();
  });

  it('works with the keyboard alone: sign in, add a task, edit and save it, move it, leave the editor', async () => {
    const context = await chrome.browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(app.url);
    // The sign-in screen starts on the first user (Ann); Tab reaches Sign in.
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value)).toBe('ann');
    await tabTo(page, 'Sign in', (active) => active?.textContent === 'Sign in');
    await page.keyboard.press('Enter');
    await statusIs(page, 'live');
    await page.locator('.new-task button:not([disabled])').waitFor();

    await tabTo(page, 'the new task’s title', (active) => active?.id === 'new-title');
    await page.keyboard.type('Plan the retro');
    await page.keyboard.press('Enter');
    await cardByTitle(page, 'Plan the retro').waitFor();
    retro = (await cardByTitle(page, 'Plan the retro').getAttribute('data-task-id')) ?? '';

    // Open its editor from its card, rename it, save with Enter.
    await tabTo(page, 'the card', (active) => active?.classList.contains('card-title') === true && active.textContent === 'Plan the retro');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('field-task-title');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('Plan the retro, with cake');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await cardByTitle(page, 'Plan the retro, with cake').waitFor();

    // Move it with its status menu: Tab to it, arrow down.
    await tabTo(
      page,
      'the status menu',
      (active) =>
        active?.classList.contains('card-status') === true && active.closest('.card')?.textContent?.includes('with cake') === true,
    );
    await page.keyboard.press('ArrowDown');
    await page.locator(`[data-column="doing"] .card[data-task-id="${retro}"]`).waitFor();
    // The card moved to another column, and focus with it: the next arrow moves it on.
    const focusedMenu = () => page.evaluate(() => document.activeElement?.getAttribute('data-key'));
    expect(await focusedMenu()).toBe(`status:${retro}`);
    await page.keyboard.press('ArrowDown');
    await page.locator(`[data-column="done"] .card[data-task-id="${retro}"]`).waitFor();
    expect(await focusedMenu()).toBe(`status:${retro}`);
    await page.keyboard.press('ArrowUp');
    await page.locator(`[data-column="doing"] .card[data-task-id="${retro}"]`).waitFor();

    // Open and leave with Escape: focus goes back to the card it was opened from.
    await tabTo(
      page,
      'the card',
      (active) => active?.classList.contains('card-title') === true && active.textContent === 'Plan the retro, with cake',
    );
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.closest('.card')?.getAttribute('data-task-id'))).toBe(retro);
    await context.close();
  });

  it('is legible on a phone: no sideways scrolling, every control named, tap targets of at least 36 px', async () => {
    const context = await chrome.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await phoneProblems(page)).toEqual([]);
    await context.close();

    const [annContext, bobContext] = await Promise.all([
      chrome.browser.newContext({ viewport: { width: 1200, height: 800 } }),
      chrome.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }),
    ]);
    ann = await signIn(annContext, app.url, 'Ann');
    bob = await signIn(bobContext, app.url, 'Bob');
    await addTask(bob, 'A task with a rather long title that has to wrap on a narrow phone screen');
    await cardByTitle(bob.page, 'Plan the retro, with cake').waitFor();
    expect(await phoneProblems(bob.page)).toEqual([]);
    const dialog = await openTask(bob.page, retro);
    await dialog.locator('[data-history="task/title"] summary').click();
    expect(await phoneProblems(bob.page)).toEqual([]);
    await bob.page.screenshot({ path: join(SHOTS, '10-editor-phone.png') });
    await bob.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('discards a draft for everyone: the co-editor’s form is the saved task again, told who discarded it; no board showed it', async () => {
    const annDialog = await openTask(ann.page, retro);
    const bobDialog = await openTask(bob.page, retro);
    await annDialog.locator('.presence .who', { hasText: 'Bob' }).waitFor();
    const title = annDialog.getByLabel('Title');
    await title.press('End');
    await title.pressSequentially(' (maybe)');
    await bob.page.waitForFunction(
      () => document.querySelector<HTMLInputElement>('#field-task-title')?.value === 'Plan the retro, with cake (maybe)',
    );

    const discard = annDialog.getByRole('button', { name: 'Discard changes' });
    await discard.click();
    // A second step, so one slip does not throw away everyone's typing.
    await annDialog.getByRole('button', { name: 'Discard for everyone' }).click();
    await annDialog.waitFor({ state: 'detached' });
    await bobDialog.getByText('Ann discarded the changes to this task.').waitFor();
    await bob.page.waitForFunction(
      () => document.querySelector<HTMLInputElement>('#field-task-title')?.value === 'Plan the retro, with cake',
    );
    for (const { page } of [ann, bob]) {
      expect(await cardById(page, retro).locator('.card-title').textContent()).toBe('Plan the retro, with cake');
      expect((await boardOf(page)).map(([, cardTitle]) => cardTitle)).not.toContain('Plan the retro, with cake (maybe)');
    }
    await bobDialog.getByRole('button', { name: 'Close' }).click();
    await bobDialog.waitFor({ state: 'detached' });
    const again = await openTask(ann.page, retro);
    expect(await again.getByLabel('Title').inputValue()).toBe('Plan the retro, with cake');
    await ann.page.keyboard.press('Escape');
    await again.waitFor({ state: 'detached' });
  });

  it('asks before saving over a change saved meanwhile: Save mine anyway, or Take theirs', async () => {
    const column = (page: Page, status: string) => page.locator(`[data-column="${status}"] .card[data-task-id="${retro}"]`);
    // Bob sets the status in his form; meanwhile Ann moves the task on her board (a plain write, outside the draft).
    const raced = async (mine: string, theirs: 'todo' | 'doing' | 'done') => {
      const dialog = await openTask(bob.page, retro);
      await dialog.getByLabel('Status').selectOption(mine);
      await cardById(ann.page, retro).locator('select.card-status').selectOption(theirs);
      await column(bob.page, theirs).waitFor();
      await dialog.getByRole('button', { name: 'Save' }).click();
      const choice = dialog.getByRole('group', { name: 'Changed meanwhile' });
      await choice.waitFor();
      return { dialog, choice };
    };

    const first = await raced('done', 'todo');
    expect(await first.choice.textContent()).toContain('Status: someone saved “To do” while you wrote “Done”.');
    await bob.page.screenshot({ path: join(SHOTS, '11-draft-conflict-phone.png') });
    await first.choice.getByRole('button', { name: 'Save mine anyway' }).click();
    await first.dialog.waitFor({ state: 'detached' });
    for (const { page } of [ann, bob]) await column(page, 'done').waitFor();

    const second = await raced('doing', 'todo');
    await second.choice.getByRole('button', { name: 'Take theirs' }).click();
    await second.choice.waitFor({ state: 'detached' });
    expect(await second.dialog.getByLabel('Status').inputValue()).toBe('todo');
    await bob.page.keyboard.press('Escape');
    await second.dialog.waitFor({ state: 'detached' });
    for (const { page } of [ann, bob]) expect(await column(page, 'todo').count()).toBe(1);
  });

  it('lets a viewer read public tasks and change nothing', async () => {
    await addTask(ann, 'Ann’s own errand', { private: true });
    // Written after it: once Cy has this one, Cy has been sent everything before it.
    await addTask(ann, 'Order the cake');
    await statusIs(ann.page, 'live', 0);
    const context = await chrome.browser.newContext({ viewport: { width: 1200, height: 800 } });
    const cy = await signIn(context, app.url, 'Cy');
    await cardByTitle(cy.page, 'Order the cake').waitFor();
    expect(await cy.page.content()).not.toContain('errand');
    expect(await cy.page.getByRole('form', { name: 'Add a task' }).count()).toBe(0);
    expect(await cardById(cy.page, retro).locator('select.card-status').isDisabled()).toBe(true);
    expect((await boardOf(cy.page)).map(([, cardTitle]) => cardTitle)).not.toContain('Ann’s own errand');
    const dialog = await openTask(cy.page, retro);
    await dialog.getByText('You can read this task but not change it.').waitFor();
    expect(await dialog.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(await dialog.getByLabel('Title').isDisabled()).toBe(true);
    errors.push(...cy.errors);
    await context.close();
  });

  it('logged no errors, in the pages or on the server', () => {
    expect(errors).toEqual([]);
    expect(ann.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
    expect(app.errors).toEqual([]);
  });
});
