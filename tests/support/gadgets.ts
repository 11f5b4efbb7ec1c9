// Fixtures shared by the gadget tests (tests/gadget-*.test.ts, Lemmas B.6–B.11): the fast-check
// seed and runs (FC_SEED, default 42; FC_RUNS, default 200), F_s grid values, an exhaustive sweep
// of a built gadget under one interpreter, and the claimed-sizes rows.
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { expect } from 'vitest';
import { type BuiltConstruction, type Construction, compareSizes } from '../../proofs/construction.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import { type Model, modelSizes } from '../../simulators/model.ts';
import type { Rational } from '../../simulators/rational.ts';

export const SEED = Number(process.env.FC_SEED ?? 42);
export const RUNS = Number(process.env.FC_RUNS ?? 200);
export const opts = { seed: SEED, numRuns: RUNS };

export const q = (k: number, s: number): Rational => new Fraction(k, 2 ** s);
export const top = (s: number) => 2 ** (2 * s) - 1; // largest numerator of F_s: B_s = top·2^−s

/** Runs every input under one interpreter; the failing inputs (first few) and how many there were. */
export function sweep<O>(b: BuiltConstruction<number[], O>, interpreter: string, inputs: Iterable<number[]>, model: Model = b.model) {
  const it = interpreterByName(interpreter);
  const first: { input: number[]; got: O; want: O }[] = [];
  let count = 0;
  let total = 0;
  for (const input of inputs) {
    total++;
    const got = b.decode(it.run(model, b.encode(input)));
    const want = b.reference(input);
    if (!b.equal(got, want)) {
      count++;
      if (first.length < 5) first.push({ input, got, want });
    }
  }
  return { count, total, first };
}

/** Both checks of a built gadget hold on every input given. */
export function expectAllPass<O>(b: BuiltConstruction<number[], O>, inputs: () => Iterable<number[]>, expectedTotal?: number) {
  expect(b.checks.map((k) => k.interpreter)).toEqual(['exact', `fixed:${b.bits}`]);
  for (const k of b.checks) {
    const r = sweep(b, k.interpreter, inputs(), k.model);
    expect({ interpreter: k.interpreter, failures: r.count, first: r.first }).toEqual({ interpreter: k.interpreter, failures: 0, first: [] });
    if (expectedTotal !== undefined) expect(r.total).toBe(expectedTotal);
  }
}

/** Distinct values as a vocabulary, and the input as indices into it. */
export function asTokens(values: readonly Rational[]): { vocab: Rational[]; input: number[] } {
  const vocab: Rational[] = [];
  const input = values.map((v) => {
    const i = vocab.findIndex((w) => w.equals(v));
    if (i >= 0) return i;
    vocab.push(v);
    return vocab.length - 1;
  });
  return { vocab, input };
}

/** Numerators of F_s values: uniform over all of F_s, or clustered (near-ties, ±B_s, 0). */
export const numerators = (s: number, length: number) =>
  fc.oneof(
    fc.array(fc.integer({ min: -top(s), max: top(s) }), { minLength: length, maxLength: length }),
    fc
      .tuple(fc.oneof(fc.constantFrom(0, top(s), -top(s)), fc.integer({ min: -top(s), max: top(s) })), fc.array(fc.integer({ min: -2, max: 2 }), { minLength: length, maxLength: length }))
      .map(([base, deltas]) => deltas.map((dl) => Math.max(-top(s), Math.min(top(s), base + dl)))),
  );

/** Built against claimed sizes, by key; every built size must be within its claim. */
export function claimedRows(c: Construction, b: BuiltConstruction<unknown, unknown>) {
  const rows = compareSizes(c, b, modelSizes(b.model)).filter((r) => r.formula !== null);
  for (const r of rows) expect(r.built!, `${c.id} ${r.key} (${r.formula})`).toBeLessThanOrEqual(r.claimed!);
  return Object.fromEntries(rows.map((r) => [r.key, { built: r.built, claimed: r.claimed }]));
}
