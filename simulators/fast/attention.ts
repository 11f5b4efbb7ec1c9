// The attention phase of the fast pass: one layer's heads over every sequence of a chunk.
//
// Per (sequence, head) the queries run in strips of STRIP rows: the scores of a strip are one panel
// product of its queries with the keys packed as panels (causal heads stop at the diagonal block),
// each row is then scanned in JavaScript (scale, best/second/ties for the margins, hard average or
// softmax), and a softmax head's output is a second panel product of the weights with the values.
// Every operation is the generic interpreter's, in its order (simulators/forward.ts runHead), so
// fast64 gives float64's bits and fast32 float32's.
import type { HeadPlan, LayerPlan } from './compile.ts';
import { type Chunk, STRIP, addResidual } from './chunk.ts';
import { hardRow32, softmaxRow32, stats32 } from './kernels32.ts';
import { hardRow64, softmaxRow64, stats64 } from './kernels64.ts';
import { product, productIdent } from './workspace.ts';
import type { AttentionTracker } from '../readout.ts';

/** Where a layer sits, for the attention margin's site: 1-based loop over the model, stage, layer within the stage. */
export interface LayerSite {
  loop: number;
  stage: number;
  layer: number;
}

/** x ← x + Σ_heads attention: the packed q/k/v product, every head on every sequence, then W_O. */
export function attentionPhase(c: Chunk, layer: LayerPlan, site: LayerSite): void {
  const { ctx, X, QKV, AO, OUT, R, D, T, A } = c;
  QKV.fill(0, 0, R * T);
  product(ctx, layer.W_QKV!, X, 0, D, R, QKV, 0, T);
  AO.fill(0, 0, R * A);
  for (const h of layer.heads) for (let b = 0; b < c.B; b++) attendSequence(c, h, b, site);
  OUT.fill(0, 0, R * D);
  product(ctx, layer.W_O!, AO, 0, A, R, OUT, 0, D);
  addResidual(c, X, OUT);
}

/** One head over sequence b: keys (and a softmax head's values) packed, then strip after strip of queries. */
function attendSequence(c: Chunk, h: HeadPlan, b: number, site: LayerSite): void {
  const base = c.offs[b];
  const n = c.offs[b + 1] - base;
  packKeys(c, h, base, n);
  if (!h.hard) packValues(c, h, base, n);
  const tr = c.trackers[b];
  for (let i0 = 0; i0 < n; i0 += STRIP) {
    const rows = Math.min(STRIP, n - i0);
    scores(c, h, base, n, i0, rows);
    for (let i = i0; i < i0 + rows; i++) scanRow(c, h, base, n, i0, i, tr, site);
    if (!h.hard && h.dov > 0) softmaxOutput(c, h, base, n, i0, rows);
  }
}

/** Keys as panels of P positions: KP[p][c][jj] = k_{P·p+jj}[c] (0 past the sequence). */
function packKeys(c: Chunk, h: HeadPlan, base: number, n: number): void {
  const { KP, QKV, T } = c;
  const P = c.ctx.P;
  const { dqk } = h;
  const nPb = c.pad(n);
  for (let p = 0; p < nPb / P; p++) {
    for (let col = 0; col < dqk; col++) {
      for (let jj = 0; jj < P; jj++) {
        const j = p * P + jj;
        KP[(p * dqk + col) * P + jj] = j < n ? QKV[(base + j) * T + h.kOff + col] : 0;
      }
    }
  }
}

/** Values as panels of P columns: VP[p][j][jj] = v_j[P·p+jj] (0 past dov). */
function packValues(c: Chunk, h: HeadPlan, base: number, n: number): void {
  const { VP, QKV, T } = c;
  const P = c.ctx.P;
  const { dov } = h;
  for (let p = 0; p < c.pad(dov) / P; p++) {
    for (let j = 0; j < n; j++) {
      for (let jj = 0; jj < P; jj++) {
        const col = p * P + jj;
        VP[(p * n + j) * P + jj] = col < dov ? QKV[(base + j) * T + h.vOff + col] : 0;
      }
    }
  }
}

/** Scores S[i − i0][j] = ⟨q_i, k_j⟩ (c ascending) for the strip's rows, up to the diagonal block for a causal head. */
function scores(c: Chunk, h: HeadPlan, base: number, n: number, i0: number, rows: number): void {
  const { ctx, QKV, S, KP, T } = c;
  const P = ctx.P;
  const { dqk } = h;
  const nPb = c.pad(n);
  const nrb = Math.ceil(rows / 4);
  const qo = (base + i0) * T + h.qOff;
  if (h.causal) {
    for (let rb = 0; rb < nrb; rb++) {
      const np = Math.min(Math.ceil((i0 + 4 * rb + 4) / P), nPb / P);
      productIdent(ctx, QKV, qo + 4 * rb * T, T, 1, S, 4 * rb * nPb, nPb, KP, dqk * P, dqk, np);
    }
  } else {
    productIdent(ctx, QKV, qo, T, nrb, S, 0, nPb, KP, dqk * P, dqk, nPb / P);
  }
}

/**
 * Query row i: scale its scores, find best, ties and runner-up (the margin, kept in the tracker
 * when it is the smallest yet), then the hard average into AO, or the softmax weights in place.
 */
function scanRow(c: Chunk, h: HeadPlan, base: number, n: number, i0: number, i: number, tr: AttentionTracker, site: LayerSite): void {
  const { S, QKV, AO, stat, T, A } = c;
  const f64 = c.plan.precision === 'f64';
  const { causal, dov } = h;
  const so = (i - i0) * c.pad(n);
  const cnt = causal ? i + 1 : n;
  if (f64) stats64(S as Float64Array, so, cnt, h.unitScale, h.scale, stat);
  else stats32(S as Float32Array, so, cnt, h.unitScale, h.scale, stat);
  const best = stat[0];
  const nBest = stat[1];
  if (cnt > 1) {
    const gap = nBest > 1 ? 0 : best - stat[2];
    if (nBest > 1) tr.ties++;
    if (gap < tr.attention) {
      tr.attention = gap;
      tr.site = { ...site, head: h.name, position: i };
    }
  }
  if (h.hard) {
    const ao = (base + i) * A + h.aoOff;
    if (f64) hardRow64(S as Float64Array, so, cnt, best, nBest, stat[3], QKV as Float64Array, base * T + h.vOff, T, dov, AO as Float64Array, ao);
    else hardRow32(S as Float32Array, so, cnt, best, nBest, stat[3], QKV as Float32Array, base * T + h.vOff, T, dov, AO as Float32Array, ao);
  } else {
    const end = causal ? Math.min(i0 + 4 * Math.floor((i - i0) / 4) + 4, n) : n;
    if (f64) softmaxRow64(S as Float64Array, so, cnt, best, end);
    else softmaxRow32(S as Float32Array, so, cnt, best, end);
  }
}

/** A softmax head's strip output O[i − i0] = Σ_j w_ij v_j (j ascending), then into the head's columns of AO. */
function softmaxOutput(c: Chunk, h: HeadPlan, base: number, n: number, i0: number, rows: number): void {
  const { ctx, S, OH, VP, AO, dovP, A } = c;
  const P = ctx.P;
  const { dov } = h;
  const nPb = c.pad(n);
  const nrb = Math.ceil(rows / 4);
  const npv = c.pad(dov) / P;
  if (h.causal) {
    for (let rb = 0; rb < nrb; rb++) {
      const nk = Math.min(i0 + 4 * rb + 4, n);
      productIdent(ctx, S, 4 * rb * nPb, nPb, 1, OH, 4 * rb * dovP, dovP, VP, n * P, nk, npv);
    }
  } else {
    productIdent(ctx, S, 0, nPb, nrb, OH, 0, dovP, VP, n * P, n, npv);
  }
  for (let i = i0; i < i0 + rows; i++) {
    const ao = (base + i) * A + h.aoOff;
    const oh = (i - i0) * dovP;
    for (let col = 0; col < dov; col++) AO[ao + col] = OH[oh + col];
  }
}
