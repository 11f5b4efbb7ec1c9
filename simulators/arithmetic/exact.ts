// Exact rational arithmetic (mathjs Fraction, BigInt inside). No exp, hence no softmax: heads
// must use average-hard attention here, and asking for softmax is refused by the interpreter.
import { Fraction } from 'mathjs';
import type { Rational } from '../rational.ts';
import type { NumberSystem } from './number-system.ts';

const ZERO = new Fraction(0);
const ONE = new Fraction(1);

export const exact: NumberSystem<Rational> = {
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
