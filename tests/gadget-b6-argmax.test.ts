// Lemma B.6 (argmax as a ReLU net): exhaustively over its input range for small s, under exact and
// fixed:s; on random inputs over all of F_s for large s; a deliberately wrong variant caught.
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { type Construction, allWords } from '../proofs/construction.ts';
import { buildArgmax, lemmaB6Argmax, maximisers, writeArgmax } from '../proofs/gadgets/argmax.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { createLayer, createModel } from '../simulators/model.ts';
import { space } from '../simulators/space.ts';
import { RUNS, opts, q, top, sweep, expectAllPass, asTokens, numerators, claimedRows } from './support/gadgets.ts';

// ================================================================ Lemma B.6

describe('Lemma B.6: argmax as a ReLU net', () => {
  it('builds 2 layers of width d(d−1) against the claimed 3 layers of width d²; the harness sizes are as stated', () => {
    for (const d of [1, 2, 3, 5, 8]) {
      const b = lemmaB6Argmax.build({ d, s: 2, r: 3 });
      const rows = claimedRows(lemmaB6Argmax as Construction, b);
      expect(rows.layersPerBlock).toEqual({ built: 2, claimed: 3 });
      expect(rows.mlpWidth).toEqual({ built: d === 1 ? 1 : Math.max(d * (d - 1), 2 * d), claimed: d * d });
      for (const key of ['loops', 'bits'] as const) expect(rows[key].built, key).toBe(rows[key].claimed);
      // The lemma sizes no heads or width (the harness is the project's), so neither is claimed.
      expect(rows.heads === undefined && rows.width === undefined).toBe(true);
    }
  });

  it('is exact on ALL of F_2^3 and F_3^2 under exact and fixed:s: one-hot at a unique maximum, 1 at every maximiser on a tie', () => {
    for (const [d, s] of [[3, 2], [2, 3]]) {
      const b = buildArgmax({ d, s, values: Array.from({ length: 2 * top(s) + 1 }, (_, i) => q(i - top(s), s)) });
      expectAllPass(b, () => allWords(b.exhaustive!), (2 * top(s) + 1) ** d);
    }
    // What the readout makes of it: the probe token of the argmax, or a tie.
    const b = lemmaB6Argmax.build({ d: 3, s: 2, r: 'auto' });
    const run = (labels: string[]) => interpreterByName('fixed:2').run(b.model, b.parseInput(JSON.stringify(labels)));
    expect(b.model.vocab.labels[run(['-1/4', '3', '11/4']).answer!]).toBe('→onehot[1]');
    const tie = run(['3', '-15/4', '3']);
    expect(b.decode(tie)).toEqual(['1', '0', '1']);
    expect(tie.answer).toBeNull();
    expect(b.formatAnswer(b.decode(tie))).toEqual({ onehot: ['1', '0', '1'], argmax: null });
  });

  it('s = 4: every value of F_4 against its grid neighbours, itself, 0 and ±B_4, in both orders', () => {
    const s = 4;
    const all = Array.from({ length: 2 * top(s) + 1 }, (_, i) => i - top(s));
    const b = buildArgmax({ d: 2, s, values: all.map((k) => q(k, s)) });
    const id = (k: number) => k + top(s);
    const pairs = function* () {
      for (const k of all) {
        for (const m of [k - 1, k, k + 1, 0, top(s), -top(s)]) {
          if (Math.abs(m) > top(s)) continue;
          yield [id(k), id(m)];
          yield [id(m), id(k)];
        }
      }
    };
    expectAllPass(b, pairs);
  });

  it(`holds on random inputs over all of F_s for s = 8, 16, 26 (${RUNS} runs each, near-ties included)`, () => {
    for (const s of [8, 16, 26]) {
      const arb = fc.integer({ min: 2, max: 5 }).chain((d) => numerators(s, d));
      fc.assert(
        fc.property(arb, (ks) => {
          const { vocab, input } = asTokens(ks.map((k) => q(k, s)));
          const b = buildArgmax({ d: ks.length, s, values: vocab });
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, input)), `${k.interpreter} on ${ks}`).toEqual(b.reference(input));
        }),
        opts,
      );
    }
  });

  it('under exact arithmetic it holds for grid values of any size (the lemma has no range)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(10 ** 9), max: 10 ** 9 }), { minLength: 2, maxLength: 4 }), (ks) => {
        const { vocab, input } = asTokens(ks.map((k) => q(k, 3)));
        const b = buildArgmax({ d: ks.length, s: 3, values: vocab });
        expect(b.decode(interpreterByName('exact').run(b.model, input))).toEqual(maximisers(input.map((t) => vocab[t])));
      }),
      opts,
    );
  });

  it('needs the grid: a value 2^−(s+1) below the maximum gets 1/2, not 0 (precondition broken)', () => {
    const b = buildArgmax({ d: 2, s: 2, values: [q(0, 2), new Fraction(1, 8)] });
    expect(b.decode(interpreterByName('exact').run(b.model, [0, 1]))).toEqual(['1/2', '1']);
  });

  it('needs s ≥ 2 in F_s: at s = 1 the weight 2^s rounds to B_1 and the maximum gets 1/2 (exact still gives 1)', () => {
    const b = buildArgmax({ d: 2, s: 1, values: [q(-1, 1), q(1, 1)] });
    expect(b.decode(interpreterByName('exact').run(b.model, [0, 1]))).toEqual(['0', '1']);
    expect(b.decode(interpreterByName('fixed:1').run(b.model, [0, 1]))).toEqual(['0', '1/2']);
  });

  it('a wrong bias (−2^−s on the unit relu(x_1 − x_0)) is caught by the exhaustive check, exactly on the near-ties', () => {
    const s = 2;
    const b = buildArgmax({ d: 2, s, values: Array.from({ length: 2 * top(s) + 1 }, (_, i) => q(i - top(s), s)) });
    b.model.stages[0].layers[0].mlp!.b_in.set(['argmax.above', 0], -(2 ** -s));
    for (const interpreter of ['exact', 'fixed:2']) {
      const r = sweep(b, interpreter, allWords(b.exhaustive!));
      // Entry 0 now reads 1 also when x_1 is exactly one grid step above it: 30 such pairs of F_2.
      expect(r.count, interpreter).toBe(2 * top(s));
      for (const f of r.first) expect(f.input[1] - f.input[0]).toBe(1);
    }
  });

  it('writeArgmax names a wrong size, an overlap and a wrong layer count', () => {
    const model = createModel({ name: 't', vocab: ['a'], residual: space({ x: 3, y: 3, z: 2 }), maxLen: 1 });
    const two = [createLayer(), createLayer()];
    expect(() => writeArgmax(model, two, { name: 'am', from: 'x', to: 'y', scratch: 'z', s: 2 })).toThrow(/argmax 'am': scratch "z" has 2 directions but from has 3/);
    expect(() => writeArgmax(model, two, { name: 'am', from: 'x', to: 'y', scratch: 'y', s: 2 })).toThrow(/to "y" and scratch "y" overlap/);
    expect(() => writeArgmax(model, [createLayer()], { name: 'am', from: 'x', to: 'y', scratch: 'x', s: 2 })).toThrow(/2 layers deep but 1 were given/);
  });
});
