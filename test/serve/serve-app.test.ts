/**
 * `datsync serve --config` (src/serve): the config module is checked with
 * errors that say what is wrong; the app's files are served, and nothing
 * outside their directory; POST /login issues tokens the server accepts,
 * signed with a secret kept in the data directory across restarts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServedApp } from '../../src/serve/app.js';
import { serveApp, tokenSecret } from '../../src/serve/app.js';
import { loadConfig } from '../../src/serve/config.js';
import { tokenAuthenticator } from '../../src/server/tokens.js';
import { MemoryStorage } from '../../storage/memory.js';
import { expectDatsyncError, rejection } from '../client/helpers.js';

const dirs: string[] = [];
const apps: ServedApp[] = [];

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'datsync-serve-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const goodConfig = `
export const schema = { 'note/text': { ':db/valueType': ':db.type/string' } };
export const permissions = { read: { 'note/*': true }, write: { 'note/*': true } };
export const authentication = { type: 'tokens', expiresIn: '1h', login: (c) => (c?.user === 'ann' ? { sub: 'ann', role: 'member' } : null) };
export const staticDir = './public';
`;

function writeConfig(dir: string, text: string, name = 'app.config.js'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function start(dir: string, secret?: string): Promise<ServedApp> {
  const config = await loadConfig(writeConfig(dir, goodConfig));
  const app = await serveApp({
    config,
    dataDir: join(dir, 'data'),
    tokenSecret: secret,
    storage: new MemoryStorage(),
    port: 0,
    host: '127.0.0.1',
    onError: (error) => {
      throw error;
    },
  });
  apps.push(app);
  return app;
}

function appDir(): string {
  const dir = workDir();
  mkdirSync(join(dir, 'public', 'assets'), { recursive: true });
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'public', 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dir, 'public', 'assets', 'main-abc123.js'), 'console.log(1);');
  writeFileSync(join(dir, 'secret.txt'), 'not for the web');
  return dir;
}

/** A raw GET, so that `..` reaches the server as written. */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}x`, { path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('loadConfig', () => {
  it('loads the exports, resolving staticDir against the config file', async () => {
    const dir = appDir();
    const config = await loadConfig(writeConfig(dir, goodConfig));
    expect(config.staticDir).toBe(join(dir, 'public'));
    expect(Object.keys(config.schema)).toEqual(['note/text']);
    expect(typeof config.authentication === 'object' && config.authentication.type).toBe('tokens');
  });

  it.each([
    ['a missing schema', goodConfig.replace(/export const schema = .*\n/, ''), '"schema" must be the schema object'],
    ['missing permissions', goodConfig.replace(/export const permissions = .*\n/, ''), '"permissions" must be { read, write } rules'],
    ['permissions without write rules', goodConfig.replace(/, write: \{[^}]*\}/, ''), '"permissions" must be { read, write } rules'],
    ['no authentication', goodConfig.replace(/export const authentication = .*\n/, ''), '"authentication" must be'],
    ['an unknown authentication type', goodConfig.replace("type: 'tokens'", "type: 'magic'"), '"authentication" must be'],
    ['a login that is not a function', goodConfig.replace(/login: .*\) \};/, "login: 'ann' };"), 'has a login that is not a function'],
    ['a bad expiresIn', goodConfig.replace("expiresIn: '1h'", 'expiresIn: -5'), 'has a bad expiresIn'],
    [
      'a static directory that does not exist',
      goodConfig.replace("'./public'", "'./dist'"),
      'which is not a directory (is the app built?)',
    ],
  ])('refuses %s, saying which export is wrong', async (_, text, message) => {
    const dir = appDir();
    const file = writeConfig(dir, text);
    const error = expectDatsyncError(await rejection(loadConfig(file)), 'invalid-schema');
    expect(error.message).toContain(file);
    expect(error.message).toContain(message);
  });

  it('serves the directory the caller names instead of the module’s, which then need not exist', async () => {
    const dir = appDir();
    const file = writeConfig(dir, goodConfig.replace("'./public'", "'./dist'"));
    expect((await loadConfig(file, { staticDir: join(dir, 'public') })).staticDir).toBe(join(dir, 'public'));
    expect((await loadConfig(file, { staticDir: null })).staticDir).toBeUndefined();
    const error = expectDatsyncError(await rejection(loadConfig(file, { staticDir: join(dir, 'nowhere') })), 'invalid-schema');
    expect(error.message).toContain('which is not a directory');
  });

  it('refuses a module that does not load, with the reason', async () => {
    const dir = workDir();
    const error = expectDatsyncError(await rejection(loadConfig(writeConfig(dir, 'export const schema = {;'))), 'invalid-schema');
    expect(error.message).toContain('cannot load the config');
    const missing = expectDatsyncError(await rejection(loadConfig(join(dir, 'missing.js'))), 'invalid-schema');
    expect(missing.message).toContain('cannot load the config');
  });
});

describe('serveApp', () => {
  it('serves the app’s files with their types and caching, and nothing outside their directory', async () => {
    const app = await start(appDir());
    const index = await fetch(app.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<title>app</title>');
    const asset = await fetch(`${app.url}assets/main-abc123.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${app.url}nothing.js`)).status).toBe(404);
    expect((await fetch(`${app.url}index.html`, { method: 'POST' })).status).toBe(404);
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00', '/%E0%A4%A']) {
      const response = await rawGet(app.url, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain('not for the web');
    }
  });

  it('issues tokens at POST /login that the sync server accepts, with a secret kept in the data directory', async () => {
    const dir = appDir();
    const app = await start(dir);
    const login = (body: string, method = 'POST') => fetch(`${app.url}login`, { method, body: method === 'GET' ? null : body });
    const ok = await login(JSON.stringify({ user: 'ann' }));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const { token, claims } = (await ok.json()) as { token: string; claims: unknown };
    expect(claims).toEqual({ sub: 'ann', role: 'member' });
    expect((await login(JSON.stringify({ user: 'zed' }))).status).toBe(401);
    expect((await login('{not json')).status).toBe(400);
    expect((await login('', 'GET')).status).toBe(405);
    expect((await login(JSON.stringify({ user: 'x'.repeat(10_000) }))).status).toBe(413);

    const secretFile = join(dir, 'data', 'token-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const identity = await tokenAuthenticator({ secret: readFileSync(secretFile, 'utf8') })(token);
    expect(identity).toMatchObject({ sub: 'ann', role: 'member' });
    // Restarting keeps the secret: tokens issued before still hold.
    expect(tokenSecret(join(dir, 'data'))).toBe(readFileSync(secretFile, 'utf8'));
    await apps.pop()?.close();
    await start(dir);
    expect(tokenSecret(join(dir, 'data'))).toBe(readFileSync(secretFile, 'utf8'));
  });

  it('takes the token secret from its options instead, for nodes that share one log', async () => {
    const dir = appDir();
    const secret = 'a-secret-every-node-is-given-by-its-environment';
    const app = await start(dir, secret);
    const { token } = (await (await fetch(`${app.url}login`, { method: 'POST', body: '{"user":"ann"}' })).json()) as { token: string };
    expect(await tokenAuthenticator({ secret })(token)).toMatchObject({ sub: 'ann' });
    expect(statSync(join(dir, 'data', 'token-secret'), { throwIfNoEntry: false })).toBeUndefined();
  });
});
