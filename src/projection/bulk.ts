/**
 * Building a DataScript database from many datoms in one pass.
 *
 * `init_db` sorts every datom twice with DataScript's comparators (for the
 * EAVT and the AEVT index), which costs more than everything else a cold
 * start does. The datoms a projection builds are easy to order here instead:
 * eids are small integers and attributes few, so a counting sort by eid, a
 * short insertion sort within each entity and a counting sort by attribute
 * give both orders in linear time. DataScript then restores the database
 * from its own serialized form (`from_serializable`), which only builds the
 * index trees. The database is the same one `init_db` would build: same
 * datoms, same indexes, same schema, same max eid and tx.
 *
 * The fast path steps aside (and `init_db` runs) whenever DataScript's order
 * cannot be reproduced exactly: values of different types, or NaN, where two
 * values must be compared; values other than strings, numbers, booleans and
 * dates; attribute names DataScript's reader would take for keywords. A
 * check when this module loads builds a small database both ways and keeps
 * the fast path off unless they agree.
 *
 * @module
 */
import type { DataScriptSchema, Db, Eid, SerializedDb, SerializedValue, TxOp } from '../datascript/index.js';
import { datoms, dbWith, emptyDb, fromSerializable, initDb, serializable, TX0 } from '../datascript/index.js';
import type { Schema } from '../schema.js';

/** A datom to build: entity, attribute, value (as DataScript holds it), transaction. */
export type BulkRow = readonly [Eid, string, unknown, number];

/**
 * Datoms to build, column by column (no array per datom). JSON values are
 * kept apart: they are transacted after the build (see `bulkDb`).
 */
export class DatomBuffer {
  readonly eids: Eid[] = [];
  readonly attributes: string[] = [];
  readonly values: unknown[] = [];
  /** Each datom's transaction; undefined while every one is `TX0` (as a projection's are). */
  txs: number[] | undefined;
  readonly objects: TxOp[] = [];

  add(e: Eid, attribute: string, value: unknown, tx: number = TX0): void {
    if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
      this.objects.push([':db/add', e, attribute, value]);
      return;
    }
    if (tx !== TX0 && this.txs === undefined) this.txs = this.eids.map(() => TX0);
    this.eids.push(e);
    this.attributes.push(attribute);
    this.values.push(value);
    this.txs?.push(tx);
  }

  get length(): number {
    return this.eids.length;
  }

  /** The datoms other than JSON values, as rows. */
  rows(): BulkRow[] {
    return this.eids.map((e, i) => [e, this.attributes[i] as string, this.values[i], this.txs?.[i] ?? TX0] as const);
  }

  static of(rows: readonly BulkRow[]): DatomBuffer {
    const buffer = new DatomBuffer();
    for (const [e, a, v, tx] of rows) buffer.add(e, a, v, tx);
    return buffer;
  }
}

const STRING = 1;
const NUMBER = 2;
const BOOLEAN = 4;
const DATE = 8;

/** Raised inside a comparison when DataScript's order is not ours to reproduce. */
class Unordered extends Error {}

/** The kind bit of a value, or 0 for a value the fast path does not take. */
function kindOf(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return STRING;
    case 'number':
      return Number.isNaN(value) ? 0 : NUMBER;
    case 'boolean':
      return BOOLEAN;
    default:
      return value instanceof Date && !Number.isNaN(value.getTime()) ? DATE : 0;
  }
}

function compareSame(a: SerializedValue, b: SerializedValue): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The schema as EDN text, printed by DataScript itself (so it reads back identically). */
const schemaText = new WeakMap<DataScriptSchema, string>();

function ednSchema(schema: DataScriptSchema): string {
  let text = schemaText.get(schema);
  if (text === undefined) {
    text = serializable(emptyDb(schema)).schema;
    schemaText.set(schema, text);
  }
  return text;
}

function indexed(spec: Readonly<Record<string, string | boolean>> | undefined): boolean {
  if (spec === undefined) return false;
  return spec[':db/unique'] !== undefined || spec[':db/valueType'] === ':db.type/ref' || spec[':db/index'] === true;
}

/**
 * The database `init_db` would build from `rows`, built without sorting by
 * DataScript; undefined when the rows hold something the fast path does not
 * order (the caller then uses `init_db`).
 */
export function sortedDb(rows: readonly BulkRow[] | DatomBuffer, schema: DataScriptSchema): Db | undefined {
  const datoms = rows instanceof DatomBuffer ? rows : DatomBuffer.of(rows);
  return datoms.objects.length > 0 ? undefined : sortedPlain(datoms, schema);
}

/** `sortedDb` of a buffer's datoms other than its JSON values. */
function sortedPlain(datoms: DatomBuffer, schema: DataScriptSchema): Db | undefined {
  try {
    return build(datoms, schema);
  } catch (error) {
    if (error instanceof Unordered) return undefined;
    throw error;
  }
}

function build(rows: DatomBuffer, schema: DataScriptSchema): Db | undefined {
  const n = rows.length;
  // The buffer's own columns are read in place: a bulk build allocates enough as it is.
  const eids = rows.eids;
  const txs = rows.txs;
  const rowAttributes = rows.attributes;
  const rowValues = rows.values;
  // Attributes, in first-seen order, with the kinds of value each holds.
  const attributeIds = new Map<string, number>();
  const names: string[] = [];
  const kindsOf: number[] = [];
  /** Each datom's attribute id, then (below) its attribute's rank. */
  const rankOf = new Int32Array(n);
  let maxE = 0;
  let maxTx = TX0;
  let hasDates = false;
  for (let i = 0; i < n; i++) {
    const e = eids[i] as Eid;
    if (!Number.isSafeInteger(e) || e <= 0 || e >= TX0) return undefined;
    const name = rowAttributes[i] as string;
    let attribute = attributeIds.get(name);
    if (attribute === undefined) {
      // DataScript's reader turns ":x" into a keyword.
      if (typeof name !== 'string' || name.startsWith(':')) return undefined;
      attribute = names.length;
      attributeIds.set(name, attribute);
      names.push(name);
      kindsOf.push(0);
    }
    const kind = kindOf(rowValues[i]);
    if (kind === 0) return undefined;
    if (kind === DATE) hasDates = true;
    kindsOf[attribute] = (kindsOf[attribute] as number) | kind;
    if (txs !== undefined) {
      const tx = txs[i] as number;
      if (!Number.isSafeInteger(tx)) return undefined;
      if (tx > maxTx) maxTx = tx;
    }
    rankOf[i] = attribute;
    if (e > maxE) maxE = e;
  }
  // Dates travel as epoch milliseconds and are put back afterwards: an attribute must hold only dates then.
  for (const kinds of kindsOf) if ((kinds & DATE) !== 0 && kinds !== DATE) return undefined;
  const values = (
    hasDates ? rowValues.map((value) => (value instanceof Date ? value.getTime() : value)) : rowValues
  ) as readonly SerializedValue[];

  // Attributes ranked as DataScript orders them (strings compare by UTF-16 code units).
  const byName = names.map((_, i) => i).sort((x, y) => compareSame(names[x] as string, names[y] as string));
  const rank = new Int32Array(names.length);
  byName.forEach((attribute, r) => {
    rank[attribute] = r;
  });
  for (let i = 0; i < n; i++) rankOf[i] = rank[rankOf[i] as number] as number;
  const txOf = (i: number): number => (txs === undefined ? TX0 : (txs[i] as number));

  /** Order within one entity: attribute, then value, then transaction. */
  const compareWithin = (i: number, j: number): number => {
    const byRank = (rankOf[i] as number) - (rankOf[j] as number);
    if (byRank !== 0) return byRank;
    const a = values[i] as SerializedValue;
    const b = values[j] as SerializedValue;
    if (typeof a !== typeof b) throw new Unordered();
    const byValue = compareSame(a, b);
    return byValue !== 0 ? byValue : txOf(i) - txOf(j);
  };

  // EAVT: stable counting sorts by attribute rank, then by eid (eids are dense), give (eid, attribute)
  // order; only datoms sharing both (a cardinality-many attribute) then need their values compared.
  let eavt: Int32Array;
  if (maxE <= 4 * n + 1024) {
    const byRank = countingSort(undefined, n, names.length, (i) => rankOf[i] as number);
    eavt = countingSort(byRank, n, maxE + 1, (i) => eids[i] as number);
    for (let p = 0; p < n; ) {
      const first = eavt[p] as number;
      let q = p + 1;
      while (q < n && eids[eavt[q] as number] === eids[first] && rankOf[eavt[q] as number] === rankOf[first]) q++;
      sortRange(eavt, p, q, compareWithin);
      p = q;
    }
  } else {
    eavt = new Int32Array(n);
    for (let i = 0; i < n; i++) eavt[i] = i;
    const sorted = Array.from(eavt).sort((i, j) => (eids[i] as number) - (eids[j] as number) || compareWithin(i, j));
    eavt.set(sorted);
  }

  // AEVT: a stable counting sort of the EAVT positions by attribute rank.
  const rankStarts = new Int32Array(names.length + 1);
  for (let p = 0; p < n; p++) {
    const at = (rankOf[eavt[p] as number] as number) + 1;
    rankStarts[at] = (rankStarts[at] as number) + 1;
  }
  for (let r = 1; r <= names.length; r++) rankStarts[r] = (rankStarts[r] as number) + (rankStarts[r - 1] as number);
  const aevt: number[] = new Array(n);
  const fill = rankStarts.slice();
  for (let p = 0; p < n; p++) {
    const r = rankOf[eavt[p] as number] as number;
    const at = fill[r] as number;
    aevt[at] = p;
    fill[r] = at + 1;
  }

  // AVET: the indexed attributes' positions, by value (stable, so equal values keep entity order).
  const avet: number[] = [];
  let maxRef = 0;
  for (let r = 0; r < names.length; r++) {
    const attribute = byName[r] as number;
    const name = names[attribute] as string;
    const spec = schema[name];
    if (!indexed(spec)) continue;
    const kinds = kindsOf[attribute] as number;
    if (kinds !== STRING && kinds !== NUMBER && kinds !== BOOLEAN && kinds !== DATE) throw new Unordered();
    const positions = aevt.slice(rankStarts[r], rankStarts[r + 1]);
    positions.sort((p, q) => compareSame(values[eavt[p] as number] as SerializedValue, values[eavt[q] as number] as SerializedValue));
    for (const p of positions) avet.push(p);
    if (spec?.[':db/valueType'] === ':db.type/ref' && kinds === NUMBER) {
      // As init_db does, the highest eid a reference names counts towards max-eid.
      for (const p of positions) {
        const v = values[eavt[p] as number] as number;
        if (v < TX0 && v > maxRef) maxRef = v;
      }
    }
  }

  const entries: Array<readonly [Eid, number, SerializedValue, number]> = new Array(n);
  for (let p = 0; p < n; p++) {
    const i = eavt[p] as number;
    entries[p] = [eids[i] as number, rankOf[i] as number, values[i] as SerializedValue, txOf(i) - TX0];
  }
  const form: SerializedDb = {
    count: n,
    tx0: TX0,
    'max-eid': Math.max(maxE, maxRef),
    'max-tx': maxTx,
    schema: ednSchema(schema),
    attrs: byName.map((attribute) => names[attribute] as string),
    keywords: [],
    eavt: entries,
    aevt,
    avet,
  };
  const db = fromSerializable(form);
  if (hasDates) restoreDates(db, rows, eavt, aevt, rankStarts, byName, names, kindsOf);
  return db;
}

/** The datoms `order` lists (all `n` of them, in index order, when undefined), stably sorted by an integer key below `keys`. */
function countingSort(order: Int32Array | undefined, n: number, keys: number, keyOf: (i: number) => number): Int32Array {
  const starts = new Int32Array(keys + 1);
  for (let i = 0; i < n; i++) {
    const at = keyOf(i) + 1;
    starts[at] = (starts[at] as number) + 1;
  }
  for (let k = 1; k <= keys; k++) starts[k] = (starts[k] as number) + (starts[k - 1] as number);
  const sorted = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const i = order === undefined ? p : (order[p] as number);
    const key = keyOf(i);
    const at = starts[key] as number;
    sorted[at] = i;
    starts[key] = at + 1;
  }
  return sorted;
}

/** Sorts `order[from..to)` by `compare`: insertion sort for the few datoms of one entity. */
function sortRange(order: Int32Array, from: number, to: number, compare: (i: number, j: number) => number): void {
  if (to - from < 2) return;
  if (to - from > 32) {
    order.set(Array.from(order.subarray(from, to)).sort(compare), from);
    return;
  }
  for (let k = from + 1; k < to; k++) {
    const item = order[k] as number;
    let m = k - 1;
    while (m >= from && compare(order[m] as number, item) > 0) {
      order[m + 1] = order[m] as number;
      m--;
    }
    order[m + 1] = item;
  }
}

interface MutableDatom {
  v: unknown;
}

/**
 * DataScript's serialized form holds no dates, so date attributes went in as
 * epoch milliseconds; each of their datoms (shared by all three indexes) now
 * gets the row's very `Date`. Ordering by milliseconds is ordering by date,
 * so the indexes stay sorted.
 */
function restoreDates(
  db: Db,
  rows: DatomBuffer,
  eavt: Int32Array,
  aevt: readonly number[],
  rankStarts: Int32Array,
  byName: readonly number[],
  names: readonly string[],
  kindsOf: readonly number[],
): void {
  for (let r = 0; r < byName.length; r++) {
    const attribute = byName[r] as number;
    if (kindsOf[attribute] !== DATE) continue;
    const stored = datoms(db, ':aevt', names[attribute] as string) as unknown as MutableDatom[];
    const from = rankStarts[r] as number;
    for (let k = 0; k < stored.length; k++) {
      const date = rows.values[eavt[aevt[from + k] as number] as number] as Date;
      const datom = stored[k] as MutableDatom;
      if (datom.v !== date.getTime()) throw new Error('bulk build: date datoms out of step');
      datom.v = date;
    }
  }
}

/**
 * Whether the fast path builds exactly what `init_db` builds, checked once on
 * a small database that exercises every case it takes.
 */
function fastPathAgrees(): boolean {
  const schema: DataScriptSchema = {
    'datsync/id': { ':db/unique': ':db.unique/identity' },
    'x/ref': { ':db/valueType': ':db.type/ref' },
    'x/many': { ':db/cardinality': ':db.cardinality/many' },
    'x/code': { ':db/unique': ':db.unique/value' },
    'x/when': { ':db/index': true },
  };
  const rows: BulkRow[] = [
    [7, 'x/title', 'seven', TX0],
    [3, 'datsync/id', 'b-3', TX0],
    [3, 'x/many', 'é', TX0],
    [3, 'x/many', 'B', TX0],
    [3, 'x/many', 'a', TX0],
    [3, 'x/many', '\u{1f600}', TX0],
    [7, 'datsync/id', 'a-7', TX0],
    [7, 'x/ref', 3, TX0],
    [3, 'x/ref', 12, TX0],
    [7, 'x/when', new Date(5000), TX0],
    [3, 'x/when', new Date(-1000), TX0],
    [3, 'x/code', 42.5, TX0],
    [7, 'x/code', -3, TX0],
    [7, 'x/flag', true, TX0],
    [3, 'x/flag', false, TX0],
    [7, 'X/upper', 0, TX0],
  ];
  try {
    const fast = sortedDb(rows, schema);
    if (fast === undefined) return false;
    const slow = initDb(rows, schema);
    if (JSON.stringify(serializable(fast)) !== JSON.stringify(serializable(slow))) return false;
    const when = datoms(fast, ':eavt', 7, 'x/when')[0]?.v;
    return when === rows[9]?.[2];
  } catch {
    return false;
  }
}

const FAST_PATH = fastPathAgrees();

/**
 * A database built in one pass, except JSON values: DataScript indexes
 * objects built that way in an order its later lookups do not find (a
 * retraction would miss them), so those few datoms are transacted after.
 */
export function bulkDb(rows: readonly BulkRow[] | DatomBuffer, schema: Schema): Db {
  const datoms = rows instanceof DatomBuffer ? rows : DatomBuffer.of(rows);
  const db = (FAST_PATH ? sortedPlain(datoms, schema.datascript) : undefined) ?? initDb(datoms.rows(), schema.datascript);
  return datoms.objects.length === 0 ? db : dbWith(db, datoms.objects);
}
