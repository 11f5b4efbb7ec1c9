// The memory and work budgets: parsing the flags, refusing an allocation or a run that does not
// fit (with what it is and what to lower), and estimates that track what is really built.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { buildRandomModel, modelAndInputArbitrary } from '../simulators/random-model.ts';
import { float64 } from '../simulators/arithmetic/float.ts';
import type { NumberSystem } from '../simulators/arithmetic/number-system.ts';
import { forward } from '../simulators/forward.ts';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { chargeMemory, memoryBudget, parseBytes, parseCount, setMemoryBudget, setWorkBudget, withMemoryScope } from '../simulators/budget.ts';
import { ResourceError, UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { LabeledMatrix, identity } from '../simulators/matrix.ts';
import { addStage, createHead, createLayer, createMlp, createModel } from '../simulators/model.ts';
import { BYTES_PER_NONZERO, estimateRun, nonzeros, preflightRun } from '../simulators/preflight.ts';
import { space } from '../simulators/space.ts';

afterEach(() => {
  setMemoryBudget(null);
  setWorkBudget(null);
});

describe('budget flags', () => {
  it('reads sizes in binary units and counts, and names the flag on a bad value', () => {
    expect(parseBytes('512M')).toBe(512 * 2 ** 20);
    expect(parseBytes('4G')).toBe(4 * 2 ** 30);
    expect(parseBytes('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('1000000')).toBe(1e6);
    for (const bad of ['', '-1G', '0', 'lots', '4X', '0x10', 'NaN']) expect(() => parseBytes(bad)).toThrow(/--max-memory takes a size/);
    expect(parseCount('1e12')).toBe(1e12);
    for (const bad of ['-5', '0', 'x', 'Infinity']) expect(() => parseCount(bad)).toThrow(UsageError);
  });

  it('defaults the memory budget to at most the JavaScript heap limit', () => {
    expect(memoryBudget()).toBeGreaterThan(2 ** 26);
    setMemoryBudget(12345);
    expect(memoryBudget()).toBe(12345);
  });
});

describe('allocation accounting', () => {
  it('refuses a matrix over the budget before allocating it, naming it and its shape', () => {
    setMemoryBudget(2 ** 20);
    expect(() => new LabeledMatrix('layer 0 W_in', space({ a: 1000 }), space({ b: 1000 }))).toThrow(/layer 0 W_in \(1,000 × 1,000\) needs about 7\.6 MiB, over the memory budget of 1\.0 MiB/);
    // 100 × 100 doubles (78 KiB) fit.
    expect(new LabeledMatrix('small', space({ a: 100 }), space({ b: 100 })).shape).toEqual([100, 100]);
  });

  it('adds up a scope: many small matrices that together do not fit are refused, with what to lower', () => {
    setMemoryBudget(2 ** 20);
    const build = () =>
      withMemoryScope('building test', 'n=9', () => {
        for (let i = 0; i < 20; i++) new LabeledMatrix(`m${i}`, space({ a: 100 }), space({ b: 100 }));
      });
    expect(build).toThrow(ResourceError);
    expect(build).toThrow(/building test needs more than 1\.0 MiB \(stopped at m1\d \(100 × 100\).*; lower n=9/);
    // Outside the scope each matrix is judged alone.
    for (let i = 0; i < 20; i++) new LabeledMatrix(`m${i}`, space({ a: 100 }), space({ b: 100 }));
  });

  it('refuses a subspace of 2^40 directions before making its labels', () => {
    const t0 = performance.now();
    expect(() => space({ huge: 2 ** 40 })).toThrow(/subspace "huge" \(1,099,511,627,776 directions\) needs about/);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('charges outside any scope too (a loader, a library user)', () => {
    setMemoryBudget(1000);
    expect(() => chargeMemory(2000, 'a thing')).toThrow(/a thing needs about 2\.0 KiB, over the memory budget of 1000 B/);
  });
});

describe('run estimates', () => {
  /** A one-layer model whose MLP has `hidden` units, each reading one coordinate. */
  function mlpModel(hidden: number, loops: number, stages = 1) {
    const residual = space({ x: 2 });
    const model = createModel({ name: 'mlp', vocab: ['a', 'b'], residual, maxLen: 4 });
    model.W_E.set(['vocab', 0], ['x', 0], 1);
    model.W_U.set(['x', 0], ['vocab', 0], 1);
    const layer = createLayer();
    const mlp = createMlp(residual, { name: 'f', hidden });
    for (let k = 0; k < hidden; k++) mlp.W_in.set(['x', 0], ['hidden', k], 1);
    layer.mlp = mlp;
    for (let s = 0; s < stages; s++) addStage(model, [layer], loops);
    return model;
  }

  it('counts nonzeros from storage, and grows with loops, positions and the batch', () => {
    const m = mlpModel(50, 2);
    expect(nonzeros(m.stages[0].layers[0].mlp!.W_in)).toBe(50);
    const base = estimateRun(m, 'float64', { positions: 2 });
    expect(estimateRun(mlpModel(50, 4), 'float64', { positions: 2 }).ops).toBeGreaterThan(1.9 * base.ops - 1e4);
    expect(estimateRun(m, 'float64', { positions: 4 }).ops).toBeGreaterThan(base.ops);
    expect(estimateRun(m, 'fast64', { positions: 2, batch: 100 }).ops).toBeGreaterThan(10 * estimateRun(m, 'fast64', { positions: 2 }).ops);
    expect(estimateRun(m, 'exact', { positions: 2, trace: true }).bytes).toBeGreaterThan(estimateRun(m, 'exact', { positions: 2 }).bytes);
  });

  it('refuses 1,000 stages of 1,048,576 loops up front, in milliseconds', () => {
    const m = mlpModel(1, 2 ** 20, 1000);
    const t0 = performance.now();
    expect(() => interpreterByName('float64').run(m, [0])).toThrow(/running "mlp" under float64 on 1 positions .*depth 1,048,576,000.* weighted multiply-adds, over the work budget/);
    expect(() => interpreterByName('exact').run(m, [0])).toThrow(ResourceError);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('refuses a run whose activations do not fit, and runs it once the budget allows', () => {
    const m = mlpModel(4000, 1);
    setMemoryBudget(2 ** 20);
    expect(() => preflightRun(m, 'exact', { positions: 4 })).toThrow(/needs about .* over the memory budget of 1\.0 MiB/);
    setMemoryBudget(null);
    expect(interpreterByName('exact').run(m, [0, 1, 0, 1]).answer).not.toBeUndefined();
  });

  it("group-composition's estimate from its parameters tracks the nonzeros it really builds", () => {
    const c = constructionById('group-composition');
    for (const group of ['Z20', 'S4', 'D15', 'Z60']) {
      const params = resolveParams(c, { group, n: '8' });
      const built = c.build(params);
      const mlp = built.model.stages[0].layers[0].mlp!;
      const real = nonzeros(mlp.W_in) + nonzeros(mlp.W_out);
      const units = mlp.hidden.dim;
      const bits = Math.ceil(Math.log2(Number(built.sizeScope.G)));
      // The estimate counts (3⌈log2|G|⌉ + 1) nonzeros a unit: within 20% of the real count.
      expect(units * (3 * Math.max(1, bits) + 1)).toBeGreaterThan(0.8 * real);
      expect(units * (3 * Math.max(1, bits) + 1)).toBeLessThan(1.2 * real);
      expect(c.estimate!(params).bytes).toBeGreaterThan(real * 200);
    }
  });

  it('refuses group-composition Z1000 from its parameters before building anything', () => {
    const c = constructionById('group-composition');
    const t0 = performance.now();
    expect(() => c.build(resolveParams(c, { group: 'Z1000', n: '4' }))).toThrow(/group-composition \(\|G\| = 1000: an MLP of 1,000,060 units over a width of 39\) needs about .* GiB, over the memory budget .*; lower group=Z1000 or n=4/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('the work estimate against the arithmetic a run really does', () => {
  /** float64 with every multiplication and addition counted. */
  function counting(): { ns: NumberSystem<number>; count: () => number } {
    let ops = 0;
    const ns: NumberSystem<number> = {
      ...float64,
      name: 'float64',
      add: (a, b) => (ops++, float64.add(a, b)),
      mul: (a, b) => (ops++, float64.mul(a, b)),
    };
    return { ns, count: () => ops };
  }

  it('bounds the counted multiply-adds of the generic float64 run, and is within 2,000× plus its per-layer overhead', () => {
    fc.assert(
      fc.property(modelAndInputArbitrary({ maxWidth: 8, maxLen: 8, maxHeads: 2, maxLayers: 3, maxLoops: 3, maxStages: 2, maxHidden: 8, kinds: ['hard', 'softmax'] }), ({ spec, tokens }) => {
        const model = buildRandomModel(spec);
        const { ns, count } = counting();
        forward(ns, model, tokens);
        const real = count() / 2; // a multiply-add is one of each
        const e = estimateRun(model, 'float64', { positions: tokens.length });
        // Per layer application the estimate adds a fixed overhead (2,000 + 1,000 per position):
        // take it off to compare the arithmetic alone.
        const overhead = e.depth * (2000 + 1000 * tokens.length);
        expect(e.ops).toBeGreaterThanOrEqual(real);
        expect(e.ops - overhead).toBeLessThanOrEqual(2000 * real + 1000);
      }),
      fcParams(200),
    );
  });

  it('counts shared layers once for memory and once per application for work', () => {
    const residual = space({ x: 2 });
    const model = createModel({ name: 'shared', vocab: ['a', 'b'], residual, maxLen: 4 });
    const layer = createLayer();
    const mlp = createMlp(residual, { name: 'f', hidden: 64 });
    for (let k = 0; k < 64; k++) mlp.W_in.set(['x', 0], ['hidden', k], 1);
    layer.mlp = mlp;
    addStage(model, [layer, layer, layer], 1);
    const three = estimateRun(model, 'exact', { positions: 4 });
    const once = createModel({ name: 'once', vocab: ['a', 'b'], residual, maxLen: 4 });
    addStage(once, [layer], 1);
    const one = estimateRun(once, 'exact', { positions: 4 });
    expect(three.nonzeros).toBe(one.nonzeros);
    expect(three.depth).toBe(3);
    expect(three.ops).toBeGreaterThan(2.5 * one.ops);
    // The batched paths hold typed arrays, far less than the generic interpreters' objects.
    expect(estimateRun(once, 'fast64', { positions: 4 }).bytes).toBeLessThan(one.bytes);
  });

  it('grows quadratically with the positions for attention, linearly with the batch, and with every trace snapshot', () => {
    const residual = space({ q: 32, v: 32 });
    const model = createModel({ name: 'attn', vocab: ['a', 'b'], residual, maxLen: 512 });
    const layer = createLayer();
    const head = createHead(residual, { name: 'h', qk: 32, ov: 32 });
    head.W_Q.write('q', 'qk', identity());
    head.W_K.write('q', 'qk', identity());
    head.W_V.write('v', 'ov', identity());
    head.W_O.write('ov', 'v', identity());
    layer.heads.push(head);
    addStage(model, [layer], 2);
    const at = (positions: number, extra: { batch?: number; trace?: boolean | 'loops' } = {}) => estimateRun(model, 'float64', { positions, ...extra });
    expect(at(512).ops / at(256).ops).toBeGreaterThan(3.5);
    expect(at(64, { batch: 10 }).ops).toBeCloseTo(10 * at(64).ops, -2);
    expect(at(64, { batch: 10 }).bytes).toBeGreaterThan(9 * (at(64).bytes - BYTES_PER_NONZERO * at(64).nonzeros));
    const plain = at(64).bytes;
    const loops = at(64, { trace: 'loops' }).bytes;
    const all = at(64, { trace: true }).bytes;
    expect(loops).toBeGreaterThan(plain);
    expect(all - plain).toBeGreaterThan(1.5 * (loops - plain));
    // exact values cost more than doubles, and exact arithmetic more time.
    expect(estimateRun(model, 'exact', { positions: 64 }).bytes).toBeGreaterThan(plain);
    expect(estimateRun(model, 'exact', { positions: 64 }).ops).toBeGreaterThan(at(64).ops);
    expect(estimateRun(model, 'fast64', { positions: 64 }).ops).toBeLessThan(at(64).ops);
  });

  it('names the batch and uses the given hint in a refusal, and remembers a model it has checked', () => {
    const residual = space({ x: 2 });
    const model = createModel({ name: 'tiny', vocab: ['a', 'b'], residual, maxLen: 4 });
    setWorkBudget(10);
    expect(() => preflightRun(model, 'fast64', { positions: 4, batch: 7 }, 'the batch')).toThrow(/running "tiny" under fast64 on 4 positions × 7 inputs .*; lower the batch$/);
    expect(() => preflightRun(model, 'exact', { positions: 4 })).toThrow(/on 4 positions \(.*lower the input length, the model size or the loop count$/);
    setWorkBudget(null);
    const first = preflightRun(model, 'exact', { positions: 3 });
    setWorkBudget(10);
    // Checked once already: not estimated (nor refused) again.
    expect(preflightRun(model, 'exact', { positions: 3 })).toBe(first);
  });
});
