/**
 * Collaborative drafts (issue 7), at least 200 runs per CI run: 2 to 4
 * editors (real clients, `openDraft`) and one non-editor on one server, over
 * the simulated network, so which message arrives next, which connection is
 * cut and when reconnect timers fire are chosen by fast-check, for the
 * drafts' y-websocket connections and the sync alike. Editors type at random
 * positions, replace texts, set values, add and remove set members, go
 * offline and come back, reload (the draft reopened from their storage);
 * some open the draft while offline (their own copy, bound once online). The
 * server restarts from its storage at times, and the non-editor sometimes
 * changes the entity meanwhile.
 *
 * At quiescence every editor's draft holds the same values, and no client
 * shows a draft value. Then one editor commits, while some others are away:
 * a field both the draft and the non-editor changed (to different values)
 * refuses the commit with `draft-conflict` naming exactly those fields
 * (unless it overwrites), after which it rebases or overwrites. The commit
 * is ONE transaction, of the changed fields only; every client then shows
 * the draft's values (and the non-editor's where the draft left a field
 * alone), and every other editor sees the draft closed, 'committed'.
 *
 * The last test shows the property failing on two deliberately broken
 * variants: an editor whose updates the network drops, and a commit that
 * leaves out a field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EntityId } from '../crdt/index.js';
import { transactionId } from '../crdt/index.js';
import type { Draft } from '../src/client/draft.js';
import { runs } from './setup.js';
import type { Field, Values } from './support/draft-world.js';
import { DraftWorld, FIELDS, normAll, TEXT_FIELDS, USERS } from './support/draft-world.js';
import type { NetworkStep } from './support/sim-network.js';
import { deliverStep, drain, killStep, tickStep } from './support/sim-network.js';

type Step =
  | { readonly type: 'insert'; readonly editor: number; readonly field: number; readonly at: number; readonly text: string }
  | { readonly type: 'delete'; readonly editor: number; readonly field: number; readonly at: number; readonly length: number }
  | { readonly type: 'retype'; readonly editor: number; readonly field: number; readonly text: string }
  | { readonly type: 'set'; readonly editor: number; readonly done: boolean; readonly value: number | null }
  | { readonly type: 'member'; readonly editor: number; readonly tag: number; readonly add: boolean }
  | NetworkStep
  | { readonly type: 'offline'; readonly editor: number }
  | { readonly type: 'online'; readonly editor: number }
  | { readonly type: 'reload'; readonly editor: number }
  | { readonly type: 'restart' }
  | { readonly type: 'other'; readonly field: number; readonly value: number; readonly retract: boolean };

const editor = fc.nat(3);
const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c', ' ', 'é'), minLength: 1, maxLength: 4 });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('insert' as const), editor, field: fc.nat(1), at: fc.nat(), text }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('delete' as const),
      editor,
      field: fc.nat(1),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('retype' as const), editor, field: fc.nat(1), text: fc.oneof(text, fc.constant('')) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant('set' as const), editor, done: fc.boolean(), value: fc.option(fc.nat(4), { freq: 4 }) }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('member' as const), editor, tag: fc.nat(3), add: fc.boolean() }) },
  { weight: 8, arbitrary: deliverStep },
  { weight: 1, arbitrary: killStep },
  { weight: 1, arbitrary: tickStep },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('offline' as const), editor }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('online' as const), editor }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('reload' as const), editor }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('restart' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('other' as const),
      field: fc.nat(FIELDS.length - 1),
      value: fc.nat(4),
      retract: fc.boolean(),
    }),
  },
);

const scheduleArb = fc.record({
  editors: fc.integer({ min: 2, max: 4 }),
  /** Per editor (the first always opens online): opens the draft while offline. */
  offlineOpen: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  steps: fc.array(stepArb, { minLength: 5, maxLength: 60, size: 'medium' }),
  /** Presence names, some long (a close reason quoting one must still fit in 123 bytes). */
  names: fc.array(fc.oneof(fc.constantFrom(...USERS), fc.string({ unit: fc.constantFrom('a', 'é', ' '), minLength: 20, maxLength: 100 })), {
    minLength: 4,
    maxLength: 4,
  }),
  committer: fc.nat(3),
  overwrite: fc.boolean(),
  /** After a refused commit: rebase, else overwrite. */
  rebase: fc.boolean(),
  /** Per editor: away while another commits (learns of the close when back). */
  awayAtCommit: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
});

type Schedule = typeof scheduleArb extends fc.Arbitrary<infer S> ? S : never;
type Broken = 'drop-updates' | 'omit-field' | undefined;

const INITIAL = { 'task/title': 'Hello world', 'task/points': 1, 'task/done': false, 'task/tags': ['t0', 't1'] };

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

function show(values: Values): string {
  return FIELDS.map((f) => `${f}=${values[f]}`).join(' ');
}

/** The non-editor's change, as a transaction on the entity. */
function otherChange(id: EntityId, step: Extract<Step, { type: 'other' }>): unknown[] {
  const field = FIELDS[step.field] as Field;
  const target = ['datsync/id', id];
  const value =
    field === 'task/points'
      ? step.value
      : field === 'task/done'
        ? step.value % 2 === 0
        : field === 'task/tags'
          ? `t${step.value % 4}`
          : `${field.slice(5)} ${step.value}`;
  if (!step.retract) return [{ ':db/id': target, [field]: value }];
  return field === 'task/tags' ? [[':db/retract', target, field, value]] : [[':db/retract', target, field]];
}

function opening(schedule: Schedule, i: number) {
  return { fields: FIELDS, presence: { name: schedule.names[i] ?? (USERS[i] as string) } };
}

async function apply(world: DraftWorld, schedule: Schedule, id: EntityId, step: Step): Promise<void> {
  const editors = world.drafts.length;
  switch (step.type) {
    case 'insert':
    case 'delete':
    case 'retype': {
      const draft = world.drafts[step.editor % editors] as Draft;
      const field = TEXT_FIELDS[step.field] as Field;
      if (step.type === 'retype') {
        draft.set(field, step.text === '' ? undefined : step.text);
        break;
      }
      const t = draft.text(field);
      if (step.type === 'insert') t.insert(step.at % (t.length + 1), step.text);
      else if (t.length > 0) {
        const at = step.at % t.length;
        t.delete(at, Math.min(step.length, t.length - at));
      }
      break;
    }
    case 'set': {
      const draft = world.drafts[step.editor % editors] as Draft;
      if (step.done) draft.set('task/done', step.value === null ? undefined : step.value % 2 === 0);
      else draft.set('task/points', step.value ?? undefined);
      break;
    }
    case 'member': {
      const draft = world.drafts[step.editor % editors] as Draft;
      if (step.add) draft.add('task/tags', `t${step.tag}`);
      else draft.remove('task/tags', `t${step.tag}`);
      break;
    }
    case 'deliver':
    case 'kill':
    case 'tick':
      await world.network.run(step);
      break;
    case 'offline':
      world.disconnect(step.editor % editors);
      break;
    case 'online':
      world.connect(step.editor % editors);
      break;
    case 'reload': {
      const i = step.editor % editors;
      await world.reload(i, (client) => client.openDraft(id, opening(schedule, i)));
      break;
    }
    case 'restart':
      await world.restartServer();
      break;
    case 'other':
      await world.other.transact(otherChange(id, step) as never);
      break;
  }
}

/** Opens every editor's draft of a fresh entity (some offline), plays the steps, and lets the network heal. */
async function edit(world: DraftWorld, schedule: Schedule): Promise<{ id: EntityId; base: Values }> {
  check(await world.heal(() => true), 'the clients never came online');
  const created = await world.other.transact([{ ':db/id': 't', ...INITIAL }] as never);
  const id = created.entityIds.t as EntityId;
  check(await world.heal(() => true), 'the entity never reached every client');
  const base = world.committed(id);
  for (let i = 0; i < schedule.editors; i++) {
    if (i > 0 && schedule.offlineOpen[i] === true) world.disconnect(i);
    const client = world.clients[i];
    const opened = await world.settle((client as NonNullable<typeof client>).openDraft(id, opening(schedule, i)));
    check(opened?.ok === true, `editor ${i} could not open the draft: ${String(opened?.ok === false ? opened.error : 'stalled')}`);
    world.drafts[i] = (opened as { value: Draft }).value;
  }
  for (const step of schedule.steps) {
    world.network.now += 3;
    await apply(world, schedule, id, step);
    await drain();
  }
  check(await world.heal((d) => d.status === 'live' && d.shared), 'the drafts never settled (a stall)');
  return { id, base };
}

async function play(schedule: Schedule, broken: Broken): Promise<void> {
  const world = await DraftWorld.start(schedule.editors);
  if (broken === 'drop-updates') {
    // The network loses every document update ben's drafts send (what reconnects resend still arrives).
    world.network.dropUp = (url, frame) => url.includes('/drafts/') && url.includes('token-ben') && frame[0] === 0 && frame[1] === 2;
  }
  try {
    const { id, base } = await edit(world, schedule);
    const drafts = world.drafts as Draft[];
    // Converged: every editor's draft holds the same values…
    const values = normAll((f) => (drafts[0] as Draft).value(f));
    for (const [i, draft] of drafts.entries()) {
      const mine = normAll((f) => draft.value(f));
      check(show(mine) === show(values), `editor ${i} holds ${show(mine)}, editor 0 ${show(values)}`);
    }
    // …and no client shows any of them: views hold the committed state only.
    const current = world.committed(id);
    for (const [i, client] of world.clients.entries()) {
      check(show(world.view(client, id)) === show(current), `client ${i} shows ${show(world.view(client, id))} before the commit`);
    }
    await commit(world, schedule, id, { base, values, current }, broken);
  } finally {
    world.network.dropUp = undefined;
    await world.close();
  }
}

async function commit(
  world: DraftWorld,
  schedule: Schedule,
  id: EntityId,
  state: { base: Values; values: Values; current: Values },
  broken: Broken,
): Promise<void> {
  const { base, values, current } = state;
  const drafts = world.drafts as Draft[];
  const committer = schedule.committer % drafts.length;
  const draft = drafts[committer] as Draft;
  if (broken === 'omit-field') {
    const target = draft as unknown as { txData(entity: unknown, changes: readonly unknown[]): unknown };
    const txData = target.txData.bind(draft);
    target.txData = (entity, changes) => txData(entity, changes.slice(1));
  }
  drafts.forEach((_, i) => {
    if (i !== committer && schedule.awayAtCommit[i] === true) world.disconnect(i);
  });
  const changed = FIELDS.filter((f) => values[f] !== base[f]);
  const conflicts = changed.filter((f) => current[f] !== base[f] && current[f] !== values[f]);
  const head = world.core.log.head;
  let outcome = await world.settle(draft.commit(schedule.overwrite ? { overwrite: true } : {}));
  if (!schedule.overwrite && conflicts.length > 0) {
    const error = outcome?.ok === false ? (outcome.error as { code?: string; details?: { fields?: string } }) : undefined;
    check(error?.code === 'draft-conflict', `a conflict in ${conflicts.join(', ')} was not reported: ${JSON.stringify(outcome)}`);
    check(
      error?.details?.fields === conflicts.join(','),
      `conflict reported in ${error?.details?.fields}, expected ${conflicts.join(',')}`,
    );
    const reported = draft.conflicts().map((c) => `${c.attribute} ${normAll(() => c.current)[c.attribute as Field]}`);
    check(
      JSON.stringify(reported) === JSON.stringify(conflicts.map((f) => `${f} ${current[f]}`)),
      `conflicts() says ${reported.join('; ')}`,
    );
    check(draft.status !== 'closed', 'a refused commit closed the draft');
    if (schedule.rebase) {
      draft.rebase();
      check(draft.conflicts().length === 0, 'conflicts remain after rebase');
    }
    outcome = await world.settle(draft.commit(schedule.rebase ? {} : { overwrite: true }));
  }
  check(outcome?.ok === true, `the commit failed: ${outcome?.ok === false ? String(outcome.error) : 'stalled'}`);
  const result = (outcome as { value: { txId: string | null; entity: string | null } }).value;
  check(result.entity === id, `the commit wrote ${result.entity}`);
  // ONE transaction, touching the changed fields only, and every one that differs from the committed state.
  const records = await world.core.log.storage.readLog(head, 100);
  check(records.length === (result.txId === null ? 0 : 1), `the commit made ${records.length} log records`);
  const written = new Set(records.flatMap((r) => r.tx.ops.map((op) => (op.entity === id ? op.attribute : `other ${op.entity}`))));
  const must = changed.filter((f) => values[f] !== current[f]);
  check(
    [...written].every((a) => (changed as string[]).includes(a)) && must.every((f) => written.has(f)),
    `the transaction wrote ${[...written].join(', ')}; changed: ${changed.join(', ')}`,
  );
  if (records[0] !== undefined) check(transactionId(records[0].tx) === result.txId, 'the log holds another transaction');
  check(await world.heal((d) => d.status === 'closed'), 'the commit never reached every editor (a stall)');
  const expected = Object.fromEntries(FIELDS.map((f) => [f, changed.includes(f) ? values[f] : current[f]])) as Values;
  check(world.core.log.head === head + records.length, 'more was written after the commit');
  for (const [i, client] of world.clients.entries()) {
    const seen = world.view(client, id);
    check(show(seen) === show(expected), `client ${i} shows ${show(seen)} after the commit, expected ${show(expected)}`);
  }
  for (const [i, d] of drafts.entries()) {
    check(d.closed?.reason === 'committed' && d.closed.entity === id, `editor ${i} saw the draft close as ${JSON.stringify(d.closed)}`);
  }
}

describe('collaborative drafts over a hostile network', () => {
  it('converge for every editor, and commit as one transaction of exactly the draft', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, (schedule) => play(schedule, undefined)),
      { numRuns: runs(200) },
    );
  });

  it('catches an editor whose updates are lost, and a commit that leaves out a field', async () => {
    for (const broken of ['drop-updates', 'omit-field'] as const) {
      const result = await fc.check(
        fc.asyncProperty(scheduleArb, (schedule) => play(schedule, broken)),
        { numRuns: 200, seed: 42, endOnFailure: true },
      );
      expect(result.failed, broken).toBe(true);
    }
  });
});
