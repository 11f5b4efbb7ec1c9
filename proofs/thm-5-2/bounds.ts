// Activation bounds of a source model, for the two gate constants of Theorem 5.2.
//
// The theorem assumes "bounded activations". Here the bound is computed, not assumed: interval
// arithmetic over every coordinate of the residual stream, depth after depth of the unrolled
// source, starting from the box that holds the embedding of EVERY token at EVERY position:
//     x^(0)_c ∈ [min_v E[v,c] + min_p P[p,c],  max_v E[v,c] + max_p P[p,c]].
// A head's output is a convex combination of its values (softmax weights, or hard attention's
// average of the tied best keys), so it lies in the box of W_V·x mapped through W_O; the MLP is a
// linear map, a ReLU (which clips a box at 0) and a linear map. Every input the model accepts
// stays inside these boxes, whatever the attention does.
//
// From the boxes:
//   maxPre    the largest pre-activation any MLP unit of ANY distinct layer can see at ANY depth
//             (an inactive layer's units see the same residual as the active one), and every
//             b_in (what a unit sees at position 0, where the residual is 0);
//   maxScore  per head, the largest |⟨W_Q x, W_K y⟩| with x, y in the box at any depth (unscaled);
//   maxLogit  the largest |logit| of the final residual.
// The boxes are computed in doubles; the compiler pads each bound by a relative 2^−20 and an
// absolute 1 before rounding it up to a power of two, far more than the rounding error of these
// sums. A bound that overflows a double is an error: the caller must then give C and B.
import { UnsupportedError } from '../../common/errors.ts';
import type { LabeledMatrix, LabeledVector } from '../../simulators/matrix.ts';
import type { Head, Layer, Model } from '../../simulators/model.ts';

export interface Box {
  lo: Float64Array;
  hi: Float64Array;
}

function box(n: number): Box {
  return { lo: new Float64Array(n), hi: new Float64Array(n) };
}

/** The box of x·M for x in the box (M: rows → cols). */
export function linearBox(b: Box, M: LabeledMatrix): Box {
  const out = box(M.cols.dim);
  M.rowsSparse().forEach((row, r) => {
    const lo = b.lo[r];
    const hi = b.hi[r];
    if (lo === 0 && hi === 0) return;
    for (const e of row) {
      const w = e.value;
      if (w > 0) {
        out.lo[e.col] += w * lo;
        out.hi[e.col] += w * hi;
      } else {
        out.lo[e.col] += w * hi;
        out.hi[e.col] += w * lo;
      }
    }
  });
  return out;
}

function addBox(a: Box, b: Box): Box {
  const out = box(a.lo.length);
  for (let i = 0; i < a.lo.length; i++) {
    out.lo[i] = a.lo[i] + b.lo[i];
    out.hi[i] = a.hi[i] + b.hi[i];
  }
  return out;
}

function addVector(a: Box, v: LabeledVector): Box {
  const out = box(a.lo.length);
  for (let i = 0; i < a.lo.length; i++) {
    out.lo[i] = a.lo[i] + v.get(i);
    out.hi[i] = a.hi[i] + v.get(i);
  }
  return out;
}

function reluBox(a: Box): Box {
  const out = box(a.lo.length);
  for (let i = 0; i < a.lo.length; i++) {
    out.lo[i] = Math.max(0, a.lo[i]);
    out.hi[i] = Math.max(0, a.hi[i]);
  }
  return out;
}

/** Largest |⟨q, k⟩| for q, k in two boxes. */
function dotBound(q: Box, k: Box): number {
  let lo = 0;
  let hi = 0;
  for (let c = 0; c < q.lo.length; c++) {
    const p = [q.lo[c] * k.lo[c], q.lo[c] * k.hi[c], q.hi[c] * k.lo[c], q.hi[c] * k.hi[c]];
    lo += Math.min(...p);
    hi += Math.max(...p);
  }
  return Math.max(Math.abs(lo), Math.abs(hi));
}

const maxAbs = (b: Box) => {
  let m = 0;
  for (let i = 0; i < b.lo.length; i++) m = Math.max(m, Math.abs(b.lo[i]), Math.abs(b.hi[i]));
  return m;
};

export interface SourceBounds {
  /** The residual box entering depth t (index t − 1), and the box the MLP of depth t reads. */
  inputs: Box[];
  mids: Box[];
  final: Box;
  /** Per distinct layer, per head: the largest |unscaled score| at any depth. */
  maxScore: number[][];
  /** The largest pre-activation of any MLP unit of any distinct layer at any depth, and of any b_in. */
  maxPre: number;
  /** The largest |logit| at the end. */
  maxLogit: number;
  /** The largest |residual coordinate| at any depth. */
  maxActivation: number;
  /**
   * The largest partial sum any distinct layer's head or unit can form at any depth: Σ|x_r|·|W[r,c]|
   * over the query, key and pre-activation maps (plus |b_in|), and Σ|q_c|·|k_c| over a score, times
   * max(1, |β|). Interval bounds bound the final sums only; in F_s every partial sum saturates, so
   * this is what must fit in B_s for the heads and units of layers the source does not run there
   * (the source's own computations are repeated exactly, saturating or not).
   */
  maxPartial: number;
}

/** Interval bounds along the unrolled schedule (one Layer per depth); `distinct` lists each Layer once. */
export function sourceBounds(source: Model, schedule: readonly Layer[], distinct: readonly Layer[]): SourceBounds {
  const d = source.residual.dim;
  const E = linearRange(source.W_E);
  const P = linearRange(source.W_pos);
  let x = box(d);
  for (let c = 0; c < d; c++) {
    x.lo[c] = E.lo[c] + P.lo[c];
    x.hi[c] = E.hi[c] + P.hi[c];
  }
  const inputs: Box[] = [];
  const mids: Box[] = [];
  const maxScore = distinct.map((l) => l.heads.map(() => 0));
  let maxPre = 0;
  for (const l of distinct) if (l.mlp) for (let u = 0; u < l.mlp.hidden.dim; u++) maxPre = Math.max(maxPre, l.mlp.b_in.get(u));
  let maxActivation = maxAbs(x);
  let maxPartial = 0;
  const check = (v: number, what: string, t: number) => {
    if (!Number.isFinite(v)) {
      throw new UnsupportedError(`Theorem 5.2: the bound on ${what} at depth ${t} overflows a double; the source's activations are not usefully bounded — give the gates C and B explicitly`);
    }
  };
  schedule.forEach((layer, i) => {
    const t = i + 1;
    inputs.push(x);
    distinct.forEach((l, k) => {
      l.heads.forEach((h, j) => {
        const s = headScoreBound(h, x);
        check(s, `the attention scores of a head`, t);
        maxScore[k][j] = Math.max(maxScore[k][j], s);
        const q = absLinear(x, h.W_Q);
        const kk = absLinear(x, h.W_K);
        let dot = 0;
        q.forEach((v, c) => (dot += v * kk[c]));
        maxPartial = Math.max(maxPartial, ...q, ...kk, dot * Math.max(1, Math.abs(h.scale.valueOf())));
      });
    });
    let mid = x;
    for (const h of layer.heads) mid = addBox(mid, linearBox(linearBox(x, h.W_V), h.W_O));
    mids.push(mid);
    check(maxAbs(mid), 'the residual stream', t);
    for (const l of distinct) {
      if (!l.mlp) continue;
      const abs = absLinear(mid, l.mlp.W_in);
      abs.forEach((v, u) => (maxPartial = Math.max(maxPartial, v + Math.abs(l.mlp!.b_in.get(u)))));
      const pre = addVector(linearBox(mid, l.mlp.W_in), l.mlp.b_in);
      for (let u = 0; u < pre.hi.length; u++) maxPre = Math.max(maxPre, pre.hi[u]);
    }
    check(maxPre, 'the MLP pre-activations', t);
    x = mid;
    if (layer.mlp) {
      const h = reluBox(addVector(linearBox(mid, layer.mlp.W_in), layer.mlp.b_in));
      x = addBox(mid, addVector(linearBox(h, layer.mlp.W_out), layer.mlp.b_out));
    }
    maxActivation = Math.max(maxActivation, maxAbs(mid), maxAbs(x));
    check(maxActivation, 'the residual stream', t);
  });
  const maxLogit = maxAbs(linearBox(x, source.W_U));
  check(maxLogit, 'the logits', schedule.length);
  if (!Number.isFinite(maxPartial)) maxPartial = Number.MAX_VALUE;
  return { inputs, mids, final: x, maxScore, maxPre, maxLogit, maxActivation, maxPartial };
}

/** Per column of M, the largest Σ_r |x_r|·|M[r, c]| for x in the box: every partial sum of x·M is below it. */
function absLinear(b: Box, M: LabeledMatrix): number[] {
  const out = new Array<number>(M.cols.dim).fill(0);
  M.rowsSparse().forEach((row, r) => {
    const a = Math.max(Math.abs(b.lo[r]), Math.abs(b.hi[r]));
    if (a === 0) return;
    for (const e of row) out[e.col] += a * Math.abs(e.value);
  });
  return out;
}

function headScoreBound(h: Head, x: Box): number {
  return dotBound(linearBox(x, h.W_Q), linearBox(x, h.W_K));
}

/** Per column, the smallest and largest entry over the rows (one-hot inputs pick one row). */
function linearRange(M: LabeledMatrix): Box {
  const out = box(M.cols.dim);
  out.lo.fill(Infinity);
  out.hi.fill(-Infinity);
  for (let r = 0; r < M.rows.dim; r++) {
    for (let c = 0; c < M.cols.dim; c++) {
      const v = M.get(r, c);
      out.lo[c] = Math.min(out.lo[c], v);
      out.hi[c] = Math.max(out.hi[c], v);
    }
  }
  for (let c = 0; c < M.cols.dim; c++) if (M.rows.dim === 0) out.lo[c] = out.hi[c] = 0;
  return out;
}

/** The least power of two ≥ x·(1 + 2^−20) + 1: a gate constant that is exact in every number system. */
export function safePowerOfTwo(x: number): number {
  const target = Math.max(0, x) * (1 + 2 ** -20) + 1;
  let p = 1;
  while (p < target) p *= 2;
  if (!Number.isFinite(p)) throw new UnsupportedError(`Theorem 5.2: a gate constant above ${x} does not fit a double; give C and B explicitly`);
  return p;
}
