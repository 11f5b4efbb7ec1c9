import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { fixedPoint, roundHalfDown } from '../simulators/arithmetic/fixed.ts';

const frac = (n: number, d = 1) => new Fraction(n, d);

describe('fixed point F_s', () => {
  const f4 = fixedPoint(4); // resolution 1/16, B_4 = 16 − 1/16

  it('rounds to nearest with ties toward the smaller magnitude', () => {
    expect(roundHalfDown(5n, 2n)).toBe(2n); // 2.5 → 2
    expect(roundHalfDown(-5n, 2n)).toBe(-2n); // −2.5 → −2
    expect(roundHalfDown(7n, 2n)).toBe(3n); // 3.5 → 3, not 4 (not ties-to-even)
    expect(roundHalfDown(11n, 4n)).toBe(3n); // 2.75 → 3
    expect(f4.toNumber(f4.round(frac(1, 32)))).toBe(0); // exactly half a step → 0
    expect(f4.toNumber(f4.round(frac(3, 32)))).toBe(1 / 16); // 1.5 steps → 1 step
    expect(f4.toNumber(f4.round(frac(-3, 32)))).toBe(-1 / 16);
    expect(f4.toNumber(f4.round(frac(1, 3)))).toBe(5 / 16); // 5.33 steps → 5
  });

  it('saturates at ±B_s = 2^s − 2^−s', () => {
    const B = 16 - 1 / 16;
    expect(f4.toNumber(f4.round(frac(1000)))).toBe(B);
    expect(f4.toNumber(f4.round(frac(-1000)))).toBe(-B);
    expect(f4.toNumber(f4.add(f4.round(frac(15)), f4.round(frac(15))))).toBe(B);
    expect(f4.toNumber(f4.mul(f4.round(frac(8)), f4.round(frac(8))))).toBe(B);
  });

  it('exp(−B_s) rounds to 0 and exp(B_s) rounds to B_s (Lemmas B.1, B.2)', () => {
    for (const s of [2, 4, 8, 12, 20, 26]) {
      const f = fixedPoint(s);
      const B = f.limit;
      expect(f.exp(-B)).toBe(0);
      expect(f.exp(B)).toBe(B);
      expect(f.exp(0)).toBe(f.one);
    }
  });

  it('softmax of scores (0, −B_s, −B_s) is exactly one-hot', () => {
    const f = fixedPoint(6);
    expect(f.softmax!([0, -f.limit, -f.limit])).toEqual([f.one, 0, 0]);
  });

  it('softmax whose sum saturates: the denominator is rounded into F_s too, so fixed:2 softmax([B_s, B_s, 0]) = [1, 1, 0.25]', () => {
    // fixed:2: B_2 = 4 − 1/4. exp(B_2) saturates to B_2 and exp(0) = 1; the running sum saturates at
    // B_2, so the weights are B_2/B_2 = 1, twice, and 1/B_2 = 4/15 → 1/4 (issue #18). Without the
    // saturation the sum would be 8.5 and the weights [1/2, 1/2, 0].
    const f = fixedPoint(2);
    const B = f.limit;
    expect(f.softmax!([B, B, 0]).map((w) => f.toNumber(w))).toEqual([1, 1, 0.25]);
    // fixed:4: exp(B_4) saturates, the sum with exp(0) = 1 saturates, 1/B_4 → 1/16.
    const f4s = fixedPoint(4);
    expect(f4s.softmax!([f4s.limit, 0]).map((w) => f4s.toNumber(w))).toEqual([1, 1 / 16]);
    // Three scores of 1 in fixed:1 (B_1 = 3/2): exp(1) → 3/2 each, the sum stops at 3/2.
    const f1 = fixedPoint(1);
    expect(f1.softmax!([f1.one, f1.one, f1.one]).map((w) => f1.toNumber(w))).toEqual([1, 1, 1]);
  });

  it('softmax is exp rounded, the saturated sum min(B_s, Σ exp), each quotient rounded once — sums that saturate included', () => {
    let saturated = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((s) => {
          const limit = 2 ** (2 * s) - 1;
          return fc.tuple(fc.constant(s), fc.array(fc.oneof(fc.integer({ min: -limit, max: limit }), fc.integer({ min: 0, max: 3 * 2 ** s })), { minLength: 1, maxLength: 6 }));
        }),
        ([s, scores]) => {
          const f = fixedPoint(s);
          const e = scores.map((x) => f.exp(x));
          const total = e.reduce((a, b) => a + b, 0);
          fc.pre(total > 0);
          const sum = Math.min(f.limit, total);
          if (total > f.limit) saturated++;
          const want = e.map((x) => f.round(frac(x, sum)));
          expect(f.softmax!(scores)).toEqual(want);
        },
      ),
      fcParams(500),
    );
    expect(saturated).toBeGreaterThan(50);
  });

  it('refuses a softmax whose every exp rounds to 0 instead of dividing 0 by 0', () => {
    const f = fixedPoint(3);
    expect(() => f.softmax!([-f.limit, -f.limit])).toThrow(/rounded to 0/);
  });

  it('every operation is the exact result rounded once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 26 }), fc.integer(), fc.integer(), fc.integer({ min: 1, max: 2 ** 30 }), (s, a0, b0, den) => {
        const f = fixedPoint(s);
        const a = f.round(frac(a0, den));
        const b = f.round(frac(b0, den));
        const ex = (k: number) => new Fraction(BigInt(k), 1n << BigInt(s));
        const check = (got: number, exact: Fraction) => {
          const want = f.round(exact);
          if (got !== want) throw new Error(`s=${s}: got ${got}, the rounded exact value is ${want}`);
        };
        check(f.add(a, b), ex(a).add(ex(b)));
        check(f.mul(a, b), ex(a).mul(ex(b)));
        if (b !== 0) check(f.div(a, b), ex(a).div(ex(b)));
        // rounding itself: within half a step, or saturated
        const x = frac(a0, den);
        const err = ex(f.round(x)).sub(x).abs();
        const half = new Fraction(1n, 1n << BigInt(s + 1));
        if (Math.abs(f.round(x)) < f.limit && err.compare(half) > 0) throw new Error(`rounding error ${err} above half a step`);
      }),
      fcParams(500),
    );
  });

  it('refuses a bit count outside 1..26', () => {
    expect(() => fixedPoint(0)).toThrow(/1 to 26/);
    expect(() => fixedPoint(27)).toThrow(/1 to 26/);
    expect(() => fixedPoint(2.5)).toThrow(/whole number/);
  });
});
