// One place for how many cases a property runs and with which seed: a fixed seed in CI, and
// FC_RUNS / FC_SEED to run more or other cases (`FC_RUNS=100000 npm test`).
import type { Parameters } from 'fast-check';

export function runsFromEnv(fallback: number): number {
  const v = Number(process.env.FC_RUNS);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

export function seedFromEnv(fallback = 42): number {
  const v = Number(process.env.FC_SEED);
  return Number.isInteger(v) ? v : fallback;
}

/** fast-check parameters: `runs` cases (FC_RUNS overrides), seed FC_SEED (default 42). */
export function fcParams<T>(runs = 200, extra: Parameters<T> = {}): Parameters<T> {
  return { numRuns: runsFromEnv(runs), seed: seedFromEnv(), ...extra };
}
