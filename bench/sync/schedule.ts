/**
 * The write schedule of the propagation benchmark, shared by the benchmark
 * process and the fleet child: transaction k is due at `start + k / rate`
 * seconds (epoch milliseconds, so both processes agree), written by client
 * `k % clients`, and sets `task/order` plus, in turn, 0, 1 or 2 more
 * attributes. Each process issues the transactions of its own clients; a
 * late tick issues everything that fell due since the last one (open loop:
 * a slow client process does not slow the schedule down).
 *
 * @module
 */
import type { Value } from '../../crdt/index.js';

export interface Schedule {
  /** Epoch ms of transaction 0. */
  readonly start: number;
  /** Transactions per second, all clients together. */
  readonly rate: number;
  readonly clients: number;
  /** Transactions due before `start + warmupMs` are not measured. */
  readonly warmupMs: number;
  readonly measureMs: number;
}

const STATUSES = ['todo', 'doing', 'review', 'done', 'blocked'];

/** The values transaction `k` writes, `task/order` aside. */
export function extrasOf(k: number, clients: number): Record<string, Value> {
  const step = Math.floor(k / clients);
  const extras = k % 3;
  const out: Record<string, Value> = {};
  if (extras >= 1) out['task/progress'] = step % 101;
  if (extras >= 2) out['task/status'] = STATUSES[step % STATUSES.length] as string;
  return out;
}

/** The measured window, epoch ms: writes stamped in it count (whenever they fell due). */
export function windowOf(schedule: Schedule): { readonly from: number; readonly to: number } {
  const from = schedule.start + schedule.warmupMs;
  return { from, to: from + schedule.measureMs };
}

export interface Issued {
  /** The latest a transaction was issued after it fell due, ms. */
  readonly maxLagMs: number;
}

/**
 * Runs the schedule, calling `write(k, writer)` for every transaction due
 * whose writer `mine` accepts, and `onMeasure` once as the first transaction
 * due in the measured window is issued.
 */
export async function runSchedule(
  schedule: Schedule,
  mine: (writer: number) => boolean,
  write: (k: number, writer: number) => void,
  onMeasure: () => void = () => undefined,
): Promise<Issued> {
  const total = Math.floor(((schedule.warmupMs + schedule.measureMs) * schedule.rate) / 1000);
  const firstMeasured = Math.ceil((schedule.warmupMs * schedule.rate) / 1000);
  const dueAt = (k: number): number => schedule.start + (k * 1000) / schedule.rate;
  let k = 0;
  let maxLag = 0;
  let opened = false;
  while (k < total) {
    const now = Date.now();
    while (k < total && dueAt(k) <= now) {
      if (k >= firstMeasured && !opened) {
        opened = true;
        onMeasure();
      }
      const writer = k % schedule.clients;
      if (mine(writer)) {
        maxLag = Math.max(maxLag, now - dueAt(k));
        write(k, writer);
      }
      k++;
    }
    const wait = k < total ? Math.max(0, Math.min(5, dueAt(k) - Date.now())) : 0;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return { maxLagMs: maxLag };
}
