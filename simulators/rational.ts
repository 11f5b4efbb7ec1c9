// Exact rationals for weights and the exact interpreter. mathjs's Fraction (fraction.js, BigInt
// inside) is the representation; this module adds what it lacks: an *exact* conversion from a
// double (mathjs's own approximates 0.1 by 1/10, which is not the double 0.1) and a parser that
// refuses anything that is not a finite rational.
import { Fraction } from 'mathjs';

export type Rational = Fraction;
/** A weight as a user may write it: a number, a rational string like "3/4" or "-2.5", or a Fraction. */
export type Scalar = number | string | Rational;

export const ZERO: Rational = new Fraction(0);
export const ONE: Rational = new Fraction(1);

/** The exact rational value of a finite double (every finite double is a dyadic rational). */
export function exactFromDouble(x: number): Rational {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  if (Number.isInteger(x) && Number.isSafeInteger(x)) return new Fraction(x);
  // x = m · 2^e with m an integer: scale by 2 until the value is an integer (at most 1074 steps).
  let m = x;
  let e = 0;
  while (!Number.isInteger(m)) {
    m *= 2;
    e += 1;
  }
  return new Fraction(BigInt(m), 1n << BigInt(e));
}

const RATIONAL_TEXT = /^\s*([+-]?\d+)(?:\s*\/\s*(\d+))?\s*$/;
const DECIMAL_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** Parses "3/4", "-2", "0.125" or "1e-3" into an exact rational; anything else is an error. */
export function parseRational(text: string): Rational {
  const m = RATIONAL_TEXT.exec(text);
  if (m) {
    const den = m[2] === undefined ? 1n : BigInt(m[2]);
    if (den === 0n) throw new RangeError(`rational "${text}" has a zero denominator`);
    return new Fraction(BigInt(m[1]), den);
  }
  const decimal = DECIMAL_TEXT.exec(text);
  if (decimal) {
    // fraction.js reads a plain decimal exactly but refuses an exponent, so 10^e is applied here.
    const mantissa = new Fraction(text.trim().replace(/e.*$/i, ''));
    const e = decimal[2] === undefined ? 0 : Number(decimal[2].slice(1));
    if (!Number.isSafeInteger(e) || Math.abs(e) > 400) throw new RangeError(`"${text}" has an exponent beyond a double's range`);
    const p = new Fraction(10n ** BigInt(Math.abs(e)), 1n);
    return e >= 0 ? mantissa.mul(p) : mantissa.div(p);
  }
  throw new RangeError(`"${text}" is not a rational number (expected forms: 3, -3/4, 0.125)`);
}

export function toRational(value: Scalar): Rational {
  if (typeof value === 'number') return exactFromDouble(value);
  if (typeof value === 'string') return parseRational(value);
  return value;
}

/** The double nearest to a rational (exact for dyadic rationals that fit). */
export function rationalToNumber(r: Rational): number {
  return r.valueOf();
}

/** True when the double `toNumber(r)` is exactly r, so storing the double loses nothing. */
export function isExactAsDouble(r: Rational): boolean {
  const x = r.valueOf();
  return Number.isFinite(x) && exactFromDouble(x).equals(r);
}

/** "3/4", "-2": the form model files use. */
export function formatRational(r: Rational): string {
  return r.toFraction();
}

/**
 * A number read from an untrusted file: a finite JSON number or a rational string. `fail` throws
 * an error naming the field; `what` says what the value is ("weights", "a scale").
 */
export function scalarFromJson(v: unknown, fail: (message: string) => never, what: string, show: (v: unknown) => string = JSON.stringify): number | string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(`is ${v}; ${what} must be finite`);
    return v;
  }
  if (typeof v === 'string') {
    try {
      parseRational(v);
    } catch (e) {
      fail((e as Error).message);
    }
    return v;
  }
  return fail(v === undefined ? 'is missing (a number or a rational string like "3/4")' : `must be a number or a rational string, got ${show(v)}`);
}
