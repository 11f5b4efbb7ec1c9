// What `looped explain` says about a model's weights, as plain data (the --json output is exactly
// this): the residual layout, what every head and MLP group reads and writes, and every weight
// matrix folded into blocks between named subspaces.
//
// FOLDING. A matrix is cut into blocks: the residual stream and the MLP's hidden units are split by
// their named subspaces; a head's query/key/value space, the vocabulary and the positions are each
// taken whole (they are small, or their parts are single directions). All-zero blocks are dropped
// (and counted); every other block gets a one-line summary ("identity ×4", "6 nonzero of 18,
// values {−1, 1}") and, when it is at most GRID_LIMIT × GRID_LIMIT (or --full), its grid.
import type { Head, Layer, Mlp, Model, Stage } from '../../simulators/model.ts';
import type { LabeledMatrix } from '../../simulators/matrix.ts';
import { formatRational } from '../../simulators/rational.ts';
import type { Space } from '../../simulators/space.ts';

export const GRID_LIMIT = 12;

export interface SubspaceView {
  name: string;
  offset: number;
  size: number;
  describe: string;
  labels: string[];
}

/** Directions of one residual subspace that a matrix touches. */
export interface Touch {
  subspace: string;
  /** Labels of the directions touched (all of them when the whole subspace is). */
  directions: string[];
  /** Whether every direction of the subspace is touched. */
  whole: boolean;
}

export interface BlockView {
  rows: string;
  cols: string;
  shape: [number, number];
  nonzero: number;
  /** "identity ×3", "2·identity ×3", "all 1 (5×3)", "6 nonzero of 18, values {−1, 1}". */
  summary: string;
  /** identity: c·I; constant: every entry the same; general: anything else (the grid says more). */
  pattern: 'identity' | 'constant' | 'general';
  rowLabels: string[];
  colLabels: string[];
  /** The block's entries as exact strings; present when the block is small enough (or --full). */
  grid?: string[][];
}

export interface MatrixView {
  name: string;
  rows: string;
  cols: string;
  shape: [number, number];
  nonzero: number;
  blocks: BlockView[];
  /** All-zero blocks folded away. */
  zeroBlocks: number;
}

export interface HeadView {
  name: string;
  role: string;
  kind: string;
  scale: string;
  causal: boolean;
  qk: number;
  ov: number;
  reads: { W_Q: Touch[]; W_K: Touch[]; W_V: Touch[] };
  writes: Touch[];
  matrices: MatrixView[];
}

export interface MlpGroupView {
  name: string;
  size: number;
  describe: string;
  reads: Touch[];
  writes: Touch[];
  /** Nonzero entries of b_in in this group. */
  biased: number;
}

export interface MlpView {
  name: string;
  role: string;
  hidden: number;
  groups: MlpGroupView[];
  /** Residual subspaces the output bias b_out writes. */
  biasWrites: Touch[];
  matrices: MatrixView[];
}

export interface LayerView {
  index: number;
  role: string;
  heads: HeadView[];
  mlp: MlpView | null;
}

export interface StageView {
  index: number;
  loops: number;
  mask: { expr: string; describe: string } | null;
  /** Loop numbers (1-based over the whole model) this stage runs. */
  firstLoop: number;
  layers: LayerView[];
}

export interface ModelView {
  name: string;
  description: string;
  width: number;
  residual: SubspaceView[];
  embedding: MatrixView[];
  stages: StageView[];
}

export interface ViewOptions {
  /** Print every block's grid whatever its size. */
  full: boolean;
}

type Grouping = { name: string; offset: number; size: number; labels: readonly string[] }[];

/** Split by named subspaces (residual, MLP hidden units). */
const byParts = (s: Space): Grouping => s.parts.map((p) => ({ name: p.name, offset: p.offset, size: p.size, labels: p.labels }));
/** The whole space as one group (a head's space, the vocabulary, the positions). */
const whole = (s: Space, name: string): Grouping => [{ name, offset: 0, size: s.dim, labels: s.labels }];

const isZeroString = (x: string) => x === '0' || x === '-0';

export function valueString(m: LabeledMatrix, r: number, c: number): string {
  return formatRational(m.exactAt(r, c));
}

/** Nonzero-row (or column) directions of a matrix, grouped by the residual subspaces of that side. */
export function touched(m: LabeledMatrix, side: 'rows' | 'cols', residual: Space, only?: { offset: number; size: number }): Touch[] {
  const rows = m.rowsSparse();
  const hit = new Set<number>();
  const inOnly = (k: number) => only === undefined || (k >= only.offset && k < only.offset + only.size);
  rows.forEach((row, r) => {
    for (const e of row) {
      if (e.value === 0 && e.exact.equals(0)) continue;
      if (side === 'rows' && inOnly(e.col)) hit.add(r);
      if (side === 'cols' && inOnly(r)) hit.add(e.col);
    }
  });
  return residual.parts
    .map((p) => {
      const dirs: string[] = [];
      for (let k = 0; k < p.size; k++) if (hit.has(p.offset + k)) dirs.push(p.labels[k]);
      return { subspace: p.name, directions: dirs, whole: dirs.length === p.size };
    })
    .filter((t) => t.directions.length > 0);
}

/** "src1, g1[0]": whole subspaces by name, partial ones by their directions. */
export function touchText(ts: readonly Touch[]): string {
  if (ts.length === 0) return '(nothing)';
  return ts.map((t) => (t.whole ? t.subspace : t.directions.length <= 3 ? t.directions.join(', ') : `${t.subspace} (${t.directions.length} of its directions)`)).join(', ');
}

function summarise(grid: string[][], rows: number, cols: number): { summary: string; nonzero: number; pattern: BlockView['pattern'] } {
  let nonzero = 0;
  const values = new Set<string>();
  for (const row of grid) for (const v of row) if (!isZeroString(v)) (nonzero++, values.add(v));
  const total = rows * cols;
  if (rows === cols && nonzero === rows) {
    const diag = grid.map((row, i) => row[i]);
    if (diag.every((v) => !isZeroString(v)) && values.size === 1) {
      const v = diag[0];
      const scaled = v === '1' ? 'identity' : v === '-1' ? '−identity' : `${pretty(v)}·identity`;
      return { summary: `${scaled} ×${rows}`, nonzero, pattern: 'identity' };
    }
  }
  if (nonzero === total && values.size === 1) return { summary: `all ${pretty([...values][0])} (${rows}×${cols})`, nonzero, pattern: 'constant' };
  const sorted = [...values].sort((a, b) => Number(evalFraction(a)) - Number(evalFraction(b)));
  const vals = sorted.length <= 6 ? `values {${sorted.map(pretty).join(', ')}}` : `${sorted.length} distinct values in [${pretty(sorted[0])}, ${pretty(sorted[sorted.length - 1])}]`;
  return { summary: `${nonzero} nonzero of ${total}, ${vals}`, nonzero, pattern: 'general' };
}

function evalFraction(s: string): number {
  const slash = s.indexOf('/');
  return slash < 0 ? Number(s) : Number(s.slice(0, slash)) / Number(s.slice(slash + 1));
}

/** Minus signs as the typographic minus in prose summaries. */
export const pretty = (s: string) => s.replace(/^-/, '−');

export function matrixView(m: LabeledMatrix, rowGroups: Grouping, colGroups: Grouping, label: string, opts: ViewOptions): MatrixView {
  const blocks: BlockView[] = [];
  let zeroBlocks = 0;
  // Sparse first: find which (row group, col group) pairs have any nonzero entry.
  const rowGroupOf = new Int32Array(m.rows.dim);
  rowGroups.forEach((g, gi) => rowGroupOf.fill(gi, g.offset, g.offset + g.size));
  const colGroupOf = new Int32Array(m.cols.dim);
  colGroups.forEach((g, gi) => colGroupOf.fill(gi, g.offset, g.offset + g.size));
  const live = new Set<number>();
  m.rowsSparse().forEach((row, r) => {
    for (const e of row) live.add(rowGroupOf[r] * colGroups.length + colGroupOf[e.col]);
  });
  rowGroups.forEach((rg, ri) => {
    colGroups.forEach((cg, ci) => {
      if (rg.size === 0 || cg.size === 0) return;
      if (!live.has(ri * colGroups.length + ci)) return void zeroBlocks++;
      const grid: string[][] = [];
      for (let i = 0; i < rg.size; i++) {
        const row: string[] = [];
        for (let j = 0; j < cg.size; j++) row.push(valueString(m, rg.offset + i, cg.offset + j));
        grid.push(row);
      }
      const { summary, nonzero, pattern } = summarise(grid, rg.size, cg.size);
      if (nonzero === 0) return void zeroBlocks++;
      const small = rg.size <= GRID_LIMIT && cg.size <= GRID_LIMIT;
      blocks.push({
        rows: rg.name,
        cols: cg.name,
        shape: [rg.size, cg.size],
        nonzero,
        summary,
        pattern,
        rowLabels: [...rg.labels],
        colLabels: [...cg.labels],
        grid: opts.full || small ? grid : undefined,
      });
    });
  });
  return {
    name: label,
    rows: rowGroups.map((g) => g.name).join(', '),
    cols: colGroups.map((g) => g.name).join(', '),
    shape: [m.rows.dim, m.cols.dim],
    nonzero: blocks.reduce((s, b) => s + b.nonzero, 0),
    blocks,
    zeroBlocks,
  };
}

function headView(h: Head, residual: Space, opts: ViewOptions): HeadView {
  const R = byParts(residual);
  return {
    name: h.name,
    role: h.role,
    kind: h.kind,
    scale: formatRational(h.scale),
    causal: h.causal,
    qk: h.qk.dim,
    ov: h.ov.dim,
    reads: { W_Q: touched(h.W_Q, 'rows', residual), W_K: touched(h.W_K, 'rows', residual), W_V: touched(h.W_V, 'rows', residual) },
    writes: touched(h.W_O, 'cols', residual),
    matrices: [
      matrixView(h.W_Q, R, whole(h.qk, 'q'), 'W_Q', opts),
      matrixView(h.W_K, R, whole(h.qk, 'k'), 'W_K', opts),
      matrixView(h.W_V, R, whole(h.ov, 'v'), 'W_V', opts),
      matrixView(h.W_O, whole(h.ov, 'v'), R, 'W_O', opts),
    ],
  };
}

function mlpView(mlp: Mlp, residual: Space, opts: ViewOptions): MlpView {
  const R = byParts(residual);
  const H = byParts(mlp.hidden);
  const groups = mlp.hidden.parts.map((g) => {
    const range = { offset: g.offset, size: g.size };
    let biased = 0;
    for (let k = 0; k < g.size; k++) if (!mlp.b_in.exactAt(g.offset + k).equals(0)) biased++;
    return { name: g.name, size: g.size, describe: g.describe, reads: touched(mlp.W_in, 'rows', residual, range), writes: touched(mlp.W_out, 'cols', residual, range), biased };
  });
  return {
    name: mlp.name,
    role: mlp.role,
    hidden: mlp.hidden.dim,
    groups,
    biasWrites: touched(mlp.b_out.matrix, 'cols', residual),
    matrices: [
      matrixView(mlp.W_in, R, H, 'W_in', opts),
      matrixView(mlp.b_in.matrix, whole(mlp.b_in.matrix.rows, 'bias'), H, 'b_in', opts),
      matrixView(mlp.W_out, H, R, 'W_out', opts),
      matrixView(mlp.b_out.matrix, whole(mlp.b_out.matrix.rows, 'bias'), R, 'b_out', opts),
    ],
  };
}

function layerView(layer: Layer, index: number, residual: Space, opts: ViewOptions): LayerView {
  return { index, role: layer.role, heads: layer.heads.map((h) => headView(h, residual, opts)), mlp: layer.mlp ? mlpView(layer.mlp, residual, opts) : null };
}

export function modelView(model: Model, opts: ViewOptions): ModelView {
  const R = byParts(model.residual);
  let loop = 1;
  const stages = model.stages.map((st: Stage, s) => {
    const view: StageView = {
      index: s,
      loops: st.loops,
      mask: st.mask ? { expr: st.mask.expr, describe: st.mask.describe ?? '' } : null,
      firstLoop: loop,
      layers: st.layers.map((l, i) => layerView(l, i, model.residual, opts)),
    };
    loop += st.loops;
    return view;
  });
  return {
    name: model.name,
    description: model.description,
    width: model.residual.dim,
    residual: model.residual.parts.map((p) => ({ name: p.name, offset: p.offset, size: p.size, describe: p.describe, labels: [...p.labels] })),
    embedding: [
      matrixView(model.W_E, whole(model.vocab, 'vocab'), R, 'embed.W_E', opts),
      matrixView(model.W_pos, whole(model.positions, 'positions'), R, 'pos_embed.W_pos', opts),
      matrixView(model.W_U, R, whole(model.vocab, 'vocab'), 'unembed.W_U', opts),
    ],
    stages,
  };
}
