/**
 * The storage contract, as one suite every adapter must pass (memory,
 * IndexedDB, SQLite, and later PostgreSQL).
 */
import { describe, expect, it } from 'vitest';
import type { Attr, EntityId, Hlc, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { LogRecord, Storage } from '../../storage/contract.js';

export interface AdapterFactory {
  readonly name: string;
  /** A fresh, empty storage. */
  create(): Promise<Storage>;
  /** Closes `storage` and opens the same data again (as after a restart). */
  reopen(storage: Storage): Promise<Storage>;
}

const R1 = 'replica-one' as ReplicaId;
const R2 = 'replica-two' as ReplicaId;

export function tx(replica: ReplicaId, counter: number, ops = 1, value: unknown = `v${counter}`): Transaction {
  return {
    replica,
    counter,
    hlc: (1_700_000_000_000 * 1024 + counter) as Hlc,
    ops: Array.from({ length: ops }, (_, offset) => ({
      offset,
      entity: `${replica}.${(counter + offset).toString(36)}` as EntityId,
      attribute: 'test/attr' as Attr,
      kind: 'assert' as const,
      value: value as string,
      supersedes: offset === 0 && counter > 1 ? [{ replica, counter: counter - 1 }] : [],
    })),
  };
}

function records(from: number, txs: readonly Transaction[]): LogRecord[] {
  return txs.map((t, i) => ({ position: from + i, tx: t }));
}

function ids(list: readonly { tx: Transaction }[] | readonly Transaction[]): TxId[] {
  return list.map((item) => transactionId('tx' in item ? item.tx : item));
}

export function storageContract(factory: AdapterFactory): void {
  describe(`storage contract: ${factory.name}`, () => {
    it('starts empty', async () => {
      const s = await factory.create();
      expect(await s.meta()).toEqual({});
      expect(await s.lastPosition()).toBe(0);
      expect(await s.readLog(0, 10)).toEqual([]);
      expect(await s.outbox()).toEqual([]);
      expect(await s.snapshot()).toBeUndefined();
      await s.close();
    });

    it('appends the log in order and reads it back by position', async () => {
      const s = await factory.create();
      const txs = [tx(R1, 1), tx(R2, 1, 3), tx(R1, 2)];
      await s.commit({ log: records(1, txs.slice(0, 2)) });
      await s.commit({ log: records(3, txs.slice(2)) });
      expect(await s.lastPosition()).toBe(3);
      expect(ids(await s.readLog(0, 10))).toEqual(ids(txs));
      expect((await s.readLog(1, 1)).map((r) => r.position)).toEqual([2]);
      expect((await s.readLog(3, 10)).length).toBe(0);
      expect((await s.readLog(0, 10))[1]?.tx).toEqual(txs[1]);
      await s.close();
    });

    it('skips records appended twice at the same position, as two tabs may, and refuses any other overlap', async () => {
      const s = await factory.create();
      const txs = [tx(R1, 1), tx(R2, 1), tx(R1, 2)];
      await s.commit({ log: records(1, txs.slice(0, 2)) });
      await s.commit({ log: records(1, txs) });
      expect(ids(await s.readLog(0, 10))).toEqual(ids(txs));
      await expect(s.commit({ log: [{ position: 2, tx: tx(R1, 7) }] })).rejects.toMatchObject({ code: 'storage-failed' });
      expect(await s.lastPosition()).toBe(3);
      await s.close();
    });

    it('binds a replica id to its first owner', async () => {
      const s = await factory.create();
      if (factory.name.startsWith('indexeddb')) return; // a browser database holds no owners
      expect(await s.replicaOwner(R1)).toBeUndefined();
      await s.commit({ owners: [{ replica: R1, owner: 'alice' }] });
      await s.commit({ owners: [{ replica: R1, owner: 'mallory' }] });
      expect(await s.replicaOwner(R1)).toBe('alice');
      await s.close();
    });

    it('round-trips values exactly (bigint, -0, NaN, unicode, json)', async () => {
      const s = await factory.create();
      const values = [10n ** 30n, -0, Number.NaN, 'a\u{1F600}\uD800z', { nested: [1, { x: null }] }];
      await s.commit({
        log: records(
          1,
          values.map((v, i) => tx(R1, i + 1, 1, v)),
        ),
      });
      const back = (await s.readLog(0, 10)).map((r) => r.tx.ops[0]?.value);
      expect(back[0]).toBe(10n ** 30n);
      expect(Object.is(back[1], -0)).toBe(true);
      expect(Number.isNaN(back[2])).toBe(true);
      expect(back[3]).toBe('a\u{1F600}\uD800z');
      expect(back[4]).toEqual({ nested: [1, { x: null }] });
      await s.close();
    });

    it('refuses a batch whose positions do not increase, and writes none of it', async () => {
      const s = await factory.create();
      await s.commit({ log: records(1, [tx(R1, 1)]) });
      const bad = { log: records(1, [tx(R1, 2)]), outboxAdd: [tx(R2, 1)], meta: { serverPosition: 99 } };
      await expect(s.commit(bad)).rejects.toMatchObject({ code: 'storage-failed' });
      expect(await s.lastPosition()).toBe(1);
      expect(await s.outbox()).toEqual([]);
      expect((await s.meta()).serverPosition).toBeUndefined();
      await expect(
        s.commit({
          log: [
            { position: 3, tx: tx(R1, 3) },
            { position: 2, tx: tx(R1, 4) },
          ],
        }),
      ).rejects.toMatchObject({ code: 'storage-failed' });
      expect(await s.lastPosition()).toBe(1);
      await s.close();
    });

    it('keeps the outbox in order, removes decided entries, and remembers rejections', async () => {
      const s = await factory.create();
      const local = [tx(R1, 1), tx(R1, 2), tx(R1, 3)];
      for (const t of local) await s.commit({ outboxAdd: [t] });
      expect(ids(await s.outbox())).toEqual(ids(local));
      await s.commit({
        log: records(1, [local[0] as Transaction]),
        outboxRemove: ids([local[0] as Transaction, local[2] as Transaction]),
        rejections: [{ txId: transactionId(local[2] as Transaction), code: 'forbidden', message: 'no', ops: 1 }],
      });
      expect(ids(await s.outbox())).toEqual(ids([local[1] as Transaction]));
      expect(await s.rejection(transactionId(local[2] as Transaction))).toEqual({
        txId: transactionId(local[2] as Transaction),
        code: 'forbidden',
        message: 'no',
        ops: 1,
      });
      expect(await s.rejection(transactionId(local[1] as Transaction))).toBeUndefined();
      await s.close();
    });

    it("knows up to which counter each replica's transactions were decided, accepted or rejected", async () => {
      const s = await factory.create();
      expect(await s.decided(R1)).toBe(0);
      await s.commit({ log: records(1, [tx(R1, 1, 2), tx(R2, 1)]) });
      expect(await s.decided(R1)).toBe(2);
      await s.commit({ rejections: [{ txId: transactionId(tx(R1, 3)), code: 'forbidden', message: 'no', ops: 4 }] });
      expect(await s.decided(R1)).toBe(6);
      expect(await s.decided(R2)).toBe(1);
      await s.close();
    });

    it('merges meta', async () => {
      const s = await factory.create();
      await s.commit({ meta: { replicaId: R1, issuedUpTo: 5, hlc: 10 } });
      await s.commit({ meta: { issuedUpTo: 9, serverPosition: 3, logId: 'log-a' } });
      expect(await s.meta()).toMatchObject({ replicaId: R1, issuedUpTo: 9, hlc: 10, serverPosition: 3, logId: 'log-a' });
      await s.close();
    });

    it('finds a transaction by id and reads what a version vector lacks, in log order', async () => {
      const s = await factory.create();
      const txs = [tx(R1, 1), tx(R2, 1, 2), tx(R1, 2), tx(R2, 3), tx(R1, 3)];
      await s.commit({ log: records(1, txs) });
      expect((await s.findTransaction(transactionId(txs[3] as Transaction)))?.position).toBe(4);
      expect(await s.findTransaction('replica-one:99' as TxId)).toBeUndefined();
      const lacking = await s.readLacking(
        new Map([
          [R1, 2],
          [R2, 2],
        ]),
        0,
        10,
      );
      expect(lacking.map((r) => r.position)).toEqual([4, 5]);
      expect((await s.readLacking(new Map([[R1, 1]]), 0, 10)).map((r) => r.position)).toEqual([2, 3, 4, 5]);
      expect((await s.readLacking(new Map(), 2, 2)).map((r) => r.position)).toEqual([3, 4]);
      await s.close();
    });

    it('stores snapshots and compacts only what a snapshot covers', async () => {
      const s = await factory.create();
      await s.commit({ log: records(1, [tx(R1, 1), tx(R1, 2), tx(R1, 3)]) });
      await expect(s.compact(2)).rejects.toMatchObject({ code: 'storage-failed' });
      await s.putSnapshot({ state: new Uint8Array([1, 2, 3]), position: 2 });
      await s.compact(2);
      expect((await s.readLog(0, 10)).map((r) => r.position)).toEqual([3]);
      expect(await s.snapshot()).toEqual({ state: new Uint8Array([1, 2, 3]), position: 2 });
      expect(await s.lastPosition()).toBe(3);
      await s.close();
    });

    it('keeps everything committed across a reopen', async () => {
      const s = await factory.create();
      await s.commit({
        log: records(1, [tx(R1, 1), tx(R2, 1)]),
        outboxAdd: [tx(R1, 2)],
        meta: { replicaId: R1, issuedUpTo: 2, serverPosition: 2 },
      });
      await s.putSnapshot({ state: new Uint8Array([9]), position: 1 });
      const again = await factory.reopen(s);
      expect((await again.readLog(0, 10)).map((r) => r.position)).toEqual([1, 2]);
      expect(ids(await again.outbox())).toEqual(ids([tx(R1, 2)]));
      expect(await again.meta()).toMatchObject({ replicaId: R1, issuedUpTo: 2, serverPosition: 2 });
      expect((await again.snapshot())?.position).toBe(1);
      await again.close();
    });

    it('resets the log, snapshot and rejections but keeps the outbox and meta', async () => {
      const s = await factory.create();
      await s.commit({
        log: records(1, [tx(R1, 1), tx(R2, 1)]),
        outboxAdd: [tx(R1, 2)],
        rejections: [{ txId: transactionId(tx(R1, 9)), code: 'forbidden', message: 'no', ops: 1 }],
        meta: { replicaId: R1, serverPosition: 2 },
      });
      await s.putSnapshot({ state: new Uint8Array([1]), position: 1 });
      await s.resetLog();
      expect(await s.lastPosition()).toBe(0);
      expect(await s.readLog(0, 10)).toEqual([]);
      expect(await s.snapshot()).toBeUndefined();
      expect(await s.rejection(transactionId(tx(R1, 9)))).toBeUndefined();
      expect(ids(await s.outbox())).toEqual(ids([tx(R1, 2)]));
      expect((await s.meta()).replicaId).toBe(R1);
      await s.commit({ log: records(1, [tx(R2, 5)]) });
      expect(await s.lastPosition()).toBe(1);
      await s.close();
    });

    it('keeps drafts by key, replaces them whole, lists them without documents, and keeps them across a reopen', async () => {
      const s = await factory.create();
      expect(await s.draft('R.1')).toBeUndefined();
      expect(await s.drafts()).toEqual([]);
      await s.putDraft({ key: 'R.1', generation: 1, state: new Uint8Array([1, 2, 3]), owner: 'ann', updatedAt: 10 });
      await s.putDraft({ key: 'new-abc', generation: 0, state: new Uint8Array([4]), updatedAt: 11 });
      await s.putDraft({
        key: 'R.1',
        generation: 2,
        state: new Uint8Array(),
        owner: 'ben',
        closed: { reason: 'committed', txId: 'R:5', entity: 'R.1', by: 'Ben', at: 12 },
        updatedAt: 12,
      });
      const again = await factory.reopen(s);
      expect(await again.draft('R.1')).toEqual({
        key: 'R.1',
        generation: 2,
        state: new Uint8Array(),
        owner: 'ben',
        closed: { reason: 'committed', txId: 'R:5', entity: 'R.1', by: 'Ben', at: 12 },
        updatedAt: 12,
      });
      expect(await again.draft('new-abc')).toEqual({ key: 'new-abc', generation: 0, state: new Uint8Array([4]), updatedAt: 11 });
      const listed = (await again.drafts()).sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(listed).toEqual([
        { key: 'R.1', generation: 2, bytes: 0, owner: 'ben', closed: expect.objectContaining({ reason: 'committed' }), updatedAt: 12 },
        { key: 'new-abc', generation: 0, bytes: 1, updatedAt: 11 },
      ]);
      await again.deleteDraft('new-abc');
      await again.deleteDraft('absent');
      expect(await again.draft('new-abc')).toBeUndefined();
      // Drafts are beside the log: a reset keeps them.
      await again.resetLog();
      expect((await again.drafts()).map((d) => d.key)).toEqual(['R.1']);
      await again.close();
    });

    it('handles a large batch', async () => {
      const s = await factory.create();
      const many = Array.from({ length: 1000 }, (_, i) => tx(R1, i * 10 + 1, 10));
      await s.commit({ log: records(1, many) });
      expect(await s.lastPosition()).toBe(1000);
      const read = await s.readLog(500, 1000);
      expect(read.length).toBe(500);
      expect(read[0]?.tx).toEqual(many[500]);
      await s.close();
    });

    it('refuses use after close', async () => {
      const s = await factory.create();
      await s.close();
      await expect(s.meta()).rejects.toMatchObject({ code: 'closed' });
      await expect(s.commit({ meta: { hlc: 1 } })).rejects.toMatchObject({ code: 'closed' });
    });
  });
}
