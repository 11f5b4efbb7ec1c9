// The compiler kit (proofs/compiler/kit.ts) that Theorems 5.2 and 5.4 share, and Theorem 5.2's
// stages (proofs/thm-5-2/compiler.ts) run one by one: each helper on a case where a wrong one
// would show (a clash of names, a copy into a space that does not extend the source's, a layer
// listed twice, a loop mask), and the stages giving the same model file as compileThm52Info.
import { describe, expect, it } from 'vitest';
import { UnsupportedError, UsageError } from '../common/errors.ts';
import { copyInto, fresh, nameAllocator, optionValue, unrollSource } from '../proofs/compiler/kit.ts';
import { VARIANT_OPTION, addGatedHeads, addGatedMlp, compileThm52Info, finishThm52, startThm52 } from '../proofs/thm-5-2/compiler.ts';
import { randomSource } from '../proofs/thm-5-2/random-source.ts';
import { analyseDecoder } from '../proofs/thm-5-4/compiler.ts';
import { LabeledMatrix } from '../simulators/matrix.ts';
import { addStage, createLayer, createModel } from '../simulators/model.ts';
import { modelToJson } from '../simulators/model-file.ts';
import { space } from '../simulators/space.ts';

describe('the compiler kit', () => {
  it('fresh and nameAllocator: a name the source has, or one given out before, gets a prime', () => {
    const s = space({ l: 1, first: 2, "first'": 1 });
    expect(fresh(s, 'l')).toBe("l'");
    expect(fresh(s, 'first')).toBe("first''");
    expect(fresh(s, 'inactive', ['inactive'])).toBe("inactive'");
    const nm = nameAllocator(s);
    expect([nm('tok'), nm('tok'), nm('l')]).toEqual(['tok', "tok'", "l'"]);
  });

  it('copyInto: writes into the extended space at the same labels, or at a named subspace; refuses a target that does not extend the source', () => {
    const rows = space({ x: 2 });
    const src = new LabeledMatrix('src', rows, space({ u: 2 }));
    src.set(['x', 0], ['u', 1], 3);
    src.set(['x', 1], ['u', 0], -2);
    const wide = new LabeledMatrix('dst', rows.extend({ y: 1 }), space({ u: 2, v: 1 }));
    copyInto(wide, src);
    const at = (m: LabeledMatrix, r: [string, number], c: [string, number]) => m.get(m.rows.index(...r), m.cols.index(...c));
    expect(at(wide, ['x', 0], ['u', 1])).toBe(3);
    expect(at(wide, ['x', 1], ['u', 0])).toBe(-2);
    expect(wide.nonzeroCount()).toBe(2);
    const side = new LabeledMatrix('side', rows, space({ a: 1, L1: 2 }));
    copyInto(side, src, { cols: 'L1' });
    expect(at(side, ['x', 0], ['L1', 1])).toBe(3);
    expect(at(side, ['x', 1], ['L1', 0])).toBe(-2);
    expect(at(side, ['x', 0], ['a', 0])).toBe(0);
    const other = new LabeledMatrix('other', space({ z: 2 }), space({ u: 2 }));
    expect(() => copyInto(other, src)).toThrow(/other does not extend src/);
  });

  it('unrollSource: depth, trace keys and distinct layers by object (a layer in two stages is one); a loop mask is refused', () => {
    const m = createModel({ name: 'm', vocab: ['a', 'b'], residual: space({ x: 2 }), maxLen: 3 });
    const A = createLayer('A');
    const B = createLayer('B');
    addStage(m, [A, B], 2);
    addStage(m, [A], 1);
    const u = unrollSource(m, { theorem: 'Theorem X', models: 'models' });
    expect(u.schedule).toEqual([A, B, A, B, A]);
    expect(u.r).toEqual([0, 1, 0, 1, 0]);
    expect(u.distinct.map((x) => x.depths)).toEqual([[1, 3, 5], [2, 4]]);
    expect(u.at[4]).toEqual({ loop: 3, layer: 0 });
    addStage(m, [B], 1, { expr: 'i >= t', describe: 'a mask' });
    expect(() => unrollSource(m, { theorem: 'Theorem X', models: 'models' })).toThrow(UnsupportedError);
    expect(() => unrollSource(m, { theorem: 'Theorem X', models: 'models' })).toThrow(/Theorem X compiles unmasked models, but stage 2 of "m" has the loop mask "i >= t"/);
    // Theorem 5.4's analysis unrolls the same way and copies a layer listed twice once.
    const dec = createModel({ name: 'd', vocab: ['a', 'b'], residual: space({ x: 2 }), maxLen: 4 });
    addStage(dec, [A, B], 2);
    expect(analyseDecoder(dec, 2, 2).r).toEqual([0, 1, 0, 1]);
  });

  it('optionValue: a compiler option is read by its choice spec; a bad one names the values', () => {
    expect(optionValue('Theorem 5.2', VARIANT_OPTION, undefined)).toBe('corrected');
    expect(optionValue('Theorem 5.2', VARIANT_OPTION, 'erratum-4')).toBe('erratum-4');
    expect(() => optionValue('Theorem 5.2', VARIANT_OPTION, 'erratum-9')).toThrow(UsageError);
    expect(() => optionValue('Theorem 5.2', VARIANT_OPTION, 'erratum-9')).toThrow(/variant of Theorem 5\.2 must be one of corrected, erratum-3, erratum-4, got "erratum-9"/);
  });
});

describe("Theorem 5.2's stages", () => {
  it('run one by one, they build the model compileThm52Info builds (every variant and gate), and each stage adds what it names', () => {
    const source = randomSource({ layers: 4, distinct: 2, width: 3, heads: 2, hidden: 2, vocab: 3, maxLen: 4, seed: 5, attention: 'hard' });
    for (const options of [{}, { variant: 'erratum-3' as const }, { variant: 'erratum-4' as const }, { gate: 'position-0' as const }, { fixedPoint: true }]) {
      const d = startThm52(source, options);
      expect(d.layer.heads).toHaveLength(0);
      addGatedHeads(d);
      expect(d.layer.heads.map((h) => h.name)).toEqual(['L0.h0', 'L0.h1', 'L1.h0', 'L1.h1']);
      expect(d.layer.mlp).toBeNull();
      const hats = addGatedMlp(d);
      expect(hats.length).toBeGreaterThan(0);
      const staged = finishThm52(d, hats);
      expect(JSON.stringify(modelToJson(staged.model))).toBe(JSON.stringify(modelToJson(compileThm52Info(source, options).model)));
    }
  });
});
