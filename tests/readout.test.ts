// The one readout rule (simulators/readout.ts) that the generic, fast and gpu interpreters share:
// ties are never broken, exact values are compared exactly, a NaN logit makes a tie, and the
// batched paths agree with the generic one on those edge cases too (before the rule was shared,
// fast64 read a NaN logit as "no top token, margin NaN" where float64 read a tie).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fraction } from 'mathjs';
import { exact } from '../simulators/arithmetic/exact.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { addStage, createModel } from '../simulators/model.ts';
import { FLOAT_ORDER, noAttention, readoutOf, runResult } from '../simulators/readout.ts';
import { space } from '../simulators/space.ts';

describe('readoutOf', () => {
  it('a unique best is the token, with the gap to the runner-up as margin', () => {
    expect(readoutOf([0.5, 2, -1], 3, FLOAT_ORDER)).toEqual({ position: 3, logits: [0.5, 2, -1], top: [1], token: 1, margin: 1.5 });
  });

  it('a tie for the best is no token, every tied index in top, margin 0', () => {
    expect(readoutOf([2, 0, 2], 0, FLOAT_ORDER)).toEqual({ position: 0, logits: [2, 0, 2], top: [0, 2], token: null, margin: 0 });
  });

  it('a one-token vocabulary has margin Infinity', () => {
    expect(readoutOf([-3], 0, FLOAT_ORDER)).toMatchObject({ top: [0], token: 0, margin: Infinity });
  });

  it('a NaN logit ties with the best (it is never skipped silently)', () => {
    expect(readoutOf([1, Number.NaN, 3], 0, FLOAT_ORDER)).toMatchObject({ top: [1, 2], token: null, margin: 0 });
    expect(readoutOf([Number.NaN, 1, 3], 0, FLOAT_ORDER)).toMatchObject({ token: null, margin: 0 });
  });

  it('exact values that one double cannot tell apart are still told apart, and keep their exact text', () => {
    const a = new Fraction(1);
    const b = a.add(new Fraction(1n, 10n ** 30n));
    expect(a.valueOf()).toBe(b.valueOf());
    const r = readoutOf([a, b], 0, exact);
    expect(r.token).toBe(1);
    expect(r.top).toEqual([1]);
    expect(r.exactLogits).toEqual([a.toFraction(), b.toFraction()]);
  });

  it('agrees with a plain argmax wherever the best is unique (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 8 }), (xs) => {
        const r = readoutOf(xs, 0, FLOAT_ORDER);
        const best = Math.max(...xs);
        const top = xs.flatMap((x, k) => (x === best ? [k] : []));
        expect(r.top).toEqual(top);
        expect(r.token).toBe(top.length === 1 ? top[0] : null);
        const rest = xs.filter((x) => x !== best);
        expect(r.margin).toBe(top.length > 1 ? 0 : rest.length === 0 ? Infinity : best - Math.max(...rest));
      }),
      { seed: 17, numRuns: 300 },
    );
  });
});

describe('runResult', () => {
  it('answers with the last readout, and takes the smallest margin over the readouts', () => {
    const rs = [readoutOf([0, 1], 0, FLOAT_ORDER), readoutOf([3, 0.5], 1, FLOAT_ORDER)];
    const r = runResult('float64', [1, 0], rs, noAttention());
    expect(r).toMatchObject({ interpreter: 'float64', tokens: [1, 0], answer: 0, tie: false });
    expect(r.margins).toEqual({ attention: Infinity, attentionSite: null, attentionTies: 0, logit: 1 });
    expect('trace' in r).toBe(false);
  });
});

describe('every CPU interpreter reads overflowing logits the same way', () => {
  // Token 0 embeds as (big, big); W_U sends them to vocab 0 with +10 and −10, so that logit is
  // +Infinity + (−Infinity) = NaN in the precision, while vocab 1 reads 0. Token 1 is a clean case.
  for (const [generic, fast, big] of [
    ['float64', 'fast64', 1e308],
    ['float32', 'fast32', 3e38],
  ] as const) {
    it(`${fast} equals ${generic}: a NaN logit is a tie in both`, () => {
      const residual = space({ a: 1, b: 1 });
      const model = createModel({ name: 'overflow', vocab: ['x', 'y'], residual, maxLen: 2, readout: 'all' });
      model.W_E.write('vocab', 'a', [[big], [1]]);
      model.W_E.write('vocab', 'b', [[big], [0]]);
      model.W_U.write('a', 'vocab', [[10, 0]]);
      model.W_U.write('b', 'vocab', [[-10, 1]]);
      addStage(model, [], 1);
      const inputs = [[0], [1], [1, 0]];
      const want = inputs.map((t) => interpreterByName(generic).run(model, t));
      const got = interpreterByName(fast).runBatch!(model, inputs);
      expect(Number.isNaN(want[0].readouts[0].logits[0])).toBe(true);
      expect(want[0]).toMatchObject({ answer: null, tie: true });
      expect(want[0].readouts[0]).toMatchObject({ top: [0, 1], margin: 0 });
      got.forEach((g, k) => {
        expect({ ...g, interpreter: generic }).toEqual(want[k]);
      });
    });
  }
});
