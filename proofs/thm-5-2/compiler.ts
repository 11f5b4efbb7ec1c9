// Theorem 5.2: looping ONE layer L times simulates any L-layer model — the compiler, in stages
// (as proofs/thm-5-4/compiler.ts builds Theorem 5.4):
//
//   analyseSource  the source unrolled to depth L (proofs/compiler/kit.ts unrollSource), its R
//                  distinct layers and the scope; refuses what the theorem does not cover;
//   gatesFor       the gate constants C, B, D and the bits sFs they need (proofs/thm-5-2/gates.ts);
//   startThm52     the residual (the source's, then inactive, l, first), the model, the
//                  embedding (# ↦ 0, the control state) and the readout (the # logit);
//   addGatedHeads  one head per (distinct layer, source head), with the gate coordinates;
//   addGatedMlp    the R source MLPs side by side, gated; gated output biases; the counter; the hats;
//   finishThm52    one stage of L loops of the one layer, validated.
// compileThm52Info runs them in that order. Lockstep and the output comparison are
// proofs/thm-5-2/lockstep.ts; the F_s check proofs/thm-5-2/fixed-point.ts; the registered
// construction `thm-5.2` (sizes, errata) proofs/thm-5-2-loop-one-layer.ts.
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
//     scale and causality, and two more query/key coordinates, the gate (the head's qk subspace
//     "gate"). With w = inactive_k + 1[i = 0] and A = B(2L+1):
//         key extras    (1[j = 0],  l_j)
//         query extras  (A·w − B·l,  −B·w)
//     so for a query at i ≥ 1 (times the head's scale):
//         layer k runs   (w = 0): position 0 scores −B·l ≤ −B; every other key its source score;
//         layer k idle   (w = 1): position 0 scores A − 2B·l ≥ B; every other key its source
//                                 score − B·l ≤ M − B < 0.
//     B exceeds every source score M. An idle head therefore puts all its weight on position 0,
//     whose value is 0 — it adds nothing; a running head never looks at position 0 — it computes
//     exactly the source head (hard attention's tied best keys are the same set; softmax's weight
//     on position 0 rounds to 0, see B below). The # position's own query (w ≥ 1, l_j = l) scores
//     itself ≥ B and every other key ≤ −B·l, so x_0 stays 0 for good (non-causal heads).
//     This is the notes' fix for erratum 3 — "query extras (+B·[inactive], −B·[active]) against key
//     extras (1[i=0], 1[i=0])" — with two changes:
//       (1) the state has no constant direction, so −B·[active] = −B·(1 − inactive_k) is not a
//           linear map of it. The depth counter stands in for the constant: l ≥ 1 in every loop,
//           so −B·l ≤ −B, and weighting the inactive coordinate by more than B·l keeps the idle
//           score ≥ B;
//       (2) the second key extra is l_j, not 1[j=0]: the −B·w term pushes an idle head's OTHER keys
//           down as well as position 0 up. The notes' extras move position 0 only; that makes the
//           idle head one-hot under hard attention and float64 (which subtracts the max score) but
//           not in the paper's F_s, where softmax has no max subtraction and exp saturates at B_s:
//           erratum 9 below. gate 'position-0' (options.gate) builds the notes' layout,
//               key (1[j=0], 1[j=0]),  query (B(L+1)·w, −B·l),
//           position 0 scoring B(L+1)·inactive_k − B·l at i ≥ 1.
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
// LENGTH: about 460 lines, 79 of them this write-up; the stages below share the draft they build,
// and the gates (gates.ts), lockstep (lockstep.ts) and F_s check (fixed-point.ts) are already apart.
import { UnsupportedError, UsageError } from '../../common/errors.ts';
import { type Head, type Layer, type Model, addStage, createLayer, createMlp, createModel, validateModel } from '../../simulators/model.ts';
import { type Rational, type Scalar, rationalToNumber, toRational } from '../../simulators/rational.ts';
import type { Space, SubspaceSpec } from '../../simulators/space.ts';
import { type DistinctLayer, copyHead, copyInto, fresh, isNonzero, layerSizes, nameAllocator, optionValue, unrollSource } from '../compiler/kit.ts';
import { defineParams } from '../construction.ts';
import type { SourceBounds } from './bounds.ts';
import { FIXED_POINT_GAP, type Thm52Gates, gatesFor } from './gates.ts';

export type { DistinctLayer } from '../compiler/kit.ts';

export const VARIANTS = ['corrected', 'erratum-3', 'erratum-4'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_DESCRIPTIONS: Record<Variant, string> = {
  corrected: 'corrected: inactive heads score +B at position 0, active heads −B; hat without the factor 0.5',
  'erratum-3': 'as printed, erratum 3: the gate signs swapped (+B·[active], −B·[inactive]): inactive heads do not go to position 0',
  'erratum-4': 'as printed, erratum 4: the hat carries a factor 0.5, so the layer mask holds halves after a change of layer',
};

/**
 * The attention gate's layout (see the module header): 'push' moves an inactive head's scores of
 * every key j ≥ 1 down as well as position 0's up; 'position-0' moves only position 0's score, as
 * the notes state the fix — enough for hard attention and float64, not for F_s softmax (erratum 9).
 */
export const GATES = ['push', 'position-0'] as const;
export type Gate = (typeof GATES)[number];

/** The compiler's two choice options as parameter specs: optionValue checks them (and `looped compile thm-5.2 --variant` reads VARIANT_OPTION). */
export const [VARIANT_OPTION, GATE_OPTION] = defineParams([
  { name: 'variant', describe: 'corrected (default), or as printed: erratum-3 (gate signs swapped), erratum-4 (hat with a factor 0.5)', default: 'corrected', kind: 'choice', values: VARIANTS },
  { name: 'gate', describe: "the attention gate's layout: push (default), or position-0, the notes' gate as stated", default: 'push', kind: 'choice', values: GATES },
]);

export interface Thm52Options {
  variant?: Variant;
  /** The MLP gate (default: derived from the source's activation bounds). */
  C?: Scalar;
  /** The attention gate (default: derived from the source's score bounds). */
  B?: Scalar;
  /** The # logit is −D·(L + 1) (default: derived from the logit bound). */
  D?: Scalar;
  /** How far (in score units) softmax weights on the wrong side of position 0 are pushed: e^{−gap} (default 800: underflows in float64; 27 with fixedPoint). */
  softmaxGap?: number;
  /**
   * Derive the gates for the paper's fixed point F_s (s ≤ 26) rather than float64: softmax weights
   * pushed below e^{−27} < 2^{−27}, which rounds to 0 at every s ≤ 26, and the # logit only below
   * the source's (F_s compares logits; the float64 gap 800 only serves the # probability's
   * underflow). Smaller gates need fewer bits (`bits` of the result).
   */
  fixedPoint?: boolean;
  /** The attention gate: 'push' (default; holds in F_s), or 'position-0', the notes' gate as stated (erratum 9 in F_s). */
  gate?: Gate;
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
  /** The attention gate's layout ('position-0' for erratum-3, which is built on the notes' layout). */
  gate: Gate;
  /** Whether the gates were derived for F_s (options.fixedPoint). */
  fixedPoint: boolean;
  /**
   * The fewest bits s of F_s at which no value the gates write saturates (every value, at every
   * position, below B_s = 2^s − 2^{−s}), from the source's bounds — see "PRECISION" in the module
   * header. A per-source derived number (the paper states no precision for Theorem 5.2); it may
   * exceed 26, the most fixed:s runs.
   */
  bits: number;
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

// ---------------------------------------------------------------- the source

/** The unrolled schedule, the distinct layers and the scope; refuses what Theorem 5.2 does not cover. */
export function analyseSource(source: Model): SourceAnalysis {
  validateModel(source);
  const { schedule, r, distinct, at } = unrollSource(source, { theorem: 'Theorem 5.2', models: 'models' });
  for (const { layer, stage, position } of distinct) {
    for (const h of layer.heads) {
      if (h.scale.equals(0)) {
        throw new UnsupportedError(
          `Theorem 5.2 cannot compile stage ${stage}, layer ${position}, head '${h.name}': its scale is 0, so it averages every key, and the added # position would dilute it`,
        );
      }
    }
  }
  const { H, dFF, dATTN } = layerSizes(distinct.map((x) => x.layer));
  return { schedule, r, distinct, at, scope: { d: source.residual.dim, R: distinct.length, L: schedule.length, H, dFF, dATTN } };
}

// ---------------------------------------------------------------- the stages

/** The compiled model under construction: what the stages after startThm52 read and write. */
export interface Thm52Draft extends Thm52Gates {
  source: Model;
  analysis: SourceAnalysis;
  variant: Variant;
  gate: Gate;
  fixedPoint: boolean;
  model: Model;
  residual: Space;
  names: Thm52Compiled['names'];
  /** The one layer, looped L times. */
  layer: Layer;
  startIndex: number;
}

/** "stage s, layer p": where distinct layer k first appears in the source. */
function where(analysis: SourceAnalysis, k: number): string {
  return `stage ${analysis.distinct[k].stage}, layer ${analysis.distinct[k].position}`;
}

/**
 * Checks the options, analyses the source, derives the gates (gatesFor), extends the residual
 * (the source's subspaces, then inactive, l, first), writes the embedding — # ↦ 0; position p ≥ 1
 * ↦ the source's position p − 1; the control state everywhere — and the readout (the source's W_U,
 * the # logit −D·l + (D(L+1) + 1)·1[i=0]).
 */
export function startThm52(source: Model, options: Thm52Options = {}): Thm52Draft {
  const variant = optionValue('Theorem 5.2', VARIANT_OPTION, options.variant);
  const analysis = analyseSource(source);
  const { L, R } = analysis.scope;
  const start = options.startToken ?? '#';
  if (source.vocab.labels.includes(start)) {
    throw new UnsupportedError(`Theorem 5.2 puts a new token "${start}" at position 0, but the vocabulary of "${source.name}" already has "${start}" (name another start token)`);
  }
  const fixedPoint = options.fixedPoint ?? false;
  const gateKind: Gate = variant === 'erratum-3' ? 'position-0' : optionValue('Theorem 5.2', GATE_OPTION, options.gate);
  const gap = options.softmaxGap ?? (fixedPoint ? FIXED_POINT_GAP : 800);
  if (!(gap > 0) || !Number.isFinite(gap)) throw new UsageError(`Theorem 5.2: softmaxGap must be a positive number, got ${gap}`);
  const gates = gatesFor(source, analysis, options, { gap, fixedPoint });
  const { C, B, D } = gates;

  // Residual: the source's subspaces, then the three of the theorem.
  const nm = nameAllocator(source.residual);
  const inactive = nm('inactive');
  const lName = nm('l');
  const first = nm('first');
  const residual = source.residual.extend({
    [inactive]: {
      size: R,
      labels: analysis.distinct.map((_, k) => `${inactive}[L${k}]`),
      describe: `1_R − e_{r(l)}: 1 for every distinct layer not running this loop (${analysis.distinct.map((x) => `L${x.index} = source ${where(analysis, x.index)}`).join('; ') || 'none'})`,
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
    for (let k = 0; k < R; k++) model.W_pos.set(pos, [inactive, k], k === analysis.r[0] ? 0 : 1);
    model.W_pos.set(pos, lName, 1);
  }
  model.W_pos.set(['positions', 0], first, 1);
  model.W_U.set(lName, ['vocab', startIndex], D.neg());
  model.W_U.set(first, ['vocab', startIndex], D.mul(L + 1).add(1));
  const layer = createLayer(`runs source layer r(l) of ${R} distinct layers, selected by the state's layer mask`);
  return { ...gates, source, analysis, variant, gate: gateKind, fixedPoint, model, residual, names: { inactive, l: lName, first }, layer, startIndex };
}

/** Attention: one head per (distinct layer, source head), with the gate (the module header's ATTENTION). */
export function addGatedHeads(draft: Thm52Draft): void {
  const { analysis, variant, residual, B, layer } = draft;
  const { L } = analysis.scope;
  const { inactive, l: lName, first } = draft.names;
  const gateKind = draft.gate;
  const sign = variant === 'erratum-3' ? -1 : 1;
  const BL = B.mul(L + 1);
  const A = B.mul(2 * L + 1);
  analysis.distinct.forEach(({ layer: src, index: k }) => {
    for (const h of src.heads) layer.heads.push(gatedHead(h, k));
  });
  function gatedHead(h: Head, k: number): Head {
    const gate = fresh(h.qk, 'gate');
    const qk = h.qk.extend({
      [gate]: {
        size: 2,
        labels: gateKind === 'push' ? [`${gate}.to#`, `${gate}.push`] : [`${gate}.inactive`, `${gate}.active`],
        describe:
          variant === 'erratum-3'
            ? 'as printed (erratum 3, reconstructed): query (−B(L+1)·(inactive + 1[i=0]), +B·l) against key (1[j=0], 1[j=0])'
            : gateKind === 'push'
              ? 'query (B(2L+1)·(inactive + 1[i=0]) − B·l, −B·(inactive + 1[i=0])) against key (1[j=0], l): when the layer is off, position 0 scores ≥ B and every other key its score − B·l; when on, position 0 scores −B·l and the others their own'
              : "query (B(L+1)·(inactive + 1[i=0]), −B·l) against key (1[j=0], 1[j=0]): position 0 scores ≥ B when the layer is off, ≤ −B when on (the notes' gate; erratum 9 in F_s)",
      },
    });
    const name = `L${k}.${h.name}`;
    const c = copyHead(residual, h, `looped layer, head '${name}'`, {
      name,
      role: `source ${where(analysis, k)}, head '${h.name}'${h.role ? ` (${h.role})` : ''}; attends to # (value 0) in the loops where L${k} does not run`,
      qk,
    });
    // A negative scale flips every score: flip the gate with it, so position 0 is still pushed the intended way.
    const s = sign * (rationalToNumber(h.scale) < 0 ? -1 : 1);
    if (gateKind === 'push') {
      // Key (1[j=0], l_j); query (A·w − B·l, −B·w), w = inactive_k + 1[i=0], A = B(2L+1). See the header.
      c.W_Q.set([inactive, k], [gate, 0], A.mul(s));
      c.W_Q.set(first, [gate, 0], A.mul(s));
      c.W_Q.set(lName, [gate, 0], B.mul(-s));
      c.W_Q.set([inactive, k], [gate, 1], B.mul(-s));
      c.W_Q.set(first, [gate, 1], B.mul(-s));
      c.W_K.set(first, [gate, 0], 1);
      c.W_K.set(lName, [gate, 1], 1);
      return c;
    }
    c.W_Q.set([inactive, k], [gate, 0], BL.mul(s));
    c.W_Q.set(first, [gate, 0], BL.mul(s));
    c.W_Q.set(lName, [gate, 1], B.mul(-s));
    c.W_K.set(first, [gate, 0], 1);
    c.W_K.set(first, [gate, 1], 1);
    return c;
  }
}

/** MLP: the R source MLPs side by side, gated; gated output biases; the counter; the hats. Returns the hats' depths. */
export function addGatedMlp(draft: Thm52Draft): number[] {
  const { analysis, variant, residual, C, layer } = draft;
  const { L } = analysis.scope;
  const { inactive, l: lName, first } = draft.names;
  const hats: number[] = [];
  for (let j = 1; j < L; j++) if (analysis.r[j - 1] !== analysis.r[j]) hats.push(j);
  const hidden: Record<string, SubspaceSpec> = {};
  for (const { layer: src, index: k } of analysis.distinct) {
    if (src.mlp && src.mlp.hidden.dim > 0) {
      hidden[`L${k}`] = {
        size: src.mlp.hidden.dim,
        labels: src.mlp.hidden.labels.map((x) => `L${k}.${x}`),
        describe: `the MLP of source ${where(analysis, k)}, each unit shifted by −C·(inactive[L${k}] + 1[i=0])`,
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
        `switches L${analysis.r[j - 1]} off and L${analysis.r[j]} on after depth ${j}`,
    };
  }
  const mlp = createMlp(residual, { name: 'mlp', role: 'the source MLPs side by side, gated by the layer mask; the depth counter; the hats that advance the mask', hidden }, 'looped layer, mlp');
  for (const { layer: src, index: k } of analysis.distinct) {
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
      mlp.W_out.set([units, u], [inactive, analysis.r[j - 1]], f.mul(cf));
      mlp.W_out.set([units, u], [inactive, analysis.r[j]], f.mul(-cf));
    });
  }
  layer.mlp = mlp;
  return hats;
}

/** One stage of L loops of the one layer, validated. */
export function finishThm52(draft: Thm52Draft, hats: number[]): Thm52Compiled {
  addStage(draft.model, [draft.layer], draft.analysis.scope.L);
  validateModel(draft.model);
  return {
    model: draft.model,
    source: draft.source,
    variant: draft.variant,
    gate: draft.gate,
    fixedPoint: draft.fixedPoint,
    bits: draft.bits,
    analysis: draft.analysis,
    scope: Object.assign(draft.analysis.scope, { sFs: draft.bits }),
    C: draft.C,
    B: draft.B,
    D: draft.D,
    derived: draft.derived,
    warnings: draft.warnings,
    startToken: draft.startIndex,
    names: draft.names,
    hats,
  };
}

// ---------------------------------------------------------------- the compiler

/** Theorem 5.2's compiler, every stage: the compiled model with what built it (gates, names, hats). */
export function compileThm52Info(source: Model, options: Thm52Options = {}): Thm52Compiled {
  const draft = startThm52(source, options);
  addGatedHeads(draft);
  const hats = addGatedMlp(draft);
  return finishThm52(draft, hats);
}

/** Theorem 5.2's compiler: one layer looped L times that simulates `source` on (#, v). */
export function compileThm52(source: Model, options: Thm52Options = {}): Model {
  return compileThm52Info(source, options).model;
}
