// The model flattened into float32 arrays for the kernels: one compressed-sparse-column (CSC) matrix
// per product, heads of a layer side by side, every weight rounded to float32 exactly as the float32
// CPU interpreter rounds it (Math.fround of the stored double). Labels stay with the Model; the
// kernels only see numbers, and errors point back through the stage/layer/head indices kept here.
import { type Head, type Model, ensureValid } from '../simulators/model.ts';
import type { LabeledMatrix, LabeledVector } from '../simulators/matrix.ts';

/**
 * Column k holds rows[ptr[k] .. ptr[k+1]) with weights vals[…], rows ascending: a column's sum is
 * accumulated in the same order as the float32 interpreter's row-by-row product, so the two agree
 * bit for bit wherever the kernel arithmetic is IEEE float32 (cpu and webasm backends).
 */
export interface Csc {
  readonly rowsIn: number;
  readonly colsOut: number;
  readonly ptr: Float32Array;
  readonly rows: Float32Array;
  readonly vals: Float32Array;
  /** Most nonzeros in one column (at least 1, so kernels always have a loop bound). */
  readonly maxNnz: number;
  readonly nnz: number;
}

/** A block written into a larger matrix at a row and column offset. */
interface Placed {
  m: LabeledMatrix;
  row: number;
  col: number;
}

function csc(rowsIn: number, colsOut: number, blocks: Placed[]): Csc {
  const cols: { r: number; v: number }[][] = Array.from({ length: colsOut }, () => []);
  for (const { m, row, col } of blocks) {
    const nc = m.cols.dim;
    for (let r = 0; r < m.rows.dim; r++) {
      for (let c = 0; c < nc; c++) {
        const v = Math.fround(m.data[r * nc + c]);
        if (v !== 0) cols[col + c].push({ r: row + r, v });
      }
    }
  }
  for (const list of cols) list.sort((a, b) => a.r - b.r);
  const nnz = cols.reduce((s, l) => s + l.length, 0);
  const ptr = new Float32Array(colsOut + 1);
  const rows = new Float32Array(Math.max(1, nnz));
  const vals = new Float32Array(Math.max(1, nnz));
  let k = 0;
  let maxNnz = 1;
  cols.forEach((list, c) => {
    ptr[c] = k;
    maxNnz = Math.max(maxNnz, list.length);
    for (const e of list) {
      rows[k] = e.r;
      vals[k] = e.v;
      k++;
    }
  });
  ptr[colsOut] = k;
  if (nnz >= 1 << 24) throw new RangeError(`a matrix has ${nnz} nonzeros; float32 indices are exact only below 2^24`);
  return { rowsIn, colsOut, ptr, rows, vals, maxNnz, nnz };
}

function vec(v: LabeledVector): Float32Array {
  return Float32Array.from(v.matrix.data, (x) => Math.fround(x));
}

export interface HeadPack {
  readonly name: string;
  readonly soft: boolean;
  readonly causal: boolean;
  /** float32 score scale (the float32 interpreter multiplies by exactly this value). */
  readonly scale: number;
  readonly dqk: number;
  readonly dov: number;
  /** Column offsets of this head's q, k and v inside the layer's packed QKV activations. */
  readonly qOff: number;
  readonly kOff: number;
  readonly vOff: number;
  /** Offset of this head's output inside the concatenated head outputs. */
  readonly ovOff: number;
}

export interface MlpPack {
  readonly hidden: number;
  readonly win: Csc;
  readonly bin: Float32Array;
  readonly wout: Csc;
  readonly bout: Float32Array;
}

export interface LayerPack {
  readonly stage: number;
  readonly layer: number;
  readonly heads: HeadPack[];
  /** residual → [q_0 k_0 v_0 q_1 k_1 v_1 …] */
  readonly qkv: Csc | null;
  /** [o_0 o_1 …] → residual (the W_O of all heads stacked) */
  readonly wo: Csc | null;
  readonly sumDov: number;
  readonly maxDqk: number;
  readonly mlp: MlpPack | null;
}

export interface StagePack {
  readonly layers: LayerPack[];
  readonly loops: number;
  readonly mask: Model['stages'][number]['mask'];
}

export interface ModelPack {
  readonly d: number;
  readonly V: number;
  readonly maxLen: number;
  /** [V][d] and [maxLen][d] rows, float32. */
  readonly E: Float32Array[];
  readonly P: Float32Array[];
  readonly U: Csc;
  readonly stages: StagePack[];
  readonly readout: Model['readout'];
  /** Σ over stages of loops × heads: the number of head evaluations, for margin site codes. */
  readonly headCalls: number;
}

function packHeads(heads: readonly Head[], d: number): Pick<LayerPack, 'heads' | 'qkv' | 'wo' | 'sumDov' | 'maxDqk'> {
  if (heads.length === 0) return { heads: [], qkv: null, wo: null, sumDov: 0, maxDqk: 1 };
  const packs: HeadPack[] = [];
  const qkvBlocks: Placed[] = [];
  const woBlocks: Placed[] = [];
  let col = 0;
  let ov = 0;
  for (const h of heads) {
    const dqk = h.qk.dim;
    const dov = h.ov.dim;
    const p: HeadPack = {
      name: h.name,
      soft: h.kind === 'softmax',
      causal: h.causal,
      scale: Math.fround(h.scale.valueOf()),
      dqk,
      dov,
      qOff: col,
      kOff: col + dqk,
      vOff: col + 2 * dqk,
      ovOff: ov,
    };
    qkvBlocks.push({ m: h.W_Q, row: 0, col: p.qOff }, { m: h.W_K, row: 0, col: p.kOff }, { m: h.W_V, row: 0, col: p.vOff });
    woBlocks.push({ m: h.W_O, row: ov, col: 0 });
    col += 2 * dqk + dov;
    ov += dov;
    packs.push(p);
  }
  return {
    heads: packs,
    qkv: csc(d, col, qkvBlocks),
    wo: csc(ov, d, woBlocks),
    sumDov: ov,
    maxDqk: Math.max(1, ...packs.map((p) => p.dqk)),
  };
}

const packs = new WeakMap<Model, ModelPack>();

/** The model's float32 arrays, computed once per model object (validate first). */
export function packModel(model: Model): ModelPack {
  ensureValid(model);
  const hit = packs.get(model);
  if (hit) return hit;
  const d = model.residual.dim;
  const V = model.vocab.dim;
  const N = model.positions.dim;
  const rowsOf = (m: LabeledMatrix) =>
    Array.from({ length: m.rows.dim }, (_, r) => Float32Array.from(m.data.subarray(r * m.cols.dim, (r + 1) * m.cols.dim), (x) => Math.fround(x)));
  let headCalls = 0;
  const stages: StagePack[] = model.stages.map((stage, s) => {
    headCalls += stage.loops * stage.layers.reduce((n, l) => n + l.heads.length, 0);
    return {
      loops: stage.loops,
      mask: stage.mask,
      layers: stage.layers.map((layer, l) => ({
        stage: s,
        layer: l,
        ...packHeads(layer.heads, d),
        mlp: layer.mlp
          ? {
              hidden: layer.mlp.hidden.dim,
              win: csc(d, layer.mlp.hidden.dim, [{ m: layer.mlp.W_in, row: 0, col: 0 }]),
              bin: vec(layer.mlp.b_in),
              wout: csc(layer.mlp.hidden.dim, d, [{ m: layer.mlp.W_out, row: 0, col: 0 }]),
              bout: vec(layer.mlp.b_out),
            }
          : null,
      })),
    };
  });
  const pack: ModelPack = {
    d,
    V,
    maxLen: N,
    E: rowsOf(model.W_E),
    P: rowsOf(model.W_pos),
    U: csc(d, V, [{ m: model.W_U, row: 0, col: 0 }]),
    stages,
    readout: model.readout,
    headCalls,
  };
  packs.set(model, pack);
  return pack;
}

/**
 * Floating-point operations of one forward pass on one sequence of length n, counted the way a dense
 * implementation (PyTorch, say) performs them: every product dense, attention over the full n×n
 * score matrix. "Effective GFLOP/s" in the benchmarks divides this by the time; the sparse kernels
 * here do less work than that.
 */
export function denseFlops(pack: ModelPack, n: number): number {
  const d = pack.d;
  let f = 0;
  for (const stage of pack.stages) {
    let block = 0;
    for (const l of stage.layers) {
      if (l.qkv && l.wo) {
        block += 2 * n * d * l.qkv.colsOut + 2 * n * l.sumDov * d;
        for (const h of l.heads) block += 2 * n * n * h.dqk + 2 * n * n * h.dov + 5 * n * n;
      }
      if (l.mlp) block += 2 * n * d * l.mlp.hidden * 2 + 3 * n * l.mlp.hidden;
    }
    f += block * stage.loops;
  }
  const positions = pack.readout === 'all' ? n : 1;
  return f + 2 * positions * d * pack.V;
}
