// The float32 kernels: kernels64.ts with every + and × rounded to single precision, exactly where
// the generic float32 number system (arithmetic/float.ts) rounds and in the same order, so results
// are bit-identical to the generic float32 interpreter's. Arrays are Float32Arrays; a store into
// one rounds, which stands in for Math.fround where a sum is stored straight away
// (Y[i] += fr(x·w) is fr(Y[i] + fr(x·w))). Keep this file in step with kernels64.ts.
import type { CsrMat } from './compile.ts';

const fr = Math.fround;

export function csr32(m: CsrMat, X: Float32Array, xo: number, xs: number, R: number, Y: Float32Array, yo: number, ys: number): void {
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
      for (let p = ptr[k], e = ptr[k + 1]; p < e; p++) Y[y0 + col[p]] += fr(u * val[p]);
    }
  }
}

export function panels32(
  P: number,
  X: Float32Array,
  xo: number,
  xs: number,
  Y: Float32Array,
  yo: number,
  ys: number,
  W: Float32Array,
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
          a0 = fr(a0 + fr(u * w0));
          a1 = fr(a1 + fr(u * w1));
          a2 = fr(a2 + fr(u * w2));
          a3 = fr(a3 + fr(u * w3));
          u = X[x1 + k];
          b0 = fr(b0 + fr(u * w0));
          b1 = fr(b1 + fr(u * w1));
          b2 = fr(b2 + fr(u * w2));
          b3 = fr(b3 + fr(u * w3));
          u = X[x2 + k];
          c0 = fr(c0 + fr(u * w0));
          c1 = fr(c1 + fr(u * w1));
          c2 = fr(c2 + fr(u * w2));
          c3 = fr(c3 + fr(u * w3));
          u = X[x3 + k];
          d0 = fr(d0 + fr(u * w0));
          d1 = fr(d1 + fr(u * w1));
          d2 = fr(d2 + fr(u * w2));
          d3 = fr(d3 + fr(u * w3));
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

export function stats32(S: Float32Array, so: number, cnt: number, unitScale: boolean, scale: number, out: Float64Array): void {
  if (!unitScale) for (let j = so; j < so + cnt; j++) S[j] = fr(scale * S[j]);
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

export function hardRow32(
  S: Float32Array,
  so: number,
  cnt: number,
  best: number,
  nBest: number,
  at: number,
  QKV: Float32Array,
  vo: number,
  T: number,
  dov: number,
  AO: Float32Array,
  ao: number,
): void {
  const share = fr(1 / nBest);
  for (let j = at; j < cnt; j++) {
    if (S[so + j] !== best) continue;
    const v = vo + j * T;
    for (let c = 0; c < dov; c++) AO[ao + c] += fr(share * QKV[v + c]);
    if (nBest === 1) return;
  }
}

export function softmaxRow32(S: Float32Array, so: number, cnt: number, best: number, end: number): void {
  let sum = 0;
  for (let j = so; j < so + cnt; j++) {
    const e = fr(Math.exp(fr(S[j] - best)));
    S[j] = e;
    sum = fr(sum + e);
  }
  for (let j = so; j < so + cnt; j++) S[j] = fr(S[j] / sum);
  S.fill(0, so + cnt, so + end);
}
