/**
 * The storage benchmark page: the IndexedDB subjects of `idb.ts` in real
 * Chromium. Node drives it through `window.bench` (see `chromium.ts`): it
 * prepares the inputs once, then asks for one run at a time, in the order
 * its rounds rotate; each run sets up, collects garbage, and times itself.
 *
 * @module
 */
import type { AsyncTrial, Sample } from '../harness.js';
import type { IdbInputs } from './idb.js';
import { bulkTrials, cleanIdb, coldTrials, liveTrials, prepareIdb } from './idb.js';

let inputs: IdbInputs | undefined;
let trials: Record<string, Record<string, AsyncTrial>> = {};

const api = {
  async prepare(): Promise<void> {
    inputs = await prepareIdb();
    trials = { bulk: bulkTrials(inputs), cold: coldTrials(inputs), live: liveTrials(inputs) };
  },
  async run(group: string, subject: string): Promise<Sample> {
    const trial = trials[group]?.[subject];
    if (trial === undefined) throw new Error(`no subject ${group}/${subject} (call prepare first)`);
    const run = await trial();
    (globalThis as { gc?: () => void }).gc?.();
    return run();
  },
  async clean(): Promise<void> {
    if (inputs !== undefined) await cleanIdb(inputs);
  },
  userAgent(): string {
    return navigator.userAgent;
  },
};

(globalThis as unknown as { bench: typeof api }).bench = api;
document.title = 'ready';
