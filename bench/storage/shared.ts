/**
 * What the storage benchmarks share between Node and the browser page: the
 * subjects' names, the interactive write, and the raw ceiling's rows.
 *
 * @module
 */
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { Eid, TxOp } from '../../src/datascript/index.js';
import type { Storage } from '../../storage/contract.js';
import type { AsyncTrial, Sample } from '../harness.js';
import { ENTITIES, SCHEMA } from '../replica/workload.js';

/** Bulk write of the 100,000 datoms. */
export type BulkSubject = 'commit' | 'receive' | 'transact' | 'raw';
/** Storage → queryable DataScript database. */
export type ColdSubject = 'log' | 'snapshot' | 'raw';
/** One small durable write. */
export type LiveSubject = 'datsync' | 'raw';

/** Datoms per record of the raw IndexedDB ceiling. */
export const CHUNK = 1000;
/** Interactive writes per run. */
export const INTERACTIVE_WRITES = 200;

/** Write w of the interactive runs: a new title and status for one task, as an edit form makes. */
export function edit(eid: Eid, w: number): TxOp[] {
  return [
    [':db/add', eid, 'task/title', `edited title ${w}`],
    [':db/add', eid, 'task/status', w % 2 === 0 ? 'doing' : 'review'],
  ];
}

/** `[eid, attribute, value]`: the datoms as a raw DataScript application would store them. */
export function rawDatoms(rows: ReadonlyArray<readonly [Eid, string, unknown, number]>): Array<readonly [Eid, string, unknown]> {
  return rows.map(([e, a, v]) => [e, a, v] as const);
}

/** Throws unless `ok`: a run that stored or read the wrong thing measures nothing. */
export function verify(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark check failed: ${what}`);
}

/** Counts the workload's entities in an opened client. */
export const COUNT = '[:find (count ?e) . :where [?e "task/title"]]';

/** A cold start: from opening the storage until `db()` returns the queryable database. */
export function openClientTrial(open: () => Storage | Promise<Storage>): AsyncTrial {
  return async () => async (): Promise<Sample> => {
    const start = performance.now();
    const client = (await createClient({ schema: SCHEMA, storage: await open() })) as Client;
    client.db();
    const ms = performance.now() - start;
    verify(client.q(COUNT) === ENTITIES, 'the opened client shows every entity');
    await client.close();
    return { ms, laps: [] };
  };
}
