/**
 * n-ary addition as the paper poses it (Section 4, Table 1): n operands of 3 digits, zero-padded,
 * "315 + 120 + 045 + 824 =" → "1304" — the FULL sum, digits in and digits out, not the sum mod m
 * that Theorem 5.1 gives with G = Z_m.
 *
 * TOKEN FORMAT (what proofs/n-ary-addition.ts reads). Positions, 0-based:
 *     0                      #          start slot: its column value is 0 for ever (Algorithm 2's g_0)
 *     4k−3, 4k−2, 4k−1       a b c      operand k = 1..n, hundreds, tens, units digit
 *     4k                     + or =     '+' after operands 1..n−1, '=' after operand n
 *     4n+1 .. 4n+D           _ … _      D answer slots; slot m holds digit D−m of the sum (most significant first)
 * D = number of decimal digits of 999·n (the largest sum), so the answer is zero-padded to D digits,
 * as the operands are to 3: n = 4 gives D = 4 and the paper's "1304".
 *
 * THE ITERATIVE ALGORITHM (what the model runs in lockstep). Column sums are linear, so each of the
 * three columns (j = 0 units, 1 tens, 2 hundreds) runs its own Algorithm 2 (tasks/group-composition.ts)
 * over the integers under +: indices 0..n, index 0 is the start slot (value 0), index k the digit
 * of column j of operand k, and in every round, all at once,
 *     c_j[m] ← c_j[max(2m−n−1, 0)] + c_j[max(2m−n, 0)].
 * After R = ⌈log2 n⌉ rounds c_j[n] is the column sum C_j = Σ_k digit_j(operand k) ≤ 9n, and the
 * state is a fixed point (Algorithm 2's argument: the state is (0, …, 0, C_j)). Every round also
 * writes the answer slots from the PREVIOUS state: digit k of S = C_0 + 10·C_1 + 100·C_2 read off
 * c[n] (the slots read what the columns held when the round began). So after round R + 1 the slots
 * hold the digits of the full sum: T = ⌈log2 n⌉ + 1 rounds in all, and more rounds change nothing.
 */
import fc from 'fast-check';
import { sourceIndices } from './group-composition.ts';

/** Digits per operand (the paper's task: 3, zero-padded). */
export const OPERAND_DIGITS = 3;
export const MAX_OPERAND = 10 ** OPERAND_DIGITS - 1;

/** Columns are numbered from the units: column j has weight 10^j. */
export const COLUMNS = OPERAND_DIGITS;

/** Decimal digits of the largest possible sum 999·n: the number of answer slots. */
export function answerDigits(n: number): number {
  checkN(n);
  return String(MAX_OPERAND * n).length;
}

/** Rounds until the slots hold the full sum: ⌈log2 n⌉ tree rounds, then one round that reads them out. */
export function roundCount(n: number): number {
  checkN(n);
  let r = 0;
  while (2 ** r < n) r++;
  return r + 1;
}

function checkN(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n-ary addition: n must be a whole number ≥ 1, got ${n}`);
}

export function assertOperands(nums: readonly number[]): void {
  nums.forEach((x, j) => {
    if (!Number.isSafeInteger(x) || x < 0 || x > MAX_OPERAND) {
      throw new RangeError(`n-ary addition: operand ${j + 1} is ${x}; operands are ${OPERAND_DIGITS}-digit numbers 000..${MAX_OPERAND}`);
    }
  });
}

/** Digit j (0 = units) of x. */
export const digitOf = (x: number, j: number): number => Math.floor(x / 10 ** j) % 10;

/** The D decimal digits of x, most significant first (zero-padded; x must fit in D digits). */
export function digitsOf(x: number, D: number): number[] {
  if (!Number.isSafeInteger(x) || x < 0 || x >= 10 ** D) throw new RangeError(`n-ary addition: ${x} does not fit in ${D} decimal digits`);
  return Array.from({ length: D }, (_, m) => digitOf(x, D - 1 - m));
}

/** The paper's answer: the full sum as D digits, most significant first ("1304" for the paper's example). */
export function fullSumDigits(nums: readonly number[]): string {
  assertOperands(nums);
  const S = nums.reduce((a, b) => a + b, 0);
  return digitsOf(S, answerDigits(nums.length)).join('');
}

/** The paper's token sequence for the operands, with the start slot and D answer slots: "#315+120+045+824=____". */
export function tokenText(nums: readonly number[]): string {
  assertOperands(nums);
  const body = nums.map((x) => String(x).padStart(OPERAND_DIGITS, '0')).join('+');
  return `#${body}=${'_'.repeat(answerDigits(nums.length))}`;
}

/** The algorithm's state after a round: the three column trees over indices 0..n, and the D answer slots. */
export interface AdditionState {
  /** columns[j][m]: the column-j value Algorithm 2 holds at index m (0 = start slot, k = operand k). */
  columns: number[][];
  /** The answer slots, most significant digit first (all 0 before round 1). */
  slots: number[];
}

/** One round: every column takes an Algorithm 2 step; the slots take the digits of what c[n] held before it. */
export function additionStep(state: AdditionState): AdditionState {
  const n = state.columns[0].length - 1;
  const D = state.slots.length;
  const columns = state.columns.map((c) =>
    c.map((_, m) => {
      const [a, b] = sourceIndices(m, n);
      return c[a] + c[b];
    }),
  );
  const S = state.columns.reduce((acc, c, j) => acc + 10 ** j * c[n], 0);
  return { columns, slots: digitsOf(S, D) };
}

/**
 * The states before round 1 and after each round (rounds + 1 entries); `rounds` defaults to
 * ⌈log2 n⌉ + 1. Pass more to watch the fixed point, fewer to watch the answer fail.
 */
export function additionRounds(nums: readonly number[], rounds: number = roundCount(nums.length)): AdditionState[] {
  assertOperands(nums);
  if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError(`rounds must be an integer ≥ 0, got ${rounds}`);
  const n = nums.length;
  checkN(n);
  const columns = Array.from({ length: COLUMNS }, (_, j) => [0, ...nums.map((x) => digitOf(x, j))]);
  const states: AdditionState[] = [{ columns, slots: new Array<number>(answerDigits(n)).fill(0) }];
  for (let r = 0; r < rounds; r++) states.push(additionStep(states[states.length - 1]));
  return states;
}

/** The slots after `rounds` rounds, as a digit string; equals fullSumDigits at the default. */
export function additionAnswer(nums: readonly number[], rounds?: number): string {
  const states = additionRounds(nums, rounds);
  return states[states.length - 1].slots.join('');
}

/**
 * n operands: uniform 3-digit numbers mixed with the ones that make carries and their absence
 * extreme (0, 9, 99, 999, 990, 909, 500), so all-9 columns and long carry chains are drawn often.
 */
export function operandsArbitrary(n: number): fc.Arbitrary<number[]> {
  checkN(n);
  const operand = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: MAX_OPERAND }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 9, 99, 999, 990, 909, 500, 1) },
  );
  return fc.array(operand, { minLength: n, maxLength: n });
}
