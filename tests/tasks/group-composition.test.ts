import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  algorithm2Answer,
  algorithm2RoundCount,
  algorithm2Rounds,
  algorithm2Step,
  compose,
  groupSequenceArbitrary,
  naryAddition3Digit,
  naryAdditionFullSum,
  sourceIndices,
  sumMod,
} from '../../tasks/group-composition.ts';
import { cyclic, dihedral, directProduct, parseElement, symmetric, type FiniteGroup } from '../../tasks/groups.ts';
import { mulberry32, randomInt } from '../../tasks/random.ts';

const SEED = 5101;
const groups: FiniteGroup[] = [
  cyclic(7),
  dihedral(5),
  symmetric(3),
  symmetric(4),
  symmetric(5),
  directProduct(cyclic(2), symmetric(3)),
];

/** Product of gs[j−1] over the 1-indexed positions lo..hi clipped to j ≥ 1 (identity when empty). */
function blockProduct(G: FiniteGroup, gs: number[], lo: number, hi: number): number {
  return compose(G, gs.slice(Math.max(lo, 1) - 1, Math.max(hi, 0)));
}

describe('compose', () => {
  it('is the identity on the empty product and the left-to-right product otherwise', () => {
    const S3 = symmetric(3);
    expect(compose(S3, [])).toBe(S3.identity);
    const a = parseElement(S3, '[1,0,2]');
    const b = parseElement(S3, '[0,2,1]');
    expect(compose(S3, [a])).toBe(a);
    expect(S3.elementNames[compose(S3, [a, b])]).toBe('[1,2,0]');
    expect(S3.elementNames[compose(S3, [b, a])]).toBe('[2,0,1]');
    // (a∘b)∘(a∘b): [1,2,0] applied twice is [2,0,1].
    expect(S3.elementNames[compose(S3, [a, b, a, b])]).toBe('[2,0,1]');
  });
  it('refuses a non-element, naming its position', () => {
    expect(() => compose(cyclic(5), [1, 2, 5])).toThrow(/gs\[2\] = 5 is not an element of Z5/);
  });
});

describe('sourceIndices', () => {
  it('matches max(2i−n−1, 0), max(2i−n, 0) on hand-checked cases', () => {
    // n = 4: position 4 reads 3 and 4, position 3 reads 1 and 2, positions 0..2 read 0 twice.
    expect([0, 1, 2, 3, 4].map((i) => sourceIndices(i, 4))).toEqual([[0, 0], [0, 0], [0, 0], [1, 2], [3, 4]]);
    // n = 5: 5 → (4,5), 4 → (2,3), 3 → (0,1), 2 → (0,0).
    expect([2, 3, 4, 5].map((i) => sourceIndices(i, 5))).toEqual([[0, 0], [0, 1], [2, 3], [4, 5]]);
  });
  it('never reads a later position (causal attention suffices)', () => {
    for (let n = 1; n <= 64; n++) {
      for (let i = 0; i <= n; i++) {
        const [x, y] = sourceIndices(i, n);
        expect(x <= i && y <= i && x >= 0 && y >= 0).toBe(true);
      }
    }
  });
});

describe('algorithm2RoundCount', () => {
  it('is ceil(log2 n), and 0 for n ≤ 1', () => {
    const expected: [number, number][] = [[0, 0], [1, 0], [2, 1], [3, 2], [4, 2], [5, 3], [8, 3], [9, 4], [64, 6], [65, 7], [1024, 10], [1025, 11]];
    for (const [n, rounds] of expected) expect(algorithm2RoundCount(n), `n = ${n}`).toBe(rounds);
  });
});

describe('Algorithm 2', () => {
  it('runs the hand-checked schedule for n = 5 in Z_100', () => {
    // State 0 is (#, g_1..g_5) = (0, 1, 2, 3, 4, 5).
    // Round 1: pos 5 = g4+g5 = 9, pos 4 = g2+g3 = 5, pos 3 = g0+g1 = 1, pos 0..2 = g0+g0 = 0.
    // Round 2: pos 5 = 5+9 = 14, pos 4 = 0+1 = 1, pos 3 = 0.
    // Round 3: pos 5 = 1+14 = 15, pos 4 = 0.
    const Z100 = cyclic(100);
    expect(algorithm2Rounds(Z100, [1, 2, 3, 4, 5])).toEqual([
      [0, 1, 2, 3, 4, 5],
      [0, 0, 0, 1, 5, 9],
      [0, 0, 0, 0, 1, 14],
      [0, 0, 0, 0, 0, 15],
    ]);
  });

  it('handles n = 0 and n = 1 with zero rounds', () => {
    const S3 = symmetric(3);
    expect(algorithm2Rounds(S3, [])).toEqual([[0]]);
    expect(algorithm2Answer(S3, [])).toBe(S3.identity);
    expect(algorithm2Rounds(S3, [4])).toEqual([[0, 4]]);
    expect(algorithm2Answer(S3, [4])).toBe(4);
  });

  it('equals compose for every n from 0 to 64 on several groups (seeded sequences)', () => {
    const rng = mulberry32(SEED);
    for (const G of groups) {
      for (let n = 0; n <= 64; n++) {
        for (let trial = 0; trial < 5; trial++) {
          const gs = Array.from({ length: n }, () => randomInt(rng, G.order));
          expect(algorithm2Answer(G, gs), `${G.name}, n = ${n}`).toBe(compose(G, gs));
        }
      }
    }
  });

  it('equals compose (fast-check, non-abelian groups, n ≤ 64)', () => {
    const arbitrary = fc
      .constantFrom(...groups)
      .chain((G) => groupSequenceArbitrary(G, { min: 0, max: 64 }).map((gs) => ({ G, gs })));
    fc.assert(
      fc.property(arbitrary, ({ G, gs }) => algorithm2Answer(G, gs) === compose(G, gs)),
      { numRuns: 400, seed: SEED },
    );
  });

  it('after k rounds position i holds the product of the block n−(n−i+1)·2^k+1 .. n−(n−i)·2^k (lockstep)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...groups).chain((G) => groupSequenceArbitrary(G, { min: 1, max: 64 }).map((gs) => ({ G, gs }))),
        ({ G, gs }) => {
          const n = gs.length;
          const states = algorithm2Rounds(G, gs, algorithm2RoundCount(n) + 2);
          states.forEach((state, k) => {
            state.forEach((value, i) => {
              const d = n - i;
              expect(value).toBe(blockProduct(G, gs, n - (d + 1) * 2 ** k + 1, n - d * 2 ** k));
            });
          });
        },
      ),
      { numRuns: 200, seed: SEED + 1 },
    );
  });

  it('one round fewer than ceil(log2 n) yields only the last 2^(k−1) factors, which differs in general', () => {
    // In S3, for n = 5, the full product of [a, e, e, e, e] is a but 2 rounds only see the last 4.
    const S3 = symmetric(3);
    const a = parseElement(S3, '[1,0,2]');
    const gs = [a, 0, 0, 0, 0];
    expect(algorithm2Answer(S3, gs, 2)).toBe(S3.identity);
    expect(algorithm2Answer(S3, gs)).toBe(a);
    fc.assert(
      fc.property(groupSequenceArbitrary(S3, { min: 2, max: 64 }), (seq) => {
        const k = algorithm2RoundCount(seq.length) - 1;
        return algorithm2Answer(S3, seq, k) === compose(S3, seq.slice(seq.length - 2 ** k));
      }),
      { numRuns: 200, seed: SEED + 2 },
    );
  });

  it('after ceil(log2 n) rounds the whole state is (e, …, e, product), a fixed point of a round', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...groups).chain((G) => groupSequenceArbitrary(G, { min: 0, max: 64 }).map((gs) => ({ G, gs }))),
        fc.integer({ min: 1, max: 4 }),
        ({ G, gs }, extra) => {
          const n = gs.length;
          const rounds = algorithm2RoundCount(n);
          const states = algorithm2Rounds(G, gs, rounds + extra);
          const converged = states[rounds];
          // For n = 0 this is just [identity]: position 0 alone, holding the empty product.
          expect(converged).toEqual([...new Array<number>(n).fill(G.identity), compose(G, gs)]);
          expect(algorithm2Step(G, converged)).toEqual(converged);
          for (const later of states.slice(rounds)) expect(later).toEqual(converged);
        },
      ),
      { numRuns: 200, seed: SEED + 3 },
    );
  });

  it('before convergence the state is not yet a fixed point in general', () => {
    // n = 5 in Z_100 (hand example above): round 1 changes the state after round 0, etc.
    const Z100 = cyclic(100);
    const states = algorithm2Rounds(Z100, [1, 2, 3, 4, 5]);
    expect(algorithm2Step(Z100, states[2])).not.toEqual(states[2]);
  });

  it('groupSequenceArbitrary draws elements of G of the requested length', () => {
    const D5 = dihedral(5);
    fc.assert(
      fc.property(groupSequenceArbitrary(D5, 9), (gs) => gs.length === 9 && gs.every((g) => Number.isInteger(g) && g >= 0 && g < 10)),
      { numRuns: 200, seed: SEED },
    );
    expect(() => groupSequenceArbitrary(D5, { min: 3, max: 2 })).toThrow(/0 ≤ min ≤ max/);
  });
});

describe('n-ary addition', () => {
  it('gives the sum mod 1000, not the paper\'s full sum', () => {
    const operands = [315, 120, 45, 824];
    expect(naryAddition3Digit(operands)).toBe(304);
    expect(naryAdditionFullSum(operands)).toBe(1304);
    expect(sumMod(1000, operands)).toBe(304);
    expect(naryAddition3Digit([])).toBe(0);
  });
  it('agrees with sumMod(1000) and with Algorithm 2 on Z_1000', () => {
    const Z1000 = cyclic(1000);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 999 }), { maxLength: 64 }), (nums) => {
        const mod = sumMod(1000, nums);
        return naryAddition3Digit(nums) === mod && algorithm2Answer(Z1000, nums) === mod && naryAdditionFullSum(nums) % 1000 === mod;
      }),
      { numRuns: 300, seed: SEED },
    );
  });
  it('refuses operands that are not 3-digit numbers', () => {
    expect(() => naryAddition3Digit([1, 1000])).toThrow(/operand 1 is 1000; operands are 3-digit numbers 000..999/);
    expect(() => naryAddition3Digit([-1])).toThrow(/operand 0 is -1/);
    expect(() => naryAddition3Digit([1.5])).toThrow(/operand 0 is 1.5/);
  });
  it('sumMod reduces negative summands into 0..m−1', () => {
    expect(sumMod(7, [-1])).toBe(6);
    expect(sumMod(7, [3, 4, 5])).toBe(5);
    expect(sumMod(1, [5, 9])).toBe(0);
    expect(() => sumMod(0, [1])).toThrow(/modulus m must be an integer ≥ 1/);
    expect(() => sumMod(5, [0.5])).toThrow(/nums\[0\] = 0.5 is not an integer/);
  });
});
