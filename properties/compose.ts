// Theorems composed (proofs/compositions/): properties that the tests and `looped verify` share.
//   cor53ExtraLoopsBreak          Corollary 5.3 compiled (B.12 by Theorem 5.2) with k extra loops
//                                 against hop_p: a property that is EXPECTED to fail (Theorem 5.2's
//                                 counter runs past L), so a search returns a shrunk input;
//   cotAfterLoopProperty          Theorem 5.4 ∘ Theorem 5.2 on random decoders: the composed model on
//                                 (#, v, $^m) answers TF^m(v); D' = 5.2(D) has D's CoT from (#, v);
//                                 5.4's lockstep holds on D''s CoT;
//   loopAfterCotProperty          Theorem 5.2 ∘ Theorem 5.4 (variant b, the one that type-checks) on
//                                 random decoders: one layer looped m·(L + 5) times on (<s>, v, #^m)
//                                 gives 5.4b's logits exactly, and so TF^m(v).
// Decoders and prompts are properties/thm-5-4.ts's (random models with causal heads, readout last,
// hard attention, small integer weights); the margin precondition of Theorem 5.4 is filtered with
// fc.pre, and the callbacks count the cases that were really checked.
import fc from 'fast-check';
import { type CotAfterLoop, type LoopAfterCot, compileCotAfterLoop, compileLoopAfterCot, cotAfterLoopInput, cotAfterLoopPrompt, loopAfterCotInput } from '../proofs/compositions/cot-and-loop.ts';
import type { Cor53Built } from '../proofs/compositions/cor-5-3-compiled.ts';
import { type Variant as Thm52Variant, outputOf, sameOutput } from '../proofs/thm-5-2-loop-one-layer.ts';
import { cotOf, cotPrecondition, lockstepRows, withPads } from '../proofs/thm-5-4-cot-loops.ts';
import type { Thm54Variant } from '../proofs/thm-5-4/compiler.ts';
import { decodeCot } from '../simulators/cot.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { withLoops } from '../simulators/model.ts';
import { hopP } from '../tasks/p-hop.ts';
import type { RandomModelOptions } from '../simulators/random-model.ts';
import { type Thm54Case, decoderOf, thm54CaseArbitrary } from './thm-5-4.ts';

const exact = interpreterByName('exact');

/** The compiled Corollary 5.3 looped L + extra times answers hop_p(v): false in general (see cor-5-3-compiled.ts). */
export function cor53ExtraLoopsBreak(built: Cor53Built, extra: number, inputs: fc.Arbitrary<number[]> = built.arbitrary()): fc.IProperty<[number[]]> {
  const base = built.checks[0].model;
  const more = withLoops(base, base.stages.map((s) => s.loops + extra));
  return fc.property(inputs, (v) => {
    const got = built.decode(exact.run(more, built.encode(v)));
    const want = built.reference(v);
    if (!built.equal(got, want)) throw new Error(`with ${extra} extra loop(s) the compiled model answers ${JSON.stringify(got)}, hop_p gives ${JSON.stringify(want)}`);
  });
}

/**
 * With Theorem 5.2's default gate (push), looping L + k times (1 ≤ k ≤ L, p ≥ 2) runs the last
 * folding round k more times: the answer is hop_{p + 2^R(2^k − 1)}(v), R = ⌈log2 p⌉.
 */
export function cor53ExtraLoopsFormula(built: Cor53Built, extra: number, inputs: fc.Arbitrary<number[]> = built.arbitrary()): fc.IProperty<[number[]]> {
  const base = built.checks[0].model;
  const more = withLoops(base, base.stages.map((s) => s.loops + extra));
  const hops = built.config.p + 2 ** built.config.rounds * (2 ** extra - 1);
  return fc.property(inputs, (v) => {
    const got = built.decode(exact.run(more, built.encode(v)));
    const want = hopP(v, hops);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`with ${extra} extra loop(s) the compiled model answers ${JSON.stringify(got)}, hop_${hops} gives ${JSON.stringify(want)}`);
  });
}

export interface ComposeCase {
  c: Thm54Case;
  /** TF^m(v) of the decoder (null after a tie). */
  expected: number | null;
  got: number | null;
}

/** Theorem 5.4 ∘ Theorem 5.2 on one case; throws with what differs. Returns null where the precondition fails. */
export function checkCotAfterLoop(c: Thm54Case, variant: Thm54Variant = 'masks', loopVariant: Thm52Variant = 'corrected'): (ComposeCase & { composed: CotAfterLoop }) | null {
  const decoder = decoderOf(c.spec);
  const composed = compileCotAfterLoop(decoder, { n: c.n, m: c.m, variant, loopVariant });
  const source = decodeCot(exact, decoder, c.prompt, c.m);
  const prompt = cotAfterLoopPrompt(composed, c.prompt);
  const looped = cotOf(composed.cot, prompt);
  // D' = 5.2(D) emits D's CoT from (#, v), ties included: this holds with or without the precondition.
  if (looped.generated.join(',') !== source.generated.join(',') || looped.tieAt !== source.tieAt) {
    throw new Error(`Theorem 5.2's output emits the CoT [${looped.generated}] (tie at ${looped.tieAt}) from (#, v), the decoder [${source.generated}] (tie at ${source.tieAt}) from v`);
  }
  if (!cotPrecondition(composed.cot, looped).ok) return null;
  const run = exact.run(composed.cot.model, cotAfterLoopInput(composed, c.prompt), { trace: 'loops' });
  if (run.answer !== source.answer) throw new Error(`5.4 ∘ 5.2 answers ${run.answer} on (#, v, $^m), the decoder's TF^m(v) is ${source.answer}`);
  const bad = lockstepRows(composed.cot, prompt, run, looped.generated).filter((r) => !r.ok);
  if (bad.length > 0) throw new Error(`5.4 ∘ 5.2: after loop ${bad[0].loop} the positions hold [${bad[0].got}], not the embeddings of [${bad[0].expected}]`);
  return { c, expected: source.answer, got: run.answer, composed };
}

export function cotAfterLoopProperty(o: RandomModelOptions = {}, variant: Thm54Variant = 'masks', onChecked?: (r: ComposeCase & { composed: CotAfterLoop }) => void, loopVariant: Thm52Variant = 'corrected') {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = checkCotAfterLoop(c, variant, loopVariant);
    fc.pre(r !== null);
    onChecked?.(r!);
  });
}

/** Theorem 5.2 ∘ Theorem 5.4 (variant b) on one case; throws with what differs. Returns null where the precondition fails. */
export function checkLoopAfterCot(c: Thm54Case, loopVariant: Thm52Variant = 'corrected'): (ComposeCase & { composed: LoopAfterCot }) | null {
  const decoder = decoderOf(c.spec);
  const composed = compileLoopAfterCot(decoder, { n: c.n, m: c.m, variant: 'no-masks', loopVariant });
  const source = decodeCot(exact, decoder, c.prompt, c.m);
  if (!cotPrecondition(composed.cot, source).ok) return null;
  const V = composed.cot.model.vocab.dim;
  const want = outputOf(exact.run(composed.cot.model, withPads(composed.cot, c.prompt)), V, false);
  const run = exact.run(composed.loop.model, loopAfterCotInput(composed, c.prompt));
  const got = outputOf(run, V, true);
  if (!sameOutput(got, want)) throw new Error(`5.2 ∘ 5.4b gives ${JSON.stringify(got.exact)}, 5.4b alone ${JSON.stringify(want.exact)}`);
  if (run.answer !== source.answer) throw new Error(`5.2 ∘ 5.4b answers ${run.answer} on (<s>, v, #^m), the decoder's TF^m(v) is ${source.answer}`);
  return { c, expected: source.answer, got: run.answer, composed };
}

export function loopAfterCotProperty(o: RandomModelOptions = {}, onChecked?: (r: ComposeCase & { composed: LoopAfterCot }) => void, loopVariant: Thm52Variant = 'corrected') {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = checkLoopAfterCot(c, loopVariant);
    fc.pre(r !== null);
    onChecked?.(r!);
  });
}
