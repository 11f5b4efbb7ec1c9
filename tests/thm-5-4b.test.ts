// Theorem 5.4, variant (b): m CoT steps in m loops WITHOUT loop masks (comparator, counter and gate
// inside the block, proofs/thm-5-4/unmasked.ts). The stage has no mask; the looped answer is
// TF^m(v) on random decoders and prompts under the margin condition, exact and in F_s; lockstep
// after every loop (the counter at sbin(n + t)); variants (a) and (b) hold the same states after
// every loop on every case; one loop fewer fails; extra loops, past the counter's wrap, change
// nothing (and without the wrap count they do); the gate's constant has the bound 1 (1 works,
// 1/2 fails); the registered construction and `looped compile thm-5.4 --variant no-masks`.
// fast-check seed and runs: fcParams (FC_SEED, FC_RUNS).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../cli/commands/compile.ts';
import { readModelFile } from '../cli/model-input.ts';
import { sbin } from '../proofs/codes.ts';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { compileThm54, cotOf, cotPrecondition, lockstepRows, thm54Sizes, withPads, withSoftmaxShift } from '../proofs/thm-5-4-cot-loops.ts';
import { randomDecoder } from '../proofs/thm-5-4/random-decoder.ts';
import { GATE_BITS, compileThm54Unmasked, dropWrapHold, setGateConstant } from '../proofs/thm-5-4/unmasked.ts';
import { fcParams } from '../properties/config.ts';
import { type Thm54Case, compareThm54With, thm54CaseArbitrary, thm54Property, thm54VariantsProperty } from '../properties/thm-5-4.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes, withLoops } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';
import { captureOut, looped } from './support/cli.ts';

const exact = interpreterByName('exact');
const B = 'no-masks' as const;

describe('Theorem 5.4 (b): the block has no loop mask', () => {
  const source = randomDecoder({ layers: 2, distinct: 2, width: 4, heads: 1, hidden: 2, vocab: 3, maxLen: 8, seed: 7, attention: 'hard' });
  it('no stage has a mask, also with the softmax SHIFT; the counter starts at sbin(n) at every position', () => {
    const c = compileThm54Unmasked(source, { n: 4, m: 4 });
    expect(c.variant).toBe(B);
    expect(c.model.stages.every((st) => st.mask === null)).toBe(true);
    expect(withSoftmaxShift(c.model).stages.every((st) => st.mask === null)).toBe(true);
    const cnt = c.model.residual.range(c.names.counter!);
    const rows = c.model.W_pos.rowsSparse();
    for (let i = 0; i < 8; i++) {
      const code = Array.from({ length: cnt.size }, (_, k) => rows[i].find((e) => e.col === cnt.offset + k)?.value ?? 0);
      expect(code).toEqual(sbin(4, c.s));
    }
    expect(c.gateBits).toBe(GATE_BITS);
  });

  it('sizes for L = 2, d = 4, V = 3, n = 4, m = 4: L + 5 layers both (the proof: L + 6); width (b) d + 3s + 4 + 4V = 32, (a) d + 2s + 1 + 4V = 25, claim d + 3s = 16', () => {
    const a = compileThm54(source, { n: 4, m: 4 });
    const b = compileThm54Unmasked(source, { n: 4, m: 4 });
    const row = (c: typeof a) => Object.fromEntries(thm54Sizes(c).map((r) => [r.key, r]));
    const [ra, rb] = [row(a), row(b)];
    expect(b.s).toBe(4);
    expect(rb.layersPerBlock.built).toBe(7);
    // The proof's L + O(1): Lemma B.7's 5 ReLU layers, then the SHIFT layer (paper-notes §3).
    expect(rb.layersPerBlock.claimed).toBe(2 + 6);
    expect(ra.layersPerBlock.built).toBe(7);
    expect(rb.width.claimed).toBe(16);
    expect(rb.width.built).toBe(4 + 3 * 4 + 4 + 4 * 3);
    expect(ra.width.built).toBe(4 + 2 * 4 + 1 + 4 * 3);
    expect(rb.heads.built!).toBeLessThanOrEqual(rb.heads.claimed!);
    expect(rb.loops.built).toBe(4);
    expect(rb.bits.built).toBe(rb.bits.claimed);
    // MLP width: the SHIFT layer's V clears + N lookups + 4V gate units + 2(2V + 2) gate clears.
    expect(modelSizes(b.model).mlpWidth).toBe(3 + 8 + 12 + 16);
    expect(modelSizes(a.model).mlpWidth).toBe(23);
  });

  it('refuses a gate exponent outside 1..26 and names it', () => {
    expect(() => compileThm54Unmasked(source, { n: 4, m: 4, gateBits: 0 })).toThrow(/gateBits must be a whole number in 1\.\.26/);
    expect(() => compileThm54Unmasked(source, { n: 4, m: 4, gateBits: 27 })).toThrow(UsageError);
  });
});

describe('Theorem 5.4 (b) on random decoders', () => {
  it('exact, hard attention: the looped answer is TF^m(v), and lockstep (with the counter at sbin(n + t)) holds after every loop', () => {
    let deep = 0;
    let long = 0;
    fc.assert(
      thm54Property('exact', {}, (r) => {
        expect(r.compiled.variant).toBe(B);
        if (r.compiled.scope.L >= 3) deep++;
        if (r.compiled.m >= 3) long++;
      }, undefined, false, B),
      fcParams(200),
    );
    expect(deep).toBeGreaterThan(5);
    expect(long).toBeGreaterThan(5);
  });

  it('fixed:6 (F_s, s = 6), hard SHIFT: the looped answer is the F_s CoT\'s', () => {
    let kept = 0;
    fc.assert(thm54Property('fixed:6', { weight: 1 }, () => void kept++, () => 6, false, B), fcParams(60));
    expect(kept).toBeGreaterThan(20);
  });

  it('fixed:6 with the SHIFT head as softmax (Lemma B.4: exactly one-hot in F_s), the same answers', () => {
    let kept = 0;
    fc.assert(thm54Property('fixed:6', { weight: 1 }, () => void kept++, () => 6, true, B), fcParams(60));
    expect(kept).toBeGreaterThan(20);
  });

  it('variants (a) and (b): the same answer and the same state at every position after every loop, on every case (margin or not)', () => {
    fc.assert(thm54VariantsProperty('exact'), fcParams(150));
  });

  it('variants (a) and (b) agree in fixed:6 with the softmax SHIFT too', () => {
    fc.assert(thm54VariantsProperty('fixed:6', { weight: 1 }, () => 6, true), fcParams(40));
  });

  it('one loop fewer does not compute TF^m(v): a shrunk counterexample', () => {
    const r = fc.check(
      fc.property(thm54CaseArbitrary(), (c) => {
        fc.pre(c.m >= 2);
        const k = compareThm54With(c, { variant: B, loops: c.m - 1 });
        fc.pre(k.precondition.ok);
        return k.got === k.expected;
      }),
      fcParams(200),
    );
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    const k = compareThm54With(c, { variant: B, loops: c.m - 1 });
    expect(k.got).not.toBe(k.expected);
    expect(compareThm54With(c, { variant: B }).ok).toBe(true);
  });

  it('extra loops change nothing, also past the counter\'s wrap (2^s − n loops): the wrap count holds the mask at 0', () => {
    let wrapped = 0;
    fc.assert(
      fc.property(thm54CaseArbitrary(), (c) => {
        const k = compareThm54With(c, { variant: B });
        fc.pre(k.precondition.ok);
        const T = 2 ** k.compiled.s - c.n + 3;
        if (T > c.m) wrapped++;
        for (const loops of [c.m + 1, c.m + 2, T]) {
          const more = exact.run(withLoops(k.compiled.model, [loops]), withPads(k.compiled, c.prompt));
          if (more.answer !== k.expected) return false;
        }
        return true;
      }),
      fcParams(60),
    );
    expect(wrapped).toBeGreaterThan(10);
  });

  it('without the wrap count\'s hold, the loops after the wrap recompute the prompt: a shrunk counterexample', () => {
    // Loop T = 2^s − n + 1 sees the counter at 0 and recomputes EVERY position; the last one still
    // gets TF^m(v) (its prefix is intact when it is read), but the prompt is overwritten, so a
    // later loop answers from a corrupted prefix.
    const r = fc.check(
      fc.property(thm54CaseArbitrary(), (c) => {
        const k = compareThm54With(c, { variant: B, patch: dropWrapHold });
        fc.pre(k.precondition.ok && k.ok);
        const T = 2 ** k.compiled.s - c.n + 1;
        return [T, T + 1, T + 2].every((loops) => exact.run(withLoops(k.compiled.model, [loops]), withPads(k.compiled, c.prompt)).answer === k.expected);
      }),
      fcParams(200),
    );
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    const k = compareThm54With(c, { variant: B });
    const T = 2 ** k.compiled.s - c.n + 1;
    expect(exact.run(withLoops(k.compiled.model, [T + 2]), withPads(k.compiled, c.prompt)).answer).toBe(k.expected);
  });
});

describe('Theorem 5.4 (b): the gate\'s constant', () => {
  // Every gate input is in [0, 1] whatever the source (the header of unmasked.ts), so the bound is
  // 1. writeGate's constants are 2^g with g ≥ 1, all above it: no constant below the bound can be
  // BUILT, so the weights are patched to show the bound is tight — K = 1 works, K = 1/2 fails.
  const holds = (c: Thm54Case, patch?: (k: ReturnType<typeof compileThm54Unmasked>) => void) => {
    const k = compareThm54With(c, { variant: B, patch });
    fc.pre(k.precondition.ok);
    return k.ok;
  };

  it('any g in 1..26 builds a model with the same answers (g = 26 rounds to B_s in F_s, still ≥ 1)', () => {
    const src = randomDecoder({ layers: 2, distinct: 2, width: 3, heads: 1, hidden: 2, vocab: 3, maxLen: 6, seed: 3, attention: 'hard' });
    const ks = [1, 3, 26].map((g) => compileThm54Unmasked(src, { n: 3, m: 4, gateBits: g }));
    let checked = 0;
    // Every prompt of length 3 over the 3 tokens (27): the whole input space at n = 3.
    const prompts = Array.from({ length: 27 }, (_, x) => [Math.floor(x / 9), Math.floor(x / 3) % 3, x % 3]);
    for (const prompt of prompts) {
      const cot = cotOf(ks[0], prompt);
      if (!cotPrecondition(ks[0], cot).ok) continue;
      for (const k of ks) {
        expect(exact.run(k.model, withPads(k, prompt)).answer).toBe(cot.answer);
        expect(interpreterByName('fixed:4').run(k.model, withPads(k, prompt)).answer).toBe(cotOf(k, prompt, 'fixed:4').answer);
      }
      checked++;
    }
    // Most of the space meets the margin precondition; the rest is excluded by the theorem, not skipped silently.
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('K = 1, the bound itself, still simulates (Lemma B.8\'s range is inclusive)', () => {
    fc.assert(fc.property(thm54CaseArbitrary(), (c) => holds(c, (k) => setGateConstant(k, 1))), fcParams(60));
  });

  it('K = 1/2, below the bound, breaks it: a shrunk counterexample', () => {
    const r = fc.check(fc.property(thm54CaseArbitrary(), (c) => holds(c, (k) => setGateConstant(k, '1/2'))), fcParams(100));
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    // Shrunk: a short prompt and few steps; the masked positions leak half of the new one-hot.
    expect(c.n + c.m).toBeLessThanOrEqual(4);
    const k = compareThm54With(c, { variant: B, patch: (x) => setGateConstant(x, '1/2') });
    expect(k.ok).toBe(false);
    expect(compareThm54With(c, { variant: B }).ok).toBe(true);
  });
});

describe('Theorem 5.4 (b): lockstep by hand, the registered construction', () => {
  it('after loop t: position n + t − 1 holds CoT token t, the counter is sbin(n + t) at every position, the mask scratch is 0', () => {
    const src = randomDecoder({ layers: 2, distinct: 2, width: 3, heads: 1, hidden: 2, vocab: 3, maxLen: 6, seed: 3, attention: 'hard' });
    const k = compileThm54Unmasked(src, { n: 3, m: 4 });
    let checked = 0;
    for (const prompt of [[0, 1, 2], [2, 1, 0], [1, 1, 1], [0, 0, 2]]) {
      const cot = cotOf(k, prompt);
      if (!cotPrecondition(k, cot).ok) continue;
      const run = exact.run(k.model, withPads(k, prompt), { trace: true });
      const rows = lockstepRows(k, prompt, run, cot.generated);
      rows.forEach((r, t) => {
        expect(r.ok).toBe(true);
        expect(r.got[k.n + t]).toBe(cot.generated[t]);
        for (let i = 0; i < k.n + k.m; i++) {
          expect(run.trace!.read(`loop${t + 1}.blocks.${k.scope.L + 4}.hook_resid_post`, k.names.counter!, i)).toEqual(sbin(k.n + t + 1, k.s));
          expect(run.trace!.read(`loop${t + 1}.blocks.${k.scope.L + 4}.hook_resid_post`, k.names.mask!, i)).toEqual([0]);
          expect(run.trace!.read(`loop${t + 1}.blocks.${k.scope.L + 4}.hook_resid_post`, k.names.maskNot!, i)).toEqual([0]);
        }
      });
      expect(run.answer).toBe(cot.answer);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('with the least bits (n + m = 8, s = 3) the counter wraps in loop m: its overflow sets the wrap count, which lockstep reads', async () => {
    const src = randomDecoder({ layers: 2, distinct: 2, width: 3, heads: 1, hidden: 2, vocab: 3, maxLen: 7, seed: 3, attention: 'hard' });
    const k = compileThm54Unmasked(src, { n: 4, m: 4, s: 3 });
    let checked = 0;
    for (const prompt of [[0, 1, 2, 0], [2, 1, 0, 1], [1, 1, 1, 2], [0, 0, 2, 2], [2, 2, 2, 2]]) {
      const cot = cotOf(k, prompt);
      if (!cotPrecondition(k, cot).ok) continue;
      const run = exact.run(k.model, withPads(k, prompt), { trace: true });
      expect(lockstepRows(k, prompt, run, cot.generated).every((r) => r.ok)).toBe(true);
      const end = (t: number, part: string, i: number) => run.trace!.read(`loop${t}.blocks.${k.scope.L + 4}.hook_resid_post`, part, i);
      for (let i = 0; i < k.n + k.m; i++) {
        expect(end(k.m - 1, k.names.wrap!, i)).toEqual([0]);
        // After loop m the counter n + m = 2^s has wrapped to sbin(0) and carried into wrap.
        expect(end(k.m, k.names.counter!, i)).toEqual(sbin(0, k.s));
        expect(end(k.m, k.names.wrap!, i)).toEqual([1]);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    // The registered setting verify --all runs for it.
    const c = constructionById('thm-5.4');
    const report = await verifyConstruction(c, resolveParams(c, { n: '4', m: '4', bits: '3', variant: 'no-masks' }), { samples: 30, seed: 42 });
    expect(report.ok).toBe(true);
  });

  it('thm-5.4 with variant=no-masks verifies (answer, lockstep, two extra loops); a bad variant is named', async () => {
    const c = constructionById('thm-5.4');
    const params = resolveParams(c, { variant: 'no-masks' });
    const b = c.build(params);
    expect(b.model.stages[0].mask).toBeNull();
    expect(resolveParams(c, {}).variant).toBe('masks');
    expect(c.build(resolveParams(c, {})).model.stages[0].mask).not.toBeNull();
    const report = await verifyConstruction(c, params, { samples: 30, seed: 42 });
    expect(report.ok).toBe(true);
    expect(report.checks.some((k) => /extra loops/.test(k.label))).toBe(true);
    expect(() => c.build(resolveParams(c, { variant: 'none' }))).toThrow(/parameter variant of thm-5.4 must be one of masks, no-masks/);
    expect(c.deviations).toMatch(/Variant \(b\) \(no-masks\): d \+ 3s \+ 4 \+ 4V/);
  });
});

describe('looped compile thm-5.4 --variant no-masks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'thm54b-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const capture = () => {
    const { out, lines } = captureOut();
    return { out, text: lines };
  };

  it('a built random decoder, compiled without masks and run as a model file, answers its CoT', () => {
    const dec = join(dir, 'dec.json');
    const cot54 = join(dir, 'cot-b.json');
    expect(looped('build', 'random-decoder', '--layers', '2', '--width', '4', '--heads', '1', '--vocab', '3', '--seed', '7', '--out', dec).code).toBe(0);
    const r = looped('compile', 'thm-5.4', '--source', dec, '--steps', '3', '--n', '4', '--out', cot54, '--variant', 'no-masks', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { theorem: string; variant: string; mask: string | null; gateBits: number; sizes: { key: string; built: number; claimed: number | null }[] };
    expect(info).toMatchObject({ theorem: 'Theorem 5.4 (b)', variant: 'no-masks', mask: null, gateBits: 1 });
    const width = info.sizes.find((x) => x.key === 'width')!;
    expect(width.built).toBe(4 + 3 * 3 + 4 + 4 * 3); // s = ⌊log2 7⌋ + 1 = 3
    expect(width.claimed).toBe(4 + 3 * 3);
    expect(loadModel(readFileSync(cot54, 'utf8')).stages[0].mask).toBeNull();
    const source = readModelFile(dec);
    const k = compileThm54Unmasked(source, { n: 4, m: 3 });
    const prompt = [0, 1, 2, 1];
    const cot = cotOf(k, prompt);
    expect(cotPrecondition(k, cot).ok).toBe(true);
    const run = looped('run', '--model', cot54, '--input', '["t0","t1","t2","t1","#","#","#"]', '--json');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { answer: string }).answer).toBe(source.vocab.labels[cot.answer!]);
  });

  it('prints the variant and the sizes; names a bad variant and a gate exponent without a gate', () => {
    const src = join(dir, 'dec.json');
    const { out, text } = capture();
    expect(compile(['thm-5.4', '--source', src, '--steps', '3', '--n', '4', '--out', join(dir, 'b.json'), '--variant', 'no-masks', '--gate-bits', '3'], out)).toBe(0);
    const printed = text.join('\n');
    expect(printed).toMatch(/Theorem 5\.4 \(b\).*without loop masks.*gate constant 2\^3/);
    expect(printed).toMatch(/width\s+d \+ 3\*s\s+13\s+29/);
    expect(printed).toMatch(/Variant \(b\) \(no-masks\)/);
    expect(() => compile(['thm-5.4', '--source', src, '--steps', '3', '--n', '4', '--out', join(dir, 'x.json'), '--variant', 'nope'], capture().out)).toThrow(/--variant must be one of masks, no-masks/);
    expect(() => compile(['thm-5.4', '--source', src, '--steps', '3', '--n', '4', '--out', join(dir, 'x.json'), '--gate-bits', '2'], capture().out)).toThrow(/--gate-bits is for --variant no-masks/);
  });
});
