/**
 * Persistence (issue 4), at least 200 runs per adapter: random interleavings
 * of local writes, server confirmations and rejections, compaction and
 * reloads leave a replica exactly equal to the same replica never reloaded:
 * same projection, same confirmed state, same outbox, same next dot.
 */
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { ReplicaId, Transaction } from '../crdt/index.js';
import { encodeState, transactionId } from '../crdt/index.js';
import type { Client } from '../src/client/client.js';
import { createClient } from '../src/client/client.js';
import { datoms } from '../src/datascript/index.js';
import type { SchemaInput } from '../src/schema.js';
import type { Storage } from '../storage/contract.js';
import { openIndexedDbStorage } from '../storage/indexeddb.js';
import { MemoryStorage } from '../storage/memory.js';
import { runs } from './setup.js';

const schema: SchemaInput = {
  'item/key': { ':db/unique': ':db.unique/identity', ':db/valueType': ':db.type/string' },
  'item/n': { ':db/valueType': ':db.type/number', ':datsync/history': true },
  'item/tags': { ':db/cardinality': ':db.cardinality/many', ':db/valueType': ':db.type/string' },
};

type Step =
  | { readonly type: 'write'; readonly key: number; readonly n: number; readonly tag: number }
  | { readonly type: 'confirm'; readonly count: number; readonly remote: boolean }
  | { readonly type: 'reject' }
  | { readonly type: 'compact' }
  | { readonly type: 'reload' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('write' as const), key: fc.nat(4), n: fc.nat(9), tag: fc.nat(3) }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('confirm' as const), count: fc.integer({ min: 1, max: 3 }), remote: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('reject' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('compact' as const) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('reload' as const) }) },
);

const REPLICA = 'replica-under-test' as ReplicaId;

function fingerprint(client: Client): string {
  const projection = datoms(client.db(), ':eavt')
    .map((d) => `${client.entityId(d.e)} ${d.a} ${JSON.stringify(d.v)}`)
    .sort()
    .join('\n');
  const confirmed = Buffer.from(encodeState(client.replica.state.confirmed)).toString('base64');
  const pending = client.replica.state.pending().map(transactionId).join(',');
  return [projection, confirmed, pending, client.replica.author.issuedUpTo, client.serverPosition].join('\n--\n');
}

async function run(steps: readonly Step[], open: () => Promise<Storage>, reopen: (storage: Storage) => Promise<Storage>): Promise<boolean> {
  let time = 1_700_000_000_000;
  const now = (): number => time;
  const seed = async (storage: Storage): Promise<Storage> => {
    await storage.commit({ meta: { replicaId: REPLICA, issuedUpTo: 0, hlc: 0 } });
    return storage;
  };
  let subjectStorage = await seed(await open());
  let subject = (await createClient({ schema, storage: subjectStorage, now })) as Client;
  const reference = (await createClient({ schema, storage: await seed(new MemoryStorage()), now })) as Client;
  const other = (await createClient({ schema, now })) as Client;
  let position = 0;
  for (const step of steps) {
    time += 7;
    if (step.type === 'write') {
      const txData = [{ ':db/id': 'item', 'item/key': `k${step.key}`, 'item/n': step.n, 'item/tags': `t${step.tag}` }];
      await subject.transact(txData as never);
      await reference.transact(txData as never);
      await other.transact([{ ':db/id': 'x', 'item/key': `o${step.key}`, 'item/n': step.n }] as never);
    } else if (step.type === 'confirm') {
      const mine = reference.replica.state.pending().slice(0, step.count);
      const theirs = step.remote ? other.replica.state.pending().slice(0, 1) : [];
      const records = [...theirs, ...mine].map((tx: Transaction) => ({ position: ++position, tx }));
      await subject.receive(records);
      await reference.receive(records);
      for (const tx of theirs) other.replica.confirm(transactionId(tx));
    } else if (step.type === 'reject') {
      const first = reference.replica.state.pending()[0];
      if (first === undefined) continue;
      const rejection = { txId: transactionId(first), code: 'forbidden', message: 'refused' };
      await subject.receive([], [rejection]);
      await reference.receive([], [rejection]);
    } else if (step.type === 'compact') {
      await subject.compact();
    } else {
      await subject.close();
      subject = (await createClient({ schema, storage: await reopen(subjectStorage), now })) as Client;
      subjectStorage = subject.storage;
    }
    if (fingerprint(subject) !== fingerprint(reference)) return false;
  }
  await Promise.all([subject.close(), reference.close(), other.close()]);
  return true;
}

describe('persistence', () => {
  it('reloads to exactly the state of a replica never reloaded (memory storage)', async () => {
    const reopen = async (storage: Storage): Promise<Storage> => new MemoryStorage((storage as MemoryStorage).store);
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 30 }), (steps) => run(steps, async () => new MemoryStorage(), reopen)),
      { numRuns: runs(200) },
    );
  });

  it('reloads to exactly the state of a replica never reloaded (IndexedDB storage)', async () => {
    let databases = 0;
    const names = new Map<Storage, string>();
    const reopen = async (storage: Storage): Promise<Storage> => {
      const name = names.get(storage) as string;
      const again = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
      names.set(again, name);
      return again;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 30 }), (steps) =>
        run(
          steps,
          async () => {
            const name = `persistence-${databases++}`;
            const storage = await openIndexedDbStorage(name, { locks: undefined, broadcast: undefined });
            names.set(storage, name);
            return storage;
          },
          reopen,
        ),
      ),
      { numRuns: runs(200) },
    );
  });
});
