/**
 * (a) Catch-up: a fresh client that lacks 100,000 datoms connects and syncs
 * until its database answers a query; beside a fresh y-websocket client
 * syncing the same data from a y-websocket room.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/sync.js';
import { datoms } from '../../src/datascript/index.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { Write } from '../crdt/workload.js';
import { applyWorkload } from '../crdt/workload.js';
import type { BenchResult, Row } from '../harness.js';
import { finding, keepResident, median, percentile, ratioFinding, releaseResidents, runCounts, verify } from '../harness.js';
import type { AsyncTrial } from './rounds.js';
import { sideBySideAsync } from './rounds.js';
import type { Received, ServerChild } from './servers.js';
import { countingWebSocket, cpuMs, newReceived, startServerChild } from './servers.js';
import { within } from './time.js';
import { entityMaps, SCHEMA } from './workload.js';
import { yjsClient } from './yjs-client.js';

const ENTITIES = 10_000;
const ENTITIES_PER_TX = 10;
const DATOMS = ENTITIES * 10;

const SUBJECTS = {
  datsync: 'datsync client: connect, `whenSynced()`, one `q`',
  yjs: 'y-websocket `WebsocketProvider`: connect, synced, one read',
} as const;
type Subject = keyof typeof SUBJECTS;

interface CatchUpSample {
  readonly ms: number;
  /** CPU time of the client's process and of the server's over the run, ms (independent of waiting for a core). */
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
  readonly frames: number;
  readonly tcp: number;
  readonly frameCount: number;
}

const NodeSocket = WebSocket as unknown as SocketFactory;

/** The last write of the workload: what each run's one query reads back. */
interface Probe {
  readonly entity: string;
  readonly title: string;
}

/** A writer client writes the workload through the server, 100 datoms per transaction; returns the entity ids it minted, by workload entity. */
async function writeDatsync(server: ServerChild, batches: readonly (readonly Write[])[]): Promise<Map<string, string>> {
  const writer = await createClient({ schema: SCHEMA, storage: new MemoryStorage(), url: server.url, WebSocket: NodeSocket });
  const minted = new Map<string, string>();
  for (const batch of batches) {
    const { maps, entities } = entityMaps(batch);
    const report = await writer.transact(maps);
    entities.forEach((entity, i) => {
      const id = report.entityIds[`e${i}`];
      if (id === undefined) throw new Error('a written entity has no id');
      minted.set(entity, id);
    });
  }
  await within(60_000, writer.whenSynced(), 'the writer client syncing');
  await writer.close();
  verify((await server.count()) === batches.length, 'the server accepted every transaction');
  return minted;
}

/** A provider writes the same values into one pre-created Y.Map per entity, 100 writes per Yjs transaction. */
async function writeYjs(server: ServerChild, batches: readonly (readonly Write[])[], minted: ReadonlyMap<string, string>): Promise<void> {
  const writer = yjsClient(server.url, WebSocket, 1);
  await within(10_000, writer.connect(), 'the Yjs writer connecting');
  const root = writer.doc.getMap<Y.Map<unknown>>('entities');
  const maps = new Map<string, Y.Map<unknown>>();
  writer.doc.transact(() => {
    for (const id of minted.values()) {
      const map = new Y.Map<unknown>();
      root.set(id, map);
      maps.set(id, map);
    }
  });
  for (const batch of batches) {
    writer.doc.transact(() => {
      for (const write of batch) maps.get(minted.get(write.entity) ?? '')?.set(write.attribute, write.value);
    });
  }
  const deadline = performance.now() + 60_000;
  while ((await server.count()) < DATOMS) {
    if (performance.now() > deadline) throw new Error('the Yjs room did not receive every write');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  writer.destroy();
}

function datsyncTrial(server: ServerChild, probe: Probe): AsyncTrial<CatchUpSample> {
  return async () => {
    const received = newReceived();
    const Socket = countingWebSocket(() => received);
    // Offline at first: the replica and its storage exist before the clock starts.
    const client = (await createClient({ schema: SCHEMA, storage: new MemoryStorage() })) as Client;
    return async () => {
      const cpu = cpuFrom(server);
      const start = performance.now();
      client.connect({ url: server.url, WebSocket: Socket });
      await within(60_000, client.whenSynced(), 'datsync catch-up');
      const title = client.q<string | null>('[:find ?t . :in $ ?id :where [?e "datsync/id" ?id] [?e "task/title" ?t]]', probe.entity);
      const ms = performance.now() - start;
      const used = cpu();
      verify(title === probe.title, 'the caught-up client reads the last write');
      // Each of the 10,000 entities shows its 10 attributes and its stable id.
      verify(datoms(client.db(), ':eavt').length === DATOMS + ENTITIES, 'the caught-up client holds every datom');
      await client.close();
      return { ms, ...used, ...sample(received) };
    };
  };
}

function yjsTrial(server: ServerChild, probe: Probe): AsyncTrial<CatchUpSample> {
  return async () => {
    const received = newReceived();
    const client = yjsClient(
      server.url,
      countingWebSocket(() => received),
    );
    return async () => {
      const cpu = cpuFrom(server);
      const start = performance.now();
      await within(60_000, client.connect(), 'Yjs catch-up');
      const title = client.doc.getMap<Y.Map<unknown>>('entities').get(probe.entity)?.get('task/title');
      const ms = performance.now() - start;
      const used = cpu();
      verify(title === probe.title, 'the synced Yjs client reads the last write');
      let values = 0;
      for (const map of client.doc.getMap<Y.Map<unknown>>('entities').values()) values += map.size;
      verify(values === DATOMS, 'the synced Yjs client holds every value');
      client.destroy();
      return { ms, ...used, ...sample(received) };
    };
  };
}

/** Starts counting CPU time here and in the server's process; the returned function reads both. */
function cpuFrom(server: ServerChild): () => { clientCpuMs: number; serverCpuMs: number } {
  const client = process.cpuUsage();
  const serverFrom = cpuMs(server.pid);
  return () => {
    const used = process.cpuUsage(client);
    return { clientCpuMs: (used.user + used.system) / 1000, serverCpuMs: cpuMs(server.pid) - serverFrom };
  };
}

function sample(received: Received): Omit<CatchUpSample, 'ms' | 'clientCpuMs' | 'serverCpuMs'> {
  return { frames: received.frames, tcp: received.tcp, frameCount: received.frameCount };
}

/** Writes the workload to both servers; keeps nothing of it but the probe, so the runs carry no setup garbage. */
async function populate(datsync: ServerChild, yjs: ServerChild): Promise<Probe> {
  const work = applyWorkload(ENTITIES, ENTITIES_PER_TX);
  const minted = await writeDatsync(datsync, work.batches);
  await writeYjs(yjs, work.batches, minted);
  const lastTitle = (work.batches[work.batches.length - 1] ?? []).filter((w) => w.attribute === 'task/title').at(-1);
  if (lastTitle === undefined) throw new Error('the workload writes titles');
  return { entity: minted.get(lastTitle.entity) ?? '', title: lastTitle.value as string };
}

/** A small client and document alive throughout, as an application keeps its data (see `keepResident`). */
async function residents(): Promise<{ close(): Promise<void> }> {
  const work = applyWorkload(20, ENTITIES_PER_TX);
  const client = await createClient({ schema: SCHEMA, storage: new MemoryStorage() });
  for (const batch of work.batches) await client.transact(entityMaps(batch).maps);
  const doc = new Y.Doc();
  const root = doc.getMap<Y.Map<unknown>>('entities');
  for (const batch of work.batches) {
    doc.transact(() => {
      for (const write of batch) {
        let map = root.get(write.entity);
        if (map === undefined) {
          map = new Y.Map<unknown>();
          root.set(write.entity, map);
        }
        map.set(write.attribute, write.value);
      }
    });
  }
  keepResident(client, doc);
  return {
    close: async () => {
      releaseResidents();
      await client.close();
      doc.destroy();
    },
  };
}

export async function catchUpBenchmark(): Promise<BenchResult> {
  const datsync = await startServerChild('datsync');
  const yjs = await startServerChild('yjs');
  try {
    const probe = await populate(datsync, yjs);
    const resident = await residents();
    const counts = runCounts(2, 15);
    const samples = await sideBySideAsync<Subject, CatchUpSample>(
      { datsync: datsyncTrial(datsync, probe), yjs: yjsTrial(yjs, probe) },
      counts,
      async () => {
        await Promise.all([datsync.gc(), yjs.gc()]);
      },
    );
    await resident.close();
    return result(samples, counts);
  } finally {
    await Promise.all([datsync.stop(), yjs.stop()]);
  }
}

function result(samples: Record<Subject, CatchUpSample[]>, counts: { warmup: number; runs: number }): BenchResult {
  const time = (s: Subject): number[] => samples[s].map((x) => x.ms);
  const bytes = (s: Subject): number => median(samples[s].map((x) => x.frames));
  const rows: Row[] = (Object.keys(SUBJECTS) as Subject[]).map((s) => ({
    subject: SUBJECTS[s],
    values: {
      ms: median(time(s)),
      p90: percentile(time(s), 90),
      datomsPerSecond: DATOMS / (median(time(s)) / 1000),
      frames: bytes(s),
      perDatom: bytes(s) / DATOMS,
      clientCpu: median(samples[s].map((x) => x.clientCpuMs)),
      serverCpu: median(samples[s].map((x) => x.serverCpuMs)),
      tcp: median(samples[s].map((x) => x.tcp)),
      frameCount: median(samples[s].map((x) => x.frameCount)),
    },
  }));
  const datsyncRate = DATOMS / (median(time('datsync')) / 1000);
  return {
    id: 'catch-up',
    title: '(a) Catch-up: a fresh client syncs 100,000 datoms',
    description: [
      `A writer client wrote ${ENTITIES.toLocaleString('en-US')} entities x 10 attributes (the task-tracker data of the crdt suite) through the server`,
      `in ${(ENTITIES / ENTITIES_PER_TX).toLocaleString('en-US')} transactions of 100 datoms, all accepted. Timed: a fresh client (empty in-memory storage,`,
      'created before the clock starts) connects, catches up until `whenSynced()` resolves, and answers one query for the last title written.',
      'The Yjs peer holds the same values in one pre-created Y.Map per entity in a y-websocket room (src/server/yjs-room.ts);',
      'a fresh `WebsocketProvider` connects and is timed until it is synced and reads the same title.',
      'Each server runs in a child process of its own (in-memory storage), the clients in the benchmark process, over loopback.',
      '"Wire" is the payload of every WebSocket frame the server sent to the client; "TCP" adds the HTTP upgrade response and frame headers',
      '(no compression on either side). CPU is the time the client\u2019s process and the server\u2019s process ran during the timed',
      'part (from /proc for the server, at 10 ms granularity): unlike the elapsed time, it does not grow while a process waits for a core.',
      `Median of ${counts.runs} interleaved runs after ${counts.warmup} warm-up rounds.`,
    ].join(' '),
    columns: [
      { key: 'ms', label: 'median time', format: 'ms' },
      { key: 'p90', label: 'p90 time', format: 'ms' },
      { key: 'datomsPerSecond', label: 'datoms/s', format: 'opsPerSecond' },
      { key: 'clientCpu', label: 'client CPU', format: 'ms' },
      { key: 'serverCpu', label: 'server CPU', format: 'ms' },
      { key: 'frames', label: 'wire', format: 'bytes' },
      { key: 'perDatom', label: 'wire / datom', format: 'bytesFine' },
      { key: 'tcp', label: 'TCP', format: 'bytes' },
      { key: 'frameCount', label: 'frames', format: 'count' },
    ],
    rows,
    findings: [
      finding('datsync wire bytes per datom', bytes('datsync') / DATOMS, 'bytesFine', { op: '<=', value: 16 }),
      finding('datsync catch-up, datoms/s', datsyncRate, 'opsPerSecond', { op: '>=', value: 300_000 }),
      ratioFinding('y-websocket ÷ datsync (time: datsync speed-up)', time('yjs'), time('datsync'), { op: '>=', value: 2 }),
      finding('y-websocket wire bytes per datom', bytes('yjs') / DATOMS, 'bytesFine'),
      ratioFinding(
        'y-websocket ÷ datsync (client + server CPU time)',
        samples.yjs.map((x) => x.clientCpuMs + x.serverCpuMs),
        samples.datsync.map((x) => x.clientCpuMs + x.serverCpuMs),
      ),
    ],
    raw: Object.fromEntries(
      (Object.keys(SUBJECTS) as Subject[]).flatMap((s) => [
        [`${s}.ms`, time(s)],
        [`${s}.frames`, samples[s].map((x) => x.frames)],
        [`${s}.tcp`, samples[s].map((x) => x.tcp)],
        [`${s}.clientCpuMs`, samples[s].map((x) => x.clientCpuMs)],
        [`${s}.serverCpuMs`, samples[s].map((x) => x.serverCpuMs)],
      ]),
    ),
  };
}
