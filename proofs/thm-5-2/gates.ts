// Theorem 5.2's gate constants C, B, D and the bits sFs they need in F_s — the compiler's
// gatesFor stage (proofs/thm-5-2/compiler.ts), and fixedPointBits, the precision claim.
//
// THE GATE CONSTANTS C, B, D (bounded activations). The theorem assumes bounded activations; the
// compiler computes the bounds (proofs/thm-5-2/bounds.ts): interval arithmetic over the residual
// stream at every depth of the source, from the box of all token and position embeddings. Then
//   C  = the least power of two ≥ 1 + (1 + 2^−20)·(largest pre-activation of any unit of any
//        distinct layer at any depth, and any b_in),
//   B  = the least power of two ≥ 1 + (1 + 2^−20)·(M + g/|β|) over heads, M the largest |source
//        score| ⟨W_Q x, W_K y⟩, β the head's scale, g = 1 for hard heads and g = `softmaxGap` for
//        softmax heads: 800 by default, so that under float64 a softmax weight on the wrong side of
//        position 0 is below e^{−800}, which underflows to exactly 0; 27 with options.fixedPoint,
//        since e^{−27} < 2^{−27} rounds to 0 in F_s for every s ≤ 26 (fixed:s goes no further);
//   D  = the least power of two ≥ 1 + (1 + 2^−20)·(largest |source logit| + softmaxGap), or
//        without the gap under fixedPoint (F_s compares logits: # need only lose).
// Powers of two are exact in every number system. C and B can be given instead (options.C,
// options.B); a value below the derived one is reported as a warning, not corrected.
//
// PRECISION (F_s, the paper's fixed point; `bits`, the claim sFs). The paper states no precision
// for Theorem 5.2, so the claim is a per-source number the compiler derives (fixedPointBits): the
// fewest s at which the argument above holds in F_s with the gates as built. In F_s every value
// saturates at B_s = 2^s − 2^{−s} — weights too: A, B, C, D above B_s are stored as B_s. What
// saturating does, case by case (push gate; l ≤ L in every loop that attends):
//   · a running head's position 0 (−B·l, or −B_s) stays below its source scores if B_s > |β|·M;
//   · an idle head's position 0 scores sat(A) − 2B·l. Once A saturates that is B_s − 2B·l, which
//     must beat the other keys' score − B·l — B_s > B·L + M (hard) — and, for softmax, keep
//     exp ≠ 0 or the weights are 0/0 — 2^s ≥ 2B·L (then the other keys' exp(≤ −27) are 0 and
//     position 0 gets weight e/e = 1 exactly, whatever e is, saturated or not);
//   · a scale |β| > 1 multiplies after the dot product: both the idle head's position 0 and its
//     pushed keys can saturate at −B_s and tie unless β·(B_s − 2B·L) > −B_s;
//   · the # position's own query scores itself B_s − 2B·l or more, its other keys −B·l·w;
//   · the hats: −2·relu(l − j) reaches −2(L − 1), and a saturated middle unit leaves the mask
//     wrong (found by the property test: 6 − 7.875 + 4 at fixed:3), so B_s ≥ 3L + 2 with R ≥ 2;
//   · an idle layer's queries, keys, scores and pre-activations are partial sums the source never
//     forms: if one saturates (found by the property test: an idle unit's 81 stored as 63.98 at
//     fixed:6 lets the −C gate leave it at +1/64), the gates no longer bound it, so B_s must hold
//     every such partial sum, Σ|x|·|W| over the boxes (bounds.maxPartial);
//   · C, the counter and D: an idle unit's pre-activation saturating at −B_s stays ≤ 0,
//     and the # logit saturating at −B_s still loses to every source logit (> −B_s); the source's
//     own values must fit (B_s above its activations, logits, scores), and L + 1.
// sFs is the least s meeting all of these (fixedPointBits). How the registered construction checks
// it in F_s: proofs/thm-5-2/fixed-point.ts.
import { UsageError } from '../../common/errors.ts';
import { MAX_BITS } from '../../simulators/arithmetic/fixed.ts';
import type { AttentionKind, Model } from '../../simulators/model.ts';
import { type Rational, type Scalar, rationalToNumber, toRational } from '../../simulators/rational.ts';
import { type SourceBounds, safePowerOfTwo, sourceBounds } from './bounds.ts';
import type { SourceAnalysis, Thm52Compiled, Thm52Options } from './compiler.ts';

/** exp(−27) < 2^{−27}: a softmax weight pushed this far below rounds to 0 in F_s at every s ≤ 26. */
export const FIXED_POINT_GAP = MAX_BITS + 1;

export interface Thm52Gates {
  C: Rational;
  B: Rational;
  D: Rational;
  /** What the bounds give (null when they overflow and the gates were given). */
  derived: Thm52Compiled['derived'];
  warnings: string[];
  /** The fewest bits of F_s at which the gates hold (fixedPointBits). */
  bits: number;
}

/**
 * The gates: derived from the source's activation bounds (the softmax gap `gap`, none on the #
 * logit under fixedPoint), or as given — a given value below the derived one is a warning.
 */
export function gatesFor(source: Model, analysis: SourceAnalysis, options: Thm52Options, o: { gap: number; fixedPoint: boolean }): Thm52Gates {
  const { L, R } = analysis.scope;
  const { gap, fixedPoint } = o;
  const layers = analysis.distinct.map((x) => x.layer);
  let derived: Thm52Compiled['derived'] = null;
  try {
    const bounds = sourceBounds(source, analysis.schedule, layers);
    let B = 1;
    layers.forEach((l, k) =>
      l.heads.forEach((h, j) => {
        const beta = Math.abs(rationalToNumber(h.scale));
        B = Math.max(B, safePowerOfTwo(bounds.maxScore[k][j] + (h.kind === 'softmax' ? gap / beta : 1 / beta)));
      }),
    );
    derived = { C: safePowerOfTwo(bounds.maxPre), B, D: safePowerOfTwo(bounds.maxLogit + (fixedPoint ? 0 : gap)), bounds };
  } catch (e) {
    if (options.C === undefined || options.B === undefined || options.D === undefined) throw e;
  }
  const warnings: string[] = [];
  const pick = (given: Scalar | undefined, fallback: number | undefined, what: string): Rational => {
    if (given === undefined) return toRational(fallback!);
    const v = toRational(given);
    if (!(rationalToNumber(v) > 0)) throw new UsageError(`Theorem 5.2: ${what} must be positive, got ${v.toFraction()}`);
    if (fallback !== undefined && rationalToNumber(v) < fallback) {
      warnings.push(`${what} = ${v.toFraction()} is below the value ${fallback} the activation bounds call for; the simulation may fail`);
    }
    return v;
  };
  const C = pick(options.C, derived?.C, 'the MLP gate C');
  const B = pick(options.B, derived?.B, 'the attention gate B');
  const D = pick(options.D, derived?.D, 'the # logit factor D');

  // PRECISION: the fewest bits at which nothing the gates write saturates (see the header).
  const bits = fixedPointBits({
    L,
    R,
    B,
    bounds: derived?.bounds ?? null,
    heads: layers.flatMap((l, k) => l.heads.map((h, j) => ({ kind: h.kind, scale: rationalToNumber(h.scale), maxScore: derived?.bounds.maxScore[k][j] ?? 0 }))),
  });
  return { C, B, D, derived, warnings, bits };
}

/**
 * The fewest bits s at which the gate argument holds in F_s (the PRECISION paragraph of the
 * header derives each condition): with B_s = 2^s − 2^{−s},
 *   B_s ≥ every source value (activations, logits, scaled scores |β|·M), every partial sum an idle
 *     layer's head or unit forms (bounds.maxPartial + 1), L + 1 (the counter) and,
 *     where there are hats (R ≥ 2), 3L + 2 (their partial sums: −2·relu(l − j) must not saturate);
 *   B_s ≥ B·L + M_h + 1 for each hard head h where some layer is idle in some loop (R ≥ 2: an idle
 *     head's position 0, B_s − 2B·l once its weight A saturates, must beat its other keys,
 *     score − B·l), else B_s ≥ B·L + 1 (the # position's own query, for non-causal heads); and
 *     for a scale |β| > 1, B_s ≥ 2B·L·|β|/(1 + |β|) + 1, so that β·(B_s − 2B·l) stays above −B_s,
 *     where the pushed keys' scaled scores saturate (else they tie with position 0);
 *   2^s ≥ 2·B·L where a head is softmax (the # position's own score, B_s − 2B·l once A saturates,
 *     must not fall to where exp rounds to 0 — so the weight on # is not 0/0).
 * Everything else may saturate harmlessly (A itself, the gates on the negative side, C, the # logit).
 */
export function fixedPointBits(o: { L: number; R: number; B: Rational; heads: { kind: AttentionKind; scale: number; maxScore: number }[]; bounds: SourceBounds | null }): number {
  const B = rationalToNumber(o.B);
  const { L } = o;
  const idle = o.R >= 2;
  // The hats (R ≥ 2): units up to relu(l − j + 1) ≤ L + 1, the middle one doubled (−2·relu(l − j)),
  // then ±1 from each of at most L − 1 hats into one mask coordinate: partial sums ≤ 2(L + 1) + L.
  const hats = idle ? 3 * L + 2 : 0;
  // The partial sums of idle layers' heads and units (bounds.maxPartial): the source never forms them, so a saturation there is the compiled model's alone.
  const partial = (o.bounds?.maxPartial ?? 0) + 1;
  const source = Math.max(o.bounds?.maxActivation ?? 0, o.bounds?.maxLogit ?? 0, L + 1, hats, partial, ...o.heads.map((h) => Math.abs(h.scale) * h.maxScore));
  const hard = Math.max(
    0,
    ...o.heads
      .filter((h) => h.kind === 'hard')
      .map((h) => {
        const beta = Math.abs(h.scale);
        // After the scale: β·(B_s − 2B·L) must stay above −B_s, where the pushed keys saturate.
        return Math.max(B * L + (idle ? h.maxScore : 0) + 1, beta > 1 ? (2 * B * L * beta) / (1 + beta) + 1 : 0);
      }),
  );
  const soft = o.heads.some((h) => h.kind === 'softmax') ? 2 * B * L : 0;
  let s = 1;
  while (2 ** s - 2 ** -s < Math.max(source, hard) || 2 ** s < soft) s++;
  return s;
}
