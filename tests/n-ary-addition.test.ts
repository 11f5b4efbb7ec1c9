// n-ary addition as the paper poses it (the full sum in decimal digits): the task's reference
// algorithm, the construction against it under exact / fixed:s / float64 / fast64, lockstep per
// loop, extra loops, claimed sizes, and the checks shown to refuse broken variants with shrunk inputs.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides the per-test run counts below.
// LOOPED_EXHAUSTIVE=1 runs all 10^6 inputs of n = 2 through fast64 (default: a 6000-input slice).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BuiltConstruction, type Construction, compareSizes, resolveParams } from '../proofs/construction.ts';
import {
  type DigitsAnswer,
  type Operands,
  buildAddition,
  carrySteps,
  digitSteps,
  layoutFor,
  naryAddition,
  precisionBits,
  readParams,
  slotPosition,
  sourcesAt,
  treePosition,
} from '../proofs/n-ary-addition.ts';
import { constructionById } from '../proofs/registry.ts';
import { runsFromEnv, seedFromEnv } from '../properties/config.ts';
import { fewestPassingBits, searchCounterexample } from '../properties/counterexample.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { InputError, UsageError } from '../common/errors.ts';
import { fast64 } from '../simulators/fast/index.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, modelSizes, withLoops } from '../simulators/model.ts';
import { additionRounds, answerDigits, digitsOf, fullSumDigits, operandsArbitrary, roundCount, tokenText } from '../tasks/n-ary-addition.ts';

const SEED = seedFromEnv(42);
const runs = (fallback: number) => runsFromEnv(fallback);
const opts = (fallback: number) => ({ seed: SEED, numRuns: runs(fallback) });

type NA = BuiltConstruction<Operands, DigitsAnswer>;
const build = (n: number, extra: Record<string, string | number> = {}): NA => naryAddition.build({ n, ...extra });
const nary = naryAddition as Construction;

const answersOn = (built: NA, interpreter: string, model: Model) => {
  const it = interpreterByName(interpreter);
  return (nums: Operands) => built.decode(it.run(model, built.encode(nums))) === built.reference(nums);
};

describe('the task: the paper\'s format and the iterative algorithm', () => {
  it('writes the paper\'s example and its answer "1304"', () => {
    expect(tokenText([315, 120, 45, 824])).toBe('#315+120+045+824=____');
    expect(fullSumDigits([315, 120, 45, 824])).toBe('1304');
    expect(answerDigits(10)).toBe(4); // 9990
    expect(answerDigits(11)).toBe(5); // 10989
    expect(fullSumDigits(new Array<number>(32).fill(999))).toBe('31968');
  });

  it('after ⌈log2 n⌉ + 1 rounds the slots hold the full sum, the columns (0, …, 0, C_j), and more rounds change nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 32 }).chain((n) => operandsArbitrary(n)), (nums) => {
        const n = nums.length;
        const T = roundCount(n);
        const states = additionRounds(nums, T + 3);
        const S = nums.reduce((a, b) => a + b, 0);
        expect(states[T].slots.join('')).toBe(String(S).padStart(answerDigits(n), '0'));
        for (let j = 0; j < 3; j++) {
          const C = nums.reduce((a, x) => a + (Math.floor(x / 10 ** j) % 10), 0);
          expect(states[T - 1].columns[j]).toEqual([...new Array<number>(n).fill(0), C]);
        }
        expect(states[T + 3]).toEqual(states[T]);
      }),
      opts(300),
    );
  });

  it('one round fewer leaves out the operands before the last 2^(⌈log2 n⌉−1): it is wrong exactly when one of them is nonzero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 32 }).chain((n) => operandsArbitrary(n)), (nums) => {
        const n = nums.length;
        const T = roundCount(n);
        const kept = nums.slice(n - 2 ** (T - 2));
        const got = additionRounds(nums, T - 1)[T - 1].slots.join('');
        expect(got).toBe(digitsOf(kept.reduce((a, b) => a + b, 0), answerDigits(n)).join(''));
        expect(got === fullSumDigits(nums)).toBe(nums.slice(0, n - kept.length).every((x) => x === 0));
      }),
      opts(300),
    );
  });

  it('refuses operands outside 000..999', () => {
    expect(() => fullSumDigits([1, 1000])).toThrow(/operand 2 is 1000/);
    expect(() => additionRounds([1, -1])).toThrow(/operand 2 is -1/);
  });
});

describe('the claimed sizes are the built ones at every n in 2..32', () => {
  it('every size key, evaluated from the proposition\'s formulas in n', () => {
    const off: string[] = [];
    for (let n = 2; n <= 32; n++) {
      const built = build(n);
      for (const row of compareSizes(nary, built, modelSizes(built.model))) if (row.claimed === null || row.built !== row.claimed) off.push(`n=${n} ${row.key}: claimed ${row.claimed}, built ${row.built}`);
    }
    expect(off).toEqual([]);
  });
});

describe('the layout: every position reads only positions at or before it, and the trees read their own column', () => {
  it.each([2, 3, 5, 8, 11, 16, 31, 32])('n = %i', (n) => {
    const L = layoutFor(n);
    for (let i = 0; i < L.N; i++) for (const src of sourcesAt(n, i)) expect(src).toBeLessThanOrEqual(i);
    for (let j = 0; j < 3; j++) {
      for (let m = 1; m <= n; m++) {
        const [a, b, c] = sourcesAt(n, treePosition(j, m));
        expect([a, b, c]).toEqual([treePosition(j, Math.max(2 * m - n - 1, 0)), treePosition(j, Math.max(2 * m - n, 0)), 0]);
      }
    }
    for (let k = 0; k < L.D; k++) expect(sourcesAt(n, slotPosition(L, k))).toEqual([treePosition(0, n), treePosition(1, n), treePosition(2, n)]);
  });
});

// (n, exact runs, other runs): an exact run costs about 25 ms at n = 8 and ~300 ms at n = 32 (N = 134
// positions: attention is quadratic in them), so n = 32 gets a handful here and more through fast64.
const CASES = [
  { n: 2, exact: 120, other: 50 },
  { n: 3, exact: 80, other: 30 },
  { n: 5, exact: 60, other: 25 },
  { n: 8, exact: 50, other: 20 },
  { n: 11, exact: 30, other: 12 },
  { n: 32, exact: 8, other: 3 },
];

describe.each(CASES)('the construction at n = $n', ({ n, exact, other }) => {
  const built = build(n);
  const [exactCheck, fixedCheck, floatCheck] = built.checks;
  const T = roundCount(n);

  it('has exactly the claimed sizes (the proposition\'s formulas in n)', () => {
    for (const row of compareSizes(nary, built, modelSizes(built.model))) {
      expect(row.claimed, row.key).not.toBeNull();
      expect(row.built, row.key).toBe(row.claimed);
    }
    expect(modelSizes(built.model).loops).toBe(Math.ceil(Math.log2(n)) + 1);
    // The MLP does not grow like |Z_1000|² = 10^6: about 6n units (187 at n = 32), at most 83 for the digits.
    expect(modelSizes(built.model).mlpWidth).toBeLessThanOrEqual(Math.max(83, 6 * n));
    expect(modelSizes(built.model).layersPerBlock).toBe(2);
  });

  it('writes the digits of the full sum under exact arithmetic with hard attention', () => {
    expect(exactCheck.interpreter).toBe('exact');
    fc.assert(fc.property(built.arbitrary(), answersOn(built, 'exact', exactCheck.model)), opts(exact));
  });

  it(`and under fixed:${precisionBits(n)} softmax (the claimed bits) and float64 softmax at scale 1`, () => {
    expect(fixedCheck.interpreter).toBe(`fixed:${precisionBits(n)}`);
    expect(built.bits).toBe(precisionBits(n));
    fc.assert(fc.property(built.arbitrary(), answersOn(built, fixedCheck.interpreter, fixedCheck.model)), opts(other));
    expect(floatCheck.interpreter).toBe('float64');
    fc.assert(fc.property(built.arbitrary(), answersOn(built, 'float64', floatCheck.model)), opts(other));
  });

  it('and through the batched fast64 path, on the hard model and on the float64 softmax check', () => {
    const inputs = fc.sample(built.arbitrary(), { numRuns: runs(4 * other), seed: SEED });
    inputs.push(new Array<number>(n).fill(999), new Array<number>(n).fill(0));
    for (const check of [exactCheck, floatCheck]) {
      const results = fast64.runBatch(check.model, inputs.map((x) => built.encode(x)));
      const wrong = inputs.filter((x, k) => built.decode(results[k]) !== built.reference(x));
      expect(wrong.map((x) => built.formatInput(x)), check.label).toEqual([]);
    }
  });

  it('runs in lockstep with the algorithm: every column tree and every slot after every loop', () => {
    const ls = built.lockstep!;
    const it = interpreterByName('exact');
    fc.assert(
      fc.property(built.arbitrary(), (nums) => {
        const rows = ls.compare(nums, it.run(exactCheck.model, built.encode(nums), { trace: ls.trace ?? true }));
        expect(rows.map((r) => r.loop)).toEqual(Array.from({ length: T }, (_, t) => t + 1));
        for (const row of rows) expect(row.got, `loop ${row.loop}`).toEqual(row.expected);
      }),
      opts(Math.ceil(exact / 3)),
    );
  });

  it('keeps its answer with extra loops', () => {
    const more = withLoops(exactCheck.model, [T + 3]);
    fc.assert(fc.property(built.arbitrary(), answersOn(built, 'exact', more)), opts(Math.ceil(exact / 3)));
  });
});

describe('n = 2 over its input space (1000² words; a slice unless LOOPED_EXHAUSTIVE=1)', () => {
  it('every word of the slice through fast64 on the hard model', () => {
    const built = build(2);
    expect(built.exhaustive).toEqual({ symbols: 1000, minLength: 2, maxLength: 2 });
    expect(build(3).exhaustive).toBeUndefined();
    const full = process.env.LOOPED_EXHAUSTIVE === '1';
    const seconds = full ? Array.from({ length: 1000 }, (_, b) => b) : [0, 1, 9, 99, 501, 999];
    for (const b of seconds) {
      const words = Array.from({ length: 1000 }, (_, a) => [a, b]);
      const results = fast64.runBatch(built.checks[0].model, words.map((w) => built.encode(w)));
      const wrong = words.filter((w, k) => built.decode(results[k]) !== built.reference(w));
      expect(wrong, `second operand ${b}`).toEqual([]);
    }
  }, 600_000);
});

describe('the checks refuse broken variants, with shrunk inputs', () => {
  it('one loop fewer: the search finds a single operand 001 that the shortened tree leaves out', () => {
    for (const n of [8, 5]) {
      const T = roundCount(n);
      const r = searchCounterexample(nary, resolveParams(nary, { n: String(n) }), { kind: 'loops', loops: T - 1 }, { samples: 200, seed: SEED });
      expect(r.found).toBe(true);
      const nums = JSON.parse(r.input!) as string;
      const ops = nums.replace(/=$/, '').split('+').map(Number);
      // Shrunk: all zero but one operand 1, among those the last 2^(T−2) do not reach.
      expect(ops.filter((x) => x !== 0)).toEqual([1]);
      expect(ops.indexOf(1)).toBeLessThan(n - 2 ** (T - 2));
      expect(r.replay).toContain('--param loops=');
      // The replay command's parameters rebuild the failing model.
      const weak = build(n, { loops: T - 1 });
      expect(weak.decode(interpreterByName('exact').run(weak.checks[0].model, weak.encode(ops)))).not.toBe(weak.reference(ops));
    }
    // The claimed loop count passes the same search.
    expect(searchCounterexample(nary, resolveParams(nary, { n: '8' }), { kind: 'loops', loops: roundCount(8) }, { samples: 100, seed: SEED }).found).toBe(false);
  });

  it('the size check reports a one-loop-fewer or one-loop-more build against the claim', () => {
    for (const loops of [roundCount(8) - 1, roundCount(8) + 1]) {
      const built = build(8, { loops });
      const row = compareSizes(nary, built, modelSizes(built.model)).find((x) => x.key === 'loops')!;
      expect(row.built).toBe(loops);
      expect(row.built).not.toBe(row.claimed);
    }
  });

  it('too few bits: F_s below the claimed s saturates the digit sums, and the search shrinks a failing input', () => {
    const params = resolveParams(nary, { n: '8' });
    const s = precisionBits(8);
    const r = searchCounterexample(nary, params, { kind: 'bits', bits: s - 2 }, { samples: 200, seed: SEED, inputs: 'checks' });
    expect(r.found).toBe(true);
    expect(searchCounterexample(nary, params, { kind: 'bits', bits: s }, { samples: 100, seed: SEED, inputs: 'checks' }).found).toBe(false);
    // Measured: the least passing s is close to the claim (the claim is a sufficient bound).
    const least = fewestPassingBits(nary, params, { samples: 60, seed: SEED, inputs: 'checks', maxBits: s });
    expect(least.value).not.toBeNull();
    expect(least.value!).toBeLessThanOrEqual(s);
    expect(least.value!).toBeGreaterThanOrEqual(s - 2);
  });

  it('verify refuses a model whose tree forgets its second source: every answer check and the lockstep fail', async () => {
    const broken: Construction = {
      ...nary,
      build(params) {
        const built = buildAddition(readParams(params));
        // acc ← s1 only: the unit relu(s2) no longer writes into acc.
        built.checks[0].model.stages[0].layers[1].mlp!.W_out.set(['tree', 2], 'acc', 0);
        return built as BuiltConstruction<unknown, unknown>;
      },
    };
    const report = await verifyConstruction(broken, resolveParams(broken, { n: '4' }), { samples: 60, seed: SEED });
    expect(report.ok).toBe(false);
    const labels = report.checks.filter((c) => c.failed).map((c) => c.label);
    expect(labels.some((l) => l.startsWith('exact'))).toBe(true);
    expect(labels.some((l) => l.startsWith('lockstep'))).toBe(true);
    const exactFail = report.checks.find((c) => c.label.startsWith('exact'))!.counterexample!;
    // Shrunk to the smallest failure: one nonzero digit in a column whose second source is lost.
    const ops = (JSON.parse(exactFail.input) as string).replace(/=$/, '').split('+').map(Number);
    expect(ops.filter((x) => x !== 0).length).toBe(1);
  });

  it('verify refuses a model whose digit units are not gated to their slot', async () => {
    const broken: Construction = {
      ...nary,
      build(params) {
        const built = buildAddition(readParams(params));
        const mlp = built.checks[0].model.stages[0].layers[1].mlp!;
        for (let u = 0; u < mlp.hidden.range('digit.1').size; u++) mlp.W_in.set(['notslot', 1], ['digit.1', u], 0);
        return built as BuiltConstruction<unknown, unknown>;
      },
    };
    const report = await verifyConstruction(broken, resolveParams(broken, { n: '3' }), { samples: 60, seed: SEED, interpreter: 'exact' });
    expect(report.ok).toBe(false);
    expect(report.checks[0].counterexample).not.toBeNull();
  });

  it('the claimed construction holds through verify (the same property code as `looped verify`)', async () => {
    const report = await verifyConstruction(nary, resolveParams(nary, {}), { samples: runs(30), seed: SEED });
    expect(report.checks.map((c) => c.label.split(',')[0].split(':')[0])).toEqual(['exact', 'fixed', 'float64', 'lockstep', 'two extra loops change nothing']);
    expect(report.ok).toBe(true);
    expect(report.sizesWithinClaim).toBe(true);
  });
});

describe('inputs and parameters: errors name what is wrong', () => {
  const built = build(4);

  it('reads the paper\'s text, the JSON string, and a JSON array', () => {
    expect(built.parseInput('315 + 120 + 045 + 824 =')).toEqual([315, 120, 45, 824]);
    expect(built.parseInput('#315+120+045+824=____')).toEqual([315, 120, 45, 824]);
    expect(built.parseInput('"315+120+045+824="')).toEqual([315, 120, 45, 824]);
    expect(built.parseInput('[315, 120, 45, 824]')).toEqual([315, 120, 45, 824]);
    const nums = [315, 120, 45, 824];
    expect(built.parseInput(built.formatInput(nums))).toEqual(nums);
    const run = interpreterByName('exact').run(built.checks[0].model, built.encode(nums));
    expect(built.decode(run)).toBe('1304');
    expect(run.tokens.length).toBe(1 + 16 + 4);
  });

  it('refuses bad operands and wrong counts with the operand named', () => {
    expect(() => built.parseInput('315+12+045+824=')).toThrow(InputError);
    expect(() => built.parseInput('315+12+045+824=')).toThrow(/operand 2 is "12".*zero-padded/);
    expect(() => built.parseInput('315+120+045=')).toThrow(/n = 4 operands but the input has 3/);
    expect(() => built.parseInput('315-120+045+824=')).toThrow(/"-" at character 4/);
    expect(() => built.parseInput('[315, 1200, 45, 824]')).toThrow(/operand 2 is 1200/);
    expect(() => built.parseInput('[315, "a", 45, 824]')).toThrow(/operand 2 is "a"/);
    expect(() => built.encode([1, 2, 3])).toThrow(/n = 4 operands but the input has 3/);
  });

  it('refuses n, loops and scale outside their ranges, naming the parameter', () => {
    const c = constructionById('n-ary-addition');
    expect(() => resolveParams(c, { n: '1' })).toThrow(UsageError);
    expect(() => resolveParams(c, { n: '33' })).toThrow(/parameter n of n-ary-addition is 33, outside its range 2\.\.32/);
    expect(() => readParams({ n: 1 })).toThrow(/parameter n of n-ary-addition must be a whole number in 2\.\.32/);
    expect(() => build(8, { loops: '-1' })).toThrow(/parameter loops/);
    expect(() => build(8, { loops: 'x' })).toThrow(/parameter loops/);
    expect(() => build(8, { scale: '0' })).toThrow(/parameter scale .* positive/);
  });

  it('writes the threshold units the proposition counts, and they compute q and the digit for every L_k up to Lmax_k', () => {
    const step = (x: number, a: number) => Math.max(0, x - a + 1) - Math.max(0, x - a);
    for (const n of [2, 8, 11, 32]) {
      const D = answerDigits(n);
      for (let k = 0; k < D; k++) {
        const Lmax = n * (10 ** (Math.min(k, 2) + 1) - 1);
        expect(carrySteps(n, k).length, `n=${n} k=${k}`).toBe(Math.floor(Lmax / 10 ** (k + 1)));
        expect(digitSteps(n, k).length, `n=${n} k=${k}`).toBe(Math.min(9, Math.floor(Lmax / 10 ** k)));
        for (let L = 0; L <= Lmax; L++) {
          const q = carrySteps(n, k).reduce((acc, a) => acc + step(L, a), 0);
          const r = L - 10 ** (k + 1) * q;
          const digit = digitSteps(n, k).reduce((acc, a) => acc + step(r, a), 0);
          if (q !== Math.floor(L / 10 ** (k + 1)) || digit !== Math.floor(L / 10 ** k) % 10) throw new Error(`n=${n} k=${k} L=${L}: q=${q} digit=${digit}`);
        }
      }
    }
  });
});
