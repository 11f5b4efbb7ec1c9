// Theorems 5.2 and 5.4 on random sources of realistic size — residual width 64, 4 heads a layer,
// vocabulary 32, sequences of length 32 — beside the tiny ones (width ≤ 6, vocabulary ≤ 4) that the
// other suites shrink counterexamples with. Run in float64, where a run takes a tenth of a second.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides the run counts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { type RandomModelOptions, inputArbitrary } from '../simulators/random-model.ts';
import { type Thm52Case, compareOnCase, thm52SourceArbitrary } from '../properties/thm-5-2.ts';
import { compareThm54With, thm54CaseArbitrary } from '../properties/thm-5-4.ts';

/** Two layers of 4 heads (query/key and value 8..16) and an MLP of 32..64 units, width 64, vocabulary 32, length 32. */
const REALISTIC: RandomModelOptions = {
  minVocab: 32,
  maxVocab: 32,
  minWidth: 64,
  maxWidth: 64,
  minLen: 32,
  maxLen: 32,
  minHeads: 4,
  maxHeads: 4,
  minLayers: 2,
  maxLayers: 2,
  maxStages: 1,
  maxLoops: 1,
  minHeadDim: 8,
  maxHeadDim: 16,
  minHidden: 32,
  maxHidden: 64,
};

const realistic = (spec: { width: number; vocab: number; maxLen: number; stages: { layers: { heads: unknown[] }[] }[] }) =>
  spec.width === 64 && spec.vocab === 32 && spec.maxLen === 32 && spec.stages.every((s) => s.layers.every((l) => l.heads.length === 4));

describe('Theorem 5.4 at realistic sizes (float64)', () => {
  it.each(['masks', 'no-masks'] as const)('variant %s: the looped model answers TF^m(v) on prompts of 1..31 tokens, m up to 32 − n', (variant) => {
    let checked = 0;
    fc.assert(
      fc.property(thm54CaseArbitrary(REALISTIC), (c) => {
        expect(realistic(c.spec)).toBe(true);
        const k = compareThm54With(c, { interpreter: 'float64', variant });
        fc.pre(k.precondition.ok);
        checked++;
        expect(k.got, `n = ${c.n}, m = ${c.m}`).toBe(k.expected);
      }),
      fcParams(20),
    );
    expect(checked).toBeGreaterThanOrEqual(15);
  });
});

describe('Theorem 5.2 at realistic sizes (float64)', () => {
  // Inputs of the full length 32, so every head reads 32 positions.
  const cases: fc.Arbitrary<Thm52Case> = thm52SourceArbitrary({ ...REALISTIC, readouts: ['last', 'all'] }).chain((s) =>
    fc.record({ spec: fc.constant(s.spec), reuse: fc.constant(s.reuse), tokens: inputArbitrary(s.spec.vocab, 32, 32) }),
  );
  it('one layer looped L times gives the source\'s output distribution on (#, v), |v| = 32', () => {
    fc.assert(
      fc.property(cases, (c) => {
        expect(realistic(c.spec)).toBe(true);
        expect(c.tokens).toHaveLength(32);
        const r = compareOnCase(c, 'corrected', 'float64');
        expect(r.ok, `largest logit difference ${r.difference}`).toBe(true);
      }),
      fcParams(40),
    );
  });
});
