/**
 * Tentative (optimistic) state: a client's local transactions on top of the
 * confirmed state, confirmed or rejected in any order while remote
 * transactions keep arriving. At every step the shown state equals the
 * confirmed state plus the remaining tentative transactions, and the stream
 * of visible changes it reports, replayed, gives exactly the shown datoms
 * (what the DataScript projection relies on).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { DatomChange, Transaction } from '../crdt/index.js';
import { HybridClock, LocalAuthor, ReplicaState, TentativeState, transactionId } from '../crdt/index.js';
import { runs } from './setup.js';
import type { IntentSpec } from './support/scenario.js';
import { play, replicaIdAt, SPECS, scenarioArb, toIntents } from './support/scenario.js';

type Action =
  | { readonly type: 'local'; readonly intents: readonly IntentSpec[] }
  | { readonly type: 'remote' }
  | { readonly type: 'confirm'; readonly pick: number }
  | { readonly type: 'reject'; readonly pick: number };

const intentArb: fc.Arbitrary<IntentSpec> = fc.record({
  entity: fc.nat(2),
  attr: fc.nat(4),
  kind: fc.constantFrom<0 | 1 | 2>(0, 0, 1, 2),
  value: fc.nat(7),
});

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('local' as const), intents: fc.array(intentArb, { minLength: 1, maxLength: 3 }) }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('remote' as const) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('confirm' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('reject' as const), pick: fc.nat() }) },
);

function datomKey(change: { entity: string; attribute: string; value: unknown }): string {
  const v = change.value;
  return `${change.entity} ${change.attribute} ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`;
}

function replay(shown: Set<string>, changes: readonly DatomChange[]): boolean {
  for (const change of changes) {
    const key = datomKey(change);
    if (change.added) {
      if (shown.has(key)) return false; // an add of something already shown
      shown.add(key);
    } else if (!shown.delete(key)) return false; // a removal of something not shown
  }
  return true;
}

describe('tentative state', () => {
  it('shows confirmed ⊕ tentative, rolls back exactly, and reports a replayable change stream', () => {
    fc.assert(
      fc.property(scenarioArb({ maxReplicas: 3 }), fc.array(actionArb, { minLength: 1, maxLength: 40 }), (scenario, actions) => {
        const remote = play(scenario).txs; // others' transactions, arriving in issue order
        let nextRemote = 0;
        const state = new TentativeState(new ReplicaState(SPECS));
        const author = new LocalAuthor(replicaIdAt(9), 0, new HybridClock());
        const confirmedLocal: Transaction[] = [];
        const shown = new Set<string>();
        let now = 1_700_000_000_000;
        for (const action of actions) {
          let changes: DatomChange[] = [];
          if (action.type === 'local') {
            now += 10;
            const tx = author.author(action.intents.map(toIntents), state, SPECS, now);
            if (tx === null) continue;
            changes = state.addTentative(tx);
          } else if (action.type === 'remote') {
            const tx = remote[nextRemote++];
            if (tx === undefined) continue;
            changes = state.applyConfirmed(tx);
          } else {
            const pending = state.pending();
            const tx = pending[action.pick % Math.max(1, pending.length)];
            if (tx === undefined) continue;
            if (action.type === 'confirm') {
              confirmedLocal.push(tx);
              changes = state.confirm(transactionId(tx));
            } else changes = state.reject(transactionId(tx));
          }
          if (!replay(shown, changes)) return false;
          // The shown state is the confirmed state plus what is still tentative.
          const expected = new ReplicaState(SPECS);
          for (const tx of remote.slice(0, nextRemote)) expected.applyTransaction(tx);
          for (const tx of confirmedLocal) expected.applyTransaction(tx);
          for (const tx of state.pending()) expected.applyTransaction(tx);
          const actual = [...state.datoms()].map(([entity, attribute, value]) => datomKey({ entity, attribute, value })).sort();
          const expectedKeys = [...expected.datoms()].map(([entity, attribute, value]) => datomKey({ entity, attribute, value })).sort();
          if (JSON.stringify(actual) !== JSON.stringify(expectedKeys)) return false;
          if (JSON.stringify([...shown].sort()) !== JSON.stringify(actual)) return false;
        }
        return true;
      }),
      { numRuns: runs(500) },
    );
  });
});
