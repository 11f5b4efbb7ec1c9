// The batched forward pass over a compiled plan. A batch of sequences (of any lengths) is packed
// into one [rows × d] activation array, sequence after sequence, so each product with a weight
// matrix runs over the whole batch at once and reuses every weight across it; attention, masks and
// readouts work sequence by sequence on their own rows. Large batches are cut into chunks of whole
// sequences to bound memory.
//
// Memory. Everything the kernels touch lives in one WebAssembly.Memory per thread (a workspace):
// the dense weight panels, the activations and the attention scratch. Each chunk lays its arrays
// out from address 0 (growing the memory first if needed), so nothing is freed and nothing leaks;
// the memory keeps its largest size until the thread ends.
//
// Layout. Activation rows are padded to a whole number of panels (padded(precision, width)) and
// every array has 4 spare rows, because the products work on blocks of 4 rows and whole panels;
// what they write into padding is never read back into a real row.
//
// Attention per (sequence, head) runs in strips of STRIP rows: the scores of a strip are one panel
// product of its queries with the keys packed as panels (causal heads stop at the diagonal block),
// each row is then scanned in JavaScript (scale, best/second/ties for the margins, hard average or
// softmax), and a softmax head's output is a second panel product of the weights with the values.
//
// This module needs nothing but the plan and plain inputs (masks come in as a callback), so a
// worker thread can run it on its share of a batch.
import type { Arr, Mat, Plan, Precision } from './compile.ts';
import { padded, panelWidth } from './compile.ts';
import { csr32, hardRow32, panels32, softmaxRow32, stats32 } from './kernels32.ts';
import { csr64, hardRow64, panels64, softmaxRow64, stats64 } from './kernels64.ts';
import { type GemmKernel, type WasmKernels, type WasmMemory, instantiateKernels, newMemory } from './wasm.ts';
import type { AttentionSite, Readout, RunResult } from '../result.ts';

/** M^t(i) for stage s, loop t (1-based within the stage), sequence length len; true = recompute. */
export type MaskFn = (stage: number, t: number, len: number) => ArrayLike<boolean | number>;

/** At most this many rows (positions, summed over the sequences) go through the layers together. */
export const CHUNK_ROWS = 4096;
/** Query rows per attention strip (a multiple of 4): the score scratch is STRIP × n. */
const STRIP = 64;

// ---------------------------------------------------------------- backend and workspace

export type Backend = 'wasm' | 'js';
let wanted: Backend = 'wasm';
let kernels: WasmKernels | null | undefined;
let memory: WasmMemory | null = null;

/**
 * Chooses the panel product: WebAssembly SIMD (the default, where the engine has it) or the plain
 * JavaScript fallback. Both give the same bits; the switch exists to test one against the other.
 */
export function setBackend(b: Backend): void {
  wanted = b;
}

/** The backend runs use now: 'js' where WebAssembly SIMD is missing, whatever was asked. */
export function backend(): Backend {
  if (kernels === undefined) kernels = instantiateKernels();
  return wanted === 'wasm' && kernels !== null ? 'wasm' : 'js';
}

function workspace(bytes: number): WasmMemory {
  if (kernels === undefined) kernels = instantiateKernels();
  if (memory === null) memory = kernels?.memory ?? newMemory();
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
  return memory;
}

const align = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Hands out typed arrays over the workspace, in order, from address 0. */
class Arena {
  private top = 0;
  constructor(
    private readonly buffer: ArrayBuffer,
    private readonly precision: Precision,
  ) {}
  take(n: number): Arr {
    const a = this.precision === 'f64' ? new Float64Array(this.buffer, this.top, n) : new Float32Array(this.buffer, this.top, n);
    this.top += align(n * a.BYTES_PER_ELEMENT);
    return a;
  }
  takeI32(n: number): Int32Array {
    const a = new Int32Array(this.buffer, this.top, n);
    this.top += align(n * 4);
    return a;
  }
}

/** A dense matrix copied into the workspace: its panels and its row table as byte offsets. */
interface Loaded {
  w: Arr;
  rowBytes: Int32Array;
}

/** Everything one chunk computes with. */
interface Ctx {
  readonly precision: Precision;
  readonly P: number;
  readonly bytes: number;
  readonly gemm: GemmKernel | null;
  readonly loaded: Map<Mat, Loaded>;
  /** 0, 1, 2, … as element indices (JS fallback) and as byte offsets (wasm). */
  readonly ident: Int32Array;
  readonly identBytes: Int32Array;
}

/**
 * Y = X · W on rows 0..R−1 (rounded up to a block of 4), into Y's zeroed rows at column offset yo.
 * Offsets and strides are in elements.
 */
function product(ctx: Ctx, m: Mat, X: Arr, xo: number, xs: number, R: number, Y: Arr, yo: number, ys: number): void {
  if (m.kind === 'csr') {
    if (ctx.precision === 'f64') csr64(m, X as Float64Array, xo, xs, R, Y as Float64Array, yo, ys);
    else csr32(m, X as Float32Array, xo, xs, R, Y as Float32Array, yo, ys);
    return;
  }
  const nk = m.rows.length;
  if (nk === 0 || m.width === 0 || R === 0) return;
  const L = ctx.loaded.get(m)!;
  const { P, bytes } = ctx;
  const nrb = Math.ceil(R / 4);
  const np = m.width / P;
  if (ctx.gemm) {
    ctx.gemm(X.byteOffset + xo * bytes, xs * bytes, Y.byteOffset + (yo + m.c0) * bytes, ys * bytes, L.w.byteOffset, nk * 32, nk, L.rowBytes.byteOffset, nrb, np, 1);
  } else {
    panelsJs(ctx, X, xo, xs, Y, yo + m.c0, ys, L.w, 0, nk * P, nk, m.rows, nrb, np);
  }
}

/** The panel product on workspace arrays whose row table is the identity (attention's products). */
function productIdent(ctx: Ctx, X: Arr, xo: number, xs: number, nrb: number, Y: Arr, yo: number, ys: number, W: Arr, ps: number, nk: number, np: number): void {
  if (np === 0 || nrb === 0) return;
  if (nk === 0) {
    // An empty sum (a head with a 0-dimensional query/key space): every entry is 0.
    for (let r = 0; r < 4 * nrb; r++) Y.fill(0, yo + r * ys, yo + r * ys + np * ctx.P);
    return;
  }
  const { bytes } = ctx;
  if (ctx.gemm) ctx.gemm(X.byteOffset + xo * bytes, xs * bytes, Y.byteOffset + yo * bytes, ys * bytes, W.byteOffset, ps * bytes, nk, ctx.identBytes.byteOffset, nrb, np, 1);
  else panelsJs(ctx, X, xo, xs, Y, yo, ys, W, 0, ps, nk, ctx.ident, nrb, np);
}

function panelsJs(ctx: Ctx, X: Arr, xo: number, xs: number, Y: Arr, yo: number, ys: number, W: Arr, wo: number, ps: number, nk: number, rows: Int32Array, nrb: number, np: number): void {
  if (ctx.precision === 'f64') panels64(ctx.P, X as Float64Array, xo, xs, Y as Float64Array, yo, ys, W as Float64Array, wo, ps, nk, rows, 0, nrb, np, true);
  else panels32(ctx.P, X as Float32Array, xo, xs, Y as Float32Array, yo, ys, W as Float32Array, wo, ps, nk, rows, 0, nrb, np, true);
}

// ---------------------------------------------------------------- the pass

export interface Tracker {
  attention: number;
  site: AttentionSite | null;
  ties: number;
}

/** What one chunk computes, compactly (so a worker can hand it back as one transferable buffer). */
export interface RawChunk {
  /** Logits, V per readout row: every position of every sequence (readout 'all') or the last ones. */
  logits: Float64Array;
  trackers: Tracker[];
}

/** Splits a batch into chunks of whole sequences with at most chunkRows rows (a longer sequence is a chunk alone). */
export function chunks<T extends { length: number }>(inputs: readonly T[], chunkRows = CHUNK_ROWS): T[][] {
  const out: T[][] = [];
  let start = 0;
  while (start < inputs.length) {
    let end = start;
    let rows = 0;
    while (end < inputs.length && (end === start || rows + inputs[end].length <= chunkRows)) rows += inputs[end++].length;
    out.push(inputs.slice(start, end));
    start = end;
  }
  return out;
}

/**
 * Runs the plan on every input (already checked against the model) and returns one result each,
 * in input order. `name` is the interpreter name the results carry.
 */
export function runPlan(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn, name: string, chunkRows = CHUNK_ROWS): RunResult[] {
  return chunks(inputs, chunkRows).flatMap((part) => assemble(plan, part, computeChunk(plan, part, masks), name));
}

function denseMats(plan: Plan): Mat[] {
  const ms: Mat[] = [plan.U];
  for (const l of plan.layers) {
    if (l.W_QKV) ms.push(l.W_QKV, l.W_O!);
    if (l.mlp) ms.push(l.mlp.W_in, l.mlp.W_out);
  }
  return [...new Set(ms)].filter((m) => m.kind === 'dense');
}

/** The forward pass of one chunk: every layer over the packed rows, then the readout logits. */
export function computeChunk(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn): RawChunk {
  const { d, precision, V } = plan;
  const f64 = precision === 'f64';
  const P = panelWidth(precision);
  const bytes = f64 ? 8 : 4;
  const pad = (n: number) => padded(precision, n);
  const B = inputs.length;
  const offs = new Int32Array(B + 1);
  let maxN = 0;
  for (let b = 0; b < B; b++) {
    offs[b + 1] = offs[b] + inputs[b].length;
    maxN = Math.max(maxN, inputs[b].length);
  }
  const R = offs[B];
  const Rp = R + 4;

  // Sizes: activation row strides (padded) and the attention scratch.
  let T = 0;
  let A = 0;
  let Hs = 0;
  let dqkMax = 0;
  let dovMax = 0;
  for (const l of plan.layers) {
    T = Math.max(T, pad(l.qkvWidth));
    A = Math.max(A, pad(l.aoWidth));
    Hs = Math.max(Hs, pad(l.mlp?.hidden ?? 0));
    for (const h of l.heads) {
      dqkMax = Math.max(dqkMax, h.dqk);
      dovMax = Math.max(dovMax, h.dov);
    }
  }
  const D = pad(d);
  const VS = pad(V);
  const nP = pad(maxN);
  const dovP = pad(dovMax);
  const hasMask = plan.stages.some((s) => s.hasMask);
  const lRows = plan.readoutAll ? Rp : B + 4;
  const mats = denseMats(plan);
  const identLen = Math.max(nP, dqkMax, 1);

  const elems = [
    ...mats.map((m) => (m as { w: Arr }).w.length),
    Rp * D, // X
    Rp * D, // OUT
    hasMask ? Rp * D : 0, // before
    Rp * T, // QKV
    Rp * A, // AO
    Rp * Hs, // H
    (B + 4) * D, // G
    lRows * VS, // L
    STRIP * nP, // S
    nP * dqkMax, // keys, packed
    dovP * nP, // values, packed
    STRIP * dovP, // a head's output strip
  ];
  const ints = [...mats.map((m) => m.rows.length), identLen, identLen];
  const total = elems.reduce((s, n) => s + align(n * bytes), 0) + ints.reduce((s, n) => s + align(n * 4), 0);
  const arena = new Arena(workspace(total).buffer, precision);

  const loaded = new Map<Mat, Loaded>();
  for (const m of mats) {
    const src = (m as { w: Arr }).w;
    const w = arena.take(src.length);
    w.set(src);
    const rowBytes = arena.takeI32(m.rows.length);
    for (let k = 0; k < m.rows.length; k++) rowBytes[k] = m.rows[k] * bytes;
    loaded.set(m, { w, rowBytes });
  }
  const X = arena.take(Rp * D);
  const OUT = arena.take(Rp * D);
  const saved = hasMask ? arena.take(Rp * D) : null;
  const QKV = arena.take(Rp * T);
  const AO = arena.take(Rp * A);
  const H = arena.take(Rp * Hs);
  const G = arena.take((B + 4) * D);
  const L = arena.take(lRows * VS);
  const S = arena.take(STRIP * nP);
  const KP = arena.take(nP * dqkMax);
  const VP = arena.take(dovP * nP);
  const OH = arena.take(STRIP * dovP);
  const ident = arena.takeI32(identLen);
  const identBytes = arena.takeI32(identLen);
  for (let k = 0; k < identLen; k++) {
    ident[k] = k;
    identBytes[k] = k * bytes;
  }
  const useWasm = backend() === 'wasm';
  const ctx: Ctx = {
    precision,
    P,
    bytes,
    gemm: useWasm ? (f64 ? kernels!.gemm64 : kernels!.gemm32) : null,
    loaded,
    ident,
    identBytes,
  };
  const stat = new Float64Array(4);

  // Embedding: token row plus position row (a store into a Float32Array rounds the sum).
  const { E } = plan;
  const Pos = plan.P;
  for (let b = 0; b < B; b++) {
    const toks = inputs[b];
    for (let i = 0; i < toks.length; i++) {
      const x = (offs[b] + i) * D;
      const e = toks[i] * d;
      const p = i * d;
      for (let c = 0; c < d; c++) X[x + c] = E[e + c] + Pos[p + c];
    }
  }
  const addInto = (Y: Arr, Z: Arr) => {
    for (let r = 0; r < R; r++) for (let k = r * D, e = k + d; k < e; k++) Y[k] += Z[k];
  };

  const trackers: Tracker[] = inputs.map(() => ({ attention: Infinity, site: null, ties: 0 }));
  let loop = 0;
  plan.stages.forEach((stage, s) => {
    const before = stage.hasMask ? saved : null;
    for (let t = 1; t <= stage.loops; t++) {
      loop++;
      if (before) before.set(X.subarray(0, R * D));
      stage.layers.forEach((li, l) => {
        const layer = plan.layers[li];
        if (layer.heads.length > 0) {
          QKV.fill(0, 0, R * T);
          product(ctx, layer.W_QKV!, X, 0, D, R, QKV, 0, T);
          AO.fill(0, 0, R * A);
          for (const h of layer.heads) {
            const { dqk, dov, causal, hard } = h;
            for (let b = 0; b < B; b++) {
              const base = offs[b];
              const n = offs[b + 1] - base;
              const nPb = pad(n);
              // Keys as panels of P positions: KP[p][c][jj] = k_{P·p+jj}[c] (0 past the sequence).
              for (let p = 0; p < nPb / P; p++) {
                for (let c = 0; c < dqk; c++) {
                  for (let jj = 0; jj < P; jj++) {
                    const j = p * P + jj;
                    KP[(p * dqk + c) * P + jj] = j < n ? QKV[(base + j) * T + h.kOff + c] : 0;
                  }
                }
              }
              if (!hard) {
                // Values as panels of P columns: VP[p][j][jj] = v_j[P·p+jj] (0 past dov).
                for (let p = 0; p < pad(dov) / P; p++) {
                  for (let j = 0; j < n; j++) {
                    for (let jj = 0; jj < P; jj++) {
                      const c = p * P + jj;
                      VP[(p * n + j) * P + jj] = c < dov ? QKV[(base + j) * T + h.vOff + c] : 0;
                    }
                  }
                }
              }
              const tr = trackers[b];
              for (let i0 = 0; i0 < n; i0 += STRIP) {
                const rows = Math.min(STRIP, n - i0);
                const nrb = Math.ceil(rows / 4);
                // Scores S[i − i0][j] = ⟨q_i, k_j⟩ (c ascending), up to the diagonal block for a causal head.
                const qo = (base + i0) * T + h.qOff;
                if (causal) {
                  for (let rb = 0; rb < nrb; rb++) {
                    const np = Math.min(Math.ceil((i0 + 4 * rb + 4) / P), nPb / P);
                    productIdent(ctx, QKV, qo + 4 * rb * T, T, 1, S, 4 * rb * nPb, nPb, KP, dqk * P, dqk, np);
                  }
                } else {
                  productIdent(ctx, QKV, qo, T, nrb, S, 0, nPb, KP, dqk * P, dqk, nPb / P);
                }
                for (let i = i0; i < i0 + rows; i++) {
                  const so = (i - i0) * nPb;
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
                      tr.site = { loop, stage: s, layer: l, head: h.name, position: i };
                    }
                  }
                  if (hard) {
                    const ao = (base + i) * A + h.aoOff;
                    if (f64) hardRow64(S as Float64Array, so, cnt, best, nBest, stat[3], QKV as Float64Array, base * T + h.vOff, T, dov, AO as Float64Array, ao);
                    else hardRow32(S as Float32Array, so, cnt, best, nBest, stat[3], QKV as Float32Array, base * T + h.vOff, T, dov, AO as Float32Array, ao);
                  } else {
                    const end = causal ? Math.min(i0 + 4 * Math.floor((i - i0) / 4) + 4, n) : n;
                    if (f64) softmaxRow64(S as Float64Array, so, cnt, best, end);
                    else softmaxRow32(S as Float32Array, so, cnt, best, end);
                  }
                }
                if (!hard && dov > 0) {
                  // Output O[i − i0] = Σ_j w_ij v_j (j ascending), then into the head's columns of AO.
                  const npv = pad(dov) / P;
                  if (causal) {
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
                    for (let c = 0; c < dov; c++) AO[ao + c] = OH[oh + c];
                  }
                }
              }
            }
          }
          OUT.fill(0, 0, R * D);
          product(ctx, layer.W_O!, AO, 0, A, R, OUT, 0, D);
          addInto(X, OUT);
        }
        const mlp = layer.mlp;
        if (mlp) {
          const hid = mlp.hidden;
          H.fill(0, 0, R * Hs);
          product(ctx, mlp.W_in, X, 0, D, R, H, 0, Hs);
          const bi = mlp.b_in;
          for (let r = 0; r < R; r++) {
            const o = r * Hs;
            if (mlp.hasBIn) for (let c = 0; c < hid; c++) H[o + c] += bi[c];
            for (let c = 0; c < hid; c++) if (!(H[o + c] > 0)) H[o + c] = 0;
          }
          OUT.fill(0, 0, R * D);
          product(ctx, mlp.W_out, H, 0, Hs, R, OUT, 0, D);
          const bo = mlp.b_out;
          if (mlp.hasBOut) for (let r = 0; r < R; r++) for (let c = 0; c < d; c++) OUT[r * D + c] += bo[c];
          addInto(X, OUT);
        }
      });
      if (before) {
        for (let b = 0; b < B; b++) {
          const n = offs[b + 1] - offs[b];
          const m = masks(s, t, n);
          for (let i = 0; i < n; i++) {
            if (m[i]) continue;
            const x = (offs[b] + i) * D;
            X.set(before.subarray(x, x + d), x);
          }
        }
      }
    }
  });

  // Readout: the last row of each sequence, or every row; copied out of the workspace.
  L.fill(0, 0, lRows * VS);
  const nOut = plan.readoutAll ? R : B;
  if (plan.readoutAll) {
    product(ctx, plan.U, X, 0, D, R, L, 0, VS);
  } else {
    for (let b = 0; b < B; b++) G.set(X.subarray((offs[b + 1] - 1) * D, (offs[b + 1] - 1) * D + d), b * D);
    product(ctx, plan.U, G, 0, D, B, L, 0, VS);
  }
  const logits = new Float64Array(nOut * V);
  for (let r = 0; r < nOut; r++) for (let v = 0; v < V; v++) logits[r * V + v] = L[r * VS + v];
  return { logits, trackers };
}

/** The results of one chunk from its raw output. */
export function assemble(plan: Plan, inputs: readonly (readonly number[])[], raw: RawChunk, name: string): RunResult[] {
  const V = plan.V;
  const L = raw.logits;
  let row = 0;
  return inputs.map((tokens, b) => {
    const n = tokens.length;
    const readouts: Readout[] = [];
    let logitMargin = Infinity;
    for (let p = plan.readoutAll ? 0 : n - 1; p < n; p++, row++) {
      const r = readout(L, row * V, V, p);
      if (r.margin < logitMargin) logitMargin = r.margin;
      readouts.push(r);
    }
    const last = readouts[readouts.length - 1];
    const tr = raw.trackers[b];
    return {
      interpreter: name,
      tokens: [...tokens],
      answer: last.token,
      tie: last.token === null,
      readouts,
      margins: { attention: tr.attention, attentionSite: tr.site, attentionTies: tr.ties, logit: logitMargin },
    };
  });
}

/** Top logits, the argmax (null on a tie) and the top-two gap, as the generic interpreter defines them. */
function readout(L: Float64Array, o: number, V: number, position: number): Readout {
  const logits = new Array<number>(V);
  let best = L[o];
  for (let v = 0; v < V; v++) {
    const x = L[o + v];
    logits[v] = x;
    if (x > best) best = x;
  }
  const top: number[] = [];
  let second = -Infinity;
  for (let v = 0; v < V; v++) {
    const x = logits[v];
    if (x === best) top.push(v);
    else if (x > second) second = x;
  }
  const margin = top.length > 1 ? 0 : second === -Infinity ? Infinity : best - second;
  return { position, logits, top, token: top.length === 1 ? top[0] : null, margin };
}
