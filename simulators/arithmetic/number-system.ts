// The contract every number system behind the generic interpreter meets. The interpreter only
// ever adds, multiplies, divides, applies ReLU and compares; a system decides how each operation
// rounds, and whether it can compute a softmax at all.
import type { Rational } from '../rational.ts';

export interface NumberSystem<T> {
  /** 'exact', 'fixed:8', 'float64', 'float32'. */
  readonly name: string;
  readonly zero: T;
  readonly one: T;
  /** A weight, given as its double and its exact value (systems pick the one they need). */
  fromWeight(value: number, exact: Rational): T;
  fromInt(k: number): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  relu(a: T): T;
  /** Negative, zero or positive as a < b, a = b, a > b. */
  cmp(a: T, b: T): number;
  isZero(a: T): boolean;
  toNumber(a: T): number;
  /** Exact text of a value, where the system has one ("3/4"). */
  toExact?(a: T): string;
  /**
   * Attention weights from scores. Absent where the system cannot represent exp (exact
   * rationals): the interpreter then refuses softmax heads instead of approximating.
   */
  softmax?(scores: readonly T[]): T[];
}
