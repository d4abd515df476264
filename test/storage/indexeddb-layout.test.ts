/**
 * IndexedDB layouts 2 (log chunks as columns) and 4 (no index of transaction
 * ids; a bulk commit split into chunks of bounded size): every op round-trips
 * exactly, a database written with layout 1 (chunks in the core's binary
 * encoding, an index of ids) opens, reads, compacts and grows as before, and
 * records another tab appended are recognised by their position.
 */
import 'fake-indexeddb/auto';
import { serialize } from 'node:v8';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import type { Attr, EntityId, Hlc, ReplicaId, Transaction } from '../../crdt/index.js';
import { decodeTransactions, encodeTransactions, transactionId } from '../../crdt/index.js';
import type { LogRecord } from '../../storage/contract.js';
import { INDEXEDDB_LAYOUT_VERSION, openIndexedDbStorage } from '../../storage/indexeddb.js';
import { CHUNK_BYTES } from '../../storage/indexeddb-chunks.js';
import { openLayout1 } from './idb-layout1.js';

const R1 = 'replica-one' as ReplicaId;
const R2 = 'replica-two' as ReplicaId;

let databases = 0;
const fresh = (): string => `layout-${databases++}`;

/** Transactions with every shape an op takes: values of each kind, retractions with and without a value, superseded dots. */
function varied(): Transaction[] {
  const values: unknown[] = ['text', '', 'a\u{1F600}\uD800z', 0, -0, 1.5, Number.NaN, 2 ** 60, true, false, null, 10n ** 30n, -7n];
  values.push({ b: 1, a: [1, { y: null, x: 'x' }] }, [3, 'two', { z: false }]);
  const txs: Transaction[] = [];
  values.forEach((value, i) => {
    txs.push({
      replica: i % 2 === 0 ? R1 : R2,
      counter: 10 + i * 5,
      hlc: (1_700_000_000_000 * 1024 + i) as Hlc,
      ops: [
        {
          offset: 0,
          entity: `${R1}.${i.toString(36)}` as EntityId,
          attribute: 'test/value' as Attr,
          kind: 'assert',
          value: value as string,
          supersedes: i === 0 ? [] : [{ replica: R2, counter: i }],
        },
        {
          offset: 2,
          entity: `${R2}.${i.toString(36)}` as EntityId,
          attribute: 'test/other' as Attr,
          kind: 'retract',
          value: i % 3 === 0 ? undefined : (value as string),
          supersedes: [
            { replica: R1, counter: 1 },
            { replica: R2, counter: 2 + i },
          ],
        },
      ],
    });
  });
  return txs;
}

function records(from: number, txs: readonly Transaction[]): LogRecord[] {
  return txs.map((tx, i) => ({ position: from + i, tx }));
}

/** What the core's binary encoding gives back: the exact reading layout 1 had. */
function viaBytes(txs: readonly Transaction[]): Transaction[] {
  return decodeTransactions(encodeTransactions(txs));
}

function sameOps(actual: readonly Transaction[], expected: readonly Transaction[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((tx, t) => {
    const want = expected[t] as Transaction;
    expect({ replica: tx.replica, counter: tx.counter, hlc: tx.hlc }).toEqual({
      replica: want.replica,
      counter: want.counter,
      hlc: want.hlc,
    });
    expect(tx.ops.length).toBe(want.ops.length);
    tx.ops.forEach((op, o) => {
      const wantOp = want.ops[o];
      expect(wantOp).toBeDefined();
      if (wantOp === undefined) return;
      expect({ ...op, value: undefined }).toEqual({ ...wantOp, value: undefined });
      if (typeof wantOp.value === 'number') expect(Object.is(op.value, wantOp.value)).toBe(true);
      else expect(op.value).toEqual(wantOp.value);
    });
  });
}

describe('IndexedDB layouts', () => {
  it('round-trips every kind of op exactly, across a reopen', async () => {
    const name = fresh();
    const txs = varied();
    const storage = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    await storage.commit({ log: records(1, txs) });
    await storage.close();
    const again = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    sameOps(
      (await again.readLog(0, 100)).map((r) => r.tx),
      viaBytes(txs),
    );
    // JSON objects read back with their keys sorted, as the binary encoding gives them.
    const json = (await again.readLog(0, 100))[13]?.tx.ops[0]?.value as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['a', 'b']);
    expect((await again.findTransaction(transactionId(txs[5] as Transaction)))?.position).toBe(6);
    await again.close();
  });

  it('opens a layout 1 database and reads, compacts and extends its log', async () => {
    const name = fresh();
    const txs = varied();
    const old = await openLayout1(name);
    const chunk = (from: number, part: readonly Transaction[]) => ({
      last: from + part.length - 1,
      positions: part.map((_, i) => from + i),
      txIds: part.map(transactionId),
      data: encodeTransactions(part),
    });
    await old.put('log', chunk(1, txs.slice(0, 6)), 6);
    await old.put('log', chunk(7, txs.slice(6)), txs.length);
    old.close();

    const storage = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    sameOps(
      (await storage.readLog(0, 100)).map((r) => r.tx),
      viaBytes(txs),
    );
    expect((await storage.findTransaction(transactionId(txs[8] as Transaction)))?.position).toBe(9);
    expect(await storage.lastPosition()).toBe(txs.length);
    // A snapshot in the middle of the second (layout 1) chunk: compaction keeps its tail, rewritten as columns.
    await storage.putSnapshot({ state: new Uint8Array([1]), position: 9 });
    await storage.compact(9);
    sameOps(
      (await storage.readLog(0, 100)).map((r) => r.tx),
      viaBytes(txs.slice(9)),
    );
    const more = varied().map((tx) => ({ ...tx, counter: tx.counter + 1000 }));
    await storage.commit({ log: records(txs.length + 1, more) });
    sameOps(
      (await storage.readLog(0, 100)).map((r) => r.tx),
      viaBytes([...txs.slice(9), ...more]),
    );
    await storage.close();
    const upgraded = await openDB(name);
    expect(upgraded.version).toBe(INDEXEDDB_LAYOUT_VERSION);
    // Layout 4 dropped the index of transaction ids.
    expect([...upgraded.transaction('log').store.indexNames]).toEqual([]);
    upgraded.close();
  });

  it('writes a bulk commit as chunks of bounded size, reads and compacts across them, and skips what another tab appended', async () => {
    const name = fresh();
    // 240 transactions of 50 ops, half of them 40-character strings: about 400 KB of clone, so several chunks.
    const bulk: Transaction[] = Array.from({ length: 240 }, (_, t) => ({
      replica: R1,
      counter: 1 + t * 50,
      hlc: (1_700_000_000_000 * 1024 + t) as Hlc,
      ops: Array.from({ length: 50 }, (_, o) => ({
        offset: o,
        entity: `${R1}.${t}` as EntityId,
        attribute: `test/a${o % 7}` as Attr,
        kind: 'assert' as const,
        value: o % 2 === 0 ? `${t}:${o}`.padEnd(40, '.') : o * t,
        supersedes: [],
      })),
    }));
    const storage = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    await storage.commit({ log: records(1, bulk.slice(0, 160)) });
    const raw = await openDB(name);
    const chunks = await raw.getAll('log');
    raw.close();
    expect(chunks.length).toBeGreaterThan(3);
    // Each stays inline in Chromium's database (below 64 KiB, the size above which a value becomes a blob file).
    for (const chunk of chunks) expect(serialize(chunk).length).toBeLessThan(Math.min(CHUNK_BYTES, 64 * 1024));
    expect(chunks.flatMap((chunk) => chunk.positions)).toEqual(records(1, bulk.slice(0, 160)).map((r) => r.position));
    // Another tab appends records 121 to 240: the ones this log holds are recognised at their positions, in other chunks.
    await storage.commit({ log: records(121, bulk.slice(120)) });
    expect(await storage.lastPosition()).toBe(240);
    expect((await storage.readLog(0, 1000)).map((r) => r.tx)).toEqual(bulk);
    expect((await storage.findTransaction(transactionId(bulk[200] as Transaction)))?.position).toBe(201);
    // A record at a held position that is another transaction refuses the batch, and stores none of it.
    await expect(storage.commit({ log: records(160, bulk.slice(160, 162)) })).rejects.toMatchObject({ code: 'storage-failed' });
    expect(await storage.lastPosition()).toBe(240);
    await storage.putSnapshot({ state: new Uint8Array([1]), position: 100 });
    await storage.compact(100);
    expect((await storage.readLog(0, 1000)).map((r) => r.tx)).toEqual(bulk.slice(100));
    expect((await storage.readLog(0, 1))[0]?.position).toBe(101);
    await storage.close();
  });

  it('finds the position of a snapshot stored under layout 1, from the index the upgrade builds', async () => {
    const name = fresh();
    const old = await openLayout1(name);
    await old.put('snapshot', { state: new Uint8Array([1, 2, 3]), position: 5 }, 'state');
    old.close();
    const storage = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
    expect(await storage.lastPosition()).toBe(5);
    const txs = varied();
    await expect(storage.commit({ log: records(5, txs.slice(0, 1)) })).rejects.toMatchObject({ code: 'storage-failed' });
    await storage.commit({ log: records(6, txs.slice(0, 2)) });
    expect(await storage.lastPosition()).toBe(7);
    await expect(storage.compact(5)).resolves.toBeUndefined();
    await expect(storage.compact(6)).rejects.toMatchObject({ code: 'storage-failed' });
    await storage.close();
  });
});
