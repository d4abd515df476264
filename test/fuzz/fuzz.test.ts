/**
 * Hostile input against a real server process (test/fuzz/hostile-server.ts):
 * first the committed corpus of inputs that once crashed or hung a server,
 * then at least 10,000 generated frames (100,000 under `npm run soak`) from
 * twelve connections at a time. Every frame gets an answer (an error, a
 * close, or for a push a reject of each transaction), the server stays up
 * with bounded memory, a bystander client is undisturbed, and the SQLite
 * log afterwards holds nothing invalid: every record passes the schema and
 * the write rules, and nothing was written under another's replica id.
 *
 * A frame that goes unanswered, or that kills the server, is written to
 * test/fuzz/corpus/ to be committed with its fix; so is, by hand, any frame
 * that let something invalid into the log (the log check below covers the
 * corpus replay too).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile, readServerLog } from '../../bench/load/check.js';
import type { ServerProcess } from '../../bench/load/server-process.js';
import { repoRoot, startServerProcess } from '../../bench/load/server-process.js';
import type { EntityId, Hlc, ReplicaId, TxId } from '../../crdt/index.js';
import { hlcWallMs, transactionId, validateTransaction } from '../../crdt/index.js';
import type { Client } from '../../src/client/client.js';
import { createClient } from '../../src/client/client.js';
import { compileSchema } from '../../src/schema.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { NodeWebSocket } from '../sync/harness.js';
import type { FuzzCase, SessionFacts } from './frames.js';
import { FrameFactory } from './frames.js';
import { FuzzSocket } from './fuzz-socket.js';
import { fuzzSchema } from './schema.js';

const FRAMES = Number(process.env.DATSYNC_FUZZ_FRAMES ?? (process.env.DATSYNC_SOAK === '1' ? 100_000 : 10_000));
const WORKERS = 12;
const SEED = Number(process.env.DATSYNC_FUZZ_SEED ?? Date.now() % 1_000_000);
/** The fuzz target's heap limit (MiB). */
const HEAP_MIB = 128;
/** Failure guard only: an answer slower than this is a hang. Speed is reported, not asserted. */
const HANG_MS = 5000;
const corpusDir = join(repoRoot, 'test', 'fuzz', 'corpus');

// Memory-backed when the machine has it: the fuzzer measures the server's answers, not the disk's fsync.
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'datsync-fuzz-'));
let server: ServerProcess;
let victim: Client;
let facts: SessionFacts['victim'];
const victimTxs = new Set<TxId>();

beforeAll(async () => {
  // A capped heap: a leak would make the server run out and die, which the run reports.
  server = await startServerProcess({
    data: dir,
    script: join(repoRoot, 'test', 'fuzz', 'hostile-server.ts'),
    env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}` },
  });
  victim = (await createClient({
    schema: fuzzSchema,
    url: server.url,
    token: 'user-victim',
    WebSocket: NodeWebSocket,
    reconnect: { initialMs: 20, maxMs: 200 },
  })) as Client;
  const report = await victim.transact([
    { ':db/id': 't', 'task/title': 'the victim’s task', 'task/author': 'user-victim' },
    { 'user/email': 'victim@example.com' },
  ]);
  await victim.whenSynced();
  if (report.txId !== null) victimTxs.add(report.txId);
  const entity = report.entityIds.t as EntityId;
  facts = { replica: victim.replicaId, entity, counter: 1, author: 'user-victim' };
});

afterAll(async () => {
  await victim?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly ms: number;
  readonly answer: string;
  name?: string;
}

/** A session: hello with a fresh replica id and identity (or the ones given), then the welcome. */
async function openSession(
  worker: number,
  n: number,
  factory: FrameFactory,
  as?: { readonly replica: ReplicaId; readonly token: string },
): Promise<{ socket: FuzzSocket; facts: SessionFacts }> {
  const replica = as?.replica ?? (`fz-w${worker}-${n}-${SEED}` as ReplicaId);
  const token = as?.token ?? `user-fz-${worker}-${n}`;
  const socket = await FuzzSocket.open(server.url, replica);
  const before = socket.counts;
  socket.send(factory.hello(replica, token));
  const answer = await socket.until({ ...before, txIds: [] }, HANG_MS);
  if (answer !== 'welcome') throw new Error(`a valid hello was answered with ${answer}`);
  return { socket, facts: { replica, author: token, counter: 1, victim: facts } };
}

let pingIds = 0;

/** A fresh connection; one refused while the server is up (a full accept backlog) is tried again. */
async function connect(): Promise<FuzzSocket> {
  try {
    return await FuzzSocket.open(server.url, 'fresh-connection' as ReplicaId);
  } catch (error) {
    if (!server.alive) throw error;
    return FuzzSocket.open(server.url, 'fresh-connection' as ReplicaId);
  }
}

/** Sends one case and waits for the server's answer. */
async function runCase(socket: FuzzSocket, fuzzCase: FuzzCase): Promise<Outcome> {
  const before = socket.counts;
  const started = performance.now();
  socket.send(fuzzCase.frame);
  const pingId = ++pingIds;
  // The ping follows the frame on the same connection: its pong shows the frame was taken.
  socket.send(new Uint8Array([4, ...varUint(pingId)]));
  const answer = await socket.until({ ...before, pingId, txIds: fuzzCase.txIds }, HANG_MS);
  return { ms: performance.now() - started, answer };
}

function varUint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function slowest(outcomes: readonly Outcome[]): string {
  const byKind = new Map<string, number[]>();
  for (const o of outcomes) byKind.set(o.name ?? '?', [...(byKind.get(o.name ?? '?') ?? []), o.ms]);
  return [...byKind]
    .map(
      ([name, ms]) =>
        [
          name,
          percentile(
            ms.sort((a, b) => a - b),
            99,
          ),
        ] as const,
    )
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([name, p99]) => `${name} ${p99.toFixed(0)}`)
    .join('; ');
}

/** A corpus entry: the frame, and for a session the replica id and token it was sent under. */
interface CorpusEntry {
  readonly name: string;
  readonly phase: 'fresh' | 'session';
  readonly session?: { readonly replica: ReplicaId; readonly token: string };
  readonly found: string;
  readonly frame: { readonly text: string } | { readonly base64: string };
}

function keep(fuzzCase: FuzzCase, found: string, session?: SessionFacts): string {
  const frame = typeof fuzzCase.frame === 'string' ? { text: fuzzCase.frame } : { base64: Buffer.from(fuzzCase.frame).toString('base64') };
  const file = join(corpusDir, `${fuzzCase.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${SEED}-${Date.now() % 100000}.json`);
  const entry: CorpusEntry = {
    name: fuzzCase.name,
    phase: fuzzCase.phase,
    ...(session === undefined ? {} : { session: { replica: session.replica, token: session.author } }),
    found,
    frame,
  };
  writeFileSync(file, `${JSON.stringify(entry, null, 2)}\n`);
  return file;
}

function fromCorpus(file: string): { fuzzCase: FuzzCase; entry: CorpusEntry } {
  const entry = JSON.parse(readFileSync(file, 'utf8')) as CorpusEntry;
  const frame = 'text' in entry.frame ? entry.frame.text : new Uint8Array(Buffer.from(entry.frame.base64, 'base64'));
  return { fuzzCase: { name: entry.name, phase: entry.phase, frame, txIds: [] }, entry };
}

/** Runs one case on a connection of its own; also returns what of the server's answer did not decode. */
async function answerOf(
  fuzzCase: FuzzCase,
  worker: number,
  n: number,
  factory: FrameFactory,
  as?: CorpusEntry['session'],
): Promise<Outcome & { garbage: readonly string[] }> {
  const socket = fuzzCase.phase === 'fresh' ? await connect() : (await openSession(worker, n, factory, as)).socket;
  try {
    return { ...(await runCase(socket, fuzzCase)), garbage: socket.garbage };
  } finally {
    socket.close();
  }
}

describe('hostile input against a real server process', () => {
  it('replays the corpus of inputs that once crashed or hung a server', async () => {
    const files = readdirSync(corpusDir).filter((file) => file.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    const factory = new FrameFactory(SEED);
    for (const [i, file] of files.entries()) {
      const { fuzzCase, entry } = fromCorpus(join(corpusDir, file));
      const outcome = await answerOf(fuzzCase, 99, i, factory, entry.session);
      expect(['error', 'close', 'pong', 'welcome']).toContain(outcome.answer);
      expect(outcome.garbage, `${file}: the server answered with frames that do not decode`).toEqual([]);
      expect(server.alive).toBe(true);
    }
  });

  it(
    `answers ${FRAMES} generated frames, stays up with bounded memory, and keeps every other client's data and the log valid`,
    async () => {
      console.log(`fuzz seed ${SEED} (DATSYNC_FUZZ_SEED=${SEED} repeats this run)`);
      const rssStart = server.rss();
      const cpuStart = server.cpuMs();
      const wallStart = performance.now();
      let rssPeak = rssStart;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, server.rss());
      }, 100);
      const outcomes: Outcome[] = [];
      const byName = new Map<string, number>();
      const kept: string[] = [];
      const garbage: string[] = [];
      let sent = 0;
      const worker = async (w: number): Promise<void> => {
        const factory = new FrameFactory(SEED * 31 + w);
        let session: { socket: FuzzSocket; facts: SessionFacts } | undefined;
        let sessions = 0;
        while (sent < FRAMES && kept.length === 0) {
          sent++;
          const fresh = factory.int(2) === 0;
          if (!fresh && (session === undefined || session.socket.closed)) {
            if (session !== undefined) garbage.push(...session.socket.garbage);
            session = await openSession(w, ++sessions, factory);
          }
          const fuzzCase = fresh ? factory.fresh(`user-fresh-${w}`) : factory.session((session as { facts: SessionFacts }).facts);
          byName.set(fuzzCase.name, (byName.get(fuzzCase.name) ?? 0) + 1);
          try {
            if (fresh) {
              const socket = await connect();
              outcomes.push({ ...(await runCase(socket, fuzzCase)), name: fuzzCase.name });
              garbage.push(...socket.garbage);
              socket.close();
            } else outcomes.push({ ...(await runCase((session as { socket: FuzzSocket }).socket, fuzzCase)), name: fuzzCase.name });
          } catch (error) {
            kept.push(
              keep(fuzzCase, `${error instanceof Error ? error.message : String(error)}; server alive: ${server.alive}`, session?.facts),
            );
          }
          if (!server.alive) kept.push(keep(fuzzCase, `the server died: ${server.stderr().slice(-500)}`, session?.facts));
        }
        session?.socket.close();
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      clearInterval(sampler);

      const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
      const answers = new Map<string, number>();
      for (const o of outcomes) answers.set(o.answer, (answers.get(o.answer) ?? 0) + 1);
      const growthMiB = (rssPeak - rssStart) / 1024 / 1024;
      console.log(
        [
          `${outcomes.length} frames answered (${[...answers].map(([a, n]) => `${a} ${n}`).join(', ')})`,
          `answer time p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${(times[times.length - 1] ?? 0).toFixed(1)} ms, over 100 ms: ${times.filter((t) => t > 100).length}`,
          `server CPU ${((server.cpuMs() - cpuStart) / 1000).toFixed(1)} s in ${((performance.now() - wallStart) / 1000).toFixed(1)} s`,
          `server RSS ${(rssStart / 1048576).toFixed(1)} MiB at start, peak ${(rssPeak / 1048576).toFixed(1)} MiB (+${growthMiB.toFixed(1)})`,
          `slowest kinds (p99 ms): ${slowest(outcomes)}`,
          `cases: ${[...byName].map(([name, n]) => `${name} ${n}`).join('; ')}`,
        ].join('\n'),
      );
      expect(kept, `kept in the corpus: ${kept.join(', ')}`).toEqual([]);
      expect(garbage, `server frames the fuzzer could not decode: ${garbage.join(' | ')}`).toEqual([]);
      expect(outcomes.length).toBeGreaterThanOrEqual(FRAMES);
      expect(server.alive).toBe(true);
      expect(growthMiB).toBeLessThan(256);

      // The bystander noticed nothing: its task is as it wrote it, and it still syncs.
      expect(victim.pull('["task/title" "task/author"]', facts.entity)).toEqual({
        'task/title': 'the victim’s task',
        'task/author': 'user-victim',
      });
      const after = await victim.transact([{ ':db/id': facts.entity, 'task/title': 'still mine' }]);
      await victim.whenSynced();
      if (after.txId !== null) victimTxs.add(after.txId);
      expect(victim.status).toBe('live');

      // Nothing invalid entered the log.
      const endTime = Date.now();
      await victim.close();
      await server.stop();
      const specs = compileSchema(fuzzSchema).specs;
      const log = await readServerLog(join(dir, 'datsync.db'), fuzzSchema);
      expect(log.contiguous).toBe(true);
      const owners = new SqliteStorage(join(dir, 'datsync.db'));
      try {
        for (const tx of log.transactions) {
          expect(() => validateTransaction(tx, specs)).not.toThrow();
          expect(hlcWallMs(tx.hlc as Hlc)).toBeLessThanOrEqual(endTime + 5 * 60 * 1000);
          if (tx.replica === facts.replica) expect(victimTxs.has(transactionId(tx))).toBe(true);
          const owner = await owners.replicaOwner(tx.replica);
          for (const op of tx.ops) {
            expect(op.attribute.startsWith('secret/')).toBe(false);
            if (op.entity === facts.entity) expect(tx.replica).toBe(facts.replica);
            if (op.attribute === 'task/author') expect(op.value).toBe(owner);
            if (op.attribute === 'user/email' && op.value === 'victim@example.com') expect(tx.replica).toBe(facts.replica);
          }
        }
      } finally {
        await owners.close();
      }
    },
    300_000 * Math.ceil(FRAMES / 10_000),
  );
});
