// `looped explain --html FILE`: one self-contained page (inline CSS and script, no network) that
// draws what the terminal explanation prints — every weight matrix as a heatmap with labelled axes,
// the residual stream after every loop, every head's attention pattern in every loop, with a slider
// and prev/next buttons to step through the loops — and the verification summary.
//
// The data travels as JSON in a <script type="application/json"> block (every <, >, & escaped so no
// label can end the block); the small inline script (html-script.ts) renders it with DOM calls only
// (textContent, never innerHTML), so labels with < > & or quotes show as written; the stylesheet
// is html-style.ts. This module gathers the data and assembles the page.
import fc from 'fast-check';
import type { BuiltConstruction, Construction, Params } from '../../proofs/construction.ts';
import { verifyConstruction, type VerifyReport } from '../../properties/verify.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import type { LabeledMatrix } from '../../simulators/matrix.ts';
import { type Model, modelSizes } from '../../simulators/model.ts';
import type { Space } from '../../simulators/space.ts';
import { SCRIPT } from './html-script.ts';
import { CSS } from './html-style.ts';
import { runView, type RunView } from './run-view.ts';

/** An axis longer than this is drawn in blocks (within its subspaces), each cell its block's largest entry. */
export const AXIS_LIMIT = 96;
/** The residual stream's axes are drawn in full up to this many positions or directions. */
export const RESIDUAL_LIMIT = 192;

/** One heatmap axis: a label per drawn cell, and the named groups (subspaces) separators are drawn between. */
export interface Axis {
  labels: string[];
  groups: { name: string; start: number; size: number }[];
  /** Directions per drawn cell when the axis is downsampled (1: every direction drawn). */
  block: number;
  /** Directions of the axis before downsampling. */
  dim: number;
}

export interface HeatmapData {
  title: string;
  /** Where it sits: "embedding", "stage 0, layer 1, head src1", … */
  where: string;
  rows: Axis;
  cols: Axis;
  values: number[][];
  /** Why and how it was downsampled, or null when every entry is drawn. */
  downsampled: string | null;
  nonzero: number;
}

export interface LoopData {
  loop: number;
  label: string;
  key: string;
  /** positions × residual directions, as doubles (positions in blocks when there are many). */
  residual: HeatmapData;
  /** Every head of the loop: query position × key position. */
  patterns: (HeatmapData & { stage: number; layer: number; head: string; key: string })[];
}

export interface PageData {
  construction: { id: string; theorem: string; title: string; statement: string; params: Params };
  model: { name: string; description: string; width: number; check: string; sizes: Record<string, string | number> };
  residual: { name: string; offset: number; size: number; describe: string }[];
  matrices: HeatmapData[];
  run: {
    /** Where the input came from: "--input" or "a sample of the construction's arbitrary (seed 42)". */
    source: string;
    /** The terminal's run view, without its exact residual strings (the heatmaps carry the values). */
    view: Omit<RunView, 'loops'> & { loops: Omit<RunView['loops'][number], 'exact'>[] };
    loops: LoopData[];
  };
  verify: VerifyReport | null;
  verifyOptions: { samples: number; seed: number };
}

const sig = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** The axis of a space: every direction, or blocks of up to k consecutive directions within each subspace. */
export function axisOf(s: Space, limit = AXIS_LIMIT): Axis & { bins: { start: number; size: number }[] } {
  const parts = s.parts.length > 0 ? s.parts.filter((p) => p.size > 0) : [];
  const groupsOf = parts.length > 0 ? parts : [{ name: '', offset: 0, size: s.dim, labels: s.labels }];
  let k = 1;
  const count = (k: number) => groupsOf.reduce((n, p) => n + Math.ceil(p.size / k), 0);
  if (s.dim > limit) {
    while (count(k) > limit && k < s.dim) k = Math.min(s.dim, k * 2);
  }
  const labels: string[] = [];
  const groups: Axis['groups'] = [];
  const bins: { start: number; size: number }[] = [];
  for (const p of groupsOf) {
    const start = labels.length;
    for (let a = 0; a < p.size; a += k) {
      const size = Math.min(k, p.size - a);
      bins.push({ start: p.offset + a, size });
      labels.push(size === 1 ? s.labels[p.offset + a] : `${s.labels[p.offset + a]}…${s.labels[p.offset + a + size - 1]}`);
    }
    groups.push({ name: p.name, start, size: labels.length - start });
  }
  return { labels, groups, block: k, dim: s.dim, bins };
}

/** A matrix as heatmap data, each axis downsampled by blocks when it is longer than AXIS_LIMIT. */
export function heatmapOf(m: LabeledMatrix, title: string, where: string, limit = AXIS_LIMIT): HeatmapData {
  const rows = axisOf(m.rows, limit);
  const cols = axisOf(m.cols, limit);
  const rowBin = new Int32Array(m.rows.dim);
  rows.bins.forEach((b, i) => rowBin.fill(i, b.start, b.start + b.size));
  const colBin = new Int32Array(m.cols.dim);
  cols.bins.forEach((b, i) => colBin.fill(i, b.start, b.start + b.size));
  const values = rows.labels.map(() => new Array<number>(cols.labels.length).fill(0));
  let nonzero = 0;
  m.rowsSparse().forEach((row, r) => {
    for (const e of row) {
      if (e.value === 0) continue;
      nonzero++;
      const cell = values[rowBin[r]];
      const c = colBin[e.col];
      if (Math.abs(e.value) > Math.abs(cell[c])) cell[c] = e.value;
    }
  });
  const said = (a: Axis, what: string) => (a.block > 1 ? `${what} in blocks of up to ${a.block} directions within each subspace (${a.dim} → ${a.labels.length})` : null);
  const parts = [said(rows, 'rows'), said(cols, 'columns')].filter((x) => x !== null);
  const downsampled = parts.length ? `downsampled: ${parts.join(', ')}; each cell shows the entry of largest magnitude in its block` : null;
  const strip = ({ labels, groups, block, dim }: Axis): Axis => ({ labels, groups, block, dim });
  return { title, where, rows: strip(rows), cols: strip(cols), values: values.map((r) => r.map(sig)), downsampled, nonzero };
}

/** Positions 0..n−1 as an axis, in blocks of consecutive positions when n > limit. */
export function positionsAxis(n: number, limit = AXIS_LIMIT): Axis & { bins: { start: number; size: number }[] } {
  let k = 1;
  while (Math.ceil(n / k) > limit) k *= 2;
  const bins: { start: number; size: number }[] = [];
  for (let a = 0; a < n; a += k) bins.push({ start: a, size: Math.min(k, n - a) });
  const labels = bins.map((b) => (b.size === 1 ? String(b.start) : `${b.start}…${b.start + b.size - 1}`));
  return { labels, groups: [{ name: '', start: 0, size: labels.length }], block: k, dim: n, bins };
}

/** A dense matrix as heatmap data on the given axes, each cell its block's entry of largest magnitude. */
export function denseHeatmap(values: readonly (readonly number[])[], rows: ReturnType<typeof positionsAxis>, cols: ReturnType<typeof axisOf>, title: string, where: string): HeatmapData {
  const out = rows.bins.map(() => new Array<number>(cols.bins.length).fill(0));
  let nonzero = 0;
  rows.bins.forEach((rb, i) => {
    for (let r = rb.start; r < rb.start + rb.size; r++) {
      cols.bins.forEach((cb, j) => {
        for (let c = cb.start; c < cb.start + cb.size; c++) {
          const v = values[r][c];
          if (v !== 0) nonzero++;
          if (Math.abs(v) > Math.abs(out[i][j])) out[i][j] = v;
        }
      });
    }
  });
  const said = (a: Axis, what: string) => (a.block > 1 ? `${what} in blocks of up to ${a.block} (${a.dim} → ${a.labels.length})` : null);
  const parts = [said(rows, 'rows'), said(cols, 'columns')].filter((x) => x !== null);
  const downsampled = parts.length ? `downsampled: ${parts.join(', ')}; each cell shows the entry of largest magnitude in its block` : null;
  const strip = ({ labels, groups, block, dim }: Axis): Axis => ({ labels, groups, block, dim });
  return { title, where, rows: strip(rows), cols: strip(cols), values: out.map((r) => r.map(sig)), downsampled, nonzero };
}

function matricesOf(model: Model): HeatmapData[] {
  const out: HeatmapData[] = [
    heatmapOf(model.W_E, 'embed.W_E', 'embedding'),
    heatmapOf(model.W_pos, 'pos_embed.W_pos', 'embedding'),
    heatmapOf(model.W_U, 'unembed.W_U', 'readout'),
  ];
  model.stages.forEach((st, s) => {
    st.layers.forEach((layer, l) => {
      for (const h of layer.heads) {
        const where = `stage ${s}, layer ${l}, head ${h.name}`;
        for (const [name, m] of [['W_Q', h.W_Q], ['W_K', h.W_K], ['W_V', h.W_V], ['W_O', h.W_O]] as const) out.push(heatmapOf(m, `stages.${s}.blocks.${l}.attn.${h.name}.${name}`, where));
      }
      if (layer.mlp) {
        const where = `stage ${s}, layer ${l}, mlp ${layer.mlp.name}`;
        const mlp = layer.mlp;
        for (const [name, m] of [['W_in', mlp.W_in], ['b_in', mlp.b_in.matrix], ['W_out', mlp.W_out], ['b_out', mlp.b_out.matrix]] as const) {
          out.push(heatmapOf(m, `stages.${s}.blocks.${l}.mlp.${name}`, where));
        }
      }
    });
  });
  return out;
}

/** The run with its whole trace: residual after every loop and every head's pattern in every loop. */
function loopsOf(model: Model, built: BuiltConstruction<unknown, unknown>, inputText: string): LoopData[] {
  const check = built.checks[0];
  const r = interpreterByName(check.interpreter).run(model, built.encode(built.parseInput(inputText)), { trace: true });
  const trace = r.trace!;
  const total = model.stages.reduce((s, st) => s + st.loops, 0);
  const loops: LoopData[] = [];
  let t = 1;
  const stageOfLoop: number[] = [-1];
  model.stages.forEach((st, s) => {
    for (let k = 0; k < st.loops; k++) stageOfLoop[t++] = s;
  });
  const residualCols = axisOf(model.residual, RESIDUAL_LIMIT);
  for (let t = 0; t <= total; t++) {
    const snap = t === 0 ? trace.get('hook_embed') : trace.afterLoop(t);
    const patterns: LoopData['patterns'] = [];
    if (t > 0) {
      const s = stageOfLoop[t];
      model.stages[s].layers.forEach((layer, l) => {
        for (const h of layer.heads) {
          const key = `loop${t}.blocks.${l}.attn.${h.name}.hook_pattern`;
          const p = trace.patterns.get(key);
          if (p === undefined) continue;
          const heat = denseHeatmap(p, positionsAxis(p.length), positionsAxis(p[0]?.length ?? 0), key, `stage ${s}, layer ${l}, head ${h.name}`);
          patterns.push({ ...heat, stage: s, layer: l, head: h.name, key });
        }
      });
    }
    loops.push({
      loop: t,
      label: t === 0 ? `embedding (before loop 1)` : `loop ${t} of ${total}`,
      key: snap.key,
      residual: denseHeatmap(snap.values, positionsAxis(snap.values.length, RESIDUAL_LIMIT), residualCols, snap.key, 'residual stream'),
      patterns,
    });
  }
  return loops;
}

export interface PageOptions {
  /** --input as given; absent: one sample of the construction's arbitrary with `seed`. */
  inputText?: string;
  samples: number;
  seed: number;
}

/** Everything the page shows, as data (the page embeds exactly this). */
export async function pageData(c: Construction, params: Params, o: PageOptions): Promise<PageData> {
  const built = c.build(params) as BuiltConstruction<unknown, unknown>;
  const model = built.checks[0].model;
  const inputText = o.inputText ?? built.formatInput(fc.sample(built.arbitrary(), { seed: o.seed, numRuns: 1 })[0]);
  const source = o.inputText === undefined ? `one sample of the construction's random inputs (fast-check, seed ${o.seed})` : '--input';
  const view = runView(built, inputText);
  const loops = loopsOf(model, built, inputText);
  const s = modelSizes(model);
  const verify = o.samples > 0 ? await verifyConstruction(c, params, { samples: o.samples, seed: o.seed }) : null;
  return {
    construction: { id: c.id, theorem: c.theorem, title: c.title, statement: c.statement, params },
    model: {
      name: model.name,
      description: model.description,
      width: model.residual.dim,
      check: built.checks[0].label,
      sizes: { shape: s.shape, layersPerBlock: s.layersPerBlock, loops: s.loops, width: s.width, mlpWidth: s.mlpWidth, heads: s.heads, headDim: s.headDim },
    },
    residual: model.residual.parts.map((p) => ({ name: p.name, offset: p.offset, size: p.size, describe: p.describe })),
    matrices: matricesOf(model),
    run: { source, view: { ...view, loops: view.loops.map(({ exact: _exact, ...rest }) => rest) }, loops },
    verify,
    verifyOptions: { samples: o.samples, seed: o.seed },
  };
}

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/**
 * JSON safe inside a <script> element: < > & (and the line separators) as \u escapes, which only
 * occur inside JSON strings, so the text still parses to the same value. Non-finite numbers
 * (an unbounded margin) become the strings "Infinity", "-Infinity", "NaN".
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The page: static head, the data block, the renderer. */
export function renderHtml(data: PageData): string {
  const title = `${data.construction.id} — looped explain`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<noscript>This page draws its heatmaps with JavaScript; the data is in the script block below.</noscript>
<main id="app"></main>
<script type="application/json" id="looped-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
