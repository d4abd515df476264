/**
 * Several server nodes on one PostgreSQL log (issue 10), beside one node on
 * SQLite, in the same run: how fast the log takes writes as nodes are added,
 * and how long a write takes to reach clients on every node at 1,000
 * transactions a second.
 *
 * Every node is a process of its own (`bench/postgres/node.ts`, the server
 * as `datsync serve` runs it); clients are bare protocol connections in this
 * process. PostgreSQL is the server DATSYNC_TEST_POSTGRES_URL names, or a
 * throwaway cluster `scripts/postgres.sh` starts for the run.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult, BenchSuite } from './harness.js';
import { finding, median, percentile, ratioFinding, runCounts, settings } from './harness.js';
import { startCluster } from './postgres/cluster.js';
import type { Subject } from './postgres/load.js';
import { appendThroughput, fanOutLatency, startNodes } from './postgres/load.js';
import { Random } from './random.js';

const SUBJECTS: readonly Subject[] = [
  { name: 'SQLite, 1 node', kind: 'sqlite', nodes: 1 },
  { name: 'PostgreSQL, 1 node', kind: 'postgres', nodes: 1 },
  { name: 'PostgreSQL, 3 nodes', kind: 'postgres', nodes: 3 },
];
const [SQLITE, PG1, PG3] = SUBJECTS.map((subject) => subject.name) as [string, string, string];

const WRITERS = 12;
const RATE = 1000;

export const suite: BenchSuite = {
  name: 'postgres',
  title: 'postgres: server nodes on one PostgreSQL log, beside one node on SQLite',
  async run(): Promise<BenchResult[]> {
    const cluster = startCluster();
    if (cluster === undefined) {
      console.error('  postgres: no PostgreSQL server (set DATSYNC_TEST_POSTGRES_URL, or apt-get install postgresql): skipped');
      return [];
    }
    const dir = mkdtempSync(join(tmpdir(), 'datsync-bench-pg-'));
    const random = new Random(10);
    const next = (): number => random.next();
    try {
      // Each round starts fresh node processes: a quick check runs one round, no warm-up.
      const quick = settings.quick;
      const counts = quick ? { warmup: 0, runs: 1 } : runCounts(1, 3);
      const perWriter = quick ? 200 : 1000;
      const seconds = quick ? 2 : 6;
      const throughput = new Map<string, number[]>(SUBJECTS.map((s) => [s.name, []]));
      const latency = new Map<string, number[]>(SUBJECTS.map((s) => [s.name, []]));
      const sentRate = new Map<string, number[]>(SUBJECTS.map((s) => [s.name, []]));
      let run = 0;
      for (let round = 0; round < counts.warmup + counts.runs; round++) {
        for (let k = 0; k < SUBJECTS.length; k++) {
          const subject = SUBJECTS[(round + k) % SUBJECTS.length] as Subject;
          console.error(`  ${subject.name}, round ${round + 1}...`);
          let nodes = await startNodes(subject, cluster, dir, run++);
          const appended = await appendThroughput(nodes, WRITERS, perWriter, next);
          await nodes.stop();
          nodes = await startNodes(subject, cluster, dir, run++);
          const fanned = await fanOutLatency(nodes, RATE, seconds, next);
          await nodes.stop();
          console.error(
            `    ${Math.round(appended.txPerSecond)} tx/s; at ${RATE} tx/s p50 ${percentile(fanned.latencies, 50).toFixed(1)} ms, p99 ${percentile(fanned.latencies, 99).toFixed(1)} ms`,
          );
          if (round < counts.warmup) continue;
          throughput.get(subject.name)?.push(appended.txPerSecond);
          latency.get(subject.name)?.push(...fanned.latencies);
          sentRate.get(subject.name)?.push(fanned.sentPerSecond);
        }
      }
      const of = (map: Map<string, number[]>, name: string): number[] => map.get(name) ?? [];
      // Several node processes, PostgreSQL and the clients share the machine's cores: how busy it was matters.
      const load = `The machine's load average at the end of the run: ${loadavg()
        .map((value) => value.toFixed(1))
        .join(', ')} (1, 5 and 15 minutes).`;
      return [
        {
          id: 'append-throughput',
          title: 'Log append throughput, 1 and 3 nodes',
          description: [
            `${WRITERS} clients, spread evenly over the nodes, each push ${perWriter.toLocaleString('en-US')} transactions (a new task, two attributes)`,
            `as fast as they are acknowledged (up to 400 unacknowledged each): transactions accepted and durable per second, from the`,
            'first push to the last acknowledgement; every client also receives the whole log, as an unscoped client does.',
            'The median of the rounds. Each node decides in turns holding the log head locked in PostgreSQL,',
            'catching up on what the others appended first, so every node applies every transaction.',
            load,
          ].join(' '),
          columns: [{ key: 'rate', label: 'transactions/s', format: 'opsPerSecond' }],
          rows: SUBJECTS.map((s) => ({ subject: s.name, values: { rate: median(of(throughput, s.name)) } })),
          findings: [
            ratioFinding('3 PostgreSQL nodes / 1 SQLite node, write rate', of(throughput, PG3), of(throughput, SQLITE), {
              op: '>=',
              value: 1,
            }),
            ratioFinding('1 PostgreSQL node / 1 SQLite node, write rate', of(throughput, PG1), of(throughput, SQLITE)),
            ratioFinding('3 PostgreSQL nodes / 1 PostgreSQL node, write rate', of(throughput, PG3), of(throughput, PG1)),
          ],
          raw: Object.fromEntries(SUBJECTS.map((s) => [`${s.name} tx/s`, of(throughput, s.name)])),
        },
        {
          id: 'fan-out-latency',
          title: `Apply and fan-out latency at ${RATE.toLocaleString('en-US')} tx/s`,
          description: [
            `12 writers spread over the nodes send ${RATE.toLocaleString('en-US')} transactions a second in all for ${seconds} s;`,
            'an observer on every node (three on a single node) times each transaction from its push to its arrival:',
            'decided, committed, announced to the other nodes (LISTEN/NOTIFY), applied there and sent to their clients.',
            'Percentiles over every (transaction, observer) pair of all rounds.',
            load,
          ].join(' '),
          columns: [
            { key: 'p50', label: 'p50', format: 'ms' },
            { key: 'p99', label: 'p99', format: 'ms' },
            { key: 'max', label: 'max', format: 'ms' },
            { key: 'sent', label: 'sent tx/s', format: 'opsPerSecond' },
          ],
          rows: SUBJECTS.map((s) => {
            const values = of(latency, s.name);
            return {
              subject: s.name,
              values: {
                p50: percentile(values, 50),
                p99: percentile(values, 99),
                max: Math.max(...values),
                sent: median(of(sentRate, s.name)),
              },
            };
          }),
          findings: [
            finding(`fan-out p99 at ${RATE} tx/s across 3 PostgreSQL nodes`, percentile(of(latency, PG3), 99), 'ms', {
              op: '<',
              value: 100,
            }),
            finding(`fan-out p99 at ${RATE} tx/s, 1 PostgreSQL node`, percentile(of(latency, PG1), 99), 'ms'),
            finding(`fan-out p99 at ${RATE} tx/s, 1 SQLite node`, percentile(of(latency, SQLITE), 99), 'ms'),
          ],
          raw: Object.fromEntries(SUBJECTS.map((s) => [`${s.name} latency ms`, of(latency, s.name)])),
        },
      ];
    } finally {
      cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
