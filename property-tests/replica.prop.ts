/**
 * The client replica against raw DataScript (issue 3), at least 500 runs each:
 * - sequential streams: datsync's projection equals what raw DataScript holds
 *   after the same transactions, and both refuse the same transactions;
 * - incremental projection equals a projection rebuilt from scratch;
 * - concurrent streams on several replicas, exchanged in random orders,
 *   end in equal projections;
 * - a reactive query's last callback equals a fresh run of the query, also
 *   for a query given a lookup ref that comes to name another entity.
 */
import datascript from 'datascript';
import fc from 'fast-check';
import { describe, it } from 'vitest';

import type { Transaction } from '../crdt/index.js';
import { type Client, createClient } from '../src/client/client.js';
import type { Db } from '../src/datascript/index.js';
import { datoms as dsDatoms } from '../src/datascript/index.js';
import { runs } from './setup.js';
import { permute } from './support/impl.js';
import type { AttrShape } from './support/tx-streams.js';
import { KEY_ATTR, KEYS, materialize, schemaArb, streamArb, toDataScriptSchema, toSchema } from './support/tx-streams.js';

/** Entities by key, each a sorted list of "attr value" with refs shown as the key they point to. */
function canonical(db: unknown, attrs: readonly AttrShape[]): string {
  const all = datascript.datoms(db, ':eavt');
  const keyOf = new Map<number, string>();
  for (const d of all) if (d.a === KEY_ATTR) keyOf.set(d.e, String(d.v));
  const refs = new Set(attrs.filter((a) => a.type === 'ref').map((a) => a.name));
  const rows: string[] = [];
  for (const d of all) {
    if (d.a === 'datsync/id') continue;
    const v = refs.has(d.a) ? `->${keyOf.get(d.v as number) ?? '?'}` : JSON.stringify(d.v);
    rows.push(`${keyOf.get(d.e) ?? `?${d.e}`} ${d.a} ${v}`);
  }
  return rows.sort().join('\n');
}

function keys(db: unknown): Set<string> {
  return new Set(datascript.datoms(db, ':aevt', KEY_ATTR).map((d) => String(d.v)));
}

describe('client replica', () => {
  it('projects exactly what raw DataScript holds after the same sequential transactions', async () => {
    await fc.assert(
      fc.asyncProperty(schemaArb, streamArb, async (attrs, stream) => {
        const client = await createClient({ schema: toSchema(attrs) });
        let raw = datascript.empty_db(toDataScriptSchema(attrs));
        for (const ops of stream) {
          const present = keys(raw);
          const txData = materialize(ops, attrs, (key) => present.has(key));
          let rawError: unknown;
          try {
            raw = datascript.db_with(raw, txData);
          } catch (error) {
            rawError = error;
          }
          let ourError: unknown;
          try {
            await client.transact(txData as never);
          } catch (error) {
            ourError = error;
          }
          if ((rawError === undefined) !== (ourError === undefined)) return false;
          if (canonical(client.db(), attrs) !== canonical(raw, attrs)) return false;
        }
        await client.close();
        return true;
      }),
      { numRuns: runs(500) },
    );
  });

  it('keeps the incremental projection equal to one rebuilt from scratch', async () => {
    await fc.assert(
      fc.asyncProperty(schemaArb, streamArb, async (attrs, stream) => {
        const client = (await createClient({ schema: toSchema(attrs) })) as Client;
        for (const ops of stream) {
          const present = keys(client.db());
          await client.transact(materialize(ops, attrs, (key) => present.has(key)) as never).catch(() => undefined);
        }
        const incremental = datomRows(client.db());
        client.replica.projection.rebuild(client.replica.state.datoms());
        const rebuilt = datomRows(client.db());
        await client.close();
        return incremental === rebuilt;
      }),
      { numRuns: runs(500) },
    );
  });

  it('converges when replicas write concurrently and exchange in any order', async () => {
    await fc.assert(
      fc.asyncProperty(
        schemaArb,
        fc.array(streamArb, { minLength: 2, maxLength: 4 }),
        fc.array(fc.array(fc.integer(), { minLength: 1, maxLength: 30 }), { minLength: 4, maxLength: 4 }),
        async (attrs, streams, orders) => {
          const schema = toSchema(attrs);
          const writers = await Promise.all(streams.map(() => createClient({ schema }) as Promise<Client>));
          const written: Transaction[] = [];
          for (const [i, stream] of streams.entries()) {
            const writer = writers[i] as Client;
            for (const ops of stream) {
              const present = keys(writer.db());
              await writer.transact(materialize(ops, attrs, (key) => present.has(key)) as never).catch(() => undefined);
            }
            written.push(...writer.replica.state.pending());
          }
          // Every writer then receives everyone's transactions, each in its own order.
          const finals = writers.map((writer, i) => {
            writer.replica.applyRemote(permute(written, orders[i % orders.length] ?? []));
            return canonicalByIds(writer);
          });
          await Promise.all(writers.map((w) => w.close()));
          return finals.every((f) => f === finals[0]);
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it("leaves a reactive query's last result equal to a fresh query", async () => {
    await fc.assert(
      fc.asyncProperty(schemaArb, streamArb, fc.nat(4), async (attrs, stream, which) => {
        const client = await createClient({ schema: toSchema(attrs) });
        const attr = attrs[which % attrs.length] as AttrShape;
        const query = `[:find ?k ?v :where [?e "${KEY_ATTR}" ?k] [?e "${attr.name}" ?v]]`;
        let last: unknown;
        let calls = 0;
        const stop = client.subscribe(query, [], (result) => {
          last = result;
          calls++;
        });
        for (const ops of stream) {
          const present = keys(client.db());
          await client.transact(materialize(ops, attrs, (key) => present.has(key)) as never).catch(() => undefined);
        }
        const fresh = client.q<unknown[]>(query);
        stop();
        await client.close();
        const sort = (rows: unknown): string => JSON.stringify([...(rows as unknown[])].map((r) => JSON.stringify(r)).sort());
        return calls >= 1 && sort(last) === sort(fresh);
      }),
      { numRuns: runs(500) },
    );
  });

  it('leaves the last result of a query scoped to one entity (an eid input) equal to a fresh query', async () => {
    await fc.assert(
      fc.asyncProperty(schemaArb, streamArb, fc.integer({ min: 1, max: 6 }), fc.boolean(), async (attrs, stream, eid, anyAttribute) => {
        const client = await createClient({ schema: toSchema(attrs) });
        const attr = attrs[eid % attrs.length] as AttrShape;
        const query = anyAttribute
          ? '[:find ?a ?v :in $ ?e :where [?e ?a ?v]]'
          : `[:find ?v :in $ ?e :where [?e "${attr.name}" ?v] (not [?e "${KEY_ATTR}" "none"])]`;
        let last: unknown;
        const stop = client.subscribe(query, [eid], (result) => {
          last = result;
        });
        for (const ops of stream) {
          const present = keys(client.db());
          await client.transact(materialize(ops, attrs, (key) => present.has(key)) as never).catch(() => undefined);
        }
        const fresh = client.q<unknown[]>(query, eid);
        stop();
        await client.close();
        const sort = (rows: unknown): string => JSON.stringify([...(rows as unknown[])].map((r) => JSON.stringify(r)).sort());
        return sort(last) === sort(fresh);
      }),
      { numRuns: runs(500) },
    );
  });

  it('leaves the last result of a query given a lookup ref (key, unique value or datsync/id) equal to a fresh query', async () => {
    const lookupArb = fc.constantFrom('key' as const, 'unique' as const, 'stable-id' as const);
    await fc.assert(
      fc.asyncProperty(
        schemaArb,
        streamArb,
        fc.nat(4),
        lookupArb,
        fc.boolean(),
        fc.array(fc.option(fc.nat(KEYS.length - 1), { nil: undefined }), { maxLength: 12 }),
        async (attrs, stream, which, lookup, collection, moves) => {
          const client = await createClient({ schema: toSchema(attrs) });
          const attr = attrs[which % attrs.length] as AttrShape;
          // A unique value attribute when the schema has one: its value can move to another entity.
          const unique = attrs.find((a) => a.unique);
          const seed: Record<string, unknown> = { ':db/id': 'held', [KEY_ATTR]: 'e0' };
          let ref: unknown[] = [KEY_ATTR, 'e0'];
          if (lookup === 'unique' && unique !== undefined) {
            const value = unique.type === 'number' ? 1.5 : 's1';
            seed[unique.name] = value;
            ref = [unique.name, value];
          }
          // The lookup ref names an entity when subscribing; the stream may move, retract or recreate it.
          const report = await client.transact([seed]);
          if (lookup === 'stable-id') ref = ['datsync/id', report.entityIds.held];
          const query = collection
            ? `[:find ?k ?v :in $ [?e ...] :where [?e "${KEY_ATTR}" ?k] [?e "${attr.name}" ?v]]`
            : `[:find ?v :in $ ?e :where [?e "${attr.name}" ?v]]`;
          const input = collection ? [ref] : ref;
          let last: unknown;
          const stop = client.subscribe(query, [input], (result) => {
            last = result;
          });
          let fresh: unknown[] | undefined;
          for (const [i, ops] of stream.entries()) {
            const present = keys(client.db());
            const to = moves[i];
            // Moves the looked-up value to another entity in one transaction, unless it names a stable id (which never moves).
            if (to !== undefined && lookup !== 'stable-id' && present.has(KEYS[to] as string)) {
              const [attribute, value] = ref;
              const holder = client.q<number | null>('[:find ?e . :in $ ?a ?v :where [?e ?a ?v]]', attribute, value);
              const target = [KEY_ATTR, KEYS[to]];
              const retract = holder === null ? [] : [[':db/retract', holder, attribute, value]];
              await client.transact([...retract, [':db/add', target, attribute, value]] as never).catch(() => undefined);
            }
            await client.transact(materialize(ops, attrs, (key) => present.has(key)) as never).catch(() => undefined);
            try {
              fresh = client.q<unknown[]>(query, input);
            } catch {
              // The lookup ref names nothing now: the query fails, and the subscription keeps its last result.
              continue;
            }
            const sort = (rows: unknown): string => JSON.stringify([...(rows as unknown[])].map((r) => JSON.stringify(r)).sort());
            if (sort(last) !== sort(fresh)) return false;
          }
          stop();
          await client.close();
          return true;
        },
      ),
      { numRuns: runs(500) },
    );
  });
});

function datomRows(db: Db): string {
  return dsDatoms(db, ':eavt')
    .map((d) => `${d.e} ${d.a} ${JSON.stringify(d.v)}`)
    .sort()
    .join('\n');
}

/** A replica's DataScript projection by stable entity ids (eids differ between replicas). */
function canonicalByIds(client: Client): string {
  const idOf = (eid: unknown): string => String(client.entityId(eid as number));
  const refs = new Set(client.replica.schema.refAttributes as readonly string[]);
  return dsDatoms(client.db(), ':eavt')
    .map((d) => `${idOf(d.e)} ${d.a} ${refs.has(d.a) ? idOf(d.v) : JSON.stringify(d.v)}`)
    .sort()
    .join('\n');
}
