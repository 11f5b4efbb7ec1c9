// The gpu.js kernels of one forward pass, for a chunk of Bc sequences of length n.
//
// Layout: an activation is a 3-D array a[b][i][c] (sequence b, position i, column c), the output
// shape [C, n, Bc] in gpu.js terms. Weights are kernel *constants* (uploaded once per kernel), in
// the CSC form of pack.ts. Sources are plain strings so no transpiler or bundler can rewrite them.
//
// Rounding: every addition and product is wrapped in Math.fround, and sums run in the float32
// interpreter's order. On the cpu backend (which computes in doubles) that makes each step round
// to float32 exactly as simulators/arithmetic/float.ts does; on webasm (native f32, exp through
// Math.exp then demoted) the same holds; on webgpu fround is the identity over f32 but exp is the
// GPU's approximation and the compiler may fuse multiply-adds, so results agree up to rounding.
//
// Loops: every loop bound is a kernel constant (gpu.js emits it as a literal loop bound) and every
// variable-length loop is written `for (t = 0; t < CONST; t++) { if (t >= len) break; … }`, so
// no loop depends on `loopMaxIterations`; that setting is raised to the largest size anyway (see
// loopMax below), because gpu.js truncates any loop it cannot prove bounded there without error.
import type { Csc, LayerPack, ModelPack } from './pack.ts';

/** Float sentinel for "no value" (larger than any gap we report; f32 max is 3.4e38). */
export const NONE = 3e38;

const EMBED = `function (tok) {
  const b = this.thread.z;
  const i = this.thread.y;
  const c = this.thread.x;
  const t = tok[b][i];
  return Math.fround(this.constants.E[t][c] + this.constants.P[i][c]);
}`;

/** a·W for one output column over its CSC nonzeros (rows ascending). */
const CSC_SUM = `
  const start = this.constants.W[k];
  const cnt = this.constants.W[k + 1] - start;
  let s = 0;
  for (let t = 0; t < this.constants.maxNnz; t++) {
    if (t >= cnt) break;
    const r = this.constants.W[this.constants.rowsAt + start + t];
    s = Math.fround(s + Math.fround(a[b][i][r] * this.constants.W[this.constants.valsAt + start + t]));
  }`;

/** out = a·W (the packed q, k, v of all heads). */
const LINEAR = `function (a) {
  const b = this.thread.z;
  const i = this.thread.y;
  const k = this.thread.x;${CSC_SUM}
  return s;
}`;

/** out = relu(a·W + bias) (MLP hidden layer). */
const HIDDEN = `function (a) {
  const b = this.thread.z;
  const i = this.thread.y;
  const k = this.thread.x;${CSC_SUM}
  const v = Math.fround(s + this.constants.bias[k]);
  if (v > 0) return v;
  return 0;
}`;

/** out = x + (a·W + bias): the residual update of attention (bias 0) and of the MLP. */
const RESIDUAL = `function (x, a) {
  const b = this.thread.z;
  const i = this.thread.y;
  const k = this.thread.x;${CSC_SUM}
  return Math.fround(x[b][i][k] + Math.fround(s + this.constants.bias[k]));
}`;

/**
 * Split-K, part 1 (webgpu only, for columns with very many nonzeros such as an MLP output written by
 * thousands of units): partial sums over blocks of S nonzeros, P[b][i][blk·K + k]. Each block sums
 * in row order and the blocks are added in order, so sums of exactly representable terms (the
 * integer-valued constructions) are unchanged; other sums may round differently from float32's.
 */
const PARTIAL = `function (a) {
  const b = this.thread.z;
  const i = this.thread.y;
  const kk = this.thread.x;
  const blk = Math.floor((kk + 0.5) / this.constants.K);
  const k = kk - blk * this.constants.K;
  const start = this.constants.W[k];
  const cnt = this.constants.W[k + 1] - start;
  const from = blk * this.constants.S;
  let s = 0;
  for (let t = 0; t < this.constants.S; t++) {
    const u = from + t;
    if (u >= cnt) break;
    const r = this.constants.W[this.constants.rowsAt + start + u];
    s = Math.fround(s + Math.fround(a[b][i][r] * this.constants.W[this.constants.valsAt + start + u]));
  }
  return s;
}`;

/** Split-K, part 2: out = x + (Σ_blk P[blk·K + k] + bias), blocks in order. */
const REDUCE = `function (x, p) {
  const b = this.thread.z;
  const i = this.thread.y;
  const k = this.thread.x;
  let s = 0;
  for (let blk = 0; blk < this.constants.nblk; blk++) {
    s = Math.fround(s + p[b][i][blk * this.constants.K + k]);
  }
  return Math.fround(x[b][i][k] + Math.fround(s + this.constants.bias[k]));
}`;

/** Scores S[b·H + h][i][j] = scale_h · ⟨q_i, k_j⟩ for the keys j the head sees, 0 elsewhere. */
const SCORES = `function (qkv) {
  const z = this.thread.z;
  const i = this.thread.y;
  const j = this.thread.x;
  const b = Math.floor((z + 0.5) / this.constants.H);
  const h = z - b * this.constants.H;
  let last = this.constants.n - 1;
  if (this.constants.hp[h][0] > 0.5) last = i;
  if (j > last) return 0;
  const qo = this.constants.hp[h][4];
  const ko = this.constants.hp[h][5];
  const dq = this.constants.hp[h][3];
  let s = 0;
  for (let k = 0; k < this.constants.maxDqk; k++) {
    if (k >= dq) break;
    s = Math.fround(s + Math.fround(qkv[b][i][qo + k] * qkv[b][j][ko + k]));
  }
  return Math.fround(this.constants.hp[h][2] * s);
}`;

/** Per (b·H + h, i): [0] best score, [1] second best (−NONE if none), [2] ties for best, [3] Σ exp(s − best). */
const STATS = `function (S) {
  const f = this.thread.x;
  const i = this.thread.y;
  const z = this.thread.z;
  const b = Math.floor((z + 0.5) / this.constants.H);
  const h = z - b * this.constants.H;
  let last = this.constants.n - 1;
  if (this.constants.hp[h][0] > 0.5) last = i;
  let best = S[z][i][0];
  for (let j = 1; j < this.constants.n; j++) {
    if (j > last) break;
    const v = S[z][i][j];
    if (v > best) best = v;
  }
  if (f === 0) return best;
  let acc = 0;
  if (f === 1) acc = -${NONE};
  for (let j = 0; j < this.constants.n; j++) {
    if (j > last) break;
    const v = S[z][i][j];
    if (f === 1) {
      if (v < best && v > acc) acc = v;
    } else if (f === 2) {
      if (v === best) acc = acc + 1;
    } else {
      acc = Math.fround(acc + Math.fround(Math.exp(Math.fround(v - best))));
    }
  }
  return acc;
}`;

/** Head outputs, concatenated: A[b][i][col] = Σ_j w_ij v_j[col − ovOff_h] for the head h owning col. */
const ATTEND = `function (S, stats, qkv) {
  const col = this.thread.x;
  const i = this.thread.y;
  const b = this.thread.z;
  const h = this.constants.colHead[col];
  const vc = this.constants.hp[h][6] + col - this.constants.hp[h][7];
  const z = b * this.constants.H + h;
  let last = this.constants.n - 1;
  if (this.constants.hp[h][0] > 0.5) last = i;
  const best = stats[z][i][0];
  const ties = stats[z][i][2];
  const sum = stats[z][i][3];
  const soft = this.constants.hp[h][1];
  const share = Math.fround(1 / ties);
  let o = 0;
  for (let j = 0; j < this.constants.n; j++) {
    if (j > last) break;
    const s = S[z][i][j];
    let w = 0;
    if (soft > 0.5) {
      w = Math.fround(Math.fround(Math.exp(Math.fround(s - best))) / sum);
    } else if (s === best) {
      w = share;
    }
    if (w !== 0) o = Math.fround(o + Math.fround(w * qkv[b][j][vc]));
  }
  return o;
}`;

/**
 * Running attention margin per sequence, updated after every attention layer:
 * M[b] = [smallest gap, head call of that site, its position, ties so far, best, second].
 * Sites are visited in the float32 interpreter's order (head by head, position by position) and a
 * site replaces the current one only when its gap is strictly smaller, as there.
 */
const MARGIN = `function (M, stats, base) {
  const f = this.thread.x;
  const b = this.thread.y;
  let gap = M[b][0];
  let call = M[b][1];
  let pos = M[b][2];
  let ties = M[b][3];
  let top = M[b][4];
  let sec = M[b][5];
  for (let h = 0; h < this.constants.H; h++) {
    const z = b * this.constants.H + h;
    for (let i = 0; i < this.constants.n; i++) {
      let keys = this.constants.n;
      if (this.constants.hp[h][0] > 0.5) keys = i + 1;
      if (keys > 1) {
        const mx = stats[z][i][0];
        const s2 = stats[z][i][1];
        const t = stats[z][i][2];
        let g = 0;
        let low = mx;
        if (t > 1.5) {
          ties = ties + 1;
        } else {
          g = mx - s2;
          low = s2;
        }
        if (g < gap) {
          gap = g;
          call = base[0] + h;
          pos = i;
          top = mx;
          sec = low;
        }
      }
    }
  }
  if (f === 0) return gap;
  if (f === 1) return call;
  if (f === 2) return pos;
  if (f === 3) return ties;
  if (f === 4) return top;
  return sec;
}`;

/** x_i ← m_i ? new_i : old_i (the per-loop mask of a masked stage). */
const SELECT = `function (xNew, xOld, m) {
  const b = this.thread.z;
  const i = this.thread.y;
  const c = this.thread.x;
  if (m[i] > 0.5) return xNew[b][i][c];
  return xOld[b][i][c];
}`;

/** Logits at the readout positions: L[b][p][v] = x[b][p + n − P]·W_U. */
const READOUT = `function (a) {
  const b = this.thread.z;
  const p = this.thread.y;
  const k = this.thread.x;
  const i = p + this.constants.n - this.constants.P;${CSC_SUM}
  return s;
}`;

export const SOURCES = { EMBED, LINEAR, HIDDEN, RESIDUAL, PARTIAL, REDUCE, SCORES, STATS, ATTEND, MARGIN, SELECT, READOUT };

export const MARGIN_FIELDS = 6;

/** What the orchestration needs: one callable per kernel, for one (n, Bc) shape. */
export interface LayerKernels {
  readonly pack: LayerPack;
  readonly qkv: Kernel | null;
  readonly scores: Kernel | null;
  readonly stats: Kernel | null;
  readonly attend: Kernel | null;
  readonly attnOut: Residual | null;
  readonly margin: Kernel | null;
  readonly hidden: Kernel | null;
  readonly mlpOut: Residual | null;
}

/** x + a·W (+ bias): one RESIDUAL kernel, or PARTIAL then REDUCE when split. */
export interface Residual {
  readonly partial: Kernel | null;
  readonly out: Kernel;
}

/** Applies a residual update inside the orchestration (a kernel call, or two). */
export function applyResidual(r: Residual, x: unknown, a: unknown, release: (v: unknown) => void): unknown {
  if (r.partial === null) return r.out(x, a);
  const p = r.partial(a);
  const y = r.out(x, p);
  release(p);
  return y;
}

export interface ShapeKernels {
  readonly n: number;
  readonly Bc: number;
  readonly embed: Kernel;
  readonly select: Kernel;
  readonly readout: Kernel;
  /** [stage][layer] */
  readonly layers: LayerKernels[][];
  /** Every kernel created, for backend checks and destruction. */
  readonly all: Kernel[];
}

/** A gpu.js kernel run-shortcut as far as this module uses it. */
export interface Kernel {
  (...args: unknown[]): unknown;
  readonly kernel: { constructor: { name: string }; fallbackReason?: string | null };
  destroy(removeCanvasReferences?: boolean): void;
}

/** The part of a gpu.js GPU instance used here. */
export interface GpuLike {
  createKernel(source: string, settings: Record<string, unknown>): unknown;
}

/** One array per matrix, [ptr (cols+1) | rows | vals]: WebGPU allows only 8 storage buffers per kernel by default. */
function cscConstants(m: Csc): Record<string, unknown> {
  const W = new Float32Array(m.ptr.length + m.rows.length + m.vals.length);
  W.set(m.ptr, 0);
  W.set(m.rows, m.ptr.length);
  W.set(m.vals, m.ptr.length + m.rows.length);
  return { W, rowsAt: m.ptr.length, valsAt: m.ptr.length + m.rows.length, maxNnz: m.maxNnz };
}

/** Largest loop or size any kernel of this shape sees, so gpu.js never caps a loop below it. */
export function loopMax(pack: ModelPack, n: number): number {
  let m = Math.max(pack.d, pack.V, n, pack.U.maxNnz);
  for (const s of pack.stages) {
    for (const l of s.layers) {
      m = Math.max(m, l.maxDqk, l.sumDov, l.qkv?.maxNnz ?? 0, l.wo?.maxNnz ?? 0);
      if (l.mlp) m = Math.max(m, l.mlp.hidden, l.mlp.win.maxNnz, l.mlp.wout.maxNnz);
    }
  }
  return m + 1;
}

export interface KernelOptions {
  /** Extra gpu.js settings (pipeline/immutable for direct use on GL backends). */
  settings?: Record<string, unknown>;
  /**
   * Split residual products whose columns have more than this many nonzeros into blocks of this
   * size (PARTIAL + REDUCE); 0 never splits (the bit-exact default of the cpu and webasm backends).
   */
  splitK?: number;
}

/** Creates (without building) every kernel for Bc sequences of length n. */
export function createShapeKernels(gpu: GpuLike, pack: ModelPack, n: number, Bc: number, options: KernelOptions = {}): ShapeKernels {
  const all: Kernel[] = [];
  const loopMaxIterations = loopMax(pack, n);
  const make = (source: string, output: number[], constants: Record<string, unknown>): Kernel => {
    const k = gpu.createKernel(source, {
      output,
      constants,
      loopMaxIterations,
      precision: 'single',
      tactic: 'precision',
      ...options.settings,
    }) as Kernel;
    all.push(k);
    return k;
  };
  const d = pack.d;
  const split = options.splitK ?? 0;
  const residual = (m: Csc, bias: Float32Array): Residual => {
    if (split <= 0 || m.maxNnz <= split) return { partial: null, out: make(RESIDUAL, [d, n, Bc], { ...cscConstants(m), bias }) };
    const nblk = Math.ceil(m.maxNnz / split);
    return {
      partial: make(PARTIAL, [d * nblk, n, Bc], { ...cscConstants(m), K: d, S: split }),
      out: make(REDUCE, [d, n, Bc], { K: d, nblk, bias }),
    };
  };
  const embed = make(EMBED, [d, n, Bc], { E: pack.E, P: pack.P.slice(0, n) });
  const select = make(SELECT, [d, n, Bc], {});
  const P = pack.readout === 'all' ? n : 1;
  const readout = make(READOUT, [pack.V, P, Bc], { ...cscConstants(pack.U), n, P });
  const layers = pack.stages.map((stage) =>
    stage.layers.map((l): LayerKernels => {
      const H = l.heads.length;
      let heads: Pick<LayerKernels, 'qkv' | 'scores' | 'stats' | 'attend' | 'attnOut' | 'margin'> = {
        qkv: null,
        scores: null,
        stats: null,
        attend: null,
        attnOut: null,
        margin: null,
      };
      if (H > 0 && l.qkv && l.wo) {
        // per head: [causal, softmax, scale, dqk, qOff, kOff, vOff, ovOff]
        const hp = l.heads.map((h) =>
          Float32Array.of(h.causal ? 1 : 0, h.soft ? 1 : 0, h.scale, h.dqk, h.qOff, h.kOff, h.vOff, h.ovOff),
        );
        const headConsts = { H, n, hp, maxDqk: l.maxDqk };
        const colHead = new Float32Array(l.sumDov);
        l.heads.forEach((h, hi) => colHead.fill(hi, h.ovOff, h.ovOff + h.dov));
        heads = {
          qkv: make(LINEAR, [l.qkv.colsOut, n, Bc], cscConstants(l.qkv)),
          scores: make(SCORES, [n, n, Bc * H], headConsts),
          stats: make(STATS, [4, n, Bc * H], headConsts),
          attend: make(ATTEND, [l.sumDov, n, Bc], { ...headConsts, colHead }),
          attnOut: residual(l.wo, new Float32Array(d)),
          margin: make(MARGIN, [MARGIN_FIELDS, Bc], headConsts),
        };
      }
      return {
        pack: l,
        ...heads,
        hidden: l.mlp ? make(HIDDEN, [l.mlp.hidden, n, Bc], { ...cscConstants(l.mlp.win), bias: l.mlp.bin }) : null,
        mlpOut: l.mlp ? residual(l.mlp.wout, l.mlp.bout) : null,
      };
    }),
  );
  return { n, Bc, embed, select, readout, layers, all };
}

/**
 * The largest number of float32 cells one kernel of this shape writes, per sequence: the chunk size
 * Bc is chosen so that Bc times this stays under the backend's buffer limit.
 */
export function cellsPerSequence(pack: ModelPack, n: number, splitK = 0): number {
  let m = pack.d * n;
  const parts = (c: Csc | null) => (c && splitK > 0 && c.maxNnz > splitK ? pack.d * Math.ceil(c.maxNnz / splitK) * n : 0);
  for (const s of pack.stages) {
    for (const l of s.layers) {
      const H = l.heads.length;
      if (H > 0 && l.qkv) m = Math.max(m, l.qkv.colsOut * n, H * n * n, H * n * 4, l.sumDov * n);
      if (l.mlp) m = Math.max(m, l.mlp.hidden * n, parts(l.mlp.wout));
      m = Math.max(m, parts(l.wo));
    }
  }
  return Math.max(m, pack.V * (pack.readout === 'all' ? n : 1));
}
