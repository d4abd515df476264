/**
 * (b) Propagation: 100 connected clients writing 1,000 small transactions
 * per second between them, on a timer schedule; beside 100 y-websocket
 * clients on one document doing the same writes.
 *
 * Three processes per run: the server (bench/sync/child.ts); 97 light
 * clients (bench/sync/fleet.ts), which speak the protocol without a replica;
 * and this one, with 3 full clients (`createClient`, or a
 * `WebsocketProvider` on a Y.Doc) that write their share and watch each
 * other's writes. Latency is measured between the full clients, so writer
 * and observer read one clock; the server times its own part.
 *
 * @module
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import type { EntityId } from '../../crdt/index.js';
import type { DatsyncClient } from '../../src/client/api.js';
import { createClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/sync.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { BenchResult, Row } from '../harness.js';
import { finding, median, percentile, settings, verify } from '../harness.js';
import type { AsyncTrial } from './rounds.js';
import { sideBySideAsync } from './rounds.js';
import type { Schedule } from './schedule.js';
import { extrasOf, runSchedule, windowOf } from './schedule.js';
import type { Fleet, PeerKind, ServerChild } from './servers.js';
import { cpuMs, startFleet, startServerChild } from './servers.js';
import { sleep, within } from './time.js';
import { SCHEMA } from './workload.js';
import type { YjsClient } from './yjs-client.js';
import { yjsClient } from './yjs-client.js';

const CLIENTS = 100;
/** Full clients: writers 0 to FULL - 1, each also watching the others' entities. */
const FULL = 3;
const RATE = 1000;
const WARMUP_MS = 2000;
const MEASURE_MS = 8000;
/** After the schedule ends, how long the observers may take to see the last writes before the run fails. */
const DRAIN_MS = 30_000;

const SUBJECTS = {
  datsync: 'datsync: 100 clients, one server',
  yjs: 'y-websocket: 100 clients, one room',
} as const;
type Subject = keyof typeof SUBJECTS;

/** What the full clients of a peer do. */
interface FullClients {
  /** Writes transaction `k` of the schedule: entity of `writer` gets `task/order` = `stamp`, and the extras. */
  write(k: number, writer: number, stamp: number): void;
  /** Calls `seen(observer, writer, value)` when `observer`'s view of `task/order` of `writer`'s entity changes. */
  observe(seen: (observer: number, writer: number, value: number) => void): void;
  /** Resolves once every full client holds everything written so far. */
  settle(): Promise<void>;
  readonly errors: unknown[];
  close(): Promise<void>;
}

interface PropagationSample {
  /** Transact on one full client to the projection of another, ms, for writes in the measured window. */
  readonly latencies: number[];
  /** Server, push arrival to the last session's send (datsync), or the room's apply-and-broadcast (Yjs), ms. */
  readonly fanOut: number[];
  /** Server, push arrival to the last send among the sessions that had window credit (datsync; Yjs: as above), ms. */
  readonly readyFanOut: number[];
  /** From the write (on any client) to the server being done with it, ms: what the server queue adds. */
  readonly writeToServer: number[];
  /** Writes in the measured window. */
  readonly writes: number;
  readonly maxLagMs: number;
  readonly loopDelayP99: number;
  readonly serverCpu: number;
  readonly clientsCpu: number;
  readonly load: number;
  readonly connections: number;
}

/** Epoch milliseconds with sub-millisecond resolution: the clock every process stamps writes with. */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

async function datsyncClients(server: ServerChild): Promise<FullClients> {
  const errors: unknown[] = [];
  const clients: DatsyncClient[] = [];
  const entities: EntityId[] = [];
  for (let i = 0; i < FULL; i++) {
    const client = await createClient({
      schema: SCHEMA,
      storage: new MemoryStorage(),
      url: server.url,
      WebSocket: WebSocket as unknown as SocketFactory,
    });
    client.on('error', (error) => errors.push(error));
    client.on('rejected', (event) => errors.push(event.error));
    const report = await client.transact([{ ':db/id': 'e', 'task/title': `client ${i}`, 'task/order': 0, 'task/progress': 0 }]);
    const id = report.entityIds.e;
    if (id === undefined) throw new Error('no entity id');
    clients.push(client);
    entities.push(id);
  }
  const stops: Array<() => void> = [];
  return {
    errors,
    settle: async () => {
      await within(30_000, Promise.all(clients.map((c) => c.whenSynced())), 'the full clients syncing');
    },
    write: (k, writer, stamp) => {
      (clients[writer] as DatsyncClient)
        .transact([{ ':db/id': ['datsync/id', entities[writer]], 'task/order': stamp, ...extrasOf(k, CLIENTS) }])
        .catch((error: unknown) => errors.push(error));
    },
    observe: (seen) => {
      for (const [observer, client] of clients.entries()) {
        for (const [writer, entity] of entities.entries()) {
          if (writer === observer) continue;
          stops.push(
            client.subscribePull('["task/order"]', entity, (result) => {
              const value = result?.['task/order'];
              if (typeof value === 'number') seen(observer, writer, value);
            }),
          );
        }
      }
    },
    close: async () => {
      for (const stop of stops) stop();
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

async function yjsClients(server: ServerChild): Promise<FullClients> {
  const clients: YjsClient[] = [];
  for (let i = 0; i < FULL; i++) {
    const client = yjsClient(server.url, WebSocket, i + 1);
    await within(10_000, client.connect(), 'a Yjs client connecting');
    clients.push(client);
  }
  // The structure is created once, by one client, before anyone writes into it (the nested Y.Map pitfall).
  const first = clients[0] as YjsClient;
  first.doc.transact(() => {
    const root = first.doc.getMap<Y.Map<unknown>>('entities');
    for (let i = 0; i < CLIENTS; i++) {
      const map = new Y.Map<unknown>();
      root.set(`entity-${i}`, map);
      map.set('task/title', `client ${i}`);
      map.set('task/order', 0);
      map.set('task/progress', 0);
    }
  });
  const deadline = performance.now() + 30_000;
  while (clients.some((c) => c.doc.getMap('entities').size < CLIENTS)) {
    if (performance.now() > deadline) throw new Error('the Yjs clients did not all receive the entity maps');
    await sleep(10);
  }
  const maps = clients.map((c, i) => c.doc.getMap<Y.Map<unknown>>('entities').get(`entity-${i}`) as Y.Map<unknown>);
  const stops: Array<() => void> = [];
  return {
    errors: [],
    settle: async () => undefined,
    write: (k, writer, stamp) => {
      const map = maps[writer] as Y.Map<unknown>;
      (clients[writer] as YjsClient).doc.transact(() => {
        map.set('task/order', stamp);
        for (const [attribute, value] of Object.entries(extrasOf(k, CLIENTS))) map.set(attribute, value);
      });
    },
    observe: (seen) => {
      for (const [observer, client] of clients.entries()) {
        const root = client.doc.getMap<Y.Map<unknown>>('entities');
        const handler = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>): void => {
          for (const event of events) {
            if (event.path.length !== 1 || !(event.target instanceof Y.Map) || !event.changes.keys.has('task/order')) continue;
            const writer = Number(String(event.path[0]).slice('entity-'.length));
            const value = event.target.get('task/order');
            if (writer < FULL && writer !== observer && typeof value === 'number') seen(observer, writer, value);
          }
        };
        root.observeDeep(handler);
        stops.push(() => root.unobserveDeep(handler));
      }
    },
    close: async () => {
      for (const stop of stops) stop();
      for (const client of clients) client.destroy();
    },
  };
}

/** Runs the schedule: the fleet's writers there, the full clients' here; then waits for the observers and the server. */
async function drive(full: FullClients, fleet: Fleet, server: ServerChild): Promise<PropagationSample> {
  const schedule: Schedule = { start: Date.now() + 300, rate: RATE, clients: CLIENTS, warmupMs: WARMUP_MS, measureMs: MEASURE_MS };
  const { from, to } = windowOf(schedule);
  const inWindow = (stamp: number): boolean => stamp >= from && stamp < to;
  const stamps: number[][] = Array.from({ length: FULL }, () => []);
  const next: number[][] = Array.from({ length: FULL }, () => new Array<number>(FULL).fill(0));
  const latencies: number[] = [];
  let unseen = 0;
  full.observe((observer, writer, value) => {
    const written = stamps[writer] as number[];
    const cursor = next[observer] as number[];
    const at = epochNow();
    let k = cursor[writer] as number;
    // Every write of this entity up to the value shown is visible now (a later write may hide an earlier one).
    while (k < written.length && (written[k] as number) <= value) {
      const stamp = written[k] as number;
      if (inWindow(stamp)) latencies.push(at - stamp);
      k++;
      unseen--;
    }
    cursor[writer] = k;
  });
  await server.traceStart();
  let measured = 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const cpu = { opened: 0, own: process.cpuUsage(), server: 0, fleet: 0 };
  const fleetRan = fleet.run(schedule);
  const ran = await runSchedule(
    schedule,
    (writer) => writer < FULL,
    (k, writer) => {
      const stamp = epochNow();
      if (inWindow(stamp)) measured++;
      (stamps[writer] as number[]).push(stamp);
      unseen += FULL - 1;
      full.write(k, writer, stamp);
    },
    () => {
      cpu.opened = performance.now();
      cpu.own = process.cpuUsage();
      cpu.server = cpuMs(server.pid);
      cpu.fleet = cpuMs(fleet.pid);
      loop.enable();
    },
  );
  const window = performance.now() - cpu.opened;
  const own = process.cpuUsage(cpu.own);
  const serverCpu = cpuMs(server.pid) - cpu.server;
  const fleetCpu = cpuMs(fleet.pid) - cpu.fleet;
  loop.disable();
  const fleetResult = await fleetRan;
  const deadline = performance.now() + DRAIN_MS;
  while (unseen > 0) {
    if (performance.now() > deadline) throw new Error(`observers still miss ${unseen} writes ${DRAIN_MS} ms after the schedule ended`);
    await sleep(5);
  }
  const traces = await server.traceStop();
  verify(full.errors.length === 0, `the clients reported no errors (${String(full.errors[0])})`);
  verify(traces.unfinished === 0, `the server sent every traced transaction to every session (${traces.unfinished} left)`);
  const picked = traces.stamps.flatMap((stamp, i) => (inWindow(stamp) ? [i] : []));
  const writes = measured + fleetResult.measured;
  verify(picked.length === writes, `the server traced every write of the window (${picked.length} of ${writes})`);
  const pick = (values: readonly number[]): number[] => picked.map((i) => values[i] as number);
  return {
    latencies,
    fanOut: pick(traces.fanOutMs),
    readyFanOut: pick(traces.readyFanOutMs),
    writeToServer: picked.map((i) => (traces.doneAt[i] as number) - (traces.stamps[i] as number)),
    writes,
    maxLagMs: Math.max(ran.maxLagMs, fleetResult.maxLagMs),
    loopDelayP99: loop.percentile(99) / 1e6,
    serverCpu: serverCpu / window,
    clientsCpu: ((own.user + own.system) / 1000 + fleetCpu) / window,
    load: loadavg()[0] ?? Number.NaN,
    connections: traces.connections,
  };
}

function trial(kind: PeerKind): AsyncTrial<PropagationSample> {
  return async () => {
    const server = await startServerChild(kind);
    const stack: Array<() => Promise<void>> = [() => server.stop()];
    const unwind = async (): Promise<void> => {
      for (const step of stack.reverse()) await step();
    };
    try {
      const full = kind === 'datsync' ? await datsyncClients(server) : await yjsClients(server);
      stack.push(() => full.close());
      const fleet = await startFleet(kind, server.url, CLIENTS - FULL, FULL);
      stack.push(() => fleet.stop());
      await full.settle();
      await server.gc();
      return async () => {
        try {
          return await drive(full, fleet, server);
        } finally {
          await unwind();
        }
      };
    } catch (error) {
      await unwind();
      throw error;
    }
  };
}

export async function propagationBenchmark(): Promise<BenchResult> {
  // Each run starts its processes fresh and writes for 10 s: no warm-up rounds; quick mode, one run per peer.
  const counts = settings.quick ? { warmup: 0, runs: 1 } : { warmup: 0, runs: 3 };
  const samples = await sideBySideAsync<Subject, PropagationSample>(
    { datsync: trial('datsync'), yjs: trial('yjs') },
    counts,
    async () => undefined,
  );
  for (const s of Object.keys(SUBJECTS) as Subject[])
    for (const sample of samples[s]) verify(sample.connections === CLIENTS, `${s}: ${CLIENTS} clients connected throughout`);
  const all = (s: Subject, pick: (x: PropagationSample) => number[]): number[] => samples[s].flatMap(pick);
  const per = (s: Subject, pick: (x: PropagationSample) => number): number => median(samples[s].map(pick));
  const rows: Row[] = (Object.keys(SUBJECTS) as Subject[]).map((s) => {
    const latency = all(s, (x) => x.latencies);
    const ready = all(s, (x) => x.readyFanOut);
    const queued = all(s, (x) => x.writeToServer);
    return {
      subject: SUBJECTS[s],
      values: {
        p50: percentile(latency, 50),
        p99: percentile(latency, 99),
        ready50: percentile(ready, 50),
        ready99: percentile(ready, 99),
        all99: percentile(
          all(s, (x) => x.fanOut),
          99,
        ),
        queued50: percentile(queued, 50),
        queued99: percentile(queued, 99),
        serverCpu: per(s, (x) => x.serverCpu) * 100,
        clientsCpu: per(s, (x) => x.clientsCpu) * 100,
        lag: Math.max(...samples[s].map((x) => x.maxLagMs)),
        load: per(s, (x) => x.load),
      },
    };
  });
  const ready = all('datsync', (x) => x.readyFanOut);
  const fanOut = all('datsync', (x) => x.fanOut);
  const latency = (s: Subject): number[] => all(s, (x) => x.latencies);
  return {
    id: 'propagation',
    title: '(b) Propagation: 100 clients, 1,000 writes per second',
    description: [
      `${CLIENTS} clients stay connected to one server and together write ${RATE.toLocaleString('en-US')} transactions per second, in turn, on a`,
      'timer schedule (transaction k falls due at k ms; a late tick sends everything due): each sets its own entity\u2019s `task/order`',
      `to the time of the write and 0, 1 or 2 more attributes (1 to 3 datoms). Three processes: the server; ${CLIENTS - FULL} light clients, which`,
      'speak the protocol without a replica (datsync: hello, credit each records batch, push transactions authored with `LocalAuthor`;',
      `Yjs: sync once, then send their own updates and drop what arrives); and the benchmark process with ${FULL} full clients`,
      '(`createClient` with in-memory storage, or a `WebsocketProvider` on a Y.Doc with one pre-created Y.Map per client) that write',
      'their share and watch each other with `subscribePull` or `observeDeep`. One process cannot hold 100 full clients: a full',
      'datsync client spent about 0.1 ms of CPU per transaction it received, so 100 of them receiving 1,000 a second would need about',
      '10 cores. Latency runs from the `transact` call on one full client to the callback on another showing that value (or a later',
      'one). "Server" is, for datsync, from the arrival of the push frame at the server to the last send of a records frame covering',
      'it among the sessions that had window credit when it became durable (a session whose client has not credited its last batches',
      'waits on that client); "all sessions" waits for every session. For y-websocket both are the room\u2019s `receive` of the update,',
      'which applies it and sends it to every member. "Write → server done" runs from the write on any client to that moment (clocks',
      'of different processes: epoch time, good to well under a millisecond): it adds what the write waited in sockets and in the',
      `server\u2019s queue. Each run starts fresh processes, writes ${(WARMUP_MS / 1000).toFixed(0)} s unmeasured, then ${(MEASURE_MS / 1000).toFixed(0)} s measured (writes stamped in`,
      `that window count), and waits until every write is seen. ${counts.runs} runs per peer, interleaved; percentiles over every write of`,
      'every run. CPU is the share of one core over the measured window (clients: both client processes), read from /proc; the schedule',
      'lag is the longest a write went out after it fell due; "load" is the one-minute load average at the end of the run, on a 2-core',
      'machine shared with other work.',
    ].join(' '),
    columns: [
      { key: 'p50', label: 'latency p50', format: 'ms' },
      { key: 'p99', label: 'latency p99', format: 'ms' },
      { key: 'ready50', label: 'server p50', format: 'ms' },
      { key: 'ready99', label: 'server p99', format: 'ms' },
      { key: 'all99', label: 'server, all sessions p99', format: 'ms' },
      { key: 'queued50', label: 'write → server done p50', format: 'ms' },
      { key: 'queued99', label: 'write → server done p99', format: 'ms' },
      { key: 'serverCpu', label: 'server CPU %', format: 'count' },
      { key: 'clientsCpu', label: 'clients CPU %', format: 'count' },
      { key: 'lag', label: 'schedule lag max', format: 'ms' },
      { key: 'load', label: 'load', format: 'count' },
    ],
    rows,
    findings: [
      finding('datsync server apply + fan-out p50', percentile(ready, 50), 'ms', { op: '<', value: 5 }),
      finding('datsync server apply + fan-out p99', percentile(ready, 99), 'ms', { op: '<', value: 50 }),
      finding('datsync server, every session p50', percentile(fanOut, 50), 'ms'),
      finding('datsync server, every session p99', percentile(fanOut, 99), 'ms'),
      finding('datsync propagation latency p50', percentile(latency('datsync'), 50), 'ms'),
      finding('datsync propagation latency p99', percentile(latency('datsync'), 99), 'ms'),
      finding('y-websocket propagation latency p50', percentile(latency('yjs'), 50), 'ms'),
      finding('y-websocket propagation latency p99', percentile(latency('yjs'), 99), 'ms'),
    ],
    raw: Object.fromEntries(
      (Object.keys(SUBJECTS) as Subject[]).flatMap((s) => [
        [`${s}.latency`, all(s, (x) => x.latencies)],
        [`${s}.server`, all(s, (x) => x.readyFanOut)],
        [`${s}.serverAll`, all(s, (x) => x.fanOut)],
        [`${s}.writeToServer`, all(s, (x) => x.writeToServer)],
        [`${s}.loopDelayP99`, samples[s].map((x) => x.loopDelayP99)],
        [`${s}.serverCpu`, samples[s].map((x) => x.serverCpu)],
        [`${s}.load`, samples[s].map((x) => x.load)],
      ]),
    ),
  };
}
