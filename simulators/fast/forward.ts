// The batched forward pass over a compiled plan. A batch of sequences (of any lengths) is packed
// into one [rows × d] activation array, sequence after sequence, so each product with a weight
// matrix runs over the whole batch at once and reuses every weight row across it; attention, masks
// and readouts work sequence by sequence on their own rows. Large batches are cut into chunks of
// whole sequences to bound memory.
//
// This module needs nothing but the plan and plain inputs (masks come in as a callback), so a
// worker thread can run it on its share of a batch.
import type { Arr, LayerPlan, Mat, Plan } from './compile.ts';
import { alloc } from './compile.ts';
import { attend32, gemm32 } from './kernels32.ts';
import { attend64, gemm64 } from './kernels64.ts';
import type { AttentionSite, Readout, RunResult } from '../result.ts';

/** M^t(i) for stage s, loop t (1-based within the stage), sequence length len; true = recompute. */
export type MaskFn = (stage: number, t: number, len: number) => ArrayLike<boolean>;

/** At most this many rows (positions, summed over the sequences) go through the layers together. */
export const CHUNK_ROWS = 4096;

interface Kernels {
  gemm(m: Mat, X: Arr, xs: number, xo: number, R: number, Y: Arr, ys: number, yo: number): void;
  attend(
    QKV: Arr,
    T: number,
    base: number,
    n: number,
    h: LayerPlan['heads'][number],
    AO: Arr,
    aoW: number,
    S: Float64Array,
    KT: Float64Array,
    stat: Float64Array,
  ): void;
}

const K64: Kernels = {
  gemm: (m, X, xs, xo, R, Y, ys, yo) => gemm64(m, X as Float64Array, xs, xo, R, Y as Float64Array, ys, yo),
  attend: (QKV, T, base, n, h, AO, aoW, S, KT, stat) => attend64(QKV as Float64Array, T, base, n, h, AO as Float64Array, aoW, S, KT, stat),
};
const K32: Kernels = {
  gemm: (m, X, xs, xo, R, Y, ys, yo) => gemm32(m, X as Float32Array, xs, xo, R, Y as Float32Array, ys, yo),
  attend: (QKV, T, base, n, h, AO, aoW, S, KT, stat) => attend32(QKV as Float32Array, T, base, n, h, AO as Float32Array, aoW, S, KT, stat),
};

interface Tracker {
  attention: number;
  site: AttentionSite | null;
  ties: number;
}

/**
 * Runs the plan on every input (already checked against the model) and returns one result each,
 * in input order. `name` is the interpreter name the results carry.
 */
export function runPlan(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn, name: string, chunkRows = CHUNK_ROWS): RunResult[] {
  const out: RunResult[] = [];
  let start = 0;
  while (start < inputs.length) {
    let end = start;
    let rows = 0;
    while (end < inputs.length && (end === start || rows + inputs[end].length <= chunkRows)) rows += inputs[end++].length;
    out.push(...runChunk(plan, inputs.slice(start, end), masks, name));
    start = end;
  }
  return out;
}

function runChunk(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn, name: string): RunResult[] {
  const { d, precision } = plan;
  const K = precision === 'f64' ? K64 : K32;
  const B = inputs.length;
  const offs = new Int32Array(B + 1);
  let maxN = 0;
  for (let b = 0; b < B; b++) {
    offs[b + 1] = offs[b] + inputs[b].length;
    maxN = Math.max(maxN, inputs[b].length);
  }
  const R = offs[B];

  // Scratch, sized for the widest layer.
  let qkvW = 0;
  let aoW = 0;
  let hidW = 0;
  let dqkMax = 0;
  for (const l of plan.layers) {
    qkvW = Math.max(qkvW, l.qkvWidth);
    aoW = Math.max(aoW, l.aoWidth);
    hidW = Math.max(hidW, l.mlp?.hidden ?? 0);
    for (const h of l.heads) dqkMax = Math.max(dqkMax, h.dqk);
  }
  const X = alloc(precision, R * d);
  const OUT = alloc(precision, R * d);
  const QKV = alloc(precision, R * qkvW);
  const AO = alloc(precision, R * aoW);
  const H = alloc(precision, R * hidW);
  const S = new Float64Array(maxN);
  const KT = new Float64Array(maxN * dqkMax);
  const stat = new Float64Array(3);

  // Embedding: token row plus position row (a store into a Float32Array rounds the sum).
  const { E, P } = plan;
  for (let b = 0; b < B; b++) {
    const toks = inputs[b];
    for (let i = 0; i < toks.length; i++) {
      const x = (offs[b] + i) * d;
      const e = toks[i] * d;
      const p = i * d;
      for (let c = 0; c < d; c++) X[x + c] = E[e + c] + P[p + c];
    }
  }

  const trackers: Tracker[] = inputs.map(() => ({ attention: Infinity, site: null, ties: 0 }));
  let loop = 0;
  plan.stages.forEach((stage, s) => {
    const before = stage.hasMask ? alloc(precision, R * d) : null;
    for (let t = 1; t <= stage.loops; t++) {
      loop++;
      if (before) before.set(X);
      stage.layers.forEach((li, l) => {
        const layer = plan.layers[li];
        if (layer.heads.length > 0) {
          const T = layer.qkvWidth;
          const W = layer.aoWidth;
          QKV.fill(0, 0, R * T);
          K.gemm(layer.W_QKV!, X, d, 0, R, QKV, T, 0);
          AO.fill(0, 0, R * W);
          for (const h of layer.heads) {
            for (let b = 0; b < B; b++) {
              const n = offs[b + 1] - offs[b];
              K.attend(QKV, T, offs[b], n, h, AO, W, S, KT, stat);
              const tr = trackers[b];
              tr.ties += stat[2];
              if (stat[0] < tr.attention) {
                tr.attention = stat[0];
                tr.site = { loop, stage: s, layer: l, head: h.name, position: stat[1] };
              }
            }
          }
          OUT.fill(0, 0, R * d);
          K.gemm(layer.W_O!, AO, W, 0, R, OUT, d, 0);
          for (let k = 0; k < R * d; k++) X[k] += OUT[k];
        }
        const mlp = layer.mlp;
        if (mlp) {
          const hid = mlp.hidden;
          H.fill(0, 0, R * hid);
          K.gemm(mlp.W_in, X, d, 0, R, H, hid, 0);
          const bi = mlp.b_in;
          for (let r = 0; r < R; r++) {
            const o = r * hid;
            if (mlp.hasBIn) for (let c = 0; c < hid; c++) H[o + c] += bi[c];
            for (let c = 0; c < hid; c++) if (!(H[o + c] > 0)) H[o + c] = 0;
          }
          OUT.fill(0, 0, R * d);
          K.gemm(mlp.W_out, H, hid, 0, R, OUT, d, 0);
          const bo = mlp.b_out;
          if (mlp.hasBOut) for (let r = 0; r < R; r++) for (let c = 0; c < d; c++) OUT[r * d + c] += bo[c];
          for (let k = 0; k < R * d; k++) X[k] += OUT[k];
        }
      });
      if (before) {
        for (let b = 0; b < B; b++) {
          const n = offs[b + 1] - offs[b];
          const m = masks(s, t, n);
          for (let i = 0; i < n; i++) {
            if (m[i]) continue;
            const x = (offs[b] + i) * d;
            X.set(before.subarray(x, x + d), x);
          }
        }
      }
    }
  });

  // Readout: the last row of each sequence, or every row.
  const V = plan.V;
  let L: Arr;
  let rowOf: (b: number, i: number) => number;
  if (plan.readoutAll) {
    L = alloc(precision, R * V);
    K.gemm(plan.U, X, d, 0, R, L, V, 0);
    rowOf = (b, i) => offs[b] + i;
  } else {
    const G = alloc(precision, B * d);
    for (let b = 0; b < B; b++) G.set(X.subarray((offs[b + 1] - 1) * d, offs[b + 1] * d), b * d);
    L = alloc(precision, B * V);
    K.gemm(plan.U, G, d, 0, B, L, V, 0);
    rowOf = (b) => b;
  }
  return inputs.map((tokens, b) => {
    const n = tokens.length;
    const positions = plan.readoutAll ? Array.from({ length: n }, (_, i) => i) : [n - 1];
    const readouts = positions.map((p) => {
      const r = rowOf(b, p);
      return readout(Array.from(L.subarray(r * V, r * V + V)), p);
    });
    const last = readouts[readouts.length - 1];
    const tr = trackers[b];
    return {
      interpreter: name,
      tokens: [...tokens],
      answer: last.token,
      tie: last.token === null,
      readouts,
      margins: {
        attention: tr.attention,
        attentionSite: tr.site,
        attentionTies: tr.ties,
        logit: Math.min(...readouts.map((x) => x.margin)),
      },
    };
  });
}

/** Top logits, the argmax (null on a tie) and the top-two gap, as the generic interpreter defines them. */
function readout(logits: number[], position: number): Readout {
  let best = logits[0];
  for (const v of logits) if (v > best) best = v;
  const top: number[] = [];
  let second = -Infinity;
  logits.forEach((v, k) => {
    if (v === best) top.push(k);
    else second = Math.max(second, v);
  });
  const margin = top.length > 1 ? 0 : second === -Infinity ? Infinity : best - second;
  return { position, logits, top, token: top.length === 1 ? top[0] : null, margin };
}
