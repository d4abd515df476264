/**
 * docs/client.md, "Errors": every refusal is a DatsyncError with a code, a
 * message naming the offending item, and `details.index`; a refused
 * transaction applies nothing. Also read errors, a failed storage write
 * (rolled back, with a 'rejected' event), and use after close.
 *
 * Run: npx tsx examples/client/06-errors.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { CommitBatch, RejectedEvent, SchemaInput } from '../../src/client/index.js';
import { createClient, DatsyncError, ErrorCode, MemoryStorage } from '../../src/client/index.js';

const schema = {
  'user/name': { ':db/valueType': ':db.type/string' },
  'user/email': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/identity' },
  'user/handle': { ':db/valueType': ':db.type/string', ':db/unique': ':db.unique/value' },
  'user/age': { ':db/valueType': ':db.type/number' },
  'user/friend': { ':db/valueType': ':db.type/ref' },
} as const satisfies SchemaInput;

/** The DatsyncError a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<DatsyncError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DatsyncError) return error;
    throw error;
  }
  return assert.fail('expected a refusal');
}

/** A storage whose writes can be made to fail, to show what a failed write does. */
class FlakyStorage extends MemoryStorage {
  failing = false;
  override async commit(batch: CommitBatch): Promise<void> {
    if (this.failing && batch.outboxAdd !== undefined) throw new Error('disk full');
    return super.commit(batch);
  }
}

export async function main(): Promise<void> {
  // An invalid schema: createClient rejects with invalid-schema naming the attribute.
  const badSchema = await refusal(createClient({ schema: { 'datsync/anything': {} } }));
  assert.equal(badSchema.code, ErrorCode.InvalidSchema);
  assert.equal(badSchema.details?.attribute, 'datsync/anything');

  const storage = new FlakyStorage();
  const client = await createClient({ schema, storage });
  const seed = await client.transact([{ ':db/id': 'ann', 'user/name': 'Ann', 'user/email': 'ann@example.com', 'user/handle': 'ann' }]);
  const ann = seed.tempids.ann ?? assert.fail('ann');
  const before = client.db();

  // Each case: the transaction, the code, the index of the offending item.
  const cases: ReadonlyArray<readonly [string, unknown[], string, number]> = [
    ['not a map or vector', [[':db/add', ann, 'user/age', 1], 42], 'invalid-transaction', 1],
    ['unknown operation', [[':db/assert', ann, 'user/age', 1]], 'invalid-transaction', 0],
    ['wrong arity', [[':db/add', ann, 'user/age']], 'invalid-transaction', 0],
    ['undeclared attribute', [{ ':db/id': ann, 'user/nickname': 'A' }], 'unknown-attribute', 0],
    [
      'wrong value type',
      [
        [':db/add', ann, 'user/age', 1],
        [':db/add', ann, 'user/age', 'old'],
      ],
      'invalid-value',
      1,
    ],
    ['null is not a value', [[':db/add', ann, 'user/name', null]], 'invalid-value', 0],
    ['no such eid', [[':db/add', 999, 'user/age', 1]], 'unknown-entity', 0],
    ['lookup ref resolving to nothing', [[':db/add', ['user/email', 'nobody@example.com'], 'user/age', 1]], 'unknown-entity', 0],
    ['lookup ref on a non-unique attribute', [[':db/add', ['user/name', 'Ann'], 'user/age', 1]], 'invalid-transaction', 0],
    ['retractEntity of a tempid', [[':db/retractEntity', 'new']], 'unknown-entity', 0],
    ['unique value held by another entity', [{ 'user/name': 'Imposter', 'user/handle': 'ann' }], 'unique-conflict', 0],
    ['tempid used only as a value', [[':db/add', ann, 'user/friend', 'ghost']], 'invalid-transaction', 0],
    ['writing datsync/id', [[':db/add', ann, 'datsync/id', 'x']], 'invalid-transaction', 0],
    ['an empty entity map', [{ ':db/id': 'x' }], 'invalid-transaction', 0],
  ];
  for (const [what, txData, code, index] of cases) {
    const error = await refusal(client.transact(txData as never));
    assert.equal(error.code, code, what);
    assert.equal(error.details?.index, index, what);
    assert.ok(error.message.startsWith(`transaction item ${index}: `), what);
    assert.equal(error.retry, false); // the same input will be refused again
  }
  // Nothing of a refused transaction was applied, not even its valid items.
  assert.equal(client.db(), before);
  assert.equal(client.pendingCount, 1);

  // The attribute, where one is at fault, is in details too.
  const typed = await refusal(client.transact([{ ':db/id': ann, 'user/age': 'old' }]));
  assert.deepEqual(typed.details, { index: 0, attribute: 'user/age' });

  // --- reads throw synchronously: invalid-query, unknown-entity, unknown-attribute ---
  const thrown = (read: () => unknown): DatsyncError => {
    try {
      read();
    } catch (error) {
      if (error instanceof DatsyncError) return error;
      throw error;
    }
    return assert.fail('expected a throw');
  };
  assert.equal(thrown(() => client.q('[:find ?x :where [?e "user/name" ?n]]')).code, 'invalid-query');
  assert.equal(thrown(() => client.pull('["user/name"', ann)).code, 'invalid-query');
  assert.equal(thrown(() => client.subscribe('[:find', [], () => undefined)).code, 'invalid-query');
  assert.equal(thrown(() => client.asOf('yesterday' as never)).code, 'invalid-query');
  assert.equal(thrown(() => client.history(999, 'user/name')).code, 'unknown-entity');
  assert.equal(thrown(() => client.history(ann, 'user/nickname')).code, 'unknown-attribute');
  assert.equal(client.pull('["user/name"]', 999), null); // pull of a missing entity is null, not an error

  // --- a failed storage write: transact rejects, the optimistic write is rolled back, 'rejected' says so ---
  const rejected: RejectedEvent[] = [];
  client.on('rejected', (event) => rejected.push(event));
  storage.failing = true;
  const failed = await refusal(client.transact([[':db/add', ann, 'user/name', 'Lost']]));
  assert.equal(failed.code, ErrorCode.StorageFailed);
  assert.equal(failed.retry, true); // retrying later may succeed
  assert.ok(failed.cause instanceof Error); // the adapter's own error
  assert.deepEqual(client.pull('["user/name"]', ann), { 'user/name': 'Ann' });
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]?.error, failed);
  assert.deepEqual(
    rejected[0]?.datoms.map((d) => [d.v, d.added]),
    [
      ['Lost', false],
      ['Ann', true],
    ],
  );
  storage.failing = false;

  // --- after close: closed ---
  await client.close();
  assert.equal((await refusal(client.transact([{ 'user/name': 'Late' }]))).code, ErrorCode.Closed);
  assert.equal(thrown(() => client.subscribe('[:find ?n :where [_ "user/name" ?n]]', [], () => undefined)).code, 'closed');

  console.log('06-errors: e.g.', typed.code, JSON.stringify(typed.details), typed.message);
  console.log('06-errors: storage failure', failed.code, 'retry', failed.retry, 'rolled back', rejected[0]?.datoms.length, 'datoms');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
