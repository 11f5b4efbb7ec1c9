// Issue #14 §2: can p-hop's content search be a softmax head in the paper's F_s at log n bits?
// Finding (proofs/p-hop/common.ts, SOFTMAX SEARCH): no, at no s. These tests check the proof's two
// rounding facts against the interpreter's own arithmetic (every s in 1..26), run the proof's three
// witness inputs through the built search=softmax head at every s the construction can have
// (3..13), show that head is the best possible (one-hot exactly when at most one match precedes
// i) and that the whole model then fails under fixed:s with a shrunk counterexample — while the
// same weights hold under exact hard attention and float64's max-subtracting softmax.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides the run counts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PHopBuilt } from '../proofs/p-hop/built.ts';
import { searchSoftmax, softmaxSearchScale } from '../proofs/p-hop/common.ts';
import { pHopBits } from '../proofs/p-hop/config.ts';
import { buildDirect, pHopDirect } from '../proofs/p-hop/direct.ts';
import { buildLooped, pHop } from '../proofs/p-hop/looped.ts';
import { answersProperty, uniformInputs } from '../properties/p-hop.ts';
import { fixedPoint } from '../simulators/arithmetic/fixed.ts';
import type { NumberSystem } from '../simulators/arithmetic/number-system.ts';
import { NumericError, UsageError } from '../common/errors.ts';
import { generic, interpreterByName } from '../simulators/interpreters.ts';
import type { Model } from '../simulators/model.ts';
import { pointerDoublingRounds } from '../tasks/p-hop.ts';

const SEED = Number(process.env.FC_SEED ?? 42);
const RUNS_ENV = Number(process.env.FC_RUNS);
const runs = (base: number) => (Number.isInteger(RUNS_ENV) && RUNS_ENV > 0 ? RUNS_ENV : base);
const params = (numRuns: number) => ({ seed: SEED, numRuns });

/** The search head's attention rows (position i → weights over j ≤ i) in a traced run; looped: loop 2, where it searches. */
function searchPattern(model: Model, interpreter: string, tokens: number[], looped: boolean): number[][] {
  const run = interpreterByName(interpreter).run(model, tokens, { trace: true });
  const key = [...run.trace!.patterns.keys()].find((k) => k.includes('.search.') && k.startsWith(looped ? 'loop2.' : 'loop1.'));
  if (key === undefined) throw new Error(`no search pattern in the trace (keys: ${[...run.trace!.patterns.keys()].join(', ')})`);
  return run.trace!.patterns.get(key)!;
}

/** Matches of position i (1-based, model position i): the j in 2..i with v_{j−1} = v_i. */
const matchesAt = (v: readonly number[], i: number) => Array.from({ length: i - 1 }, (_, k) => k + 2).filter((j) => v[j - 2] === v[i - 1]);

const oneHotAt = (row: readonly number[], at: number) => row.every((w, j) => w === (j === at ? 1 : 0));

describe('the proof, step (1), against the interpreter\'s own F_s arithmetic', () => {
  // In units u = 2^−s (F_s values are k·u; fixedPoint works on k): with S the softmax's sum,
  //   weight(x) = div(x, S) is 0  iff  2^{s+1}·x ≤ S,   and it is 1 (= one)  iff  2^{s+1}·m > (2^{s+1} − 1)·S.
  it('both iffs hold for random (x, S) at every s in 1..26 (BigInt on the exact side)', () => {
    for (let s = 1; s <= 26; s++) {
      const fp = fixedPoint(s);
      const lim = fp.limit;
      const two = 2n ** BigInt(s + 1);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: lim }), fc.integer({ min: 1, max: lim }), (x, S) => {
          expect(fp.div(x, S) === 0, `s=${s} x=${x} S=${S}`).toBe(two * BigInt(x) <= BigInt(S));
          // (a softmax's sum is at least each of its terms: the second iff is for m ≤ S)
          if (x <= S) expect(fp.div(x, S) === fp.one, `s=${s} m=${x} S=${S}`).toBe(two * BigInt(x) > (two - 1n) * BigInt(S));
        }),
        params(runs(300)),
      );
      // And at the boundaries, where random pairs rarely land: the least S that zeroes x = 1 and the least m that is 1 there.
      const S1 = 2 ** (s + 1);
      if (S1 <= lim) {
        expect([fp.div(1, S1), fp.div(1, S1 - 1) > 0]).toEqual([0, true]);
        expect([fp.div(S1, S1), fp.div(S1 - 1, S1) === fp.one]).toEqual([fp.one, false]);
      }
    }
  });

  it('exhaustively for s = 1..3: whenever one softmax gives weight 1 to m and 0 to x, m ≥ (2^{s+1} − 1)·x + 1, and that is attained', () => {
    for (let s = 1; s <= 3; s++) {
      const fp = fixedPoint(s);
      let pairs = 0;
      let tight = false;
      for (let x = 1; x <= fp.limit; x++)
        for (let m = 1; m <= fp.limit; m++)
          // S is the (saturated) sum of all exps: at least m and at most B_s.
          for (let S = m; S <= fp.limit; S++) {
            if (fp.div(m, S) !== fp.one || fp.div(x, S) !== 0) continue;
            pairs++;
            expect(m, `s=${s} x=${x} m=${m} S=${S}`).toBeGreaterThanOrEqual((2 ** (s + 1) - 1) * x + 1);
            if (m === (2 ** (s + 1) - 1) * x + 1) tight = true;
          }
      // s = 1: B_1 = 1.5 holds no ratio 2^2, so no softmax at all is one-hot on two positive exps.
      expect(pairs > 0, `s=${s}`).toBe(s > 1);
      expect(tight).toBe(s > 1);
    }
  });

  it('step (2): the chain start → one match → two matches overflows B_s at every s in 1..26', () => {
    for (let s = 1; s <= 26; s++) {
      const fp = fixedPoint(s);
      const r = 2n ** BigInt(s + 1) - 1n;
      const e0 = 1n; // the start slot's exp in input A: weight 1 needs a nonzero exp
      const e2 = r * e0 + 1n; // input B: weight 1 at j = 2, 0 at the start slot
      const e4 = r * e2 + 1n; // input C: weight 1 at j = 4, 0 at j = 2
      expect(e4 > BigInt(fp.limit), `s=${s}`).toBe(true);
      // Said the other way round with the interpreter: an exp of 2^{s+1} units (the least e_2 of input B)
      // keeps a nonzero weight beside ANY sum S ≤ B_s, so input C cannot zero it.
      expect(fp.div(Number(e2), fp.limit), `s=${s}`).toBeGreaterThan(0);
    }
  });
});

describe('the witnesses A, B, C through the built search=softmax head, at every s the construction has (3..13)', () => {
  const A = [1, 1, 1, 1, 0];
  const B = [0, 1, 1, 1, 0];
  const C = [0, 1, 0, 1, 0];
  it('A and B are one-hot where the algorithm says (start slot; j = 2), C is not one-hot on f(5) = 4', () => {
    expect([A, B, C].map((v) => pointerDoublingRounds(v, 1).f[5])).toEqual([0, 2, 4]);
    const rows: string[] = [];
    for (let s = 3; s <= 13; s++) {
      const n = Math.min(2 ** (s - 1) + 1, 4096);
      expect(pHopBits(n)).toBe(s);
      // Only the shift and the search (layers = 2), so nothing downstream reads the search's output.
      const b = buildDirect({ p: 1, n, alphabet: 2, search: 'softmax', layers: 2 });
      const chk = b.checks[1];
      expect(chk.interpreter).toBe(`fixed:${s}`);
      const row = (v: number[]) => searchPattern(chk.model, chk.interpreter, b.encode(v), false)[5];
      expect(oneHotAt(row(A), 0), `s=${s} A`).toBe(true);
      expect(oneHotAt(row(B), 2), `s=${s} B`).toBe(true);
      const c = row(C);
      expect(oneHotAt(c, 4), `s=${s} C`).toBe(false);
      // What the best head does instead: both matches saturate, weight 1 each.
      expect(c).toEqual([0, 0, 1, 0, 1, 0]);
      rows.push(`s=${s} n=${n}: C row ${JSON.stringify(c)}`);
    }
    console.log(`[p-hop softmax] witness C at position 5, fixed:s:\n  ${rows.join('\n  ')}`);
  });

  it('at every number of bits b in 1..26 (param bits: the fixed:b check, the head set for F_b), n = 16: C is never one-hot', () => {
    const rows: string[] = [];
    for (let bits = 1; bits <= 26; bits++) {
      const b = buildDirect({ p: 1, n: 16, alphabet: 2, search: 'softmax', layers: 2, bits });
      const chk = b.checks[1];
      expect(chk.interpreter).toBe(`fixed:${bits}`);
      const [a, bb, c] = [A, B, C].map((v) => searchPattern(chk.model, chk.interpreter, b.encode(v), false)[5]);
      expect(oneHotAt(a, 0), `b=${bits} A`).toBe(true);
      // b = 1: B_1 = 1.5 holds no ratio of 2^2 (the exhaustive test above), so even one match is not one-hot.
      expect(oneHotAt(bb, 2), `b=${bits} B`).toBe(bits > 1);
      expect(oneHotAt(c, 4), `b=${bits} C`).toBe(false);
      rows.push(`b=${bits}: B ${JSON.stringify(bb)} C ${JSON.stringify(c)}`);
    }
    console.log(`[p-hop softmax] n=16, bits 1..26, position 5:\n  ${rows.filter((_, k) => k < 3 || k === 25).join('\n  ')}\n  (b = 4..25 as b = 3)`);
  });

  it('and the whole model fails at every b in 1..26 (fast-check, shrunk), p = 3, n = 16', () => {
    const found: string[] = [];
    for (let bits = 1; bits <= 26; bits++) {
      const b = buildDirect({ p: 3, n: 16, alphabet: 4, search: 'softmax', bits });
      const out = fc.check(answersProperty(b, b.checks[1], uniformInputs(16, 4)), params(300));
      expect(out.failed, `b=${bits}`).toBe(true);
      const v = out.counterexample![0];
      expect(v.some((_, k) => matchesAt(v, k + 1).length >= 2), `b=${bits}: ${JSON.stringify(v)}`).toBe(true);
      found.push(`${bits}:${JSON.stringify(out.counterexample![0])}`);
    }
    console.log(`[p-hop softmax] search=softmax, p=3 n=16, counterexample at each b: ${found.join(' ')}`);
  });

  it('the looped construction (Corollary 5.3) too: its loop-2 search on C is not one-hot, at s = 3 and 5', () => {
    for (const n of [5, 16]) {
      const b = buildLooped({ p: 1, n, alphabet: 2, search: 'softmax', loops: 2 });
      const pat = (v: number[]) => searchPattern(b.checks[1].model, b.checks[1].interpreter, b.encode(v), true)[5];
      expect([oneHotAt(pat(A), 0), oneHotAt(pat(B), 2), oneHotAt(pat(C), 4)]).toEqual([true, true, false]);
    }
  });
});

describe('the built search=softmax head is the best one can do: one-hot on f(i) exactly when at most one match precedes i', () => {
  const kinds = [
    { id: 'p-hop-direct', build: (p: Record<string, string | number>) => buildDirect({ ...p, layers: 2 }), looped: false },
    { id: 'p-hop', build: (p: Record<string, string | number>) => buildLooped({ ...p, loops: 2 }), looped: true },
  ];
  /** The property: at every position, one-hot on f(i) iff #matches ≤ 1. */
  const bestHead = (built: PHopBuilt, model: Model, interpreter: string, looped: boolean) =>
    fc.property(uniformInputs(built.config.n, built.config.alphabet), (v) => {
      const pat = searchPattern(model, interpreter, built.encode(v), looped);
      const f = pointerDoublingRounds(v, 1).f;
      for (let i = 1; i <= v.length; i++) {
        const few = matchesAt(v, i).length <= 1;
        if (oneHotAt(pat[i], f[i]) !== few) throw new Error(`position ${i}: ${matchesAt(v, i).length} matches, weights ${JSON.stringify(pat[i])}, f(i) = ${f[i]}`);
      }
    });

  it.each(kinds)('$id: fixed:s at n = 16 (s = 5) and n = 100 (s = 7), uniform inputs over 2 and 4 letters', ({ build, looped }) => {
    for (const [n, alphabet] of [
      [16, 2],
      [16, 4],
      [100, 4],
    ]) {
      const b = build({ p: 1, n, alphabet, search: 'softmax' });
      fc.assert(bestHead(b, b.checks[1].model, b.checks[1].interpreter, looped), params(runs(n > 50 ? 15 : 80)));
    }
  });

  it('the property refuses a worse head: the search=hard scores at scale B_s tie the start slot with a single match', () => {
    const b = buildDirect({ p: 1, n: 16, alphabet: 4, layers: 2 });
    const model = searchSoftmax(b.model, softmaxSearchScale(b.config.s));
    const out = fc.check(bestHead(b, model, `fixed:${b.config.s}`, false), params(200));
    expect(out.failed).toBe(true);
    const v = out.counterexample![0];
    console.log(`[p-hop softmax] search=hard scores under softmax at B_s: refused on ${JSON.stringify(v)}: ${String((out.errorInstance as Error).message)}`);
    expect(v.length).toBeLessThanOrEqual(2);
  });
});

describe('search=softmax: the whole model', () => {
  it.each([
    { c: pHopDirect, build: buildDirect },
    { c: pHop, build: buildLooped },
  ])('$c.id: fixed:s fails with a shrunk counterexample that has two matches; exact and float64 hold on the same weights', ({ build }) => {
    for (const n of [16, 64]) {
      const b = build({ p: 3, n, alphabet: 4, search: 'softmax' });
      const fixed = b.checks[1];
      expect(fixed.label).toContain('the content search too');
      const out = fc.check(answersProperty(b, fixed, uniformInputs(n, 4)), params(300));
      expect(out.failed).toBe(true);
      const v = out.counterexample![0];
      console.log(`[p-hop softmax] ${b.model.name} under ${fixed.interpreter}: fails on ${JSON.stringify(v)}: ${String((out.errorInstance as Error).message)}`);
      expect(v.length).toBeLessThanOrEqual(4);
      expect(v.some((_, k) => matchesAt(v, k + 1).length >= 2)).toBe(true);
      // Every input where no position has two matches passes: the failure is the two-match case and nothing else.
      const few = uniformInputs(Math.min(n, 8), 4).filter((w) => w.every((_, k) => matchesAt(w, k + 1).length <= 1));
      fc.assert(answersProperty(b, fixed, few), params(runs(40)));
      for (const chk of [b.checks[0], b.checks[2]]) fc.assert(answersProperty(b, chk, b.arbitrary()), params(runs(n > 50 ? 10 : 40)));
    }
  });

  it('names a bad search value', () => {
    expect(() => buildDirect({ p: 3, n: 16, alphabet: 4, search: 'soft' })).toThrow(UsageError);
    expect(() => buildLooped({ p: 3, n: 16, alphabet: 4, search: 'soft' })).toThrow(/parameter search of p-hop must be hard or softmax, got "soft"/);
  });

  it('the default (search=hard) is unchanged: its fixed:s check keeps the search hard', () => {
    const b = buildDirect({ p: 3, n: 16, alphabet: 4 });
    expect(b.config.search).toBe('hard');
    expect(b.checks[1].label).toBe('fixed:5, softmax on the positional heads, search hard');
  });

  it.each([
    [[], 'fixed:5'],
    [['--param', 'bits=12'], 'fixed:12'],
    // An interpreter that is not one of the checks runs on the model of its family (the fixed:s
    // check's softmax model), as `looped run` does, never on the exact check's hard one.
    [[], 'fixed:12'],
  ])('looped verify p-hop-direct --param search=softmax %j --interpreter %s exits 1 with a two-match counterexample', (extra, interp) => {
    const bin = fileURLToPath(new URL('../bin/looped.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'verify', 'p-hop-direct', '--param', 'search=softmax', ...extra, '--interpreter', interp, '--samples', '40', '--json'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as { checks: { interpreter: string; failed: boolean; counterexample?: { input: string } }[] };
    expect(j.checks.map((k) => [k.interpreter, k.failed])).toEqual([[interp, true]]);
    const input = JSON.parse(j.checks[0].counterexample!.input) as number[];
    expect(input.some((_, k) => matchesAt(input, k + 1).length >= 2)).toBe(true);
  });
});

// The contrast: the same head under a softmax that SUBTRACTS THE MAXIMUM before exp (as float64's
// does), every operation still rounded into F_b. Not an interpreter of the project (the paper's
// F_s softmax does not subtract, simulators/arithmetic/fixed.ts); built here only to measure the
// fewest bits. The search's scores are β·(match 1 + j·2^{−s−1}, start −2^{−s}, no match < −1/2):
// consecutive matches differ by β·2^{−s−1}, and the earlier one's weight rounds to 0 iff that gap
// is ≥ (b + 1)·ln 2 (exp(−gap) ≤ 2^{−b−1}); the largest score β·(1 + n·2^{−s−1}) must not saturate
// at B_b, or the last matches tie. So β(b) = ⌈2^{s+1}·(b + 1)·ln 2⌉ and the fewest bits are the
// least b ≥ s + 1 with β(b)·(1 + n·2^{−s−1}) ≤ B_b: log n + log log n + O(1), not log n.
function maxSubtracting(bits: number): NumberSystem<number> {
  const fp = fixedPoint(bits);
  return {
    ...fp,
    name: `fixed:${bits} with max subtraction`,
    softmax(scores) {
      let max = scores[0];
      for (const x of scores) if (x > max) max = x;
      const e = scores.map((x) => fp.exp(fp.add(x, -max)));
      let sum = 0;
      for (const x of e) sum = fp.add(sum, x);
      if (sum === 0) throw new NumericError(`softmax in ${bits} bits: every exp rounded to 0`);
      return e.map((x) => fp.div(x, sum));
    },
  };
}
const betaFor = (s: number, b: number) => Math.ceil(2 ** (s + 1) * (b + 1) * Math.LN2);
const predictedBits = (n: number, s: number) => {
  for (let b = s + 1; b <= 26; b++) if (betaFor(s, b) * (1 + n * 2 ** (-s - 1)) <= 2 ** b - 2 ** -b) return b;
  return null;
};

describe('contrast: under a max-subtracting softmax in F_b the same search works, from log n + log log n + O(1) bits', () => {
  it.each([
    [16, 1500],
    [64, 60],
  ])('n = %i: the fewest passing bits are the predicted ones; one bit fewer fails on a shrunk input', (n, samples) => {
    const built = buildDirect({ p: 3, n, alphabet: 4, search: 'softmax' });
    const s = built.config.s;
    const want = predictedBits(n, s)!;
    const prop = (b: number) => {
      const it = generic(maxSubtracting(b));
      const model = searchSoftmax(built.model, betaFor(s, b));
      return fc.property(fc.oneof(uniformInputs(n, 4), built.arbitrary()), (v) => {
        const got = built.decode(it.run(model, built.encode(v)));
        if (!built.equal(got, built.reference(v))) throw new Error(`answers ${JSON.stringify(got)}, hop_p gives ${JSON.stringify(built.reference(v))}`);
      });
    };
    const trials: string[] = [];
    let fewest: number | null = null;
    for (let b = s + 1; b <= want + 1 && fewest === null; b++) {
      const out = fc.check(prop(b), params(b < want ? 300 : runs(samples)));
      trials.push(`${b}${out.failed ? '✗' : '✓'}`);
      if (!out.failed) fewest = b;
      else if (b === want - 1) {
        console.log(`[p-hop softmax] max-subtracting F_${b}, n=${n}, β=${betaFor(s, b)}: fails on ${JSON.stringify(out.counterexample![0])}: ${String((out.errorInstance as Error).message)}`);
      }
    }
    console.log(`[p-hop softmax] max-subtracting softmax, n=${n} (s=${s}): trials ${trials.join(' ')}; fewest ${fewest}, predicted ${want} = s + ${want - s}`);
    expect(fewest).toBe(want);
    // The failure one bit below is a real one of the head (two late matches saturate and tie), not of the rest of the model.
    expect(fc.check(prop(want - 1), params(300)).failed).toBe(true);
  });
});
