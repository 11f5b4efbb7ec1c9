// Theorem 5.4 on SOFTMAX sources (issue #14 §2): random decoders with softmax heads and score
// scales 1, 2, 1/2 (beside hard ones), compiled as they are. The looped answer is the decoder's
// greedy CoT under the same interpreter — float64, and fixed:s where the decoder is representable
// in F_s (properties/thm-5-4.ts fsRepresentable) — and after every loop the state at every fixed
// position EQUALS the embedding, bit for bit (lockstep). The margin precondition is the top-two
// logit margin ≥ 2^−s measured in that arithmetic (the header of properties/thm-5-4.ts says why it
// is the same statement as for hard sources). SHIFT stays hard, or is softmax: exactly one-hot in
// F_s at scale 1 (Lemmas B.1/B.2), in float64 only at float64ShiftScale(s); at scale 1 in float64
// it leaks e^{−2B_s} and lockstep refuses it (a shrunk counterexample).
// fast-check seed and runs: fcParams (FC_SEED, default 42; FC_RUNS).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Construction, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { float64ShiftScale, withSoftmaxShift } from '../proofs/thm-5-4-cot-loops.ts';
import { fcParams, runsFromEnv } from '../properties/config.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { SOFTMAX_DECODER_OPTIONS, compareThm54With, decoderOf, fsRepresentable, hasSoftmax, thm54CaseArbitrary, thm54SoftmaxProperty } from '../properties/thm-5-4.ts';
import { type Model, addStage, createHead, createLayer, createModel } from '../simulators/model.ts';
import { space } from '../simulators/space.ts';

describe('Theorem 5.4 (a) on softmax decoders, float64', () => {
  it('hard SHIFT: the looped answer is the float64 CoT, lockstep bit for bit, on many softmax decoders', () => {
    let soft = 0;
    let scaled = 0;
    fc.assert(
      thm54SoftmaxProperty({}, {
        onCase: (r) => {
          if (hasSoftmax(r.compiled.source)) soft++;
          if (r.compiled.source.stages.some((st) => st.layers.some((l) => l.heads.some((h) => h.kind === 'softmax' && !h.scale.equals(1))))) scaled++;
        },
      }),
      fcParams(200),
    );
    // Not vacuous: most kept cases have a softmax head, many with a scale other than 1.
    expect(soft).toBeGreaterThan(60);
    expect(scaled).toBeGreaterThan(30);
  });

  it('softmax SHIFT at float64ShiftScale(s): exactly one-hot in float64, the same answers and states', () => {
    let kept = 0;
    fc.assert(thm54SoftmaxProperty({}, { softmaxShift: true, onCase: () => void kept++ }), fcParams(150));
    expect(kept).toBeGreaterThan(60);
  });

  it('variant (b) (no masks) on softmax decoders in float64, lockstep bit for bit', () => {
    let kept = 0;
    fc.assert(thm54SoftmaxProperty({}, { onCase: () => void kept++ }, 'no-masks'), fcParams(100));
    expect(kept).toBeGreaterThan(40);
  });

  it('float64ShiftScale(s) is the least power of two with 2λB_s ≥ 746 (where e^{−2λB_s} underflows to 0)', () => {
    for (const s of [1, 2, 3, 4, 6, 10]) {
      const B = 2 ** s - 2 ** -s;
      const l = float64ShiftScale(s);
      expect(2 * l * B).toBeGreaterThanOrEqual(746);
      expect(Math.exp(-2 * l * B)).toBe(0);
      if (l > 1) expect(2 * (l / 2) * B).toBeLessThan(746);
    }
    expect(float64ShiftScale(3)).toBe(64);
    expect(float64ShiftScale(10)).toBe(1);
  });

  it('softmax SHIFT at scale 1 in float64 is not one-hot: lockstep refuses it, a shrunk counterexample (and the scaled SHIFT passes it)', () => {
    const r = fc.check(thm54SoftmaxProperty({}, { softmaxShift: true, shiftScale: 1 }), fcParams(200));
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    const one = compareThm54With(c, { interpreter: 'float64', softmaxShift: true, shiftScale: 1, lockstep: true });
    expect(one.precondition.ok).toBe(true);
    expect(one.lockstepFailures.length).toBeGreaterThan(0);
    const s = one.compiled.s;
    const scaled = compareThm54With(c, { interpreter: 'float64', softmaxShift: true, shiftScale: float64ShiftScale(s), lockstep: true });
    expect(scaled.ok).toBe(true);
    console.log(`[thm-5-4 softmax] float64, SHIFT at scale 1 (leak e^-2B_${s} = ${Math.exp(-2 * (2 ** s - 2 ** -s)).toExponential(2)}): shrunk n=${c.n} m=${c.m} prompt=${JSON.stringify(c.prompt)}, lockstep fails after loops ${one.lockstepFailures.join(', ')}; at scale ${float64ShiftScale(s)} it holds`);
  });
});

describe('Theorem 5.4 on softmax decoders, fixed:s (where the decoder is representable in F_s)', () => {
  it('fixed:6, hard SHIFT: the looped answer is the F_6 CoT, lockstep exact', () => {
    let soft = 0;
    fc.assert(thm54SoftmaxProperty({ weight: 1 }, { interpreter: 'fixed:6', onCase: (r) => void (hasSoftmax(r.compiled.source) && soft++) }), fcParams(150));
    expect(soft).toBeGreaterThan(30);
  });

  it('fixed:6, softmax SHIFT at scale 1 (Lemma B.4 one-hot in F_s): the same', () => {
    let soft = 0;
    fc.assert(thm54SoftmaxProperty({ weight: 1 }, { interpreter: 'fixed:6', softmaxShift: true, onCase: (r) => void (hasSoftmax(r.compiled.source) && soft++) }), fcParams(150));
    expect(soft).toBeGreaterThan(30);
  });

  it('fixed:4 with variant (b) and the softmax SHIFT; the looped model\'s own F_s softmax failures (at the #s) are counted, and rare', () => {
    let kept = 0;
    let loopedOnly = 0;
    fc.assert(
      thm54SoftmaxProperty({ weight: 1 }, { interpreter: 'fixed:4', softmaxShift: true, onCase: () => void kept++, onLoopedNumericError: () => void loopedOnly++ }, 'no-masks'),
      fcParams(100),
    );
    expect(kept).toBeGreaterThan(20);
    expect(loopedOnly).toBeLessThan(kept / 4);
    console.log(`[thm-5-4 softmax] fixed:4, variant (b): ${kept} cases checked; ${loopedOnly} skipped where the decoder is representable but the looped model's source layers, run at the #s, round every exp(score) to 0`);
  });

  it('the looped model runs the source at the #s too: a representable decoder whose looped model still hits 0/0 in F_s (shrunk)', () => {
    const r = fc.check(
      thm54SoftmaxProperty({ weight: 1 }, { interpreter: 'fixed:4', onLoopedNumericError: (_c, e) => { throw new Error(`looped only: ${e.message}`); } }),
      fcParams(300),
    );
    expect(r.failed).toBe(true);
    expect(String(r.errorInstance)).toMatch(/looped only: softmax in fixed:4/);
    const c = r.counterexample![0];
    expect(fsRepresentable(decoderOf(c.spec), c.prompt, c.m, 4).ok).toBe(true);
    console.log(`[thm-5-4 softmax] fixed:4: decoder representable on its CoT, looped model 0/0 at a later position: n=${c.n} m=${c.m} prompt=${JSON.stringify(c.prompt)} decoder=${JSON.stringify(c.spec)}`);
  });

  it('representability is a real filter: some sampled softmax decoders are refused (exp underflow or saturation), most are not', () => {
    let refused = 0;
    let all = 0;
    fc.assert(
      fc.property(thm54CaseArbitrary({ ...SOFTMAX_DECODER_OPTIONS, weight: 1 }), (c) => {
        all++;
        if (!fsRepresentable(decoderOf(c.spec), c.prompt, c.m, 6).ok) refused++;
      }),
      fcParams(200),
    );
    expect(refused).toBeGreaterThan(0);
    expect(refused / all).toBeLessThan(0.3);
  });

  it('fsRepresentable names what breaks: a softmax whose every exp(score) rounds to 0, a value at ±B_s', () => {
    // One softmax head whose scores are −8 at every pair: exp(−8) rounds to 0 in F_2 (grid 1/4).
    const R = space({ h: 1 });
    const deep = (bias: number, score: number): Model => {
      const m = createModel({ name: 'probe', vocab: ['a', 'b'], residual: R, maxLen: 4 });
      m.W_E.write('vocab', 'h', [[1], [bias]]);
      const layer = createLayer();
      const h = createHead(R, { name: 'h', kind: 'softmax', causal: true, qk: 1 });
      h.W_Q.write('h', 'qk', [[score]]);
      h.W_K.write('h', 'qk', [[-1]]);
      layer.heads.push(h);
      addStage(m, [layer], 1);
      m.W_U.write('h', 'vocab', [[1, 0]]);
      return m;
    };
    expect(fsRepresentable(deep(1, 1), [0, 0], 1, 2).ok).toBe(true);
    expect(fsRepresentable(deep(1, 8), [0, 0], 1, 2)).toMatchObject({ ok: false, why: expect.stringMatching(/exp\(score\) rounded to 0/) });
    // No head, the embedding 4 > B_2 = 3.75: F_2 saturates.
    const big = createModel({ name: 'big', vocab: ['a', 'b'], residual: R, maxLen: 4 });
    big.W_E.write('vocab', 'h', [[1], [4]]);
    addStage(big, [createLayer()], 1);
    big.W_U.write('h', 'vocab', [[1, 0]]);
    expect(fsRepresentable(big, [0, 0], 1, 2).ok).toBe(true);
    expect(fsRepresentable(big, [0, 1], 1, 2)).toMatchObject({ ok: false, why: expect.stringMatching(/reaches ±B_2/) });
  });
});

describe('the registered thm-5.4 with attention=softmax', () => {
  const c = constructionById('thm-5.4');

  it('verifies in float64 (hard and scaled softmax SHIFT), fixed:s, lockstep bit for bit and extra loops — both variants', async () => {
    for (const variant of ['masks', 'no-masks']) {
      const params = resolveParams(c, { attention: 'softmax', variant });
      const built = c.build(params);
      expect(built.checks.map((k) => k.interpreter)).toEqual(['float64', 'float64', `fixed:${built.bits}`]);
      // The decoder really has softmax heads, with score scales other than 1 among them.
      const src = built.model.stages[0].layers.flatMap((l) => l.heads).filter((h) => h.name !== 'shift');
      expect(src.length).toBeGreaterThan(0);
      expect(src.every((h) => h.kind === 'softmax')).toBe(true);
      const r = await verifyConstruction(c, params, { samples: runsFromEnv(60), seed: 42 });
      expect(r.checks.map((k) => [k.label.split(',')[0].split(':')[0], k.failed])).toEqual([
        ['float64', false],
        ['float64', false],
        ['fixed', false],
        ['lockstep', false],
        ['two extra loops change nothing', false],
      ]);
    }
  });

  it('the same verify refuses the SHIFT as softmax at scale 1 in float64 (it leaks e^{−2B_s}): lockstep, a shrunk prompt', async () => {
    const leaky: Construction = {
      ...c,
      build(params) {
        const b = c.build(params);
        return { ...b, checks: [{ ...b.checks[0], label: 'float64, SHIFT at scale 1', model: withSoftmaxShift(b.model, 1) }] };
      },
    };
    const r = await verifyConstruction(leaky, resolveParams(c, { attention: 'softmax' }), { samples: 60, seed: 42 });
    expect(r.ok).toBe(false);
    const ls = r.checks.find((k) => k.label.startsWith('lockstep'))!;
    expect(ls.failed).toBe(true);
    expect(ls.counterexample!.message).toMatch(/after loop \d+ the state decodes to/);
  });

  it('names a bad attention value; a seed whose decoder meets the precondition on no sampled prompt is refused with the seed', () => {
    expect(() => c.build(resolveParams(c, { attention: 'linear' }))).toThrow(/parameter attention of thm-5.4 must be hard or softmax, got "linear"/);
    expect(() => c.build(resolveParams(c, { attention: 'softmax', seed: '2' })).arbitrary()).toThrow(/seed 2 .*softmax head whose every exp\(score\) rounds to 0 .*choose another seed/);
  });
});
