// Exact arithmetic for the certifier: every weight of the model and every canonical residual
// vector is a rational; the certifier picks one common denominator D (the least common multiple
// of all their denominators) and computes with integer numerators. A value "at level k" is a
// BigInt numerator over D^k: a product of a level-k value and a weight (level 1) is at level
// k + 1, a sum of values at different levels is taken at the higher one. Nothing is rounded, so
// an obligation that holds here holds for the exact interpreter — there is no error analysis to
// trust. (BigInt rather than mathjs Fractions: no gcd on every operation; with D = 1, the usual
// case, these are plain integers.)
import type { Rational } from '../simulators/rational.ts';

/** A vector at a level: entries num[r] / D^level. */
export interface ExactVector {
  readonly num: readonly bigint[];
  readonly level: number;
}

/** One nonzero weight of a sparse row: the column and its numerator over D. */
export interface ExactEntry {
  readonly col: number;
  readonly w: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The least common multiple of the denominators of the given rationals (1 for integers). */
export function commonDenominator(values: Iterable<Rational>, start = 1n): bigint {
  let D = start;
  for (const v of values) {
    const d = BigInt(v.d);
    if (D % d !== 0n) D = (D / gcd(D, d)) * d;
  }
  return D;
}

/** Arithmetic over one common denominator D. */
export class Exact {
  private readonly powers: bigint[] = [1n];

  constructor(readonly D: bigint) {}

  private power(k: number): bigint {
    while (this.powers.length <= k) this.powers.push(this.powers[this.powers.length - 1] * this.D);
    return this.powers[k];
  }

  /** A rational as a numerator at level 1 (its denominator must divide D). */
  weight(v: Rational): bigint {
    const n = BigInt(v.s) * BigInt(v.n);
    const d = BigInt(v.d);
    if (this.D % d !== 0n) throw new Error(`internal: denominator ${d} does not divide D = ${this.D}`);
    return n * (this.D / d);
  }

  vector(values: readonly Rational[]): ExactVector {
    return { num: values.map((v) => this.weight(v)), level: 1 };
  }

  zero(dim: number, level = 1): ExactVector {
    return { num: new Array<bigint>(dim).fill(0n), level };
  }

  lift(v: ExactVector, level: number): ExactVector {
    if (level === v.level) return v;
    if (level < v.level) throw new Error('internal: cannot lower a level');
    const f = this.power(level - v.level);
    return { num: v.num.map((x) => x * f), level };
  }

  add(a: ExactVector, b: ExactVector): ExactVector {
    const level = Math.max(a.level, b.level);
    const [x, y] = [this.lift(a, level), this.lift(b, level)];
    return { num: x.num.map((v, i) => v + y.num[i]), level };
  }

  sub(a: ExactVector, b: ExactVector): ExactVector {
    const level = Math.max(a.level, b.level);
    const [x, y] = [this.lift(a, level), this.lift(b, level)];
    return { num: x.num.map((v, i) => v - y.num[i]), level };
  }

  /** y = x W for a row vector x and sparse rows of W (weights at level 1): level + 1. */
  times(x: ExactVector, rows: readonly (readonly ExactEntry[])[], outDim: number): ExactVector {
    const y = new Array<bigint>(outDim).fill(0n);
    for (let r = 0; r < x.num.length; r++) {
      const xr = x.num[r];
      if (xr === 0n) continue;
      for (const { col, w } of rows[r]) y[col] += xr * w;
    }
    return { num: y, level: x.level + 1 };
  }

  /** ⟨a, b⟩ at level a.level + b.level. */
  dot(a: ExactVector, b: ExactVector): { num: bigint; level: number } {
    let s = 0n;
    for (let i = 0; i < a.num.length; i++) if (a.num[i] !== 0n && b.num[i] !== 0n) s += a.num[i] * b.num[i];
    return { num: s, level: a.level + b.level };
  }

  /** A scalar lifted to a level, for comparing scalars of different levels. */
  scalarAt(x: { num: bigint; level: number }, level: number): bigint {
    return x.num * this.power(level - x.level);
  }

  equal(a: ExactVector, b: ExactVector): boolean {
    const level = Math.max(a.level, b.level);
    const [x, y] = [this.lift(a, level), this.lift(b, level)];
    return x.num.every((v, i) => v === y.num[i]);
  }

  isZero(a: ExactVector): boolean {
    return a.num.every((v) => v === 0n);
  }

  /** A string that is equal for equal vectors of the same level (for deduplicating a computed set). */
  key(a: ExactVector): string {
    return a.num.join(',');
  }

  /** The value as a double, for reporting margins. */
  toNumber(x: { num: bigint; level: number }): number {
    return Number(x.num) / Number(this.power(x.level));
  }

  /** One value as exact text, reduced ("−1", "3/4"). */
  formatScalar(x: { num: bigint; level: number }): string {
    const den = this.power(x.level);
    const g = gcd(x.num, den) || 1n;
    const [n, d] = [x.num / g, den / g];
    return d === 1n ? String(n) : `${n}/${d}`;
  }

  /** The entries as exact text, for reporting a vector that is not the expected one. */
  format(a: ExactVector): string {
    return `[${a.num.map((num) => this.formatScalar({ num, level: a.level })).join(', ')}]`;
  }
}
