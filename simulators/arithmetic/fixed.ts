// The paper's precision model F_s (from Li, Liu, Zhou, Ma 2024):
//   F_s = { c·k·2^{−s} : c ∈ {−1, +1}, 0 ≤ k ≤ 2^{2s} − 1 },
// rounding to the nearest value after every binary operation, ties to the smaller absolute value,
// saturating at B_s = 2^s − 2^{−s}. A value is stored as its signed integer k (value = k·2^{−s}).
// k has at most 2s ≤ 52 bits, so sums are exact in doubles; products and quotients that could
// exceed 2^53 go through BigInt so rounding is decided on the exact value.
import { Fraction } from 'mathjs';
import { NumericError, UsageError } from '../../common/errors.ts';
import type { Rational } from '../rational.ts';
import type { NumberSystem } from './number-system.ts';

export const MIN_BITS = 1;
export const MAX_BITS = 26;

/** Nearest integer to num/den, ties toward the smaller magnitude. den > 0. */
export function roundHalfDown(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const a = neg ? -num : num;
  const q = a / den;
  const r = a % den;
  const up = 2n * r > den; // exactly half (2r = den) stays at q: toward the smaller magnitude
  const m = up ? q + 1n : q;
  return neg ? -m : m;
}

/** Same rule for a double that is already exact (a dyadic value). */
function roundHalfDownNumber(x: number): number {
  const t = Math.abs(x);
  const fl = Math.floor(t);
  const m = t - fl > 0.5 ? fl + 1 : fl;
  return x < 0 ? -m : m;
}

export interface FixedPoint extends NumberSystem<number> {
  readonly bits: number;
  /** Largest k, 2^{2s} − 1; the largest value is B_s = limit·2^{−s}. */
  readonly limit: number;
  /** The F_s value nearest to an exact rational (ties toward zero, saturating). */
  round(x: Rational): number;
  exp(a: number): number;
}

const cache = new Map<number, FixedPoint>();

export function fixedPoint(bits: number): FixedPoint {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new UsageError(`fixed:s needs a whole number of bits s from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`);
  }
  const hit = cache.get(bits);
  if (hit) return hit;
  const scale = 2 ** bits;
  const scaleBig = 1n << BigInt(bits);
  const limit = 2 ** (2 * bits) - 1;
  const sat = (k: number) => (k > limit ? limit : k < -limit ? -limit : k);
  const satBig = (k: bigint) => sat(Number(k > BigInt(limit) ? BigInt(limit) : k < -BigInt(limit) ? -BigInt(limit) : k));

  const round = (x: Rational): number => {
    const num = (x.s < 0n ? -x.n : x.n) * scaleBig;
    return satBig(roundHalfDown(num, x.d));
  };

  const mul = (a: number, b: number): number => {
    const p = a * b;
    if (Number.isSafeInteger(p)) return sat(roundHalfDownNumber(p / scale)); // p/2^s is exact
    return satBig(roundHalfDown(BigInt(a) * BigInt(b), scaleBig));
  };

  const div = (a: number, b: number): number => {
    if (b === 0) throw new NumericError(`division by zero in fixed:${bits}`);
    const num = BigInt(a) * scaleBig;
    const den = BigInt(b);
    return satBig(den < 0n ? roundHalfDown(-num, -den) : roundHalfDown(num, den));
  };

  const exp = (a: number): number => {
    const e = Math.exp(a / scale);
    if (!Number.isFinite(e)) return limit;
    // e·2^s is an exact scaling of the double; rounding it gives the nearest F_s value of that double.
    return sat(roundHalfDownNumber(e * scale));
  };

  const system: FixedPoint = {
    name: `fixed:${bits}`,
    bits,
    limit,
    zero: 0,
    one: sat(scale),
    round,
    exp,
    fromWeight: (_value, r) => round(r),
    fromInt: (k) => sat(k * scale),
    add: (a, b) => sat(a + b),
    mul,
    div,
    relu: (a) => (a > 0 ? a : 0),
    cmp: (a, b) => a - b,
    isZero: (a) => a === 0,
    toNumber: (a) => a / scale,
    toExact: (a) => new Fraction(BigInt(a), scaleBig).toFraction(),
    // The paper's softmax: exp of each score, their sum, each quotient, all rounded into F_s.
    // No subtraction of the maximum: Lemmas B.1/B.2 rely on exp(−B_s) rounding to 0 and
    // exp(B_s) saturating, and the constructions put the winning score at 0.
    softmax(scores) {
      const e = scores.map(exp);
      let sum = 0;
      for (const x of e) sum = sat(sum + x);
      if (sum === 0) {
        throw new NumericError(`softmax in fixed:${bits}: every exp(score) rounded to 0, so the weights are 0/0`);
      }
      return e.map((x) => div(x, sum));
    },
  };
  cache.set(bits, system);
  return system;
}
