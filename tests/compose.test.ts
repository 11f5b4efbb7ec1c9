// Theorems composed as the paper composes them (issue #14 §3):
//   * Corollary 5.3 = Theorem 5.2 ∘ Theorem B.12: p-hop-direct compiled by the Theorem 5.2 compiler
//     (registered as cor-5.3-compiled) answers hop_p(v), in lockstep with the iterative algorithm
//     (loop l = depth l), is refused when Theorem 5.2 is built as printed (errata 3, 4) or one loop
//     short, and is NOT stable under extra loops (Theorem 5.2's counter runs past L) — shown by a
//     shrunk input; its sizes beside the hand-built p-hop, the corollary's claim and Theorem 5.2's
//     formula, with erratum 8 (d_FF = O(1) + O(L)) measured on the compiled model;
//   * Theorem 5.4 ∘ Theorem 5.2 on random decoders (both 5.4 variants), and Theorem 5.2 ∘ Theorem 5.4
//     where it type-checks (variant b; variant a is refused for its loop masks);
//   * the CLI route: export p-hop-direct, compile thm-5.2 --source --start-token '<s>', run; verify.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides every per-test run count below.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../cli/commands/compile.ts';
import { exportCommand } from '../cli/commands/export.ts';
import { verify } from '../cli/commands/verify.ts';
import { resolveParams } from '../proofs/construction.ts';
import { compileLoopAfterCot, cotAfterLoopInput } from '../proofs/compositions/cot-and-loop.ts';
import { START, buildCor53Compiled, cor53Compiled, cor53SizeRow } from '../proofs/compositions/cor-5-3-compiled.ts';
import { buildLooped } from '../proofs/p-hop/looped.ts';
import { constructionById } from '../proofs/registry.ts';
import { checkCotAfterLoop, cor53ExtraLoopsBreak, cor53ExtraLoopsFormula, cotAfterLoopProperty, loopAfterCotProperty } from '../properties/compose.ts';
import { runsFromEnv, seedFromEnv } from '../properties/config.ts';
import { answersProperty, extraLoopsProperty, lockstepProperty } from '../properties/p-hop.ts';
import { decoderOf, thm54CaseArbitrary } from '../properties/thm-5-4.ts';
import { UnsupportedError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes, withLoops } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';
import { hopP } from '../tasks/p-hop.ts';
import { captureOut } from './support/cli.ts';

const SEED = seedFromEnv(42);
const opts = (runs: number) => ({ seed: SEED, numRuns: runsFromEnv(runs) });
const exact = interpreterByName('exact');
const built = (p: number, n: number, extra: Record<string, string> = {}) => buildCor53Compiled(resolveParams(cor53Compiled, { p: String(p), n: String(n), ...extra }));

describe('Corollary 5.3 as Theorem 5.2 ∘ Theorem B.12 (cor-5.3-compiled)', () => {
  it('is registered, and verify holds at its defaults (answers under exact, fixed:b and float64; lockstep)', async () => {
    const c = constructionById('cor-5.3-compiled');
    const { out, lines } = captureOut();
    expect(await verify(['cor-5.3-compiled', '--samples', String(runsFromEnv(60))], out)).toBe(0);
    expect(lines.join('\n')).toMatch(/lockstep: loop l = depth l of B\.12/);
    expect(c.params.map((p) => p.name)).toEqual(['p', 'n', 'alphabet', 'readout', 'variant']);
  });

  for (const [p, n] of [
    [1, 6],
    [2, 10],
    [3, 16],
    [4, 12],
    [6, 12],
    [8, 20],
  ] as const) {
    it(`p=${p} n=${n}: exact, fixed:b and float64 answer hop_p(v); after loop l the state is the algorithm's after step l`, () => {
      const b = built(p, n);
      expect(b.model.stages).toHaveLength(1);
      expect(b.model.stages[0].layers).toHaveLength(1);
      expect(b.model.stages[0].loops).toBe(2 + Math.ceil(Math.log2(p)));
      expect(b.checks.map((k) => k.interpreter)).toEqual(['exact', `fixed:${b.bits}`, 'float64']);
      for (const check of b.checks) fc.assert(answersProperty(b, check, b.arbitrary()), opts(60));
      fc.assert(lockstepProperty(b, b.arbitrary()), opts(40));
    });
  }

  it('readout=all: hop_p of every prefix, position by position, the <s> position dropped', () => {
    const b = built(3, 10, { readout: 'all' });
    const v = [1, 2, 1, 3, 2, 1];
    const answer = b.decode(exact.run(b.model, b.encode(v)));
    expect(answer).toEqual(b.reference(v));
    expect(Array.isArray(answer) && answer.length).toBe(v.length + 1);
    fc.assert(answersProperty(b, b.checks[0], b.arbitrary()), opts(60));
  });

  it('refuses Theorem 5.2 as printed (errata 3 and 4), one loop short and one bit short, each with a shrunk input', () => {
    for (const variant of ['erratum-3', 'erratum-4']) {
      const b = built(3, 16, { variant });
      for (const check of b.checks) {
        const r = fc.check(answersProperty(b, check, b.arbitrary()), opts(200));
        expect(r.failed, `${variant} ${check.interpreter}`).toBe(true);
        expect(r.counterexample![0].length, `${variant}: shrunk`).toBeLessThanOrEqual(3);
      }
      // The algorithm's half of the lockstep alone sees it too: the pointers, not just Theorem 5.2's bookkeeping.
      const r = fc.check(
        fc.property(b.arbitrary(), (v) => {
          const rows = b.lockstep!.compare(v, exact.run(b.model, b.encode(v), { trace: true }));
          const alg = (x: unknown) => JSON.stringify((x as { algorithm: unknown }).algorithm);
          return rows.every((row) => alg(row.expected) === alg(row.got));
        }),
        opts(200),
      );
      expect(r.failed, `${variant}: algorithm lockstep`).toBe(true);
    }
    const b = built(3, 16);
    // One bit fewer than the fixed-point gates need fails on every input (measured: 60/60 at p=3 n=16, p=6 n=12, p=16 n=64).
    const fixed = b.checks[1];
    expect(fixed.interpreter).toBe(`fixed:${b.bits}`);
    const fewer = fc.check(answersProperty(b, { ...fixed, interpreter: `fixed:${b.bits! - 1}` }, b.searchArbitrary!()), opts(100));
    expect(fewer.failed).toBe(true);
    expect(fewer.counterexample![0].length).toBeLessThanOrEqual(1);
    const short = { ...b, checks: [{ ...b.checks[0], model: withLoops(b.model, [b.model.stages[0].loops - 1]) }] };
    const r = fc.check(answersProperty(short, short.checks[0], b.arbitrary()), opts(200));
    expect(r.failed).toBe(true);
    expect(r.counterexample![0].length).toBeLessThanOrEqual(3);
  });

  it("extra loops (default gate): the last folding round runs again — after L + k loops the answer is hop_{p + 2^R(2^k − 1)}", () => {
    for (const p of [2, 3, 6]) {
      const b = built(p, 12);
      expect(b.extraLoopsStable?.holds).toBe(false);
      const c = b.compiledCor53.compiled;
      const { L, R } = c.scope;
      for (let k = 1; k <= L; k++) fc.assert(cor53ExtraLoopsFormula(b, k), opts(30));
      // So not hop_p: a shrunk input where one extra loop changes the answer.
      const r = fc.check(cor53ExtraLoopsBreak(b, 1, b.searchArbitrary!()), opts(200));
      expect(r.failed, `p=${p}`).toBe(true);
      const v = r.counterexample![0];
      console.log(`cor-5.3-compiled p=${p}, one extra loop: ${String(r.errorInstance)} on the shrunk input ${JSON.stringify(v)}`);
      expect(v.length, `p=${p}: shrunk`).toBeLessThanOrEqual(2 * p + 2);
      // The reason as stated: after loop L, l = L + 1 and the mask still selects the last (folding) round.
      const trace = exact.run(b.model, b.encode(v), { trace: true }).trace!;
      const last = trace.afterLoop(L).key;
      expect(trace.read(last, c.names.l, 1)).toEqual([L + 1]);
      expect(trace.read(last, c.names.inactive, 1)).toEqual(Array.from({ length: R }, (_, k) => (k === c.analysis.r[L - 1] ? 0 : 1)));
      expect(c.analysis.distinct[c.analysis.r[L - 1]].layer.heads[0].name).toBe('read-fold');
      // The hand-built Corollary 5.3 answers the same input right with the extra loop.
      fc.assert(extraLoopsProperty(buildLooped({ p, n: 12, alphabet: 4 }), 1, fc.constant(v)), { numRuns: 1 });
    }
    // p = 1 (shift and search only) keeps its answer: the search runs again and adds
    // onehot(v_f) − onehot(⊥) to tb once more, which leaves the argmax at v_f.
    fc.assert(cor53ExtraLoopsBreak(built(1, 8), 2), opts(100));
  });

  it("extra loops (the notes' gate, position-0): idle heads split ½–½ at l = L + 1 and the answer is neither hop_p nor the formula", () => {
    const b = buildCor53Compiled(resolveParams(cor53Compiled, { p: '3', n: '12' }), { gate: 'position-0' });
    // After exactly L loops it holds (hard attention: the notes' gate is enough there).
    fc.assert(answersProperty(b, b.checks[0], b.arbitrary()), opts(60));
    const r1 = fc.check(cor53ExtraLoopsBreak(b, 1, b.searchArbitrary!()), opts(200));
    const r2 = fc.check(cor53ExtraLoopsFormula(b, 1, b.searchArbitrary!()), opts(200));
    expect(r1.failed).toBe(true);
    expect(r2.failed).toBe(true);
    console.log(`cor-5.3-compiled p=3, gate position-0, one extra loop: ${String(r2.errorInstance)} on ${JSON.stringify(r2.counterexample![0])}`);
    const L = b.compiledCor53.compiled.scope.L;
    const v = [1, 2, 1, 3];
    const trace = exact.run(withLoops(b.model, [L + 1]), b.encode(v), { trace: true }).trace!;
    const shift = trace.patterns.get(`loop${L + 1}.blocks.0.attn.L0.shift.hook_pattern`)!;
    expect(shift[v.length + 1][0]).toBe(0.5);
  });

  describe('sizes: compiled beside the hand-built p-hop, the claim and Theorem 5.2 (erratum 8 measured)', () => {
    // p − 1 with alternating bits (1, 10, 101, 1010, 10101, 101010): fold and plain rounds alternate,
    // so the schedule changes layer at every depth.
    const alternating = [2, 3, 6, 11, 22, 43];
    const powers = [2, 4, 8, 16, 32, 64];
    const rows = new Map<string, ReturnType<typeof cor53SizeRow>>();
    const row = (p: number, n: number) => {
      const k = `${p},${n}`;
      if (!rows.has(k)) rows.set(k, cor53SizeRow(p, n));
      return rows.get(k)!;
    };

    it('the compiled MLP width grows with L (3 units a loop) where the layer changes every depth: d_FF = O(1) + O(L)', () => {
      for (const n of [8, 32]) {
        const rs = alternating.map((p) => row(p, n));
        rs.forEach((r, k) => {
          expect(r.L).toBe(k + 3);
          expect(r.changes).toBe(r.L - 1);
          expect(r.compiled.loops).toBe(r.L);
          expect(r.compiled.loops).toBe(r.handBuilt.loops);
        });
        // From p = 3 on both round layers exist, so everything else is fixed: the growth is the hats alone.
        for (let k = 2; k < rs.length; k++) expect(rs[k].compiled.mlpWidth - rs[k - 1].compiled.mlpWidth, `n=${n} p=${alternating[k]}`).toBe(3);
        expect(rs[rs.length - 1].compiled.mlpWidth).toBeGreaterThan(rs[1].compiled.mlpWidth);
        // The corollary's O(1) claim (constant in p) is exceeded, and by more as L grows.
        const claim = rs[0].claim.mlpWidth!;
        expect(rs.every((r) => r.claim.mlpWidth === claim)).toBe(true);
        expect(rs[rs.length - 1].compiled.mlpWidth).toBeGreaterThan(claim);
      }
    });

    it('where every round folds (p a power of two) the in-memory build has 2 hats whatever L; the file route grows with L for every p', () => {
      const rs = powers.map((p) => row(p, 16));
      for (const r of rs) {
        expect(r.R).toBe(3);
        expect(r.changes).toBe(2);
        expect(r.compiled.mlpWidth).toBe(rs[0].compiled.mlpWidth);
      }
      // A model file lists each layer of a stage as its own object: R = L, a hat at every depth, every layer's MLP.
      for (const ps of [powers, alternating]) {
        const widths = ps.map((p) => row(p, 16).fromFile.mlpWidth);
        for (let k = 1; k < widths.length; k++) expect(widths[k]).toBeGreaterThan(widths[k - 1]);
      }
    });

    it("Theorem 5.2's formulas on B.12's sizes bound the build; width and heads are exactly them", () => {
      for (const p of [...alternating, ...powers]) {
        for (const n of [8, 32]) {
          const r = row(p, n);
          expect(r.compiled.width, `p=${p} n=${n}`).toBe(r.thm52.width);
          expect(r.compiled.heads).toBe(r.thm52.heads);
          expect(r.compiled.heads).toBe(r.R);
          expect(r.compiled.mlpWidth).toBeLessThanOrEqual(r.thm52.mlpWidth!);
          expect(r.compiled.headDim).toBeLessThanOrEqual(r.thm52.headDim!);
          expect(r.compiled.loops).toBe(r.thm52.loops);
          expect(r.compiled.width).toBe(r.direct.width + r.R + 2);
          // The corollary's "at most 3 heads" holds exactly when the rounds are all of one kind.
          expect(r.compiled.heads <= 3).toBe(r.R <= 3);
          // "log n bits": the compiled model needs far more (its gates and counter must not saturate in F_b).
          expect(r.bits).toBeGreaterThan(r.claim.bits!);
          expect(r.bits).toBeGreaterThan(r.sourceBits);
        }
      }
    });
  });
});

describe('Theorem 5.4 ∘ Theorem 5.2 on random decoders: (#, v, $^m) answers TF^m(v)', () => {
  for (const variant of ['masks', 'no-masks'] as const) {
    it(`variant ${variant}: the answer, the CoT of 5.2's output from (#, v), and 5.4's lockstep`, () => {
      let deep = 0;
      let long = 0;
      const answers = new Set<number | null>();
      fc.assert(
        cotAfterLoopProperty({}, variant, (r) => {
          const { loop, cot } = r.composed;
          // Sizes: Theorem 5.4's block on D' = 5.2(D): D''s one layer listed L times, then 5 layers;
          // 5.4's width formula on D' (d' = d + R + 2, V' = V + 1 with #, s from n + 1 + m).
          const sizes = modelSizes(cot.model);
          expect(sizes.layersPerBlock).toBe(loop.scope.L + 5);
          const own = variant === 'masks' ? 2 * cot.s + 1 : 3 * cot.s + 4;
          expect(sizes.width).toBe(loop.scope.d + loop.scope.R + 2 + own + 4 * (r.c.spec.vocab + 1));
          if (r.composed.loop.scope.L >= 2) deep++;
          if (r.c.m >= 2) long++;
          answers.add(r.expected);
        }),
        opts(120),
      );
      // Not vacuous: deep sources, several CoT steps, more than one answer token.
      expect(deep).toBeGreaterThan(10);
      expect(long).toBeGreaterThan(10);
      expect(answers.size).toBeGreaterThan(1);
    });
  }

  it('refuses the composition with Theorem 5.2 as printed (erratum 3), with a shrunk decoder and prompt', () => {
    const r = fc.check(cotAfterLoopProperty({}, 'masks', undefined, 'erratum-3'), opts(200));
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    expect(c.n + c.m).toBeLessThanOrEqual(4);
    expect(String(r.errorInstance)).toMatch(/Theorem 5\.2's output emits|answers|after loop/);
  });

  it('the prompt is (#, v): the 5.4 stage reads n + 1 prompt tokens, # first, and pads with $', () => {
    const cases = fc.sample(thm54CaseArbitrary(), { numRuns: 50, seed: 1 });
    const r = cases.map((c) => checkCotAfterLoop(c)).find((x) => x !== null)!;
    const { loop, cot } = r.composed;
    expect(cot.n).toBe(r.c.n + 1);
    expect(cot.model.vocab.labels.slice(-2)).toEqual(['#', '$']);
    const input = cotAfterLoopInput(r.composed, r.c.prompt);
    expect(input).toEqual([loop.startToken, ...r.c.prompt, ...Array.from({ length: r.c.m }, () => cot.startToken)]);
    expect(r.got).toBe(r.expected);
  });
});

describe('Theorem 5.2 ∘ Theorem 5.4: where it type-checks', () => {
  it('variant masks is refused: Theorem 5.2 compiles unmasked stages, and 5.4a\'s loop t blends by M^t(i)', () => {
    const decoder = decoderOf(fc.sample(thm54CaseArbitrary(), { numRuns: 1, seed: 3 })[0].spec);
    expect(() => compileLoopAfterCot(decoder, { n: 2, m: 2, variant: 'masks' })).toThrow(UnsupportedError);
    expect(() => compileLoopAfterCot(decoder, { n: 2, m: 2, variant: 'masks' })).toThrow(/compiles unmasked models, but stage 0 .* has the loop mask "i \+ 1 - t >= 2"/);
  });

  it('variant no-masks: one layer looped m·(L + 5) times on (<s>, v, #^m) gives 5.4b\'s logits exactly, hence TF^m(v)', () => {
    let deep = 0;
    fc.assert(
      loopAfterCotProperty({}, (r) => {
        const { L, R } = r.composed.loop.scope;
        expect(L).toBe(r.c.m * r.composed.cot.schedule.length + 5 * r.c.m);
        expect(r.composed.loop.model.stages[0].layers).toHaveLength(1);
        expect(modelSizes(r.composed.loop.model).width).toBe(modelSizes(r.composed.cot.model).width + R + 2);
        if (r.c.m >= 2 && R >= 6) deep++;
      }),
      opts(60),
    );
    expect(deep).toBeGreaterThan(5);
  });

  it('refuses the composition with Theorem 5.2 as printed (erratum 4), with a shrunk decoder and prompt', () => {
    const r = fc.check(loopAfterCotProperty({}, undefined, 'erratum-4'), opts(100));
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    expect(c.n + c.m).toBeLessThanOrEqual(4);
  });
});

describe('the CLI route: export p-hop-direct, compile thm-5.2 --source, run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'looped-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the compiled file answers hop_p on [<s>, #, v] (--start-token '<s>': p-hop's vocabulary has #)", () => {
    const src = join(dir, 'direct.json');
    const dst = join(dir, 'looped.json');
    const e = captureOut();
    expect(exportCommand(['p-hop-direct', '--param', 'p=3', '--param', 'n=10', '--out', src], e.out)).toBe(0);
    // Without --start-token the compiler refuses: B.12 already uses # for its start slot.
    expect(() => compile(['thm-5.2', '--source', src, '--out', join(dir, 'x.json')], captureOut().out)).toThrow(/already has "#" \(name another start token\)/);
    const c = captureOut();
    expect(compile(['thm-5.2', '--source', src, '--out', dst, '--start-token', START], c.out)).toBe(0);
    expect(c.lines.join('\n')).toMatch(/R = 4 distinct layers/);
    const model = loadModel(readFileSync(dst, 'utf8'));
    expect(model.vocab.labels).toEqual(['0', '1', '2', '3', '#', START]);
    for (const v of fc.sample(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 10 }), { numRuns: runsFromEnv(40), seed: SEED })) {
      const run = exact.run(model, [5, 4, ...v]);
      const want = hopP(v, 3);
      expect(run.answer === 4 ? null : run.answer, JSON.stringify(v)).toBe(want);
    }
  });
});
