/**
 * docs/crdt.md: the CRDT core on its own. Two replicas write the same
 * register concurrently (siblings, one winner everywhere), a later write
 * resolves the conflict, a set keeps an addition made concurrently with its
 * removal, history lists every version, states merge and encode
 * byte-identically, compaction at the stable frontier keeps what is shown,
 * and a malformed transaction is refused without touching the state.
 *
 * Run: npx tsx examples/crdt/01-core.ts
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { Attr, AttributeSpec, ReplicaId, Transaction } from '../../crdt/index.js';
import {
  conflictsOf,
  DatsyncError,
  decodeState,
  encodeState,
  HybridClock,
  historyOf,
  LocalAuthor,
  minimumVector,
  mintReplicaId,
  OpKind,
  ReplicaState,
} from '../../crdt/index.js';

const title = 'task/title' as Attr;
const tags = 'task/tags' as Attr;
const specs = new Map<Attr, AttributeSpec>([
  [title, { cardinality: 'one', valueType: 'string', history: true }],
  [tags, { cardinality: 'many', valueType: 'string', history: false }],
]);

/** A replica: its state and the author that issues its dots (random bytes and time are arguments). */
function replica(seed: number): { state: ReplicaState; author: LocalAuthor; id: ReplicaId } {
  const id = mintReplicaId(new Uint8Array(12).fill(seed));
  return { state: new ReplicaState(specs), author: new LocalAuthor(id, 0, new HybridClock()), id };
}

export async function main(): Promise<void> {
  const ann = replica(1);
  const bob = replica(2);
  const t0 = 1_700_000_000_000;

  // --- a write, applied locally and shipped to the other replica ---
  const task = ann.author.newEntityId(0); // minted offline, unique everywhere
  const create = ann.author.author(
    [
      { entity: task, attribute: title, kind: OpKind.Assert, value: 'Draft' },
      { entity: task, attribute: tags, kind: OpKind.Assert, value: 'docs' },
    ],
    ann.state,
    specs,
    t0,
  ) as Transaction;
  assert.deepEqual(ann.state.applyTransaction(create), [
    { entity: task, attribute: title, value: 'Draft', added: true },
    { entity: task, attribute: tags, value: 'docs', added: true },
  ]); // the change to the visible datoms
  bob.state.receive(create); // validates the whole transaction, then applies it

  // --- concurrent writes: siblings, the same winner on both ---
  const byAnn = ann.author.author(
    [{ entity: task, attribute: title, kind: OpKind.Assert, value: 'Ann’s title' }],
    ann.state,
    specs,
    t0 + 10,
  );
  const byBob = bob.author.author(
    [{ entity: task, attribute: title, kind: OpKind.Assert, value: 'Bob’s title' }],
    bob.state,
    specs,
    t0 + 20,
  );
  for (const tx of [byAnn, byBob] as Transaction[]) {
    ann.state.applyTransaction(tx);
    bob.state.applyTransaction(tx); // any order, any number of times
  }
  assert.equal(ann.state.value(task, title), 'Bob’s title'); // greatest HLC wins
  assert.equal(bob.state.value(task, title), 'Bob’s title');
  const [conflict] = conflictsOf(ann.state);
  assert.deepEqual(
    conflict?.siblings.map((s) => s.value),
    ['Bob’s title', 'Ann’s title'],
  );

  // --- a write that saw both siblings supersedes them: the conflict is resolved ---
  const resolve = ann.author.author(
    [{ entity: task, attribute: title, kind: OpKind.Assert, value: 'Agreed title' }],
    ann.state,
    specs,
    t0 + 30,
  );
  ann.state.applyTransaction(resolve as Transaction);
  bob.state.applyTransaction(resolve as Transaction);
  assert.deepEqual(conflictsOf(bob.state), []);
  assert.equal(bob.state.value(task, title), 'Agreed title');

  // --- add wins: Bob removes the tag while Ann adds it again, concurrently ---
  const remove = bob.author.author([{ entity: task, attribute: tags, kind: OpKind.Retract, value: 'docs' }], bob.state, specs, t0 + 40);
  const readd = ann.author.author(
    [{ entity: task, attribute: tags, kind: OpKind.Assert, value: 'docs' }],
    new ReplicaState(specs),
    specs,
    t0 + 41,
  );
  for (const tx of [remove, readd] as Transaction[]) {
    ann.state.applyTransaction(tx);
    bob.state.applyTransaction(tx);
  }
  assert.deepEqual(ann.state.values(task, tags), ['docs']); // the removal did not see the new addition

  // --- history: every version, oldest first, with what superseded it ---
  const history = historyOf(ann.state.slot(task, title));
  assert.deepEqual(
    history.map((h) => [h.value, h.live]),
    [
      ['Draft', false],
      ['Ann’s title', false],
      ['Bob’s title', false],
      ['Agreed title', true],
    ],
  );
  assert.equal(history[0]?.supersededBy, `${ann.id}:3`);

  // --- merge and encoding: equal sets of ops give byte-identical states ---
  const merged = new ReplicaState(specs);
  merged.merge(ann.state);
  merged.merge(bob.state);
  const bytes = encodeState(merged);
  assert.deepEqual(encodeState(ann.state), bytes);
  assert.deepEqual(encodeState(decodeState(bytes, specs)), bytes);

  // --- compaction at the causally stable frontier keeps the visible state ---
  const frontier = minimumVector([ann.state.vector(), bob.state.vector()]);
  const before = [...ann.state.datoms()];
  ann.state.compact(frontier, { pruneHistory: true });
  assert.deepEqual([...ann.state.datoms()], before);
  assert.deepEqual(
    historyOf(ann.state.slot(task, title)).map((h) => h.value),
    ['Agreed title'],
  );

  // --- bad input: refused with a typed error, nothing applied ---
  const forged = { ...(resolve as Transaction), counter: 99, ops: [{ ...(resolve as Transaction).ops[0], kind: 'upsert' }] };
  const snapshot = encodeState(bob.state);
  assert.throws(
    () => bob.state.receive(forged as unknown as Transaction),
    (error: unknown) => error instanceof DatsyncError && error.code === 'invalid-op',
  );
  assert.deepEqual(encodeState(bob.state), snapshot);

  console.log(`shown: ${ann.state.value(task, title)}; tags: ${ann.state.values(task, tags).join(', ')}; ${bytes.length} bytes encoded`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
