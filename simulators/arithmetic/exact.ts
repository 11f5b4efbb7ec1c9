// Exact rational arithmetic. A value is a double while every operation on it is provably exact
// (checked with error-free transforms), and a mathjs Fraction (BigInt inside) from the first
// operation that is not — a division by 3, a sum that needs more than 53 bits. The constructions
// are mostly small integers and dyadic rationals, so most operations never allocate; the result
// is the same exact rational a pure Fraction computation gives (tests/exact.test.ts checks it).
// `exactFractions` is the plain mathjs version, kept as the reference and the baseline for
// bench/exact.ts.
import { Fraction } from 'mathjs';
import { type Rational, exactFromDouble, isExactAsDouble } from '../rational.ts';
import type { NumberSystem } from './number-system.ts';

const ZERO = new Fraction(0);
const ONE = new Fraction(1);

export const exactFractions: NumberSystem<Rational> = {
  name: 'exact',
  zero: ZERO,
  one: ONE,
  fromWeight: (_value, r) => r,
  fromInt: (k) => new Fraction(k),
  add: (a, b) => a.add(b),
  mul: (a, b) => a.mul(b),
  div: (a, b) => a.div(b),
  relu: (a) => (a.s < 0n && a.n !== 0n ? ZERO : a),
  cmp: (a, b) => a.compare(b),
  isZero: (a) => a.n === 0n,
  toNumber: (a) => a.valueOf(),
  toExact: (a) => a.toFraction(),
};

export type ExactValue = number | Rational;

// Doubles within [2^−400, 2^400] in magnitude (or 0): there Dekker's split cannot overflow and
// products cannot underflow, so the error-free transforms below are valid.
const LO = 2 ** -400;
const HI = 2 ** 400;
const safe = (x: number) => x === 0 || (Math.abs(x) >= LO && Math.abs(x) <= HI);
const SPLITTER = 134217729; // 2^27 + 1

/** a + b when the double sum is exact (Knuth's TwoSum error is 0), else NaN. */
function exactSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  const err = a - (s - bb) + (b - bb);
  return err === 0 && safe(s) ? s : NaN;
}

/** a · b when the double product is exact (Dekker's TwoProduct error is 0), else NaN. */
function exactProduct(a: number, b: number): number {
  const p = a * b;
  if (!safe(p)) return NaN;
  const ca = SPLITTER * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLITTER * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  const err = ah * bh - p + ah * bl + al * bh + al * bl;
  return err === 0 ? p : NaN;
}

const asFraction = (x: ExactValue): Rational => (typeof x === 'number' ? exactFromDouble(x) : x);

export const exact: NumberSystem<ExactValue> = {
  name: 'exact',
  zero: 0,
  one: 1,
  fromWeight: (value, r) => (isExactAsDouble(r) && safe(value) ? value : r),
  fromInt: (k) => k,
  add(a, b) {
    if (typeof a === 'number' && typeof b === 'number') {
      const s = exactSum(a, b);
      if (s === s) return s; // not NaN
    }
    return asFraction(a).add(asFraction(b));
  },
  mul(a, b) {
    if (typeof a === 'number' && typeof b === 'number') {
      const p = exactProduct(a, b);
      if (p === p) return p;
    }
    return asFraction(a).mul(asFraction(b));
  },
  div(a, b) {
    if (typeof a === 'number' && typeof b === 'number' && b !== 0) {
      const q = a / b;
      if (safe(q) && exactProduct(q, b) === a) return q;
    }
    return asFraction(a).div(asFraction(b));
  },
  relu: (a) => (typeof a === 'number' ? (a > 0 ? a : 0) : a.s < 0n && a.n !== 0n ? 0 : a),
  cmp: (a, b) => (typeof a === 'number' && typeof b === 'number' ? (a < b ? -1 : a > b ? 1 : 0) : asFraction(a).compare(asFraction(b))),
  isZero: (a) => (typeof a === 'number' ? a === 0 : a.n === 0n),
  toNumber: (a) => (typeof a === 'number' ? a : a.valueOf()),
  toExact: (a) => asFraction(a).toFraction(),
};
