// Theorem 5.4 (= B.5): m steps of greedy CoT of any L-layer decoder in m loops of one block — the
// registered construction `thm-5.4`, whose source is a random decoder named by its parameters and
// seed, and whose parameter `variant` picks masks (a) or no-masks (b), or an erratum build.
//
// Variant (a), with the loop masks of Def. B.4, is proofs/thm-5-4/masked.ts (its header: the
// state, the block, why it simulates, the preconditions, the sizes, softmax sources); variant (b),
// without masks, proofs/thm-5-4/unmasked.ts; the steps both build proofs/thm-5-4/compiler.ts; what
// checks both (withPads, lockstepRows, withSoftmaxShift, …) proofs/thm-5-4/lockstep.ts; the
// precondition and the prompts drawn under it proofs/thm-5-4/precondition.ts; what Theorems 5.2
// and 5.4 share, proofs/compiler/kit.ts. This module re-exports their API, which
// cli/commands/compile.ts, the cot-… tasks, the compositions and the properties use.
//
// ERRATA (variant; the registered thm-5.4 only — the cot-… tasks keep masks and no-masks):
//   erratum-5  the statement's "constantly many" extra dimensions taken at its word: variant (a)
//              with position codes pos and prev of a CONSTANT size C (parameter codes, auto = 2;
//              compiler option codeBits), i mod 2^C, independent of n + m. The width is then
//              d + 2C + 1 + 4V for every n + m, and the construction is exact while n + m ≤ 2^C;
//              once n + m > 2^C, positions i and i + 2^C share a code: the θ_PE lookup of SHIFT's
//              MLP adds θ_PE of both, and SHIFT's one-hot head reads both (hard attention averages
//              them). The proof's 3s with s = ⌊log2(n + m)⌋ + 1 is what it needs.
//   erratum-6  our notes say only that the bit orders of Lemmas B.10 and B.11 disagree, NOT which
//              lemma prints which; this build assigns MOST significant bit first to the comparator
//              (Lemma B.11, comparator.ts bitOrder) and least significant first to the increment
//              (Lemma B.10), composed as variant (b) composes them (unmasked.ts), on the state's
//              LSB-first codes: the comparator then computes 1[rev(i) ≥ rev(n + t − 1)] (rev: the
//              s-bit reversal) and recomputes prompt positions or freezes new ones. The other
//              assignment (increment MSB-first, option incrementBitOrder) fails too.
// tests/thm-5-4-errata.test.ts finds a shrunk counterexample for each beside the corrected build
// (which is right on the same input); their verifyAt settings are marked `fails`.
import { NumericError, UsageError } from '../common/errors.ts';
import { decodeCot } from '../simulators/cot.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, modelSizes } from '../simulators/model.ts';
import { bitLength, bitsFor } from './codes.ts';
import { sourceDrawParams, sourceShapeParams } from './compiler/source-params.ts';
import { optionValue } from './compiler/kit.ts';
import { type BuiltConstruction, type ChoiceParamSpec, type ClaimedSizes, type Params, type SizeRow, compareSizes, defineConstruction, defineParams, paramValues, readParam } from './construction.ts';
import { parseJsonArray, tokenItem } from './input-parsing.ts';
import { type Thm54Compiled, type Thm54Variant, THM54_VARIANTS } from './thm-5-4/compiler.ts';
import { cotOf, float64ShiftScale, lockstepRows, withPads, withSoftmaxShift } from './thm-5-4/lockstep.ts';
import { compileThm54 } from './thm-5-4/masked.ts';
import { cotPrecondition, preconditionPrompts } from './thm-5-4/precondition.ts';
import { randomDecoder } from './thm-5-4/random-decoder.ts';
import { type Thm54UnmaskedOptions, compileThm54Unmasked } from './thm-5-4/unmasked.ts';

export { type Thm54Compiled, type Thm54Names, type Thm54Options, type Thm54Scope, type Thm54Variant, THM54_VARIANTS, analyseDecoder } from './thm-5-4/compiler.ts';
export { GATE_BITS, type Thm54UnmaskedOptions, compileThm54Unmasked } from './thm-5-4/unmasked.ts';
export { compileThm54 } from './thm-5-4/masked.ts';
export { type Thm54LockstepRow, cotOf, embeddingRow, float64ShiftScale, lockstepRows, stateAfterLoop, withPads, withSoftmaxShift } from './thm-5-4/lockstep.ts';
export { cotPrecondition } from './thm-5-4/precondition.ts';

const ID = 'thm-5.4';

/**
 * Theorem 5.4's sizes as the paper gives them (paper-notes §3, Theorem 5.4 = B.5: "a looped model with
 * L + O(1) layers per block, O(log(n+m)) more width and O(1) more heads, looped m times"), each O(·)
 * as the constant its proof gives. The same claim is made for every decoder the CoT tasks compile
 * (proofs/cot-tasks), with the decoder's L, d, H, dFF and V.
 */
export const CLAIMED: ClaimedSizes = {
  // L + O(1): the proof's loop runs "the original L layers, then a decode-encode MLP … (Lemma B.7:
  // 5 ReLU layers of width |Σ|²) …, then one SHIFT attention layer (Lemma B.9)": 5 MLP layers, and
  // SHIFT's attention after the last of them, i.e. one more layer: L + 6.
  layersPerBlock: 'L + 6',
  loops: 'm',
  // Erratum 5: the statement says "constantly many" extra dimensions, the proof adds 3s ("extra state
  // per position: sbin(i), code of the previous position max(i−1, 1), code(n+t)"), s = ⌊log(n+m)⌋+1.
  width: 'd + 3*s',
  // The statement sizes no MLP; the proof's are the decoder's own and Lemma B.7's |Σ|² = V².
  mlpWidth: 'max(dFF, V^2)',
  // O(1) more heads: the proof adds one, the SHIFT head of Lemma B.9.
  heads: 'H + 1',
  bits: 'floor(log2(n + m)) + 1',
};

/** The `variant` parameter of thm-5.4 and of the cot-… task constructions. */
export const THM54_VARIANT_PARAM: ChoiceParamSpec<'variant', Thm54Variant> = {
  name: 'variant',
  describe: 'masks: variant (a), explicit loop masks M^t; no-masks: variant (b), no mask — comparator, counter and gate (Lemmas B.8, B.10, B.11) inside the block',
  default: 'masks',
  kind: 'choice',
  values: THM54_VARIANTS,
};

/** Either variant: (a) with loop masks (compileThm54), (b) without (compileThm54Unmasked). */
export function compileThm54Variant(source: Model, options: Thm54UnmaskedOptions & { variant?: Thm54Variant }): Thm54Compiled {
  const variant = optionValue('Theorem 5.4', THM54_VARIANT_PARAM, options.variant);
  if (variant === 'masks') {
    if (options.gateBits !== undefined) throw new UsageError('Theorem 5.4: gateBits is for variant no-masks (variant masks has no gate)');
    if (options.comparatorBitOrder !== undefined || options.incrementBitOrder !== undefined) {
      throw new UsageError('Theorem 5.4: comparatorBitOrder and incrementBitOrder (erratum 6) are for variant no-masks (variant masks has no comparator or counter)');
    }
    return compileThm54(source, options);
  }
  return compileThm54Unmasked(source, options);
}

/** Sizes built beside the claim. */
export function thm54Sizes(c: Thm54Compiled): SizeRow[] {
  return compareSizes(thm54, { sizeScope: c.scope, bits: c.s }, modelSizes(c.model));
}

// ---------------------------------------------------------------- the registered construction

/**
 * The variants of the registered thm-5.4 only: (a), (b), and the two erratum builds, which must
 * fail (see ERRATA in the header). The cot-… tasks keep THM54_VARIANT_PARAM (masks, no-masks).
 */
export const THM54_REGISTERED_VARIANTS = [...THM54_VARIANTS, 'erratum-5', 'erratum-6'] as const;
export type Thm54RegisteredVariant = (typeof THM54_REGISTERED_VARIANTS)[number];

/** The constant code size of variant erratum-5 when `codes` is auto: 2 bits, codes for 4 positions. */
export const ERRATUM5_CODE_BITS = 2;

/** The `variant` parameter read and checked, the error naming the construction. */
export function variantParam(id: string, params: Params): Thm54Variant {
  return readParam(id, THM54_VARIANT_PARAM, params);
}

const PARAMS = defineParams([
  { name: 'layers', describe: 'L: depth of the random source decoder', default: '2', kind: 'int', min: 1, max: 8 },
  ...sourceShapeParams({ width: 16, heads: 4, hidden: 16, vocab: 8 }),
  { name: 'n', describe: 'prompt length', default: '3', kind: 'int', min: 1, max: 32 },
  { name: 'm', describe: 'CoT steps = loops', default: '3', kind: 'int', min: 1, max: 32 },
  ...sourceDrawParams({
    of: 'decoder',
    attention: 'the random decoder\'s heads: hard (checked exact, then fixed:s) or softmax (scales 1, 2, 1/2; checked in float64, bit for bit, then fixed:s)',
  }),
  {
    ...THM54_VARIANT_PARAM,
    describe:
      `${THM54_VARIANT_PARAM.describe}; erratum-5: variant (a) with position codes of a constant size (parameter codes), as the statement's ` +
      '"constantly many" extra dimensions — fails once n + m > 2^codes; erratum-6: variant (b) with the comparator (Lemma B.11) reading the codes ' +
      'most significant bit first and the increment (Lemma B.10) least significant first — fails',
    values: THM54_REGISTERED_VARIANTS,
  },
  {
    name: 'codes',
    describe: `variant erratum-5 only: the constant number of bits of the position codes (auto = ${ERRATUM5_CODE_BITS}, at most the bits s); the codes tell apart 2^codes positions`,
    default: 'auto',
    kind: 'int',
    min: 1,
    max: 8,
    auto: `${ERRATUM5_CODE_BITS} (at most s)`,
  },
  {
    name: 'bits',
    describe:
      's: bits of the position codes, of the argmax grid 2^−s and of variant (b)\'s counter; auto = ⌊log2(n + m)⌋ + 1, the proof\'s. ' +
      'The least, ⌈log2(n + m)⌉, makes the counter wrap in loop m when n + m is a power of two',
    default: 'auto',
    kind: 'int',
    min: 1,
    max: 26,
    auto: '⌊log2(n + m)⌋ + 1',
  },
]);

/** The `bits` parameter: undefined for auto (the compiler's ⌊log2(n + m)⌋ + 1); at least ⌈log2(n + m)⌉, a bound the spec cannot state. */
function bitsOf(bits: number | 'auto', n: number, m: number): number | undefined {
  if (bits === 'auto') return undefined;
  const least = bitsFor(n + m);
  if (bits < least) {
    throw new UsageError(`parameter bits of ${ID} must be auto or a whole number in ${least}..26 (the codes of n + m = ${n + m} positions must differ), got ${bits}`);
  }
  return bits;
}

/** Compiler options of a registered variant; `codes` is checked here (erratum-5 only, at most the bits s). */
function registeredVariantOptions(variant: Thm54RegisteredVariant, codes: number | 'auto', s: number): Omit<Thm54UnmaskedOptions, 'n' | 'm'> & { variant: Thm54Variant } {
  if (codes !== 'auto' && variant !== 'erratum-5') throw new UsageError(`parameter codes of ${ID} is for variant erratum-5 (the other variants' codes have the proof's s bits), got codes=${codes} with variant=${variant}`);
  if (variant === 'erratum-5') {
    const k = codes === 'auto' ? Math.min(ERRATUM5_CODE_BITS, s) : codes;
    if (k > s) throw new UsageError(`parameter codes of ${ID} must be auto or a whole number in 1..${Math.min(8, s)} (at most the bits s = ${s}), got ${codes}`);
    return { variant: 'masks', codeBits: k };
  }
  if (variant === 'erratum-6') return { variant: 'no-masks', comparatorBitOrder: 'msb-first', incrementBitOrder: 'lsb-first' };
  return { variant };
}

export interface Thm54Output {
  answer: number | null;
}

export function buildThm54(params: Params): BuiltConstruction<number[], Thm54Output> {
  const p = paramValues(ID, PARAMS, params);
  const { n, m, attention } = p;
  // Softmax sources: exact arithmetic refuses softmax, so the reference is the decoder's float64 CoT
  // and the first check (where lockstep runs) is float64 — bit-exact, see SOFTMAX SOURCES in proofs/thm-5-4/masked.ts.
  const refName = attention === 'hard' ? 'exact' : 'float64';
  const source = randomDecoder({
    layers: p.layers,
    distinct: p.layers,
    width: p.width,
    heads: p.heads,
    hidden: p.hidden,
    vocab: p.vocab,
    maxLen: n + m - 1,
    seed: p.seed,
    attention,
  });
  const s = bitsOf(p.bits, n, m);
  const c = compileThm54Variant(source, { n, m, s, ...registeredVariantOptions(p.variant, p.codes, s ?? bitLength(n + m)) });
  const V = source.vocab.dim;
  const ref = interpreterByName(refName);
  const softShift = withSoftmaxShift(c.model);
  // A prompt is checked when the decoder's exact (softmax sources: float64) CoT meets the margin precondition AND the decoder
  // run in F_s (the paper's arithmetic, at the s the fixed:s check uses) emits the same CoT without a
  // tie: the theorem says the looped model in F_s is the decoder in F_s, and the reference here is the
  // exact CoT, so the fixed:s check is meaningful only where the two decoders agree (a random decoder's
  // own activations may round differently: seed 45 at n = 4, m = 2 on [0, 0, 0, 1] does).
  const meets = (prompt: number[]) => {
    const cot = cotOf(c, prompt, refName);
    return cotPrecondition(c, cot).ok && fsAgrees(prompt, cot.generated);
  };
  // The decoder in F_s emits the same CoT with no tie — and, for softmax sources, neither it nor the
  // looped model (which runs the source at the #s too) rounds every exp(score) of a head to 0.
  function fsAgrees(prompt: number[], cot: number[]): boolean {
    try {
      const inFs = cotOf(c, prompt, `fixed:${c.s}`);
      if (inFs.tieAt !== null || inFs.generated.join(',') !== cot.join(',')) return false;
      if (attention === 'softmax') interpreterByName(`fixed:${c.s}`).run(softShift, withPads(c, prompt));
      return true;
    } catch (e) {
      if (e instanceof NumericError) return false;
      throw e;
    }
  }
  const arbitrary = preconditionPrompts({
    n,
    V,
    meets,
    refusal: (sampled) =>
      `${ID}: the random decoder of seed ${p.seed} ties (or has a top-two logit margin below 2^-${c.s}, or emits another CoT in fixed:${c.s}${attention === 'softmax' ? `, or has a softmax head whose every exp(score) rounds to 0 in fixed:${c.s}` : ''}) at some CoT step for every one of ${sampled} sampled prompts, so Theorem 5.4 promises nothing on them; choose another seed`,
  });
  return {
    model: c.model,
    sizeScope: c.scope,
    bits: c.s,
    encode: (prompt) => withPads(c, prompt),
    decode: (run) => ({ answer: run.answer }),
    reference: (prompt) => ({ answer: decodeCot(ref, source, prompt, m).answer }),
    equal: (a, b) => a.answer === b.answer,
    parseInput: (text) =>
      parseJsonArray(text, { where: ID, expected: `exactly n = ${n} source tokens (no #: they are added)`, example: JSON.stringify(Array.from({ length: n }, (_, i) => i % V)), length: n, item: tokenItem(source.vocab.labels) }),
    formatAnswer: (o) => ({ answer: o.answer === null ? null : c.model.vocab.labels[o.answer] }),
    formatInput: (prompt) => JSON.stringify(prompt),
    // The precondition: prompts whose CoT has a top-two logit margin ≥ 2^{−s} at every step, each drawn
    // prompt moved to the nearest one that meets it (preconditionPrompts, proofs/thm-5-4/precondition.ts);
    // a decoder that meets it on none of the sampled prompts is refused at the first draw, naming the seed.
    arbitrary,
    checks: [
      ...(attention === 'hard'
        ? [{ label: 'exact, hard attention: the looped answer is TF^m(v)', interpreter: 'exact', model: c.model }]
        : [
            { label: 'float64, softmax source, hard SHIFT: the looped answer is the float64 TF^m(v)', interpreter: 'float64', model: c.model },
            {
              label: `float64, softmax source, softmax SHIFT at scale ${float64ShiftScale(c.codeBits)} (exactly one-hot in float64): the same`,
              interpreter: 'float64',
              model: withSoftmaxShift(c.model, float64ShiftScale(c.codeBits)),
            },
          ]),
      // At the claimed bits s = ⌊log2(n + m)⌋ + 1 (the built s when `bits` is auto): the SHIFT head as
      // softmax, exactly one-hot in F_s by Lemma B.4; the source layers run in F_s as they are.
      { label: `fixed:${c.s}, softmax SHIFT (Lemma B.4 one-hot in F_s): the looped answer is TF^m(v)`, interpreter: `fixed:${c.s}`, model: softShift },
    ],
    lockstep: {
      describe:
        'after loop t, positions 0..n+t−1 hold exactly the embeddings of v and CoT tokens 1..t' +
        (c.variant === 'no-masks' ? ' (and the counter sbin(n + t) at every position)' : ''),
      compare: (prompt, run) => {
        const cot = cotOf(c, prompt, refName).generated;
        return lockstepRows(c, prompt, run, cot).map((r) => ({ loop: r.loop, expected: r.expected, got: r.got }));
      },
      trace: 'loops',
    },
    extraLoopsStable: {
      holds: true,
      why:
        c.variant === 'masks'
          ? 'loop t > m recomputes only positions i with i + 1 − t ≥ n, i.e. i ≥ n + t − 1 ≥ n + m, and the input has n + m positions: every state is frozen'
          : 'in loop t > m the counter n + t − 1 ≥ n + m is past every position, so M = 0 everywhere and the gate keeps every tok; once the counter wraps, its carry in `wrap` holds M at 0: every state but the counter is frozen',
    },
  };
}

export const thm54 = defineConstruction<number[], Thm54Output>({
  id: ID,
  title: 'm steps of chain of thought in m loops, with or without loop masks (compiler)',
  theorem: 'Theorem 5.4 (B.5), variants (a) and (b)',
  statement:
    'For any L-layer decoder TF_θ, prompt length n and step count m, a block of L + O(1) layers with O(log(n + m)) more width ' +
    'and O(1) more heads, looped m times on (v, #^m) with the loop masks M^t(i) = 1[i − t ≥ n] (Def. B.4), answers ' +
    'TF_θ^m(v), the greedy CoT of the decoder; after loop t, position n + t holds the embedding of CoT token t. Each loop ' +
    'runs the original layers, the decode–encode net of Lemma B.7 (the embedding of the argmax token) and SHIFT (Lemma ' +
    'B.9), which also re-adds θ_PE(i). Precondition: no CoT step has a tie (here: top-two logit margin ≥ 2^−s). ' +
    'variant=no-masks (variant b) needs no masks: the stage has none, and in the same L + 5 layers a comparator (Lemma B.11) ' +
    'on sbin(i) and a counter sbin(n + t − 1) (Lemma B.10, advanced every loop) gives M = 1[i ≥ n + t − 1], and a gate ' +
    '(Lemma B.8) keeps the token of every position with M = 0, from which the last layer rebuilds its state: the same ' +
    'states as variant (a) after every loop, with no precondition beyond (a)\'s (every gate input is in [0, 1]). The source ' +
    'here is a random decoder named by its parameters and seed (`looped compile thm-5.4 --source` compiles a model file). ' +
    'attention=softmax registers a decoder with softmax heads, checked in float64 (bit for bit) and fixed:s against its float64 CoT. ' +
    'variant=erratum-5 (position codes of a constant size, parameter codes) and variant=erratum-6 (comparator and increment in ' +
    'opposite bit orders) are the paper\'s slips built as stated; they must fail.',
  params: PARAMS,
  claimed: CLAIMED,
  deviations:
    'Both variants exceed the proof\'s width d + 3s (erratum 5: the statement says constantly many; the proof adds 3s — ' +
    'sbin(i), sbin(i − 1) and the code of n + t). Variant (a) (masks): d + 2s + 1 + 4V — no code of n + t is needed with ' +
    'explicit masks, one constant direction for the one-hot heads and the θ_PE lookup, and 4V directions: the token one-hot ' +
    'the readout reads, and the logits/one-hot/sums scratch of Lemma B.6/B.7, which the paper keeps inside its 5 ReLU ' +
    'layers. Variant (b) (no-masks): d + 3s + 4 + 4V — the three codes of the proof (the counter is the third s), the ' +
    'constant, the counter\'s wrap count (it holds the mask at 0 after 2^s − n loops, so extra loops stay frozen), M and ' +
    '1 − M for the gate, and the same 4V; it saves no copy of the state, only the token, which the gate keeps. Layers: the ' +
    'O(1) is 5 in both (readout MLP, 3 decode–encode layers, SHIFT; variant (b) puts the comparator and counter beside the ' +
    'readout and the gate beside SHIFT\'s MLP), within the proof\'s L + 6 (5 ReLU layers of Lemma B.7, then SHIFT). MLP ' +
    'width: against the proof\'s max(d_FF, V²), the build has V(V − 1) argmax units (within V²), but also, in SHIFT\'s ' +
    'MLP, V units that clear the logits and N = n + m lookup units that write θ_PE(i) back, and in the decode layers ' +
    '2 units per direction cleared (the source\'s d and the scratch), which the paper overwrites inside its 5 ReLU ' +
    'layers: above V² when n + m or d is large against V².',
  verifyAt: [
    { params: {} },
    { params: { variant: 'no-masks' } },
    // Seed 45 at n = 4, m = 2 has prompts whose CoT margin lies in [2^−5, 2^−3) and breaks lockstep
    // (tests/thm-5-4.test.ts): a threshold looser than 2^−s lets them into the sample, and this fails.
    { params: { n: '4', m: '2', seed: '45' } },
    // The least bits for n + m = 8: the counter of variant (b) wraps in loop m, so lockstep reads the wrap count.
    { params: { n: '4', m: '4', bits: '3' } },
    { params: { n: '4', m: '4', bits: '3', variant: 'no-masks' } },
    // n + m = 6 positions against codes for 2^2 = 4: positions 4 and 0 (5 and 1) share a code.
    { params: { attention: 'softmax' } },
    { params: { attention: 'softmax', variant: 'no-masks' } },
    { params: { variant: 'erratum-5' }, fails: 'erratum 5: position codes of a constant size (2 bits) alias positions once n + m > 4; the θ_PE lookup and SHIFT read the wrong position' },
    { params: { variant: 'erratum-6' }, fails: 'erratum 6: a comparator reading the codes most significant bit first beside an increment counting least significant first gives the wrong mask' },
  ],
  build: buildThm54,
});
