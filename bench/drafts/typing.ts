/**
 * One run of typing: every editor types one character at a time, at a
 * random place in the shared text, `RATE` times a second, the editors
 * evenly staggered. A keystroke's latency to a co-editor is from just before
 * the writer's `insert` to the co-editor's Y.Text observer seeing it (its
 * screen model changed), both read from this process's clock; a keystroke
 * is identified in the observer by the Yjs item id (client, clock) it
 * created, one character being one clock. Every keystroke is counted once per co-editor, those of the
 * warm-up excluded. The run ends once every editor holds every keystroke,
 * and fails unless all their texts are equal.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import type { Random } from '../random.js';
import type { Editor } from './editors.js';
import { RATE } from './workload.js';

export interface TypingSample {
  /** Keystroke to a co-editor's screen model, ms, one per keystroke and co-editor. */
  readonly latencies: number[];
  /** Keystrokes typed in the measured window. */
  readonly keystrokes: number;
  /** How late the typing timer fired, at worst, ms (a loaded process types late). */
  readonly maxTimerLagMs: number;
  /** CPU this process (the editors) used over the run, ms. */
  readonly editorsCpuMs: number;
}

/** A Yjs item id as one number: client ids are 32-bit, clocks here stay far below 2^21. */
function itemKey(client: number, clock: number): number {
  return client * 2 ** 21 + clock;
}

export interface TypingTimes {
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Once typing stops, how long the editors may take to hold every keystroke before the run fails. */
  readonly deadlineMs: number;
}

export async function typing(editors: readonly Editor[], times: TypingTimes, random: Random): Promise<TypingSample> {
  const { warmupMs, measureMs, deadlineMs } = times;
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const unobserve: Array<() => void> = [];
  for (const editor of editors) {
    const self = editor.doc.clientID;
    const seen = (event: Y.YTextEvent): void => {
      const now = performance.now();
      // The items the update brought are the clocks it advanced (Y.Text events do not list them).
      const { beforeState, afterState } = event.transaction;
      for (const [client, after] of afterState) {
        if (client === self) continue;
        for (let clock = beforeState.get(client) ?? 0; clock < after; clock++) {
          const at = sentAt.get(itemKey(client, clock));
          if (at !== undefined) latencies.push(now - at);
        }
      }
    };
    editor.text.observe(seen);
    unobserve.push(() => editor.text.unobserve(seen));
  }
  const initial = (editors[0] as Editor).text.length;
  const interval = 1000 / (RATE * editors.length);
  const total = Math.floor(((warmupMs + measureMs) / 1000) * RATE * editors.length);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let typed = 0;
  let measured = 0;
  let maxTimerLagMs = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now() - start;
      maxTimerLagMs = Math.max(maxTimerLagMs, now - typed * interval);
      while (typed < total && typed * interval <= performance.now() - start) {
        const editor = editors[typed % editors.length] as Editor;
        const clock = Y.getState(editor.doc.store, editor.doc.clientID);
        const at = performance.now();
        if (at - start >= warmupMs) {
          sentAt.set(itemKey(editor.doc.clientID, clock), at);
          measured++;
        }
        editor.text.insert(random.below(editor.text.length + 1), String.fromCharCode(97 + (typed % 26)));
        typed++;
      }
      if (typed < total) setTimeout(tick, Math.max(0, typed * interval - (performance.now() - start)));
      else resolve();
    };
    tick();
  });
  await converged(editors, initial + total, deadlineMs);
  const cpu = process.cpuUsage(cpuBefore);
  for (const stop of unobserve) stop();
  const texts = new Set(editors.map((e) => e.text.toString()));
  if (texts.size !== 1) throw new Error('benchmark check failed: the editors ended with different texts');
  if (latencies.length !== measured * (editors.length - 1)) {
    throw new Error(
      `benchmark check failed: ${latencies.length} observations of ${measured} keystrokes by ${editors.length - 1} co-editors`,
    );
  }
  return { latencies, keystrokes: measured, maxTimerLagMs, editorsCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Resolves once every editor's text has `length` characters; fails after `deadlineMs` (a run that hangs measures nothing). */
function converged(editors: readonly Editor[], length: number, deadlineMs: number): Promise<void> {
  const done = (): boolean => editors.every((e) => e.text.length === length);
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      for (const e of editors) e.text.unobserve(check);
    };
    const check = (): void => {
      if (!done()) return;
      stop();
      resolve();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`benchmark check failed: the editors did not converge within ${deadlineMs} ms`));
    }, deadlineMs);
    for (const e of editors) e.text.observe(check);
  });
}
