// cot-p-hop: the 3-layer decoder whose greedy CoT emits find_1(v, n), …, find_p(v, n) as pointer
// tokens and then hop_p(v), against tasks/p-hop.ts (by fast-check on uniform and paper-sampled
// inputs, and exhaustively over small alphabets and lengths), its margin (Theorem 5.4's
// precondition), the registered construction under verifyConstruction, the paper's size p = 16,
// n = 64, a search that breaks ties the wrong way (caught), and the refusals.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides the run counts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCotPHop, cotPHopTrace, cotPHopVocabulary, cotPHopTask, sampleCotPHop } from '../proofs/cot-tasks/p-hop.ts';
import { type CotTask, type CotTaskBuilt, cotTaskConstruction } from '../proofs/cot-tasks/task.ts';
import { allWords, type Construction, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { fcParams } from '../properties/config.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { fast64 } from '../simulators/fast/index.ts';
import { aboveClaim, thm54PaperSizes } from './support/thm54-claims.ts';
import { decodeCot } from '../simulators/cot.ts';
import { InputError, UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes } from '../simulators/model.ts';
import { findP, hopP } from '../tasks/p-hop.ts';
import { mulberry32 } from '../tasks/random.ts';

const exact = interpreterByName('exact');

function expectCotIsTrace(t: CotTaskBuilt<number[]>, v: number[]): void {
  const cot = decodeCot(exact, t.decoder, t.prompt(v), t.steps);
  expect(cot.tieAt).toBeNull();
  expect(cot.generated).toEqual(t.trace(v));
  for (const step of cot.steps) expect(step.margins.logit).toBe(1);
}

const cache = new Map<string, CotTaskBuilt<number[]>>();
const built = (p: number, n: number, alphabet: number) => {
  const key = `${p}/${n}/${alphabet}`;
  let t = cache.get(key);
  if (t === undefined) cache.set(key, (t = buildCotPHop({ p, n, alphabet })));
  return t;
};

describe('cot-p-hop: the trace is p-hop', () => {
  it('pointers find_1(v, n)..find_p(v, n), then hop_p(v) (⊥ for the pointer 0)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2, maxLength: 12 }), (p, v) => {
        const vocab = cotPHopVocabulary(v.length, 3);
        const trace = cotPHopTrace(v, p, vocab);
        expect(trace.slice(0, p)).toEqual(Array.from({ length: p }, (_, t) => vocab.pointer(findP(v, t + 1, v.length))));
        const hop = hopP(v, p);
        expect(trace[p]).toBe(hop === null ? vocab.bottom : hop);
      }),
      fcParams(100),
    );
  });
});

describe('cot-p-hop: the decoder\'s greedy CoT is the trace', () => {
  it('random p ≤ 6, n ≤ 16, alphabet 2..4, uniform and paper-sampled inputs', () => {
    const sizes = fc.record({ p: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 2, max: 16 }), alphabet: fc.integer({ min: 2, max: 4 }), seed: fc.integer() });
    let bottom = 0;
    fc.assert(
      fc.property(sizes, ({ p, n, alphabet, seed }) => {
        const t = built(p, n, alphabet);
        const [v] = fc.sample(t.arbitrary(), { numRuns: 1, seed });
        expectCotIsTrace(t, v);
        if (hopP(v, p) === null) bottom++;
      }),
      fcParams(150),
    );
    // The uniform half reaches ⊥ answers, the paper half does not.
    expect(bottom).toBeGreaterThan(5);
  });

  it('exhaustively: every v over 2 letters of length 6 (p = 1..4) and over 3 letters of length 5 (p = 3)', () => {
    let count = 0;
    for (const [p, n, alphabet] of [[1, 6, 2], [2, 6, 2], [3, 6, 2], [4, 6, 2], [3, 5, 3]]) {
      const t = built(p, n, alphabet);
      for (const v of allWords(t.exhaustive!)) {
        expectCotIsTrace(t, v);
        count++;
      }
    }
    expect(count).toBe(4 * 64 + 243);
  });

  it('the paper\'s size, p = 16 and n = 64: the CoT on 130 sampled inputs, the compiled model on 24 (fast64) and 2 (exact)', () => {
    const c = constructionById('cot-p-hop');
    const b = c.build(resolveParams(c, { p: '16', n: '64' }));
    const t = b.cot!;
    expect(modelSizes(t.decoder)).toMatchObject({ layersPerBlock: 3, width: 187, heads: 1 });
    expect(modelSizes(b.model)).toMatchObject({ layersPerBlock: 8, loops: 17, width: 482, mlpWidth: 4830, heads: 1 });
    const rng = mulberry32(5);
    const inputs = Array.from({ length: 130 }, () => sampleCotPHop(rng, { p: 16, n: 64 }));
    // The decoder's 17-step CoT: exact on 30 inputs (about 0.15 s each), fast64 (float64, hard attention) on the rest.
    inputs.forEach((v, k) => {
      expect(findP(v, 16, 64)).not.toBe(0);
      expect(decodeCot(k < 30 ? exact : fast64, t.decoder, t.prompt(v), t.steps).generated, `input ${k}`).toEqual(t.trace(v));
    });
    // The compiled model (width 482, 17 loops of 8 layers): batched fast64 on 24 inputs, exact on 2.
    const some = inputs.slice(0, 24);
    const runs = fast64.runBatch(b.model, some.map((v) => b.encode(v)));
    some.forEach((v, k) => {
      expect(runs[k].answer, `input ${k}`).toBe((b.reference(v) as { answer: number | null }).answer);
      expect(runs[k].margins.attentionTies).toBe(0);
    });
    for (const v of some.slice(0, 2)) {
      const r = exact.run(b.model, b.encode(v));
      expect(r.answer).toBe((b.reference(v) as { answer: number | null }).answer);
      expect(r.margins.attentionTies).toBe(0);
    }
  });
});

describe('cot-p-hop: the registered construction (Theorem 5.4 compilation)', () => {
  it("verifyConstruction passes at the defaults (p = 3, n = 8) and p = 4, n = 16 (100 samples); sizes against Theorem 5.4's claim", async () => {
    const c = constructionById('cot-p-hop');
    for (const given of [{}, { p: '4', n: '16' }] as Record<string, string>[]) {
      const params = resolveParams(c, given);
      const rep = await verifyConstruction(c, params, { samples: 100 });
      for (const k of rep.checks) expect(k.failed, `${k.label}: ${k.counterexample?.message}`).toBe(false);
      expect(rep.checks.some((k) => k.label.includes('greedy CoT'))).toBe(true);
      expect(rep.checks.every((k) => k.samples === 100)).toBe(true);
      expect(rep.ok).toBe(true);
      // The claim is Theorem 5.4's for this decoder (prompt [⊥, v]: len + 1 tokens; p + 1 steps), from its sizes.
      const route = c.build(params).cot!;
      const paper = thm54PaperSizes(route.decoder, Number(params.n) + 1, route.steps);
      for (const row of rep.sizes) expect({ key: row.key, claimed: row.claimed }).toEqual({ key: row.key, claimed: paper[row.key] ?? null });
      expect(aboveClaim(rep.sizes)).toContain('width');
      expect(rep.sizesWithinClaim).toBe(false);
      for (const k of rep.checks.filter((x) => x.minAttentionMargin !== Infinity)) expect(k.minAttentionMargin).toBeGreaterThan(0);
    }
  });

  it('a search that breaks ties toward the SMALLEST matching j is caught', async () => {
    const broken: CotTask<number[]> = {
      ...cotPHopTask,
      build(params) {
        const t = cotPHopTask.build(params);
        const search = t.decoder.stages[0].layers[1].heads.find((h) => h.name === 'search')!;
        search.W_K.set('posval', 'order', -1);
        return t;
      },
    };
    const rep = await verifyConstruction(cotTaskConstruction(broken) as Construction, { p: 2, n: 6, alphabet: 2 }, { samples: 60 });
    expect(rep.ok).toBe(false);
    const cot = rep.checks.find((k) => k.label.includes('greedy CoT'))!;
    expect(cot.failed).toBe(true);
    expect(cot.counterexample!.message).toMatch(/CoT step \d of the decoder emits .* but the algorithm's trace has/);
    // The failure is the bug's: the intact decoder gets that input right, and it has a position
    // whose letter matches at two or more j (where smallest and largest differ).
    const v = JSON.parse(cot.counterexample!.input) as number[];
    expectCotIsTrace(built(2, 6, 2), v);
    const matches = (i: number) => Array.from({ length: i - 1 }, (_, k) => k + 2).filter((j) => v[j - 2] === v[i - 1]).length;
    expect(Array.from({ length: 6 }, (_, k) => matches(k + 1)).some((x) => x >= 2)).toBe(true);
  });
});

describe('cot-p-hop: refusals name the problem', () => {
  const c = constructionById('cot-p-hop');

  it('bad parameters are UsageErrors naming the parameter and its range', () => {
    expect(() => resolveParams(c, { p: '0' })).toThrow(/parameter p of cot-p-hop is 0, outside its range 1\.\.64/);
    expect(() => resolveParams(c, { n: '1' })).toThrow(/parameter n of cot-p-hop is 1, outside its range 2\.\.256/);
    expect(() => buildCotPHop({ p: 2, n: 8, alphabet: 1 })).toThrow(UsageError);
    expect(() => buildCotPHop({ p: 2, n: 8, alphabet: 1 })).toThrow(/parameter alphabet of cot-p-hop must be a whole number in 2\.\.16, got 1/);
  });

  it('bad inputs are InputErrors naming the token or the length', () => {
    const b = c.build(resolveParams(c, { p: '2', n: '4' }));
    expect(b.parseInput('[0,1,2,3]')).toEqual([0, 1, 2, 3]);
    expect(() => b.parseInput('[0,1,2,7]')).toThrow(InputError);
    expect(() => b.parseInput('[0,1,2,7]')).toThrow(/token v_4 = 7 is outside the alphabet 0\.\.3/);
    expect(() => b.parseInput('[0,1,2]')).toThrow(/built for n = 4 tokens but the input has 3 \(use --param n=3\)/);
    expect(() => b.parseInput('[0,1,"a",2]')).toThrow(/token v_3 = "a" is outside the alphabet/);
    expect(() => b.parseInput('{}')).toThrow(/must be a JSON array of 4 tokens/);
    expect(() => b.encode([0, 1, 2, -1])).toThrow(InputError);
  });
});
