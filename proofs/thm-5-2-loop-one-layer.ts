// Theorem 5.2: looping ONE layer L times simulates any L-layer model — as a compiler.
//
// SOURCE. Any model (stages of blocks, each looped; no loop masks) unrolls to depth L: depth t
// (t = 1..L) runs one Layer object. The R distinct Layer objects are numbered k = 0..R−1 in order
// of first appearance; r(t) is the number of the layer at depth t. A Layer listed twice (a looped
// stage, or the same object in two stages) is one distinct layer.
//
// THE STATE at position i of the compiled model, width d + R + 2:
//     x         (d)  the source's residual stream, under the source's own subspace names
//     inactive  (R)  1_R − e_{r(l)}: 1 for every distinct layer that does NOT run this loop
//     l         (1)  the depth of the layer this loop runs, counted from 1
//     first     (1)  1[i = 0]: 1 at the # position only
// The input is (#, v): position 0 holds the new token #, which embeds as x = 0; position i ≥ 1
// holds v_{i−1} with the source's token and position embeddings (position i−1 of the source).
// The position embedding sets inactive = 1_R − e_{r(1)} and l = 1 everywhere, and first at 0.
//
// ONE LAYER, looped L times; in loop t (l = t):
//   ATTENTION: one head per (distinct layer k, source head h), with h's W_Q, W_K, W_V, W_O, kind,
//     scale and causality, and two more query/key coordinates, the gate:
//         key extras    (1[j = 0], 1[j = 0])
//         query extras  (B(L+1)·(inactive_k + 1[i = 0]),  −B·l)
//     (the head's qk subspace "gate"), so for a query at i ≥ 1 the score of the key at position 0
//     (whose source part is 0: x_0 = 0) is
//         B(L+1)·inactive_k − B·l  (times the head's scale),
//     which is ≥ B when layer k does not run (inactive_k = 1, l ≤ L) and ≤ −B when it does; every
//     other key keeps its source score, and B exceeds every source score. An inactive head
//     therefore puts all its weight on position 0, whose value is 0 — it adds nothing; an active
//     head never looks at position 0 — it computes exactly the source head (hard attention's tied
//     best keys are the same set; softmax's weight on position 0 underflows to 0, see B below).
//     This is the notes' fix for erratum 3, "query extras (+B·[inactive], −B·[active]) against key
//     extras (1[i=0], 1[i=0])", with one change forced by the state: it has no constant direction,
//     so −B·[active] = −B·(1 − inactive_k) is not a linear map of it. The depth counter stands in
//     for the constant: l ≥ 1 in every loop, so −B·l ≤ −B, and weighting the inactive coordinate by
//     B(L+1) instead of B keeps the inactive score B(L+1) − B·l ≥ B. The + B(L+1)·1[i = 0] term
//     sends the # position's own query to itself (it matters for non-causal heads only), so x_0
//     stays 0 for good.
//   MLP: all R source MLPs side by side (unit groups L0, L1, …, with the source weights), each
//     unit's pre-activation shifted by −C·(inactive_k + 1[i = 0]); C is above every pre-activation
//     any unit can see, so only layer r(l)'s units fire, and none at position 0. Then
//       L<k>.b_out  one unit per layer with an output bias: relu(1 − inactive_k − 1[i = 0]) is 1
//                   exactly when layer k runs (and not at #), and writes the source b_2. (Putting
//                   the R MLPs side by side as the paper says would add EVERY layer's b_2 in every
//                   loop; this is the price of gating it: at most R units.)
//       count       relu(1) → l ← l + 1.
//       hat<j>      for each depth j < L with r(j) ≠ r(j+1): the hat
//                       relu(l − j + 1) − 2·relu(l − j) + relu(l − j − 1)  =  1[l = j]  on integers,
//                   three units, written as +1 into inactive_{r(j)} and −1 into inactive_{r(j+1)}:
//                   the one-hot of the next layer. Depths where the next layer is the same one need
//                   no hat, so the count is at most L − 1 (R = 1: none).
//   After loop L the state still selects r(L): extra loops would run that layer again (Theorem 5.2
//   promises the output after exactly L loops, not a fixed point).
//
// READOUT: the source's W_U on x, so every source token's logit is the source's logit — exactly,
// under exact arithmetic. The new token # gets the logit −D·l = −D·(L + 1), D above every source
// logit, so it is never the argmax, and under float64 its softmax probability underflows to 0: the
// output distribution over the source vocabulary is the source's. With readout 'all' the compiled
// model reads one more position, 0 (the #), which is not the source's and is dropped; there x = 0
// and 1[i = 0]·(D(L+1) + 1) lifts the # logit to 1, so position 0 answers # rather than a tie.
//
// THE GATE CONSTANTS C, B, D (bounded activations). The theorem assumes bounded activations; the
// compiler computes the bounds (proofs/thm-5-2/bounds.ts): interval arithmetic over the residual
// stream at every depth of the source, from the box of all token and position embeddings. Then
//   C  = the least power of two ≥ 1 + (1 + 2^−20)·(largest pre-activation of any unit of any
//        distinct layer at any depth, and any b_in),
//   B  = the least power of two ≥ 1 + (1 + 2^−20)·(M + g/|β|) over heads, M the largest |source
//        score| ⟨W_Q x, W_K y⟩, β the head's scale, g = 1 for hard heads and g = `softmaxGap`
//        (default 800) for softmax heads, so that under float64 a softmax weight on the wrong
//        side of position 0 is below e^{−800}, which underflows to exactly 0;
//   D  = the least power of two ≥ 1 + (1 + 2^−20)·(largest |source logit| + softmaxGap).
// Powers of two are exact in every number system. C and B can be given instead (options.C,
// options.B); a value below the derived one is reported as a warning, not corrected.
//
// SIZES: width d + R + 2 (as claimed); heads Σ_k H_k ≤ R·H (as claimed); head size d_ATTN + 2
// (the fix's two gate coordinates — the claim says d_ATTN); MLP width Σ_k d_FF(k) + (#layers with
// b_2 ≠ 0) + 1 + 3·(#hats) ≤ R·d_FF + R + 3(L − 1) + 1, against the claim R·d_FF + O(L), taken
// here as R·d_FF + 3L + 1 (a hat of three ReLUs per depth and one increment unit, the notes'
// accounting).
//
// ERRATA (variant):
//   erratum-3  the attention extras that "do not send inactive heads to position 0" (the notes),
//              built as the gate with its signs swapped, +B·[active] and −B·[inactive]: query
//              extras (−B(L+1)·(inactive_k + 1[i=0]), +B·l). Inactive heads then attend as the
//              source head would, adding a layer that is not running, and active heads attend to
//              position 0 and add nothing.
//   erratum-4  the hat with the printed factor 0.5: 0.5·(relu(x+1) − 2relu(x) + relu(x−1)) is 1/2 at
//              x = 0, so after the first change of layer the mask holds halves: the gates −C/2 and
//              B(L+1)/2 − B·l no longer switch layers off (or on).
// tests/thm-5-2.test.ts finds a shrunk counterexample for each next to the corrected build.
import fc from 'fast-check';
import { InputError, UnsupportedError, UsageError } from '../simulators/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { LabeledMatrix } from '../simulators/matrix.ts';
import { type AttentionKind, type Head, type Layer, type Model, addStage, createHead, createLayer, createMlp, createModel, modelSizes, validateModel } from '../simulators/model.ts';
import { type Rational, type Scalar, rationalToNumber, toRational } from '../simulators/rational.ts';
import type { RunResult } from '../simulators/result.ts';
import type { Space, SubspaceSpec } from '../simulators/space.ts';
import { type Built, type Check, type ClaimedSizes, type Construction, type ParamSpec, type Params, type SizeRow, compareSizes } from './construction.ts';
import { type SourceBounds, safePowerOfTwo, sourceBounds } from './thm-5-2/bounds.ts';
import { randomSource } from './thm-5-2/random-source.ts';
import { assertJsonDepth } from '../simulators/json-depth.ts';

const ID = 'thm-5.2';

export const VARIANTS = ['corrected', 'erratum-3', 'erratum-4'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_DESCRIPTIONS: Record<Variant, string> = {
  corrected: 'corrected: inactive heads score +B at position 0, active heads −B; hat without the factor 0.5',
  'erratum-3': 'as printed, erratum 3: the gate signs swapped (+B·[active], −B·[inactive]): inactive heads do not go to position 0',
  'erratum-4': 'as printed, erratum 4: the hat carries a factor 0.5, so the layer mask holds halves after a change of layer',
};

export interface Thm52Options {
  variant?: Variant;
  /** The MLP gate (default: derived from the source's activation bounds). */
  C?: Scalar;
  /** The attention gate (default: derived from the source's score bounds). */
  B?: Scalar;
  /** The # logit is −D·(L + 1) (default: derived from the logit bound). */
  D?: Scalar;
  /** How far (in score units) softmax weights on the wrong side of position 0 are pushed: e^{−gap} (default 800: underflows in float64). */
  softmaxGap?: number;
  /** The token added at position 0 (default "#"); an error if the source vocabulary has it. */
  startToken?: string;
  name?: string;
}

/** The numbers the size formulas are evaluated in. */
export interface Thm52Scope {
  d: number;
  R: number;
  L: number;
  H: number;
  dFF: number;
  dATTN: number;
  [key: string]: number;
}

export interface DistinctLayer {
  /** k, the number of the layer in the compiled model (L<k> units, L<k>.<head> heads). */
  index: number;
  layer: Layer;
  /** Where it first appears in the source. */
  stage: number;
  position: number;
  /** The depths (1-based) at which it runs. */
  depths: number[];
}

export interface SourceAnalysis {
  /** The Layer at depth t is schedule[t − 1]. */
  schedule: Layer[];
  /** r(t) = r[t − 1], the distinct number of the layer at depth t. */
  r: number[];
  distinct: DistinctLayer[];
  /** For depth t: the source's global loop (1-based) and the layer within the block, as trace keys name them. */
  at: { loop: number; layer: number }[];
  scope: Thm52Scope;
}

export interface Thm52Compiled {
  model: Model;
  source: Model;
  variant: Variant;
  analysis: SourceAnalysis;
  scope: Thm52Scope;
  C: Rational;
  B: Rational;
  D: Rational;
  /** What the bounds give (null when they overflow and the gates were given). */
  derived: { C: number; B: number; D: number; bounds: SourceBounds } | null;
  warnings: string[];
  /** Index of # in the compiled vocabulary (the source tokens keep their indices). */
  startToken: number;
  names: { inactive: string; l: string; first: string };
  /** The hats built: the depth j of each transition r(j) → r(j + 1). */
  hats: number[];
}

export const CLAIMED: ClaimedSizes = {
  layersPerBlock: '1',
  loops: 'L',
  width: 'd + R + 2',
  // R·d_FF + O(L): the O(L) counted as the notes build it, a hat of 3 ReLUs per depth and one increment unit.
  mlpWidth: 'R*dFF + 3*L + 1',
  heads: 'R*H',
  headDim: 'dATTN',
};

// ---------------------------------------------------------------- the source

/** The unrolled schedule, the distinct layers and the scope; refuses what Theorem 5.2 does not cover. */
export function analyseSource(source: Model): SourceAnalysis {
  validateModel(source);
  const schedule: Layer[] = [];
  const at: { loop: number; layer: number }[] = [];
  const index = new Map<Layer, number>();
  const distinct: DistinctLayer[] = [];
  const r: number[] = [];
  let loop = 0;
  source.stages.forEach((stage, s) => {
    if (stage.mask !== null) {
      throw new UnsupportedError(`Theorem 5.2 compiles unmasked models, but stage ${s} of "${source.name}" has the loop mask "${stage.mask.expr}"`);
    }
    for (let t = 0; t < stage.loops; t++) {
      loop++;
      stage.layers.forEach((layer, l) => {
        let k = index.get(layer);
        if (k === undefined) {
          k = distinct.length;
          index.set(layer, k);
          distinct.push({ index: k, layer, stage: s, position: l, depths: [] });
        }
        schedule.push(layer);
        at.push({ loop, layer: l });
        r.push(k);
        distinct[k].depths.push(schedule.length);
      });
    }
  });
  for (const { layer, stage, position } of distinct) {
    for (const h of layer.heads) {
      if (h.scale.equals(0)) {
        throw new UnsupportedError(
          `Theorem 5.2 cannot compile stage ${stage}, layer ${position}, head '${h.name}': its scale is 0, so it averages every key, and the added # position would dilute it`,
        );
      }
    }
  }
  const layers = distinct.map((x) => x.layer);
  const heads = layers.flatMap((l) => l.heads);
  return {
    schedule,
    r,
    distinct,
    at,
    scope: {
      d: source.residual.dim,
      R: distinct.length,
      L: schedule.length,
      H: Math.max(0, ...layers.map((l) => l.heads.length)),
      dFF: Math.max(0, ...layers.map((l) => l.mlp?.hidden.dim ?? 0)),
      dATTN: Math.max(0, ...heads.map((h) => Math.max(h.qk.dim, h.ov.dim))),
    },
  };
}

// ---------------------------------------------------------------- helpers

/** `base`, or base with primes, whichever is not yet a subspace of `space` nor in `taken`. */
function fresh(space: Space, base: string, taken: readonly string[] = []): string {
  let name = base;
  while (space.has(name) || taken.includes(name)) name += "'";
  return name;
}

/**
 * Copies every entry of `src` into `dst`, whose row and column spaces extend src's (the same
 * subspaces at the same offsets, then more), shifted by the offsets of the subspaces named.
 */
function copyInto(dst: LabeledMatrix, src: LabeledMatrix, at: { rows?: string; cols?: string } = {}): void {
  const r0 = at.rows === undefined ? 0 : dst.rows.range(at.rows).offset;
  const c0 = at.cols === undefined ? 0 : dst.cols.range(at.cols).offset;
  // Without a named target, dst's directions start with src's (the same labels, then more).
  const fits = (outer: Space, inner: Space, offset: number, whole: boolean) =>
    whole ? inner.labels.every((x, i) => outer.labels[i] === x) : outer.dim >= offset + inner.dim;
  if (!fits(dst.rows, src.rows, r0, at.rows === undefined) || !fits(dst.cols, src.cols, c0, at.cols === undefined)) {
    throw new Error(`internal: ${dst.name} does not extend ${src.name}`);
  }
  src.rowsSparse().forEach((row, r) => {
    for (const e of row) dst.setAt(r0 + r, c0 + e.col, e.exact);
  });
}

const isNonzero = (m: LabeledMatrix) => m.nonzeroCount() > 0;

// ---------------------------------------------------------------- the compiler

export function compileThm52Info(source: Model, options: Thm52Options = {}): Thm52Compiled {
  const variant = options.variant ?? 'corrected';
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new UsageError(`Theorem 5.2: variant must be one of ${VARIANTS.join(', ')}, got "${String(variant)}"`);
  const a = analyseSource(source);
  const { L, R } = a.scope;
  const start = options.startToken ?? '#';
  if (source.vocab.labels.includes(start)) {
    throw new UnsupportedError(`Theorem 5.2 puts a new token "${start}" at position 0, but the vocabulary of "${source.name}" already has "${start}" (name another start token)`);
  }
  const gap = options.softmaxGap ?? 800;
  if (!(gap > 0) || !Number.isFinite(gap)) throw new UsageError(`Theorem 5.2: softmaxGap must be a positive number, got ${gap}`);

  // Gate constants.
  const layers = a.distinct.map((x) => x.layer);
  let derived: Thm52Compiled['derived'] = null;
  try {
    const bounds = sourceBounds(source, a.schedule, layers);
    let B = 1;
    layers.forEach((l, k) =>
      l.heads.forEach((h, j) => {
        const beta = Math.abs(rationalToNumber(h.scale));
        B = Math.max(B, safePowerOfTwo(bounds.maxScore[k][j] + (h.kind === 'softmax' ? gap / beta : 1 / beta)));
      }),
    );
    derived = { C: safePowerOfTwo(bounds.maxPre), B, D: safePowerOfTwo(bounds.maxLogit + gap), bounds };
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

  // Residual: the source's subspaces, then the three of the theorem.
  const inactive = fresh(source.residual, 'inactive');
  const lName = fresh(source.residual, 'l', [inactive]);
  const first = fresh(source.residual, 'first', [inactive, lName]);
  const where = (k: number) => `stage ${a.distinct[k].stage}, layer ${a.distinct[k].position}`;
  const residual = source.residual.extend({
    [inactive]: {
      size: R,
      labels: a.distinct.map((_, k) => `${inactive}[L${k}]`),
      describe: `1_R − e_{r(l)}: 1 for every distinct layer not running this loop (${a.distinct.map((x) => `L${x.index} = source ${where(x.index)}`).join('; ') || 'none'})`,
    },
    [lName]: { size: 1, describe: 'l: the depth (1-based) of the source layer this loop runs; L + 1 after the last loop' },
    [first]: { size: 1, describe: '1[i = 0]: 1 at the # position only' },
  });
  const V = source.vocab.dim;
  const model = createModel({
    name: options.name ?? `${source.name} looped (Theorem 5.2${variant === 'corrected' ? '' : `, ${variant}`})`,
    description:
      `Theorem 5.2: one layer looped ${L} times simulating "${source.name}" (depth ${L}, ${R} distinct layers) on input (${start}, v); ` +
      `gates C = ${C.toFraction()}, B = ${B.toFraction()}, D = ${D.toFraction()}` +
      (variant === 'corrected' ? '' : `; ${VARIANT_DESCRIPTIONS[variant]}`),
    vocab: [...source.vocab.labels, start],
    residual,
    maxLen: source.positions.dim + 1,
    readout: source.readout,
  });
  const startIndex = V;

  // Embedding: # ↦ 0; position p ≥ 1 ↦ the source's position p − 1; the control state everywhere.
  copyInto(model.W_E, source.W_E);
  copyInto(model.W_U, source.W_U);
  source.W_pos.rowsSparse().forEach((row, p) => {
    for (const e of row) model.W_pos.setAt(model.positions.index('positions', p + 1), e.col, e.exact);
  });
  for (let p = 0; p < model.positions.dim; p++) {
    const pos = ['positions', p] as const;
    for (let k = 0; k < R; k++) model.W_pos.set(pos, [inactive, k], k === a.r[0] ? 0 : 1);
    model.W_pos.set(pos, lName, 1);
  }
  model.W_pos.set(['positions', 0], first, 1);
  model.W_U.set(lName, ['vocab', startIndex], D.neg());
  model.W_U.set(first, ['vocab', startIndex], D.mul(L + 1).add(1));

  // Attention: one head per (distinct layer, source head), with the gate.
  const layer = createLayer(`runs source layer r(l) of ${R} distinct layers, selected by the state's layer mask`);
  const sign = variant === 'erratum-3' ? -1 : 1;
  const BL = B.mul(L + 1);
  a.distinct.forEach(({ layer: src, index: k }) => {
    for (const h of src.heads) layer.heads.push(gatedHead(h, k));
  });
  function gatedHead(h: Head, k: number): Head {
    const gate = fresh(h.qk, 'gate');
    const qk = h.qk.extend({
      [gate]: {
        size: 2,
        labels: [`${gate}.inactive`, `${gate}.active`],
        describe:
          variant === 'erratum-3'
            ? 'as printed (erratum 3): query (−B(L+1)·(inactive + 1[i=0]), +B·l) against key (1[j=0], 1[j=0])'
            : 'query (B(L+1)·(inactive + 1[i=0]), −B·l) against key (1[j=0], 1[j=0]): position 0 scores ≥ B when the layer is off, ≤ −B when on',
      },
    });
    const name = `L${k}.${h.name}`;
    const c = createHead(
      residual,
      {
        name,
        role: `source ${where(k)}, head '${h.name}'${h.role ? ` (${h.role})` : ''}; attends to # (value 0) in the loops where L${k} does not run`,
        kind: h.kind,
        scale: h.scale,
        causal: h.causal,
        qk,
        ov: h.ov,
      },
      `looped layer, head '${name}'`,
    );
    copyInto(c.W_Q, h.W_Q);
    copyInto(c.W_K, h.W_K);
    copyInto(c.W_V, h.W_V);
    copyInto(c.W_O, h.W_O);
    // A negative scale flips every score: flip the gate with it, so position 0 is still pushed the intended way.
    const s = sign * (rationalToNumber(h.scale) < 0 ? -1 : 1);
    c.W_Q.set([inactive, k], [gate, 0], BL.mul(s));
    c.W_Q.set(first, [gate, 0], BL.mul(s));
    c.W_Q.set(lName, [gate, 1], B.mul(-s));
    c.W_K.set(first, [gate, 0], 1);
    c.W_K.set(first, [gate, 1], 1);
    return c;
  }

  // MLP: the R source MLPs side by side, gated; gated output biases; the counter; the hats.
  const hats: number[] = [];
  for (let j = 1; j < L; j++) if (a.r[j - 1] !== a.r[j]) hats.push(j);
  const hidden: Record<string, SubspaceSpec> = {};
  for (const { layer: src, index: k } of a.distinct) {
    if (src.mlp && src.mlp.hidden.dim > 0) {
      hidden[`L${k}`] = {
        size: src.mlp.hidden.dim,
        labels: src.mlp.hidden.labels.map((x) => `L${k}.${x}`),
        describe: `the MLP of source ${where(k)}, each unit shifted by −C·(inactive[L${k}] + 1[i=0])`,
      };
    }
    if (src.mlp && isNonzero(src.mlp.b_out.matrix)) {
      hidden[`L${k}.b_out`] = { size: 1, describe: `relu(1 − inactive[L${k}] − 1[i=0]) = 1 exactly when L${k} runs: writes its output bias` };
    }
  }
  hidden.count = { size: 1, describe: 'relu(1) = 1: l ← l + 1' };
  const f = variant === 'erratum-4' ? toRational('1/2') : toRational(1);
  for (const j of hats) {
    hidden[`hat${j}`] = {
      size: 3,
      labels: [`hat${j}: relu(l − ${j} + 1)`, `hat${j}: relu(l − ${j})`, `hat${j}: relu(l − ${j} − 1)`],
      describe:
        `${variant === 'erratum-4' ? '0.5·' : ''}(relu(l−${j}+1) − 2relu(l−${j}) + relu(l−${j}−1)) = ${variant === 'erratum-4' ? '½·' : ''}1[l = ${j}]: ` +
        `switches L${a.r[j - 1]} off and L${a.r[j]} on after depth ${j}`,
    };
  }
  const mlp = createMlp(residual, { name: 'mlp', role: 'the source MLPs side by side, gated by the layer mask; the depth counter; the hats that advance the mask', hidden }, 'looped layer, mlp');
  for (const { layer: src, index: k } of a.distinct) {
    const m = src.mlp;
    if (!m) continue;
    if (m.hidden.dim > 0) {
      const units = `L${k}`;
      copyInto(mlp.W_in, m.W_in, { cols: units });
      copyInto(mlp.b_in.matrix, m.b_in.matrix, { cols: units });
      copyInto(mlp.W_out, m.W_out, { rows: units });
      mlp.W_in.write([inactive, k], units, () => C.neg());
      mlp.W_in.write(first, units, () => C.neg());
    }
    if (isNonzero(m.b_out.matrix)) {
      const unit = `L${k}.b_out`;
      mlp.b_in.set(unit, 1);
      mlp.W_in.set([inactive, k], unit, -1);
      mlp.W_in.set(first, unit, -1);
      copyInto(mlp.W_out, m.b_out.matrix, { rows: unit });
    }
  }
  mlp.b_in.set('count', 1);
  mlp.W_out.set('count', lName, 1);
  const shape = [1, -2, 1];
  for (const j of hats) {
    const units = `hat${j}`;
    mlp.W_in.write(lName, units, [[1, 1, 1]]);
    mlp.b_in.write(units, [1 - j, -j, -j - 1]);
    shape.forEach((cf, u) => {
      mlp.W_out.set([units, u], [inactive, a.r[j - 1]], f.mul(cf));
      mlp.W_out.set([units, u], [inactive, a.r[j]], f.mul(-cf));
    });
  }
  layer.mlp = mlp;
  addStage(model, [layer], L);
  validateModel(model);
  return {
    model,
    source,
    variant,
    analysis: a,
    scope: a.scope,
    C,
    B,
    D,
    derived,
    warnings,
    startToken: startIndex,
    names: { inactive, l: lName, first },
    hats,
  };
}

/** Theorem 5.2's compiler: one layer looped L times that simulates `source` on (#, v). */
export function compileThm52(source: Model, options: Thm52Options = {}): Model {
  return compileThm52Info(source, options).model;
}

/** Built sizes of a compiled model beside the claimed formulas evaluated in its scope. */
export function thm52Sizes(c: Thm52Compiled): SizeRow[] {
  return compareSizes(loopOneLayer as Construction, { scope: c.scope }, modelSizes(c.model));
}

// ---------------------------------------------------------------- running and comparing

/** The source's output on v, or the compiled model's on (#, v), aligned: one row of source-token logits per source position read. */
export interface Thm52Output {
  /** The argmax among the source tokens (null on a tie; the compiled model's # would show as the index V). */
  answer: number | null;
  logits: number[][];
  /** Exact logits (rational strings) where the interpreter has them. */
  exact: string[][] | null;
}

/** Reads a source run (compiled: false) or a compiled run (compiled: true) as the source's positions and tokens. */
export function outputOf(run: RunResult, vocab: number, compiled: boolean): Thm52Output {
  const rows = compiled ? run.readouts.filter((r) => r.position > 0) : run.readouts;
  const exact = rows.every((r) => r.exactLogits !== undefined) ? rows.map((r) => r.exactLogits!.slice(0, vocab)) : null;
  return { answer: run.answer, logits: rows.map((r) => r.logits.slice(0, vocab)), exact };
}

/** Relative tolerance for float comparisons: |a − b| ≤ TOLERANCE·(1 + |b|). */
export const TOLERANCE = 1e-9;

/** Equal answers, and logits equal exactly where both are exact, else within TOLERANCE. */
export function sameOutput(a: Thm52Output, b: Thm52Output): boolean {
  if (a.answer !== b.answer || a.logits.length !== b.logits.length) return false;
  if (a.exact && b.exact) return a.exact.every((row, i) => row.length === b.exact![i].length && row.every((x, j) => x === b.exact![i][j]));
  return a.logits.every((row, i) => row.length === b.logits[i].length && row.every((x, j) => Math.abs(x - b.logits[i][j]) <= TOLERANCE * (1 + Math.abs(b.logits[i][j]))));
}

/** Largest |difference| between two outputs' logits (exact ones converted). */
export function logitDifference(a: Thm52Output, b: Thm52Output): number {
  let m = 0;
  a.logits.forEach((row, i) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - (b.logits[i]?.[j] ?? NaN))))));
  return m;
}

/** The compiled model's input for the source input v: (#, v). */
export const withStart = (c: Thm52Compiled, tokens: readonly number[]): number[] => [c.startToken, ...tokens];

/**
 * Lockstep: after loop t the compiled model's x at positions 1..n is the source's residual after
 * depth t, its layer mask is 1_R − e_{r(t+1)} (unchanged after the last loop), l = t + 1, and the #
 * position's x is still 0. Values as exact strings under exact, as decimal strings otherwise.
 */
export function lockstepRows(c: Thm52Compiled, tokens: readonly number[], run: RunResult, interpreter: string): { loop: number; expected: unknown; got: unknown }[] {
  if (!run.trace) throw new Error('lockstep needs a run with { trace: true }');
  const srcRun = interpreterByName(interpreter).run(c.source, tokens, { trace: true });
  const { L, R, d } = c.scope;
  const show = (snap: { values: number[][]; exact?: string[][] }, i: number, from: number, to: number) =>
    (snap.exact ? snap.exact[i] : snap.values[i].map(String)).slice(from, to);
  const inactive = c.model.residual.range(c.names.inactive);
  const lAt = c.model.residual.index(c.names.l);
  const rows: { loop: number; expected: unknown; got: unknown }[] = [];
  for (let t = 1; t <= L; t++) {
    const { loop, layer } = c.analysis.at[t - 1];
    const src = srcRun.trace!.get(`loop${loop}.blocks.${layer}.hook_resid_post`);
    const got = run.trace.afterLoop(t);
    const next = c.analysis.r[Math.min(t, L - 1)];
    const mask = Array.from({ length: R }, (_, k) => (k === next ? '0' : '1'));
    rows.push({
      loop: t,
      expected: {
        x: tokens.map((_, i) => show(src, i, 0, d)),
        start: Array.from({ length: d }, () => '0'),
        positions: tokens.map(() => ({ mask, l: String(t + 1) })),
      },
      got: {
        x: tokens.map((_, i) => show(got, i + 1, 0, d)),
        start: show(got, 0, 0, d),
        positions: tokens.map((_, i) => ({ mask: show(got, i + 1, inactive.offset, inactive.offset + inactive.size), l: show(got, i + 1, lAt, lAt + 1)[0] })),
      },
    });
  }
  return rows;
}

// ---------------------------------------------------------------- the registered construction

const PARAMS: ParamSpec[] = [
  { name: 'layers', describe: 'L: depth of the random source model (layers of its unrolled stages)', default: '4', kind: 'int', min: 0, max: 32 },
  { name: 'distinct', describe: 'R: distinct layers of the source (each runs at least once; ≤ layers)', default: '2', kind: 'int', min: 0, max: 32 },
  { name: 'width', describe: 'd: width of the source residual stream', default: '3', kind: 'int', min: 1, max: 32 },
  { name: 'heads', describe: 'H: heads per source layer', default: '1', kind: 'int', min: 0, max: 8 },
  { name: 'hidden', describe: 'd_FF: MLP width per source layer (0: no MLP)', default: '2', kind: 'int', min: 0, max: 64 },
  { name: 'vocab', describe: 'source vocabulary size (the compiled model adds #)', default: '3', kind: 'int', min: 2, max: 64 },
  { name: 'n', describe: 'longest source input (the compiled model reads n + 1 tokens, # first)', default: '4', kind: 'int', min: 1, max: 64 },
  { name: 'seed', describe: 'seed of the random source model', default: '1', kind: 'int', min: 0, max: 2 ** 31 - 1 },
  { name: 'attention', describe: 'attention of the source: hard (checked exactly) or softmax (checked in float64)', default: 'hard', kind: 'text', forms: 'hard, softmax' },
  {
    name: 'variant',
    describe: 'corrected (default), or exactly as printed: erratum-3 (gate signs swapped), erratum-4 (hat with a factor 0.5)',
    default: 'corrected',
    kind: 'text',
    forms: VARIANTS.join(', '),
  },
];

function readParams(params: Params) {
  const num = (k: string) => Number(params[k]);
  const attention = String(params.attention ?? 'hard');
  if (attention !== 'hard' && attention !== 'softmax') throw new UsageError(`parameter attention of ${ID} must be hard or softmax, got "${attention}"`);
  const variant = String(params.variant ?? 'corrected');
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new UsageError(`parameter variant of ${ID} must be one of ${VARIANTS.join(', ')}, got "${variant}"`);
  const layers = num('layers');
  const distinct = num('distinct');
  if (distinct > layers || (distinct === 0 && layers > 0)) {
    throw new UsageError(`parameter distinct of ${ID} is ${distinct}; with layers=${layers} it must be in ${layers === 0 ? '0..0' : `1..${layers}`}`);
  }
  return {
    source: {
      layers,
      distinct,
      width: num('width'),
      heads: num('heads'),
      hidden: num('hidden'),
      vocab: num('vocab'),
      maxLen: num('n'),
      seed: num('seed'),
      attention: attention as AttentionKind,
    },
    variant: variant as Variant,
  };
}

export function parseSourceInput(source: Model, text: string): number[] {
  assertJsonDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`the input must be a JSON array of source tokens, like ["t0","t1"] or [0,1] (no #: it is added); got ${JSON.stringify(text)}`);
  }
  if (!Array.isArray(value)) throw new InputError('the input must be a JSON array of source tokens');
  const vocab = source.vocab.labels;
  const n = source.positions.dim;
  if (value.length < 1 || value.length > n) throw new InputError(`the input has ${value.length} tokens; the source takes 1..${n}`);
  return value.map((t: unknown, i) => {
    const k = typeof t === 'string' ? vocab.indexOf(t) : typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < vocab.length ? t : -1;
    if (k < 0) throw new InputError(`token ${JSON.stringify(t)} at position ${i} is not a source token (${vocab.join(', ')}, or 0..${vocab.length - 1}); # is added by the compiled model`);
    return k;
  });
}

/**
 * The registered construction derives its gates from the source's activation bounds. When those
 * overflow, the compiler's advice (give C and B) is for `looped compile thm-5.2`; a user of this
 * construction (verify, run, build) can only lower its parameters, so the advice says that.
 */
function compileWithDerivedGates(source: Model, variant: Variant, spec: { layers: number; width: number; hidden: number }): Thm52Compiled {
  try {
    return compileThm52Info(source, { variant });
  } catch (e) {
    const m = e instanceof UnsupportedError ? /^(.*) — give the gates C and B explicitly$/.exec(e.message) : null;
    if (m === null) throw e;
    throw new UsageError(
      `${ID} at layers=${spec.layers}, width=${spec.width}, hidden=${spec.hidden}: ${m[1]}; lower --param layers (or width, hidden), or compile a model file with looped compile thm-5.2 --mlp-gate C --attention-gate B`,
    );
  }
}

export function buildThm52(params: Params): Built<number[], Thm52Output> {
  const { source: spec, variant } = readParams(params);
  const source = randomSource(spec);
  const c = compileWithDerivedGates(source, variant, spec);
  const V = source.vocab.dim;
  const refInterpreter = spec.attention === 'hard' ? 'exact' : 'float64';
  const ref = interpreterByName(refInterpreter);
  const checks: Check[] =
    spec.attention === 'hard'
      ? [
          { label: 'exact, hard attention: the logits are the source\'s, exactly', interpreter: 'exact', model: c.model },
          { label: `float64, hard attention: the source's logits within ${TOLERANCE}`, interpreter: 'float64', model: c.model },
        ]
      : [{ label: `float64 softmax: the source's logits within ${TOLERANCE}`, interpreter: 'float64', model: c.model }];
  return {
    model: c.model,
    scope: c.scope,
    encode: (tokens) => withStart(c, tokens),
    decode: (run) => outputOf(run, V, true),
    reference: (tokens) => outputOf(ref.run(source, tokens), V, false),
    equal: sameOutput,
    parseInput: (text) => parseSourceInput(source, text),
    formatAnswer: (o) => ({ answer: o.answer === null ? null : (c.model.vocab.labels[o.answer] ?? o.answer), logits: o.exact ?? o.logits }),
    formatInput: (tokens) => JSON.stringify(tokens),
    arbitrary: () => fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: source.positions.dim }),
    exhaustive: { symbols: V, minLength: 1, maxLength: source.positions.dim },
    checks,
    lockstep: {
      describe: 'after loop t, x at positions 1..n is the source residual after depth t; mask 1_R − e_{r(t+1)}; l = t + 1; x = 0 at #',
      compare: (tokens, run) => lockstepRows(c, tokens, run, run.interpreter === 'exact' ? 'exact' : refInterpreter),
    },
    extraLoopsStable: {
      holds: false,
      why: 'after loop L the layer mask still selects r(L), so an extra loop runs that layer again; Theorem 5.2 promises the output after exactly L loops',
    },
  };
}

export const loopOneLayer: Construction<number[], Thm52Output> = {
  id: ID,
  title: 'looping one layer L times simulates any L-layer model (compiler)',
  theorem: 'Theorem 5.2',
  statement:
    'Any L-layer model with R distinct layers (width d, MLP width d_FF, H heads of size d_ATTN, bounded activations) is ' +
    'simulated on input (#, v) by one layer looped L times with width d + R + 2, MLP width R·d_FF + O(L) and R·H heads of ' +
    'size d_ATTN: the output distribution is the same. The state is (x^(l), 1_R − e_{r(l)}, l, 1[i=0]); the MLP holds all R ' +
    'MLPs side by side, gated by −C·(mask + 1[i=0]), a counter and hat units that advance the mask; every (layer, head) pair ' +
    'is a head whose extra query/key coordinates send it to the # position (value 0) in the loops where its layer does not ' +
    'run. Here the source is a random model named by its parameters and seed (`looped compile thm-5.2 --source` compiles a ' +
    'model file); the reference is the source itself, run under exact arithmetic (float64 for softmax sources).',
  params: PARAMS,
  claimed: CLAIMED,
  deviations:
    'Head size: d_ATTN + 2, the two gate coordinates of the (corrected) attention fix, which the claim d_ATTN leaves out. ' +
    'MLP width: Σ d_FF(k) + 1 counter + 3 per change of layer between consecutive depths (at most L − 1 hats), plus one unit ' +
    'per distinct layer with an output bias b_2 ≠ 0, which gates b_2 (side by side, every b_2 would be added in every loop); ' +
    'the claim R·d_FF + O(L) is evaluated as R·d_FF + 3L + 1. The gate −B·[active] is realised as −B·l with the inactive ' +
    'coordinate weighted B(L+1): the state has no constant direction (erratum 3 and the fix in proofs/thm-5-2-loop-one-layer.ts).',
  verifyAt: [
    { params: {} },
    { params: { attention: 'softmax' } },
    { params: { variant: 'erratum-3' }, fails: 'erratum 3: the attention extras as printed do not send inactive heads to position 0' },
    { params: { variant: 'erratum-4' }, fails: 'erratum 4: the hat function with its factor 0.5 gives a mask of halves' },
  ],
  build: buildThm52,
};
