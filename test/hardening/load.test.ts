/**
 * The short load run (the long one is `npm run soak`): a real `datsync serve`
 * process, 500 real clients in a separate process writing and reading for a
 * few seconds; then every client holds exactly the state of the server's
 * SQLite log, and every write a client saw acknowledged is in that file.
 */
import { describe, expect, it } from 'vitest';
import { runLoad, summarize } from '../../bench/load/run.js';

describe('load against a real server process', () => {
  it('500 clients write and read for a few seconds; all converge on the log, nothing acknowledged is lost', async () => {
    const report = await runLoad({ clients: 500, seconds: 3, writers: 25, ratePerWriter: 0.4 });
    console.log(summarize(report));
    expect(report.problems).toEqual([]);
    expect(report.generator.acknowledged).toBeGreaterThan(0);
    expect(report.generator.latencyMs.count).toBeGreaterThan(0);
    expect(Object.values(report.generator.fingerprints)).toEqual([500]);
  }, 300_000);
});
