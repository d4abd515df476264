/**
 * Shared fixtures for the client unit tests: a schema covering every
 * cardinality, value type, uniqueness and component setting, deterministic
 * replica ids and clocks, and helpers that capture everything a refused
 * transaction must leave untouched.
 */
import { expect } from 'vitest';
import type { EntityId, Transaction } from '../../crdt/index.js';
import { DatsyncError } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { TxData } from '../../src/client/tx-forms.js';
import type { Db, Eid } from '../../src/datascript/index.js';
import { datoms } from '../../src/datascript/index.js';
import type { SchemaInput } from '../../src/schema.js';

export const SCHEMA = {
  /** one, string, history */
  'person/name': { ':db/valueType': ':db.type/string', ':datsync/history': true },
  /** one, number */
  'person/age': { ':db/valueType': ':db.type/number' },
  /** one, string, unique identity */
  'person/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  /** one, string, unique identity (a second identity attribute) */
  'person/ssn': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  /** one, string, unique value */
  'person/handle': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/value' },
  /** many, string */
  'person/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
  /** one, ref */
  'person/friend': { ':db/valueType': ':db.type/ref' },
  /** many, ref */
  'person/friends': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/ref' },
  /** one, ref, component */
  'person/address': { ':db/valueType': ':db.type/ref', ':db/isComponent': true },
  /** many, ref, component */
  'person/phones': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/ref', ':db/isComponent': true },
  /** one, bigint */
  'person/big': { ':db/valueType': ':db.type/bigint' },
  /** one, boolean */
  'person/active': { ':db/valueType': ':db.type/boolean' },
  /** one, instant, history */
  'person/born': { ':db/valueType': ':db.type/instant', ':datsync/history': true },
  /** one, json */
  'person/data': { ':db/valueType': ':db.type/json' },
  /** many, json */
  'person/notes': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/json' },
  /** one, untyped */
  'person/misc': {},
  /** many, string, history */
  'person/nicknames': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string', ':datsync/history': true },
  'address/street': { ':db/valueType': ':db.type/string' },
  /** one, ref, component: components of components */
  'address/geo': { ':db/valueType': ':db.type/ref', ':db/isComponent': true },
  'geo/lat': { ':db/valueType': ':db.type/number' },
  'phone/number': { ':db/valueType': ':db.type/string' },
} as const satisfies SchemaInput;

/** A physical clock the test moves by hand. */
export class ManualClock {
  ms: number;

  constructor(start = 1_700_000_000_000) {
    this.ms = start;
  }

  readonly now = (): number => this.ms;

  advance(ms = 1): number {
    this.ms += ms;
    return this.ms;
  }
}

export interface ClientSetup {
  readonly schema?: SchemaInput;
  /** Every byte of the random source; 0 mints replica "AAAAAAAAAAAAAAAA", 1 "BBBBBBBBBBBBBBBB" and so on. */
  readonly replicaByte?: number;
  readonly clock?: ManualClock;
}

export async function newClient(setup: ClientSetup = {}): Promise<Client> {
  const byte = setup.replicaByte ?? 0;
  return (await createClient({
    schema: setup.schema ?? SCHEMA,
    randomBytes: (length) => new Uint8Array(length).fill(byte),
    ...(setup.clock === undefined ? {} : { now: setup.clock.now }),
  })) as Client;
}

export type Row = readonly [Eid, string, unknown];

/** Every datom of a DataScript database, in EAVT order. */
export function rows(db: Db): Row[] {
  return datoms(db, ':eavt').map((d) => [d.e, d.a, d.v] as const);
}

/** The datoms of a database without the `datsync/id` bookkeeping. */
export function userRows(db: Db): Row[] {
  return rows(db).filter(([, a]) => a !== 'datsync/id');
}

/** The datoms of one entity, `datsync/id` included: empty once the entity shows nothing. */
export function rowsOf(db: Db, eid: Eid): Row[] {
  return rows(db).filter(([e]) => e === eid);
}

/** An entity's attributes as `[*]` pulls them, without `:db/id` and `datsync/id`. */
export function attrs(client: Client, eid: Eid): Record<string, unknown> | null {
  const pulled = client.pull('[*]', eid);
  if (pulled === null) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulled)) if (key !== ':db/id' && key !== 'datsync/id') out[key] = value;
  return out;
}

/** Everything a transaction can change, for before/after comparisons. */
export interface Observed {
  readonly datoms: Row[];
  readonly pending: number;
  readonly pendingIds: string[];
  readonly outbox: number;
  readonly issuedUpTo: number;
  readonly hlc: number;
}

function txIdOf(tx: Transaction): string {
  return `${tx.replica}:${tx.counter}`;
}

export async function observe(client: Client): Promise<Observed> {
  const pending = client.replica.state.pending();
  return {
    datoms: rows(client.db()),
    pending: pending.length,
    pendingIds: pending.map(txIdOf),
    outbox: (await client.storage.outbox()).length,
    issuedUpTo: client.replica.author.issuedUpTo,
    hlc: client.replica.author.clock.current,
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Asserts that `error` is a DatsyncError with `code`, and returns it typed. */
export function expectDatsyncError(error: unknown, code: string): DatsyncError {
  if (!(error instanceof DatsyncError)) throw new Error(`expected a DatsyncError, got ${String(error)}`);
  expect(error.code).toBe(code);
  return error;
}

/** Runs a synchronous call that must throw a DatsyncError with `code`. */
export function thrown(call: () => unknown, code: string): DatsyncError {
  let error: unknown;
  try {
    call();
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) throw new Error('expected the call to throw');
  return expectDatsyncError(error, code);
}

/**
 * Transacts `txData`, expects a DatsyncError with `code` naming item `index`
 * (in details and in the message), and checks that nothing was applied:
 * the database value, the datoms, the pending list, the outbox, the dot
 * counter and the clock are all unchanged.
 */
export async function expectRefused(client: Client, txData: unknown, code: string, index?: number): Promise<DatsyncError> {
  const before = await observe(client);
  const dbBefore = client.db();
  const error = expectDatsyncError(await rejection(client.transact(txData as TxData)), code);
  if (index !== undefined) {
    expect(error.details?.index).toBe(index);
    expect(error.message).toContain(`transaction item ${index}`);
  }
  expect(client.db()).toBe(dbBefore);
  expect(await observe(client)).toEqual(before);
  return error;
}

/** Sends each client's tentative transactions to the other, as the server would relay them. */
export function exchange(a: Client, b: Client): void {
  const fromA = [...a.replica.state.pending()];
  const fromB = [...b.replica.state.pending()];
  b.replica.applyRemote(fromA);
  a.replica.applyRemote(fromB);
}

/** The eid a report's tempid got, failing the test when there is none. */
export function tempEid(report: { readonly tempids: Readonly<Record<string, Eid>> }, tempid: string): Eid {
  const eid = report.tempids[tempid];
  if (eid === undefined) throw new Error(`no eid for tempid ${tempid}`);
  return eid;
}

/** The stable id a report's tempid got. */
export function tempId(report: { readonly entityIds: Readonly<Record<string, EntityId>> }, tempid: string): EntityId {
  const id = report.entityIds[tempid];
  if (id === undefined) throw new Error(`no stable id for tempid ${tempid}`);
  return id;
}

/** Asserts a value is defined and returns it (instead of a non-null assertion). */
export function defined<T>(value: T | undefined | null, what = 'value'): T {
  if (value === undefined || value === null) throw new Error(`expected ${what} to be defined`);
  return value;
}
