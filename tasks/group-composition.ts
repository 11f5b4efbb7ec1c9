/**
 * Group composition (Theorem 5.1) and its special case, n-ary addition mod m.
 *
 * `compose` is the plain left-to-right product. Algorithm 2 is the parallel schedule that the
 * looped transformer runs: positions 0..n, position 0 holds the identity (the # token embeds as
 * the identity), and in every round each position i, all at once, replaces its element by
 * g_{max(2i−n−1,0)} ∘ g_{max(2i−n,0)}. After ceil(log2 n) rounds g_n is the whole product.
 *
 * Why it works (this is what the lockstep tests check). Measure positions from the right,
 * d = n − i. The two sources of position d are at distances 2d + 1 and 2d, so by induction after
 * k rounds position d holds the product of the original g_j for j in the block
 *     n − (d+1)·2^k + 1  ≤  j  ≤  n − d·2^k,
 * clipped to j ≥ 1 (the clipped part reads position 0, whose element stays the identity). With
 * d = 0 that is the suffix of the last 2^k elements; once 2^k ≥ n it is the whole product, and
 * every block with d ≥ 1 lies at j ≤ 0, i.e. it is the identity. So after ceil(log2 n) rounds the
 * whole state is (e, …, e, g_1∘…∘g_n), and that vector is a fixed point of a round: extra loops
 * change nothing, not just at position n.
 */
import fc from 'fast-check';
import { assertElement, cyclic, type FiniteGroup } from './groups.ts';

/** g_1 ∘ g_2 ∘ … ∘ g_n, the identity for the empty product. */
export function compose(G: FiniteGroup, gs: readonly number[]): number {
  let product = G.identity;
  gs.forEach((g, j) => {
    assertElement(G, g, `gs[${j}]`);
    product = G.mul(product, g);
  });
  return product;
}

/** The two positions that position i reads in a round of Algorithm 2, for input length n. */
export function sourceIndices(i: number, n: number): [number, number] {
  return [Math.max(2 * i - n - 1, 0), Math.max(2 * i - n, 0)];
}

/**
 * Rounds Algorithm 2 runs: ceil(log2 n), computed in integers (no floating-point log), and 0 for
 * n ≤ 1 — with one element, or none, the state already holds the answer at position n.
 */
export function algorithm2RoundCount(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`input length n must be an integer ≥ 0, got ${n}`);
  let rounds = 0;
  while (2 ** rounds < n) rounds++;
  return rounds;
}

/** One round of Algorithm 2: every position reads the old state (the update is parallel). */
export function algorithm2Step(G: FiniteGroup, state: readonly number[]): number[] {
  const n = state.length - 1;
  return state.map((_, i) => {
    const [first, second] = sourceIndices(i, n);
    return G.mul(state[first], state[second]);
  });
}

/**
 * The state vector over positions 0..n before round 1 and after each round: entry 0 is
 * [identity, g_1, …, g_n] and the result has rounds + 1 entries. `rounds` defaults to
 * ceil(log2 n); pass more to watch the fixed point, fewer to watch the answer fail.
 */
export function algorithm2Rounds(
  G: FiniteGroup,
  gs: readonly number[],
  rounds: number = algorithm2RoundCount(gs.length),
): number[][] {
  if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError(`rounds must be an integer ≥ 0, got ${rounds}`);
  gs.forEach((g, j) => assertElement(G, g, `gs[${j}]`));
  const states: number[][] = [[G.identity, ...gs]];
  for (let r = 0; r < rounds; r++) states.push(algorithm2Step(G, states[states.length - 1]));
  return states;
}

/** g_n after `rounds` rounds (default ceil(log2 n)); equals compose(G, gs) at the default. */
export function algorithm2Answer(G: FiniteGroup, gs: readonly number[], rounds?: number): number {
  const states = algorithm2Rounds(G, gs, rounds);
  const last = states[states.length - 1];
  return last[last.length - 1];
}

/** Sequences of n elements of G (n fixed or a range), for property tests. */
export function groupSequenceArbitrary(
  G: FiniteGroup,
  n: number | { min: number; max: number },
): fc.Arbitrary<number[]> {
  const { min, max } = typeof n === 'number' ? { min: n, max: n } : n;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new RangeError(`groupSequenceArbitrary: length must be integers 0 ≤ min ≤ max, got ${min}..${max}`);
  }
  return fc.array(fc.integer({ min: 0, max: G.order - 1 }), { minLength: min, maxLength: max });
}

// ---------------------------------------------------------------------------------------------
// n-ary addition
// ---------------------------------------------------------------------------------------------

/** (Σ nums) mod m, in 0..m-1 even for negative summands. */
export function sumMod(m: number, nums: readonly number[]): number {
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`sumMod: modulus m must be an integer ≥ 1, got ${m}`);
  let total = 0;
  nums.forEach((x, j) => {
    if (!Number.isInteger(x)) throw new RangeError(`sumMod: nums[${j}] = ${x} is not an integer`);
    total = (total + (x % m) + m) % m;
  });
  return total;
}

const Z1000 = cyclic(1000);

function assertThreeDigit(nums: readonly number[]): void {
  nums.forEach((x, j) => {
    if (!Number.isInteger(x) || x < 0 || x > 999) {
      throw new RangeError(`n-ary addition: operand ${j} is ${x}; operands are 3-digit numbers 000..999`);
    }
  });
}

/**
 * The n-ary addition task seen as composition in Z_1000. Theorem 5.1's construction only yields
 * the sum mod 1000 (the group is Z_1000), whereas the paper's task writes out the full sum:
 * "315 + 120 + 045 + 824 =" → "1304", while this returns 304. Use naryAdditionFullSum for the
 * paper's target.
 */
export function naryAddition3Digit(nums: readonly number[]): number {
  assertThreeDigit(nums);
  return compose(Z1000, nums);
}

/** The paper's target for n-ary addition: the exact sum of the 3-digit operands. */
export function naryAdditionFullSum(nums: readonly number[]): number {
  assertThreeDigit(nums);
  return nums.reduce((a, b) => a + b, 0);
}
