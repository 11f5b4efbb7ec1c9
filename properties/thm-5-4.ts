// Theorem 5.4, variant (a) (explicit loop masks), as properties: on random DECODERS (random models
// from properties/random-model.ts with every head made causal and readout 'last'; hard attention,
// small integer weights, exact arithmetic) and random prompts v of length n, the compiled model on
// (v, #^m) answers TF^m(v), the greedy CoT of the decoder (simulators/cot.ts decodeCot), and after
// every loop t the positions 0..n+t−1 hold exactly the embeddings of v and CoT tokens 1..t.
//
// MARGIN CONDITION (the theorem's precondition, filtered with fc.pre): at every CoT step the top
// logit beats every other by at least 2^{−s}, s the compiled model's bits (⌊log2(n+m)⌋ + 1 unless
// given). A tie leaves greedy decoding undefined and the argmax net returns the sum of the tied
// one-hots; a margin in (0, 2^{−s}) breaks Lemma B.6's grid assumption (thm54TieSearch shows the
// first kind of failure).
import fc from 'fast-check';
import { type Thm54Compiled, compileThm54, cotOf, cotPrecondition, lockstepRows, withPads, withSoftmaxShift } from '../proofs/thm-5-4-cot-loops.ts';
import { asDecoder } from '../proofs/thm-5-4/random-decoder.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { Model } from '../simulators/model.ts';
import { type RandomModelOptions, type RandomModelSpec, buildRandomModel, randomModelArbitrary } from './random-model.ts';

export interface Thm54Case {
  spec: RandomModelSpec;
  n: number;
  m: number;
  prompt: number[];
}

export const DEFAULT_DECODER_OPTIONS: RandomModelOptions = {
  maxVocab: 3,
  maxWidth: 3,
  maxLen: 6,
  maxHeads: 2,
  maxLayers: 2,
  maxLoops: 2,
  maxStages: 2,
  maxHeadDim: 2,
  maxHidden: 3,
  kinds: ['hard'],
  masks: [null],
  readouts: ['last'],
};

/** A decoder spec (maxLen ≥ 2), n ≥ 1 and m ≥ 1 with n + m − 1 ≤ maxLen, and a prompt of n tokens. */
export function thm54CaseArbitrary(o: RandomModelOptions = {}): fc.Arbitrary<Thm54Case> {
  const opts = { ...DEFAULT_DECODER_OPTIONS, ...o };
  return randomModelArbitrary(opts)
    .filter((spec) => spec.maxLen >= 2)
    .chain((spec) =>
      fc.integer({ min: 1, max: spec.maxLen }).chain((n) =>
        fc.record({
          spec: fc.constant(spec),
          n: fc.constant(n),
          m: fc.integer({ min: 1, max: spec.maxLen - n + 1 }),
          prompt: fc.array(fc.integer({ min: 0, max: spec.vocab - 1 }), { minLength: n, maxLength: n }),
        }),
      ),
    );
}

/** The decoder a spec describes: causal heads, readout 'last'. */
export function decoderOf(spec: RandomModelSpec): Model {
  return asDecoder(buildRandomModel({ ...spec, readout: 'last' }, 'random decoder'));
}

export interface Thm54Comparison {
  compiled: Thm54Compiled;
  /** The CoT tokens (shorter than m after a tie) and TF^m(v). */
  cot: number[];
  expected: number | null;
  got: number | null;
  /** Whether the margin condition holds for this prompt. */
  precondition: { ok: boolean; why: string };
  /** Loops whose state was not the embedding of (v, CoT_1..CoT_t) on positions 0..n+t−1 (exact only). */
  lockstepFailures: number[];
  ok: boolean;
}

/**
 * Compiles the case's decoder, decodes its CoT and runs the looped model, under one interpreter
 * (with `softmaxShift`, the SHIFT head runs as softmax: for fixed:s, where Lemma B.4 makes it exactly one-hot).
 */
export function compareThm54(c: Thm54Case, interpreter = 'exact', s?: number, softmaxShift = false): Thm54Comparison {
  const compiled = compileThm54(decoderOf(c.spec), { n: c.n, m: c.m, s });
  const cot = cotOf(compiled, c.prompt, interpreter);
  const precondition = cotPrecondition(compiled, cot);
  const model = softmaxShift ? withSoftmaxShift(compiled.model) : compiled.model;
  const run = interpreterByName(interpreter).run(model, withPads(compiled, c.prompt), { trace: true });
  const lockstepFailures =
    interpreter === 'exact' && cot.tieAt === null ? lockstepRows(compiled, c.prompt, run, cot.generated).filter((r) => !r.ok).map((r) => r.loop) : [];
  return {
    compiled,
    cot: cot.generated,
    expected: cot.answer,
    got: run.answer,
    precondition,
    lockstepFailures,
    ok: run.answer === cot.answer && lockstepFailures.length === 0,
  };
}

/** The property: under the margin condition, the looped answer is TF^m(v) and (exact) lockstep holds after every loop. */
export function thm54Property(
  interpreter = 'exact',
  o: RandomModelOptions = {},
  onCase?: (r: Thm54Comparison) => void,
  s?: (c: Thm54Case) => number,
  softmaxShift = false,
) {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = compareThm54(c, interpreter, s?.(c), softmaxShift);
    fc.pre(r.precondition.ok);
    onCase?.(r);
    if (r.got !== r.expected) throw new Error(`the looped model answers ${r.got} but TF^${c.m}(v) = ${r.expected} (CoT ${JSON.stringify(r.cot)})`);
    if (r.lockstepFailures.length > 0) throw new Error(`lockstep fails after loops ${r.lockstepFailures.join(', ')} (CoT ${JSON.stringify(r.cot)})`);
  });
}

/** Greedy CoT that breaks a tie for the lowest token index (a rule the paper does not fix): the tokens generated. */
export function cotLowestIndex(source: Model, prompt: readonly number[], m: number, interpreter = 'exact'): number[] {
  const it = interpreterByName(interpreter);
  const seq = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    const r = it.run(source, seq);
    const tok = r.readouts[r.readouts.length - 1].top[0];
    out.push(tok);
    seq.push(tok);
  }
  return out;
}

/**
 * Outside the precondition: a case whose CoT has a tie before its last step, where the looped
 * model's answer differs from that of the CoT with ties broken to the lowest index — the
 * simulation is not promised there (the argmax net carries the SUM of the tied tokens'
 * embeddings forward). This is the property that no such case exists; a search that falsifies it
 * exhibits one, shrunk.
 */
export function thm54TieProperty(o: RandomModelOptions = {}) {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = compareThm54(c, 'exact');
    const cot = cotOf(r.compiled, c.prompt);
    fc.pre(cot.tieAt !== null && cot.tieAt < c.m);
    const low = cotLowestIndex(r.compiled.source, c.prompt, c.m);
    return r.got === low[low.length - 1];
  });
}
