import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { buildRandomModel, modelAndInputArbitrary } from '../simulators/random-model.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { loadModel, modelToJson, saveModel } from '../simulators/model-file.ts';
import { constructionById } from '../proofs/registry.ts';
import { resolveParams } from '../proofs/construction.ts';

describe('model files (looped/1)', () => {
  it('save then load gives an identical model, on random models with masks and several stages', () => {
    fc.assert(
      fc.property(modelAndInputArbitrary({ kinds: ['hard', 'softmax'], maxStages: 3, masks: [null, 'i >= t'] }), fc.boolean(), ({ spec, tokens }, rational) => {
        const model = buildRandomModel(spec);
        if (rational) model.W_U.setAt(0, 0, '1/3'); // an entry no double holds
        const text = saveModel(model);
        const back = loadModel(text);
        expect(modelToJson(back)).toEqual(modelToJson(model));
        expect(saveModel(back)).toBe(text);
        const it = interpreterByName('float64');
        expect(it.run(back, tokens).readouts).toEqual(it.run(model, tokens).readouts);
      }),
      fcParams(200),
    );
  });

  it('keeps exact rationals and labels of a construction', () => {
    const c = constructionById('lemma-b4');
    const model = c.build(resolveParams(c, { n: '8' })).model;
    model.W_U.setAt(0, 0, '2/3');
    const back = loadModel(saveModel(model));
    expect(back.W_U.exactAt(0, 0).toFraction()).toBe('2/3');
    expect(back.residual.labels).toEqual(model.residual.labels);
    expect(back.stages[0].layers[0].heads[0].qk.labels).toEqual(model.stages[0].layers[0].heads[0].qk.labels);
    const ex = interpreterByName('exact');
    expect(ex.run(back, [1, 2, 3, 0]).readouts[3].exactLogits).toEqual(ex.run(model, [1, 2, 3, 0]).readouts[3].exactLogits);
  });

  it('refuses a bad file, naming the first bad field', () => {
    const c = constructionById('lemma-b9-shift');
    const good = modelToJson(c.build(resolveParams(c, { n: '4' })).model);
    const bad = (edit: (j: Record<string, unknown>) => void) => {
      const j = structuredClone(good) as unknown as Record<string, unknown>;
      edit(j);
      return () => loadModel(JSON.stringify(j));
    };
    type J = { stages: { layers: { heads: Record<string, unknown>[] }[] }[]; W_U: { entries: unknown[][] } };
    expect(() => loadModel('{')).toThrow(/not valid JSON/);
    expect(bad((j) => (j.format = 'looped/9'))).toThrow(/format is "looped\/9"; this version reads "looped\/1"/);
    expect(bad((j) => delete j.vocab)).toThrow(/vocab is missing/);
    expect(bad((j) => (j.maxLen = -1))).toThrow(/maxLen must be a whole number/);
    expect(bad((j) => ((j as unknown as J).stages[0].layers[0].heads[0].kind = 'sharp'))).toThrow(/stages\[0\]\.layers\[0\]\.heads\[0\]\.kind must be one of softmax, hard/);
    expect(bad((j) => ((j as unknown as J).W_U.entries[0][2] = 'x/y'))).toThrow(/W_U\.entries\[0\]\[2\] "x\/y" is not a rational/);
    expect(bad((j) => ((j as unknown as J).W_U.entries[0][0] = 999))).toThrow(/W_U\.entries\[0\]\[0\] must be a whole number in 0\.\./);
    expect(bad((j) => ((j as unknown as J).W_U.entries[0][2] = null))).toThrow(/W_U\.entries\[0\]\[2\] must be a number or a rational string/);
    expect(bad((j) => (((j as unknown as J).stages[0].layers[0].heads[0].W_Q as { shape: number[] }).shape = [3, 3]))).toThrow(/heads\[0\]\.W_Q\.shape is \[3, 3\] but .* W_Q maps/);
    expect(bad((j) => ((j as unknown as J).stages[0].layers[0].heads[0].causal = 'yes'))).toThrow(/causal must be true or false/);
    expect(bad((j) => (j.vocab = ['a', 'a', 'b', 'c']))).toThrow(/repeats the token "a"/);
  });
});
