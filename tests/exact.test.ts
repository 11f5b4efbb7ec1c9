import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { type ExactValue, exact, exactFractions } from '../simulators/arithmetic/exact.ts';
import { exactFromDouble, parseRational } from '../simulators/rational.ts';
import { Fraction } from 'mathjs';

type Op = { op: 'add' | 'mul' | 'div' | 'relu'; a: number; b: number };

// Operands: small integers, dyadic fractions, doubles of every scale, and huge/tiny values that
// force the BigInt path; ops refer to earlier results, so exact and inexact values mix.
const operand = fc.oneof(
  fc.integer({ min: -20, max: 20 }),
  fc.integer({ min: -64, max: 64 }).map((k) => k / 8),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.constantFrom(2 ** 60, -(2 ** 60) + 1, 2 ** -30, 3 ** 33, 1 / 3, 0.1, 2 ** 450, 2 ** -450),
);

describe('exact arithmetic (doubles while provably exact, Fractions otherwise)', () => {
  it('computes the same rationals as plain mathjs Fractions', () => {
    fc.assert(
      fc.property(fc.array(operand, { minLength: 2, maxLength: 6 }), fc.array(fc.record({ op: fc.constantFrom('add', 'mul', 'div', 'relu'), a: fc.nat(), b: fc.nat() }), { maxLength: 25 }), (seeds, ops: Op[]) => {
        const fast: ExactValue[] = seeds.map((x) => exact.fromWeight(x, exactFromDouble(x)));
        const slow: Fraction[] = seeds.map((x) => exactFromDouble(x));
        for (const { op, a, b } of ops) {
          const i = a % fast.length;
          const j = b % fast.length;
          if (op === 'relu') {
            fast.push(exact.relu(fast[i]));
            slow.push(exactFractions.relu(slow[i]));
          } else if (op === 'div') {
            if (exactFractions.isZero(slow[j])) continue;
            fast.push(exact.div(fast[i], fast[j]));
            slow.push(exactFractions.div(slow[i], slow[j]));
          } else {
            fast.push(exact[op](fast[i], fast[j]));
            slow.push(exactFractions[op](slow[i], slow[j]));
          }
        }
        fast.forEach((v, k) => {
          if (exact.toExact!(v) !== slow[k].toFraction()) throw new Error(`value ${k}: ${exact.toExact!(v)} vs ${slow[k].toFraction()}`);
          if (exact.cmp(v, fast[0]) !== exactFractions.cmp(slow[k], slow[0])) throw new Error(`comparison ${k} differs`);
        });
      }),
      fcParams(1000),
    );
  });

  it('falls back to a Fraction where a double would round', () => {
    expect(exact.div(1, 3)).toBeInstanceOf(Fraction);
    expect(exact.toExact!(exact.div(1, 3))).toBe('1/3');
    expect(exact.add(2 ** 53, 1)).toBeInstanceOf(Fraction); // 2^53 + 1 is not a double
    expect(exact.toExact!(exact.add(2 ** 53, 1))).toBe('9007199254740993');
    expect(exact.mul(0.1, 3)).toBeInstanceOf(Fraction); // the double 0.1 times 3, exactly
    expect(typeof exact.div(3, 4)).toBe('number');
    expect(exact.div(3, 4)).toBe(0.75);
  });
});

describe('parseRational', () => {
  it('reads fractions, decimals and decimal exponents exactly, and refuses the rest', () => {
    const cases: [string, string][] = [
      ['3/4', '3/4'],
      ['-2', '-2'],
      ['0.125', '1/8'],
      ['1e-3', '1/1000'],
      ['1.5e2', '150'],
      ['-2.5E-1', '-1/4'],
    ];
    for (const [text, want] of cases) expect(parseRational(text).toFraction(), text).toBe(want);
    for (const bad of ['0x10', '1/0', 'pi', '', '1e', '1e99999']) expect(() => parseRational(bad), bad).toThrow(RangeError);
  });
});
