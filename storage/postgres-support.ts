/**
 * What the PostgreSQL storage needs beside its SQL: errors worded for
 * people, lookups gathered into one query, and the connection that listens
 * for other nodes' commits.
 *
 * @module
 */
import pg from 'pg';
import { DatsyncError, ErrorCode } from '../crdt/index.js';

/** Error codes of a connection that cannot be made or was lost (as opposed to an error PostgreSQL reported). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03']);

function errorCode(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `cause` says the connection is gone, so whatever was in flight may or may not have reached the server. */
function connectionLost(cause: unknown): boolean {
  const code = errorCode(cause);
  if (code !== undefined) return UNREACHABLE.has(code);
  const message = cause instanceof Error ? cause.message : '';
  return /Connection terminated|connection timeout|not queryable|Client was closed/i.test(message);
}

/**
 * A storage-failed error saying what could not be done and why, in words a
 * client may be shown: the reason is PostgreSQL's error code, or that the
 * database is unreachable, never its full message (which may name hosts).
 */
export function failure(name: string, action: string, cause: unknown): DatsyncError {
  if (cause instanceof DatsyncError) return cause;
  const code = errorCode(cause);
  const why = connectionLost(cause) ? 'PostgreSQL is unreachable' : code === undefined ? 'PostgreSQL failed' : `PostgreSQL error ${code}`;
  return new DatsyncError(
    ErrorCode.StorageFailed,
    `${name}: could not ${action}: ${why}`,
    code === undefined ? undefined : { postgres: code },
    {
      cause,
    },
  );
}

/**
 * The commit of an append failed. If the connection broke while the commit
 * was on its way, PostgreSQL may have committed it all the same: the error
 * says the outcome is unknown, and the caller must find out from the log.
 */
export function uncertain(name: string, cause: unknown): DatsyncError {
  const error = failure(name, 'commit an append', cause);
  if (!connectionLost(cause)) return error;
  return new DatsyncError(
    error.code,
    `${error.message} (whether it was committed is unknown)`,
    { ...error.details, outcome: 'unknown' },
    { cause },
  );
}

/** bigint columns as numbers: positions and counters stay far below 2^53. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new DatsyncError(ErrorCode.StorageFailed, `a stored integer is too large: ${text}`);
  return value;
}

/**
 * Gathers the keys asked for in one tick and fetches them with one query:
 * a group of transactions being decided is looked up in a single round trip.
 */
export class Lookups<Value> {
  private readonly fetch: (keys: string[]) => Promise<Map<string, Value>>;
  private waiting = new Map<string, Array<{ resolve: (value: Value | undefined) => void; reject: (error: unknown) => void }>>();

  constructor(fetch: (keys: string[]) => Promise<Map<string, Value>>) {
    this.fetch = fetch;
  }

  get(key: string): Promise<Value | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) queueMicrotask(() => void this.flush());
      const list = this.waiting.get(key);
      if (list === undefined) this.waiting.set(key, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    try {
      const found = await this.fetch([...batch.keys()]);
      for (const [key, list] of batch) for (const waiter of list) waiter.resolve(found.get(key));
    } catch (error) {
      for (const list of batch.values()) for (const waiter of list) waiter.reject(error);
    }
  }
}

export interface NoticeOptions {
  readonly url: string;
  readonly channel: string;
  readonly pollMs: number;
  readonly connectTimeoutMs: number;
  /** A head another node announced, or undefined: notices may have been missed, read the log. */
  readonly notify: (head: number | undefined) => void;
}

/**
 * LISTENs on a connection of its own, made again (with backoff) whenever it
 * is lost. Each time it is (re)established, and every `pollMs`, `notify` is
 * called with undefined, because commits announced while nobody listened are
 * not announced again. Returns a function that stops it.
 */
export function notices(options: NoticeOptions): () => Promise<void> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let backoff = 100;
  const poll = setInterval(() => options.notify(undefined), options.pollMs);
  poll.unref();
  const again = (): void => {
    if (stopped || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, backoff);
    retry.unref();
    backoff = Math.min(backoff * 2, 5000);
  };
  const connect = async (): Promise<void> => {
    const next = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      keepAlive: true,
      application_name: 'datsync-listen',
    });
    client = next;
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      next.end().catch(() => undefined);
      if (client === next) client = undefined;
      again();
    };
    next.on('error', onLost);
    next.on('end', onLost);
    next.on('notification', (message) => {
      if (message.channel !== options.channel) return;
      const head = Number(message.payload);
      options.notify(Number.isSafeInteger(head) ? head : undefined);
    });
    try {
      await next.connect();
      await next.query(`LISTEN "${options.channel}"`);
    } catch {
      onLost();
      return;
    }
    if (stopped) {
      await next.end().catch(() => undefined);
      return;
    }
    backoff = 100;
    options.notify(undefined);
  };
  void connect();
  return async () => {
    stopped = true;
    clearInterval(poll);
    if (retry !== undefined) clearTimeout(retry);
    const last = client;
    client = undefined;
    await last?.end().catch(() => undefined);
  };
}
