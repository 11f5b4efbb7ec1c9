// Signed binary codes: the ±1 position codes the constructions attend by (Lemma B.4, SHIFT of
// Lemma B.9, Theorem 5.1's source indices, Theorem 5.4's counters).
//
// BIT ORDER (one convention for the whole project; the paper's Lemmas B.10 and B.11 disagree,
// erratum 6): index b of sbin(x, s) holds bit b of x, LEAST SIGNIFICANT FIRST, with
//     sbin(x, s)[b] = +1 when bit b of x is 1,   −1 when it is 0.
// So sbin(6, 3) = [−1, +1, +1] and sbin(0, s) = −1_s.
//
// The one fact the attention gadgets use: for 0 ≤ a, b < 2^s,
//     ⟨sbin(a, s), sbin(b, s)⟩ = s − 2·hamming(a, b),
// which is s exactly when a = b and at most s − 2 otherwise. An s-bit code has only 2^s values,
// so it tells apart at most 2^s integers: positions 0..n−1 need s ≥ bitsFor(n).
import type { Selector } from '../simulators/space.ts';
import type { Model } from '../simulators/model.ts';
import { ModelError } from '../common/errors.ts';

/** The least s ≥ 1 with 2^s ≥ count: bits of a code for 0..count−1 (count ≥ 1). bitsFor(16) = 4, bitsFor(17) = 5. */
export function bitsFor(count: number): number {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`bitsFor: count must be a whole number ≥ 1, got ${count}`);
  let s = 1;
  while (2 ** s < count) s++;
  return s;
}

/**
 * The bit length of a whole number x ≥ 0: the number of binary digits of x, 0 for 0, i.e.
 * ⌊log2 x⌋ + 1 for x ≥ 1. bitLength(7) = 3, bitLength(8) = 4. It is bitsFor(x + 1) except at x = 0
 * (bitsFor never goes below 1): ⌈log2 p⌉ = bitLength(p − 1) doubling rounds, and Theorem 5.4's
 * s = ⌊log2(n + m)⌋ + 1 = bitLength(n + m). Integer arithmetic, so no Math.log2 rounding near powers of two.
 */
export function bitLength(x: number): number {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`bitLength: x must be a whole number ≥ 0, got ${x}`);
  let r = 0;
  while (2 ** r <= x) r++;
  return r;
}

export interface SbinOptions {
  /**
   * Code x by its low s bits, x mod 2^s, instead of refusing an x ≥ 2^s. This is the only s-bit
   * code a larger integer can have, and it is how a construction built with too few bits aliases
   * (x and x + 2^s get the same code); it exists so that failure can be built and shown.
   */
  wrap?: boolean;
}

function checkBits(s: number, where: string): void {
  if (!Number.isInteger(s) || s < 1 || s > 52) throw new RangeError(`${where}: s must be a whole number of bits in 1..52, got ${s}`);
}

/** Signed binary code of a whole number x in {±1}^s; index b holds bit b (least significant first). */
export function sbin(x: number, s: number, options: SbinOptions = {}): number[] {
  checkBits(s, 'sbin');
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`sbin: x must be a whole number ≥ 0, got ${x}`);
  const size = 2 ** s;
  if (x >= size && !options.wrap) {
    throw new RangeError(`sbin: ${x} does not fit in ${s} bits (an s-bit code covers 0..${size - 1}; use s ≥ ${bitsFor(x + 1)})`);
  }
  let v = x % size;
  const code: number[] = [];
  for (let b = 0; b < s; b++) {
    code.push(v % 2 === 1 ? 1 : -1);
    v = Math.floor(v / 2);
  }
  return code;
}

/** The whole number a code stands for; every entry must be exactly +1 or −1 (the index of a bad one is named). */
export function decodeSbin(code: readonly number[]): number {
  if (code.length < 1 || code.length > 52) throw new RangeError(`decodeSbin: a code has 1..52 entries, got ${code.length}`);
  let x = 0;
  for (let b = code.length - 1; b >= 0; b--) {
    const c = code[b];
    if (c !== 1 && c !== -1) throw new RangeError(`decodeSbin: entry ${b} is ${c}; a signed binary code holds only +1 and −1`);
    x = 2 * x + (c === 1 ? 1 : 0);
  }
  return x;
}

/** Number of bits in which a and b differ. */
export function hamming(a: number, b: number): number {
  let differ = 0;
  for (let x = a, y = b; x > 0 || y > 0; x = Math.floor(x / 2), y = Math.floor(y / 2)) if (x % 2 !== y % 2) differ++;
  return differ;
}

/**
 * Writes sbin(index(i), s) into the residual subspace `at` of every position row i of W_pos, so
 * position codes enter through the position embedding θ_PE. `index` defaults to i itself; a
 * construction passes the position it wants position i to look at (max(i − 1, 0) for SHIFT).
 * The subspace must have exactly s directions.
 */
export function embedPositionCodes(
  model: Model,
  at: Selector,
  s: number,
  index: (i: number) => number = (i) => i,
  options: SbinOptions = {},
): void {
  const { size, what } = model.residual.range(at);
  if (size !== s) throw new ModelError(`embedPositionCodes: subspace "${what}" has ${size} directions but the code has s = ${s} bits`);
  for (let i = 0; i < model.positions.dim; i++) {
    const target = index(i);
    let code: number[];
    try {
      code = sbin(target, s, options);
    } catch (e) {
      throw new ModelError(`embedPositionCodes: position ${i} codes ${target} into "${what}": ${(e as Error).message}`);
    }
    model.W_pos.write(['positions', i], at, [code]);
  }
}

/** Writes 1 into the residual direction `at` at every position (the constant the gadgets need for their biases). */
export function embedConstantOne(model: Model, at: Selector): void {
  const { size, what } = model.residual.range(at);
  if (size !== 1) throw new ModelError(`embedConstantOne: "${what}" has ${size} directions; the constant needs exactly 1`);
  for (let i = 0; i < model.positions.dim; i++) model.W_pos.write(['positions', i], at, [[1]]);
}
