/**
 * The PostgreSQL benchmark's workloads, run against server nodes in
 * processes of their own: how fast the log takes writes, and how long a
 * write takes to reach clients on every node at a steady rate.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Transaction, TxId } from '../../crdt/index.js';
import { transactionId } from '../../crdt/index.js';
import type { Cluster } from './cluster.js';
import type { NodeMessage } from './node.js';
import { mint, Wire } from './wire.js';

export interface Subject {
  readonly name: string;
  readonly kind: 'sqlite' | 'postgres';
  readonly nodes: number;
}

export interface Nodes {
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

const nodePath = fileURLToPath(new URL('./node.ts', import.meta.url));

function startNode(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  // This process's flags: tsx's loader.
  const child = fork(nodePath, args, { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`a bench node exited with ${code}`)));
    child.on('message', (message: NodeMessage) => {
      if (message.kind === 'ready') resolve({ child, url: `ws://127.0.0.1:${message.port}/sync` });
    });
  });
}

/** Starts the subject's nodes on a fresh log. */
export async function startNodes(subject: Subject, cluster: Cluster | undefined, dir: string, run: number): Promise<Nodes> {
  let args: string[];
  if (subject.kind === 'sqlite') args = ['sqlite', join(dir, `log-${run}.sqlite`)];
  else if (cluster === undefined) throw new Error('no PostgreSQL server');
  else args = ['postgres', await cluster.database(), 'datsync'];
  const started = await Promise.all(Array.from({ length: subject.nodes }, () => startNode(args)));
  return {
    urls: started.map((node) => node.url),
    stop: async () => {
      await Promise.all(
        started.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              child.removeAllListeners('exit');
              child.once('exit', () => resolve());
              child.send({ kind: 'stop' });
            }),
        ),
      );
    },
  };
}

/** Unacknowledged transactions a writer keeps in flight, and how many go in one push. */
const WINDOW = 400;
const CHUNK = 100;

/**
 * `writers` clients, spread over the nodes, each pushing `perWriter`
 * transactions as fast as they are acknowledged (with a window); the time
 * from the first push to the last acknowledgement.
 */
export async function appendThroughput(
  nodes: Nodes,
  writers: number,
  perWriter: number,
  random: () => number,
): Promise<{ txPerSecond: number; ms: number }> {
  const minted = Array.from({ length: writers }, () => mint(perWriter, random));
  const done: Array<Promise<void>> = [];
  const starts: Array<() => void> = [];
  const wires = await Promise.all(
    minted.map(({ replica, txs }, i) => {
      let sent = 0;
      let acked = 0;
      let wire: Wire | undefined;
      let finish: () => void = () => undefined;
      done.push(
        new Promise((resolve) => {
          finish = resolve;
        }),
      );
      const pump = (): void => {
        while (wire !== undefined && sent < txs.length && sent - acked < WINDOW) {
          const chunk = txs.slice(sent, sent + CHUNK);
          wire.push(chunk);
          sent += chunk.length;
        }
        if (acked >= txs.length) finish();
      };
      starts.push(pump);
      return Wire.open(nodes.urls[i % nodes.urls.length] as string, replica, {
        acked: (ids) => {
          acked += ids.length;
          pump();
        },
      }).then((opened) => {
        wire = opened;
        return opened;
      });
    }),
  );
  const start = performance.now();
  for (const pump of starts) pump();
  await Promise.all(done);
  const ms = performance.now() - start;
  if (wires.some((wire) => wire.rejected > 0)) throw new Error('the server refused transactions');
  for (const wire of wires) wire.close();
  return { txPerSecond: (writers * perWriter) / (ms / 1000), ms };
}

/**
 * Writers spread over the nodes send `rate` transactions a second in all,
 * for `seconds`; one observer per node (three on a single node) times each
 * transaction from its push to its arrival. Latencies in ms, one per
 * (transaction, observer), and the rate actually sent.
 */
export async function fanOutLatency(
  nodes: Nodes,
  rate: number,
  seconds: number,
  random: () => number,
): Promise<{ latencies: number[]; sentPerSecond: number }> {
  const writers = 12;
  const total = Math.round(rate * seconds);
  const minted = Array.from({ length: writers }, () => mint(Math.ceil(total / writers), random));
  const sentAt = new Map<TxId, number>();
  const latencies: number[] = [];
  const observers = Math.max(3, nodes.urls.length);
  let received = 0;
  let allReceived: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  const watchers = await Promise.all(
    Array.from({ length: observers }, (_, i) =>
      Wire.open(nodes.urls[i % nodes.urls.length] as string, mint(0, random).replica, {
        received: (ids, at) => {
          for (const id of ids) {
            const sent = sentAt.get(id);
            if (sent !== undefined) latencies.push(at - sent);
          }
          received += ids.length;
          if (received >= total * observers) allReceived();
        },
      }),
    ),
  );
  const wires = await Promise.all(minted.map(({ replica }, i) => Wire.open(nodes.urls[i % nodes.urls.length] as string, replica, {})));
  const queues: Transaction[][] = minted.map(({ txs }) => [...txs]);
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    // Every 10 ms, what is due by now, round-robin over the writers.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      for (; sent < due; sent++) {
        const w = sent % writers;
        const tx = queues[w]?.shift();
        if (tx === undefined) continue;
        sentAt.set(transactionId(tx), performance.now());
        wires[w]?.push([tx]);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const sentMs = performance.now() - start;
  await arrived;
  for (const wire of [...wires, ...watchers]) wire.close();
  return { latencies, sentPerSecond: total / (sentMs / 1000) };
}
