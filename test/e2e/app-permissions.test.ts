/**
 * The example app's server config (examples/app/server.config.js) enforces
 * what the app promises, whatever a client sends: a private task is its
 * owner's alone (nobody else reads it or changes it, even knowing its id),
 * viewers change nothing, and each user creates only their own user entity.
 * Node clients with tokens from the config's POST /login.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DatsyncError } from '../../crdt/index.js';
import type { DatsyncClient, EntityId, SchemaInput } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';
import type { ServedApp } from '../../src/serve/app.js';
import { serveApp } from '../../src/serve/app.js';
import { loadConfig } from '../../src/serve/config.js';
import { MemoryStorage } from '../../storage/memory.js';
import { expectDatsyncError, rejection } from '../client/helpers.js';

const config = fileURLToPath(new URL('../../examples/app/server.config.js', import.meta.url));

describe('the example app’s permissions', () => {
  let app: ServedApp;
  let dataDir: string;
  let schema: SchemaInput;
  const clients: DatsyncClient[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'datsync-app-perms-'));
    const loaded = await loadConfig(config, { staticDir: null });
    schema = loaded.schema;
    app = await serveApp({
      config: loaded,
      dataDir,
      storage: new MemoryStorage(),
      port: 0,
      host: '127.0.0.1',
      onError: (error) => errors.push(error),
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function signIn(user: string): Promise<DatsyncClient> {
    const response = await fetch(`${app.url}login`, { method: 'POST', body: JSON.stringify({ user }) });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const c = await createClient({ schema, url: `${app.url.replace('http', 'ws')}sync`, token, WebSocket });
    clients.push(c);
    // Strong mode waits for the connection, and for the server's word.
    await c.transact([{ 'user/name': user }], { confirmed: true });
    return c;
  }

  /** The server's reason for refusing a write as forbidden. */
  const forbidden = async (write: Promise<unknown>): Promise<string> => expectDatsyncError(await rejection(write), 'forbidden').message;

  it('keeps a private task its owner’s, and lets viewers read public tasks but change nothing', async () => {
    const [ann, bob, cy] = [await signIn('ann'), await signIn('bob'), await signIn('cy')];
    const task = (title: string, isPrivate: boolean) => [
      { ':db/id': 't', 'task/title': title, 'task/status': 'todo', 'task/private': isPrivate, 'task/owner': ['user/name', 'ann'] },
    ];
    const secret = (await ann.transact(task('Ann’s secret', true), { confirmed: true })).entityIds.t as EntityId;
    const open = (await ann.transact(task('Ann’s public task', false), { confirmed: true })).entityIds.t as EntityId;
    await Promise.all([bob.whenSynced(), cy.whenSynced()]);

    for (const reader of [bob, cy]) {
      expect(reader.pull('["task/title"]', open)).toEqual({ 'task/title': 'Ann’s public task' });
      expect(reader.pull('["task/title"]', secret)).toBeNull();
    }
    // Knowing the id is not enough to change it, nor to hide a task from others; viewers change nothing; nobody is someone else.
    const privateOne = 'a private task belongs to its owner';
    expect(await forbidden(bob.transact([[':db/add', ['datsync/id', secret], 'task/title', 'Bob was here']], { confirmed: true }))).toBe(
      privateOne,
    );
    expect(await forbidden(bob.transact([[':db/add', ['datsync/id', open], 'task/private', true]], { confirmed: true }))).toBe(privateOne);
    const move = cy.transact([[':db/add', ['datsync/id', open], 'task/status', 'done']], { confirmed: true });
    expect(await forbidden(move)).toBe('viewers cannot change tasks');
    expect(await forbidden(bob.transact([{ 'user/name': 'zed' }], { confirmed: true }))).toBe('you may create only your own user');

    // What the owner does is fine, and a public task is everyone's (members') to change.
    await ann.transact([[':db/add', ['datsync/id', secret], 'task/title', 'Still secret']], { confirmed: true });
    await bob.transact([[':db/add', ['datsync/id', open], 'task/status', 'doing']], { confirmed: true });
    await ann.whenSynced();
    expect(ann.pull('["task/title"]', secret)).toEqual({ 'task/title': 'Still secret' });
    expect(ann.pull('["task/status"]', open)).toEqual({ 'task/status': 'doing' });
    expect(errors).toEqual([]);
  });

  it('refuses a connection whose token the server did not sign', async () => {
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4iLCJyb2xlIjoibWVtYmVyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.bm90LXRoZS1zZXJ2ZXJzLXNpZ25hdHVyZQ';
    const c = await createClient({ schema, url: `${app.url.replace('http', 'ws')}sync`, token: forged, WebSocket });
    clients.push(c);
    const refused = new Promise<unknown>((resolve) => c.on('error', resolve));
    expect(await refused).toBeInstanceOf(DatsyncError);
    expect(c.status).not.toBe('live');
  });
});
