/**
 * The light clients of the propagation benchmark (bench/sync/light.ts), in
 * a child process of their own, so that what the full clients of the
 * benchmark process do (apply every transaction to DataScript, in
 * synchronous slices of up to tens of milliseconds) does not hold up these
 * clients' credits and writes, and through them the server.
 *
 * `argv`: peer kind, server URL, client count, index of the first client.
 * Messages (IPC): `{ kind: 'run', schedule }` → runs the schedule for its
 * clients and answers `{ kind: 'ran', measured, maxLagMs }` (measured: its
 * writes stamped in the measured window); `{ kind: 'stop' }`
 * → closes every client and exits.
 * It first sends `{ kind: 'ready' }` once every client is connected (and, for
 * Yjs, holds the document's entity maps).
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type * as Y from 'yjs';
import { LightDatsync, LightYjs } from './light.js';
import type { Schedule } from './schedule.js';
import { extrasOf, runSchedule, windowOf } from './schedule.js';

export type FleetRequest = { readonly kind: 'run'; readonly schedule: Schedule } | { readonly kind: 'stop' };

export type FleetReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'ran'; readonly measured: number; readonly maxLagMs: number }
  | { readonly kind: 'stop' };

interface Light {
  write(k: number, writer: number, stamp: number, clients: number): void;
  close(): void;
}

/** Connects `count` clients, ten at a time (a hundred handshakes at once only queue up at the server). */
async function inGroups<T>(count: number, connect: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += 10) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => connect(i + j)))));
  }
  return out;
}

function reply(message: FleetReply): void {
  process.send?.(message);
}

async function datsyncFleet(url: string, count: number, first: number): Promise<Light[]> {
  const clients = await inGroups(count, (i) => LightDatsync.connect(url, 10_000 + first + i));
  // Each creates its entity before the schedule starts.
  for (const [i, client] of clients.entries()) client.write({ 'task/title': `client ${first + i}`, 'task/order': 0, 'task/progress': 0 });
  return clients.map((client) => ({
    write: (k, _writer, stamp, total) => client.write({ 'task/order': stamp, ...extrasOf(k, total) }),
    close: () => client.close(),
  }));
}

async function yjsFleet(url: string, count: number, first: number): Promise<Light[]> {
  const clients = await inGroups(count, (i) => LightYjs.connect(url, first + i + 1));
  const maps: Y.Map<unknown>[] = [];
  for (const [i, client] of clients.entries()) {
    const key = `entity-${first + i}`;
    await client.settle((doc) => doc.getMap('entities').has(key));
    maps.push(client.doc.getMap<Y.Map<unknown>>('entities').get(key) as Y.Map<unknown>);
  }
  return clients.map((client, i) => ({
    write: (k, _writer, stamp, total) => {
      const map = maps[i] as Y.Map<unknown>;
      client.doc.transact(() => {
        map.set('task/order', stamp);
        for (const [attribute, value] of Object.entries(extrasOf(k, total))) map.set(attribute, value);
      });
    },
    close: () => client.close(),
  }));
}

async function main(): Promise<void> {
  const [kind, url, countArg, firstArg] = process.argv.slice(2);
  const count = Number(countArg);
  const first = Number(firstArg);
  if (url === undefined || !(count > 0) || !(first >= 0)) throw new Error('usage: fleet.ts <datsync|yjs> <url> <count> <first>');
  const clients = kind === 'datsync' ? await datsyncFleet(url, count, first) : await yjsFleet(url, count, first);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (request: FleetRequest) => {
    if (request.kind === 'stop') {
      for (const client of clients) client.close();
      reply({ kind: 'stop' });
      setTimeout(() => process.exit(0), 50);
      return;
    }
    const { from, to } = windowOf(request.schedule);
    let measured = 0;
    void runSchedule(
      request.schedule,
      (writer) => writer >= first && writer < first + count,
      (k, writer) => {
        const stamp = performance.timeOrigin + performance.now();
        if (stamp >= from && stamp < to) measured++;
        (clients[writer - first] as Light).write(k, writer, stamp, request.schedule.clients);
      },
    ).then((issued) => reply({ kind: 'ran', measured, ...issued }));
  });
  reply({ kind: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
