/**
 * We speak the standard protocol: a stock `WebsocketProvider` from the
 * y-websocket package (not our client) joins a draft with a token, receives
 * it, and its edits and ours meet.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { EntityId } from '../../crdt/index.js';
import { MemoryStorage, MemoryStore } from '../../storage/memory.js';
import { statusBecomes } from '../sync/harness.js';
import { draftServer, until, userClient } from './harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function provider(url: string, key: string, params: Record<string, string>, doc = new Y.Doc()): WebsocketProvider {
  const p = new WebsocketProvider(url.replace(/\/sync$/, '/drafts'), key, doc, {
    WebSocketPolyfill: WebSocket as never,
    params,
    // One attempt: a refused provider must not retry during the test.
    maxBackoffTime: 60_000,
  });
  cleanups.push(() => p.destroy());
  return p;
}

function synced(p: WebsocketProvider): Promise<void> {
  if (p.synced) return Promise.resolve();
  return new Promise((resolve) => p.on('sync', (state: boolean) => state && resolve()));
}

describe('the stock y-websocket provider', () => {
  it('joins a draft with a token, receives it, and edits it with our client', async () => {
    const server = await draftServer();
    cleanups.push(() => server.close());
    const ann = await userClient(server.url, 'ann', new MemoryStorage(new MemoryStore()));
    cleanups.push(() => ann.close());
    await statusBecomes(ann, 'live');
    const { entityIds } = await ann.transact([{ ':db/id': 't', 'task/title': 'Hello' }], { confirmed: true });
    const id = entityIds.t as EntityId;
    const draft = await ann.openDraft(id, { fields: ['task/title'] });

    const stock = provider(server.url, id, { token: 'token-ben' });
    await synced(stock);
    const text = stock.doc.getMap('fields').get('task/title') as Y.Text;
    expect(text.toString()).toBe('Hello');
    text.insert(5, ', world');
    await until(draft, () => draft.value('task/title') === 'Hello, world');
    draft.text('task/title').insert(0, '>> ');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (text.toString() === '>> Hello, world') resolve();
      };
      text.observe(check);
      check();
    });
    // The draft's commit closes it for the stock peer too, with the reason.
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      stock.on('connection-close', (event: { code: number; reason: string } | null) => event !== null && resolve(event)),
    );
    await draft.commit();
    const event = await closed;
    expect(event.code).toBe(4410);
    expect(JSON.parse(event.reason)).toMatchObject({ reason: 'committed', entity: id });
  });

  it('is refused without valid credentials, and a watcher cannot write', async () => {
    const server = await draftServer();
    cleanups.push(() => server.close());
    const ann = await userClient(server.url, 'ann', new MemoryStorage(new MemoryStore()));
    cleanups.push(() => ann.close());
    await statusBecomes(ann, 'live');
    const { entityIds } = await ann.transact([{ ':db/id': 't', 'task/title': 'Guarded' }], { confirmed: true });
    const id = entityIds.t as EntityId;
    const draft = await ann.openDraft(id, { fields: ['task/title'] });

    const anonymous = provider(server.url, id, {});
    const refused = await new Promise<{ code: number }>((resolve) =>
      anonymous.on('connection-close', (event: { code: number } | null) => event !== null && resolve(event)),
    );
    expect(refused.code).toBe(4001);
    anonymous.destroy();

    const eve = provider(server.url, id, { token: 'token-eve' });
    const forbidden = await new Promise<{ code: number }>((resolve) =>
      eve.on('connection-close', (event: { code: number } | null) => event !== null && resolve(event)),
    );
    expect(forbidden.code).toBe(4403);
    eve.destroy();

    // cal may read tasks but not write them: he watches; his edit is ignored while Ann's reach him.
    const cal = provider(server.url, id, { token: 'token-cal' });
    await synced(cal);
    const calText = cal.doc.getMap('fields').get('task/title') as Y.Text;
    calText.insert(0, 'vandal ');
    cal.awareness.setLocalStateField('user', { name: 'Cal' });
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (draft.presence().some((p) => p.name === 'Cal')) resolve();
      };
      draft.onPresence(check);
      check();
    });
    expect(draft.value('task/title')).toBe('Guarded');
  });
});
