// Theorem 5.4 (= B.5), variant (a) with explicit loop masks (Def. B.4): m steps of greedy CoT of
// any L-layer decoder in m loops of one block — as a compiler.
//
// Variant (b), without masks, is proofs/thm-5-4/unmasked.ts; the steps both build (state, embedding,
// source layers, readout, decode–encode, SHIFT) are proofs/thm-5-4/compiler.ts. This module keeps
// variant (a), what checks both (lockstepRows, cotPrecondition, withSoftmaxShift, …) and the
// registered construction `thm-5.4`, whose parameter `variant` picks masks (a) or no-masks (b).
//
// SOURCE. A decoder: every head causal, readout 'last', no loop masks; its stages unroll to depth
// L (a Layer object listed twice runs twice; the block below lists it twice, sharing it). Width d
// under the source's own subspace names, vocabulary Σ (|Σ| = V), position embedding θ_PE for at
// least the n + m − 1 positions its CoT reads.
//
// THE LOOPED MODEL reads (v, #^m): n prompt tokens, then m new tokens # (N = n + m positions).
// THE STATE at position i (0-based), width d + 2s + 1 + 4V, s = ⌊log2(n + m)⌋ + 1 bits by default:
//     <source parts> (d)   the source residual stream
//     pos    (s)   sbin(i)                        (position embedding; never written)
//     prev   (s)   sbin(max(i − 1, 0))            (position embedding; never written)
//     one    (1)   the constant 1                 (position embedding; never written)
//     tok    (V)   the one-hot of the token held at i (0 for #): what the readout reads
//     logits (V)   scratch: ℓ = x·W_U, then the one-hot of its argmax; 0 between loops
//     onehot (V), sums (V)   scratch of Lemma B.6/B.7; 0 between loops
// The embedding of (token v, position i) — the state the block must leave at every position it
// fixes — is source θ_TE(v) + θ_PE(i) on the source parts, e_v on tok, the codes, scratch 0 (# is
// 0 on the source parts and on tok; θ_PE(i) is 0 where i is beyond the source's positions).
//
// ONE BLOCK, L + 5 layers, looped m times with the mask of loop t
//     M^t(i) = 1[i − t ≥ n] (1-indexed)  =  `i + 1 - t >= n` (0-based i): positions ≥ n + t − 1
//     (0-based) take the block's output, the others keep their state (Def. B.3);
//   layers 0..L−1   the source's layers, weights copied onto the source parts (they read and
//                   write nothing else);
//   layer L         MLP, units readout.pos/neg (2V): relu(±⟨x, U_v⟩) → logits = x·W_U exactly;
//   layers L+1..L+3 Lemma B.7 (proofs/gadgets/decode-embed.ts, writeDecodeEmbed) with the
//                   identity as θ_TE: logits ← one-hot of argmax ℓ, and the source parts and tok
//                   are CLEARED (set to 0);
//   layer L+4       SHIFT (Lemma B.9): the Lemma B.4 head (addOneHotHead, query prev, key pos)
//                   reads the one-hot in `logits` at position i − 1 and writes it into tok and,
//                   through W_O = θ_TE, the source token embedding into the source parts; its MLP
//                   clears `logits` (relu(ℓ_v), V units) and adds θ_PE(i) back to the source
//                   parts by a lookup on sbin(i): unit k is relu(⟨sbin(k), pos⟩ − (s − 1)·one) =
//                   1[i = k] (N units).
// So at every position the block leaves exactly the embedding of (what position i − 1 predicted,
// i) — including at positions whose prediction was tied (then the k-hot sum of the tied tokens'
// embeddings), which is harmless: those are later positions, recomputed before any is read.
//
// WHY IT SIMULATES (lockstep). Before loop t, positions 0..n+t−2 hold the embeddings of v and of
// CoT tokens 1..t−1. In loop t every position runs the block; position n+t−2 attends (causally)
// only to positions ≤ n+t−2, so its source part after layer L−1 is exactly the source's residual
// at the last position of the prefix of length n+t−1: its argmax is CoT token t, and SHIFT hands
// it to position n+t−1 (0-based), which the mask lets through (n+t−1 + 1 − t ≥ n), while the
// mask keeps every earlier position as it was. After loop t, position n+t−1 holds the embedding
// of CoT token t (the notes' "position n+t", 1-indexed); after loop m the last position does, and
// the readout (tok ↦ its token; # gets 0) answers TF^m(v).
//
// PRECONDITIONS (the property generator filters on them, and says so):
//   * no tie for the top logit at any CoT step, and more: the top logit exceeds every other by at
//     least 2^{−s} (Lemma B.6 on the grid 2^{−s}·Z; under exact arithmetic the logits of a hard-
//     attention model with integer weights are rationals, not on any fixed grid, so the margin is
//     what the argmax needs). With a tie greedy decoding is undefined (decodeCot reports it) and
//     the argmax net returns the sum of the tied one-hots;
//   * hard attention for exact checks (exact arithmetic refuses softmax);
//   * in F_s (fixed:s) every source value within ±B_s and the argmax needs s ≥ 2.
//
// SIZES: layers L + 5 (the claim: L + O(1)); heads max(H, 1) ≤ H + 1; width d + 2s + 1 + 4V. The
// proof's extra width is 3s (erratum 5: "constantly many" in the statement, 3s in the proof, with
// s = ⌊log(n+m)⌋ + 1 — it grows with log(n + m)); this variant needs no code of n + t (the mask
// is explicit), so 2s + 1, plus 4V of token and scratch directions that the paper's Lemma B.7
// leaves inside its MLP. MLP width max(source d_FF, V(V − 1), V + 2(d + 2V), V + N).
//
// SOFTMAX SOURCES. The source's layers are copied as they are, softmax heads and score scales
// included; the only head the compiler adds is SHIFT, hard (Lemma B.4 as hard attention), or as
// softmax (withSoftmaxShift): exactly one-hot in F_s at scale 1 (Lemmas B.1/B.2), in float64 only at
// a scale (float64ShiftScale: 2λB_s ≥ 746, where e^{−2λB_s} underflows to 0). Then the looped model
// runs the source's softmax in the decoder's own arithmetic on the same states (lockstep holds bit
// for bit in float64 and F_s), and the margin precondition is the same: the top-two logit margin
// ≥ 2^{−s}, measured by the decoder in that arithmetic. Softmax weights enter only through the
// source's heads into the logits. Exact arithmetic refuses softmax, so the registered construction
// with attention=softmax takes the decoder's float64 CoT as its reference and float64 as its first
// check (where lockstep runs, comparing doubles for equality); tests/thm-5-4-softmax.test.ts checks
// softmax decoders under float64 and fixed:s (properties/thm-5-4.ts thm54SoftmaxProperty). In F_s
// the source must be representable not only on its CoT but on every state the block gives it: the
// block runs the source's layers at the #s too, where a source softmax can round every exp(score)
// to 0 (a NumericError) although the decoder's CoT never does.
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
import fc from 'fast-check';
import { InputError, NumericError, UnsupportedError, UsageError } from '../common/errors.ts';
import { decodeCot, type CotResult } from '../simulators/cot.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, modelSizes, paddedInput } from '../simulators/model.ts';
import { type Rational, type Scalar, parseRational, rationalToNumber, toRational } from '../simulators/rational.ts';
import type { RunResult } from '../simulators/result.ts';
import { bitsFor, sbin } from './codes.ts';
import { type Built, type ClaimedSizes, type Construction, type ParamSpec, type Params, type SizeRow, compareSizes } from './construction.ts';
import { intParam } from './gadgets/lemma-b4.ts';
import { type Thm54Compiled, type Thm54Options, type Thm54Variant, THM54_VARIANTS, positionBits, addDecodeLayers, addReadoutLayer, addShiftLayer, finishThm54, sourceParts, startThm54 } from './thm-5-4/compiler.ts';
import { randomDecoder } from './thm-5-4/random-decoder.ts';
import { type Thm54UnmaskedOptions, compileThm54Unmasked } from './thm-5-4/unmasked.ts';
import { assertJsonDepth } from '../common/json-depth.ts';

export { type Thm54Compiled, type Thm54Names, type Thm54Options, type Thm54Scope, type Thm54Variant, THM54_VARIANTS, analyseDecoder, positionBits } from './thm-5-4/compiler.ts';
export { GATE_BITS, type Thm54UnmaskedOptions, compileThm54Unmasked } from './thm-5-4/unmasked.ts';

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

// ---------------------------------------------------------------- the compiler

export function compileThm54(source: Model, options: Thm54Options): Thm54Compiled {
  const d = startThm54(source, options, {
    variant: 'masks',
    name: (k) => `${k.source.name} CoT in ${k.m} loops (Theorem 5.4a, n=${k.n})`,
    describe: (k) =>
      `Theorem 5.4, variant (a): ${k.m} greedy CoT steps of "${k.source.name}" (depth ${k.L}) on a prompt of ${k.n} tokens, as a block of ` +
      `${k.L + 5} layers looped ${k.m} times on (v, ${k.start}^${k.m}) with the loop masks M^t(i) = 1[i − t ≥ n]; s = ${k.s} bits`,
  });
  const { names, n } = d;
  // Layer L: ℓ = x·W_U into logits.
  addReadoutLayer(d);
  // Layers L+1..L+3: Lemma B.7 — logits ← one-hot(argmax ℓ); source parts and tok cleared.
  addDecodeLayers(d, [...sourceParts(d), names.tok, names.logits]);
  // Layer L+4: SHIFT into tok and, through θ_TE, the source parts; then clear the scratch and add θ_PE(i) back.
  addShiftLayer(d, {
    to: names.tok,
    embedding: true,
    role: 'SHIFT (Lemma B.9): position i receives the token position i − 1 predicted; θ_PE(i) re-added',
    headRole: 'copies the argmax one-hot of position i − 1 into tok, and its source embedding θ_TE into the source parts',
  });
  return finishThm54(d, { expr: `i + 1 - t >= ${n}`, describe: `M^t(i) = 1[i − t ≥ ${n}] (1-indexed): positions ≥ n + t are recomputed in loop t` });
}

/** Either variant: (a) with loop masks (compileThm54), (b) without (compileThm54Unmasked). */
export function compileThm54Variant(source: Model, options: Thm54UnmaskedOptions & { variant?: Thm54Variant }): Thm54Compiled {
  const variant = options.variant ?? 'masks';
  if (!THM54_VARIANTS.includes(variant)) throw new UsageError(`Theorem 5.4: the variant must be one of ${THM54_VARIANTS.join(', ')}, got "${String(variant)}"`);
  if (variant === 'masks') {
    if (options.gateBits !== undefined) throw new UsageError('Theorem 5.4: gateBits is for variant no-masks (variant masks has no gate)');
    if (options.comparatorBitOrder !== undefined || options.incrementBitOrder !== undefined) {
      throw new UsageError('Theorem 5.4: comparatorBitOrder and incrementBitOrder (erratum 6) are for variant no-masks (variant masks has no comparator or counter)');
    }
    return compileThm54(source, options);
  }
  return compileThm54Unmasked(source, options);
}

// ---------------------------------------------------------------- running and checking

/** (v, #^m): the looped model's input for a prompt of exactly n source tokens. */
export function withPads(c: Thm54Compiled, prompt: readonly number[]): number[] {
  if (prompt.length !== c.n) throw new InputError(`the looped model was compiled for prompts of n = ${c.n} tokens; got ${prompt.length}`);
  prompt.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= c.source.vocab.dim) throw new InputError(`prompt token ${t} at position ${i} is not a source token (0..${c.source.vocab.dim - 1})`);
  });
  return paddedInput(c.model, prompt);
}

/** Greedy CoT of the source (TF^m), under `interpreter`. */
export function cotOf(c: Thm54Compiled, prompt: readonly number[], interpreter = 'exact'): CotResult {
  return decodeCot(interpreterByName(interpreter), c.source, prompt, c.m);
}

/** The precondition of the theorem on one prompt: every CoT step's top logit beats the others by ≥ 2^{−s}. */
export function cotPrecondition(c: Thm54Compiled, cot: CotResult): { ok: boolean; why: string } {
  if (cot.tieAt !== null) return { ok: false, why: `CoT step ${cot.tieAt} has a tie for the top logit` };
  const need = 2 ** -c.s;
  const k = cot.steps.findIndex((r) => r.margins.logit < need);
  if (k >= 0) return { ok: false, why: `CoT step ${k + 1}: top-two logit margin ${cot.steps[k].margins.logit} < 2^-${c.s}` };
  return { ok: true, why: `every CoT step has a top-two logit margin ≥ 2^-${c.s}` };
}

/** The looped model's embedding of (token, position) as exact values: the state the block must leave. */
export function embeddingRow(model: Model, token: number, position: number): Rational[] {
  const row = new Array<Rational>(model.residual.dim).fill(toRational(0));
  for (const e of model.W_E.rowsSparse()[token]) row[e.col] = row[e.col].add(e.exact);
  for (const e of model.W_pos.rowsSparse()[position]) row[e.col] = row[e.col].add(e.exact);
  return row;
}

/**
 * The state position `position` must hold after loop `loop` when it holds `token`: the embedding
 * of (token, position), except variant (b)'s counter, which the block advances once a loop at
 * every position: sbin(n + loop) (mod 2^s), with the wraps counted in `wrap`. For variant (a), and
 * for loop 0, it is embeddingRow.
 */
export function stateAfterLoop(c: Thm54Compiled, token: number, position: number, loop: number): Rational[] {
  const row = embeddingRow(c.model, token, position);
  if (c.names.counter !== undefined) {
    const value = c.n + loop;
    const at = c.model.residual.range(c.names.counter).offset;
    sbin(value, c.s, { wrap: true }).forEach((b, k) => (row[at + k] = toRational(b)));
    if (c.names.wrap !== undefined) row[c.model.residual.range(c.names.wrap).offset] = toRational(Math.floor(value / 2 ** c.s));
  }
  return row;
}

export interface Thm54LockstepRow {
  loop: number;
  /** The tokens positions 0..n+t−1 should hold: v, then CoT tokens 1..t. */
  expected: number[];
  /** The tokens they hold (the readout of tok), null where the state is not exactly the one stateAfterLoop prescribes. */
  got: (number | null)[];
  ok: boolean;
}

/**
 * Lockstep from a traced exact run: after loop t the state at every position 0..n+t−1 is EXACTLY
 * the looped model's embedding of (v, CoT_1..CoT_t) there — the prompt frozen, position n+t−1
 * (the notes' n+t, 1-indexed) holding CoT token t — with, in variant (b), the counter at
 * sbin(n + t) (stateAfterLoop).
 */
export function lockstepRows(c: Thm54Compiled, prompt: readonly number[], run: RunResult, cot: readonly number[]): Thm54LockstepRow[] {
  if (!run.trace) throw new Error("lockstep needs a run with { trace: 'loops' } (or true)");
  const rows: Thm54LockstepRow[] = [];
  for (let t = 1; t <= c.m; t++) {
    const snap = run.trace.afterLoop(t);
    const expected = [...prompt, ...cot.slice(0, t)];
    const got = expected.map((tok, i) => {
      const want = stateAfterLoop(c, tok, i, t);
      // exact and fixed:s traces carry exact values; a float trace only doubles. The states prescribed
      // are small dyadic rationals (integer weights, ±1 codes), exact in a double, so a float state is
      // compared for EQUALITY too: the float64 looped model must land on them bit for bit.
      const same = snap.exact
        ? snap.exact[i].map((x) => parseRational(x)).every((x, k) => x.equals(want[k]))
        : snap.values[i].every((x, k) => x === rationalToNumber(want[k]));
      return same ? tok : null;
    });
    rows.push({ loop: t, expected, got, ok: got.every((x, i) => x === expected[i]) });
  }
  return rows;
}

/**
 * The same model with the SHIFT head as softmax (score scale `scale`, default 1), every source head
 * unchanged: Lemma B.4 makes its weights exactly one-hot in F_s (fixed:s) at scale 1 — the winning
 * score is 0 and every other ≤ −2B_s, and exp(−B_s) rounds to 0 (Lemma B.1) — so under fixed:s
 * this model computes what the hard-attention one does. In float64 scale 1 is NOT one-hot (the
 * losers keep weight e^{−2B_s} > 0); float64ShiftScale(s) is a scale at which it is. Weights are shared.
 */
export function withSoftmaxShift(model: Model, scale: Scalar = 1): Model {
  const k = toRational(scale);
  return {
    ...model,
    stages: model.stages.map((st) => ({
      ...st,
      layers: st.layers.map((l) => (l.heads.some((h) => h.name === 'shift') ? { ...l, heads: l.heads.map((h) => (h.name === 'shift' ? { ...h, kind: 'softmax' as const, scale: k } : h)) } : l)),
    })),
  };
}

/**
 * The least power of two λ at which the SHIFT head, as softmax, is EXACTLY one-hot in float64:
 * the float64 softmax subtracts the top score (0 here), and every other score is ≤ −2λB_s; exp of
 * anything below −745.2 underflows to 0 in a double (the least subnormal is 2^−1074 ≈ e^−744.4), so
 * 2λB_s ≥ 746 makes every losing weight 0 and the winner's 1/1. (The codes' bits s set B_s = 2^s − 2^−s.)
 */
export function float64ShiftScale(s: number): number {
  const B = 2 ** s - 2 ** -s;
  let lambda = 1;
  while (2 * lambda * B < 746) lambda *= 2;
  return lambda;
}

/** Sizes built beside the claim. */
export function thm54Sizes(c: Thm54Compiled): SizeRow[] {
  return compareSizes(cotLoops, { scope: c.scope, bits: c.s }, modelSizes(c.model));
}

// ---------------------------------------------------------------- the registered construction

/** The `variant` parameter of thm-5.4 and of the cot-… task constructions. */
export const THM54_VARIANT_PARAM: ParamSpec = {
  name: 'variant',
  describe: 'masks: variant (a), explicit loop masks M^t; no-masks: variant (b), no mask — comparator, counter and gate (Lemmas B.8, B.10, B.11) inside the block',
  default: 'masks',
  kind: 'text',
  forms: THM54_VARIANTS.join(', '),
};

/**
 * The variants of the registered thm-5.4 only: (a), (b), and the two erratum builds, which must
 * fail (see ERRATA in the header). The cot-… tasks keep THM54_VARIANT_PARAM (masks, no-masks).
 */
export const THM54_REGISTERED_VARIANTS = [...THM54_VARIANTS, 'erratum-5', 'erratum-6'] as const;
export type Thm54RegisteredVariant = (typeof THM54_REGISTERED_VARIANTS)[number];

/** The constant code size of variant erratum-5 when `codes` is auto: 2 bits, codes for 4 positions. */
export const ERRATUM5_CODE_BITS = 2;

const REGISTERED_VARIANT_PARAM: ParamSpec = {
  ...THM54_VARIANT_PARAM,
  describe:
    `${THM54_VARIANT_PARAM.describe}; erratum-5: variant (a) with position codes of a constant size (parameter codes), as the statement's ` +
    '"constantly many" extra dimensions — fails once n + m > 2^codes; erratum-6: variant (b) with the comparator (Lemma B.11) reading the codes ' +
    'most significant bit first and the increment (Lemma B.10) least significant first — fails',
  forms: THM54_REGISTERED_VARIANTS.join(', '),
};

/** The `variant` parameter read and checked, the error naming the construction. */
export function variantParam(id: string, params: Params): Thm54Variant {
  const variant = String(params.variant ?? 'masks');
  if (!(THM54_VARIANTS as readonly string[]).includes(variant)) throw new UsageError(`parameter variant of ${id} must be one of ${THM54_VARIANTS.join(', ')}, got "${variant}"`);
  return variant as Thm54Variant;
}

const PARAMS: ParamSpec[] = [
  { name: 'layers', describe: 'L: depth of the random source decoder', default: '2', kind: 'int', min: 1, max: 8 },
  { name: 'width', describe: 'd: source residual width', default: '3', kind: 'int', min: 1, max: 16 },
  { name: 'heads', describe: 'H: heads per source layer', default: '1', kind: 'int', min: 0, max: 4 },
  { name: 'hidden', describe: 'source MLP width (0: none)', default: '2', kind: 'int', min: 0, max: 16 },
  { name: 'vocab', describe: '|Σ|: source vocabulary', default: '3', kind: 'int', min: 2, max: 8 },
  { name: 'n', describe: 'prompt length', default: '3', kind: 'int', min: 1, max: 32 },
  { name: 'm', describe: 'CoT steps = loops', default: '3', kind: 'int', min: 1, max: 32 },
  { name: 'seed', describe: 'seed of the random source decoder', default: '1', kind: 'int', min: 0, max: 2 ** 31 - 1 },
  {
    name: 'attention',
    describe: 'the random decoder\'s heads: hard (checked exact, then fixed:s) or softmax (scales 1, 2, 1/2; checked in float64, bit for bit, then fixed:s)',
    default: 'hard',
    kind: 'text',
    forms: 'hard, softmax',
  },
  REGISTERED_VARIANT_PARAM,
  {
    name: 'codes',
    describe: `variant erratum-5 only: the constant number of bits of the position codes (auto = ${ERRATUM5_CODE_BITS}); the codes tell apart 2^codes positions`,
    default: 'auto',
    kind: 'text',
    forms: 'auto, or a whole number 1..8 (at most the bits s)',
  },
  {
    name: 'bits',
    describe:
      's: bits of the position codes, of the argmax grid 2^−s and of variant (b)\'s counter; auto = ⌊log2(n + m)⌋ + 1, the proof\'s. ' +
      'The least, ⌈log2(n + m)⌉, makes the counter wrap in loop m when n + m is a power of two',
    default: 'auto',
    kind: 'text',
    forms: 'auto, or a whole number ⌈log2(n + m)⌉..26',
  },
];

/** The `bits` parameter: undefined for auto (the compiler's ⌊log2(n + m)⌋ + 1). */
function bitsParam(params: Params, n: number, m: number): number | undefined {
  const text = String(params.bits ?? 'auto').trim();
  if (text === 'auto') return undefined;
  const least = bitsFor(n + m);
  const v = Number(text);
  if (!/^\d+$/.test(text) || v < least || v > 26) {
    throw new UsageError(`parameter bits of ${ID} must be auto or a whole number in ${least}..26 (the codes of n + m = ${n + m} positions must differ), got "${text}"`);
  }
  return v;
}

/** Compiler options of a registered variant; `codes` is checked here (erratum-5 only). */
function registeredVariantOptions(variant: Thm54RegisteredVariant, params: Params, s: number): Omit<Thm54UnmaskedOptions, 'n' | 'm'> & { variant: Thm54Variant } {
  const codes = String(params.codes ?? 'auto').trim();
  if (codes !== 'auto' && variant !== 'erratum-5') throw new UsageError(`parameter codes of ${ID} is for variant erratum-5 (the other variants' codes have the proof's s bits), got codes=${codes} with variant=${variant}`);
  if (variant === 'erratum-5') {
    const k = codes === 'auto' ? Math.min(ERRATUM5_CODE_BITS, s) : Number(codes);
    if (!/^\d+$/.test(codes === 'auto' ? '1' : codes) || k < 1 || k > 8 || k > s) {
      throw new UsageError(`parameter codes of ${ID} must be auto or a whole number in 1..${Math.min(8, s)} (at most the bits s = ${s}), got "${codes}"`);
    }
    return { variant: 'masks', codeBits: k };
  }
  if (variant === 'erratum-6') return { variant: 'no-masks', comparatorBitOrder: 'msb-first', incrementBitOrder: 'lsb-first' };
  return { variant };
}

/**
 * Prompts sampled once (seed 0) to check that the decoder meets the margin condition on some
 * prompt at all, and the fallback a draw lands on when its own neighbourhood has none.
 */
const PRECONDITION_SAMPLE = 400;
/** How many prompts after a drawn one (in lexicographic order) a draw looks through for one that meets the condition. */
const PRECONDITION_SCAN = 2000;

export interface Thm54Output {
  answer: number | null;
}

export function buildThm54(params: Params): Built<number[], Thm54Output> {
  const num = (k: string) => {
    const p = PARAMS.find((x) => x.name === k)!;
    return intParam(ID, params, k, p.min!, p.max!);
  };
  const n = num('n');
  const m = num('m');
  const attention = String(params.attention ?? 'hard');
  if (attention !== 'hard' && attention !== 'softmax') throw new UsageError(`parameter attention of ${ID} must be hard or softmax, got "${attention}"`);
  // Softmax sources: exact arithmetic refuses softmax, so the reference is the decoder's float64 CoT
  // and the first check (where lockstep runs) is float64 — bit-exact, see SOFTMAX SOURCES above.
  const refName = attention === 'hard' ? 'exact' : 'float64';
  const source = randomDecoder({
    layers: num('layers'),
    distinct: num('layers'),
    width: num('width'),
    heads: num('heads'),
    hidden: num('hidden'),
    vocab: num('vocab'),
    maxLen: n + m - 1,
    seed: num('seed'),
    attention,
  });
  const registered = String(params.variant ?? 'masks');
  if (!(THM54_REGISTERED_VARIANTS as readonly string[]).includes(registered)) {
    throw new UsageError(`parameter variant of ${ID} must be one of ${THM54_REGISTERED_VARIANTS.join(', ')}, got "${registered}"`);
  }
  const s = bitsParam(params, n, m);
  const c = compileThm54Variant(source, { n, m, s, ...registeredVariantOptions(registered as Thm54RegisteredVariant, params, s ?? positionBits(n, m)) });
  const V = source.vocab.dim;
  const ref = interpreterByName(refName);
  const softShift = withSoftmaxShift(c.model);
  // A prompt is checked when the decoder's exact (softmax sources: float64) CoT meets the margin precondition AND the decoder
  // run in F_s (the paper's arithmetic, at the s the fixed:s check uses) emits the same CoT without a
  // tie: the theorem says the looped model in F_s is the decoder in F_s, and the reference here is the
  // exact CoT, so the fixed:s check is meaningful only where the two decoders agree (a random decoder's
  // own activations may round differently: seed 45 at n = 4, m = 2 on [0, 0, 0, 1] does).
  const memo = new Map<string, boolean>();
  const ok = (prompt: number[]) => {
    const key = prompt.join(',');
    let v = memo.get(key);
    if (v === undefined) {
      const cot = cotOf(c, prompt, refName);
      v = cotPrecondition(c, cot).ok && fsAgrees(prompt, cot.generated);
      memo.set(key, v);
    }
    return v;
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
    if (good.length === 0) {
      throw new UnsupportedError(
        `${ID}: the random decoder of seed ${num('seed')} ties (or has a top-two logit margin below 2^-${c.s}, or emits another CoT in fixed:${c.s}${attention === 'softmax' ? `, or has a softmax head whose every exp(score) rounds to 0 in fixed:${c.s}` : ''}) at some CoT step for every one of ${PRECONDITION_SAMPLE} sampled prompts, so Theorem 5.4 promises nothing on them; choose another seed`,
      );
    }
    return good;
  };
  // A fresh draw (verify's --seed and --samples pick them) moved to the first prompt at or after it,
  // in lexicographic order, that meets the precondition; after PRECONDITION_SCAN misses, to one of
  // the fixed sample's good prompts (chosen by the draw), so a draw always ends and always meets it.
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
  return {
    model: c.model,
    scope: c.scope,
    bits: c.s,
    encode: (prompt) => withPads(c, prompt),
    decode: (run) => ({ answer: run.answer }),
    reference: (prompt) => ({ answer: decodeCot(ref, source, prompt, m).answer }),
    equal: (a, b) => a.answer === b.answer,
    parseInput: (text) => {
      assertJsonDepth(text);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new InputError(`the input must be a JSON array of ${n} source tokens (no #: they are added); got ${JSON.stringify(text)}`);
      }
      if (!Array.isArray(value) || value.length !== n) throw new InputError(`the input must be a JSON array of exactly n = ${n} source tokens`);
      return value.map((t: unknown, i) => {
        const k = typeof t === 'string' ? source.vocab.labels.indexOf(t) : typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < V ? t : -1;
        if (k < 0) throw new InputError(`token ${JSON.stringify(t)} at position ${i} is not a source token (${source.vocab.labels.join(', ')})`);
        return k;
      });
    },
    formatAnswer: (o) => ({ answer: o.answer === null ? null : c.model.vocab.labels[o.answer] }),
    formatInput: (prompt) => JSON.stringify(prompt),
    // The precondition: prompts whose CoT has a top-two logit margin ≥ 2^{−s} at every step. Prompts
    // are drawn fresh (so `verify --seed S --samples K` draws K new ones from seed S) and each is moved
    // to the nearest one that meets the precondition (meetPrecondition: a filter could spin for ever on
    // a decoder whose CoT always ties). A decoder that meets it on none of PRECONDITION_SAMPLE sampled
    // prompts is refused at the first draw, with an error naming the seed.
    arbitrary: () => {
      goodPrompts();
      return fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: n, maxLength: n }).map(meetPrecondition);
    },
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

export const cotLoops: Construction<number[], Thm54Output> = {
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
};
