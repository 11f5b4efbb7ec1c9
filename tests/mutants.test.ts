// Tests pinned against mutants that once survived the whole suite (issue #18): each fails on the
// mutation named in its title. Two of the four live here; the others are beside the code they pin
// (the Theorem 5.4 margin threshold in tests/thm-5-4.test.ts, the saturating softmax sum in
// tests/fixed-point.test.ts).
//   * withAttention MULTIPLIES each head's scale by the factor (the mutant overwrote it);
//   * decodeCot's position capacity: a CoT that exactly fills maxLen runs, one more step is refused.
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { decodeCot } from '../simulators/cot.ts';
import { InputError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Head, type Model, addStage, createHead, createLayer, createModel, withAttention } from '../simulators/model.ts';
import { toRational } from '../simulators/rational.ts';
import { space } from '../simulators/space.ts';

const heads = (m: Model): Head[] => m.stages.flatMap((s) => s.layers.flatMap((l) => l.heads));

describe('withAttention multiplies every head\'s scale (it does not overwrite it)', () => {
  // Two heads of scales 2 and 1/3 (position scores i·j through a `pos` direction), copying `v` into `out`.
  const model = (): Model => {
    const R = space({ v: 1, pos: 1, out: 2 });
    const m = createModel({ name: 'scaled heads', vocab: ['a', 'b'], residual: R, maxLen: 3 });
    m.W_E.write('vocab', 'v', [[0], [1]]);
    m.W_pos.write('positions', 'pos', [[0], [1], [2]]);
    const layer = createLayer('two heads with non-unit scales');
    for (const [k, scale] of [[0, '2'], [1, '1/3']] as const) {
      const h = createHead(R, { name: `h${k}`, qk: 1, ov: 1, scale });
      h.W_Q.write('pos', 'qk', [[1]]);
      h.W_K.write('pos', 'qk', [[1]]);
      h.W_V.write('v', 'ov', [[1]]);
      h.W_O.set(['ov', 0], ['out', k], 1);
      layer.heads.push(h);
    }
    addStage(m, [layer], 1);
    m.W_U.write('out', 'vocab', [[1, 0], [0, 1]]);
    return m;
  };

  it('scales 2 and 1/3 times 3 are 6 and 1, every head softmax; the original model is unchanged', () => {
    const m = model();
    const soft = withAttention(m, 'softmax', 3);
    expect(heads(soft).map((h) => h.scale.toString())).toEqual([toRational(6).toString(), toRational(1).toString()]);
    expect(heads(soft).every((h) => h.kind === 'softmax')).toBe(true);
    expect(heads(m).map((h) => h.scale.toString())).toEqual([toRational(2).toString(), toRational('1/3').toString()]);
    expect(heads(m).every((h) => h.kind === 'hard')).toBe(true);
    // Factor 1 keeps the scales (the mutant set them all to 1).
    expect(heads(withAttention(m, 'softmax')).map((h) => h.scale.toString())).toEqual(heads(m).map((h) => h.scale.toString()));
  });

  it('the run uses the product: softmax weights at position 2 are those of scores scale·factor·2j', () => {
    const m = model();
    const run = interpreterByName('float64').run(withAttention(m, 'softmax', '1/2'), [1, 0, 1]);
    // At the last position (i = 2) the scores of j = 0, 1, 2 are 2j; head k's weights are softmax(β_k·2j), β = (1, 1/6).
    const expectOut = (beta: number) => {
      const w = [0, 1, 2].map((j) => Math.exp(beta * 2 * j));
      const z = w.reduce((a, b) => a + b, 0);
      return (w[0] * 1 + w[1] * 0 + w[2] * 1) / z; // values v = 1, 0, 1
    };
    const logits = run.readouts[run.readouts.length - 1].logits;
    expect(logits[0]).toBeCloseTo(expectOut(1), 12);
    expect(logits[1]).toBeCloseTo(expectOut(1 / 6), 12);
  });

  it('the registered thm-5.2 model (heads of scale 1/2) run as softmax at factor 1 keeps scale 1/2', () => {
    const c = constructionById('thm-5.2');
    const hard = c.build(resolveParams(c, {})).checks[0].model;
    const own = heads(hard).map((h) => h.scale.toString());
    expect(own.some((x) => x !== toRational(1).toString())).toBe(true);
    expect(heads(withAttention(hard, 'softmax', 1)).map((h) => h.scale.toString())).toEqual(own);
    expect(heads(withAttention(hard, 'softmax', 4)).map((h) => h.scale.toString())).toEqual(heads(hard).map((h) => h.scale.mul(toRational(4)).toString()));
  });
});

describe('decodeCot: the position capacity (prompt + m − 1 positions ≤ maxLen)', () => {
  // A constant decoder: every position answers token b (the readout of a constant direction).
  const decoder = (maxLen: number): Model => {
    const R = space({ one: 1 });
    const m = createModel({ name: 'constant', vocab: ['a', 'b'], residual: R, maxLen });
    m.W_E.write('vocab', 'one', [[1], [1]]);
    addStage(m, [createLayer('nothing')], 1);
    m.W_U.set('one', ['vocab', 1], 1);
    return m;
  };
  const exact = interpreterByName('exact');

  it('a CoT that exactly fills maxLen runs, reading maxLen positions at its last step; one more step is refused', () => {
    for (const maxLen of [1, 2, 5]) {
      const m = decoder(maxLen);
      for (let p = 1; p <= maxLen; p++) {
        const steps = maxLen - p + 1; // p + steps − 1 = maxLen
        const prompt = new Array<number>(p).fill(0);
        const cot = decodeCot(exact, m, prompt, steps);
        expect(cot.generated).toEqual(new Array<number>(steps).fill(1));
        expect(cot.steps[steps - 1].tokens.length).toBe(maxLen);
        expect(cot.steps[steps - 1].readouts[0].position).toBe(maxLen - 1);
        expect(() => decodeCot(exact, m, prompt, steps + 1)).toThrow(InputError);
        expect(() => decodeCot(exact, m, prompt, steps + 1)).toThrow(new RegExp(`CoT of ${steps + 1} steps on a prompt of ${p} needs ${maxLen + 1} positions; the model has ${maxLen}`));
      }
    }
  });

  it('a prompt longer than maxLen is refused by the same check, before any run', () => {
    const m = decoder(3);
    expect(() => decodeCot(exact, m, [0, 0, 0, 0], 1)).toThrow(/needs 4 positions; the model has 3/);
  });
});
