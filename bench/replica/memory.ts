/**
 * (d) The heap a whole client holding 100,000 datoms retains, beside the
 * DataScript database of the same datoms and the CRDT state alone.
 *
 * @module
 */
import { decodeState } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Eid } from '../../src/datascript/index.js';
import { initDb } from '../../src/datascript/index.js';
import { compileSchema } from '../../src/schema.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { BenchResult, Row } from '../harness.js';
import { collectGarbage, finding, hasGc, median, retainedByAsync, runCounts, verify } from '../harness.js';
import { filledStore } from './coldstart.js';
import { DATOMS, ENTITIES, foreignRecords, rawRows, SCHEMA, workload } from './workload.js';

const SUBJECTS = {
  snapshot: 'datsync client opened from a snapshot (CRDT state + DataScript projection + indexes)',
  local: 'datsync client that wrote the datoms itself (1,000 transactions, all still pending)',
  state: 'its CRDT `ReplicaState` alone, decoded from the snapshot',
  raw: 'DataScript database of the same datoms (`init_db`)',
} as const;
type Subject = keyof typeof SUBJECTS;

export async function memoryBenchmark(): Promise<BenchResult> {
  verify(hasGc(), 'heap figures need node --expose-gc (bench/run.ts restarts itself with it)');
  const work = workload();
  const records = await foreignRecords(work);
  const store = await filledStore(records, true);
  const snapshot = store.snapshot?.state ?? new Uint8Array();
  const schema = compileSchema(SCHEMA);
  // Raw rows come back from JSON inside the build, so DataScript's values are fresh too, as decoded ones are.
  const rowsJson = JSON.stringify(rawRows(work));
  const builders: Record<Subject, () => Promise<unknown>> = {
    snapshot: async () => {
      const client = (await createClient({ schema: SCHEMA, storage: new MemoryStorage(store) })) as Client;
      client.db();
      return client;
    },
    local: async () => {
      const client = await createClient({ schema: SCHEMA, storage: new MemoryStorage() });
      for (const tx of work.txData) await client.transact(tx);
      return client;
    },
    state: async () => decodeState(snapshot, schema.specs),
    raw: async () => {
      const rows = (JSON.parse(rowsJson) as Array<[Eid, string, unknown, number]>).map(
        ([e, a, v, tx]): readonly [Eid, string, unknown, number] => [e, a, a === 'task/due' ? new Date(v as string) : v, tx],
      );
      return initDb(rows, schema.datascript);
    },
  };
  const names = Object.keys(SUBJECTS) as Subject[];
  const heap = Object.fromEntries(names.map((s) => [s, [] as number[]])) as Record<Subject, number[]>;
  const { runs } = runCounts(1, 5);
  for (let round = 0; round < runs; round++) {
    for (const s of names) {
      const { bytes, value } = await retainedByAsync(builders[s]);
      heap[s].push(bytes);
      if (s === 'snapshot' || s === 'local') {
        const client = value as Client;
        verify(client.q('[:find (count ?e) . :where [?e "task/title"]]') === ENTITIES, 'the client holds 10,000 entities');
        await client.close();
      }
      collectGarbage();
    }
  }
  const bytes = (s: Subject): number => median(heap[s]);
  const rows: Row[] = names.map((s) => ({
    subject: SUBJECTS[s],
    values: { heap: bytes(s), perDatom: bytes(s) / DATOMS },
  }));
  return {
    id: 'memory',
    title: '(d) Heap of a client holding 100,000 datoms',
    description: [
      'Heap in use after `global.gc()` with the structure built, minus before. The snapshot client is the one of (b): the',
      'tentative state over the decoded CRDT state, the DataScript projection (110,000 datoms in three indexes), the eid maps, the',
      'subscription and unique-value tables; its storage (the encoded snapshot) exists before and after, so is not counted. The',
      'local client wrote the workload itself: its CRDT state is the tentative overlay, and it keeps the 1,000 pending transactions',
      '(and its `MemoryStorage` outbox of the same objects) until a server confirms them; the values come from the transaction data,',
      'which exists before and after, so are not counted there. Values in the other rows are freshly decoded and counted. Per datom',
      `divides by the 100,000 datoms written. Median of ${runs} builds.`,
    ].join(' '),
    columns: [
      { key: 'heap', label: 'heap', format: 'megabytes' },
      { key: 'perDatom', label: 'heap / datom', format: 'bytes' },
    ],
    rows,
    findings: [
      finding('datsync client from a snapshot, heap', bytes('snapshot'), 'megabytes', { op: '<=', value: 40e6 }),
      finding('datsync client that wrote the datoms, heap', bytes('local'), 'megabytes'),
      finding('datsync client ÷ DataScript alone (heap)', bytes('snapshot') / bytes('raw'), 'ratio'),
    ],
    raw: Object.fromEntries(names.map((s) => [`${s}.heapBytes`, heap[s]])),
  };
}
