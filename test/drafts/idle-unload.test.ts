/**
 * Drafts are kept in a bounded way on the server (issue 7): a draft nobody
 * is in is saved and unloaded from memory after `idleUnloadMs`, and the next
 * editor gets the same draft back from storage (same generation, edits
 * kept), not a new one; an unloaded draft still counts against its owner's
 * open drafts. Driven through the draft hub of a sync core, with the
 * y-websocket messages an editor sends; waits are on storage writes, never
 * on sleeps.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { draftMeta } from '../../src/drafts/document.js';
import { CloseCode } from '../../src/protocol/index.js';
import type { SyncCore } from '../../src/server/core.js';
import { createSyncCore } from '../../src/server/core.js';
import type { StoredDraft } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import { schema } from '../sync/harness.js';
import type { User } from './harness.js';
import { authenticate, permissions } from './harness.js';

/** Memory storage that tells of each draft it stores. */
class WatchedStorage extends MemoryStorage {
  private readonly waiters: Array<(draft: StoredDraft) => boolean> = [];
  override async putDraft(draft: StoredDraft): Promise<void> {
    await super.putDraft(draft);
    for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i]?.(draft)) this.waiters.splice(i, 1);
  }
  /** Resolves at the next stored draft for which `check` holds. */
  stored(check: (draft: StoredDraft) => boolean): Promise<StoredDraft> {
    return new Promise((resolve) =>
      this.waiters.push((draft) => {
        if (!check(draft)) return false;
        resolve(draft);
        return true;
      }),
    );
  }
}

interface Editor {
  readonly doc: Y.Doc;
  readonly joined: Promise<void>;
  readonly closedWith: Promise<number>;
  edit(change: (doc: Y.Doc) => void): void;
  leave(): void;
}

/** A y-websocket editor of draft `key`, as `user`: it applies what the room sends and sends its own updates. */
function editor(core: SyncCore<User>, key: string, user: string): Editor {
  const doc = new Y.Doc();
  let joined!: () => void;
  let closed!: (code: number) => void;
  const socket = {
    send: (data: Uint8Array) => {
      const decoder = decoding.createDecoder(data);
      if (decoding.readVarUint(decoder) === 0) syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), doc, 'room');
      joined();
    },
    close: (code: number) => closed(code),
  };
  const connection = core.drafts.connect(
    socket,
    { remoteAddress: undefined, headers: {}, urlToken: `token-${user}` },
    key,
    new URLSearchParams({ fields: 'task/title' }),
  );
  // As a y-websocket client does: ask for the room's state (kept until the connection is admitted).
  const step1 = encoding.createEncoder();
  encoding.writeVarUint(step1, 0);
  syncProtocol.writeSyncStep1(step1, doc);
  connection.message(encoding.toUint8Array(step1));
  return {
    doc,
    joined: new Promise((resolve) => {
      joined = resolve;
    }),
    closedWith: new Promise((resolve) => {
      closed = resolve;
    }),
    edit(change) {
      const before = Y.encodeStateVector(doc);
      change(doc);
      const message = encoding.createEncoder();
      encoding.writeVarUint(message, 0);
      syncProtocol.writeUpdate(message, Y.encodeStateAsUpdate(doc, before));
      connection.message(encoding.toUint8Array(message));
    },
    leave: () => connection.closed(),
  };
}

const cores: Array<SyncCore<User>> = [];
afterEach(async () => {
  for (const core of cores.splice(0)) await core.close();
});

async function start(storage: WatchedStorage): Promise<SyncCore<User>> {
  const core = await createSyncCore<User>({
    schema,
    storage,
    permissions,
    authenticate,
    draftLimits: { idleUnloadMs: 0, saveDelayMs: 60_000, maxOpenDrafts: 1 },
  });
  cores.push(core);
  return core;
}

const titleOf = (doc: Y.Doc): string => String(doc.getMap('fields').get('task/title') ?? '');

describe('an idle draft', () => {
  it('is saved and unloaded, then reloaded as the same draft; it still counts as open', { timeout: 15_000 }, async () => {
    const storage = new WatchedStorage();
    const core = await start(storage);
    const key = 'new-idle0001';
    const ann = editor(core, key, 'ann');
    await ann.joined;
    expect(core.drafts.loadedRooms).toBe(1);
    await new Promise<void>((resolve) => {
      const text = ann.doc.getMap('fields').get('task/title');
      if (text instanceof Y.Text) return resolve();
      ann.doc.getMap('fields').observe(() => resolve());
    });
    ann.edit((doc) => (doc.getMap('fields').get('task/title') as Y.Text).insert(0, 'Plan the offsite'));

    // The last editor leaves: the room is saved (its save delay is a minute: this is the unload) and leaves memory.
    const unloaded = storage.stored((draft) => draft.key === key && core.drafts.loadedRooms === 0);
    ann.leave();
    const saved = await unloaded;
    expect(saved.closed).toBeUndefined();
    const copy = new Y.Doc();
    Y.applyUpdate(copy, saved.state);
    expect(titleOf(copy)).toBe('Plan the offsite');

    // Still ann's open draft: a second one is over her limit of 1.
    const second = editor(core, 'new-idle0002', 'ann');
    expect(await second.closedWith).toBe(CloseCode.DraftLimit);

    // The next editor gets it back from storage: the same generation, with the edit.
    const ben = editor(core, key, 'ben');
    await ben.joined;
    expect(core.drafts.loadedRooms).toBe(1);
    await new Promise<void>((resolve) => {
      if (titleOf(ben.doc) === 'Plan the offsite') return resolve();
      ben.doc.on('update', () => {
        if (titleOf(ben.doc) === 'Plan the offsite') resolve();
      });
    });
    expect(draftMeta(ben.doc).generation).toBe(draftMeta(copy).generation);
    ben.leave();
  });
});
