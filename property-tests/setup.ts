/**
 * Shared fast-check settings. Every property reports its seed and shrunk
 * counterexample on failure (fast-check's default report), and
 * `DATSYNC_PROPERTY_SCALE` multiplies the run counts for soak runs.
 */
import fc from 'fast-check';

const scale = Number(process.env.DATSYNC_PROPERTY_SCALE ?? '1');
const seed = process.env.DATSYNC_PROPERTY_SEED;

fc.configureGlobal({
  ...(seed === undefined ? {} : { seed: Number(seed) }),
  verbose: 0,
  endOnFailure: false,
});

/** The number of runs for a property: at least `base`, times the soak scale. */
export function runs(base: number): number {
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}
