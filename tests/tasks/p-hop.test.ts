import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  find1,
  find1All,
  findP,
  findPAll,
  hopAllPositions,
  hopP,
  isFixedPointAtEnd,
  minLengthForHops,
  paperPHopSampler,
  pHopArbitrary,
  plantHopChain,
  pointerDoublingRoundCount,
  pointerDoublingRounds,
  uniformPHop,
} from '../../tasks/p-hop.ts';
import { mulberry32 } from '../../tasks/random.ts';

const SEED = 17;

describe('find_1 on hand-checked cases', () => {
  // v = v_1..v_7 = 0 1 2 0 1 3 0. find_1(v, i) = max j ≤ i with v_{j−1} = v_i (j ≥ 2), else 0:
  //   i=1: v_1=0, no j (v_0 does not exist)                      → 0
  //   i=2: v_2=1, j=2: v_1=0                                      → 0
  //   i=3: v_3=2, j=3: v_2=1, j=2: v_1=0                          → 0
  //   i=4: v_4=0, j=4: v_3=2, j=3: v_2=1, j=2: v_1=0 ✓            → 2
  //   i=5: v_5=1, j=5: v_4=0, j=4: v_3=2, j=3: v_2=1 ✓            → 3
  //   i=6: v_6=3, no earlier 3                                    → 0
  //   i=7: v_7=0, j=7: v_6=3, j=6: v_5=1, j=5: v_4=0 ✓            → 5
  // find_2(v, 7) = find_1(v, 5) = 3, find_3(v, 7) = find_1(v, 3) = 0.
  const v = [0, 1, 2, 0, 1, 3, 0];
  const expectedFind1 = [0, 0, 0, 0, 2, 3, 0, 5];

  it('find1 and find1All match the hand computation', () => {
    expect(expectedFind1.map((_, i) => find1(v, i))).toEqual(expectedFind1);
    expect(find1All(v)).toEqual(expectedFind1);
  });
  it('find_p and hop_p follow the chain 7 → 5 → 3 → 0', () => {
    expect([0, 1, 2, 3, 4].map((p) => findP(v, p, 7))).toEqual([7, 5, 3, 0, 0]);
    expect(hopP(v, 0)).toBe(0); // v_7
    expect(hopP(v, 1)).toBe(1); // v_5
    expect(hopP(v, 2)).toBe(2); // v_3
    expect(hopP(v, 3)).toBeNull();
  });
  it('hopAllPositions gives hop_1 of every prefix (index = prefix length)', () => {
    // hop_1 at i: v_{find_1(v,i)} → i=4: v_2 = 1, i=5: v_3 = 2, i=7: v_5 = 1.
    expect(hopAllPositions(v, 1)).toEqual([null, null, null, null, 1, 2, null, 1]);
    expect(findPAll(v, 2)).toEqual([0, 0, 0, 0, 0, 0, 0, 3]);
  });
  it('a repeated pair makes a fixed point: v = 2 2 1 2', () => {
    // i=2: j=2 has v_1 = 2 = v_2 → 2 (fixed point). i=3: v_3 = 1 never occurs before → 0.
    // i=4: v_4 = 2, j=4: v_3 = 1, j=3: v_2 = 2 ✓ → 3.  So 4 → 3 → 0, while 2 → 2 → 2 …
    const w = [2, 2, 1, 2];
    expect(find1All(w)).toEqual([0, 0, 2, 0, 3]);
    expect(findP(w, 2, 4)).toBe(0);
    expect(findP(w, 10, 2)).toBe(2);
    expect(hopP(w, 1)).toBe(1);
    expect(hopP(w, 2)).toBeNull();
  });
  it('find1(v, 0) = 0, the empty sequence has no hops, and bad positions are refused', () => {
    expect(find1(v, 0)).toBe(0);
    expect(findP(v, 5, 0)).toBe(0);
    expect(hopP([], 1)).toBeNull();
    expect(hopP([], 0)).toBeNull();
    expect(() => find1(v, 8)).toThrow(/position i = 8 is outside 0..7 \(n = 7\)/);
    expect(() => findP(v, -1, 3)).toThrow(/p must be an integer ≥ 0/);
    expect(() => hopP([0, 1.5], 1)).toThrow(/token v_2 = 1.5 is not an integer/);
  });
});

describe('fast paths agree with the definition', () => {
  it('find1All = find1 and findPAll = findP at every position', () => {
    fc.assert(
      fc.property(pHopArbitrary({ n: { min: 0, max: 80 }, p: { min: 0, max: 12 }, alphabet: { min: 1, max: 6 } }), ({ v, p }) => {
        const f = find1All(v);
        const fp = findPAll(v, p);
        for (let i = 0; i <= v.length; i++) {
          expect(f[i]).toBe(find1(v, i));
          expect(fp[i]).toBe(findP(v, p, i));
        }
      }),
      { numRuns: 200, seed: SEED },
    );
  });
});

describe('pointer doubling', () => {
  it('round count is the bit length of p', () => {
    expect([0, 1, 2, 3, 4, 15, 16, 31, 32].map(pointerDoublingRoundCount)).toEqual([0, 1, 2, 2, 3, 4, 5, 5, 6]);
  });

  it('matches the hand computation for v = 0 1 2 0 1 3 0', () => {
    const v = [0, 1, 2, 0, 1, 3, 0];
    const f = [0, 0, 0, 0, 2, 3, 0, 5];
    const identity = [0, 1, 2, 3, 4, 5, 6, 7];
    // f∘f: f(f(4)) = f(2) = 0, f(f(5)) = f(3) = 0, f(f(7)) = f(5) = 3.
    const f2 = [0, 0, 0, 0, 0, 0, 0, 3];
    const f4 = [0, 0, 0, 0, 0, 0, 0, 0];
    // p = 2 = 0b10: round 0 (bit clear) leaves b = id, round 1 (bit set) folds b ← b[a_i] = f².
    const two = pointerDoublingRounds(v, 2);
    expect(two.previous).toEqual([null, null, 0, 1, 2, 0, 1, 3]);
    expect(two.f).toEqual(f);
    expect(two.rounds).toEqual([
      { a: f, b: identity },
      { a: f2, b: identity },
      { a: f4, b: f2 },
    ]);
    expect(two.answer[7]).toBe(3);
    // p = 3 = 0b11: round 0 folds b ← f, round 1 folds b ← b[f²(i)] = f³ = all ⊥.
    const three = pointerDoublingRounds(v, 3);
    expect(three.rounds[1]).toEqual({ a: f2, b: f });
    expect(three.answer).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('p = 0 has no rounds and answers every position itself', () => {
    const run = pointerDoublingRounds([3, 1, 3], 0);
    expect(run.rounds.length).toBe(1);
    expect(run.answer).toEqual([0, 1, 2, 3]);
  });

  it('equals find_p at every position, and every round is in lockstep (fast-check, n ≤ 256, p ≤ 32)', () => {
    fc.assert(
      fc.property(pHopArbitrary({ n: { min: 0, max: 256 }, p: { min: 1, max: 32 }, alphabet: { min: 2, max: 8 } }), ({ v, p }) => {
        const run = pointerDoublingRounds(v, p);
        const n = v.length;
        expect(run.f).toEqual(find1All(v));
        expect(run.rounds.length).toBe(pointerDoublingRoundCount(p) + 1);
        run.rounds.forEach(({ a, b }, l) => {
          // Before round l: a = f^(2^l), b = f^(p mod 2^l).
          expect(a).toEqual(findPAll(v, 2 ** l));
          expect(b).toEqual(findPAll(v, p % 2 ** l));
        });
        for (let i = 0; i <= n; i++) expect(run.answer[i]).toBe(findP(v, p, i));
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('equals find_p on instances where p hops exist (guaranteed arbitrary)', () => {
    fc.assert(
      fc.property(
        pHopArbitrary({ n: { min: 2, max: 256 }, p: { min: 1, max: 32 }, alphabet: { min: 2, max: 8 }, guaranteed: true }),
        ({ v, p }) => {
          const n = v.length;
          const answer = pointerDoublingRounds(v, p).answer[n];
          return answer !== 0 && answer === findP(v, p, n);
        },
      ),
      { numRuns: 300, seed: SEED + 1 },
    );
  });
});

describe('plantHopChain', () => {
  it('plants exactly the requested chain: find_k(v, n) = chain[k−1]', () => {
    const arbitrary = fc
      .record({ n: fc.integer({ min: 3, max: 120 }), alphabet: fc.integer({ min: 2, max: 8 }) })
      .chain(({ n, alphabet }) =>
        fc.record({
          base: fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { minLength: n, maxLength: n }),
          chain: fc.uniqueArray(fc.integer({ min: 2, max: n - 1 }), { minLength: 1, maxLength: n - 2 }),
          alphabet: fc.constant(alphabet),
        }),
      );
    fc.assert(
      fc.property(arbitrary, ({ base, chain, alphabet }) => {
        const sorted = [...chain].sort((x, y) => y - x);
        const v = plantHopChain(base, sorted, alphabet);
        expect(v.length).toBe(base.length);
        expect(v.every((x) => x >= 0 && x < alphabet)).toBe(true);
        sorted.forEach((position, k) => expect(findP(v, k + 1, v.length)).toBe(position));
      }),
      { numRuns: 300, seed: SEED },
    );
  });
  it('handles adjacent chain positions (single-position intervals) with two letters', () => {
    // Chain 6 → 5 → 4 → 3 → 2 in an alphabet of two forces alternating tokens.
    const v = plantHopChain([0, 0, 0, 0, 0, 0], [5, 4, 3, 2], 2);
    expect([1, 2, 3, 4].map((p) => findP(v, p, 6))).toEqual([5, 4, 3, 2]);
  });
  it('refuses chains that are not strictly decreasing inside 2..n−1', () => {
    expect(() => plantHopChain([0, 0, 0, 0], [3, 3], 2)).toThrow(/chain\[1\] = 3 must be an integer with 2 ≤ chain\[1\] < 3/);
    expect(() => plantHopChain([0, 0, 0, 0], [4], 2)).toThrow(/chain\[0\] = 4/);
    expect(() => plantHopChain([0, 0, 0, 0], [1], 2)).toThrow(/chain\[0\] = 1/);
    expect(() => plantHopChain([0, 0, 0], [2], 1)).toThrow(/alphabet ≥ 2/);
    expect(() => plantHopChain([0, 5, 0], [2], 2)).toThrow(/base token v_2 = 5 is outside 0..1/);
  });
});

describe('samplers', () => {
  it('uniformPHop is deterministic per seed, in range, and roughly uniform', () => {
    const a = uniformPHop(mulberry32(3), 4000, 4);
    expect(uniformPHop(mulberry32(3), 4000, 4)).toEqual(a);
    expect(uniformPHop(mulberry32(4), 4000, 4)).not.toEqual(a);
    const counts = [0, 0, 0, 0];
    for (const x of a) counts[x]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(() => uniformPHop(mulberry32(3), -1, 4)).toThrow(/n must be an integer ≥ 0/);
    expect(() => uniformPHop(mulberry32(3), 3, 0)).toThrow(/alphabet must be an integer ≥ 1/);
  });

  it('paperPHopSampler guarantees p hops in the paper\'s setting (n = 256, p ∈ {16, 32}, alphabet 4)', () => {
    for (const p of [16, 32]) {
      const rng = mulberry32(1000 + p);
      for (let sample = 0; sample < 50; sample++) {
        const v = paperPHopSampler(rng, 256, p);
        expect(v.length).toBe(256);
        expect(v.every((x) => x >= 0 && x < 4)).toBe(true);
        expect(findP(v, p, 256)).not.toBe(0);
        expect(hopP(v, p)).not.toBeNull();
      }
    }
  });

  it('paperPHopSampler guarantees p hops for any sizes, through rejection or the fallback', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(0, 1, 100),
        fc.integer({ min: 0, max: 300 }),
        (seed, p, alphabet, maxAttempts, extra) => {
          const n = minLengthForHops(p) + extra;
          const v = paperPHopSampler(mulberry32(seed), n, p, alphabet, { maxAttempts });
          expect(v.length).toBe(n);
          expect(v.every((x) => Number.isInteger(x) && x >= 0 && x < alphabet)).toBe(true);
          expect(findP(v, p, n)).not.toBe(0);
          expect(paperPHopSampler(mulberry32(seed), n, p, alphabet, { maxAttempts })).toEqual(v);
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });

  it('without nonTrivial, the fixed point v_{n−1} = v_n counts as having p hops', () => {
    // Uniform draws end in a repeated pair with probability 1/alphabet; the sampler keeps them,
    // since Definition A.1 gives them p hops (find_p(v, n) = n).
    let fixed = 0;
    for (let seed = 0; seed < 400; seed++) {
      const v = paperPHopSampler(mulberry32(seed), 256, 16);
      if (isFixedPointAtEnd(v)) {
        fixed++;
        expect(findP(v, 16, 256)).toBe(256);
        expect(hopP(v, 16)).toBe(v[255]);
      }
    }
    expect(fixed).toBeGreaterThan(60); // about 400/4 = 100 expected
    expect(fixed).toBeLessThan(140);
  });

  it('with nonTrivial, the chain from n strictly decreases, through rejection or the fallback', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2, max: 8 }),
        fc.constantFrom(0, 1, 100),
        fc.integer({ min: 0, max: 300 }),
        (seed, p, alphabet, maxAttempts, extra) => {
          const n = p + 2 + extra;
          const v = paperPHopSampler(mulberry32(seed), n, p, alphabet, { maxAttempts, nonTrivial: true });
          expect(isFixedPointAtEnd(v)).toBe(false);
          let position = n;
          for (let hop = 0; hop < p; hop++) {
            const next = find1(v, position);
            expect(next).toBeGreaterThan(0);
            expect(next).toBeLessThan(position);
            position = next;
          }
        },
      ),
      { numRuns: 300, seed: SEED },
    );
    expect(() => paperPHopSampler(mulberry32(1), 5, 4, 4, { nonTrivial: true })).toThrow(/need n ≥ 6 and alphabet ≥ 2/);
  });

  it('refuses sizes where no sequence has p hops', () => {
    expect(() => paperPHopSampler(mulberry32(1), 1, 1)).toThrow(/p = 1 hops cannot exist in n = 1 tokens; need n ≥ 2/);
    expect(() => paperPHopSampler(mulberry32(1), 0, 0)).toThrow(/need n ≥ 1/);
    expect(() => paperPHopSampler(mulberry32(1), 5, 1, 4, { maxAttempts: -1 })).toThrow(/maxAttempts/);
  });

  it('pHopArbitrary with guaranteed always has p hops, and refuses impossible sizes', () => {
    fc.assert(
      fc.property(
        pHopArbitrary({ n: { min: 2, max: 64 }, p: { min: 0, max: 40 }, alphabet: { min: 1, max: 8 }, guaranteed: true }),
        ({ v, p, alphabet }) => v.every((x) => x < alphabet) && findP(v, p, v.length) !== 0,
      ),
      { numRuns: 300, seed: SEED },
    );
    expect(() => pHopArbitrary({ n: { min: 1, max: 5 }, p: 3, alphabet: 4, guaranteed: true })).toThrow(/need n ≥ 2/);
    expect(() => pHopArbitrary({ n: 5, p: 3, alphabet: 0 })).toThrow(/alphabet must be integers/);
  });
});
