// The float64 kernels: products with a weight matrix, and one attention head over one sequence.
//
// Every sum runs in the order the generic interpreter (simulators/forward.ts) uses: a product
// y = x W adds x[k]·W[k][c] into y[c] for k ascending, starting from y's current value; a score
// adds q[c]·k[c] for c ascending; an attention output adds w_j·v_j for j ascending. Terms the
// generic path skips because a factor is zero add ±0 here, which changes no value. So float64
// results are bit-identical to the generic float64 interpreter's.
//
// kernels32.ts is the same code with Math.fround after every + and × (kept in step by hand; the
// tests compare both with the generic interpreter).
import type { CsrMat, DenseMat, HeadPlan, Mat } from './compile.ts';

/**
 * Y[r, yo + c] += Σ_k X[r, xo + k] · W[k, c] for rows r < R, where X has row stride xs and Y row
 * stride ys. W's zero rows and the columns outside its window are skipped.
 */
export function gemm64(m: Mat, X: Float64Array, xs: number, xo: number, R: number, Y: Float64Array, ys: number, yo: number): void {
  if (m.kind === 'dense') dense64(m, X, xs, xo, R, Y, ys, yo);
  else csr64(m, X, xs, xo, R, Y, ys, yo);
}

function dense64(m: DenseMat, X: Float64Array, xs: number, xo: number, R: number, Y: Float64Array, ys: number, yo: number): void {
  const rows = m.rows;
  const nk = rows.length;
  const width = m.width;
  const w = m.w as Float64Array;
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
        a0 += u * w0;
        a1 += u * w1;
        u = X[x1 + k];
        b0 += u * w0;
        b1 += u * w1;
        u = X[x2 + k];
        c0 += u * w0;
        c1 += u * w1;
        u = X[x3 + k];
        d0 += u * w0;
        d1 += u * w1;
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
        a += X[x0 + k] * wv;
        b += X[x1 + k] * wv;
        e += X[x2 + k] * wv;
        f += X[x3 + k] * wv;
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
        a0 += u * w[wi];
        a1 += u * w[wi + 1];
      }
      Y[y0 + c] = a0;
      Y[y0 + c + 1] = a1;
    }
    if (c < width) {
      let a = Y[y0 + c];
      for (let kk = 0, wi = c * nk; kk < nk; kk++, wi++) a += X[x0 + rows[kk]] * w[wi];
      Y[y0 + c] = a;
    }
  }
}

function csr64(m: CsrMat, X: Float64Array, xs: number, xo: number, R: number, Y: Float64Array, ys: number, yo: number): void {
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
 * One head over one sequence of n rows starting at row `base`: reads q, k, v from the packed QKV
 * activations (row stride T), adds the head's output into AO (row stride aoW, zeroed by the caller),
 * and writes into stat [smallest gap, its first position, sites with a tie] as the generic
 * interpreter defines them. S (≥ n) and KT (≥ dqk·n) are scratch.
 */
export function attend64(
  QKV: Float64Array,
  T: number,
  base: number,
  n: number,
  h: HeadPlan,
  AO: Float64Array,
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
      for (let j = 0; j < cnt; j++) S[j] += qc * KT[kt + j];
    }
    if (!unitScale) for (let j = 0; j < cnt; j++) S[j] = scale * S[j];
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
      const share = 1 / nBest;
      for (let j = 0; j < cnt; j++) {
        if (S[j] !== best) continue;
        const vr = (base + j) * T + vOff;
        for (let c = 0; c < dov; c++) AO[ao + c] += share * QKV[vr + c];
      }
    } else {
      // Stable softmax, as float.ts computes it: exp(s − max), summed in order, then divided.
      let sum = 0;
      for (let j = 0; j < cnt; j++) {
        const e = Math.exp(S[j] - best);
        S[j] = e;
        sum += e;
      }
      for (let j = 0; j < cnt; j++) {
        const wj = S[j] / sum;
        if (wj === 0) continue;
        const vr = (base + j) * T + vOff;
        for (let c = 0; c < dov; c++) AO[ao + c] += wj * QKV[vr + c];
      }
    }
  }
  stat[0] = minGap;
  stat[1] = minAt;
  stat[2] = ties;
}
