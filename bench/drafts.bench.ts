/**
 * Collaborative drafts (issue 7): 10 editors typing into one draft at 10
 * keystrokes per second each, keystroke to co-editor latency, beside plain
 * Yjs over y-websocket (a bare `YRoom` server and the stock
 * `WebsocketProvider`).
 *
 * @module
 */

import type { PeerServer } from './drafts/editors.js';
import { datsyncServer, yjsServer } from './drafts/editors.js';
import type { TypingSample } from './drafts/typing.js';
import { typing } from './drafts/typing.js';
import { EDITORS, RATE } from './drafts/workload.js';
import type { BenchResult, BenchSuite, Finding, Row, Target } from './harness.js';
import { collectGarbage, finding, median, percentile, ratioFinding, runCounts, settings, verify } from './harness.js';
import { Random } from './random.js';

const SUBJECTS = {
  datsync: 'datsync drafts: draft hub (tokens, permissions) and `openDraft` clients',
  yjs: 'plain Yjs: bare `YRoom` server and stock y-websocket `WebsocketProvider`s',
} as const;
type Subject = keyof typeof SUBJECTS;

/** Within 1.2x of the plain peer: datsync adds permissions around the same protocol. */
const TARGET: Target = { op: '<=', value: 1.2 };
const WARMUP_MS = 1500;
const MEASURE_MS = 4000;
/** Once typing stops, how long the editors may take to hold every keystroke before the run fails. */
const DEADLINE_MS = 30_000;

interface RunSample extends TypingSample {
  /** CPU the server used over the typing, ms. */
  readonly serverCpuMs: number;
}

/**
 * The ratio of two subjects' `q`-th percentiles over every run pooled, with
 * its quartiles over the rounds resampled (the same rounds for both, as
 * they were paired) 200 times.
 */
function pooledRatio(label: string, a: readonly RunSample[], b: readonly RunSample[], q: number, target: Target): Finding {
  const pooled = (runs: readonly RunSample[], picks: readonly number[]): number =>
    percentile(
      picks.flatMap((k) => (runs[k] as RunSample).latencies),
      q,
    );
  const all = a.map((_, k) => k);
  const random = new Random(q);
  const ratios: number[] = [];
  for (let i = 0; i < 200; i++) {
    const picks = all.map(() => random.below(all.length));
    ratios.push(pooled(a, picks) / pooled(b, picks));
  }
  return { ...finding(label, pooled(a, all) / pooled(b, all), 'ratio', target), spread: [percentile(ratios, 25), percentile(ratios, 75)] };
}

function measureMs(): number {
  return settings.quick ? 2000 : MEASURE_MS;
}

async function run(server: PeerServer, round: number): Promise<RunSample> {
  const session = await server.editors(EDITORS);
  try {
    collectGarbage();
    const cpuBefore = await server.cpu();
    // Both peers of a round type the same keystrokes at the same places.
    const sample = await typing(
      session.editors,
      { warmupMs: WARMUP_MS, measureMs: measureMs(), deadlineMs: DEADLINE_MS },
      new Random(round + 1),
    );
    return { ...sample, serverCpuMs: (await server.cpu()) - cpuBefore };
  } finally {
    await session.close();
  }
}

async function typingBenchmark(): Promise<BenchResult> {
  const counts = runCounts(2, 14);
  const subjects = Object.keys(SUBJECTS) as Subject[];
  const servers: Record<Subject, PeerServer> = { datsync: await datsyncServer(), yjs: await yjsServer() };
  const samples: Record<Subject, RunSample[]> = { datsync: [], yjs: [] };
  try {
    for (let round = 0; round < counts.warmup + counts.runs; round++) {
      for (let k = 0; k < subjects.length; k++) {
        const subject = subjects[(round + k) % subjects.length] as Subject;
        console.error(`    round ${round + 1}/${counts.warmup + counts.runs}: ${subject}`);
        const sample = await run(servers[subject], round);
        if (round >= counts.warmup) samples[subject].push(sample);
      }
    }
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
  const p = (subject: Subject, q: number): number[] => samples[subject].map((s) => percentile(s.latencies, q));
  const rows: Row[] = subjects.map((subject) => {
    const all = samples[subject].flatMap((s) => s.latencies);
    verify(all.length > 0, `${subject} observed no keystroke`);
    return {
      subject: SUBJECTS[subject],
      values: {
        p50: percentile(all, 50),
        p99: percentile(all, 99),
        p999: percentile(all, 99.9),
        keystrokes: median(samples[subject].map((s) => s.keystrokes)),
        serverCpu: median(samples[subject].map((s) => s.serverCpuMs)),
        editorsCpu: median(samples[subject].map((s) => s.editorsCpuMs)),
        timerLag: median(samples[subject].map((s) => s.maxTimerLagMs)),
      },
    };
  });
  const runs = samples.datsync.length;
  return {
    id: 'typing',
    title: '(a) 10 editors typing into one draft, 10 keystrokes per second each',
    description: [
      `${EDITORS} editors in this process type one character each at a random place in one shared text field, ${RATE} keystrokes per second each, staggered evenly (${EDITORS * RATE} keystrokes per second in all), for ${WARMUP_MS / 1000} s of warm-up and ${measureMs() / 1000} s measured per run. Each peer's server runs in a child process of its own for the whole benchmark (on loopback); every run opens ${EDITORS} fresh editors on a draft (a room) no run used before.`,
      '',
      `- **datsync**: \`createServer\` with HS256 tokens (\`tokenAuthenticator\`), a write rule on \`task/*\` and in-memory storage; each editor is a \`createClient\` client signed in with its own token that \`openDraft\`s the same task and types into \`draft.text('task/title')\` (the draft persisted in the client's storage as always: its own changes at once, co-editors' within a second).`,
      '- **plain Yjs**: one `YRoom` (the y-websocket protocol room the draft hub builds on) behind a bare `ws` server, nothing around it; each editor is a stock `WebsocketProvider` from the y-websocket package with its own Y.Doc.',
      '',
      `Latency: from just before the writer's \`insert\` to a co-editor's Y.Text observer seeing the character (its screen model), on one clock; every measured keystroke once per co-editor (${EDITORS - 1} observations each). ${runs} rounds after ${counts.warmup} of warm-up, subjects alternating, each round in a rotated order, both subjects of a round typing the same keystrokes at the same places. p50/p99/p99.9 pool every run. The targets hold the pooled percentiles' ratio, with quartiles from resampling the rounds: a run's own p99 rests on its worst 1 % (about ${Math.round((measureMs() / 1000) * EDITORS * RATE * (EDITORS - 1) * 0.01)} observations), which a few milliseconds of another job's CPU on a shared machine decide; the per-round ratios (the median over rounds of the ratio of the two subjects' percentiles in the same round) are shown too. Every run checks that all editors end with the same text and that every keystroke reached every co-editor. CPU over the typing: the server process, and this process (the ${EDITORS} editors); timer lag: how late the typing timer fired at worst (this process's load).`,
    ].join('\n'),
    columns: [
      { key: 'p50', label: 'p50', format: 'ms' },
      { key: 'p99', label: 'p99', format: 'ms' },
      { key: 'p999', label: 'p99.9', format: 'ms' },
      { key: 'keystrokes', label: 'keystrokes / run', format: 'count' },
      { key: 'serverCpu', label: 'server CPU / run', format: 'ms' },
      { key: 'editorsCpu', label: 'editors CPU / run', format: 'ms' },
      { key: 'timerLag', label: 'timer lag', format: 'ms' },
    ],
    rows,
    findings: [
      pooledRatio('datsync ÷ plain Yjs, p99 keystroke to co-editor, pooled (time)', samples.datsync, samples.yjs, 99, TARGET),
      pooledRatio('datsync ÷ plain Yjs, p50 keystroke to co-editor, pooled (time)', samples.datsync, samples.yjs, 50, TARGET),
      ratioFinding('datsync ÷ plain Yjs, p99 keystroke to co-editor, per round (time)', p('datsync', 99), p('yjs', 99)),
      ratioFinding('datsync ÷ plain Yjs, p50 keystroke to co-editor, per round (time)', p('datsync', 50), p('yjs', 50)),
      ratioFinding(
        'datsync ÷ plain Yjs, server CPU (time)',
        samples.datsync.map((s) => s.serverCpuMs),
        samples.yjs.map((s) => s.serverCpuMs),
      ),
      ratioFinding(
        'datsync ÷ plain Yjs, editors CPU (time)',
        samples.datsync.map((s) => s.editorsCpuMs),
        samples.yjs.map((s) => s.editorsCpuMs),
      ),
    ],
    raw: Object.fromEntries(subjects.flatMap((s) => [[`${s}P50`, p(s, 50)] as const, [`${s}P99`, p(s, 99)] as const])),
  };
}

export const suite: BenchSuite = {
  name: 'drafts',
  title: 'drafts: collaborative typing against plain Yjs over y-websocket',
  async run(): Promise<BenchResult[]> {
    console.error('  typing...');
    return [await typingBenchmark()];
  },
};
