/**
 * Where the server log's decisions are serialised. A log several processes
 * share brings its own (`Storage.shared`: PostgreSQL hands out turns holding
 * a lock on the log's head); a log only this process writes is served by the
 * in-process one below, whose turns cost nothing, because the log's own
 * loop already decides one group at a time.
 *
 * @module
 */
import type { SharedLog, Storage } from '../../storage/contract.js';

/** Turns for a log this process alone appends to: the head is ours, and no one else's commits need hearing of. */
export function inProcessTurns(storage: Storage, head: () => number): SharedLog {
  return {
    turn: async () => ({
      head: head(),
      records: [],
      commit: (batch) => storage.commit(batch),
      release: async () => undefined,
    }),
    watch: () => () => undefined,
  };
}

/** The turns of `storage`: its own when several processes share it, else in-process ones. */
export function turnsFor(storage: Storage, head: () => number): SharedLog {
  return storage.shared ?? inProcessTurns(storage, head);
}
