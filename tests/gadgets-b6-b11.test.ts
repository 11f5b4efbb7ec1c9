// Lemmas B.6 (argmax), B.7 (decode–embed), B.8 (control gate), B.10 (increment), B.11 (comparator):
// each exhaustively over its whole input range for small s, under exact and fixed:s; on random
// inputs over all of F_s for large s; a deliberately wrong variant caught by the exhaustive check;
// and the three mask gadgets composed into Theorem 5.4's "mask without a mask".
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { embedPositionCodes, sbin } from '../proofs/codes.ts';
import { type Built, type Construction, allWords, compareSizes, resolveParams } from '../proofs/construction.ts';
import { buildArgmax, lemmaB6Argmax, maximisers, writeArgmax } from '../proofs/gadgets/argmax.ts';
import { buildComparator, lemmaB11Comparator, writeComparator } from '../proofs/gadgets/comparator.ts';
import { buildDecodeEmbed, decodeEmbedReference, lemmaB7DecodeEmbed, sbinTable, writeDecodeEmbed } from '../proofs/gadgets/decode-embed.ts';
import { buildGate, lemmaB8Gate, writeGate } from '../proofs/gadgets/gate.ts';
import { buildIncrement, lemmaB10Increment, writeIncrement } from '../proofs/gadgets/increment.ts';
import { buildHarness } from '../proofs/gadgets/token-harness.ts';
import { addUnits } from '../proofs/gadgets/units.ts';
import { constructionById } from '../proofs/registry.ts';
import { ModelError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, addStage, createLayer, createModel, modelSizes, withLoops } from '../simulators/model.ts';
import type { Rational } from '../simulators/rational.ts';
import { space } from '../simulators/space.ts';

const SEED = Number(process.env.FC_SEED ?? 42);
const RUNS = Number(process.env.FC_RUNS ?? 200);
const opts = { seed: SEED, numRuns: RUNS };

const q = (k: number, s: number): Rational => new Fraction(k, 2 ** s);
const top = (s: number) => 2 ** (2 * s) - 1; // largest numerator of F_s: B_s = top·2^−s

/** Runs every input under one interpreter; the failing inputs (first few) and how many there were. */
function sweep<O>(b: Built<number[], O>, interpreter: string, inputs: Iterable<number[]>, model: Model = b.model) {
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
function expectAllPass<O>(b: Built<number[], O>, inputs: () => Iterable<number[]>, expectedTotal?: number) {
  expect(b.checks.map((k) => k.interpreter)).toEqual(['exact', `fixed:${b.bits}`]);
  for (const k of b.checks) {
    const r = sweep(b, k.interpreter, inputs(), k.model);
    expect({ interpreter: k.interpreter, failures: r.count, first: r.first }).toEqual({ interpreter: k.interpreter, failures: 0, first: [] });
    if (expectedTotal !== undefined) expect(r.total).toBe(expectedTotal);
  }
}

/** Distinct values as a vocabulary, and the input as indices into it. */
function asTokens(values: readonly Rational[]): { vocab: Rational[]; input: number[] } {
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
const numerators = (s: number, length: number) =>
  fc.oneof(
    fc.array(fc.integer({ min: -top(s), max: top(s) }), { minLength: length, maxLength: length }),
    fc
      .tuple(fc.oneof(fc.constantFrom(0, top(s), -top(s)), fc.integer({ min: -top(s), max: top(s) })), fc.array(fc.integer({ min: -2, max: 2 }), { minLength: length, maxLength: length }))
      .map(([base, deltas]) => deltas.map((dl) => Math.max(-top(s), Math.min(top(s), base + dl)))),
  );

/** Built against claimed sizes, by key; every built size must be within its claim. */
function claimedRows(c: Construction, b: Built<unknown, unknown>) {
  const rows = compareSizes(c, b, modelSizes(b.model)).filter((r) => r.formula !== null);
  for (const r of rows) expect(r.built!, `${c.id} ${r.key} (${r.formula})`).toBeLessThanOrEqual(r.claimed!);
  return Object.fromEntries(rows.map((r) => [r.key, { built: r.built, claimed: r.claimed }]));
}

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

// ================================================================ Lemma B.8

describe('Lemma B.8: the control gate F(x, y, M) = M ? x : y', () => {
  it('is one layer of 4 units per coordinate, as claimed', () => {
    for (const d of [1, 2, 4]) {
      const b = lemmaB8Gate.build({ d, s: 2, r: 2, form: 'complement' });
      for (const [key, row] of Object.entries(claimedRows(lemmaB8Gate as Construction, b))) expect(row.built, key).toBe(row.claimed);
      expect(modelSizes(b.model).mlpWidth).toBe(4 * d);
    }
  });

  const allInputs = (b: ReturnType<typeof buildGate>, nv: number) =>
    function* () {
      for (let x = 0; x < nv; x++) for (let y = 0; y < nv; y++) for (const m of b.maskToken) yield [x, y, m];
    };

  it('is exact on every (x, y, M) with x, y ∈ F_s, for s = 1, 2, 3, under exact and fixed:s', () => {
    for (const s of [1, 2, 3]) {
      const b = lemmaB8Gate.build({ d: 1, s, r: 'auto', form: 'complement' });
      const nv = 2 * top(s) + 1;
      expectAllPass(b, allInputs(b as ReturnType<typeof buildGate>, nv), nv * nv * 2);
    }
  });

  it('s = 4: every x ∈ F_4 against y ∈ {0, ±2^−4, ±B_4} and every y against the same x, both masks', () => {
    const s = 4;
    const b = buildGate({ d: 1, s, values: Array.from({ length: 2 * top(s) + 1 }, (_, i) => q(i - top(s), s)) });
    const id = (k: number) => k + top(s);
    const special = [0, 1, -1, top(s), -top(s)].map(id);
    expectAllPass(b, function* () {
      for (let v = 0; v <= 2 * top(s); v++) for (const w of special) for (const m of b.maskToken) yield* [[v, w, m], [w, v, m]];
    });
  });

  it(`holds for d = 1..3 on random x, y over all of F_s, s = 8, 16, 26 (${RUNS} runs each)`, () => {
    for (const s of [8, 16, 26]) {
      const arb = fc.integer({ min: 1, max: 3 }).chain((d) => fc.tuple(numerators(s, 2 * d), fc.boolean()));
      fc.assert(
        fc.property(arb, ([ks, m]) => {
          const d = ks.length / 2;
          const { vocab, input } = asTokens(ks.map((k) => q(k, s)));
          const b = buildGate({ d, s, values: vocab });
          const tokens = [...input, b.maskToken[m ? 1 : 0]];
          const want = ks.slice(m ? 0 : d, m ? d : 2 * d).map((k) => q(k, s).toFraction());
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, tokens)), k.interpreter).toEqual(want);
        }),
        opts,
      );
    }
  });

  it('in exact arithmetic the range is |x|, |y| ≤ 2^s inclusive; one grid step beyond, the switched-off side leaks', () => {
    const s = 3;
    const K = 2 ** s;
    const b = buildGate({ d: 1, s, values: [q(-K * 8, s), q(K * 8, s), q(K * 8 + 1, s), q(5, s)] }); // −2^s, 2^s, 2^s + 2^−s, 5/8
    const exact = interpreterByName('exact');
    const at = (x: number, y: number, m: 0 | 1) => b.decode(exact.run(b.model, [x, y, b.maskToken[m]]));
    expect(at(0, 1, 1)).toEqual(['-8']);
    expect(at(0, 1, 0)).toEqual(['8']);
    expect(at(3, 2, 1)).toEqual(['3/4']); // x = 5/8 plus the leak 1/8 of y = 2^s + 1/8
    expect(at(2, 3, 0)).toEqual(['3/4']); // y = 5/8 plus the leak 1/8 of x = 2^s + 1/8
  });

  it('the bias form is exact in rationals but fails in F_s exactly when M = 1 and x ≠ 0 (x + B_s·M saturates first)', () => {
    const s = 2;
    const b = lemmaB8Gate.build({ d: 1, s, r: 'auto', form: 'bias' }) as ReturnType<typeof buildGate>;
    const nv = 2 * top(s) + 1;
    expect(sweep(b, 'exact', allInputs(b, nv)()).count).toBe(0);
    const r = sweep(b, 'fixed:2', allInputs(b, nv)());
    expect(r.count).toBe((nv - 1) * nv); // every x ≠ 0, every y, M = 1
    for (const f of r.first) {
      expect(f.input[2]).toBe(b.maskToken[1]);
      expect(f.got).toEqual(['0']);
    }
    // fast-check shrinks a random search to the smallest failing word: token 0 (x = −B_2 = −15/4) for x and y, M = 1.
    const out = fc.check(
      fc.property(b.arbitrary(), (input) => b.equal(b.decode(interpreterByName('fixed:2').run(b.model, input)), b.reference(input))),
      opts,
    );
    expect(out.failed).toBe(true);
    expect(out.counterexample![0]).toEqual([0, 0, b.maskToken[1]]);
    expect(b.formatAnswer(b.decode(interpreterByName('fixed:2').run(b.model, [0, 0, b.maskToken[1]])))).toEqual(['0']);
  });

  it('in place (to = y, clear = [y]): y ← F(x, y, M); in F_s only while |x − y| ≤ B_s (the update x − y must be representable)', () => {
    const s = 2;
    const values = Array.from({ length: 2 * top(s) + 1 }, (_, i) => q(i - top(s), s));
    const h = buildHarness({
      name: 'gate-in-place',
      description: 'y ← M ? x : y',
      tokens: [...values.map((v) => ({ label: v.toFraction(), embed: { val: [v] } })), { label: 'M=0', embed: { mb: [0], mn: [1] } }, { label: 'M=1', embed: { mb: [1], mn: [0] } }],
      tokenParts: { val: 1, mb: 1, mn: 1 },
      length: 3,
      reads: [
        { position: 0, from: 'val', to: 'x' },
        { position: 1, from: 'val', to: 'y' },
        { position: 2, from: 'mb', to: 'M' },
        { position: 2, from: 'mn', to: 'Mnot' },
      ],
      parts: { x: 1, y: 1, M: 1, Mnot: 1 },
      layers: 1,
      write: (model, [layer]) => writeGate(model, layer, { name: 'g', x: 'x', y: 'y', mask: 'M', maskNot: 'Mnot', to: 'y', s, clear: ['y'] }),
      probes: ['y'],
    });
    const nv = values.length;
    for (const interpreter of ['exact', 'fixed:2']) {
      const it = interpreterByName(interpreter);
      let wrong = 0;
      let predicted = 0;
      for (let x = 0; x < nv; x++) {
        for (let y = 0; y < nv; y++) {
          for (const m of [0, 1]) {
            const got = h.probe(it.run(h.model, [x, y, nv + m])).y[0];
            const want = values[m ? x : y].toFraction();
            if (got !== want) wrong++;
            if (interpreter !== 'exact' && m === 1 && Math.abs(x - y) > top(s)) predicted++;
          }
        }
      }
      expect({ interpreter, wrong }).toEqual({ interpreter, wrong: predicted });
    }
  });

  it('a wrong offset on one unit (−2^(s−1)·M instead of −2^s·M) is caught exactly where it leaks: M = 1, y > 2^(s−1)', () => {
    const s = 2;
    const b = lemmaB8Gate.build({ d: 1, s, r: 'auto', form: 'complement' }) as ReturnType<typeof buildGate>;
    b.model.stages[0].layers[0].mlp!.W_in.set('M', ['gate.y.pos', 0], -(2 ** (s - 1)));
    for (const interpreter of ['exact', 'fixed:2']) {
      const r = sweep(b, interpreter, allInputs(b, 2 * top(s) + 1)());
      // Every x, y ∈ {9/4, …, 15/4}; in F_2 the leak x + (y − 2) saturates to x itself at x = B_2, hiding it there.
      expect(r.count, interpreter).toBe(interpreter === 'exact' ? 31 * 7 : 30 * 7);
      for (const f of r.first) expect([f.input[2], f.input[1] > top(s) + 8]).toEqual([b.maskToken[1], true]);
    }
  });
});

// ================================================================ Lemma B.10

describe('Lemma B.10: binary increment, least significant bit first', () => {
  it('is one layer of 2s units (the paper: O(s) width, constant depth)', () => {
    for (const s of [2, 5, 12]) {
      const b = lemmaB10Increment.build({ s });
      for (const [key, row] of Object.entries(claimedRows(lemmaB10Increment as Construction, b))) expect(row.built, key).toBe(row.claimed);
    }
  });

  it('maps every counter c to (c + 1) mod 2^s for s = 2..8, exact and fixed:s; 2^s − 1 wraps to 0 and raises overflow', () => {
    for (let s = 2; s <= 8; s++) {
      const b = lemmaB10Increment.build({ s });
      expectAllPass(b, () => allWords(b.exhaustive!), 2 ** s);
      const top1 = interpreterByName(`fixed:${s}`).run(b.model, [2 ** s - 1]);
      expect(b.decode(top1)).toEqual({ counter: 0, overflow: true });
      expect(top1.answer).toBe(0); // the argmax token is the incremented counter
    }
  });

  it(`holds on random counters for s = 12, 20, 26 (${RUNS} runs each, the edges 0, 2^s − 2, 2^s − 1 included)`, () => {
    for (const s of [12, 20, 26]) {
      const arb = fc.oneof(fc.integer({ min: 0, max: 2 ** s - 1 }), fc.constantFrom(0, 2 ** s - 2, 2 ** s - 1, 2 ** (s - 1) - 1));
      fc.assert(
        fc.property(arb, (c) => {
          const b = buildIncrement({ s, counters: [c] });
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, [0])), k.interpreter).toEqual(b.reference([0]));
        }),
        opts,
      );
    }
  });

  it('looped L times it counts: c + L mod 2^s, with ⌊(c + L)/2^s⌋ in the overflow direction (the Theorem 5.4 counter)', () => {
    const s = 4;
    const b = buildIncrement({ s });
    const exact = interpreterByName('exact');
    for (const L of [0, 1, 5, 16, 23]) {
      const looped = withLoops(b.model, [L]);
      for (let c = 0; c < 16; c++) {
        const p = b.harness.probe(exact.run(looped, [c]));
        expect(p.counter).toEqual(sbin((c + L) % 16, s).map(String));
        expect(p.overflow).toEqual([String(Math.floor((c + L) / 16))]);
      }
    }
  });

  it('needs s ≥ 2 in F_s: in F_1 the update −2 rounds to −3/2 and the counter 1 becomes −1/2', () => {
    const b = buildIncrement({ s: 1 });
    expect(sweep(b, 'exact', allWords(b.exhaustive!)).count).toBe(0);
    expect(b.harness.probe(interpreterByName('fixed:1').run(b.model, [1])).counter).toEqual(['-1/2']);
  });

  it('a wrong bias (−2 instead of −1 on the carry into bit 1) is caught exactly on the counters that carry into bit 1', () => {
    const s = 4;
    const b = lemmaB10Increment.build({ s });
    b.model.stages[0].layers[0].mlp!.b_in.set(['inc.down', 1], -2);
    for (const interpreter of ['exact', `fixed:${s}`]) {
      const r = sweep(b, interpreter, allWords(b.exhaustive!));
      expect(r.count).toBe(4); // c ≡ 3 mod 4
      for (const f of r.first) expect(f.input[0] % 4).toBe(3);
    }
  });
});

// ================================================================ Lemma B.11

describe('Lemma B.11: comparator 1[a ≥ b] on binary codes, least significant bit first', () => {
  it('is one layer of 2 units', () => {
    for (const s of [1, 4, 12]) {
      const b = lemmaB11Comparator.build({ s });
      for (const [key, row] of Object.entries(claimedRows(lemmaB11Comparator as Construction, b))) expect(row.built, key).toBe(row.claimed);
    }
  });

  it('is exact on every pair (a, b) for s = 1..6 under exact and fixed:s; the argmax token says ≥ or <', () => {
    for (let s = 1; s <= 6; s++) {
      const b = lemmaB11Comparator.build({ s });
      expectAllPass(b, () => allWords(b.exhaustive!), 4 ** s);
    }
    const b = lemmaB11Comparator.build({ s: 4 });
    const label = (a: number, c: number) => b.model.vocab.labels[interpreterByName('fixed:4').run(b.model, [a, c]).answer!];
    expect([label(9, 9), label(9, 10), label(15, 0), label(0, 15)]).toEqual(['→ge', '→lt', '→ge', '→lt']);
  });

  it(`holds on random pairs for s = 12, 20, 26 (${RUNS} runs each, a = b and a = b ± 1 included)`, () => {
    for (const s of [12, 20, 26]) {
      const code = fc.integer({ min: 0, max: 2 ** s - 1 });
      const arb = fc.oneof(
        fc.tuple(code, code),
        code.chain((a) => fc.tuple(fc.constant(a), fc.constantFrom(a, Math.max(0, a - 1), Math.min(2 ** s - 1, a + 1)))),
        fc.constant([2 ** s - 1, 0] as [number, number]),
      );
      fc.assert(
        fc.property(arb, ([a, c]) => {
          const b = buildComparator({ s, codes: a === c ? [a] : [a, c] });
          const input = a === c ? [0, 0] : [0, 1];
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, input)), k.interpreter).toBe(a >= c);
        }),
        opts,
      );
    }
  });

  it('as Theorem 5.4 uses it: 1[i ≥ b] with i from the position code, at every position, for every b (s = 1..5)', () => {
    for (let s = 1; s <= 5; s++) {
      const n = 2 ** s;
      const model = createModel({
        name: 'position-vs-counter',
        vocab: [...Array.from({ length: n }, (_, b) => String(b)), 'ge', 'lt'],
        residual: space({ pos: s, cnt: s, ge: 1, lt: 1 }),
        maxLen: n,
        readout: 'all',
      });
      embedPositionCodes(model, 'pos', s);
      for (let b = 0; b < n; b++) model.W_E.write(['vocab', b], 'cnt', [sbin(b, s)]);
      const layer = createLayer();
      writeComparator(model, layer, { name: 'mask', a: 'pos', b: 'cnt', ge: 'ge', lt: 'lt' });
      addStage(model, [layer], 1);
      model.W_U.set('ge', ['vocab', n], 1).set('lt', ['vocab', n + 1], 1);
      for (const interpreter of ['exact', `fixed:${s}`]) {
        const it = interpreterByName(interpreter);
        for (let b = 0; b < n; b++) {
          const r = it.run(model, new Array<number>(n).fill(b));
          expect(r.readouts.map((o) => o.exactLogits!.slice(n))).toEqual(r.readouts.map((_, i) => (i >= b ? ['1', '0'] : ['0', '1'])));
        }
      }
    }
  });

  it('a wrong bias (0 instead of −1) is caught exactly on the pairs with a < b', () => {
    const s = 3;
    const b = lemmaB11Comparator.build({ s });
    b.model.stages[0].layers[0].mlp!.b_in.set(['cmp.lt', 1], 0);
    for (const interpreter of ['exact', 'fixed:3']) {
      const r = sweep(b, interpreter, allWords(b.exhaustive!));
      expect(r.count).toBe((8 * 7) / 2);
      for (const f of r.first) expect(f.input[0]).toBeLessThan(f.input[1]);
    }
  });

  it('the mirror form relu(a − b + 1) − relu(a − b) saturates in F_s at a = 2^s − 1, b = 0, and only there', () => {
    const s = 3;
    const b = buildComparator({ s });
    const mlp = b.model.stages[0].layers[0].mlp!;
    // Negate the pre-activations (a − b instead of b − a), biases +1 and 0, and read ge = u − w directly.
    for (const [part, sign] of [['a', 1], ['tok', -1]] as const) {
      for (let k = 0; k < s; k++) for (const u of [0, 1]) mlp.W_in.set([part, k], ['cmp.lt', u], sign * 2 ** (k - 1));
    }
    mlp.b_in.set(['cmp.lt', 0], 1).set(['cmp.lt', 1], 0);
    mlp.W_out.set(['cmp.lt', 0], 'ge', 1).set(['cmp.lt', 1], 'ge', -1).set(['cmp.lt', 0], 'lt', -1).set(['cmp.lt', 1], 'lt', 1);
    mlp.b_out.set('ge', 0).set('lt', 1);
    expect(sweep(b, 'exact', allWords(b.exhaustive!)).count).toBe(0);
    const r = sweep(b, 'fixed:3', allWords(b.exhaustive!));
    expect(r.count).toBe(1);
    expect(r.first[0].input).toEqual([7, 0]);
    expect(b.harness.probe(interpreterByName('fixed:3').run(b.model, [7, 0])).ge).toEqual(['7/8']);
  });
});

// ================================================================ composition

describe('composing the writers: Theorem 5.4 without an explicit mask', () => {
  // One block looped T times over positions 0..N−1 (counter starting at n, from the position embedding):
  //   layer 1: comparator M = 1[i ≥ counter], 1 − M   ∥  increment counter   (two gadgets, one MLP)
  //   layer 2: the "original layer": nx = state + 1
  //   layer 3: gate state ← M ? nx : state, clearing nx, M and 1 − M for the next loop
  // is the same as the block `state += 1` under the explicit mask M^t(i) = 1[i ≥ n + t − 1].
  function build(s: number, n: number, N: number) {
    const model = createModel({
      name: 'masked-by-gadgets',
      vocab: ['·', 'state'],
      residual: space({ pos: s, cnt: s, wrap: 1, M: 1, Mnot: 1, nx: 1, state: 1 }),
      maxLen: N,
      readout: 'all',
    });
    embedPositionCodes(model, 'pos', s);
    embedPositionCodes(model, 'cnt', s, () => n);
    const [l1, l2, l3] = [createLayer('mask and counter'), createLayer('the block'), createLayer('gate')];
    writeComparator(model, l1, { name: 'cmp', a: 'pos', b: 'cnt', ge: 'M', lt: 'Mnot' });
    writeIncrement(model, l1, { name: 'inc', counter: 'cnt', overflow: 'wrap' });
    const block = addUnits(model, l2, { step: { size: 1, describe: 'state + 1' } }, 'the original layer');
    block.W_in.set('state', ['step', 0], 1);
    block.b_in.set(['step', 0], 1);
    block.W_out.set(['step', 0], 'nx', 1);
    writeGate(model, l3, { name: 'gate', x: 'nx', y: 'state', mask: 'M', maskNot: 'Mnot', to: 'state', s, clear: ['state', 'nx', 'M', 'Mnot'] });
    model.W_U.set('state', ['vocab', 1], 1);
    return { model, layers: [l1, l2, l3] };
  }

  it('two gadgets share one MLP through addUnits; a repeated group name is refused', () => {
    const { layers } = build(4, 3, 8);
    expect(layers[0].mlp!.hidden.parts.map((p) => p.name)).toEqual(['cmp.lt', 'inc.down', 'inc.up']);
    expect(layers[0].mlp!.role).toBe('comparator cmp: 1[a ≥ b] and 1[a < b]; increment inc: c ← c + 1 mod 2^s');
    const again = build(4, 3, 8);
    expect(() => writeIncrement(again.model, again.layers[0], { name: 'inc', counter: 'cnt' })).toThrow(ModelError);
    expect(() => writeIncrement(again.model, again.layers[0], { name: 'inc', counter: 'cnt' })).toThrow(/unit group "inc.down" is already there/);
  });

  it('equals the explicitly masked block at every position after every loop count, under exact and fixed:s', () => {
    const s = 5;
    const N = 12;
    for (const n of [0, 3, 7]) {
      for (const T of [1, 2, 5]) {
        const gated = build(s, n, N);
        addStage(gated.model, gated.layers, T);
        const masked = createModel({ name: 'masked', vocab: ['·', 'state'], residual: space({ state: 1 }), maxLen: N, readout: 'all' });
        const l = createLayer();
        const mlp = addUnits(masked, l, { step: 1 }, 'state += 1');
        mlp.b_in.set(['step', 0], 1);
        mlp.W_out.set(['step', 0], 'state', 1);
        addStage(masked, [l], T, { expr: `i >= ${n} + t - 1` });
        masked.W_U.set('state', ['vocab', 1], 1);
        for (const interpreter of ['exact', `fixed:${s}`]) {
          const it = interpreterByName(interpreter);
          const tokens = new Array<number>(N).fill(0);
          const got = it.run(gated.model, tokens).readouts.map((r) => r.exactLogits![1]);
          const want = it.run(masked, tokens).readouts.map((r) => r.exactLogits![1]);
          expect(got, `${interpreter} n=${n} T=${T}`).toEqual(want);
          expect(got).toEqual(Array.from({ length: N }, (_, i) => String(Math.max(0, Math.min(T, i - n + 1)))));
        }
      }
    }
  });
});

describe('registry and inputs', () => {
  it('registers the five lemmas and builds each at its defaults', () => {
    for (const id of ['lemma-b6-argmax', 'lemma-b7-decode-embed', 'lemma-b8-gate', 'lemma-b10-increment', 'lemma-b11-comparator']) {
      const c = constructionById(id);
      const b = c.build(resolveParams(c, {}));
      expect(b.checks.map((k) => k.interpreter)).toEqual(['exact', `fixed:${b.bits}`]);
      expect(b.extraLoopsStable?.holds).toBe(false);
    }
  });

  it('parses token ids or labels, and names a bad token and a bad position', () => {
    const g = lemmaB8Gate.build({ d: 1, s: 2, r: 'auto', form: 'complement' });
    const input = g.parseInput('["1/2", "-15/4", "M=1"]');
    expect(g.parseInput(g.formatInput(input))).toEqual(input);
    expect(() => g.parseInput('["1/2", "M=1", "M=1"]')).toThrow(/position 1 must hold a value of x or y, not a mask token/);
    expect(() => g.parseInput('["1/2", "-1", "1/2"]')).toThrow(/position 2 must hold the mask, M=0 or M=1/);
    expect(() => g.parseInput('["1/8", "1", "M=0"]')).toThrow(/"1\/8" at position 0 is not an input token label/);
    expect(() => g.parseInput('[0, 1]')).toThrow(/exactly 3 tokens, got 2/);
    expect(() => lemmaB6Argmax.build({ d: 2, s: 8, r: 5000 })).toThrow(/parameter r of lemma-b6-argmax is 5000: 10001 tokens is more than 8191/);
    expect(() => lemmaB8Gate.build({ d: 1, s: 2, r: 'auto', form: 'printed' })).toThrow(/parameter form of lemma-b8-gate must be complement or bias/);
  });
});

// ================================================================ erratum 6: bit orders

describe('erratum 6: the bit order each gadget reads (Lemmas B.10 and B.11 disagree; the project uses LSB-first)', () => {
  const msb = (x: number, s: number) => [...sbin(x, s)].reverse();

  /** 1[code(i) ≥ code(b)] at every position i for every counter b, the gadget reading `order`, the codes written in `written`. */
  function comparatorMismatches(s: number, order: 'lsb-first' | 'msb-first', written: 'lsb-first' | 'msb-first', interpreter: string): { i: number; b: number }[] {
    const n = 2 ** s;
    const code = written === 'lsb-first' ? sbin : msb;
    const model = createModel({ name: 'order', vocab: [...Array.from({ length: n }, (_, b) => String(b)), 'ge', 'lt'], residual: space({ pos: s, cnt: s, ge: 1, lt: 1 }), maxLen: n, readout: 'all' });
    for (let i = 0; i < n; i++) model.W_pos.write(['positions', i], 'pos', [code(i, s)]);
    for (let b = 0; b < n; b++) model.W_E.write(['vocab', b], 'cnt', [code(b, s)]);
    const layer = createLayer();
    writeComparator(model, layer, { name: 'mask', a: 'pos', b: 'cnt', ge: 'ge', lt: 'lt', bitOrder: order });
    addStage(model, [layer], 1);
    model.W_U.set('ge', ['vocab', n], 1).set('lt', ['vocab', n + 1], 1);
    const it = interpreterByName(interpreter);
    const bad: { i: number; b: number }[] = [];
    for (let b = 0; b < n; b++) {
      const r = it.run(model, new Array<number>(n).fill(b));
      r.readouts.forEach((o, i) => {
        if (o.exactLogits!.slice(n).join() !== (i >= b ? '1,0' : '0,1')) bad.push({ i, b });
      });
    }
    return bad;
  }

  it('comparator MSB-first is exact on codes written MSB-first (s = 1..4, exact and fixed:s)', () => {
    for (let s = 1; s <= 4; s++) for (const k of ['exact', `fixed:${s}`]) expect(comparatorMismatches(s, 'msb-first', 'msb-first', k), `s=${s} ${k}`).toEqual([]);
  });

  it('comparator MSB-first on the state\'s LSB-first codes compares the bit reversals: wrong exactly where the order of rev(i), rev(b) differs from i, b', () => {
    const rev = (x: number, s: number) => parseInt(x.toString(2).padStart(s, '0').split('').reverse().join(''), 2);
    expect(comparatorMismatches(1, 'msb-first', 'lsb-first', 'exact')).toEqual([]); // one bit: its reversal is itself
    for (let s = 2; s <= 4; s++) {
      const bad = comparatorMismatches(s, 'msb-first', 'lsb-first', 'exact');
      const want: { i: number; b: number }[] = [];
      for (let b = 0; b < 2 ** s; b++) for (let i = 0; i < 2 ** s; i++) if (rev(i, s) >= rev(b, s) !== i >= b) want.push({ i, b });
      expect(bad).toEqual(want);
      expect(bad.length).toBeGreaterThan(0);
    }
    // The smallest: s = 2, i = 1 against b = 2: rev gives 2 ≥ 1, so position 1 passes a counter it is below.
    expect(comparatorMismatches(2, 'msb-first', 'lsb-first', 'exact')).toContainEqual({ i: 1, b: 2 });
  });

  /** The counter after one increment, as the codes it should be in `written`, for every c; the gadget reading `order`. */
  function incrementMismatches(s: number, order: 'lsb-first' | 'msb-first', written: 'lsb-first' | 'msb-first', interpreter: string): number[] {
    const code = written === 'lsb-first' ? sbin : msb;
    const n = 2 ** s;
    const model = createModel({ name: 'inc-order', vocab: Array.from({ length: n }, (_, c) => String(c)), residual: space({ cnt: s, ovf: 1 }), maxLen: 1 });
    for (let c = 0; c < n; c++) model.W_E.write(['vocab', c], 'cnt', [code(c, s)]);
    const layer = createLayer();
    writeIncrement(model, layer, { name: 'inc', counter: 'cnt', overflow: 'ovf', bitOrder: order });
    addStage(model, [layer], 1);
    const it = interpreterByName(interpreter);
    const bad: number[] = [];
    for (let c = 0; c < n; c++) {
      const r = it.run(model, [c], { trace: true });
      const got = r.trace!.read(r.trace!.keys().filter((k) => k.endsWith('hook_resid_post')).pop()!, 'cnt', 0);
      if (got.join() !== code((c + 1) % n, s).join()) bad.push(c);
    }
    return bad;
  }

  it('increment MSB-first is exact on codes written MSB-first (s = 2..5, exact and fixed:s); on LSB-first codes it is wrong', () => {
    for (let s = 2; s <= 5; s++) {
      for (const k of ['exact', `fixed:${s}`]) expect(incrementMismatches(s, 'msb-first', 'msb-first', k), `s=${s} ${k}`).toEqual([]);
      expect(incrementMismatches(s, 'lsb-first', 'lsb-first', 'exact')).toEqual([]);
      // On LSB-first codes the MSB-first increment computes rev(rev(c) + 1): right only where that is c + 1 (mod 2^s).
      const n = 2 ** s;
      const rev = (x: number) => parseInt(x.toString(2).padStart(s, '0').split('').reverse().join(''), 2);
      const want = Array.from({ length: n }, (_, c) => c).filter((c) => rev((rev(c) + 1) % n) !== (c + 1) % n);
      expect(incrementMismatches(s, 'msb-first', 'lsb-first', 'exact')).toEqual(want);
      expect(want.length).toBeGreaterThanOrEqual(n - 2);
    }
  });

  it('a bit order other than lsb-first / msb-first is named', () => {
    const model = createModel({ name: 'x', vocab: ['a'], residual: space({ a: 2, b: 2, cnt: 2 }), maxLen: 1 });
    const layer = createLayer();
    expect(() => writeComparator(model, layer, { name: 'c', a: 'a', b: 'b', bitOrder: 'big' as 'msb-first' })).toThrow(/comparator 'c': bitOrder must be lsb-first or msb-first, got "big"/);
    expect(() => writeIncrement(model, layer, { name: 'i', counter: 'cnt', bitOrder: 'le' as 'msb-first' })).toThrow(/increment 'i': bitOrder must be lsb-first or msb-first/);
  });
});
