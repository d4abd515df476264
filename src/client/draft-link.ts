/**
 * Where a draft's document lives: in the client's storage and, when the
 * client has a server, in the server's room for the draft (through a
 * `DraftChannel`). It binds a draft opened offline to the server's draft
 * once reachable, and carries a commit or discard to the server even across
 * reloads.
 *
 * Saving writes the whole document, so it is not done for every keystroke
 * while the server holds the draft live (every change made here goes to it
 * at once, and it has every co-editor's): then changes are saved here at
 * most `LIVE_SAVE_DELAY_MS` later, as the server saves its own. Without the
 * server, a change made here is saved at once; when the connection goes,
 * or the draft is left, what waits is saved.
 *
 * @module
 */
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { DraftClosed, StoredDraft } from '../../storage/contract.js';
import { baseValue, draftMeta, draftValuesEqual, fieldValue, initDraft, setFieldValue } from '../drafts/document.js';
import { CloseCode } from '../protocol/index.js';
import type { AttributeDef } from '../schema.js';
import { unrefTimer } from '../timers.js';
import { backoffDelay } from './backoff.js';
import type { ChannelStatus } from './draft-channel.js';
import { DraftChannel } from './draft-channel.js';
import type { DraftHost } from './draft-host.js';

export interface LinkEvents {
  changed(): void;
  presence(): void;
  /** The document was replaced (a draft opened offline was bound to the server's). */
  swapped(): void;
  closed(closed: DraftClosed): void;
}

/** How long a change may wait to be saved here while the server holds the draft live. */
const LIVE_SAVE_DELAY_MS = 300;

/** How long opening waits for the server before starting an own copy instead. */
const OPEN_TIMEOUT_MS = 5000;

/** Per client: the links in use, by key (opening a key in use shares its link, or waits for its end). */
const liveLinks = new WeakMap<DraftHost, Map<string, DraftLink>>();

function linksOf(host: DraftHost): Map<string, DraftLink> {
  let map = liveLinks.get(host);
  if (map === undefined) {
    map = new Map();
    liveLinks.set(host, map);
  }
  return map;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = unrefTimer(setTimeout(() => resolve('timeout'), ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function endError(code: number, reason: string): DatsyncError {
  const kind =
    code === CloseCode.DraftForbidden
      ? ErrorCode.Forbidden
      : code === CloseCode.Unauthenticated
        ? ErrorCode.Unauthenticated
        : ErrorCode.DraftFailed;
  return new DatsyncError(kind, `the server refused the draft: ${reason || `close code ${code}`}`, { closeCode: code });
}

/** The server's close reason for a closed draft; a peer that cannot read it still learns that the draft is gone. */
export function parseClosed(reason: string, now: number): DraftClosed {
  try {
    const parsed = JSON.parse(reason) as Partial<DraftClosed>;
    if (parsed.reason === 'committed' || parsed.reason === 'discarded' || parsed.reason === 'superseded') {
      return { ...parsed, reason: parsed.reason, at: typeof parsed.at === 'number' ? parsed.at : now };
    }
  } catch {
    // fall through
  }
  return { reason: 'superseded', at: now };
}

export class DraftLink {
  private readonly host: DraftHost;
  readonly key: string;
  private readonly defs: readonly AttributeDef[];
  doc: Y.Doc;
  awareness: Awareness;
  private channel: DraftChannel | undefined;
  private readonly listeners = new Set<LinkEvents>();
  /** Drafts using this link; it stops syncing when the last one leaves. */
  private users = 0;
  private endedResolve: (() => void) | undefined;
  /** Resolves once the server confirmed the draft closed, or the link stopped. */
  readonly ended: Promise<void>;
  private saving: Promise<void> | undefined;
  private dirty = false;
  /** A save waiting for more changes to pile up (the server holds the draft live). */
  private laterSave: ReturnType<typeof setTimeout> | undefined;
  private closedInfo: DraftClosed | undefined;
  private stopOnline: (() => void) | undefined;
  private binding = false;
  /** A bind the server did not answer is tried again after a backoff, like a channel's reconnect. */
  private bindRetry: (() => void) | undefined;
  private bindAttempts = 0;
  /** Ended: no channel starts again (a close being delivered when the client closes waits for the next start). */
  private over = false;
  /** A document joined to be adopted is not stored until it is (the stored one stays whole meanwhile). */
  private persisting: boolean;
  private detach: () => void = () => undefined;
  /** The link that took this one's document and channel over (`bind`): the channel's events are its. */
  private adopter: DraftLink | undefined;

  private constructor(host: DraftHost, key: string, defs: readonly AttributeDef[], doc: Y.Doc, persisting = true) {
    this.host = host;
    this.key = key;
    this.defs = defs;
    this.doc = doc;
    this.persisting = persisting;
    this.ended = new Promise((resolve) => {
      this.endedResolve = resolve;
    });
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.watch();
  }

  /** Opens the draft of `key`: stored here, else the server's, else an own copy from what the client shows. */
  static async open(host: DraftHost, key: string, defs: readonly AttributeDef[], entity: string | null): Promise<DraftLink> {
    const live = linksOf(host).get(key);
    if (live !== undefined && live.closedInfo === undefined) return live;
    const link = await DraftLink.openLink(host, key, defs, entity);
    linksOf(host).set(key, link);
    return link;
  }

  private static async openLink(host: DraftHost, key: string, defs: readonly AttributeDef[], entity: string | null): Promise<DraftLink> {
    // The previous draft of this key, closed, ends first (the server confirms; offline we go on without).
    const previous = linksOf(host).get(key);
    if (previous !== undefined) await within(previous.ended, OPEN_TIMEOUT_MS);
    const stored = await host.storage.draft(key);
    if (stored !== undefined && stored.closed !== undefined) {
      // Closed here but perhaps not yet told to the server: tell it, then start afresh.
      if (stored.state.length > 0) {
        const closing = DraftLink.fromStored(host, key, defs, stored);
        await closing.deliverClose();
        await within(closing.ended, OPEN_TIMEOUT_MS);
      } else await host.storage.deleteDraft(key);
    } else if (stored !== undefined) {
      const link = DraftLink.fromStored(host, key, defs, stored);
      // A copy that changed nothing since its base and whose draft ended meanwhile is no loss: open the next one.
      const untouched = defs.every((def) => draftValuesEqual(def, fieldValue(link.doc, def), baseValue(link.doc, def)));
      if (!untouched || link.generation === 0 || !host.online) {
        link.connect();
        return link;
      }
      // With its generation: a draft that ended meanwhile is refused as closed, not silently replaced by the next one.
      const outcome = await link.startChannel(true, false);
      if (!(outcome instanceof DatsyncError)) return link;
      if (link.closedInfo === undefined) {
        link.leave();
        throw outcome;
      }
      await link.ended;
    }
    if (host.online) {
      const joined = await DraftLink.join(host, key, defs, true);
      if (joined !== undefined) return joined;
    }
    const doc = new Y.Doc();
    initDraft(doc, { generation: 0, entity }, defs, (attribute) => {
      const def = defs.find((d) => d.name === attribute);
      return entity === null || def === undefined ? undefined : host.current(entity as never, def);
    });
    const link = new DraftLink(host, key, defs, doc);
    await link.save();
    link.connect();
    return link;
  }

  /** Tells the server of a close made here before a reload (the stored record goes once it confirms). */
  static async resumeClose(host: DraftHost, key: string, defs: readonly AttributeDef[]): Promise<void> {
    const stored = await host.storage.draft(key);
    if (stored?.closed === undefined || linksOf(host).has(key)) return;
    const link = DraftLink.fromStored(host, key, defs, stored);
    linksOf(host).set(key, link);
    await link.deliverClose();
  }

  private static fromStored(host: DraftHost, key: string, defs: readonly AttributeDef[], stored: StoredDraft): DraftLink {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, stored.state, 'storage');
    const link = new DraftLink(host, key, defs, doc);
    link.closedInfo = stored.closed;
    return link;
  }

  /** Joins the server's draft in a fresh document; undefined if the server did not answer in time. */
  private static async join(host: DraftHost, key: string, defs: readonly AttributeDef[], persist: boolean): Promise<DraftLink | undefined> {
    const link = new DraftLink(host, key, defs, new Y.Doc(), false);
    const outcome = await link.startChannel(true);
    if (outcome === 'live') {
      if (persist) {
        link.persisting = true;
        await link.save();
      }
      return link;
    }
    link.leave();
    if (outcome === 'timeout') return undefined;
    throw outcome;
  }

  /** A draft starts using the link; `leave` ends its use. */
  use(events: LinkEvents): () => void {
    this.listeners.add(events);
    this.users++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.listeners.delete(events);
      if (--this.users === 0 && this.closedInfo === undefined) this.leave();
    };
  }

  private emit(event: 'changed' | 'presence' | 'swapped'): void {
    for (const listener of [...this.listeners]) listener[event]();
  }

  get status(): 'local' | 'connecting' | 'live' {
    const status: ChannelStatus = this.channel?.status ?? 'offline';
    return status === 'offline' ? 'local' : status;
  }

  /** Why the draft closed, once known here. */
  get closed(): DraftClosed | undefined {
    return this.closedInfo;
  }

  get generation(): number {
    return draftMeta(this.doc).generation;
  }

  private watch(): void {
    const doc = this.doc;
    const onUpdate = (_update: Uint8Array, origin: unknown): void => {
      if (origin !== 'storage') {
        // A live server has the change too (a co-editor's came from it).
        if (origin instanceof DraftChannel || this.channel?.status === 'live') this.saveLater();
        else void this.save();
      }
      this.emit('changed');
    };
    const meta = doc.getMap('meta');
    const onMeta = (): void => {
      const closed = draftMeta(doc).closed;
      if (closed !== undefined && this.closedInfo === undefined) {
        this.closedInfo = closed;
        for (const listener of [...this.listeners]) listener.closed(closed);
      }
    };
    const onPresence = (): void => this.emit('presence');
    doc.on('update', onUpdate);
    meta.observe(onMeta);
    this.awareness.on('change', onPresence);
    this.detach = () => {
      doc.off('update', onUpdate);
      meta.unobserve(onMeta);
      this.awareness.off('change', onPresence);
    };
  }

  private saveLater(): void {
    if (this.laterSave !== undefined || !this.persisting) return;
    this.laterSave = unrefTimer(setTimeout(() => void this.save(), LIVE_SAVE_DELAY_MS));
  }

  private saveWaiting(): void {
    if (this.laterSave !== undefined) void this.save();
  }

  /** Saves the document; saves are serialised and the last state always lands. */
  save(): Promise<void> {
    if (!this.persisting) return Promise.resolve();
    clearTimeout(this.laterSave);
    this.laterSave = undefined;
    if (this.saving !== undefined) {
      this.dirty = true;
      return this.saving;
    }
    const record: StoredDraft = {
      key: this.key,
      generation: this.generation,
      state: Y.encodeStateAsUpdate(this.doc),
      ...(this.closedInfo === undefined ? {} : { closed: this.closedInfo }),
      updatedAt: this.host.now(),
    };
    this.saving = this.host.storage
      .putDraft(record)
      .catch((error: unknown) => this.host.error(error))
      .finally(() => {
        this.saving = undefined;
        if (this.dirty) {
          this.dirty = false;
          void this.save();
        }
      });
    return this.saving;
  }

  /** Connects a shared draft now, and binds an own copy whenever the server is reachable. */
  private connect(): void {
    if (this.generation > 0) {
      void this.startChannel(false);
      return;
    }
    if (this.host.channel(this.key, new URLSearchParams()) === undefined) return;
    this.stopOnline = this.host.onOnline(() => void this.bind());
    if (this.host.online) void this.bind();
  }

  private params(fresh: boolean): URLSearchParams {
    const params = new URLSearchParams({ fields: this.defs.map((d) => d.name).join(',') });
    if (!fresh) params.set('generation', String(this.generation));
    return params;
  }

  /**
   * Starts the channel; with `opening`, resolves once it is live, refused (the
   * error), or not live within the open timeout. A `fresh` document asks for
   * whatever draft the server has; otherwise the link's generation is sent.
   */
  private startChannel(opening: boolean, fresh = opening): Promise<'live' | 'timeout' | DatsyncError> {
    const options = this.over ? undefined : this.host.channel(this.key, this.params(fresh));
    if (options === undefined) return Promise.resolve('timeout');
    return new Promise((resolve) => {
      let settled = !opening;
      const settle = (outcome: 'live' | 'timeout' | DatsyncError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = opening ? unrefTimer(setTimeout(() => settle('timeout'), OPEN_TIMEOUT_MS)) : undefined;
      const owner = (): DraftLink => this.adopter ?? this;
      const channel = new DraftChannel(this.doc, this.awareness, options, {
        status: (status) => {
          if (status === 'live') settle('live');
          // A first attempt that fails means the server is not reachable now.
          else if (status === 'offline') settle('timeout');
          // This copy may now be the only one of the last changes.
          if (status !== 'live') owner().saveWaiting();
          owner().emit('changed');
        },
        ended: (code, reason) => {
          if (code === CloseCode.DraftClosed) {
            settle(new DatsyncError(ErrorCode.DraftFailed, 'the draft was closed'));
            void owner().closedByServer(parseClosed(reason, this.host.now()));
            return;
          }
          const error = endError(code, reason);
          // Once open, nobody awaits the outcome: the client's error event tells the application.
          if (settled) this.host.error(error);
          settle(error);
          owner().emit('changed');
        },
        error: (error) => this.host.error(error),
      });
      this.channel = channel;
      channel.start();
    });
  }

  /** Our own copy meets the server's draft: join it, replay what changed here, and switch documents. */
  private async bind(): Promise<void> {
    if (this.binding || this.generation > 0 || this.closedInfo !== undefined) return;
    this.binding = true;
    try {
      let refused = false;
      const shared = await DraftLink.join(this.host, this.key, this.defs, false).catch((error: unknown) => {
        refused = true;
        this.host.error(error);
        return undefined;
      });
      if (shared === undefined || this.closedInfo !== undefined) {
        shared?.leave();
        // The sync connection may stay live while the draft's failed: then no new 'live' would bring a bind.
        if (shared === undefined && !refused) this.retryBind();
        return;
      }
      for (const def of this.defs) {
        const value = fieldValue(this.doc, def);
        if (!draftValuesEqual(def, value, baseValue(this.doc, def))) setFieldValue(shared.doc, def, value, 'local');
      }
      this.adopt(shared);
    } finally {
      this.binding = false;
    }
  }

  private retryBind(): void {
    const options = this.host.channel(this.key, new URLSearchParams());
    if (options === undefined || this.stopOnline === undefined || this.bindRetry !== undefined) return;
    const { scheduler } = options;
    const delay = backoffDelay(this.bindAttempts, options, () => scheduler.random());
    this.bindAttempts = Math.min(this.bindAttempts + 1, 30);
    const handle = scheduler.setTimeout(() => {
      this.bindRetry = undefined;
      if (this.host.online) void this.bind();
    }, delay);
    this.bindRetry = () => scheduler.clearTimeout(handle);
  }

  /** No more binding: the draft is bound, closed, paused or left. */
  private stopBinding(): void {
    this.stopOnline?.();
    this.stopOnline = undefined;
    this.bindRetry?.();
    this.bindRetry = undefined;
  }

  private adopt(shared: DraftLink): void {
    this.stopBinding();
    this.detach();
    this.channel?.stop();
    this.awareness.destroy();
    shared.detach();
    shared.adopter = this;
    this.doc = shared.doc;
    this.awareness = shared.awareness;
    this.channel = shared.channel;
    this.watch();
    void this.save();
    this.emit('swapped');
  }

  /** The server confirmed the draft closed: nothing is left to tell it. */
  private async closedByServer(closed: DraftClosed): Promise<void> {
    this.stopBinding();
    // The record goes: a save waiting for co-editors' changes must not bring it back.
    clearTimeout(this.laterSave);
    this.laterSave = undefined;
    this.channel?.stop();
    if (this.closedInfo === undefined) {
      this.closedInfo = closed;
      for (const listener of [...this.listeners]) listener.closed(closed);
    }
    await this.saving;
    await this.host.storage.deleteDraft(this.key).catch((error: unknown) => this.host.error(error));
    this.end();
  }

  /** Nothing more to do for this key here. */
  private end(): void {
    const links = linksOf(this.host);
    if (links.get(this.key) === this) links.delete(this.key);
    this.over = true;
    // Awareness keeps an interval timer running until destroyed.
    this.awareness.destroy();
    this.endedResolve?.();
  }

  /**
   * After a commit or discard: the closed mark is stored with the document
   * and sent; the record goes once the server confirms (4410), or at once for
   * a draft the server never shared.
   */
  async deliverClose(): Promise<void> {
    this.closedInfo ??= draftMeta(this.doc).closed;
    await this.save();
    if (this.generation === 0 || this.host.channel(this.key, new URLSearchParams()) === undefined) {
      await this.host.storage.deleteDraft(this.key).catch((error: unknown) => this.host.error(error));
      this.leave();
      return;
    }
    if (this.channel === undefined) void this.startChannel(false);
  }

  /**
   * Settles once the server holds this close (at once when offline or never
   * bound; at the latest after the open timeout): whoever opens the key after
   * that is given the next draft, not this one.
   */
  async closeDelivered(): Promise<void> {
    if (this.generation === 0 || !this.host.online) return;
    await within(this.ended, OPEN_TIMEOUT_MS);
  }

  /** The client went offline on purpose: stop talking to the server, keep everything else. */
  pause(): void {
    this.stopBinding();
    this.channel?.stop();
    this.channel = undefined;
  }

  /** The client connected again. */
  resume(): void {
    if (this.channel !== undefined || this.stopOnline !== undefined) return;
    if (this.closedInfo !== undefined) {
      if (this.generation > 0) void this.startChannel(false);
      return;
    }
    this.connect();
  }

  /** Stops syncing; the stored draft stays, with every change. */
  leave(): void {
    this.saveWaiting();
    this.stopBinding();
    this.channel?.stop();
    this.channel = undefined;
    this.end();
  }
}
