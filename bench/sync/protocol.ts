/**
 * (c) The wire encoding: 100,000 datoms in 1,000 transactions as the binary
 * `push` and `records` frames, beside JSON of the same messages.
 *
 * @module
 */
import type { Attr, Dot, EntityId, Hlc, Op, ReplicaId, Transaction, Value } from '../../crdt/index.js';
import { OpKind } from '../../crdt/index.js';
import type { ClientMessage, ServerMessage } from '../../src/protocol/index.js';
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage } from '../../src/protocol/index.js';
import { applyWorkload, replicaFromSeed } from '../crdt/workload.js';
import type { BenchResult, Row, Sample, Trial } from '../harness.js';
import { finding, keepResident, lapsOf, median, ratioFinding, releaseResidents, runCounts, sideBySide, verify } from '../harness.js';

const ENTITIES = 10_000;
const ENTITIES_PER_TX = 10;
const DATOMS = ENTITIES * 10;

const SUBJECTS = {
  push: 'binary `push` frame (`encodeClientMessage` / `decodeClientMessage`)',
  records: 'binary `records` frame (`encodeServerMessage` / `decodeServerMessage`)',
  jsonPush: 'JSON of the `push` message (`JSON.stringify` + UTF-8 / UTF-8 + `JSON.parse`)',
  jsonRecords: 'JSON of the `records` message (the same)',
  jsonTabled: 'JSON laid out like the binary: string tables, ops as arrays (push)',
} as const;
type Subject = keyof typeof SUBJECTS;

/** The receiving replica of the records frame: not the writer, so every entry carries its transaction. */
const RECEIVER = replicaFromSeed(99);

function messages(txs: readonly Transaction[]): { readonly push: ClientMessage; readonly records: ServerMessage } {
  return {
    push: { type: 'push', txs },
    records: {
      type: 'records',
      batch: 1,
      head: txs.length,
      through: txs.length,
      entries: txs.map((tx, i) => ({ position: i + 1, tx })),
    },
  };
}

/** JSON of transactions in the binary codec's layout: replica, entity and attribute tables, then rows of numbers and values. */
type TabledOp = [gap: number, entity: number, attribute: number, kind: number, value: unknown, ...supersedes: number[]];
interface Tabled {
  readonly r: string[];
  readonly e: string[];
  readonly a: string[];
  readonly t: Array<[replica: number, counter: number, hlc: number, ops: TabledOp[]]>;
}

function indexer(table: string[]): (value: string) => number {
  const index = new Map<string, number>();
  return (value) => {
    let i = index.get(value);
    if (i === undefined) {
      i = table.length;
      index.set(value, i);
      table.push(value);
    }
    return i;
  };
}

function encodeTabled(txs: readonly Transaction[]): string {
  const out: Tabled = { r: [], e: [], a: [], t: [] };
  const replica = indexer(out.r);
  const entity = indexer(out.e);
  const attribute = indexer(out.a);
  for (const tx of txs) {
    let previous = -1;
    const ops = tx.ops.map((op): TabledOp => {
      const gap = op.offset - previous - 1;
      previous = op.offset;
      const dots = op.supersedes.flatMap((dot) => [replica(dot.replica), dot.counter]);
      return [gap, entity(op.entity), attribute(op.attribute), op.kind === OpKind.Retract ? 1 : 0, op.value ?? null, ...dots];
    });
    out.t.push([replica(tx.replica), tx.counter, tx.hlc, ops]);
  }
  return JSON.stringify(out);
}

function decodeTabled(text: string): Transaction[] {
  const input = JSON.parse(text) as Tabled;
  return input.t.map(([replica, counter, hlc, rows]) => {
    let previous = -1;
    const ops: Op[] = rows.map(([gap, entity, attribute, kind, value, ...dots]) => {
      const offset = previous + 1 + gap;
      previous = offset;
      const supersedes: Dot[] = [];
      for (let i = 0; i < dots.length; i += 2)
        supersedes.push({ replica: input.r[dots[i] as number] as ReplicaId, counter: dots[i + 1] as number });
      return {
        offset,
        entity: input.e[entity] as EntityId,
        attribute: input.a[attribute] as Attr,
        kind: kind === 1 ? OpKind.Retract : OpKind.Assert,
        value: value === null ? undefined : (value as Value),
        supersedes,
      };
    });
    return { replica: input.r[replica] as ReplicaId, counter, hlc: hlc as Hlc, ops };
  });
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Encode, then decode, each a lap; the bytes are checked against the reference size. */
function trials(txs: readonly Transaction[], sizes: Record<Subject, number>): Record<Subject, Trial> {
  const { push, records } = messages(txs);
  const run =
    (encode: () => Uint8Array, decode: (bytes: Uint8Array) => number, subject: Subject): Trial =>
    () =>
    () => {
      let bytes: Uint8Array = new Uint8Array(0);
      let count = 0;
      const sample = lapsOf(2, (step) => {
        if (step === 0) bytes = encode();
        else count = decode(bytes);
      });
      verify(bytes.length === sizes[subject] && count === txs.length, `${subject} round-trips ${txs.length} transactions`);
      return sample;
    };
  return {
    push: run(
      () => encodeClientMessage(push),
      (bytes) => {
        const message = decodeClientMessage(bytes);
        return message.type === 'push' ? message.txs.length : -1;
      },
      'push',
    ),
    records: run(
      () => encodeServerMessage(records),
      (bytes) => {
        const message = decodeServerMessage(bytes, RECEIVER);
        return message.type === 'records' ? message.entries.length : -1;
      },
      'records',
    ),
    jsonPush: run(
      () => utf8.encode(JSON.stringify(push)),
      (bytes) => (JSON.parse(fromUtf8.decode(bytes)) as { txs: unknown[] }).txs.length,
      'jsonPush',
    ),
    jsonRecords: run(
      () => utf8.encode(JSON.stringify(records)),
      (bytes) => (JSON.parse(fromUtf8.decode(bytes)) as { entries: unknown[] }).entries.length,
      'jsonRecords',
    ),
    jsonTabled: run(
      () => utf8.encode(encodeTabled(txs)),
      (bytes) => decodeTabled(fromUtf8.decode(bytes)).length,
      'jsonTabled',
    ),
  };
}

/** The decoded transactions equal the originals (the JSON ones too, for these strings and numbers). */
function checkRoundTrip(txs: readonly Transaction[]): void {
  const { push, records } = messages(txs);
  const original = JSON.stringify(txs);
  const fromPush = decodeClientMessage(encodeClientMessage(push));
  verify(fromPush.type === 'push' && JSON.stringify(fromPush.txs) === original, 'the push frame round-trips');
  const fromRecords = decodeServerMessage(encodeServerMessage(records), RECEIVER);
  verify(
    fromRecords.type === 'records' && JSON.stringify(fromRecords.entries.map((e) => ('tx' in e ? e.tx : null))) === original,
    'the records frame round-trips',
  );
  verify(JSON.stringify((JSON.parse(JSON.stringify(push)) as { txs: unknown }).txs) === original, 'JSON round-trips');
  verify(JSON.stringify(decodeTabled(encodeTabled(txs))) === original, 'tabled JSON round-trips');
}

export function protocolBenchmark(): BenchResult {
  const work = applyWorkload(ENTITIES, ENTITIES_PER_TX);
  const txs = work.txs;
  verify(txs.reduce((n, tx) => n + tx.ops.length, 0) === DATOMS, 'the workload holds 100,000 datoms');
  checkRoundTrip(txs);
  const { push, records } = messages(txs);
  const sizes: Record<Subject, number> = {
    push: encodeClientMessage(push).length,
    records: encodeServerMessage(records).length,
    jsonPush: utf8.encode(JSON.stringify(push)).length,
    jsonRecords: utf8.encode(JSON.stringify(records)).length,
    jsonTabled: utf8.encode(encodeTabled(txs)).length,
  };
  // Small messages of each kind stay alive, as a server's do (see keepResident).
  const small = messages(txs.slice(0, 2));
  keepResident(
    encodeClientMessage(small.push),
    encodeServerMessage(small.records),
    JSON.stringify(small.push),
    decodeTabled(encodeTabled(txs.slice(0, 2))),
  );
  const counts = runCounts(5, 25);
  const samples: Record<Subject, Sample[]> = sideBySide(trials(txs, sizes), counts);
  releaseResidents();
  const lap = (s: Subject, i: number): number[] => samples[s].map((x) => x.laps[i] as number);
  const rows: Row[] = (Object.keys(SUBJECTS) as Subject[]).map((s) => ({
    subject: SUBJECTS[s],
    values: {
      bytes: sizes[s],
      perDatom: sizes[s] / DATOMS,
      encode: median(lap(s, 0)),
      decode: median(lap(s, 1)),
    },
  }));
  return {
    id: 'protocol',
    title: '(c) Wire encoding: 100,000 datoms, binary frames against JSON',
    description: [
      `The ${txs.length.toLocaleString('en-US')} transactions of 100 datoms of (a) (pre-authored by \`LocalAuthor\`), as one \`push\` message and as one`,
      '`records` message (every entry carrying its transaction, as a catch-up batch for another replica does), encoded by src/protocol,',
      'against `JSON.stringify` of the same message objects turned into UTF-8 bytes (what a text WebSocket frame carries) and back,',
      'and against JSON laid out as the binary codec lays transactions out (each replica, entity and attribute string once in a table,',
      'each op a row of indexes and its value), decoded back into the same transaction objects.',
      'The binary decoders check structure and bounds as they read; `JSON.parse` checks nothing. Median of',
      `${counts.runs} interleaved runs after ${counts.warmup} warm-up rounds; ratios are paired per round.`,
    ].join(' '),
    columns: [
      { key: 'bytes', label: 'bytes', format: 'bytes' },
      { key: 'perDatom', label: 'bytes / datom', format: 'bytesFine' },
      { key: 'encode', label: 'encode', format: 'ms' },
      { key: 'decode', label: 'decode', format: 'ms' },
    ],
    rows,
    findings: [
      finding('JSON ÷ binary push (bytes)', sizes.jsonPush / sizes.push, 'ratio'),
      finding('JSON ÷ binary records (bytes)', sizes.jsonRecords / sizes.records, 'ratio'),
      ratioFinding('JSON ÷ binary push (encode time)', lap('jsonPush', 0), lap('push', 0)),
      ratioFinding('JSON ÷ binary push (decode time)', lap('jsonPush', 1), lap('push', 1)),
      ratioFinding('JSON ÷ binary records (encode time)', lap('jsonRecords', 0), lap('records', 0)),
      ratioFinding('JSON ÷ binary records (decode time)', lap('jsonRecords', 1), lap('records', 1)),
      finding('tabled JSON ÷ binary push (bytes)', sizes.jsonTabled / sizes.push, 'ratio'),
      ratioFinding('tabled JSON ÷ binary push (encode time)', lap('jsonTabled', 0), lap('push', 0)),
      ratioFinding('tabled JSON ÷ binary push (decode time)', lap('jsonTabled', 1), lap('push', 1)),
    ],
    raw: Object.fromEntries(
      (Object.keys(SUBJECTS) as Subject[]).flatMap((s) => [
        [`${s}.encodeMs`, lap(s, 0)],
        [`${s}.decodeMs`, lap(s, 1)],
      ]),
    ),
  };
}
