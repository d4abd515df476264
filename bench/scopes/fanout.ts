/**
 * Fan-out to 1,000 scoped clients: the server time per accepted small
 * transaction, from its push frame's arrival until every session has been
 * sent what the transaction means for it, against re-running every
 * client's scope naively.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Attr, EntityId, Transaction, Value, WriteIntent } from '../../crdt/index.js';
import { HybridClock, LocalAuthor, OpKind } from '../../crdt/index.js';
import { datoms } from '../../src/datascript/index.js';
import { createSyncCore } from '../../src/server/core.js';
import type { BenchResult, Finding, Row } from '../harness.js';
import { collectGarbage, finding, median, percentile, ratioFinding, runCounts, settings, verify } from '../harness.js';
import { Random } from '../random.js';
import { Fleet } from './fleet.js';
import { NaiveScopes } from './naive.js';
import type { Dataset, User } from './workload.js';
import { buildDataset, CLIENTS, COMPILED, PERMISSIONS, PROJECTS, projectKey, SCHEMA, scopeOf, TASKS } from './workload.js';

const SEED = 6;
const TARGET_MS = 5;

const KINDS = {
  field: 'a field of one task changes (no scope gains or loses it)',
  move: 'a task moves to another project (it leaves one scope, enters another)',
  read: 'a task turns private or public (read rules change who may hold it)',
} as const;
type Kind = keyof typeof KINDS;

interface Prepared {
  readonly task: EntityId;
  readonly tx: Transaction;
}

interface Timing {
  readonly total: number;
  readonly decide: number;
  readonly fanOut: number;
  /** CPU time of the process in the same window (user and system). */
  readonly cpu: number;
}

export async function fanOutBenchmark(): Promise<BenchResult> {
  const { warmup, runs } = runCounts(2, 12);
  const perRound = settings.quick ? 3 : 10;
  const data: Dataset = await buildDataset(SEED);
  const core = await createSyncCore<User>({
    schema: SCHEMA,
    storage: data.storage,
    permissions: PERMISSIONS,
    authenticate: (token) => (token === null ? null : { sub: token }),
  });
  // Registered before any session's listener, so it fires first: the moment the group is durable.
  let durableAt = 0;
  core.log.events.on('appended', () => {
    durableAt = performance.now();
  });
  const rng = new Random(SEED + 1);
  const fleet = new Fleet();
  const declared = Array.from({ length: CLIENTS }, (_, i) => ({ user: `u${i}`, ...scopeOf(i, rng, data) }));
  const connectStart = performance.now();
  for (const [i, { user, spec }] of declared.entries()) fleet.add(core, user, spec, SEED * 10_000 + i);
  await fleet.settle();
  const connectMs = performance.now() - connectStart;
  verify(
    fleet.clients.every((c) => c.welcomed && c.failure === undefined),
    'every client connected and received its snapshot',
  );
  const naive = new NaiveScopes(core, declared);
  const writer = fleet.clients[0];
  if (writer === undefined) throw new Error('no clients');
  const author = new LocalAuthor(writer.replica as never, 0, new HybridClock());

  const value = (entity: EntityId, attribute: string): unknown => {
    const eid = core.log.projection.existingEid(entity);
    return eid === undefined ? undefined : datoms(core.log.db, ':eavt', eid, attribute)[0]?.v;
  };
  const publicTask = (): EntityId => {
    for (;;) {
      const task = data.tasks[rng.below(TASKS)] as EntityId;
      if (value(task, 'task/private') !== true) return task;
    }
  };
  const set = (entity: EntityId, attribute: string, v: Value): WriteIntent => ({
    entity,
    attribute: attribute as Attr,
    kind: OpKind.Assert,
    value: v,
  });
  const prepare = (kind: Kind): Prepared => {
    let task: EntityId;
    let intent: WriteIntent;
    if (kind === 'field') {
      task = publicTask();
      intent = set(task, 'task/title', `renamed ${rng.below(1_000_000)}`);
    } else if (kind === 'move') {
      task = publicTask();
      const from = value(task, 'task/project');
      let to = projectKey(rng.below(PROJECTS));
      while (to === from) to = projectKey(rng.below(PROJECTS));
      intent = set(task, 'task/project', to);
    } else {
      task = data.tasks[rng.below(TASKS)] as EntityId;
      intent = set(task, 'task/private', value(task, 'task/private') !== true);
    }
    const tx = author.author([intent], core.log.state, COMPILED.specs, Date.now());
    if (tx === null) throw new Error('the write changes nothing');
    return { task, tx };
  };
  const measure = async ({ tx }: Prepared): Promise<Timing> => {
    const position = core.log.head + 1;
    const cpuBefore = process.cpuUsage();
    const { start, end } = await fleet.fanOut(writer, tx, position);
    const cpu = process.cpuUsage(cpuBefore);
    verify(core.log.head === position, 'the transaction was accepted');
    const timing = { total: end - start, decide: durableAt - start, fanOut: end - durableAt, cpu: (cpu.user + cpu.system) / 1000 };
    await fleet.settle();
    return timing;
  };

  const samples = {} as Record<Kind, Timing[]>;
  const naiveSamples = {} as Record<Kind, { naive: number; datsync: number }[]>;
  for (const kind of Object.keys(KINDS) as Kind[]) {
    samples[kind] = [];
    naiveSamples[kind] = [];
  }
  const kinds = Object.keys(KINDS) as Kind[];
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(round + k) % kinds.length] as Kind;
      const counted = round >= warmup;
      // Paired: datsync's fan-out, then the naive re-evaluation for the same transaction.
      naive.evaluateAll();
      collectGarbage();
      const paired = prepare(kind);
      const before = declared.map((_, i) => naive.holds(i, paired.task));
      const timing = await measure(paired);
      const naiveStart = performance.now();
      const changed = naive.evaluateAll();
      const naiveMs = performance.now() - naiveStart;
      // Every client whose scope held or now holds the task was sent something, and no other was.
      for (const [i, client] of fleet.clients.entries()) {
        if (client === writer) continue;
        const expected = before[i] === true || naive.holds(i, paired.task);
        verify(client.content > 0 === expected, `client ${i} ${expected ? 'was not sent' : 'was sent'} a ${kind} change`);
        verify(!changed.has(i) || client.content > 0, `client ${i}'s scope changed and it was sent nothing`);
      }
      if (kind === 'field') verify(changed.size === 0, 'a field change moves no entity between scopes');
      if (counted) {
        samples[kind].push(timing);
        naiveSamples[kind].push({ naive: naiveMs, datsync: timing.total });
      }
      for (let i = 1; i < perRound; i++) {
        const timing = await measure(prepare(kind));
        if (counted) samples[kind].push(timing);
      }
    }
  }
  // The clients a transaction did not concern were sent nothing: asked, each learns the head.
  await fleet.askHead();
  verify(
    fleet.clients.every((c) => c.through === core.log.head && c.failure === undefined),
    'every client asking for the head was sent records covering it',
  );
  await core.close();

  const rows: Row[] = [];
  const findings: Finding[] = [];
  const raw: Record<string, number[]> = {};
  for (const kind of kinds) {
    const totals = samples[kind].map((t) => t.total);
    raw[`${kind}.datsync.ms`] = totals;
    raw[`${kind}.naive.ms`] = naiveSamples[kind].map((s) => s.naive);
    rows.push({
      subject: `datsync: ${KINDS[kind]}`,
      values: {
        median: median(totals),
        p99: percentile(totals, 99),
        decide: median(samples[kind].map((t) => t.decide)),
        fanOut: median(samples[kind].map((t) => t.fanOut)),
        cpu: median(samples[kind].map((t) => t.cpu)),
      },
    });
    const naiveTimes = naiveSamples[kind].map((s) => s.naive);
    rows.push({ subject: `naive: every scope re-run (${kind})`, values: { median: median(naiveTimes), p99: percentile(naiveTimes, 99) } });
    findings.push(finding(`datsync median, ${kind}`, median(totals), 'ms', { op: '<', value: TARGET_MS }));
    findings.push(finding(`datsync p99, ${kind}`, percentile(totals, 99), 'ms'));
    findings.push(
      ratioFinding(
        `naive ÷ datsync (time: datsync speed-up), ${kind}`,
        naiveTimes,
        naiveSamples[kind].map((s) => s.datsync),
      ),
    );
  }
  const kindsCount = (name: string): number => declared.filter((d) => d.kind === name).length;
  return {
    id: 'fanout',
    title: `(a) Fan-out of one small transaction to ${CLIENTS.toLocaleString('en-US')} scoped clients`,
    description: [
      `The server (\`createSyncCore\` on memory storage) holds ${PROJECTS} projects and ${TASKS.toLocaleString('en-US')} tasks: `,
      `${(data.taskDatoms + data.projectDatoms).toLocaleString('en-US')} datoms, loaded from a snapshot. `,
      'Read rules: projects are public; a private task (one in ten) is readable by its owner alone (a local predicate rule). ',
      `${CLIENTS.toLocaleString('en-US')} simulated clients, each a different user, connect through \`connect(transport)\` `,
      'speaking the real protocol (hello, then a credit for every batch), each with one scope: ',
      `${kindsCount('query')} the tasks of one project (\`[?e "task/project" "p17"]\`, half with the value as an input), `,
      `${kindsCount('pull')} an epic and its subtasks by pull (\`{"task/_parent" [...]}\`), `,
      `${kindsCount('categorical')} every project (\`[?e "project/name"]\`). `,
      `Connecting them all and sending their snapshots took ${Math.round(connectMs).toLocaleString('en-US')} ms. `,
      'One of the clients writes; each transaction changes one attribute of one task. ',
      'Timed: from handing the push frame to the server until the last frame it causes has been handed to a socket: ',
      'records for the clients it concerns, evictions and new registers where a scope or a read rule changed, the writer\u2019s acknowledgement ',
      '(the others are sent nothing; at the end every client asks for the head and is checked to be sent records covering it); ',
      '"decide" ends when the group is durable, "fan-out" is the rest; "CPU time" is the process\u2019s user and system time over the same window ',
      '(the clients\u2019 share in it is reading a few header bytes per frame). ',
      'The naive baseline re-runs every client\u2019s compiled scope on the database filtered by its read rules and diffs the result; ',
      'it stops there (it sends nothing), so its figure flatters it. ',
      `${runs} rounds (after ${warmup} warm-up rounds) of ${perRound} transactions of each kind, the first of which is paired with a naive run; `,
      'a full collection before each round, none between the transactions of a round. ',
      'Each paired transaction is checked: exactly the clients whose scope held or now holds the task were sent something.',
    ].join(''),
    columns: [
      { key: 'median', label: 'median', format: 'ms' },
      { key: 'p99', label: 'p99', format: 'ms' },
      { key: 'decide', label: 'decide (median)', format: 'ms' },
      { key: 'fanOut', label: 'fan-out (median)', format: 'ms' },
      { key: 'cpu', label: 'CPU time (median)', format: 'ms' },
    ],
    rows,
    findings,
    raw,
  };
}
