// Theorem 5.1 (group composition in ⌈log2 n⌉ loops): the construction against the plain product
// under exact / fixed:s softmax / float64 softmax, lockstep with Algorithm 2, extra loops, sizes,
// and the counterexample searches of properties/counterexample.ts.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides every per-test run count below.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bitsFor } from '../proofs/codes.ts';
import { type Construction, compareSizes, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import {
  type GroupAnswer,
  type GroupWord,
  type Variant,
  buildGroupComposition,
  decodeElement,
  elementCode,
  groupComposition,
  precisionBits,
  readParams,
} from '../proofs/thm-5-1-group-composition.ts';
import { runsFromEnv, seedFromEnv } from '../properties/config.ts';
import { type SearchOptions, type SearchResult, type Weakening, fewestPassingBits, searchCounterexample, smallestPassingScale } from '../properties/counterexample.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { InputError, UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { fast64 } from '../simulators/fast/index.ts';
import { modelSizes, withLoops } from '../simulators/model.ts';
import type { BuiltConstruction } from '../proofs/construction.ts';
import { algorithm2RoundCount, algorithm2Rounds, compose, sourceIndices } from '../tasks/group-composition.ts';
import { parseGroupName } from '../tasks/groups.ts';

const SEED = seedFromEnv(42);
const runs = (fallback: number) => runsFromEnv(fallback);
const opts = (fallback: number) => ({ seed: SEED, numRuns: runs(fallback) });

type GC = BuiltConstruction<GroupWord, GroupAnswer>;
const build = (group: string, n: number, extra: Record<string, string | number> = {}): GC => groupComposition.build({ group, n, ...extra });

/** The property every check runs: decoded answer = g_1∘…∘g_n. */
function answers(built: GC, interpreter: string, model = built.checks[0].model) {
  const it = interpreterByName(interpreter);
  return fc.property(built.arbitrary(), (word) => built.decode(it.run(model, built.encode(word))) === built.reference(word));
}

// (group, n, exact runs, other runs). One exact run costs about 25 ms for |G| ≤ 8 at n = 64, 0.1 s
// for S5 at n = 8 and 0.25 s for S5 at n = 64 (|G|² = 14 400 pair units) while the exact interpreter
// keeps these small dyadic values as doubles; with plain BigInt fractions it is 130 ms, 0.3 s and
// 2.7 s, and the counts below keep the file under a minute even then.
const CASES: { group: string; n: number; exact: number; other: number }[] = [
  { group: 'Z2', n: 64, exact: 60, other: 15 },
  { group: 'Z5', n: 37, exact: 60, other: 15 },
  { group: 'S3', n: 64, exact: 60, other: 15 },
  { group: 'D4', n: 20, exact: 100, other: 20 },
  { group: 'S3', n: 3, exact: 100, other: 40 },
  { group: 'Z5', n: 2, exact: 50, other: 20 },
  { group: 'D4', n: 1, exact: 20, other: 5 },
  { group: 'S5', n: 8, exact: 15, other: 6 },
  // S5 at the paper's n = 64 (|G|² = 14 400 pair units): 12 exact words here, and 100 more batched in
  // fast64 below (the hard-attention model in float64, exact on its small integer weights).
  { group: 'S5', n: 64, exact: 12, other: 3 },
];

describe.each(CASES)('Theorem 5.1 on $group, n = $n', ({ group, n, exact, other }) => {
  const built = build(group, n);
  const G = parseGroupName(group);
  const [exactCheck, fixedCheck, floatCheck] = built.checks;
  const loops = algorithm2RoundCount(n);

  it('computes g_1∘…∘g_n under exact arithmetic with hard attention', () => {
    expect(exactCheck.interpreter).toBe('exact');
    fc.assert(answers(built, 'exact'), opts(exact));
  });

  it(`computes it under fixed:${precisionBits(G)} softmax, whose attention is exactly one-hot at the two sources`, () => {
    expect(fixedCheck.interpreter).toBe(`fixed:${precisionBits(G)}`);
    const it = interpreterByName(fixedCheck.interpreter);
    let sample = 0;
    fc.assert(
      fc.property(built.arbitrary(), (word) => {
        // The attention patterns of the first few samples are checked entry by entry (a trace costs more than the run).
        const run = it.run(fixedCheck.model, built.encode(word), { trace: sample++ < 3 });
        if (run.trace) {
          for (const [key, pattern] of run.trace.patterns) {
            const which = key.includes('.first.') ? 0 : 1;
            pattern.forEach((row, i) => row.forEach((w, j) => expect(w).toBe(j === sourceIndices(i, n)[which] ? 1 : 0)));
          }
        }
        return built.decode(run) === built.reference(word);
      }),
      opts(other),
    );
  });

  it('computes it under float64 softmax at the stated scale 1', () => {
    expect(floatCheck.label).toMatch(/scale 1 /);
    fc.assert(answers(built, 'float64', floatCheck.model), opts(other));
  });

  it('lockstep: after loop t, g at every position decodes to Algorithm 2 after round t', () => {
    const it = interpreterByName('exact');
    fc.assert(
      fc.property(built.arbitrary(), (word) => {
        const run = it.run(exactCheck.model, built.encode(word), { trace: true });
        const rows = built.lockstep!.compare(word, run);
        expect(rows.map((r) => r.loop)).toEqual(Array.from({ length: loops }, (_, t) => t + 1));
        for (const r of rows) expect({ loop: r.loop, state: r.got }).toEqual({ loop: r.loop, state: r.expected });
      }),
      opts(Math.max(1, Math.ceil(other / 2))),
    );
  });

  it('two extra loops keep the fixed point (e, …, e, g_1∘…∘g_n) at every position', () => {
    expect(built.extraLoopsStable?.holds).toBe(true);
    const more = withLoops(exactCheck.model, [loops + 2]);
    const it = interpreterByName('exact');
    fc.assert(
      fc.property(built.arbitrary(), (word) => {
        const run = it.run(more, built.encode(word), { trace: true });
        const product = compose(G, word);
        const { offset, size } = more.residual.range('g');
        const state = run.trace!.afterLoop(loops + 2).values.map((row) => decodeElement(G, row.slice(offset, offset + size)));
        expect(state).toEqual(algorithm2Rounds(G, word, loops + 2)[loops + 2]);
        expect(state).toEqual([...new Array<number>(n).fill(G.identity), product]);
        return built.decode(run) === product;
      }),
      opts(Math.max(1, Math.ceil(other / 2))),
    );
  });

  it('has the claimed width, MLP width, heads and loops; head size and bits above the claim as documented', () => {
    const rows = compareSizes(groupComposition as Construction, built, modelSizes(built.model));
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    // The paper's numbers, from the statement (paper-notes §3), not from the module's formulas.
    const b = Math.ceil(Math.log2(G.order));
    const paper = { layersPerBlock: 1, loops: Math.ceil(Math.log2(n)), width: 3 * (b + Math.ceil(Math.log2(n + 1))), mlpWidth: G.order ** 2 + 6 * b, heads: 2 };
    for (const key of ['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads'] as const) {
      expect({ key, claimed: byKey[key].claimed }).toEqual({ key, claimed: paper[key] });
      expect({ key, built: byKey[key].built }).toEqual({ key, built: paper[key] });
    }
    // Bits: the proof's bound is the least s with B_s ≥ 2b (pair units' ±1 sums); the build's scratch
    // rests at 1, doubling those sums, so it takes the least s with B_s ≥ 4b: one bit more.
    const least = (bound: number) => {
      let s = 1;
      while (2 ** s - 2 ** -s < bound) s++;
      return s;
    };
    expect(byKey.bits.claimed).toBe(least(2 * b));
    expect(byKey.bits.built).toBe(least(4 * Math.max(1, b)));
    expect(byKey.bits.built).toBe(byKey.bits.claimed! + 1);
    const headDim = Math.max(2 * bitsFor(n + 1), bitsFor(G.order));
    expect(byKey.headDim.built).toBe(headDim);
    expect(byKey.headDim.claimed).toBe(Math.ceil(Math.log2(n)));
    expect(groupComposition.deviations).toMatch(/Head size: built max\(2⌈log2\(n\+1\)⌉, ⌈log2\|G\|⌉\)/);
  });
});

describe('the pieces of the construction', () => {
  it('a pair unit is exactly 1 on its pair (h, h′) and ≤ −1 on every other pair (S3, D4: all pairs × all units)', () => {
    for (const group of ['S3', 'D4', 'Z5']) {
      const G = parseGroupName(group);
      const mlp = build(group, 4).model.stages[0].layers[0].mlp!;
      const res = mlp.W_in.rows;
      const units = mlp.hidden.range('pairs');
      for (let x = 0; x < G.order; x++) {
        for (let y = 0; y < G.order; y++) {
          // The residual after attention: g1 = 1 + sbin(x), g2 = 1 + sbin(y).
          const v = new Array<number>(res.dim).fill(0);
          elementCode(G, x).forEach((c, k) => (v[res.index('g1', k)] = 1 + c));
          elementCode(G, y).forEach((c, k) => (v[res.index('g2', k)] = 1 + c));
          for (let u = 0; u < units.size; u++) {
            let pre = mlp.b_in.get(units.offset + u);
            for (let r = 0; r < res.dim; r++) pre += v[r] * mlp.W_in.get(r, units.offset + u);
            if (u === x * G.order + y) expect(pre).toBe(1);
            else expect(pre).toBeLessThanOrEqual(-1);
          }
        }
      }
    }
  });

  it('the scratch rests at 1 (the heads’ constant) and the embedding holds the two source codes', () => {
    const built = build('S3', 6);
    const run = interpreterByName('exact').run(built.model, built.encode([1, 2, 3, 4, 5, 0]), { trace: true });
    const trace = run.trace!;
    for (let i = 0; i <= 6; i++) {
      for (const key of ['hook_embed', 'loop1.blocks.0.hook_resid_post', 'loop3.blocks.0.hook_resid_post']) {
        expect(trace.read(key, 'g1', i)).toEqual([1, 1, 1]);
        expect(trace.read(key, 'g2', i)).toEqual([1, 1, 1]);
      }
      const [a, b] = sourceIndices(i, 6);
      expect(trace.read('hook_embed', 'src1', i)).toEqual(elementCodeLike(a, 3));
      expect(trace.read('hook_embed', 'src2', i)).toEqual(elementCodeLike(b, 3));
    }
    const printed = build('S3', 6, { variant: 'erratum-1' });
    const first = printed.model.W_pos;
    for (let i = 0; i <= 6; i++) {
      const row = (sub: string) => Array.from({ length: 3 }, (_, k) => first.get(i, first.cols.index(sub, k)));
      expect(row('src2')).toEqual(row('src1')); // erratum 1: code(max(2i−n−1, 0)) twice
    }
  });

  it('n = 1 has no loop; the answer is g_1 read straight from the embedding', () => {
    const built = build('S3', 1);
    expect(built.model.stages[0].loops).toBe(0);
    for (let a = 0; a < 6; a++) expect(built.decode(interpreterByName('exact').run(built.model, built.encode([a])))).toBe(a);
  });
});

describe('the verifier and the registry', () => {
  it('verifyConstruction passes every check of the corrected construction and fails the printed ones', async () => {
    const ok = await verifyConstruction(groupComposition as Construction, { group: 'S3', n: 8 }, { samples: runs(20), seed: SEED });
    expect(ok.checks.map((c) => [c.label.split(' ')[0], c.failed])).toEqual([
      ['exact,', false],
      ['fixed:4,', false],
      ['float64,', false],
      ['lockstep:', false],
      ['two', false],
    ]);
    expect(ok.ok).toBe(true);
    expect(ok.sizesWithinClaim).toBe(false); // the head size, documented in deviations
    for (const variant of ['erratum-1', 'erratum-2']) {
      const bad = await verifyConstruction(groupComposition as Construction, { group: 'S3', n: 8, variant }, { samples: Math.max(20, runs(20)), seed: SEED });
      expect(bad.ok).toBe(false);
      expect(bad.checks[0].counterexample?.replay).toContain(`--param variant=${variant}`);
    }
  });

  it('is registered, with defaults group=S3, n=8, variant=corrected, loops=auto, scale=1', () => {
    // The registry wraps the build in the memory budget (proofs/registry.ts); the rest is the module's own.
    const registered = constructionById('group-composition');
    expect([registered.id, registered.statement, registered.params]).toEqual([groupComposition.id, groupComposition.statement, groupComposition.params]);
    expect(registered.claimed).toBe(groupComposition.claimed);
    const params = resolveParams(groupComposition as Construction, {});
    expect(params).toEqual({ group: 'S3', n: 8, variant: 'corrected', loops: 'auto', scale: '1' });
    const built = groupComposition.build(params);
    expect(built.sizeScope).toEqual({ n: 8, G: 6 });
    expect(built.model.stages[0].loops).toBe(3);
  });

  it('bad parameters name themselves and what they allow', () => {
    expect(() => build('Q7', 4)).toThrow(UsageError);
    expect(() => build('Q7', 4)).toThrow(/parameter group of group-composition: unknown group "Q7"/);
    expect(() => build('S3', 0)).toThrow(/parameter n of group-composition must be a whole number in 1..256, got 0/);
    expect(() => build('S3', 4, { variant: 'printed' })).toThrow(/parameter variant .* corrected, erratum-1, erratum-2/);
    expect(() => build('S3', 4, { loops: 'two' })).toThrow(/parameter loops .* auto or a whole number in 0..64/);
    expect(() => build('S3', 4, { scale: '-1' })).toThrow(/parameter scale .* positive/);
    expect(() => resolveParams(groupComposition as Construction, { n: '999' })).toThrow(/outside its range 1..256/);
  });
});

describe('input and answer in the group’s notation', () => {
  it('reads the issue’s examples and answers in the same notation', () => {
    const s3 = build('S3', 4);
    const word = s3.parseInput('[[1,0,2],[0,2,1],[1,2,0],[0,1,2]]');
    const run = interpreterByName('exact').run(s3.model, s3.encode(word));
    expect(s3.formatAnswer(s3.decode(run))).toEqual(s3.formatAnswer(compose(parseGroupName('S3'), word)));
    // By hand, (a∘b∘c∘d)(x) = a(b(c(d(x)))): 0 ↦ 0 ↦ 1 ↦ 2 ↦ 2, 1 ↦ 1 ↦ 2 ↦ 1 ↦ 0, 2 ↦ 2 ↦ 0 ↦ 0 ↦ 1.
    expect(s3.formatAnswer(s3.decode(run))).toEqual([2, 0, 1]);
    expect(JSON.parse(s3.formatInput(word))).toEqual([[1, 0, 2], [0, 2, 1], [1, 2, 0], [0, 1, 2]]);

    const z5 = build('Z5', 3);
    const w5 = z5.parseInput('[1,4,2]');
    expect(z5.formatAnswer(z5.decode(interpreterByName('exact').run(z5.model, z5.encode(w5))))).toBe(2);

    const d4 = build('D4', 3);
    const wd = d4.parseInput('["r1", "s r2", "s"]');
    expect(d4.formatAnswer(d4.decode(interpreterByName('exact').run(d4.model, d4.encode(wd))))).toBe(d4.formatAnswer(compose(parseGroupName('D4'), wd)));
  });

  it('a wrong length or a bad element is an InputError naming the position, the group and the fix', () => {
    const s3 = build('S3', 4);
    expect(() => s3.parseInput('[[1,0,2],[0,2,1],[1,2,0]]')).toThrow(InputError);
    expect(() => s3.parseInput('[[1,0,2],[0,2,1],[1,2,0]]')).toThrow(/built for n = 4 elements but the input has 3; pass --param n=3/);
    expect(() => s3.parseInput('[[1,0,2],[0,2,2],[1,2,0],[0,1,2]]')).toThrow(/element 2 of the input \(g_2, position 2\): .* not an element of S3/);
    expect(() => s3.parseInput('[[1,0,2],[0,2,1],[1,2,0],null]')).toThrow(/element 4 of the input.*S3/);
    expect(() => s3.parseInput('1,2')).toThrow(/must be a JSON array of S3 elements/);
    expect(() => build('Z5', 2).parseInput('[1,5]')).toThrow(/element 2 .* not an element of Z5/);
    expect(() => s3.encode([0, 1, 2])).toThrow(/built for n = 4/);
  });
});

describe('a user-supplied group table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'looped-thm51-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The quaternion group Q8 (not among the built-in families): ±1, ±i, ±j, ±k.
  const names = ['1', '-1', 'i', '-i', 'j', '-j', 'k', '-k'];
  const unit = (x: number) => Math.floor(x / 2); // 0: 1, 1: i, 2: j, 3: k
  const sign = (x: number) => (x % 2 === 0 ? 1 : -1);
  const UNIT_TABLE = [
    [[1, 0], [1, 1], [1, 2], [1, 3]],
    [[1, 1], [-1, 0], [1, 3], [-1, 2]],
    [[1, 2], [-1, 3], [-1, 0], [1, 1]],
    [[1, 3], [1, 2], [-1, 1], [-1, 0]],
  ];
  const table = names.map((_, a) =>
    names.map((__, b) => {
      const [s, u] = UNIT_TABLE[unit(a)][unit(b)];
      return 2 * u + (s * sign(a) * sign(b) === 1 ? 0 : 1);
    }),
  );
  const file = join(dir, 'q8.json');
  writeFileSync(file, JSON.stringify({ name: 'Q8', elements: names, table }));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ table: [[0, 1], [1, 1]] }));

  it('Q8 from a table file: exact, fixed:s softmax and float64 all compute the product', () => {
    const built = build(`table:${file}`, 16);
    const G = parseGroupName(`table:${file}`);
    expect(G.order).toBe(8);
    for (const check of built.checks) fc.assert(answers(built, check.interpreter, check.model), opts(10));
    const word = built.parseInput('["i", "j", "k", "-1", "1", "i", "i", "j", "k", "-k", "-j", "-i", "1", "1", "1", "k"]');
    const run = interpreterByName('exact').run(built.model, built.encode(word));
    expect(built.formatAnswer(built.decode(run))).toBe(names[compose(G, word)]);
  });

  it('a table that is not a group is refused with the first failing element named', () => {
    expect(() => build(`table:${bad}`, 4)).toThrow(UsageError);
    expect(() => build(`table:${bad}`, 4)).toThrow(/bad\.json: .*(identity|inverse)/);
  });
});

describe('Theorem 5.1 on S5 at the paper\'s n = 64, a large sample through the batched fast path', () => {
  it('100 random words: fast64 on the hard-attention model and on the float64 softmax check at scale 1', () => {
    const built = build('S5', 64);
    const words = fc.sample(built.arbitrary(), { numRuns: runs(100), seed: SEED });
    for (const check of [built.checks[0], built.checks[2]]) {
      const results = fast64.runBatch(check.model, words.map((w) => built.encode(w)));
      const wrong = words.filter((w, k) => built.decode(results[k]) !== built.reference(w));
      expect(wrong.map((w) => built.formatInput(w)), check.label).toEqual([]);
      // No attention tie anywhere: the best score beats the second best at every position of every word.
      expect(Math.min(...results.map((r) => r.margins.attention)), check.label).toBeGreaterThan(0);
    }
  });
});

describe('counterexamples: each weakening fails on a shrunk input, the claimed setting passes the same search', () => {
  const params = { group: 'S3', n: 8 };
  const claimedBits = precisionBits(parseGroupName('S3'));
  // A search must find its counterexample, so FC_RUNS can raise its budget but not cut it below 100.
  const budget = Math.max(100, runs(100));
  const gc = groupComposition as Construction;
  /** A weakening, and the variant it is built as (an erratum is the construction as printed, searched as built). */
  type Setting = { w: Weakening; variant?: Variant };
  const search = ({ w, variant }: Setting, o: SearchOptions = {}) =>
    searchCounterexample(gc, variant === undefined ? params : { ...params, variant }, w, { samples: budget, seed: SEED, ...o });
  const show = (r: SearchResult) =>
    console.log(`[thm-5-1] ${r.describe}: ${r.found ? `counterexample after ${r.tried} runs\n  input    ${r.input}\n  answer   ${JSON.stringify(r.answer)}, expected ${JSON.stringify(r.expected)}\n  replay   ${r.replay}\n  search   ${r.replaySearch}` : `none in ${r.tried} samples`}`);

  /** Runs a replay command the way `looped run` would: its params, interpreter and input. */
  function replay(cmd: string): { correct: boolean } {
    const given: Record<string, string> = {};
    for (const m of cmd.matchAll(/--param (\w+)=(\S+)/g)) given[m[1]] = m[2];
    const interpreter = /--interpreter (\S+)/.exec(cmd)![1];
    const input = /--input '([^']*)'/.exec(cmd)![1];
    const built = groupComposition.build(resolveParams(groupComposition as Construction, given));
    const family = (name: string) => (name.startsWith('fixed') ? 'fixed' : name === 'exact' ? 'exact' : 'float');
    const model = built.checks.find((k) => family(k.interpreter) === family(interpreter))!.model;
    const word = built.parseInput(input);
    let answer: GroupAnswer = null;
    try {
      answer = built.decode(interpreterByName(interpreter).run(model, built.encode(word)));
    } catch {
      answer = null;
    }
    return { correct: answer === built.reference(word) };
  }

  const weakenings: { name: string; weak: Setting; control: Setting }[] = [
    { name: 'one loop fewer than ⌈log2 n⌉', weak: { w: { kind: 'loops', loops: 2 } }, control: { w: { kind: 'loops', loops: 3 } } },
    { name: `too few bits (fixed:${claimedBits - 1})`, weak: { w: { kind: 'bits', bits: claimedBits - 1 } }, control: { w: { kind: 'bits', bits: claimedBits } } },
    { name: 'a float64 softmax scale too small (0.1)', weak: { w: { kind: 'scale', scale: 0.1 } }, control: { w: { kind: 'scale', scale: 1 } } },
    { name: 'erratum 1 as printed', weak: { w: { kind: 'none' }, variant: 'erratum-1' }, control: { w: { kind: 'none' }, variant: 'corrected' } },
    { name: 'erratum 2 as printed', weak: { w: { kind: 'none' }, variant: 'erratum-2' }, control: { w: { kind: 'none' }, variant: 'corrected' } },
  ];

  it.each(weakenings)('$name', ({ weak, control }) => {
    const r = search(weak);
    show(r);
    expect(r.found).toBe(true);
    // A real failure: a word of the construction's length whose answer differs from the reference.
    expect(groupComposition.build({ ...params }).parseInput(r.input!)).toHaveLength(params.n);
    expect(r.answer).not.toEqual(r.expected);
    expect(r.replay).toMatch(/^looped run group-composition --param group=S3 --param n=8 /);
    // The replay command reproduces the failure, and fast-check's seed and path give the same input.
    expect(replay(r.replay).correct).toBe(false);
    const again = search(weak, { seed: r.seed, path: r.path });
    expect(again.input).toBe(r.input);
    // Shrunk: no single element of the failing word can move to the identity and still fail.
    const built = buildGroupComposition(readParams(params));
    const word = built.parseInput(r.input!);
    const rest = word.map((a, j) => (a === 0 ? null : word.map((b, k) => (k === j ? 0 : b)))).filter((w) => w !== null);
    for (const w of rest) expect(replay(r.replay.replace(/--input '[^']*'/, `--input '${built.formatInput(w)}'`)).correct).toBe(true);

    const ok = search(control);
    show(ok);
    expect(ok.found).toBe(false);
    expect(ok.tried).toBe(budget);
    expect(ok.replay).toMatch(/^looped counterexample group-composition/);
  });

  it('smallest passing float64 scale and fewest passing bits (searches over every sample)', () => {
    // Bisected between 1/1024 and the stated scale 1.
    const sc = smallestPassingScale(gc, params, { samples: Math.max(30, runs(30)), seed: SEED, hi: 1 });
    console.log(`[thm-5-1] S3 n=8: smallest passing float64 scale ${sc.value} (${sc.probes.length} scales tried); fails at ${String(sc.below?.weakening.kind === 'scale' ? sc.below.weakening.scale : '-')}: ${sc.below?.replay}`);
    expect(sc.value).not.toBeNull();
    expect(sc.value!).toBeGreaterThan(0);
    expect(sc.value!).toBeLessThanOrEqual(1);
    expect(sc.below?.found).toBe(true);
    const failScale = Number((sc.below!.weakening as { scale: number }).scale);
    expect(failScale).toBeLessThan(sc.value!);

    const bits = fewestPassingBits(gc, params, { samples: Math.max(30, runs(30)), seed: SEED });
    console.log(`[thm-5-1] S3 n=8: fewest passing bits ${bits.value} (claimed s = ${claimedBits}); fixed:${bits.value! - 1} fails on ${bits.below?.input}: ${bits.below?.message}`);
    expect(bits.value).not.toBeNull();
    expect(bits.value!).toBeLessThanOrEqual(claimedBits);
    expect(bits.below?.found).toBe(true);
    expect(bits.probes.map((t) => t.passed)).toEqual([...new Array<boolean>(bits.value! - 1).fill(false), true]);
  });
});

function elementCodeLike(x: number, p: number): number[] {
  return Array.from({ length: p }, (_, k) => ((x >> k) & 1 ? 1 : -1));
}
