// Lemma B.7 (decode the argmax token and re-embed it): exhaustive for small s under exact and
// fixed:s, random over F_s for large s, and a wrong variant caught.
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { sbin } from '../proofs/codes.ts';
import { type Construction, allWords } from '../proofs/construction.ts';
import { buildDecodeEmbed, decodeEmbedReference, lemmaB7DecodeEmbed, sbinTable, writeDecodeEmbed } from '../proofs/gadgets/decode-embed.ts';
import { buildHarness } from '../proofs/gadgets/token-harness.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes } from '../simulators/model.ts';
import { RUNS, opts, q, sweep, expectAllPass, asTokens, numerators, claimedRows } from './support/gadgets.ts';

// ================================================================ Lemma B.7

describe('Lemma B.7: decode the argmax token and re-embed it', () => {
  it('builds 3 layers of width |Σ|(|Σ|−1) against the claimed 5 of width |Σ|²', () => {
    for (const V of [1, 2, 3, 4, 8]) {
      const b = lemmaB7DecodeEmbed.build({ V, s: 2, r: 2 });
      const rows = claimedRows(lemmaB7DecodeEmbed as Construction, b);
      expect(rows.layersPerBlock).toEqual({ built: 3, claimed: 5 });
      expect(rows.mlpWidth).toEqual({ built: V === 1 ? 1 : Math.max(V * (V - 1), 2 * V), claimed: V * V });
      for (const key of ['loops', 'bits'] as const) expect(rows[key].built, key).toBe(rows[key].claimed);
      // The lemma sizes no heads or width (the harness is the project's), so neither is claimed.
      expect(rows.heads === undefined && rows.width === undefined).toBe(true);
    }
  });

  it('is exact on ALL of F_2^3 (every logit vector of 3 tokens) under exact and fixed:2; a tie gives the sum of the tied embeddings', () => {
    const b = lemmaB7DecodeEmbed.build({ V: 3, s: 2, r: 'auto' });
    expectAllPass(b, () => allWords(b.exhaustive!), 31 ** 3);
    const run = (labels: string[]) => b.decode(interpreterByName('fixed:2').run(b.model, b.parseInput(JSON.stringify(labels))));
    expect(run(['1', '-2', '5/4'])).toEqual(sbin(2, 2).map(String));
    expect(b.formatAnswer(run(['1', '-2', '5/4']))).toEqual({ embedding: ['-1', '1'], token: 2 });
    // θ(0) + θ(1) = (−1,−1) + (+1,−1): no token's embedding.
    expect(run(['1', '1', '-1'])).toEqual(['0', '-2']);
    expect(b.formatAnswer(run(['1', '1', '-1']))).toEqual({ embedding: ['0', '-2'], token: null });
  });

  it(`holds on random logits over all of F_s and random dyadic tables, s = 8 and 16 (${RUNS} runs each)`, () => {
    for (const s of [8, 16]) {
      const arb = fc.integer({ min: 2, max: 5 }).chain((V) =>
        fc.tuple(numerators(s, V), fc.array(fc.array(fc.integer({ min: -8, max: 8 }), { minLength: 3, maxLength: 3 }), { minLength: V, maxLength: V })),
      );
      fc.assert(
        fc.property(arb, ([ks, rows]) => {
          const table = rows.map((row) => row.map((k) => new Fraction(k, 4)));
          const { vocab, input } = asTokens(ks.map((k) => q(k, s)));
          const b = buildDecodeEmbed({ V: ks.length, s, values: vocab, embedding: table });
          const want = decodeEmbedReference(input.map((t) => vocab[t]), table);
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, input)), k.interpreter).toEqual(want);
        }),
        opts,
      );
    }
  });

  it('with `readout`, replaces a residual x by θ_TE(argmax x·W_U) in 4 layers and leaves every scratch at 0', () => {
    const s = 6;
    const e = 3;
    const V = 4;
    const W_U = [[1, -2, 0, 1], [2, 1, -1, 0], [0, 1, 2, -2]];
    const table = sbinTable(V).map((row) => [...row, new Fraction(1, 2)]);
    const values = Array.from({ length: 33 }, (_, i) => q(i - 16, 2)); // −4..4 in steps of 1/4, all in F_6
    const h = buildHarness({
      name: 'readout-replace',
      description: 'x ← θ_TE(argmax x·W_U)',
      tokens: values.map((v) => ({ label: v.toFraction(), embed: { val: [v] } })),
      tokenParts: { val: 1 },
      length: e,
      reads: Array.from({ length: e }, (_, j) => ({ position: j, from: 'val', to: ['x', j] as const })),
      parts: { x: 3, logits: V, sums: V, onehot: V },
      layers: 4,
      write: (model, layers) =>
        writeDecodeEmbed(model, layers, { name: 'de', s, logits: 'logits', readout: { from: 'x', W_U }, embedding: table, to: 'x', onehot: 'onehot', sums: 'sums', clear: ['x'] }),
      probes: ['x', 'logits', 'sums', 'onehot'],
    });
    expect(modelSizes(h.model).layersPerBlock).toBe(4);
    fc.assert(
      fc.property(fc.array(fc.nat(values.length - 1), { minLength: e, maxLength: e }), (input) => {
        const x = input.map((t) => values[t]);
        const logits = W_U[0].map((_, v) => x.reduce((acc, xi, r) => acc.add(xi.mul(W_U[r][v])), new Fraction(0)));
        const want = decodeEmbedReference(logits, table);
        for (const interpreter of ['exact', `fixed:${s}`]) {
          const p = h.probe(interpreterByName(interpreter).run(h.model, input));
          expect({ interpreter, ...p }).toEqual({ interpreter, x: want, logits: ['0', '0', '0', '0'], sums: ['0', '0', '0', '0'], onehot: ['0', '0', '0', '0'] });
        }
      }),
      opts,
    );
  });

  it('a wrong bias (−1/2 on the embed unit of token 0) is caught exactly where token 0 is a maximiser', () => {
    const b = lemmaB7DecodeEmbed.build({ V: 3, s: 2, r: 2 });
    b.model.stages[0].layers[2].mlp!.b_in.set(['decode.embed', 0], '-1/2');
    for (const interpreter of ['exact', 'fixed:2']) {
      const r = sweep(b, interpreter, allWords(b.exhaustive!));
      expect(r.count, interpreter).toBe(1 + 4 + 9 + 16 + 25); // x_1, x_2 ≤ x_0, over the 5 values of x_0
      for (const f of r.first) expect(f.input[0]).toBe(Math.max(...f.input));
      expect(r.first[0]).toEqual({ input: [0, 0, 0], got: ['-1/2', '-1/2'], want: ['-1', '-1'] });
    }
  });
});
