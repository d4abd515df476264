/**
 * The example app (examples/app) for end-to-end tests: built with Vite into
 * a temporary directory, served by the same code as `datsync serve --config
 * examples/app/server.config.js` on SQLite in a temporary data directory,
 * and driven in Chromium through its user interface.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import type { ServedApp } from '../../src/serve/app.js';
import { serveApp } from '../../src/serve/app.js';
import { loadConfig } from '../../src/serve/config.js';
import { SqliteStorage } from '../../storage/sqlite.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Screenshots of the run (gitignored); the best are copied to docs/images by hand. */
export const SHOTS = join(root, 'test-results', 'app');

export interface AppUnderTest extends ServedApp {
  readonly dataDir: string;
  readonly errors: unknown[];
}

export async function startApp(): Promise<AppUnderTest> {
  const work = mkdtempSync(join(tmpdir(), 'datsync-app-'));
  const staticDir = join(work, 'dist');
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  await build({
    configFile: join(root, 'examples', 'app', 'vite.config.ts'),
    build: { outDir: staticDir, emptyOutDir: true, sourcemap: false },
    logLevel: 'error',
  });
  const config = await loadConfig(join(root, 'examples', 'app', 'server.config.js'), { staticDir });
  const errors: unknown[] = [];
  const app = await serveApp({
    config,
    dataDir,
    storage: new SqliteStorage(join(dataDir, 'datsync.db')),
    port: 0,
    host: '127.0.0.1',
    onError: (error) => errors.push(error),
  });
  mkdirSync(SHOTS, { recursive: true });
  return {
    ...app,
    dataDir,
    errors,
    close: async () => {
      await app.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** One person at one browser: a context of their own (own storage, own network switch). */
export interface Person {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Errors the page threw or logged (a blocked WebSocket while offline excepted). */
  readonly errors: string[];
}

export async function signIn(context: BrowserContext, url: string, name: string, shot?: string): Promise<Person> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !/ERR_INTERNET_DISCONNECTED/.test(text)) errors.push(text);
  });
  await page.goto(url);
  await page.getByRole('radio', { name: new RegExp(`^${name}\\b`) }).check();
  if (shot !== undefined) await page.screenshot({ path: join(SHOTS, shot) });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await statusIs(page, 'live');
  // The service worker controls the page once it has activated: from then on the app opens offline.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return { name, context, page, errors };
}

export async function statusIs(page: Page, state: 'offline' | 'syncing' | 'live', pending?: number): Promise<void> {
  const selector = `.status[data-state="${state}"]${pending === undefined ? '' : `[data-pending="${pending}"]`}`;
  await page.locator(selector).waitFor();
}

export function cardById(page: Page, id: string) {
  return page.locator(`.card[data-task-id="${id}"]`);
}

export function cardByTitle(page: Page, title: string) {
  return page.locator('.card').filter({ has: page.getByRole('button', { name: title, exact: true }) });
}

export async function addTask(person: Person, title: string, options: { private?: boolean } = {}): Promise<string> {
  const { page } = person;
  const form = page.getByRole('form', { name: 'Add a task' });
  await form.getByRole('textbox', { name: 'New task' }).fill(title);
  await form.getByRole('checkbox', { name: 'Private' }).setChecked(options.private === true);
  await form.getByRole('button', { name: 'Add' }).click();
  const card = cardByTitle(page, title);
  await card.waitFor();
  const id = await card.getAttribute('data-task-id');
  if (id === null) throw new Error(`no id on the card of ${title}`);
  return id;
}

/** Moves a task with its card's status menu. */
export async function moveTask(page: Page, id: string, status: 'todo' | 'doing' | 'done'): Promise<void> {
  await cardById(page, id).locator('select.card-status').selectOption(status);
}

/** Opens a task's editor; resolves with the dialog. */
export async function openTask(page: Page, id: string) {
  await cardById(page, id).locator('.card-title').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  return dialog;
}

/** Every card the page shows: [column, title, id, marks]. */
export function boardOf(page: Page): Promise<string[][]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.column')].flatMap((column) =>
      [...column.querySelectorAll<HTMLElement>('.card')].map((card) => [
        column.dataset.column ?? '',
        card.querySelector('.card-title')?.textContent ?? '',
        card.dataset.taskId ?? '',
        [...card.querySelectorAll('.badge')].map((badge) => badge.textContent).join(','),
      ]),
    ),
  );
}

/**
 * Which of `needles` appear anywhere in the IndexedDB databases of the
 * page's origin: in keys and values, byte arrays read as UTF-8 (datsync's
 * encodings write strings as WTF-8) and as Latin-1.
 */
export function indexedDbMentions(page: Page, needles: readonly string[]): Promise<string[]> {
  return page.evaluate(async (needles) => {
    const texts: string[] = [];
    const utf8 = new TextDecoder('utf-8');
    const latin1 = new TextDecoder('latin1');
    const collect = (value: unknown, depth: number): void => {
      if (depth > 50 || value === null || value === undefined) return;
      if (typeof value === 'string') texts.push(value);
      else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
        const bytes =
          value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        texts.push(utf8.decode(bytes), latin1.decode(bytes));
      } else if (Array.isArray(value)) for (const item of value) collect(item, depth + 1);
      else if (value instanceof Map) for (const [k, v] of value) collect([k, v], depth + 1);
      else if (typeof value === 'object') for (const item of Object.values(value)) collect(item, depth + 1);
    };
    const request = <T>(r: IDBRequest<T>): Promise<T> =>
      new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    const databases = await indexedDB.databases();
    for (const { name } of databases) {
      if (name === undefined) continue;
      const db = await request(indexedDB.open(name));
      for (const storeName of db.objectStoreNames) {
        const store = db.transaction(storeName).objectStore(storeName);
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        collect(keys, 0);
        collect(values, 0);
      }
      db.close();
    }
    return needles.filter((needle) => texts.some((text) => text.includes(needle)));
  }, needles);
}
