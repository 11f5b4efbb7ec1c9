// Theorem 5.4's precondition — no CoT step has a tie, here a top-two logit margin ≥ 2^{−s} at
// every step (cotPrecondition) — and the prompts a property draws under it (preconditionPrompts):
// the registered thm-5.4 checks the theorem only where it promises something.
import fc from 'fast-check';
import { UnsupportedError } from '../../common/errors.ts';
import type { CotResult } from '../../simulators/cot.ts';
import type { Thm54Compiled } from './compiler.ts';

/** The precondition of the theorem on one prompt: every CoT step's top logit beats the others by ≥ 2^{−s}. */
export function cotPrecondition(c: Thm54Compiled, cot: CotResult): { ok: boolean; why: string } {
  if (cot.tieAt !== null) return { ok: false, why: `CoT step ${cot.tieAt} has a tie for the top logit` };
  const need = 2 ** -c.s;
  const k = cot.steps.findIndex((r) => r.margins.logit < need);
  if (k >= 0) return { ok: false, why: `CoT step ${k + 1}: top-two logit margin ${cot.steps[k].margins.logit} < 2^-${c.s}` };
  return { ok: true, why: `every CoT step has a top-two logit margin ≥ 2^-${c.s}` };
}


/**
 * Prompts sampled once (seed 0) to check that the decoder meets the margin condition on some
 * prompt at all, and the fallback a draw lands on when its own neighbourhood has none.
 */
const PRECONDITION_SAMPLE = 400;
/** How many prompts after a drawn one (in lexicographic order) a draw looks through for one that meets the condition. */
const PRECONDITION_SCAN = 2000;

/**
 * Prompts of n tokens 0..V−1 that meet `meets` (memoised: it runs the decoder). Prompts are drawn
 * fresh (so `verify --seed S --samples K` draws K new ones from seed S) and each is moved to the
 * first prompt at or after it, in lexicographic order, that meets the precondition; after
 * PRECONDITION_SCAN misses, to one of a fixed sample's good prompts (PRECONDITION_SAMPLE prompts of
 * seed 0, chosen by the draw), so a draw always ends and always meets it (a filter could spin for
 * ever on a decoder whose CoT always ties). A decoder that meets it on none of the sample is
 * refused at the first draw with UnsupportedError(refusal(PRECONDITION_SAMPLE)).
 */
export function preconditionPrompts(o: { n: number; V: number; meets: (prompt: number[]) => boolean; refusal: (sampled: number) => string }): () => fc.Arbitrary<number[]> {
  const { n, V } = o;
  const memo = new Map<string, boolean>();
  const ok = (prompt: number[]) => {
    const key = prompt.join(',');
    let v = memo.get(key);
    if (v === undefined) {
      v = o.meets(prompt);
      memo.set(key, v);
    }
    return v;
  };
  let good: number[][] | null = null;
  const goodPrompts = (): number[][] => {
    if (good === null) {
      const sample = fc.sample(fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: n, maxLength: n }), { numRuns: PRECONDITION_SAMPLE, seed: 0 });
      const seen = new Set<string>();
      good = sample.filter((p) => {
        const key = p.join(',');
        if (seen.has(key)) return false;
        seen.add(key);
        return ok(p);
      });
    }
    if (good.length === 0) throw new UnsupportedError(o.refusal(PRECONDITION_SAMPLE));
    return good;
  };
  const meetPrecondition = (drawn: number[]): number[] => {
    const p = [...drawn];
    for (let k = 0; k < PRECONDITION_SCAN; k++) {
      if (ok(p)) return p;
      let j = n - 1;
      while (j >= 0 && p[j] === V - 1) p[j--] = 0;
      if (j < 0) break;
      p[j]++;
    }
    const fallback = goodPrompts();
    return fallback[drawn.reduce((h, x) => (h * V + x) % fallback.length, 0)];
  };
  return () => {
    goodPrompts();
    return fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: n, maxLength: n }).map(meetPrecondition);
  };
}
