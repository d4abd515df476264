/**
 * The load-generating process: many real clients (`createClient`, memory
 * storage, the `ws` WebSocket) against one server, writing and reading for a
 * bounded time, then waiting until every one of them is in sync.
 *
 *   node --import tsx bench/load/generator.ts '<GeneratorConfig as JSON>'
 *
 * Prints `progress {…}` lines while it runs and one `result {…}` line at the
 * end; the transaction ids its clients saw acknowledged go to `ackFile`.
 * Latency is measured inside this one process (writer's `transact` to a
 * reader's `position` event), so both ends read the same clock.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { TxId } from '../../crdt/index.js';
import { DatsyncError, transactionId } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/sync.js';
import type { CommitBatch } from '../../storage/contract.js';
import { MemoryStorage } from '../../storage/memory.js';
import { percentile, stateFingerprint } from './check.js';
import { loadSchema } from './server-process.js';

export interface GeneratorConfig {
  readonly url: string;
  readonly clients: number;
  /** How long the clients write, in seconds. */
  readonly seconds: number;
  /** How many of the clients write (the rest only read). */
  readonly writers: number;
  /** Transactions per second each writer aims at. */
  readonly ratePerWriter: number;
  /** Shared entities every write also updates (last-writer-wins contention). */
  readonly boards: number;
  /** Random client disconnects per second (each reconnects 0–300 ms later). */
  readonly disconnectsPerSecond: number;
  /** Failure guard: how long every client may take to be in sync once writing stops. */
  readonly settleSeconds: number;
  readonly ackFile: string;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface GeneratorResult {
  readonly clients: number;
  readonly written: number;
  readonly acknowledged: number;
  readonly writeSeconds: number;
  readonly rejections: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly latencyMs: LatencySummary;
  /** Client state fingerprints (hash → how many clients hold it). */
  readonly fingerprints: Record<string, number>;
  readonly pendingAfter: number;
  readonly connectMs: number;
  readonly settleMs: number;
  /** This process's own event-loop delay p99 (ms): high means the generator, not the server, was the limit. */
  readonly generatorLoopP99Ms: number;
  /** This process's CPU use while the clients wrote (100 = one core busy). */
  readonly generatorCpuPercent: number;
  readonly disconnects: number;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Memory storage that notes, as the client stores them, its acknowledged writes and others' send times. */
class RecordingStorage extends MemoryStorage {
  self = '';
  readonly acked: TxId[] = [];
  readonly arrived: number[] = [];

  override async commit(batch: CommitBatch): Promise<void> {
    await super.commit(batch);
    for (const record of batch.log ?? []) {
      if (record.tx.replica === this.self) {
        this.acked.push(transactionId(record.tx));
        continue;
      }
      for (const op of record.tx.ops) if (op.attribute === 'load/sentAt' && typeof op.value === 'number') this.arrived.push(op.value);
    }
  }
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

function codeOf(error: unknown): string {
  return error instanceof DatsyncError ? error.code : error instanceof Error ? error.message.slice(0, 80) : String(error);
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

export async function generate(config: GeneratorConfig, progress: (line: object) => void): Promise<GeneratorResult> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const latencies: number[] = [];
  const rejections: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const storages: RecordingStorage[] = [];
  const clients: Client[] = [];
  const connectOptions = { url: config.url, WebSocket: WebSocket as SocketFactory, initialBackoffMs: 100, maxBackoffMs: 1000 };
  const started = now();
  for (let i = 0; i < config.clients; i++) {
    const storage = new RecordingStorage();
    const client = (await createClient({
      schema: loadSchema(),
      storage,
      url: config.url,
      WebSocket: WebSocket as SocketFactory,
      reconnect: { initialMs: 100, maxMs: 1000 },
    })) as Client;
    storage.self = client.replicaId;
    client.on('position', () => {
      const at = now();
      for (const sentAt of storage.arrived) latencies.push(at - sentAt);
      storage.arrived.length = 0;
    });
    client.on('rejected', (event) => count(rejections, event.error.code));
    client.on('error', (error) => count(errors, codeOf(error)));
    storages.push(storage);
    clients.push(client);
  }
  const first = clients[0];
  if (first === undefined) throw new Error('at least one client');
  await deadline(Promise.all(clients.map((client) => client.whenSynced())), 60_000 + config.clients * 100, 'every client connecting');
  // Shared entities, created once and seen by all before the load starts (so upserts never race to create them).
  await first.transact(Array.from({ length: config.boards }, (_, b) => ({ 'board/name': `b${b}`, 'board/last': 'none' })));
  await first.whenSynced();
  await deadline(Promise.all(clients.map((client) => client.whenSynced())), 60_000, 'every client seeing the boards');
  const connectMs = now() - started;
  latencies.length = 0;
  // The boards write is checked by convergence; acknowledgements count the load's writes.
  for (const storage of storages) storage.acked.length = 0;
  loop.enable();

  let written = 0;
  let writing = true;
  let disconnects = 0;
  const inFlight = new Set<Promise<unknown>>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const interval = 1000 / config.ratePerWriter;
  const writeFrom = (w: number, seq: number): void => {
    if (!writing) return;
    const client = clients[w] as Client;
    const write = client
      .transact([
        { ':db/id': 'n', 'load/writer': w, 'load/seq': seq, 'load/sentAt': now() },
        { 'board/name': `b${(w + seq) % config.boards}`, 'board/last': `${w}:${seq}` },
      ])
      .then(
        () => {
          written++;
        },
        (error: unknown) => count(errors, `transact: ${codeOf(error)}`),
      );
    inFlight.add(write);
    void write.finally(() => inFlight.delete(write));
    later(interval * (0.5 + Math.random()), () => writeFrom(w, seq + 1));
  };
  for (let w = 0; w < Math.min(config.writers, clients.length); w++) later(Math.random() * interval, () => writeFrom(w, 0));
  // Readers read what they hold, as an app would, once a second each.
  for (const [i, client] of clients.entries()) {
    const read = (): void => {
      if (!writing) return;
      client.pull('["board/last"]', ['board/name', `b${i % config.boards}`]);
      later(1000, read);
    };
    later(Math.random() * 1000, read);
  }
  if (config.disconnectsPerSecond > 0) {
    const cut = (): void => {
      if (!writing) return;
      const client = clients[Math.floor(Math.random() * clients.length)] as Client;
      if (client.status !== 'offline') {
        disconnects++;
        client.disconnect();
        later(Math.random() * 300, () => client.connect(connectOptions));
      }
      later(1000 / config.disconnectsPerSecond, cut);
    };
    later(1000 / config.disconnectsPerSecond, cut);
  }
  const writeStart = now();
  const cpuStart = process.cpuUsage();
  let lastAcked = 0;
  const ticker = setInterval(() => {
    const acked = storages.reduce((n, s) => n + s.acked.length, 0);
    progress({
      t: Math.round((now() - writeStart) / 100) / 10,
      written,
      acked,
      ackedPerSecond: acked - lastAcked,
      live: clients.filter((c) => c.status === 'live').length,
    });
    lastAcked = acked;
  }, 1000);
  await new Promise<void>((resolve) => setTimeout(resolve, config.seconds * 1000));
  writing = false;
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  await Promise.all(inFlight);
  const writeSeconds = (now() - writeStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  // Clients cut at the very end reconnect now.
  for (const client of clients) if (client.status === 'offline') client.connect(connectOptions);
  const settleStart = now();
  // Twice: the first round decides every write; only then is the head every client must reach final.
  const synced = async (): Promise<void> => {
    await Promise.all(clients.map((client) => client.whenSynced()));
    await Promise.all(clients.map((client) => client.whenSynced()));
  };
  await deadline(synced(), config.settleSeconds * 1000, 'every client in sync');
  const settleMs = now() - settleStart;
  clearInterval(ticker);
  loop.disable();
  const fingerprints: Record<string, number> = {};
  for (const client of clients) count(fingerprints, stateFingerprint(client.replica.state.confirmed).hash);
  const acked = storages.flatMap((s) => s.acked);
  writeFileSync(config.ackFile, JSON.stringify(acked));
  const pendingAfter = clients.reduce((n, c) => n + c.pendingCount, 0);
  await Promise.all(clients.map((client) => client.close()));
  latencies.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    clients: config.clients,
    written,
    acknowledged: acked.length,
    writeSeconds: round(writeSeconds),
    rejections,
    errors,
    latencyMs: {
      count: latencies.length,
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? Number.NaN),
    },
    fingerprints,
    pendingAfter,
    connectMs: Math.round(connectMs),
    settleMs: Math.round(settleMs),
    generatorLoopP99Ms: round(loop.percentile(99) / 1e6),
    generatorCpuPercent: Math.round((cpu.user + cpu.system) / (writeSeconds * 10_000)),
    disconnects,
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const config = JSON.parse(process.argv[2] ?? '{}') as GeneratorConfig;
  generate(config, (line) => process.stdout.write(`progress ${JSON.stringify(line)}\n`)).then(
    (result) => {
      process.stdout.write(`result ${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`generator failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
