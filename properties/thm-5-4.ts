// Theorem 5.4, variants (a) (explicit loop masks) and (b) (no masks: comparator, counter, gate), as
// properties: on random DECODERS (random models
// from simulators/random-model.ts with every head made causal and readout 'last'; hard attention,
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
import type { BitOrder } from '../proofs/gadgets/comparator.ts';
import { type Thm54Compiled, type Thm54Variant, compileThm54Variant, cotOf, cotPrecondition, float64ShiftScale, lockstepRows, withPads, withSoftmaxShift } from '../proofs/thm-5-4-cot-loops.ts';
import { NumericError } from '../common/errors.ts';
import { asDecoder } from '../proofs/thm-5-4/random-decoder.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, invalidate, withLoops } from '../simulators/model.ts';
import { type RandomModelOptions, type RandomModelSpec, buildRandomModel, randomModelArbitrary } from '../simulators/random-model.ts';

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
  /** The softmax SHIFT's score scale (with softmaxShift; default 1, what F_s needs; float64 needs float64ShiftScale). */
  shiftScale?: number;
  /**
   * Check lockstep under this interpreter too (default: only exact). Under fixed:s and float64 the
   * states are compared for equality with the prescribed ones (small dyadics, exact in both).
   */
  lockstep?: boolean;
  /** Erratum builds: codes of a constant size (erratum 5, variant masks), the gadgets' bit orders (erratum 6, no-masks). */
  codeBits?: number;
  comparatorBitOrder?: BitOrder;
  incrementBitOrder?: BitOrder;
}

/** Compiles the case's decoder, decodes its CoT and runs the looped model (see Thm54CompareOptions). */
export function compareThm54With(c: Thm54Case, o: Thm54CompareOptions = {}): Thm54Comparison {
  const interpreter = o.interpreter ?? 'exact';
  const compiled = compileThm54Variant(decoderOf(c.spec), {
    n: c.n,
    m: c.m,
    s: o.s,
    variant: o.variant ?? 'masks',
    ...(o.codeBits !== undefined ? { codeBits: o.codeBits } : {}),
    ...(o.comparatorBitOrder !== undefined ? { comparatorBitOrder: o.comparatorBitOrder } : {}),
    ...(o.incrementBitOrder !== undefined ? { incrementBitOrder: o.incrementBitOrder } : {}),
  });
  if (o.patch) {
    o.patch(compiled);
    invalidate(compiled.model);
  }
  const cot = cotOf(compiled, c.prompt, interpreter);
  const precondition = cotPrecondition(compiled, cot);
  let model = o.softmaxShift ? withSoftmaxShift(compiled.model, o.shiftScale ?? 1) : compiled.model;
  if (o.loops !== undefined) model = withLoops(model, [o.loops]);
  const run = interpreterByName(interpreter).run(model, withPads(compiled, c.prompt), { trace: o.loops === undefined });
  const lockstepFailures =
    (o.lockstep ?? interpreter === 'exact') && cot.tieAt === null && o.loops === undefined
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

// ---------------------------------------------------------------- softmax sources (issue #14 §2)
//
// The compiled model copies the source's layers as they are, softmax heads and their score scales
// included, and adds ONE head of its own: SHIFT (Lemma B.9 on Lemma B.4), hard by default. So the
// looped model runs the source's softmax in the same arithmetic as the decoder's CoT does, on the
// same inputs (the state at every fixed position is exactly the embedding: lockstep), and the two
// compute bit-identical logits. The MARGIN PRECONDITION FOR SOFTMAX is then the same statement,
// measured in the interpreter's own arithmetic: at every CoT step the decoder's top logit, computed
// by the decoder under that interpreter (float64, or F_s), beats every other by ≥ 2^{−s}. Softmax
// weights enter only there — through the source's heads into the logits; nothing the compiler adds
// reads them — so no condition on the attention patterns is needed. SHIFT as softmax: exactly
// one-hot in F_s at scale 1 (Lemmas B.1/B.2: exp(−B_s) rounds to 0), in float64 only at a scale
// (float64ShiftScale: exp underflows to 0 below −745); at scale 1 in float64 it leaks e^{−2B_s}.

/** Softmax (and hard) decoders, as DEFAULT_DECODER_OPTIONS otherwise: the scales 1, 2, 1/2 of the random model. */
export const SOFTMAX_DECODER_OPTIONS: RandomModelOptions = { kinds: ['softmax', 'hard'] };

/** Whether the decoder has a softmax head anywhere. */
export function hasSoftmax(model: Model): boolean {
  return model.stages.some((st) => st.layers.some((l) => l.heads.some((h) => h.kind === 'softmax')));
}

/**
 * Whether the decoder is representable in F_s on this prompt's CoT: its F_s run on every prefix
 * raises no NumericError (a softmax whose every exp(score) rounds to 0) and no value of its residual
 * stream reaches ±B_s (where F_s saturates). Outside this the decoder in F_s is not the decoder.
 */
export function fsRepresentable(decoder: Model, prompt: readonly number[], m: number, s: number): { ok: boolean; why: string } {
  const it = interpreterByName(`fixed:${s}`);
  const B = 2 ** s - 2 ** -s;
  const seq = [...prompt];
  for (let step = 1; step <= m; step++) {
    let r;
    try {
      r = it.run(decoder, seq, { trace: true });
    } catch (e) {
      if (e instanceof NumericError) return { ok: false, why: `CoT step ${step}: ${e.message}` };
      throw e;
    }
    for (const key of r.trace!.keys()) {
      if (r.trace!.get(key).values.some((row) => row.some((x) => Math.abs(x) >= B))) return { ok: false, why: `CoT step ${step}: ${key} reaches ±B_${s} (F_${s} saturates)` };
    }
    if (r.answer === null) return { ok: true, why: `the F_${s} CoT ties at step ${step}` };
    seq.push(r.answer);
  }
  return { ok: true, why: `every value within ±B_${s}` };
}

export interface Thm54SoftmaxOptions {
  /** float64 (default) or fixed:<s>. */
  interpreter?: string;
  /** Bits of the codes and of F_s (default the proof's; under fixed:<s> the interpreter's s). */
  s?: number;
  /** SHIFT as softmax, at `shiftScale` (default: float64ShiftScale under float64, 1 under fixed:s). */
  softmaxShift?: boolean;
  shiftScale?: number;
  onCase?: (r: Thm54Comparison, c: Thm54Case) => void;
  /**
   * Called (and the case skipped) when the LOOPED model's F_s run raises a NumericError although the
   * decoder's CoT is representable: the block runs the source's layers at every position, also at
   * the #s and at positions whose token is not final yet — states the decoder's CoT never computes —
   * and there a source softmax can round every exp(score) to 0. The theorem needs the source
   * representable on those states too; this reports how often it is not.
   */
  onLoopedNumericError?: (c: Thm54Case, e: NumericError) => void;
}

/**
 * The property on softmax sources: where the margin precondition holds (measured in the
 * interpreter's arithmetic) and, under fixed:s, the decoder is representable in F_s, the looped
 * model's answer is the decoder's CoT under the same interpreter, and after every loop the state at
 * every fixed position EQUALS the embedding (lockstep in float64 and F_s, bit for bit).
 */
export function thm54SoftmaxProperty(o: RandomModelOptions = {}, so: Thm54SoftmaxOptions = {}, variant: Thm54Variant = 'masks') {
  const interpreter = so.interpreter ?? 'float64';
  const fixedBits = interpreter.startsWith('fixed:') ? Number(interpreter.slice(6)) : null;
  return fc.property(thm54CaseArbitrary({ ...SOFTMAX_DECODER_OPTIONS, ...o }), (c) => {
    const s = so.s ?? fixedBits ?? undefined;
    if (fixedBits !== null) fc.pre(fsRepresentable(decoderOf(c.spec), c.prompt, c.m, fixedBits).ok);
    const codeBits = s ?? Math.floor(Math.log2(c.n + c.m)) + 1;
    const shiftScale = so.shiftScale ?? (fixedBits === null ? float64ShiftScale(codeBits) : 1);
    let r: Thm54Comparison;
    try {
      r = compareThm54With(c, { interpreter, s, softmaxShift: so.softmaxShift, shiftScale, lockstep: true, variant });
    } catch (e) {
      if (!(e instanceof NumericError) || fixedBits === null) throw e;
      so.onLoopedNumericError?.(c, e);
      fc.pre(false);
      return;
    }
    fc.pre(r.precondition.ok);
    so.onCase?.(r, c);
    if (r.got !== r.expected) throw new Error(`${interpreter}: the looped model answers ${r.got} but the decoder's CoT gives ${r.expected} (CoT ${JSON.stringify(r.cot)})`);
    if (r.lockstepFailures.length > 0) throw new Error(`${interpreter}: the state is not the embedding after loops ${r.lockstepFailures.join(', ')} (CoT ${JSON.stringify(r.cot)})`);
  });
}

// ---------------------------------------------------------------- errata 5 and 6 (issue #14 §4)

/** The erratum builds: 5, position codes of a constant `codeBits` bits; 6, variant (b) with the comparator reading MSB-first. */
export type Thm54Erratum = { erratum: 5; codeBits: number } | { erratum: 6; comparatorBitOrder?: BitOrder; incrementBitOrder?: BitOrder };

/** The compare options of an erratum build (erratum 6 defaults to the registered assignment: comparator MSB-first). */
export function erratumOptions(e: Thm54Erratum): Thm54CompareOptions {
  if (e.erratum === 5) return { variant: 'masks', codeBits: e.codeBits };
  const both = e.comparatorBitOrder === undefined && e.incrementBitOrder === undefined;
  return { variant: 'no-masks', comparatorBitOrder: both ? 'msb-first' : e.comparatorBitOrder, incrementBitOrder: e.incrementBitOrder };
}

/**
 * The property that the erratum build simulates the CoT (answer and, with `answerOnly` false,
 * lockstep) under the margin precondition, on every case the corrected build simulates. It is
 * FALSE: a search that falsifies it returns the shrunk (decoder, n, m, prompt) — beside which the
 * corrected build (the same case, the default options) holds.
 */
export function thm54ErratumProperty(e: Thm54Erratum, o: RandomModelOptions = {}, answerOnly = false) {
  return fc.property(thm54CaseArbitrary(o), (c) => {
    const fixed = compareThm54With(c, { variant: e.erratum === 5 ? 'masks' : 'no-masks' });
    fc.pre(fixed.precondition.ok && fixed.ok);
    const broken = compareThm54With(c, erratumOptions(e));
    return answerOnly ? broken.got === broken.expected : broken.ok;
  });
}
