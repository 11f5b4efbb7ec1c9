// Theorem 5.4, variants (a) (explicit loop masks) and (b) (no masks: comparator, counter, gate), as
// properties: on random DECODERS (random models
// from properties/random-model.ts with every head made causal and readout 'last'; hard attention,
// small integer weights, exact arithmetic) and random prompts v of length n, the compiled model on
// (v, #^m) answers TF^m(v), the greedy CoT of the decoder (simulators/cot.ts decodeCot), and after
// every loop t the positions 0..n+t−1 hold exactly the embeddings of v and CoT tokens 1..t (with
// variant (b)'s counter at sbin(n + t)). `variant` picks the compiler (default masks, variant a).
//
// MARGIN CONDITION (the theorem's precondition, filtered with fc.pre): at every CoT step the top
// logit beats every other by at least 2^{−s}, s the compiled model's bits (⌊log2(n+m)⌋ + 1 unless
// given). A tie leaves greedy decoding undefined and the argmax net returns the sum of the tied
// one-hots; a margin in (0, 2^{−s}) breaks Lemma B.6's grid assumption (thm54TieProperty shows the
// first kind of failure, thm54BelowGridProperty the second).
import fc from 'fast-check';
import { type Thm54Compiled, type Thm54Variant, compileThm54Variant, cotOf, cotPrecondition, lockstepRows, withPads, withSoftmaxShift } from '../proofs/thm-5-4-cot-loops.ts';
import { asDecoder } from '../proofs/thm-5-4/random-decoder.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, invalidate, withLoops } from '../simulators/model.ts';
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
  /** The smallest top-two logit margin over the CoT's steps (null after a tie). */
  cotMargin: number | null;
  /** Loops whose state was not the embedding of (v, CoT_1..CoT_t) on positions 0..n+t−1 (exact only). */
  lockstepFailures: number[];
  ok: boolean;
}

export interface Thm54CompareOptions {
  /** Interpreter of the run and of the CoT (default exact). */
  interpreter?: string;
  /** Bits of the codes (default ⌊log2(n + m)⌋ + 1). */
  s?: number;
  /** Run the SHIFT head as softmax: for fixed:s, where Lemma B.4 makes it exactly one-hot. */
  softmaxShift?: boolean;
  /** masks (variant a, default) or no-masks (variant b). */
  variant?: Thm54Variant;
  /** Edits the freshly compiled model before the run: a weakened construction (a smaller gate constant, …). */
  patch?: (compiled: Thm54Compiled) => void;
  /** Loops to run instead of m (lockstep is then not checked). */
  loops?: number;
}

/** Compiles the case's decoder, decodes its CoT and runs the looped model (see Thm54CompareOptions). */
export function compareThm54With(c: Thm54Case, o: Thm54CompareOptions = {}): Thm54Comparison {
  const interpreter = o.interpreter ?? 'exact';
  const compiled = compileThm54Variant(decoderOf(c.spec), { n: c.n, m: c.m, s: o.s, variant: o.variant ?? 'masks' });
  if (o.patch) {
    o.patch(compiled);
    invalidate(compiled.model);
  }
  const cot = cotOf(compiled, c.prompt, interpreter);
  const precondition = cotPrecondition(compiled, cot);
  let model = o.softmaxShift ? withSoftmaxShift(compiled.model) : compiled.model;
  if (o.loops !== undefined) model = withLoops(model, [o.loops]);
  const run = interpreterByName(interpreter).run(model, withPads(compiled, c.prompt), { trace: o.loops === undefined });
  const lockstepFailures =
    interpreter === 'exact' && cot.tieAt === null && o.loops === undefined
      ? lockstepRows(compiled, c.prompt, run, cot.generated).filter((r) => !r.ok).map((r) => r.loop)
      : [];
  return {
    compiled,
    cot: cot.generated,
    expected: cot.answer,
    got: run.answer,
    precondition,
    cotMargin: cot.tieAt === null ? Math.min(...cot.steps.map((r) => r.margins.logit)) : null,
    lockstepFailures,
    ok: run.answer === cot.answer && lockstepFailures.length === 0,
  };
}

/**
 * Compiles the case's decoder (variant a or b), decodes its CoT and runs the looped model, under one
 * interpreter (with `softmaxShift`, the SHIFT head runs as softmax: for fixed:s, where Lemma B.4
 * makes it exactly one-hot).
 */
export function compareThm54(c: Thm54Case, interpreter = 'exact', s?: number, softmaxShift = false, variant: Thm54Variant = 'masks'): Thm54Comparison {
  return compareThm54With(c, { interpreter, s, softmaxShift, variant });
}

export interface Thm54VariantsComparison {
  /** The answers of variant (a) and (b). */
  a: number | null;
  b: number | null;
  /** The first (loop, position, subspace of variant (a)) where the states differ, or null. */
  difference: { loop: number; position: number; subspace: string; a: string[]; b: string[] } | null;
}

/**
 * Variant (a) and variant (b) on one case, under one interpreter: the answers, and after every
 * loop the state at EVERY position (not only the lockstep positions) on every subspace variant (a)
 * has — variant (b) has those and its counter, wrap count and mask scratch besides.
 */
export function compareVariants(c: Thm54Case, interpreter = 'exact', s?: number, softmaxShift = false): Thm54VariantsComparison {
  const source = decoderOf(c.spec);
  const ka = compileThm54Variant(source, { n: c.n, m: c.m, s, variant: 'masks' });
  const kb = compileThm54Variant(source, { n: c.n, m: c.m, s, variant: 'no-masks' });
  const it = interpreterByName(interpreter);
  const run = (k: Thm54Compiled) => it.run(softmaxShift ? withSoftmaxShift(k.model) : k.model, withPads(k, c.prompt), { trace: true });
  const ra = run(ka);
  const rb = run(kb);
  const cell = (snap: { values: number[][]; exact?: string[][] }, i: number, k: number) => snap.exact?.[i][k] ?? String(snap.values[i][k]);
  for (let t = 1; t <= c.m; t++) {
    const sa = ra.trace!.afterLoop(t);
    const sb = rb.trace!.afterLoop(t);
    for (let i = 0; i < c.n + c.m; i++) {
      for (const part of ka.model.residual.parts) {
        const ob = kb.model.residual.range(part.name).offset;
        const va = Array.from({ length: part.size }, (_, k) => cell(sa, i, part.offset + k));
        const vb = Array.from({ length: part.size }, (_, k) => cell(sb, i, ob + k));
        if (va.some((x, k) => x !== vb[k])) return { a: ra.answer, b: rb.answer, difference: { loop: t, position: i, subspace: part.name, a: va, b: vb } };
      }
    }
  }
  return { a: ra.answer, b: rb.answer, difference: null };
}

/**
 * The property: variants (a) and (b) give the same answer and the same states (compareVariants),
 * on EVERY case — the margin condition is not needed for the two to agree, only for them to be TF^m(v).
 */
export function thm54VariantsProperty(interpreter = 'exact', o: RandomModelOptions = {}, s?: (c: Thm54Case) => number, softmaxShift = false) {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = compareVariants(c, interpreter, s?.(c), softmaxShift);
    if (r.difference !== null) {
      const d = r.difference;
      throw new Error(`after loop ${d.loop}, position ${d.position}, ${d.subspace}: variant (a) holds [${d.a.join(', ')}], variant (b) [${d.b.join(', ')}]`);
    }
    if (r.a !== r.b) throw new Error(`variant (a) answers ${r.a}, variant (b) ${r.b}`);
  });
}

/** The property: under the margin condition, the looped answer is TF^m(v) and (exact) lockstep holds after every loop. */
export function thm54Property(
  interpreter = 'exact',
  o: RandomModelOptions = {},
  onCase?: (r: Thm54Comparison) => void,
  s?: (c: Thm54Case) => number,
  softmaxShift = false,
  variant: Thm54Variant = 'masks',
) {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = compareThm54(c, interpreter, s?.(c), softmaxShift, variant);
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

/**
 * Just below the grid: a case whose CoT has no tie but whose smallest top-two logit margin lies in
 * [2^{−(s+below)}, 2^{−s}), where the looped model breaks (its answer, or lockstep: Lemma B.6's
 * g_v = 2^s·relu(2^{−s} − Σ_u relu(ℓ_u − ℓ_v)) is positive for a runner-up less than 2^{−s} behind,
 * so the argmax is not one-hot). This is the property that no such case exists; a search that
 * falsifies it exhibits one, shrunk — the threshold 2^{−s} of cotPrecondition cannot be loosened to
 * 2^{−(s+below)}.
 */
export function thm54BelowGridProperty(o: RandomModelOptions = {}, below = 2, variant: Thm54Variant = 'masks') {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const r = compareThm54(c, 'exact', undefined, false, variant);
    const s = r.compiled.s;
    fc.pre(r.cotMargin !== null && r.cotMargin >= 2 ** -(s + below) && r.cotMargin < 2 ** -s);
    return r.ok;
  });
}
