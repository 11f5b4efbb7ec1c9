// The float64 kernels written in JavaScript: CSR products, the portable fallback of the WebAssembly
// panel product, and the per-row work of attention (scale, best and second-best score, hard
// average, softmax).
//
// Every sum runs in the order the generic interpreter (simulators/forward.ts) uses: a product
// y = x W adds x[k]·W[k][c] into y[c] for k ascending, starting from 0; an attention output adds
// w_j·v_j for j ascending. Terms the generic path skips because a factor is zero add ±0 here,
// which changes no value. So float64 results are bit-identical to the generic float64's.
//
// kernels32.ts is the same code with Math.fround after every + and ×. Keep the two in step.
import type { CsrMat } from './compile.ts';

/** Y[r, yo + c] += Σ_k X[r, xo + k] · W[k, c] for r < R over the CSR entries (row strides xs, ys). */
export function csr64(m: CsrMat, X: Float64Array, xo: number, xs: number, R: number, Y: Float64Array, yo: number, ys: number): void {
  const { rows, ptr, col } = m;
  const val = m.val as Float64Array;
  const nk = rows.length;
  for (let r = 0; r < R; r++) {
    const x0 = r * xs + xo;
    const y0 = r * ys + yo;
    for (let kk = 0; kk < nk; kk++) {
      const k = rows[kk];
      const u = X[x0 + k];
      if (u === 0) continue;
      for (let p = ptr[k], e = ptr[k + 1]; p < e; p++) Y[y0 + col[p]] += u * val[p];
    }
  }
}

/**
 * The panel product of wasm.ts in plain JavaScript (the fallback where WebAssembly SIMD is
 * missing, and a cross-check of it): rows 4·rb .. 4·rb+3 for rb < nrb, panels p < np of P columns
 * stored at W[wo + p·ps …], input rows X[·, rows[ro + kk]] for kk < nk. Offsets are in elements.
 */
export function panels64(
  P: number,
  X: Float64Array,
  xo: number,
  xs: number,
  Y: Float64Array,
  yo: number,
  ys: number,
  W: Float64Array,
  wo: number,
  ps: number,
  nk: number,
  rows: Int32Array,
  ro: number,
  nrb: number,
  np: number,
  init: boolean,
): void {
  // Four rows × four columns of a panel at a time, sixteen sums in locals (P is a multiple of 4).
  for (let rb = 0; rb < nrb; rb++) {
    const x0 = xo + 4 * rb * xs;
    const x1 = x0 + xs;
    const x2 = x1 + xs;
    const x3 = x2 + xs;
    for (let p = 0; p < np; p++) {
      for (let j = 0; j < P; j += 4) {
        const y0 = yo + 4 * rb * ys + p * P + j;
        const y1 = y0 + ys;
        const y2 = y1 + ys;
        const y3 = y2 + ys;
        let a0 = init ? 0 : Y[y0 + 0];
        let a1 = init ? 0 : Y[y0 + 1];
        let a2 = init ? 0 : Y[y0 + 2];
        let a3 = init ? 0 : Y[y0 + 3];
        let b0 = init ? 0 : Y[y1 + 0];
        let b1 = init ? 0 : Y[y1 + 1];
        let b2 = init ? 0 : Y[y1 + 2];
        let b3 = init ? 0 : Y[y1 + 3];
        let c0 = init ? 0 : Y[y2 + 0];
        let c1 = init ? 0 : Y[y2 + 1];
        let c2 = init ? 0 : Y[y2 + 2];
        let c3 = init ? 0 : Y[y2 + 3];
        let d0 = init ? 0 : Y[y3 + 0];
        let d1 = init ? 0 : Y[y3 + 1];
        let d2 = init ? 0 : Y[y3 + 2];
        let d3 = init ? 0 : Y[y3 + 3];
        for (let kk = 0, wi = wo + p * ps + j; kk < nk; kk++, wi += P) {
          const k = rows[ro + kk];
          const w0 = W[wi];
          const w1 = W[wi + 1];
          const w2 = W[wi + 2];
          const w3 = W[wi + 3];
          let u = X[x0 + k];
          a0 += u * w0;
          a1 += u * w1;
          a2 += u * w2;
          a3 += u * w3;
          u = X[x1 + k];
          b0 += u * w0;
          b1 += u * w1;
          b2 += u * w2;
          b3 += u * w3;
          u = X[x2 + k];
          c0 += u * w0;
          c1 += u * w1;
          c2 += u * w2;
          c3 += u * w3;
          u = X[x3 + k];
          d0 += u * w0;
          d1 += u * w1;
          d2 += u * w2;
          d3 += u * w3;
        }
        Y[y0 + 0] = a0;
        Y[y0 + 1] = a1;
        Y[y0 + 2] = a2;
        Y[y0 + 3] = a3;
        Y[y1 + 0] = b0;
        Y[y1 + 1] = b1;
        Y[y1 + 2] = b2;
        Y[y1 + 3] = b3;
        Y[y2 + 0] = c0;
        Y[y2 + 1] = c1;
        Y[y2 + 2] = c2;
        Y[y2 + 3] = c3;
        Y[y3 + 0] = d0;
        Y[y3 + 1] = d1;
        Y[y3 + 2] = d2;
        Y[y3 + 3] = d3;
      }
    }
  }
}

/**
 * Scales a row of cnt scores in place (unless the scale is exactly 1, as the generic path does) and
 * writes [best, how many reach it, best of the others (−∞ if none), first index of the best].
 */
export function stats64(S: Float64Array, so: number, cnt: number, unitScale: boolean, scale: number, out: Float64Array): void {
  if (!unitScale) for (let j = so; j < so + cnt; j++) S[j] = scale * S[j];
  let best = S[so];
  let at = 0;
  let nBest = 1;
  let second = -Infinity;
  for (let j = 1; j < cnt; j++) {
    const s = S[so + j];
    if (s > best) {
      second = best;
      best = s;
      at = j;
      nBest = 1;
    } else if (s === best) nBest++;
    else if (s > second) second = s;
  }
  out[0] = best;
  out[1] = nBest;
  out[2] = second;
  out[3] = at;
}

/**
 * Hard attention for one query: AO[ao + c] += (1/nBest)·v_j[c] over the tied best keys j ascending,
 * where v_j[c] = QKV[vo + j·T + c].
 */
export function hardRow64(
  S: Float64Array,
  so: number,
  cnt: number,
  best: number,
  nBest: number,
  at: number,
  QKV: Float64Array,
  vo: number,
  T: number,
  dov: number,
  AO: Float64Array,
  ao: number,
): void {
  const share = 1 / nBest;
  for (let j = at; j < cnt; j++) {
    if (S[so + j] !== best) continue;
    const v = vo + j * T;
    for (let c = 0; c < dov; c++) AO[ao + c] += share * QKV[v + c];
    if (nBest === 1) return;
  }
}

/** Softmax of a row in place, as float.ts computes it (exp(s − max), summed in order, divided); zeros [cnt, end). */
export function softmaxRow64(S: Float64Array, so: number, cnt: number, best: number, end: number): void {
  let sum = 0;
  for (let j = so; j < so + cnt; j++) {
    const e = Math.exp(S[j] - best);
    S[j] = e;
    sum += e;
  }
  for (let j = so; j < so + cnt; j++) S[j] = S[j] / sum;
  S.fill(0, so + cnt, so + end);
}
