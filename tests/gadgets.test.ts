// Lemma B.4 (exact one-hot attention) and Lemma B.9 (SHIFT), with the signed binary codes they use.
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitsFor, decodeSbin, hamming, sbin } from '../proofs/codes.ts';
import { type BuiltConstruction, type Construction, compareSizes, resolveParams } from '../proofs/construction.ts';
import { ONE_HOT_QK, addOneHotHead, boundB, firstAliasingLength, lemmaB4, type ReadTokens, type Tokens } from '../proofs/gadgets/lemma-b4.ts';
import { lemmaB9Shift, shiftSequence } from '../proofs/gadgets/shift.ts';
import { constructionById } from '../proofs/registry.ts';
import { NumericError, UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, createHead, createLayer, createMlp, modelSizes, withAttention, withLoops } from '../simulators/model.ts';
import { verifyConstruction } from '../properties/verify.ts';
import type { RunResult } from '../simulators/result.ts';

const SEED = Number(process.env.FC_SEED ?? 42);
const RUNS = Number(process.env.FC_RUNS ?? 200);

type Reader = BuiltConstruction<Tokens, ReadTokens>;

function patternOf(run: RunResult): number[][] {
  const patterns = [...run.trace!.patterns.values()];
  expect(patterns).toHaveLength(1);
  return patterns[0];
}

/** Every row of the pattern is exactly one 1 and otherwise 0, at the expected column. */
function isExactlyOneHot(pattern: number[][], target: (i: number) => number): boolean {
  return pattern.every((row, i) => row.every((w, j) => (j === target(i) ? w === 1 : w === 0)));
}

/** The property: decoded answers equal the reference under one interpreter and model. */
function readerProperty(built: Reader, interpreter: string, model: Model, also?: (input: Tokens, run: RunResult) => boolean) {
  const interp = interpreterByName(interpreter);
  return fc.property(built.arbitrary(), (input) => {
    const run = interp.run(model, built.encode(input), { trace: also !== undefined });
    return built.equal(built.decode(run), built.reference(input)) && (also === undefined || also(input, run));
  });
}

const offset = (k: number) => (i: number) => Math.max(i - k, 0);

describe('signed binary codes', () => {
  it('index b holds bit b, least significant first, +1 for a set bit', () => {
    expect(sbin(6, 3)).toEqual([-1, 1, 1]);
    expect(sbin(1, 4)).toEqual([1, -1, -1, -1]);
    expect(sbin(0, 2)).toEqual([-1, -1]);
    expect(decodeSbin([1, -1, 1, 1])).toBe(13);
  });

  it('bitsFor(count) is the least s ≥ 1 with 2^s ≥ count', () => {
    expect([1, 2, 3, 4, 5, 16, 17, 1024, 1025].map(bitsFor)).toEqual([1, 1, 2, 2, 3, 4, 5, 10, 11]);
    expect(() => bitsFor(0)).toThrow(/count must be a whole number ≥ 1/);
  });

  it('decodes what it encodes, and ⟨sbin a, sbin b⟩ = s − 2·hamming(a, b)', () => {
    const arb = fc.integer({ min: 1, max: 20 }).chain((s) => fc.tuple(fc.constant(s), fc.nat(2 ** s - 1), fc.nat(2 ** s - 1)));
    fc.assert(
      fc.property(arb, ([s, a, b]) => {
        const [ca, cb] = [sbin(a, s), sbin(b, s)];
        const dot = ca.reduce((acc, x, i) => acc + x * cb[i], 0);
        return decodeSbin(ca) === a && dot === s - 2 * hamming(a, b);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('refuses a number that does not fit, unless told to keep the low bits (aliasing)', () => {
    expect(() => sbin(8, 3)).toThrow(/8 does not fit in 3 bits.*use s ≥ 4/);
    expect(sbin(8, 3, { wrap: true })).toEqual(sbin(0, 3));
    expect(() => decodeSbin([1, 0.5])).toThrow(/entry 1 is 0.5/);
  });
});

// (n, k, s): one gadget per bit count s = 1..5, plus one with more bits than n needs.
const B4_CASES: [number, number, number][] = [
  [2, 1, 1],
  [4, 2, 2],
  [8, 3, 3],
  [16, 2, 4],
  [24, 7, 5],
  [6, 2, 6],
];
const SHIFT_CASES: [number, number][] = [
  [2, 1],
  [4, 2],
  [8, 3],
  [16, 4],
];

interface Case {
  c: Construction<Tokens, ReadTokens>;
  name: string;
  params: Record<string, number>;
  target: (i: number) => number;
}
const cases: Case[] = [
  ...B4_CASES.map(([n, k, s]) => ({ c: lemmaB4, name: `lemma-b4 n=${n} k=${k} s=${s}`, params: { n, k, s, V: 4 }, target: offset(k) })),
  ...SHIFT_CASES.map(([n, s]) => ({ c: lemmaB9Shift, name: `lemma-b9-shift n=${n} s=${s}`, params: { n, s, V: 3 }, target: offset(1) })),
];

describe.each(cases)('$name', ({ c, params, target }) => {
  const built = c.build(params);
  const [exactCheck, fixedCheck, floatCheck] = built.checks;

  it('is correct under exact arithmetic with hard attention', () => {
    expect(exactCheck.interpreter).toBe('exact');
    fc.assert(readerProperty(built, 'exact', exactCheck.model), { seed: SEED, numRuns: RUNS });
  });

  it(`is correct under fixed:${params.s} with softmax, with attention weights exactly 1 and 0`, () => {
    expect(fixedCheck.interpreter).toBe(`fixed:${params.s}`);
    const oneHot = (_: Tokens, run: RunResult) => isExactlyOneHot(patternOf(run), target);
    fc.assert(readerProperty(built, fixedCheck.interpreter, fixedCheck.model, oneHot), { seed: SEED, numRuns: RUNS });
  });

  it('is correct under float64 softmax at the stated scale 1', () => {
    expect(floatCheck.label).toMatch(/scale 1 /);
    fc.assert(readerProperty(built, 'float64', floatCheck.model), { seed: SEED, numRuns: RUNS });
  });

  it("claims Lemma B.4's sizes (one head, no MLP, query/key 2s, 2^s ≥ n), and the table shows where the build is above them", () => {
    const rows = compareSizes(c as Construction, built, modelSizes(built.model)).filter((r) => r.formula !== null);
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    // The lemma's numbers, from its statement: s bits with 2^s ≥ n (distinct codes for positions 0..n − 1),
    // one head of query/key 2s, one layer, no MLP. No width: the residual is the caller's.
    let lemmaS = 1;
    while (2 ** lemmaS < params.n) lemmaS++;
    const lemma = { layersPerBlock: 1, loops: 1, heads: 1, mlpWidth: 0, headDim: 2 * lemmaS, bits: lemmaS };
    expect(Object.fromEntries(rows.map((r) => [r.key, r.claimed]))).toEqual(lemma);
    // What is built: the head's query/key is exactly the lemma's 2s for the s given; its value is the V-dim token.
    const head = built.model.stages[0].layers[0].heads[0];
    expect([head.qk.dim, head.ov.dim]).toEqual([2 * params.s, params.V]);
    for (const key of ['layersPerBlock', 'loops', 'heads', 'mlpWidth'] as const) expect(byKey[key].built, key).toBe(lemma[key]);
    expect(byKey.bits.built).toBe(params.s);
    expect(byKey.headDim.built).toBe(Math.max(2 * params.s, params.V));
    // Above the claim exactly where the build has more bits than the lemma needs, or a value wider than 2s.
    const above = rows.filter((r) => r.built! > r.claimed!).map((r) => r.key);
    const expected = [...(Math.max(2 * params.s, params.V) > 2 * lemmaS ? ['headDim'] : []), ...(params.s > lemmaS ? ['bits'] : [])];
    expect(above).toEqual(expected);
  });

  it('keeps its answer when looped more times (extra loops are stable)', () => {
    expect(built.extraLoopsStable?.holds).toBe(true);
    fc.assert(readerProperty(built, 'exact', withLoops(exactCheck.model, [3])), { seed: SEED, numRuns: 50 });
  });
});

describe('Lemma B.4 in detail', () => {
  it('scores 0 at the target and −2B_s·hamming elsewhere (exact attention margin is 2B_s)', () => {
    const built = lemmaB4.build({ n: 16, k: 2, s: 'auto', V: 4 });
    const run = interpreterByName('exact').run(built.model, [0, 1, 2, 3, 0, 1, 2, 3]);
    expect(run.margins.attention).toBe(2 * boundB(4).valueOf());
    expect(run.margins.attentionTies).toBe(0);
  });

  it('parses and prints inputs as JSON arrays, and names a bad token', () => {
    const built = lemmaB4.build({ n: 8, k: 2, s: 'auto', V: 4 });
    expect(built.parseInput(built.formatInput([3, 0, 1]))).toEqual([3, 0, 1]);
    expect(() => built.parseInput('[0, 4]')).toThrow(/token 4 at position 1 is outside the vocabulary 0..3/);
    expect(() => built.parseInput('[0,0,0,0,0,0,0,0,0]')).toThrow(/1..8 tokens, got 9/);
    expect(() => built.parseInput('0 1')).toThrow(/JSON array/);
  });

  it('s = auto is bitsFor(n), the least the lemma allows; bad parameters name themselves', () => {
    const built = lemmaB4.build(resolveParams(lemmaB4 as Construction, {}));
    expect(built.sizeScope).toMatchObject({ n: 16, k: 2, s: 4, V: 4 });
    expect(lemmaB4.build({ n: 1024, k: 2, s: 'auto', V: 4 }).bits).toBe(10);
    expect(() => lemmaB4.build({ n: 0, k: 2, V: 4 })).toThrow(UsageError);
    expect(() => lemmaB4.build({ n: 0, k: 2, V: 4 })).toThrow(/parameter n of lemma-b4 must be a whole number in 1..1024, got 0/);
    expect(() => lemmaB4.build({ n: 8, k: 2, V: 4, layout: 'zigzag' })).toThrow(/parameter layout/);
    // The registry wraps each construction's build in the memory budget (proofs/registry.ts); the rest is the module's own.
    for (const c of [lemmaB4, lemmaB9Shift] as Construction[]) {
      const r = constructionById(c.id);
      expect([r.statement, r.claimed, r.params]).toEqual([c.statement, c.claimed, c.params]);
      expect(r.claimed).toBe(c.claimed);
    }
  });

  it('addOneHotHead names the subspace whose size is wrong', () => {
    const built = lemmaB4.build({ n: 8, k: 2, s: 'auto', V: 4 });
    const layer = createLayer();
    const spec = { name: 'again', bits: 3, query: 'tgt', key: 'pos', one: 'one', from: 'tok', to: 'out' };
    expect(() => addOneHotHead(built.model, layer, { ...spec, bits: 4 })).toThrow(/query subspace "tgt" has 3 directions but the codes have s = 4 bits/);
    expect(() => addOneHotHead(built.model, layer, { ...spec, to: 'pos' })).toThrow(/from "tok" \(4\) and to "pos" \(3\) differ in size/);
    const head = addOneHotHead(built.model, layer, spec);
    expect(head.qk.labels).toEqual(['code.0', 'one.0', 'code.1', 'one.1', 'code.2', 'one.2']);
    expect(head.W_K.exactAt(built.model.residual.index('pos', 2), head.qk.index('code.2')).toFraction()).toBe('63/8');
  });

  it('addOneHotHead copies a list of (from, to) pairs, each a subspace or a list of single directions', () => {
    const built = lemmaB4.build({ n: 8, k: 2, s: 'auto', V: 4 });
    const R = built.model.residual;
    const layer = createLayer();
    const head = addOneHotHead(built.model, layer, {
      name: 'copies',
      bits: 3,
      query: 'tgt',
      key: 'pos',
      one: 'one',
      copies: [
        { name: 'low', describe: 'tokens 0 and 1, swapped', from: [['tok', 0], ['tok', 1]], to: [['out', 1], ['out', 0]] },
        { name: 'code', from: 'pos', to: ['tgt'] },
      ],
    });
    expect(head.ov.parts.map((p) => [p.name, p.size, p.describe])).toEqual([['low', 2, 'tokens 0 and 1, swapped'], ['code', 3, 'pos at the chosen position']]);
    const nonzero = (m: typeof head.W_V) => m.rowsSparse().flatMap((row, r) => row.map((e) => `${m.rows.labels[r]}→${m.cols.labels[e.col]}=${e.exact.toFraction()}`));
    expect(nonzero(head.W_V)).toEqual(['tok:0→low[0]=1', 'tok:1→low[1]=1', 'pos[0]→code[0]=1', 'pos[1]→code[1]=1', 'pos[2]→code[2]=1']);
    expect(nonzero(head.W_O)).toEqual(['low[0]→out:1=1', 'low[1]→out:0=1', 'code[0]→tgt[0]=1', 'code[1]→tgt[1]=1', 'code[2]→tgt[2]=1']);
    // The query/key directions are the exported names, so a variant can write them (erratum 2 of Theorem 5.1).
    expect(head.qk.labels).toEqual([0, 1, 2].flatMap((b) => [ONE_HOT_QK.code(b), ONE_HOT_QK.one(b)]));
    expect(head.W_Q.exactAt(R.index('tgt', 1), head.qk.index(ONE_HOT_QK.code(1))).toFraction()).toBe('1');
    expect(head.W_K.exactAt(R.index('one'), head.qk.index(ONE_HOT_QK.one(1))).toFraction()).toBe('-63/8');
    // A copy whose two sides differ in size is named; so is a head with nothing to copy.
    const base = { name: 'bad', bits: 3, query: 'tgt', key: 'pos', one: 'one' } as const;
    expect(() => addOneHotHead(built.model, createLayer(), { ...base, copies: [{ name: 'low', from: [['tok', 0], ['tok', 1]], to: 'out' }] })).toThrow(
      /copy 'low': from "tok:0, tok:1" \(2\) and to "out" \(4\) differ in size/,
    );
    expect(() => addOneHotHead(built.model, createLayer(), { ...base, copies: [] })).toThrow(/copies is empty/);
    expect(layer.heads).toEqual([head]);
  });

  it('is exactly one-hot under fixed:10 at n = 1024', () => {
    const built = lemmaB4.build({ n: 1024, k: 37, s: 'auto', V: 4 });
    const input = Array.from({ length: 1024 }, (_, i) => (i * 7919) % 4);
    const run = interpreterByName('fixed:10').run(built.checks[1].model, input, { trace: true });
    expect(isExactlyOneHot(patternOf(run), offset(37))).toBe(true);
    expect(built.decode(run)).toEqual(built.reference(input));
  });

  it('stays exactly one-hot at fewer bits than it was built for (B_s saturates to B_r)', () => {
    const built = lemmaB4.build({ n: 16, k: 2, s: 'auto', V: 4 });
    const softmax = withAttention(built.model, 'softmax');
    for (const r of [1, 2, 3]) {
      const oneHot = (_: Tokens, run: RunResult) => isExactlyOneHot(patternOf(run), offset(2));
      fc.assert(readerProperty(built, `fixed:${r}`, softmax, oneHot), { seed: SEED, numRuns: 50 });
    }
  });

  it('is only nearly one-hot at many more bits (exp(−2B_s) no longer rounds to 0), yet still correct', () => {
    const built = lemmaB4.build({ n: 4, k: 2, s: 'auto', V: 4 }); // s = 2: e^{−7.5}·2^12 ≈ 2.3 > 1/2
    const run = interpreterByName('fixed:12').run(withAttention(built.model, 'softmax'), [0, 1, 2, 3], { trace: true });
    const weights = patternOf(run).flat();
    expect(weights.some((w) => w > 0 && w < 1)).toBe(true);
    expect(built.decode(run)).toEqual([0, 0, 0, 1]);
  });

  it('needs the full B_s in the key: at half the scale, exp(−B_2/2) no longer rounds to 0 in F_2', () => {
    const built = lemmaB4.build({ n: 4, k: 2, s: 'auto', V: 4 });
    const run = interpreterByName('fixed:2').run(withAttention(built.model, 'softmax', '1/2'), [0, 1, 2, 3], { trace: true });
    expect(isExactlyOneHot(patternOf(run), offset(2))).toBe(false);
  });

  it('needs the interleaved layout: concatenated halves saturate in F_s and every score becomes −B_s', () => {
    const built = lemmaB4.build({ n: 8, k: 2, s: 'auto', V: 4, layout: 'concatenated' });
    // Exact arithmetic does not care about the order of the sum…
    fc.assert(readerProperty(built, 'exact', built.model), { seed: SEED, numRuns: 50 });
    // …but in F_3 the target's score is B_3 (first half, saturated) − 3·B_3 → −B_3, like every other.
    expect(() => interpreterByName('fixed:3').run(built.checks[1].model, [2])).toThrow(NumericError);
    expect(() => interpreterByName('fixed:3').run(built.checks[1].model, [2])).toThrow(/every exp\(score\) rounded to 0/);
  });
});

/**
 * Searches for a counterexample under one check of an under-provisioned reader, prints it with
 * its seed and path, and checks that replaying the path gives the same input.
 */
function findCounterexample(c: Construction<Tokens, ReadTokens>, params: Record<string, number>): { input: Tokens; got: ReadTokens; want: ReadTokens } {
  const built = c.build(params);
  const check = built.checks[1]; // fixed:s with softmax
  const prop = readerProperty(built, check.interpreter, check.model);
  const out = fc.check(prop, { seed: SEED, numRuns: RUNS });
  expect(out.failed).toBe(true);
  const input = out.counterexample![0];
  const run = interpreterByName(check.interpreter).run(check.model, input);
  const got = built.decode(run);
  const want = built.reference(input);
  const args = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');
  const flags = Object.entries(params).map(([k, v]) => `--param ${k}=${v}`).join(' ');
  console.log(
    [
      `counterexample for ${c.id} ${args} under ${check.label}`,
      `  seed ${out.seed}, path "${out.counterexamplePath}", found after ${out.numRuns} runs and ${out.numShrinks} shrinks`,
      `  input  ${built.formatInput(input)}`,
      `  model  ${JSON.stringify(got)}`,
      `  wanted ${JSON.stringify(want)}`,
      `  replay: looped run ${c.id} ${flags} --interpreter ${check.interpreter} --input '${built.formatInput(input)}'`,
      `  search: looped verify ${c.id} ${flags} --interpreter ${check.interpreter} --seed ${out.seed} --path '${out.counterexamplePath}'`,
      `          (in code: fc.assert(property, { seed: ${out.seed}, path: "${out.counterexamplePath}" }))`,
    ].join('\n'),
  );
  const again = fc.check(prop, { seed: out.seed, path: out.counterexamplePath!, numRuns: 1, endOnFailure: true });
  expect(again.failed).toBe(true);
  expect(again.counterexample![0]).toEqual(input);
  return { input, got, want };
}

describe('too few bits for n: the codes alias and fast-check finds the shortest failure', () => {
  it('lemma-b4 n=16 k=2 at s=3 (needs 4): fails first at length 2^3 + 2 + 1 = 11, where position 10 wants 8 and also matches 0', () => {
    const { input, got, want } = findCounterexample(lemmaB4, { n: 16, k: 2, s: 3, V: 4 });
    expect(input).toHaveLength(firstAliasingLength(3, 2));
    expect(input).toHaveLength(11);
    // Shrunk: the two aliased positions hold different tokens and everything else is 0.
    expect(input[0]).not.toBe(input[8]);
    expect(input.filter((_, i) => i !== 0 && i !== 8).every((t) => t === 0)).toBe(true);
    expect(input[0] + input[8]).toBe(1);
    // Attention splits 1/2–1/2 between positions 0 and 8, so the readout ties (null).
    expect(got[10]).toBeNull();
    expect(want[10]).toBe(input[8]);
    expect(got.slice(0, 10)).toEqual(want.slice(0, 10));
  });

  it('lemma-b4 with one length fewer (n=10, s=3) has no failure: the bound on s is exact for this target', () => {
    const built = lemmaB4.build({ n: firstAliasingLength(3, 2) - 1, k: 2, s: 3, V: 4 });
    fc.assert(readerProperty(built, built.checks[1].interpreter, built.checks[1].model), { seed: SEED, numRuns: RUNS });
  });

  it('lemma-b9-shift n=8 at s=2 (needs 3): fails first at length 2^2 + 2 = 6', () => {
    const { input, got } = findCounterexample(lemmaB9Shift, { n: 8, s: 2, V: 3 });
    expect(input).toHaveLength(6);
    expect(input[0]).not.toBe(input[4]);
    expect(got[5]).toBeNull();
    // n = 2^s + 1 = 5 positions still work at s = 2, one more than the lemma's 2^s ≥ n allows.
    const built = lemmaB9Shift.build({ n: 5, s: 2, V: 3 });
    fc.assert(readerProperty(built, 'fixed:2', built.checks[1].model), { seed: SEED, numRuns: RUNS });
  });
});

describe('SHIFT reference', () => {
  it('is Def. B.5', () => {
    expect(shiftSequence([5, 6, 7, 8])).toEqual([5, 5, 6, 7]);
    expect(shiftSequence([9])).toEqual([9]);
  });
});

describe('the size check can fail: a deliberately oversized Lemma B.4 is reported', () => {
  // The same reader with one zero MLP unit and one zero head added to its layer, through the public
  // model functions (createMlp, createHead): its answers are unchanged (relu(0) = 0, a zero value adds
  // 0), so every answer check still holds, and only the comparison with the lemma's claim catches it.
  const oversized: Construction<Tokens, ReadTokens> = {
    ...lemmaB4,
    build(params) {
      const b = lemmaB4.build(params);
      const layers = new Set([b.model, ...b.checks.map((k) => k.model)].flatMap((m) => m.stages.flatMap((s) => s.layers)));
      for (const layer of layers) {
        expect(layer.mlp).toBeNull();
        layer.mlp = createMlp(b.model.residual, { name: 'extra', role: 'one unit too many', hidden: 1 });
        layer.heads.push(createHead(b.model.residual, { name: 'extra', role: 'one head too many', qk: 1, ov: 1 }));
      }
      return b;
    },
  };

  it('the honest build is within every claim; the oversized one is not, and the rows named are MLP width and heads', async () => {
    const params = resolveParams(lemmaB4 as Construction, { n: '16', k: '2' });
    const honest = await verifyConstruction(lemmaB4 as Construction, params, { samples: 20 });
    expect(honest.ok).toBe(true);
    expect(honest.sizesWithinClaim).toBe(true);
    const big = await verifyConstruction(oversized as Construction, params, { samples: 20 });
    for (const k of big.checks) expect(k.failed, `${k.label}: ${k.counterexample?.message}`).toBe(false);
    expect(big.ok).toBe(true);
    expect(big.sizesWithinClaim).toBe(false);
    const above = big.sizes.filter((r) => r.claimed !== null && r.built !== null && r.built > r.claimed);
    expect(above.map((r) => ({ key: r.key, built: r.built, claimed: r.claimed }))).toEqual([
      { key: 'mlpWidth', built: 1, claimed: 0 },
      { key: 'heads', built: 2, claimed: 1 },
    ]);
  });
});
