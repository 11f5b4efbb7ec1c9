/**
 * A small seeded random source for the task samplers.
 *
 * The samplers take a plain `() => number` instead of a fast-check generator so that the CLI can
 * draw a reproducible instance from a seed alone (`looped sample --seed 7`), without a property
 * run around it. mulberry32 is enough for that: 32 bits of state, full period 2^32, and it is
 * trivially reimplemented anywhere a user wants to replay a sample.
 */

/** Uniform in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32 (Tommy Ettinger's public-domain generator). The seed is taken modulo 2^32, so
 * every integer seed is valid and two seeds that agree modulo 2^32 give the same stream.
 */
export function mulberry32(seed: number): Rng {
  if (!Number.isInteger(seed)) {
    throw new Error(`mulberry32: seed must be an integer, got ${seed}`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer uniform in 0..bound-1 (bound ≥ 1), drawn from `rng`. */
export function randomInt(rng: Rng, bound: number): number {
  if (!Number.isInteger(bound) || bound < 1) {
    throw new Error(`randomInt: bound must be an integer ≥ 1, got ${bound}`);
  }
  // Clamp guards against a user-supplied rng that returns exactly 1.
  return Math.min(bound - 1, Math.floor(rng() * bound));
}
