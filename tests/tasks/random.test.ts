import { describe, expect, it } from 'vitest';
import { mulberry32, randomInt } from '../../tasks/random.ts';

describe('mulberry32', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const draw = (seed: number): number[] => {
      const rng = mulberry32(seed);
      return Array.from({ length: 8 }, () => rng());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    // Seeds are taken modulo 2^32.
    expect(draw(2 ** 32 + 5)).toEqual(draw(5));
  });

  it('draws in [0, 1) with mean and spread of a uniform variable', () => {
    const rng = mulberry32(7);
    const samples = Array.from({ length: 20000 }, () => rng());
    expect(samples.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.005);
  });

  it('refuses a non-integer seed', () => {
    expect(() => mulberry32(1.5)).toThrow(/seed must be an integer/);
  });
});

describe('randomInt', () => {
  it('stays in 0..bound−1, even for an rng that returns 1', () => {
    const rng = mulberry32(1);
    for (let k = 0; k < 1000; k++) {
      const x = randomInt(rng, 6);
      expect(Number.isInteger(x) && x >= 0 && x < 6).toBe(true);
    }
    expect(randomInt(() => 1, 6)).toBe(5);
    expect(() => randomInt(rng, 0)).toThrow(/bound must be an integer ≥ 1/);
  });
});
