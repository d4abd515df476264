/**
 * The SQL of the PostgreSQL storage: its layout, created and upgraded step
 * by step, and the statements it runs, for one schema.
 *
 * @module
 */

/** Upgrade steps, one per layout version; `{s}` stands for the schema. */
export const migrations: readonly string[] = [
  `CREATE TABLE {s}.head (id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL);
   INSERT INTO {s}.head VALUES (1, 0);
   CREATE TABLE {s}.log (
     position bigint PRIMARY KEY,
     tx_id text NOT NULL UNIQUE,
     replica text NOT NULL,
     counter bigint NOT NULL,
     last_counter bigint NOT NULL,
     data bytea NOT NULL
   );
   CREATE INDEX log_by_origin ON {s}.log (replica, last_counter);
   CREATE TABLE {s}.outbox (seq bigserial PRIMARY KEY, tx_id text NOT NULL UNIQUE, data bytea NOT NULL);
   CREATE TABLE {s}.rejections (
     tx_id text PRIMARY KEY, replica text NOT NULL, last_counter bigint NOT NULL, code text NOT NULL, message text NOT NULL, ops integer NOT NULL
   );
   CREATE INDEX rejections_by_origin ON {s}.rejections (replica, last_counter);
   CREATE TABLE {s}.owners (replica text PRIMARY KEY, owner text NOT NULL);
   CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE {s}.snapshot (id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL, state bytea NOT NULL);
   CREATE TABLE {s}.drafts (
     key text PRIMARY KEY, generation bigint NOT NULL, state bytea NOT NULL, owner text, closed text, updated_at bigint NOT NULL
   );`,
];

export const POSTGRES_LAYOUT_VERSION = migrations.length;

/** The SQL every instance runs, with the schema filled in. */
export function statements(s: string) {
  return {
    schema: s,
    lockHead: `SELECT GREATEST(h.position, COALESCE(n.position, 0)) AS position FROM ${s}.head h LEFT JOIN ${s}.snapshot n ON n.id = 1 WHERE h.id = 1 FOR UPDATE OF h`,
    lastPosition: `SELECT GREATEST(h.position, COALESCE(n.position, 0)) AS position FROM ${s}.head h LEFT JOIN ${s}.snapshot n ON n.id = 1 WHERE h.id = 1`,
    positionOf: `SELECT position FROM ${s}.log WHERE tx_id = $1`,
    // One statement: the records, the head moved past them, and the new head announced (NOTIFY is
    // delivered only if, and once, the transaction commits).
    append: `WITH appended AS (
        INSERT INTO ${s}.log (position, tx_id, replica, counter, last_counter, data)
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[])
      ), moved AS (UPDATE ${s}.head SET position = $7 WHERE id = 1 RETURNING position)
      SELECT pg_notify($8, position::text) FROM moved`,
    insertOutbox: `INSERT INTO ${s}.outbox (tx_id, data)
      SELECT t, d FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS x(t, d, n) ORDER BY n ON CONFLICT (tx_id) DO NOTHING`,
    deleteOutbox: `DELETE FROM ${s}.outbox WHERE tx_id = ANY($1::text[])`,
    upsertRejections: `INSERT INTO ${s}.rejections (tx_id, replica, last_counter, code, message, ops)
      SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::integer[])
      ON CONFLICT (tx_id) DO UPDATE SET replica = excluded.replica, last_counter = excluded.last_counter,
        code = excluded.code, message = excluded.message, ops = excluded.ops`,
    upsertMeta: `INSERT INTO ${s}.meta (key, value) SELECT * FROM unnest($1::text[], $2::text[])
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    bindOwners: `INSERT INTO ${s}.owners (replica, owner) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (replica) DO NOTHING`,
    allMeta: `SELECT key, value FROM ${s}.meta`,
    readLog: `SELECT position, data FROM ${s}.log WHERE position > $1 ORDER BY position LIMIT $2`,
    // One indexed range per replica, as in SQLite; replicas the vector does not name lack everything.
    // The log's replicas by one index seek each (a loose index scan): SELECT DISTINCT would read the whole index.
    readLacking: `WITH RECURSIVE r(replica) AS (
        (SELECT replica FROM ${s}.log ORDER BY replica LIMIT 1)
        UNION ALL
        SELECT (SELECT l.replica FROM ${s}.log l WHERE l.replica > r.replica ORDER BY l.replica LIMIT 1)
        FROM r WHERE r.replica IS NOT NULL
      )
      SELECT x.position, x.data FROM (SELECT replica FROM r WHERE replica IS NOT NULL) r
      LEFT JOIN unnest($1::text[], $2::bigint[]) AS v(replica, counter) ON v.replica = r.replica
      CROSS JOIN LATERAL (
        SELECT position, data FROM ${s}.log l
        WHERE l.replica = r.replica AND l.last_counter > COALESCE(v.counter, 0) AND l.position > $3
        ORDER BY l.position LIMIT $4
      ) x ORDER BY x.position LIMIT $4`,
    findMany: `SELECT tx_id, position, data FROM ${s}.log WHERE tx_id = ANY($1::text[])`,
    rejectionsMany: `SELECT tx_id, code, message, ops FROM ${s}.rejections WHERE tx_id = ANY($1::text[])`,
    decided: `SELECT GREATEST(
      (SELECT COALESCE(MAX(last_counter), 0) FROM ${s}.log WHERE replica = $1),
      (SELECT COALESCE(MAX(last_counter), 0) FROM ${s}.rejections WHERE replica = $1)) AS c`,
    owner: `SELECT owner FROM ${s}.owners WHERE replica = $1`,
    outbox: `SELECT data FROM ${s}.outbox ORDER BY seq`,
    putSnapshot: `INSERT INTO ${s}.snapshot (id, position, state) VALUES (1, $1, $2)
      ON CONFLICT (id) DO UPDATE SET position = excluded.position, state = excluded.state`,
    snapshot: `SELECT position, state FROM ${s}.snapshot WHERE id = 1`,
    snapshotForUpdate: `SELECT position FROM ${s}.snapshot WHERE id = 1 FOR UPDATE`,
    compact: `DELETE FROM ${s}.log WHERE position <= $1`,
    reset: `DELETE FROM ${s}.log; DELETE FROM ${s}.rejections; DELETE FROM ${s}.snapshot; UPDATE ${s}.head SET position = 0`,
    putDraft: `INSERT INTO ${s}.drafts (key, generation, state, owner, closed, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (key) DO UPDATE SET generation = excluded.generation, state = excluded.state, owner = excluded.owner,
        closed = excluded.closed, updated_at = excluded.updated_at`,
    draft: `SELECT key, generation, state, owner, closed, updated_at FROM ${s}.drafts WHERE key = $1`,
    deleteDraft: `DELETE FROM ${s}.drafts WHERE key = $1`,
    drafts: `SELECT key, generation, octet_length(state)::bigint AS bytes, owner, closed, updated_at FROM ${s}.drafts`,
  };
}
