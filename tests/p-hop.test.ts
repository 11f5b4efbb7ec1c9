// p-hop induction: Theorem B.12 (p-hop-direct, non-looped) and Corollary 5.3 (p-hop, one layer looped).
// fast-check seed: FC_SEED (default 42); FC_RUNS scales the per-test run counts below (the n = 256 cases
// run a fixed handful: exact arithmetic on 257 positions takes about 0.3–0.5 s a run).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Construction, compareSizes } from '../proofs/construction.ts';
import { bitLength } from '../proofs/codes.ts';
import type { PHopBuilt, PHopOutput } from '../proofs/p-hop/built.ts';
import { searchSoftmax } from '../proofs/p-hop/common.ts';
import { pHopBits } from '../proofs/p-hop/config.ts';
import { expectedStates } from '../proofs/p-hop/lockstep.ts';
import { buildDirect, pHopDirect } from '../proofs/p-hop/direct.ts';
import { buildLooped, foldLoops, pHop, runsOf } from '../proofs/p-hop/looped.ts';
import { constructionById } from '../proofs/registry.ts';
import { fewestPassingBits, searchCounterexample, smallestPassingScale } from '../properties/counterexample.ts';
import { answersProperty, extraLoopsProperty, lockstepProperty, paperSamplerInputs, uniformInputs } from '../properties/p-hop.ts';
import { InputError, UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes, withLoops } from '../simulators/model.ts';
import { hopAllPositions, hopP, paperPHopSampler, pointerDoublingRounds } from '../tasks/p-hop.ts';
import { mulberry32 } from '../tasks/random.ts';

const SEED = Number(process.env.FC_SEED ?? 42);
const RUNS_ENV = Number(process.env.FC_RUNS);
/** `base` runs, or FC_RUNS when it is set. */
const runs = (base: number) => (Number.isInteger(RUNS_ENV) && RUNS_ENV > 0 ? RUNS_ENV : base);
const params = (numRuns: number) => ({ seed: SEED, numRuns });

type Kind = { c: Construction<number[], PHopOutput>; build: (p: Record<string, number | string>) => PHopBuilt; what: 'layer' | 'loop' };
const KINDS: Kind[] = [
  { c: pHopDirect, build: buildDirect, what: 'layer' },
  { c: pHop, build: buildLooped, what: 'loop' },
];

const isPowerOfTwo = (p: number) => (p & (p - 1)) === 0;

describe('the hand-checked example v = 0 1 2 0 1 3 0 (chain 7 → 5 → 3 → 0)', () => {
  const v = [0, 1, 2, 0, 1, 3, 0];
  it.each(KINDS)('$c.id answers hop_p for p = 1..4 under every check, and every prefix with readout=all', ({ build }) => {
    for (const p of [1, 2, 3, 4]) {
      const b = build({ p, n: 16, alphabet: 4 });
      for (const chk of b.checks) expect(b.decode(interpreterByName(chk.interpreter).run(chk.model, b.encode(v)))).toBe(hopP(v, p));
      const all = build({ p, n: 16, alphabet: 4, readout: 'all' });
      expect(all.decode(interpreterByName('exact').run(all.model, all.encode(v)))).toEqual(hopAllPositions(v, p));
    }
    expect([1, 2, 3].map((p) => hopP(v, p))).toEqual([1, 2, null]);
  });

  it('the issue\'s command: looped run p-hop --param p=3 --input \'[0,1,2,0,1,3,0]\' --json answers null (⊥)', () => {
    const bin = fileURLToPath(new URL('../bin/looped.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'run', 'p-hop', '--param', 'p=3', '--input', '[0,1,2,0,1,3,0]', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: unknown; correct: boolean; sizes: { loops: number; heads: number } };
    expect(out.answer).toBeNull();
    expect(out.correct).toBe(true);
    expect(out.sizes).toMatchObject({ loops: 4, heads: 3 });
  });

  it('the empty input and a one-token input answer ⊥', () => {
    for (const { build } of KINDS) {
      const b = build({ p: 2, n: 4, alphabet: 2 });
      expect(b.decode(interpreterByName('exact').run(b.model, b.encode([])))).toBeNull();
      expect(b.decode(interpreterByName('exact').run(b.model, b.encode([1])))).toBeNull();
    }
  });
});

describe.each(KINDS)('$c.id ($c.theorem) under exact arithmetic, hard attention', ({ build }) => {
  it.each([1, 2, 3, 5, 7, 16, 32])('matches hop_p on the construction\'s inputs (uniform and paper), p = %i, n = 16', (p) => {
    const b = build({ p, n: 16, alphabet: 4 });
    fc.assert(answersProperty(b, b.checks[0], b.arbitrary()), params(runs(60)));
  });

  it.each([
    [16, 4],
    [32, 4],
    [9, 2],
  ])('matches hop_p on the paper sampler (p hops exist, nothing trivial), p = %i, alphabet %i, n = 64', (p, alphabet) => {
    const b = build({ p, n: 64, alphabet });
    fc.assert(answersProperty(b, b.checks[0], paperSamplerInputs(64, p, alphabet, { nonTrivial: true })), params(runs(15)));
  });

  it('matches hop_p on uniform sequences up to n = 64 (p = 6, alphabet 3), every position with readout=all', () => {
    const b = build({ p: 6, n: 64, alphabet: 3, readout: 'all' });
    fc.assert(answersProperty(b, b.checks[0], uniformInputs(64, 3)), params(runs(15)));
  });

  it.each([16, 32])('matches hop_p at the paper\'s size n = 256, alphabet 4, p = %i (paper sampler and uniform)', (p) => {
    const b = build({ p, n: 256, alphabet: 4 });
    fc.assert(answersProperty(b, b.checks[0], paperSamplerInputs(256, p, 4, { nonTrivial: true })), params(4));
    fc.assert(answersProperty(b, b.checks[0], uniformInputs(256, 4, 256)), params(2));
  });
});

describe.each(KINDS)('$c.id under fixed:s and float64 softmax', ({ build }) => {
  it.each([
    [3, 16],
    [16, 16],
    [5, 100],
  ])('fixed:s (s = max(3, ⌈log2(n+1)⌉)), positional heads softmax: correct, and their weights exactly one-hot; p = %i, n = %i', (p, n) => {
    const b = build({ p, n, alphabet: 4 });
    const chk = b.checks[1];
    expect(chk.interpreter).toBe(`fixed:${pHopBits(n)}`);
    const it = interpreterByName(chk.interpreter);
    fc.assert(
      fc.property(b.arbitrary(), (v) => {
        const run = it.run(chk.model, b.encode(v), { trace: true });
        expect(b.decode(run)).toEqual(b.reference(v));
        for (const [key, pattern] of run.trace!.patterns) {
          if (key.includes('.search.')) continue;
          for (const row of pattern) {
            expect(row.filter((w) => w === 1)).toHaveLength(1);
            expect(row.every((w) => w === 0 || w === 1)).toBe(true);
          }
        }
      }),
      params(runs(n > 50 ? 10 : 40)),
    );
  });

  it.each([
    [5, 16],
    [32, 40],
  ])('fixed:s computes the very same residual stream as exact arithmetic, p = %i, n = %i', (p, n) => {
    const b = build({ p, n, alphabet: 4 });
    const exact = interpreterByName('exact');
    const fixed = interpreterByName(b.checks[1].interpreter);
    fc.assert(
      fc.property(b.arbitrary(), (v) => {
        const x = exact.run(b.checks[0].model, b.encode(v), { trace: true }).trace!;
        const y = fixed.run(b.checks[1].model, b.encode(v), { trace: true }).trace!;
        expect(y.keys()).toEqual(x.keys());
        for (const k of x.keys()) expect(y.get(k).values, k).toEqual(x.get(k).values);
      }),
      params(runs(15)),
    );
  });

  it.each([
    [3, 16],
    [32, 16],
    [7, 64],
  ])('float64, every head softmax at the stated scale 64·2^s; p = %i, n = %i', (p, n) => {
    const b = build({ p, n, alphabet: 4 });
    expect(b.checks[2].label).toContain(`scale ${64 * 2 ** pHopBits(n)}`);
    fc.assert(answersProperty(b, b.checks[2], b.arbitrary()), params(runs(n > 50 ? 15 : 40)));
  });

  it('fixed:9 and float64 at n = 256, p = 32, on the paper sampler', () => {
    const b = build({ p: 32, n: 256, alphabet: 4 });
    for (const chk of b.checks.slice(1)) fc.assert(answersProperty(b, chk, paperSamplerInputs(256, 32, 4)), params(2));
  });

  it('the content search cannot run as softmax in fixed:s: at scale 1, 2^s and 8·2^s some input fails', () => {
    const b = build({ p: 2, n: 16, alphabet: 4 });
    for (const beta of [1, 32, 256]) {
      const model = searchSoftmax(b.model, beta);
      const out = fc.check(answersProperty(b, { label: `fixed:5, search softmax at ${beta}`, interpreter: 'fixed:5', model }, uniformInputs(16, 4)), params(300));
      expect(out.failed).toBe(true);
      console.log(`[p-hop] fixed:5, content search as softmax at scale ${beta}: fails on ${JSON.stringify(out.counterexample?.[0])}: ${String((out.errorInstance as Error).message)}`);
    }
  });
});

describe.each(KINDS)('$c.id in lockstep with pointer doubling', ({ build, what }) => {
  it.each([1, 3, 5, 32])(`after every ${what}, prev and the pointers a, b decode to the algorithm's, p = %i, n = 16`, (p) => {
    const b = build({ p, n: 16, alphabet: 4 });
    fc.assert(lockstepProperty(b, b.arbitrary()), params(runs(40)));
  });

  it(`p = 32, n = 256: ${what} by ${what} on the paper sampler`, () => {
    const b = build({ p: 32, n: 256, alphabet: 4 });
    fc.assert(lockstepProperty(b, paperSamplerInputs(256, 32, 4)), params(2));
  });

  it('the expected states are pointerDoublingRounds(v, p − 1), b composed with f, ending at find_p', () => {
    const v = paperPHopSampler(mulberry32(7), 40, 13, 4);
    const e = expectedStates(v, 13);
    const f = pointerDoublingRounds(v, 1).f;
    expect(e.pointers[0]).toEqual({ a: f, b: f });
    expect(e.pointers).toHaveLength(bitLength(12) + 1);
    const last = e.pointers[e.pointers.length - 1].b;
    expect(last).toEqual(pointerDoublingRounds(v, 13).answer);
  });
});

describe('extra loops', () => {
  it.each([
    [3, 1],
    [3, 5],
    [16, 2],
    [5, 12],
  ])('p-hop (looped) keeps its answer with more loops: p = %i, %i extra', (p, extra) => {
    const b = buildLooped({ p, n: 16, alphabet: 4 });
    expect(b.extraLoopsStable?.holds).toBe(true);
    fc.assert(extraLoopsProperty(b, extra, b.arbitrary()), params(runs(30)));
  });

  it('the fold flag is 1 exactly in loop 2 and in the loops 3 + l with bit l of p − 1 set', () => {
    expect(foldLoops(1, 0)).toEqual([2]);
    expect(foldLoops(3, 2)).toEqual([2, 4]);
    expect(foldLoops(16, 4)).toEqual([2, 3, 4, 5, 6]);
    expect(runsOf(foldLoops(6, 3))).toEqual([
      [2, 3],
      [5, 5],
    ]);
  });

  it('p-hop-direct is not a looped model: running its stack twice breaks it (extraLoopsStable.holds = false)', () => {
    const b = buildDirect({ p: 3, n: 16, alphabet: 4 });
    expect(b.extraLoopsStable?.holds).toBe(false);
    const twice = withLoops(b.model, [2]);
    const out = fc.check(answersProperty(b, { label: 'stack twice', interpreter: 'exact', model: twice }, uniformInputs(16, 4)), params(200));
    expect(out.failed).toBe(true);
  });
});

describe('sizes: built against claimed', () => {
  const rows: string[] = [];
  // The paper's O(1) (Theorem B.12: d = d_FF = d_ATTN = O(1); Corollary 5.3 through Theorem 5.2) as the
  // constants the modules claim, a pointer counted as one number (see proofs/p-hop/direct.ts): the same
  // at every n and p, so a build whose pointers are s-bit codes must show above them.
  const A = 4;
  const O1: Record<string, Record<'width' | 'mlpWidth' | 'headDim', number>> = {
    'p-hop-direct': { width: 4 * A + 11, mlpWidth: 2 * A + 6, headDim: A + 3 },
    'p-hop': { width: 4 * A + 11 + 3 + 2, mlpWidth: 3 * (2 * A + 6), headDim: A + 3 },
  };
  const builtAt = new Map<string, number>();
  it.each([1, 3, 16, 32])('p = %i, n = 16 and 256: the O(1) sizes are constants the build exceeds; the rest within the claim or documented', (p) => {
    for (const n of [16, 256]) {
      for (const { c, build } of KINDS) {
        const b = build({ p, n, alphabet: 4 });
        const sizes = modelSizes(b.model);
        const cmp = compareSizes(c as Construction, b, sizes);
        expect(cmp.map((r) => r.key)).toEqual(['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads', 'headDim', 'bits']);
        const L = Math.floor(Math.log2(p));
        const noMlp = c.id === 'p-hop-direct' && p === 1;
        for (const r of cmp) {
          if ((c.id === 'p-hop-direct' && r.key === 'layersPerBlock') || (c.id === 'p-hop' && r.key === 'loops')) {
            // 2 + ⌈log2 p⌉: the claimed ⌊log2 p⌋ + 2 for powers of two, one more otherwise.
            expect(r.claimed).toBe(L + 2);
            expect(r.built).toBe(L + 2 + (isPowerOfTwo(p) ? 0 : 1));
          } else if (r.key === 'bits') {
            // ⌈log2 n⌉ claimed; built max(3, ⌈log2(n + 1)⌉): one more for the start slot when n is a power of two.
            expect(r.claimed).toBe(Math.ceil(Math.log2(n)));
            expect(r.built).toBe(Math.max(3, Math.ceil(Math.log2(n + 1))));
          } else if (r.key === 'width' || r.key === 'mlpWidth' || r.key === 'headDim') {
            // O(1) in the paper: the claim is a constant; the s-bit pointer codes put the build above it
            // (p-hop-direct at p = 1 has no doubling round, hence no MLP at all).
            expect(r.claimed, `${c.id} ${r.key}`).toBe(O1[c.id][r.key]);
            if (noMlp && r.key === 'mlpWidth') expect(r.built).toBe(0);
            else expect(r.built!, `${c.id} ${r.key} (p = ${p}, n = ${n})`).toBeGreaterThan(r.claimed!);
            builtAt.set(`${c.id} ${r.key} p=${p} n=${n}`, r.built!);
          } else {
            expect(r.built, `${c.id} ${r.key} (p = ${p}, n = ${n})`).toBeLessThanOrEqual(r.claimed!);
          }
        }
        if (n === 256) {
          // Not O(1): the same construction at n = 256 is wider than at n = 16 in every one of these sizes.
          for (const key of noMlp ? ['width', 'headDim'] : ['width', 'mlpWidth', 'headDim']) {
            expect(builtAt.get(`${c.id} ${key} p=${p} n=256`)!, `${c.id} ${key} p = ${p}`).toBeGreaterThan(builtAt.get(`${c.id} ${key} p=${p} n=16`)!);
          }
        }
        if (c.id === 'p-hop-direct') {
          const depth = 2 + bitLength(p - 1);
          expect(sizes.depth).toBe(depth);
          const distinct = (b as ReturnType<typeof buildDirect>).distinctLayers;
          expect(distinct).toBe(p === 1 ? 2 : (p - 1).toString(2).includes('0') ? 4 : 3);
        } else {
          expect(sizes.layersPerBlock).toBe(1);
          expect(sizes.heads).toBe(3);
        }
        const show = (k: string) => {
          const r = cmp.find((x) => x.key === k)!;
          return `${r.built}/${r.claimed}`;
        };
        rows.push(
          `${c.id.padEnd(13)} p=${String(p).padEnd(2)} n=${String(n).padEnd(3)} ${sizes.shape.padEnd(8)} layers ${show('layersPerBlock')} loops ${show('loops')} ` +
            `width ${show('width')} mlp ${show('mlpWidth')} heads ${show('heads')} headDim ${show('headDim')} bits ${show('bits')}` +
            (c.id === 'p-hop-direct' ? ` distinct layers ${(b as ReturnType<typeof buildDirect>).distinctLayers}` : ''),
        );
      }
    }
    if (p === 32) console.log(`[p-hop] built/claimed:\n${rows.join('\n')}`);
  });
});

describe('counterexamples: each weakening fails on a shrunk input; the claimed setting passes the same search', () => {
  const SAMPLES = Math.max(200, runs(200));
  const show = (r: ReturnType<typeof searchCounterexample>) =>
    console.log(
      `[p-hop] ${r.construction} ${r.describe}: ` +
        (r.found
          ? `counterexample after ${r.tried} runs\n  input    ${r.input}\n  answer   ${JSON.stringify(r.answer)}, expected ${JSON.stringify(r.expected)}\n  replay   ${r.replay}\n  search   ${r.replaySearch}`
          : `none in ${r.tried} samples`),
    );

  // p = 3 and 4 on the search inputs, uniform sequences (they shrink to 3–4 tokens); p = 16 needs a long
  // hop chain, which uniform sequences rarely have, so it searches the checks' inputs, half of them the
  // paper's distribution, at n = 24 (those shrink less).
  it.each(KINDS)('$c.id: one loop (layer) fewer than needed, p = 3, 4 and 16', ({ c, build }) => {
    for (const [p, n, inputs, longest] of [
      [3, 16, 'search', 4],
      [4, 16, 'search', 4],
      [16, 24, 'checks', 24],
    ] as const) {
      const b = build({ p, n, alphabet: 4 });
      const needed = c.id === 'p-hop' ? b.model.stages[0].loops : b.model.stages[0].layers.length;
      const r = searchCounterexample(c as Construction, { p, n, alphabet: 4 }, { kind: 'loops', loops: needed - 1 }, { samples: SAMPLES, seed: SEED, inputs });
      show(r);
      expect(r.found).toBe(true);
      expect(JSON.parse(r.input!).length).toBeLessThanOrEqual(longest);
      expect(r.replay).toContain(`--param ${c.id === 'p-hop' ? 'loops' : 'layers'}=${needed - 1}`);
      // The replay rebuilds the failure: the weakened parameters, the input, the wrong answer.
      const w = build(r.params);
      const v = JSON.parse(r.input!) as number[];
      expect(w.decode(interpreterByName('exact').run(w.model, w.encode(v)))).not.toEqual(hopP(v, p));
      const ok = searchCounterexample(c as Construction, { p, n, alphabet: 4 }, { kind: 'loops', loops: needed }, { samples: SAMPLES, seed: SEED, inputs });
      expect(ok.found).toBe(false);
    }
  });

  it.each(KINDS)('$c.id: one bit fewer than s in fixed:s (neighbouring positions tie in the search)', ({ c }) => {
    const r = searchCounterexample(c as Construction, { p: 3, n: 16, alphabet: 4 }, { kind: 'bits', bits: 4 }, { samples: SAMPLES, seed: SEED });
    show(r);
    expect(r.found).toBe(true);
    expect(JSON.parse(r.input!).length).toBeLessThanOrEqual(4);
    expect(r.replay).toContain('--interpreter fixed:4');
    expect(searchCounterexample(c as Construction, { p: 3, n: 16, alphabet: 4 }, { kind: 'bits', bits: 5 }, { samples: SAMPLES, seed: SEED }).found).toBe(false);
  });

  it.each(KINDS)('$c.id: a float64 softmax scale too small (β = 2)', ({ c }) => {
    const r = searchCounterexample(c as Construction, { p: 3, n: 16, alphabet: 4 }, { kind: 'scale', scale: 2 }, { samples: SAMPLES, seed: SEED });
    show(r);
    expect(r.found).toBe(true);
    expect(JSON.parse(r.input!).length).toBeLessThanOrEqual(4);
    expect(r.replay).toContain('--param scale=2 --interpreter float64');
    expect(searchCounterexample(c as Construction, { p: 3, n: 16, alphabet: 4 }, { kind: 'scale', scale: 64 * 32 }, { samples: SAMPLES, seed: SEED }).found).toBe(false);
  });

  it('the fewest bits that passed every sample is s itself, and the smallest passing scale lies far below the stated one', () => {
    // Both on the checks' inputs (half the paper's distribution), the scale bisected between 1 and the stated 64·2^s.
    for (const c of [pHop, pHopDirect] as Construction[]) {
      // The build's s = max(3, ⌈log2(n + 1)⌉) = 5 is tight, and the paper's claim ⌈log2 n⌉ = 4 is one bit short (the start slot).
      const s = Math.max(3, Math.ceil(Math.log2(16 + 1)));
      const paper = Math.ceil(Math.log2(16));
      const bits = fewestPassingBits(c, { p: 5, n: 16, alphabet: 4 }, { samples: 150, seed: SEED, inputs: 'checks' });
      console.log(`[p-hop] ${c.id} p=5 n=16: fewest bits ${bits.value} (s = ${s}); trials ${bits.probes.map((t) => `${t.value}${t.passed ? '✓' : '✗'}`).join(' ')}`);
      expect(bits.value).toBe(s);
      expect(bits.probes.find((t) => t.value === paper)?.passed).toBe(false);
      expect(bits.below?.found).toBe(true);
      const scale = smallestPassingScale(c, { p: 5, n: 16, alphabet: 4 }, { samples: 150, seed: SEED, inputs: 'checks', lo: 1, hi: 64 * 32 });
      console.log(
        `[p-hop] ${c.id} p=5 n=16: smallest passing scale ${scale.value} (stated ${64 * 32}); fails at ${scale.below?.params.scale} on ${scale.below?.input}`,
      );
      expect(scale.value).not.toBeNull();
      expect(scale.value!).toBeLessThan(64 * 32);
      expect(scale.below?.found).toBe(true);
    }
  });

  it('the replay command reproduces the failure from a fresh process (exit 1, wrong answer)', () => {
    const r = searchCounterexample(pHop as Construction, { p: 3, n: 16, alphabet: 4 }, { kind: 'loops', loops: 3 }, { samples: SAMPLES, seed: SEED });
    const bin = fileURLToPath(new URL('../bin/looped.mjs', import.meta.url));
    const argv = r.replay.replace(/^looped /, '').match(/'[^']*'|\S+/g)!.map((a) => a.replace(/^'|'$/g, ''));
    const out = spawnSync(process.execPath, [bin, ...argv, '--json'], { encoding: 'utf8' });
    expect(out.status).toBe(1);
    const j = JSON.parse(out.stdout) as { answer: unknown; expected: unknown; correct: boolean };
    expect(j.correct).toBe(false);
    expect(j.answer).toEqual(r.answer);
  });
});

describe('parameters and inputs', () => {
  it('is registered under p-hop and p-hop-direct', () => {
    // The registry wraps each build in the memory budget (proofs/registry.ts); the rest is the module's own.
    for (const c of [pHop, pHopDirect] as Construction[]) {
      const r = constructionById(c.id);
      expect([r.statement, r.params]).toEqual([c.statement, c.params]);
      expect(r.claimed).toBe(c.claimed);
    }
  });

  it('names a bad parameter and its range, and a bad input and where it is', () => {
    expect(() => buildLooped({ p: 0, n: 16, alphabet: 4 })).toThrow(UsageError);
    expect(() => buildLooped({ p: 65, n: 16, alphabet: 4 })).toThrow(/parameter p of p-hop must be a whole number in 1..64, got 65/);
    expect(() => buildDirect({ p: 3, n: 16, alphabet: 1 })).toThrow(/alphabet/);
    expect(() => buildDirect({ p: 3, n: 16, alphabet: 4, readout: 'some' })).toThrow(/readout/);
    expect(() => buildDirect({ p: 3, n: 16, alphabet: 4, layers: 9 })).toThrow(/layers of p-hop-direct must be auto or a whole number in 1..4/);
    expect(() => buildLooped({ p: 3, n: 16, alphabet: 4, scale: '-1' })).toThrow(/scale/);
    const b = buildLooped({ p: 3, n: 4, alphabet: 4 });
    expect(() => b.parseInput('[0,1,2,9]')).toThrow(InputError);
    expect(() => b.parseInput('[0,1,2,9]')).toThrow(/v_4 = 9 is outside the alphabet 0..3/);
    expect(() => b.parseInput('[0,1,2,3,0]')).toThrow(/5 tokens but the model was built for n = 4/);
    expect(() => b.parseInput('0 1')).toThrow(/JSON array/);
    expect(b.parseInput('[3,2]')).toEqual([3, 2]);
    expect(b.encode([3, 2])).toEqual([4, 3, 2]);
  });
});
