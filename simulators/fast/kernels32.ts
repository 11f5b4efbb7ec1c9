// The float32 kernels: kernels64.ts with every + and × rounded to single precision, exactly where
// the generic float32 number system (arithmetic/float.ts) rounds, and in the same order, so the
// results are bit-identical to the generic float32 interpreter's. Activations and weights are
// Float32Arrays; a store into one rounds, which stands in for Math.fround where a sum is stored
// straight away (Y[i] += fr(x·w) is fr(Y[i] + fr(x·w))). Scratch score rows are Float64Arrays
// holding float32 values. Keep this file in step with kernels64.ts.
import type { CsrMat, DenseMat, HeadPlan, Mat } from './compile.ts';

const fr = Math.fround;

/**
 * Y[r, yo + c] += Σ_k X[r, xo + k] · W[k, c] for rows r < R, where X has row stride xs and Y row
 * stride ys. W's zero rows and the columns outside its window are skipped.
 */
export function gemm32(m: Mat, X: Float32Array, xs: number, xo: number, R: number, Y: Float32Array, ys: number, yo: number): void {
  if (m.kind === 'dense') dense32(m, X, xs, xo, R, Y, ys, yo);
  else csr32(m, X, xs, xo, R, Y, ys, yo);
}

function dense32(m: DenseMat, X: Float32Array, xs: number, xo: number, R: number, Y: Float32Array, ys: number, yo: number): void {
  const rows = m.rows;
  const nk = rows.length;
  const width = m.width;
  const w = m.w as Float32Array;
  if (nk === 0 || width === 0) return;
  const yc = yo + m.c0;
  let r = 0;
  // Four rows at a time: each weight is loaded once for four rows, eight sums live in registers.
  for (; r + 4 <= R; r += 4) {
    const x0 = r * xs + xo;
    const x1 = x0 + xs;
    const x2 = x1 + xs;
    const x3 = x2 + xs;
    const y0 = r * ys + yc;
    const y1 = y0 + ys;
    const y2 = y1 + ys;
    const y3 = y2 + ys;
    let c = 0;
    for (; c + 2 <= width; c += 2) {
      let a0 = Y[y0 + c];
      let a1 = Y[y0 + c + 1];
      let b0 = Y[y1 + c];
      let b1 = Y[y1 + c + 1];
      let c0 = Y[y2 + c];
      let c1 = Y[y2 + c + 1];
      let d0 = Y[y3 + c];
      let d1 = Y[y3 + c + 1];
      for (let kk = 0, wi = c * nk; kk < nk; kk++, wi += 2) {
        const k = rows[kk];
        const w0 = w[wi];
        const w1 = w[wi + 1];
        let u = X[x0 + k];
        a0 = fr(a0 + fr(u * w0));
        a1 = fr(a1 + fr(u * w1));
        u = X[x1 + k];
        b0 = fr(b0 + fr(u * w0));
        b1 = fr(b1 + fr(u * w1));
        u = X[x2 + k];
        c0 = fr(c0 + fr(u * w0));
        c1 = fr(c1 + fr(u * w1));
        u = X[x3 + k];
        d0 = fr(d0 + fr(u * w0));
        d1 = fr(d1 + fr(u * w1));
      }
      Y[y0 + c] = a0;
      Y[y0 + c + 1] = a1;
      Y[y1 + c] = b0;
      Y[y1 + c + 1] = b1;
      Y[y2 + c] = c0;
      Y[y2 + c + 1] = c1;
      Y[y3 + c] = d0;
      Y[y3 + c + 1] = d1;
    }
    if (c < width) {
      // The last, one-column panel.
      let a = Y[y0 + c];
      let b = Y[y1 + c];
      let e = Y[y2 + c];
      let f = Y[y3 + c];
      for (let kk = 0, wi = c * nk; kk < nk; kk++, wi++) {
        const k = rows[kk];
        const wv = w[wi];
        a = fr(a + fr(X[x0 + k] * wv));
        b = fr(b + fr(X[x1 + k] * wv));
        e = fr(e + fr(X[x2 + k] * wv));
        f = fr(f + fr(X[x3 + k] * wv));
      }
      Y[y0 + c] = a;
      Y[y1 + c] = b;
      Y[y2 + c] = e;
      Y[y3 + c] = f;
    }
  }
  for (; r < R; r++) {
    const x0 = r * xs + xo;
    const y0 = r * ys + yc;
    let c = 0;
    for (; c + 2 <= width; c += 2) {
      let a0 = Y[y0 + c];
      let a1 = Y[y0 + c + 1];
      for (let kk = 0, wi = c * nk; kk < nk; kk++, wi += 2) {
        const u = X[x0 + rows[kk]];
        a0 = fr(a0 + fr(u * w[wi]));
        a1 = fr(a1 + fr(u * w[wi + 1]));
      }
      Y[y0 + c] = a0;
      Y[y0 + c + 1] = a1;
    }
    if (c < width) {
      let a = Y[y0 + c];
      for (let kk = 0, wi = c * nk; kk < nk; kk++, wi++) a = fr(a + fr(X[x0 + rows[kk]] * w[wi]));
      Y[y0 + c] = a;
    }
  }
}

function csr32(m: CsrMat, X: Float32Array, xs: number, xo: number, R: number, Y: Float32Array, ys: number, yo: number): void {
  const { rows, ptr, col } = m;
  const val = m.val as Float32Array;
  const nk = rows.length;
  for (let r = 0; r < R; r++) {
    const x0 = r * xs + xo;
    const y0 = r * ys + yo;
    for (let kk = 0; kk < nk; kk++) {
      const k = rows[kk];
      const u = X[x0 + k];
      if (u === 0) continue;
      for (let p = ptr[k], e = ptr[k + 1]; p < e; p++) Y[y0 + col[p]] += fr(u * val[p]); // the store rounds the sum
    }
  }
}

/**
 * One head over one sequence of n rows starting at row `base`: reads q, k, v from the packed QKV
 * activations (row stride T), adds the head's output into AO (row stride aoW, zeroed by the caller),
 * and writes into stat [smallest gap, its first position, sites with a tie] as the generic
 * interpreter defines them. S (≥ n) and KT (≥ dqk·n) are scratch.
 */
export function attend32(
  QKV: Float32Array,
  T: number,
  base: number,
  n: number,
  h: HeadPlan,
  AO: Float32Array,
  aoW: number,
  S: Float64Array,
  KT: Float64Array,
  stat: Float64Array,
): void {
  const { dqk, dov, qOff, kOff, vOff, aoOff, hard, causal, unitScale, scale } = h;
  // Keys transposed (dqk × n) so each query's scores are axpys over contiguous memory.
  for (let j = 0; j < n; j++) {
    const kr = (base + j) * T + kOff;
    for (let c = 0; c < dqk; c++) KT[c * n + j] = QKV[kr + c];
  }
  let minGap = Infinity;
  let minAt = -1;
  let ties = 0;
  for (let i = 0; i < n; i++) {
    const cnt = causal ? i + 1 : n;
    S.fill(0, 0, cnt);
    const qr = (base + i) * T + qOff;
    for (let c = 0; c < dqk; c++) {
      const qc = QKV[qr + c];
      if (qc === 0) continue;
      const kt = c * n;
      for (let j = 0; j < cnt; j++) S[j] = fr(S[j] + fr(qc * KT[kt + j]));
    }
    if (!unitScale) for (let j = 0; j < cnt; j++) S[j] = fr(scale * S[j]);
    // Best score, how many reach it, and the best of the others.
    let best = S[0];
    let nBest = 1;
    let second = -Infinity;
    for (let j = 1; j < cnt; j++) {
      const s = S[j];
      if (s > best) {
        second = best;
        best = s;
        nBest = 1;
      } else if (s === best) nBest++;
      else if (s > second) second = s;
    }
    if (cnt > 1) {
      const gap = nBest > 1 ? 0 : best - second;
      if (nBest > 1) ties++;
      if (gap < minGap) {
        minGap = gap;
        minAt = i;
      }
    }
    const ao = (base + i) * aoW + aoOff;
    if (hard) {
      const share = fr(1 / nBest);
      for (let j = 0; j < cnt; j++) {
        if (S[j] !== best) continue;
        const vr = (base + j) * T + vOff;
        for (let c = 0; c < dov; c++) AO[ao + c] += fr(share * QKV[vr + c]);
      }
    } else {
      // Stable softmax, as float.ts computes it: exp(s − max), summed in order, then divided.
      let sum = 0;
      for (let j = 0; j < cnt; j++) {
        const e = fr(Math.exp(fr(S[j] - best)));
        S[j] = e;
        sum = fr(sum + e);
      }
      for (let j = 0; j < cnt; j++) {
        const wj = fr(S[j] / sum);
        if (wj === 0) continue;
        const vr = (base + j) * T + vOff;
        for (let c = 0; c < dov; c++) AO[ao + c] += fr(wj * QKV[vr + c]);
      }
    }
  }
  stat[0] = minGap;
  stat[1] = minAt;
  stat[2] = ties;
}
