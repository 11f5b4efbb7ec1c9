// Theorem 5.4 ∘ Theorem 5.2 and Theorem 5.2 ∘ Theorem 5.4 on the same decoder: the two compilers
// composed as the paper composes theorems, each output fed to the other compiler as it is.
//
// 5.4 ∘ 5.2 (loop first, then CoT). A decoder D (causal heads, readout last, depth L, R distinct
// layers) compiled by Theorem 5.2 is D' = one layer looped L times on (#, v): vocabulary Σ ∪ {#},
// the same logit as D for every source token and −D_gate·(L + 1) for # (never the argmax). D' is
// again a decoder (5.2 keeps each head's causality, its readout is D's, its stage has no mask),
// so Theorem 5.4 takes it, with a new pad token $ (D' already has #):
//   * the CoT prompt of D' is (#, v), n' = n + 1 tokens: # first, because that is D''s input;
//   * D''s greedy CoT from (#, v) is D's from v, token for token: D'(#, v, c_1..c_k) has D(v, c_1..c_k)'s
//     logits on Σ and # loses, so c_{k+1} is the same; # is never emitted, so the prefix stays of
//     the form (#, source tokens) that Theorem 5.2 speaks about. Hence TF'^m(#, v) = TF^m(v);
//   * the composed model reads (#, v, $^m) — m loops of a block of L + 5 layers (D''s one layer,
//     listed L times, then readout, decode–encode, SHIFT) — and answers TF^m(v). Each 5.4 loop runs
//     D' from its embedding (SHIFT re-adds θ_PE(i), which for D' includes Theorem 5.2's counter l = 1
//     and its first mask), so 5.2's counter is reset every loop.
//   * positions: D' has D's positions + 1; the 5.4 CoT reads n' + m − 1 = n + m of them, so D needs
//     n + m − 1, as Theorem 5.4 on D alone does.
//   * the margin precondition of 5.4 is on D''s CoT, whose source-token logits are D's: the same
//     prompts qualify, only the bits s = ⌊log2(n + 1 + m)⌋ + 1 may be one more.
// Exact arithmetic only: the # logit −D_gate·(L+1) and the 5.2 gates are far outside F_s.
//
// 5.2 ∘ 5.4 (CoT first, then loop). Theorem 5.2 compiles models "without masks" (Def. 5.2: one
// stage, the same block every loop); Theorem 5.4's variant (a) output is a looped model WITH the
// loop masks M^t(i) = 1[i − t ≥ n] of Def. B.4, whose loop t blends (1 − M^t(i))·x_i + M^t(i)·TB(x)_i.
// That blend is not a layer (it multiplies the state by a function of t and i), so a masked stage is
// not an L-layer model in the sense of Theorem 5.2 and the compiler refuses it (analyseSource:
// "compiles unmasked models"). Variant (b) (no-masks) has no mask — its comparator, counter and gate
// do the same inside the block — so it type-checks: the 5.4b model (depth m·(L + 5), L + 5 distinct
// layers when D's layers are distinct) becomes ONE layer looped m·(L + 5) times on (<s>, v, #^m) and
// answers TF^m(v). Exact arithmetic; the gates are derived by the same interval bounds, which grow
// with the depth m·(L + 5) (a deep 5.4b model can make them overflow: then the compiler says so).
import type { Model } from '../../simulators/model.ts';
import { type Thm52Compiled, type Variant as Thm52Variant, compileThm52Info, withStart } from '../thm-5-2-loop-one-layer.ts';
import { type Thm54Compiled, type Thm54Variant, compileThm54Variant, withPads } from '../thm-5-4-cot-loops.ts';

/** 5.4's pad token in 5.4 ∘ 5.2 (5.2's output already has #). */
export const PAD_AFTER_52 = '$';
/** 5.2's start token in 5.2 ∘ 5.4 (5.4's output already has #). */
export const START_AFTER_54 = '<s>';

export interface CotAfterLoop {
  /** Theorem 5.2 on the decoder: one layer looped L times on (#, v). */
  loop: Thm52Compiled;
  /** Theorem 5.4 on that: a block looped m times on (#, v, $^m). */
  cot: Thm54Compiled;
}

export interface ComposeOptions {
  /** Prompt length (source tokens) and CoT steps. */
  n: number;
  m: number;
  /** Theorem 5.4's variant: masks (a) or no-masks (b). */
  variant?: Thm54Variant;
  /** Theorem 5.2's variant (default corrected; an erratum variant is how the tests break the composition on purpose). */
  loopVariant?: Thm52Variant;
}

/** Theorem 5.4 applied to Theorem 5.2's output, for prompts of n source tokens and m CoT steps. */
export function compileCotAfterLoop(decoder: Model, o: ComposeOptions): CotAfterLoop {
  const loop = compileThm52Info(decoder, { variant: o.loopVariant, name: `${decoder.name}, looped by Theorem 5.2` });
  const cot = compileThm54Variant(loop.model, { n: o.n + 1, m: o.m, variant: o.variant ?? 'masks', startToken: PAD_AFTER_52 });
  return { loop, cot };
}

/** The prompt of the 5.4 stage: (#, v). */
export const cotAfterLoopPrompt = (c: CotAfterLoop, v: readonly number[]): number[] => withStart(c.loop, v);

/** The composed model's input: (#, v, $^m). */
export const cotAfterLoopInput = (c: CotAfterLoop, v: readonly number[]): number[] => withPads(c.cot, cotAfterLoopPrompt(c, v));

export interface LoopAfterCot {
  /** Theorem 5.4, variant (b), on the decoder: a block of L + 5 layers looped m times on (v, #^m). */
  cot: Thm54Compiled;
  /** Theorem 5.2 on that: one layer looped m·(L + 5) times on (<s>, v, #^m). */
  loop: Thm52Compiled;
}

/**
 * Theorem 5.2 applied to Theorem 5.4's output. Only variant no-masks type-checks; variant masks is
 * refused by Theorem 5.2 (UnsupportedError naming the loop mask).
 */
export function compileLoopAfterCot(decoder: Model, o: ComposeOptions): LoopAfterCot {
  const cot = compileThm54Variant(decoder, { n: o.n, m: o.m, variant: o.variant ?? 'no-masks' });
  const loop = compileThm52Info(cot.model, { variant: o.loopVariant, startToken: START_AFTER_54, name: `${cot.model.name}, looped by Theorem 5.2` });
  return { cot, loop };
}

/** The composed model's input: (<s>, v, #^m). */
export const loopAfterCotInput = (c: LoopAfterCot, v: readonly number[]): number[] => withStart(c.loop, withPads(c.cot, v));
