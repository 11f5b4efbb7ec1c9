// Lemma B.8 (the control gate F(x, y, M) = M ? x : y): exhaustive for small s under exact and
// fixed:s, random over F_s for large s, the bias form that fails in F_s, and its range.
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Construction } from '../proofs/construction.ts';
import { buildGate, lemmaB8Gate, writeGate } from '../proofs/gadgets/gate.ts';
import { buildHarness } from '../proofs/gadgets/token-harness.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes } from '../simulators/model.ts';
import { RUNS, opts, q, top, sweep, expectAllPass, asTokens, numerators, claimedRows } from './support/gadgets.ts';

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
