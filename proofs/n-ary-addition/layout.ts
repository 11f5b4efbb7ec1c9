// The token layout of n-ary addition (tasks/n-ary-addition.ts: "# 3 1 5 + … = _ _ _ _"): where each
// operand digit, operator and answer slot sits, what every position reads with its three heads,
// the bits of the position codes and of F_s, and the thresholds of the MLP's digit and carry steps.
import { bitsFor } from '../codes.ts';
import { sourceIndices } from '../../tasks/group-composition.ts';
import { COLUMNS, MAX_OPERAND, OPERAND_DIGITS, answerDigits } from '../../tasks/n-ary-addition.ts';

/** Positions of the token format (tasks/n-ary-addition.ts). */
export interface Layout {
  n: number;
  /** Answer digits. */
  D: number;
  /** Positions in all: 4n + 1 + D. */
  N: number;
  /** Bits of the position codes: ⌈log2 N⌉. */
  p: number;
}

export function layoutFor(n: number): Layout {
  const D = answerDigits(n);
  const N = (OPERAND_DIGITS + 1) * n + 1 + D;
  return { n, D, N, p: bitsFor(N) };
}

/** Position of digit j (0 = units) of operand k = 1..n. */
export const digitPosition = (k: number, j: number): number => (OPERAND_DIGITS + 1) * k - 1 - j;
/** Position of column j's tree index m (0 is the start slot, shared by the three trees). */
export const treePosition = (j: number, m: number): number => (m === 0 ? 0 : digitPosition(m, j));
/** Position of the operator after operand k ('+', or '=' after operand n). */
export const operatorPosition = (k: number): number => (OPERAND_DIGITS + 1) * k;
/** Position of the slot that holds digit k of the sum (k = 0 the units; slots run most significant first). */
export const slotPosition = (L: Layout, k: number): number => (OPERAND_DIGITS + 1) * L.n + L.D - k;

/** Least s with B_s = 2^s − 2^{−s} ≥ 1000n: every partial sum in F_s is then exact (module comment). */
export function precisionBits(n: number): number {
  const X = (MAX_OPERAND + 1) * n;
  let s = 1;
  while (2 ** s - 2 ** -s < X) s++;
  return s;
}

/** What each position reads with its three heads, and its role. */
export function sourcesOf(L: Layout, i: number): [number, number, number] {
  const { n, D } = L;
  if (i === 0) return [0, 0, 0];
  const slotBase = (OPERAND_DIGITS + 1) * n;
  if (i > slotBase) {
    if (i > slotBase + D) throw new RangeError(`position ${i} is past the last answer slot ${slotBase + D}`);
    return [treePosition(0, n), treePosition(1, n), treePosition(2, n)];
  }
  if (i % (OPERAND_DIGITS + 1) === 0) return [0, 0, 0]; // '+' or '='
  const k = Math.ceil(i / (OPERAND_DIGITS + 1)); // operand k's digits are at 4k−3..4k−1
  const j = (OPERAND_DIGITS + 1) * k - 1 - i; // column of this digit
  const [a, b] = sourceIndices(k, n);
  return [treePosition(j, a), treePosition(j, b), 0];
}

/** Lmax_k: the largest L_k = Σ_{j ≤ min(k, 2)} 10^j·C_j, with every C_j ≤ 9n. */
export const largestL = (n: number, k: number): number => n * (10 ** (Math.min(k, COLUMNS - 1) + 1) - 1);

/** Thresholds of digit k's carry count q = floor(L_k / 10^{k+1}): a = j·10^{k+1} for j = 1..floor(Lmax_k / 10^{k+1}). */
export function carrySteps(n: number, k: number): number[] {
  const J2 = Math.floor(largestL(n, k) / 10 ** (k + 1));
  return Array.from({ length: J2 }, (_, j) => (j + 1) * 10 ** (k + 1));
}

/** Thresholds of digit k itself, floor(r / 10^k) with r < 10^{k+1}: a = j·10^k for j = 1..min(9, floor(Lmax_k / 10^k)). */
export function digitSteps(n: number, k: number): number[] {
  const J = Math.min(9, Math.floor(largestL(n, k) / 10 ** k));
  return Array.from({ length: J }, (_, j) => (j + 1) * 10 ** k);
}

/** The three positions position i reads (its src1, src2, src3 codes), for tests and explain. */
export const sourcesAt = (n: number, i: number): [number, number, number] => sourcesOf(layoutFor(n), i);
