/**
 * PostgreSQL storage on `pg`: the log several server nodes share.
 *
 * - One PostgreSQL transaction per `commit`: all of a batch or none of it,
 *   durable when it resolves (PostgreSQL's default `synchronous_commit`).
 * - **Appends are serialised through one counter row** (`head`), locked
 *   `FOR UPDATE` by every transaction that appends. A sequence would not do:
 *   values taken from a sequence by concurrent transactions commit out of
 *   order, so a reader tailing `position > last` could pass over a position
 *   whose transaction commits later, and never read it. With the row lock the
 *   next appender reads the head only once the previous one has committed, so
 *   positions become visible strictly in order and tailing is safe.
 * - `shared` gives server nodes their turns (`AppendTurn`: the head row held
 *   while a node decides a group against the log as it stands) and tells each
 *   node of the others' commits through `LISTEN`/`NOTIFY` (see `watch`).
 * - Every table lives in one schema (`datsync` by default), created and
 *   upgraded on open under an advisory lock, so nodes starting together do
 *   not race.
 *
 * @module
 */
import type { PoolClient, QueryResultRow } from 'pg';
import pg from 'pg';
import type { ReplicaId, Transaction, TxId, VersionVector } from '../crdt/index.js';
import { DatsyncError, ErrorCode, encodeTransactions, lastCounter, parseTxId, transactionId } from '../crdt/index.js';
import type {
  AppendTurn,
  CommitBatch,
  DraftSummary,
  LogRecord,
  Meta,
  Rejection,
  SharedLog,
  Snapshot,
  Storage,
  StoredDraft,
} from './contract.js';
import { migrations, statements } from './postgres-sql.js';
import { failure, Lookups, notices, parseInt8, uncertain } from './postgres-support.js';
import type { DraftRow, LogRow } from './shared.js';
import { decodeOne, draftColumns, draftFields, recordsToAppend, storedDraft, toRecord } from './shared.js';

export interface PostgresOptions {
  /** A connection string, such as `postgres://datsync:secret@db.internal:5432/app`. */
  readonly url: string;
  /** The schema (namespace) holding datsync's tables; `datsync` by default. */
  readonly schema?: string;
  /** The most connections this process opens (default 10). */
  readonly maxConnections?: number;
  /**
   * How often a node reads the log for commits it was not told of, in case a
   * notice was lost without the connection saying so (ms; default 5,000).
   */
  readonly pollMs?: number;
  /** A node that holds a turn this long without a word loses it (ms; default 30,000). */
  readonly turnTimeoutMs?: number;
  /** Give up connecting after this long (ms; default 5,000). */
  readonly connectTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,40}$/;

/** Records read with a turn's lock, at most (the log holds the rest). */
const TURN_PAGE = 1000;

function ignore(): void {}

export { POSTGRES_LAYOUT_VERSION } from './postgres-sql.js';

export class PostgresStorage implements Storage {
  readonly name: string;
  readonly shared: SharedLog;
  private readonly pool: pg.Pool;
  /** The PostgreSQL schema (namespace) holding this log's tables. */
  readonly schema: string;
  private readonly sql: ReturnType<typeof statements>;
  /** The NOTIFY channel of this log. */
  private readonly channel: string;
  private readonly options: PostgresOptions;
  private readonly found: Lookups<LogRecord>;
  private readonly refused: Lookups<Rejection>;
  private stopNotices: (() => Promise<void>) | undefined;
  private readonly listeners = new Set<(head: number | undefined) => void>();
  private closed = false;

  private constructor(options: PostgresOptions, schema: string, database: string) {
    this.options = options;
    this.schema = schema;
    this.sql = statements(`"${schema}"`);
    this.channel = `datsync_${schema}`;
    // Never the URL itself: it may hold a password, and names end up in messages.
    this.name = `postgres:${database}/${schema}`;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idle_in_transaction_session_timeout: options.turnTimeoutMs ?? 30_000,
      keepAlive: true,
      application_name: 'datsync',
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
      },
    });
    // An idle connection PostgreSQL dropped must not take the process down; the next query reports it.
    this.pool.on('error', ignore);
    this.found = new Lookups(async (ids) => {
      const rows = await this.query<LogRow & { tx_id: TxId }>('read the log', this.sql.findMany, [ids]);
      return new Map(rows.map((row) => [row.tx_id, toRecord(row)]));
    });
    this.refused = new Lookups(async (ids) => {
      const rows = await this.query<{ tx_id: TxId; code: string; message: string; ops: number }>(
        'read rejections',
        this.sql.rejectionsMany,
        [ids],
      );
      return new Map(
        rows.map((row): [string, Rejection] => [row.tx_id, { txId: row.tx_id, code: row.code, message: row.message, ops: row.ops }]),
      );
    });
    this.shared = { turn: (after) => this.turn(after), watch: (listener) => this.watchLog(listener) };
  }

  /** Connects, then creates or upgrades the tables (under an advisory lock, so nodes starting together take turns). */
  static async open(options: PostgresOptions): Promise<PostgresStorage> {
    const schema = options.schema ?? 'datsync';
    let database: string | undefined;
    try {
      if (typeof options.url === 'string' && /^postgres(ql)?:\/\//.test(options.url)) database = new URL(options.url).pathname.slice(1);
    } catch {
      // Not a URL: said below.
    }
    if (database === undefined) {
      throw new DatsyncError(ErrorCode.StorageFailed, 'a PostgreSQL url looks like postgres://user:password@host:port/database');
    }
    if (!SCHEMA_NAME.test(schema)) {
      throw new DatsyncError(ErrorCode.StorageFailed, `the schema name ${JSON.stringify(schema)} must be lower-case letters, digits and _`);
    }
    const storage = new PostgresStorage(options, schema, database || 'postgres');
    try {
      await storage.transaction('prepare the database', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`datsync:${schema}`]);
        await client.query(
          `CREATE SCHEMA IF NOT EXISTS "${schema}"; CREATE TABLE IF NOT EXISTS "${schema}".layout (version integer NOT NULL)`,
        );
        const rows = (await client.query<{ version: number }>(`SELECT version FROM "${schema}".layout`)).rows;
        const version = rows[0]?.version ?? 0;
        if (version > migrations.length) {
          throw new DatsyncError(ErrorCode.StorageFailed, `${storage.name} was written by a newer datsync (layout ${version})`);
        }
        for (let step = version; step < migrations.length; step++)
          await client.query((migrations[step] as string).replaceAll('{s}', `"${schema}"`));
        await client.query(`DELETE FROM "${schema}".layout; INSERT INTO "${schema}".layout VALUES (${migrations.length})`);
      });
    } catch (error) {
      await storage.pool.end();
      throw error;
    }
    return storage;
  }

  private open(): void {
    if (this.closed) throw new DatsyncError(ErrorCode.Closed, `storage ${this.name} is closed`);
  }

  private async query<Row extends QueryResultRow>(action: string, text: string, values: unknown[] = []): Promise<Row[]> {
    this.open();
    try {
      return (await this.pool.query<Row>(text, values)).rows;
    } catch (cause) {
      throw failure(this.name, action, cause);
    }
  }

  /**
   * A connection of the pool for this process alone until `giveBack`. A
   * connection lost meanwhile reports it to its next query; until then the
   * error is only noted, as the pool does for idle ones.
   */
  private async checkOut(action: string): Promise<PoolClient> {
    try {
      const client = await this.pool.connect();
      client.on('error', ignore);
      return client;
    } catch (cause) {
      throw failure(this.name, action, cause);
    }
  }

  /** Returns a connection to the pool, or closes it if it may be broken or mid-transaction. */
  private giveBack(client: PoolClient, broken: boolean): void {
    client.off('error', ignore);
    client.release(broken);
  }

  /** Runs `work` in one transaction on one connection. */
  private async transaction<T>(action: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.checkOut(action);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      this.giveBack(client, false);
      return result;
    } catch (cause) {
      await client.query('ROLLBACK').catch(ignore);
      this.giveBack(client, true);
      throw failure(this.name, action, cause);
    }
  }

  /** Writes `batch` on `client`, inside its transaction. `head` is the locked head when the caller holds it. */
  private async write(client: PoolClient, batch: CommitBatch, head?: number): Promise<void> {
    const sql = this.sql;
    if ((batch.log?.length ?? 0) > 0) {
      const last = head ?? (await client.query<{ position: number }>(sql.lockHead)).rows[0]?.position ?? 0;
      const records = await recordsToAppend(
        batch,
        last,
        async (record) =>
          (await client.query<{ position: number }>(sql.positionOf, [transactionId(record.tx)])).rows[0]?.position === record.position,
      );
      const newHead = records[records.length - 1]?.position;
      if (newHead !== undefined) {
        const txs = records.map((record) => record.tx);
        await client.query(sql.append, [
          records.map((record) => record.position),
          txs.map(transactionId),
          txs.map((tx) => tx.replica),
          txs.map((tx) => tx.counter),
          txs.map(lastCounter),
          txs.map((tx) => encodeTransactions([tx])),
          newHead,
          this.channel,
        ]);
      }
    }
    const outboxAdd = batch.outboxAdd ?? [];
    if (outboxAdd.length > 0) {
      await client.query(sql.insertOutbox, [outboxAdd.map(transactionId), outboxAdd.map((tx) => encodeTransactions([tx]))]);
    }
    if ((batch.outboxRemove?.length ?? 0) > 0) await client.query(sql.deleteOutbox, [batch.outboxRemove]);
    // The last word on a transaction id wins, as when stored one by one.
    const rejections = [...new Map((batch.rejections ?? []).map((r) => [r.txId, r])).values()];
    if (rejections.length > 0) {
      const parsed = rejections.map((r) => ({ ...r, ...parseTxId(r.txId), ops: r.ops ?? 1 }));
      await client.query(sql.upsertRejections, [
        parsed.map((r) => r.txId),
        parsed.map((r) => r.replica),
        parsed.map((r) => r.counter + r.ops - 1),
        parsed.map((r) => r.code),
        parsed.map((r) => r.message),
        parsed.map((r) => r.ops),
      ]);
    }
    const meta = Object.entries(batch.meta ?? {}).filter(([, value]) => value !== undefined);
    if (meta.length > 0) await client.query(sql.upsertMeta, [meta.map(([key]) => key), meta.map(([, value]) => JSON.stringify(value))]);
    const owners = batch.owners ?? [];
    if (owners.length > 0) await client.query(sql.bindOwners, [owners.map((o) => o.replica), owners.map((o) => o.owner)]);
  }

  async commit(batch: CommitBatch): Promise<void> {
    this.open();
    const empty =
      (batch.log?.length ?? 0) === 0 &&
      (batch.outboxAdd?.length ?? 0) === 0 &&
      (batch.outboxRemove?.length ?? 0) === 0 &&
      (batch.rejections?.length ?? 0) === 0 &&
      (batch.owners?.length ?? 0) === 0 &&
      Object.values(batch.meta ?? {}).every((value) => value === undefined);
    if (empty) return;
    await this.transaction('commit', (client) => this.write(client, batch));
  }

  /** A turn: the head row locked in a transaction of its own, until `commit` or `release`. */
  private async turn(after: number): Promise<AppendTurn> {
    this.open();
    if (!Number.isSafeInteger(after) || after < 0) throw new DatsyncError(ErrorCode.StorageFailed, 'a turn starts after a position');
    const client = await this.checkOut('begin an append');
    let head: number;
    let records: LogRecord[];
    try {
      // One round trip (a multi-statement query answers with a result per statement): the lock, then
      // what others appended since `after`, read under it. `after` is a checked integer, written inline.
      const results = (await client.query(
        `BEGIN; ${this.sql.lockHead}; SELECT position, data FROM ${this.sql.schema}.log WHERE position > ${after} ORDER BY position LIMIT ${TURN_PAGE}`,
      )) as unknown as [unknown, pg.QueryResult<{ position: number }>, pg.QueryResult<LogRow>];
      head = results[1].rows[0]?.position ?? 0;
      records = results[2].rows.map(toRecord);
    } catch (cause) {
      this.giveBack(client, true);
      throw failure(this.name, 'begin an append', cause);
    }
    let ended = false;
    const end = (): void => {
      if (ended) throw new DatsyncError(ErrorCode.Internal, 'this turn has ended');
      ended = true;
    };
    return {
      head,
      records,
      commit: async (batch) => {
        end();
        try {
          await this.write(client, batch, head);
        } catch (cause) {
          await client.query('ROLLBACK').catch(ignore);
          this.giveBack(client, true);
          throw failure(this.name, 'append', cause);
        }
        try {
          await client.query('COMMIT');
        } catch (cause) {
          this.giveBack(client, true);
          throw uncertain(this.name, cause);
        }
        this.giveBack(client, false);
      },
      release: async () => {
        end();
        try {
          await client.query('ROLLBACK');
          this.giveBack(client, false);
        } catch {
          this.giveBack(client, true);
        }
      },
    };
  }

  /**
   * Tells `listener` of every head another node announces (NOTIFY), on a
   * connection of its own; after that connection is lost and made again, and
   * every `pollMs` besides, it is called with undefined: whatever was
   * announced meanwhile may have been missed, so the caller reads the log.
   */
  private watchLog(listener: (head: number | undefined) => void): () => void {
    this.open();
    this.listeners.add(listener);
    this.stopNotices ??= notices({
      url: this.options.url,
      channel: this.channel,
      pollMs: this.options.pollMs ?? 5000,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 5000,
      notify: (head) => {
        for (const each of this.listeners) each(head);
      },
    });
    return () => {
      this.listeners.delete(listener);
    };
  }

  async meta(): Promise<Meta> {
    const rows = await this.query<{ key: string; value: string }>('read meta', this.sql.allMeta);
    const out: Record<string, unknown> = {};
    for (const row of rows) out[row.key] = JSON.parse(row.value);
    return out as Meta;
  }

  async readLog(after: number, limit: number): Promise<LogRecord[]> {
    return (await this.query<LogRow>('read the log', this.sql.readLog, [after, limit])).map(toRecord);
  }

  async readLacking(vector: VersionVector, after: number, limit: number): Promise<LogRecord[]> {
    const entries = [...vector];
    const rows = await this.query<LogRow>('read the log', this.sql.readLacking, [
      entries.map(([replica]) => replica),
      entries.map(([, counter]) => counter),
      after,
      limit,
    ]);
    return rows.map(toRecord);
  }

  async lastPosition(): Promise<number> {
    return (await this.query<{ position: number }>('read the log', this.sql.lastPosition))[0]?.position ?? 0;
  }

  /** Lookups asked for together (a group being decided) go to the server as one query. */
  findTransaction(txId: TxId): Promise<LogRecord | undefined> {
    this.open();
    return this.found.get(txId);
  }

  rejection(txId: TxId): Promise<Rejection | undefined> {
    this.open();
    return this.refused.get(txId);
  }

  async decided(replica: ReplicaId): Promise<number> {
    return (await this.query<{ c: number }>('read the log', this.sql.decided, [replica]))[0]?.c ?? 0;
  }

  async replicaOwner(replica: ReplicaId): Promise<string | undefined> {
    return (await this.query<{ owner: string }>('read owners', this.sql.owner, [replica]))[0]?.owner;
  }

  async outbox(): Promise<Transaction[]> {
    return (await this.query<{ data: Uint8Array }>('read the outbox', this.sql.outbox)).map((row) => decodeOne(row.data));
  }

  async putSnapshot(snapshot: Snapshot): Promise<void> {
    await this.query('store a snapshot', this.sql.putSnapshot, [snapshot.position, snapshot.state]);
  }

  async snapshot(): Promise<Snapshot | undefined> {
    const row = (await this.query<{ position: number; state: Uint8Array }>('read the snapshot', this.sql.snapshot))[0];
    return row === undefined ? undefined : { position: row.position, state: new Uint8Array(row.state) };
  }

  async compact(position: number): Promise<void> {
    this.open();
    await this.transaction('compact the log', async (client) => {
      const covered = (await client.query<{ position: number }>(this.sql.snapshotForUpdate)).rows[0]?.position;
      if (covered === undefined || covered < position) {
        throw new DatsyncError(ErrorCode.StorageFailed, 'cannot drop log records no snapshot covers', { position });
      }
      await client.query(this.sql.compact, [position]);
    });
  }

  async resetLog(): Promise<void> {
    this.open();
    await this.transaction('reset the log', async (client) => {
      await client.query(this.sql.lockHead);
      await client.query(this.sql.reset);
    });
  }

  async putDraft(draft: StoredDraft): Promise<void> {
    await this.query('store a draft', this.sql.putDraft, draftColumns(draft));
  }

  async draft(key: string): Promise<StoredDraft | undefined> {
    const row = (await this.query<DraftRow>('read a draft', this.sql.draft, [key]))[0];
    return row === undefined ? undefined : storedDraft(row);
  }

  async deleteDraft(key: string): Promise<void> {
    await this.query('delete a draft', this.sql.deleteDraft, [key]);
  }

  async drafts(): Promise<DraftSummary[]> {
    return (await this.query<DraftRow>('read drafts', this.sql.drafts)).map((row) => ({ ...draftFields(row), bytes: row.bytes ?? 0 }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.stopNotices?.();
    await this.pool.end();
  }
}
