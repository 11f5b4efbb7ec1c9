// The model compiled once per precision into flat typed arrays: a "plan" the batched kernels run.
//
// Every weight matrix becomes either
//   - a dense block: only the rows of W that have a nonzero entry, and only the column window
//     that holds its nonzeros (widened to whole panels of 4 doubles or 8 floats), packed panel by
//     panel for the WebAssembly SIMD product of wasm.ts; or
//   - CSR (compressed sparse rows), when the block is still mostly zeros (below DENSE_MIN_DENSITY).
// The constructions of the paper are very sparse (a head's W_Q reads one subspace and writes a few
// directions), so most of their matrices end up CSR or as a small dense block; a random dense model
// ends up with full dense blocks.
//
// A layer's heads are packed: W_Q, W_K and W_V of all heads side by side in one matrix (one pass
// over the activations computes every query, key and value), and their W_O stacked in head order
// (one product sums all heads' outputs in the order the generic interpreter adds them, so float64
// results are bit-identical).
//
// A plan is plain data (typed arrays, numbers, strings) so it can be handed to a worker thread.
// Plans are cached per layer and per matrix, and rebuilt when a weight was edited in place (each
// cached piece keeps a copy of the weights it was built from and compares it before use).
import { rationalToNumber } from '../rational.ts';
import type { LabeledMatrix } from '../matrix.ts';
import type { Head, Layer, Mlp, Model } from '../model.ts';
import { PANEL32, PANEL64 } from './wasm.ts';

export type Precision = 'f64' | 'f32';
export type Arr = Float64Array | Float32Array;

/** Below this share of nonzeros (within its rows and column window) a block is stored as CSR. */
export const DENSE_MIN_DENSITY = 0.2;

/** Columns per panel of a dense block: 4 doubles or 8 floats, 32 bytes (see wasm.ts). */
export function panelWidth(precision: Precision): number {
  return precision === 'f64' ? PANEL64 : PANEL32;
}

/** n rounded up to a multiple of the panel width: the row stride of every activation array. */
export function padded(precision: Precision, n: number): number {
  const P = panelWidth(precision);
  return Math.ceil(n / P) * P;
}

export interface DenseMat {
  readonly kind: 'dense';
  readonly inDim: number;
  readonly outDim: number;
  /** Input rows of W with a nonzero entry, ascending. */
  readonly rows: Int32Array;
  /**
   * The output column window [c0, c0 + width): it covers every nonzero column, starts on a panel
   * boundary and is a whole number of panels wide (so it ends at or before padded(outDim)).
   */
  readonly c0: number;
  readonly width: number;
  /**
   * The block packed in panels of P = panelWidth columns: panel p (columns c0 + P·p …) is
   * rows.length × P values, row after row, so the kernel reads its weights sequentially.
   * Columns past outDim are zeros.
   */
  readonly w: Arr;
}

export interface CsrMat {
  readonly kind: 'csr';
  readonly inDim: number;
  readonly outDim: number;
  /** Input rows of W with a nonzero entry, ascending. */
  readonly rows: Int32Array;
  /** Entries of input row k are ptr[k] .. ptr[k+1]-1 (inDim + 1 offsets). */
  readonly ptr: Int32Array;
  readonly col: Int32Array;
  readonly val: Arr;
}

export type Mat = DenseMat | CsrMat;

export interface HeadPlan {
  readonly name: string;
  readonly hard: boolean;
  readonly causal: boolean;
  /** The score scale in the precision, and whether it is exactly 1 (then no multiply, as in the generic path). */
  readonly scale: number;
  readonly unitScale: boolean;
  readonly dqk: number;
  readonly dov: number;
  /** Column offsets of this head's q, k and v in the packed QKV activations. */
  readonly qOff: number;
  readonly kOff: number;
  readonly vOff: number;
  /** Column offset of this head's attention output in the packed head-output activations. */
  readonly aoOff: number;
}

export interface MlpPlan {
  readonly hidden: number;
  readonly W_in: Mat;
  readonly b_in: Arr;
  readonly W_out: Mat;
  readonly b_out: Arr;
  /** Whether the biases have any nonzero entry (skip the pass otherwise). */
  readonly hasBIn: boolean;
  readonly hasBOut: boolean;
}

export interface LayerPlan {
  readonly heads: HeadPlan[];
  /** Width of the packed QKV activations (Σ 2·dqk + dov) and of the packed head outputs (Σ dov). */
  readonly qkvWidth: number;
  readonly aoWidth: number;
  readonly W_QKV: Mat | null;
  readonly W_O: Mat | null;
  readonly mlp: MlpPlan | null;
}

export interface StagePlan {
  /** Indices into Plan.layers, in block order. */
  readonly layers: number[];
  readonly loops: number;
  readonly hasMask: boolean;
}

export interface Plan {
  readonly precision: Precision;
  readonly d: number;
  readonly V: number;
  readonly N: number;
  /** Embedding rows, dense: E is V × d, P is N × d. */
  readonly E: Arr;
  readonly P: Arr;
  readonly U: Mat;
  readonly layers: LayerPlan[];
  readonly stages: StagePlan[];
  readonly readoutAll: boolean;
}

export function alloc(precision: Precision, n: number): Arr {
  return precision === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** A weight in the precision: float32 rounds to nearest (as the generic float32's fromWeight does). */
function weightArray(precision: Precision, src: Float64Array): Arr {
  return precision === 'f64' ? Float64Array.from(src) : Float32Array.from(src);
}

/**
 * A (rows × cols) row-major block of doubles as a Mat: rows and columns that are all zero are
 * dropped, and what is left is dense or CSR by its density.
 */
export function toMat(precision: Precision, data: Float64Array, inDim: number, outDim: number): Mat {
  const w = weightArray(precision, data); // rounds first, so a weight that rounds to 0 is a zero
  const rows: number[] = [];
  let c0 = outDim;
  let c1 = 0;
  let nnz = 0;
  for (let r = 0; r < inDim; r++) {
    let any = false;
    for (let c = 0; c < outDim; c++) {
      if (w[r * outDim + c] !== 0) {
        any = true;
        nnz++;
        if (c < c0) c0 = c;
        if (c >= c1) c1 = c + 1;
      }
    }
    if (any) rows.push(r);
  }
  const rowsArr = Int32Array.from(rows);
  const nk = rows.length;
  if (nnz >= DENSE_MIN_DENSITY * nk * (c1 - c0)) {
    const P = panelWidth(precision);
    const a0 = nk === 0 ? 0 : Math.floor(c0 / P) * P;
    const width = nk === 0 ? 0 : Math.ceil(c1 / P) * P - a0;
    const block = alloc(precision, nk * width);
    for (let p = 0; p < width / P; p++) {
      for (let kk = 0; kk < nk; kk++) {
        for (let j = 0; j < P; j++) {
          const c = a0 + p * P + j;
          if (c < outDim) block[p * nk * P + kk * P + j] = w[rows[kk] * outDim + c];
        }
      }
    }
    return { kind: 'dense', inDim, outDim, rows: rowsArr, c0: a0, width, w: block };
  }
  const ptr = new Int32Array(inDim + 1);
  const col = new Int32Array(nnz);
  const val = alloc(precision, nnz);
  let p = 0;
  for (let r = 0; r < inDim; r++) {
    ptr[r] = p;
    for (let c = 0; c < outDim; c++) {
      const v = w[r * outDim + c];
      if (v !== 0) {
        col[p] = c;
        val[p] = v;
        p++;
      }
    }
  }
  ptr[inDim] = p;
  return { kind: 'csr', inDim, outDim, rows: rowsArr, ptr, col, val };
}

/** Several matrices over the same input rows, side by side: [A | B | C]. */
function sideBySide(parts: readonly LabeledMatrix[], inDim: number): { data: Float64Array; outDim: number } {
  const outDim = parts.reduce((s, m) => s + m.cols.dim, 0);
  const data = new Float64Array(inDim * outDim);
  let off = 0;
  for (const m of parts) {
    const w = m.cols.dim;
    for (let r = 0; r < inDim; r++) data.set(m.data.subarray(r * w, r * w + w), r * outDim + off);
    off += w;
  }
  return { data, outDim };
}

/** Several matrices over the same output columns, stacked: [A; B; C]. */
function stacked(parts: readonly LabeledMatrix[], outDim: number): { data: Float64Array; inDim: number } {
  const inDim = parts.reduce((s, m) => s + m.rows.dim, 0);
  const data = new Float64Array(inDim * outDim);
  let off = 0;
  for (const m of parts) {
    data.set(m.data, off * outDim);
    off += m.rows.dim;
  }
  return { data, inDim };
}

function compileHeads(precision: Precision, heads: readonly Head[], d: number): Pick<LayerPlan, 'heads' | 'qkvWidth' | 'aoWidth' | 'W_QKV' | 'W_O'> {
  if (heads.length === 0) return { heads: [], qkvWidth: 0, aoWidth: 0, W_QKV: null, W_O: null };
  const plans: HeadPlan[] = [];
  let off = 0;
  let ao = 0;
  const round = precision === 'f64' ? (x: number) => x : Math.fround;
  for (const h of heads) {
    const dqk = h.qk.dim;
    const dov = h.ov.dim;
    plans.push({
      name: h.name,
      hard: h.kind === 'hard',
      causal: h.causal,
      scale: round(rationalToNumber(h.scale)),
      unitScale: h.scale.equals(1),
      dqk,
      dov,
      qOff: off,
      kOff: off + dqk,
      vOff: off + 2 * dqk,
      aoOff: ao,
    });
    off += 2 * dqk + dov;
    ao += dov;
  }
  const qkv = sideBySide(heads.flatMap((h) => [h.W_Q, h.W_K, h.W_V]), d);
  const o = stacked(heads.map((h) => h.W_O), d);
  return {
    heads: plans,
    qkvWidth: off,
    aoWidth: ao,
    W_QKV: toMat(precision, qkv.data, d, qkv.outDim),
    W_O: toMat(precision, o.data, o.inDim, d),
  };
}

function compileMlp(precision: Precision, mlp: Mlp, d: number): MlpPlan {
  const hidden = mlp.hidden.dim;
  const b_in = weightArray(precision, mlp.b_in.matrix.data);
  const b_out = weightArray(precision, mlp.b_out.matrix.data);
  return {
    hidden,
    W_in: toMat(precision, mlp.W_in.data, d, hidden),
    b_in,
    W_out: toMat(precision, mlp.W_out.data, hidden, d),
    b_out,
    hasBIn: b_in.some((v) => v !== 0),
    hasBOut: b_out.some((v) => v !== 0),
  };
}

// ---------------------------------------------------------------- caches

/** The weights a cached piece was built from, to notice edits made in place after it was built. */
interface Source {
  readonly m: LabeledMatrix;
  readonly copy: Float64Array;
}

const snap = (m: LabeledMatrix): Source => ({ m, copy: Float64Array.from(m.data) });

function unchanged(sources: readonly Source[]): boolean {
  for (const { m, copy } of sources) {
    const a = m.data;
    if (a.length !== copy.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== copy[k]) return false;
  }
  return true;
}

function layerMatrices(layer: Layer): LabeledMatrix[] {
  const ms = layer.heads.flatMap((h) => [h.W_Q, h.W_K, h.W_V, h.W_O]);
  if (layer.mlp) ms.push(layer.mlp.W_in, layer.mlp.b_in.matrix, layer.mlp.W_out, layer.mlp.b_out.matrix);
  return ms;
}

interface LayerEntry {
  heads: Head[];
  mlp: Mlp | null;
  sources: Source[];
  plans: Partial<Record<Precision, LayerPlan>>;
}

const layerCache = new WeakMap<Layer, LayerEntry>();

function layerPlan(precision: Precision, layer: Layer, d: number): LayerPlan {
  let e = layerCache.get(layer);
  const fresh =
    e !== undefined &&
    e.mlp === layer.mlp &&
    e.heads.length === layer.heads.length &&
    e.heads.every((h, i) => h === layer.heads[i]) &&
    unchanged(e.sources);
  if (!fresh) {
    e = { heads: [...layer.heads], mlp: layer.mlp, sources: layerMatrices(layer).map(snap), plans: {} };
    layerCache.set(layer, e);
  }
  let p = e!.plans[precision];
  if (p === undefined) {
    p = { ...compileHeads(precision, layer.heads, d), mlp: layer.mlp ? compileMlp(precision, layer.mlp, d) : null };
    e!.plans[precision] = p;
  }
  return p;
}

interface EmbedEntry {
  sources: Source[];
  plans: Partial<Record<Precision, Pick<Plan, 'E' | 'P' | 'U'>>>;
}
const embedCache = new WeakMap<LabeledMatrix, EmbedEntry>();

function embedPlan(precision: Precision, model: Model): Pick<Plan, 'E' | 'P' | 'U'> {
  const ms = [model.W_E, model.W_pos, model.W_U];
  let e = embedCache.get(model.W_E);
  if (e === undefined || e.sources.some((s, i) => s.m !== ms[i]) || !unchanged(e.sources)) {
    e = { sources: ms.map(snap), plans: {} };
    embedCache.set(model.W_E, e);
  }
  let p = e.plans[precision];
  if (p === undefined) {
    p = {
      E: weightArray(precision, model.W_E.data),
      P: weightArray(precision, model.W_pos.data),
      U: toMat(precision, model.W_U.data, model.residual.dim, model.vocab.dim),
    };
    e.plans[precision] = p;
  }
  return p;
}

/**
 * The plan of a (validated) model in one precision. Layers are compiled once and shared by every
 * model that shares them (withLoops, unroll); loops, masks and the readout mode are read afresh.
 */
export function compilePlan(precision: Precision, model: Model): Plan {
  const d = model.residual.dim;
  const index = new Map<Layer, number>();
  const layers: LayerPlan[] = [];
  const stages: StagePlan[] = model.stages.map((stage) => ({
    loops: stage.loops,
    hasMask: stage.mask !== null,
    layers: stage.layers.map((layer) => {
      let k = index.get(layer);
      if (k === undefined) {
        k = layers.length;
        index.set(layer, k);
        layers.push(layerPlan(precision, layer, d));
      }
      return k;
    }),
  }));
  return {
    precision,
    d,
    V: model.vocab.dim,
    N: model.positions.dim,
    ...embedPlan(precision, model),
    layers,
    stages,
    readoutAll: model.readout === 'all',
  };
}
