// `looped explain --html FILE`: one self-contained page (inline CSS and script, no network) that
// draws what the terminal explanation prints — every weight matrix as a heatmap with labelled axes,
// the residual stream after every loop, every head's attention pattern in every loop, with a slider
// and prev/next buttons to step through the loops — and the verification summary.
//
// The data travels as JSON in a <script type="application/json"> block (every <, >, & escaped so no
// label can end the block); the small inline script renders it with DOM calls only (textContent,
// never innerHTML), so labels with < > & or quotes show as written.
import fc from 'fast-check';
import type { Built, Construction, Params } from '../../proofs/construction.ts';
import { verifyConstruction, type VerifyReport } from '../../properties/verify.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import type { LabeledMatrix } from '../../simulators/matrix.ts';
import { type Model, modelSizes } from '../../simulators/model.ts';
import type { Space } from '../../simulators/space.ts';
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
function loopsOf(model: Model, built: Built<unknown, unknown>, inputText: string): LoopData[] {
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
  const built = c.build(params) as Built<unknown, unknown>;
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

const CSS = `
:root { --fg: #1d2329; --dim: #68737d; --line: #d7dce1; --pos: 22, 135, 60; --neg: 200, 40, 40; --bg: #ffffff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
.dim { color: var(--dim); }
.mono, #loop-status { overflow-wrap: anywhere; }
.mono, code, td.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
.ok { color: rgb(var(--pos)); font-weight: 600; }
.bad { color: rgb(var(--neg)); font-weight: 600; }
.controls { position: sticky; top: 0; background: var(--bg); padding: 8px 0; z-index: 2; display: flex; gap: 12px; align-items: center; border-bottom: 1px solid var(--line); }
.controls button { font: inherit; padding: 2px 12px; }
.controls input[type=range] { width: 320px; }
#loop-label { font-weight: 600; min-width: 14em; }
.grid { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-size: 12px; margin-bottom: 2px; }
svg text { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; fill: var(--fg); }
svg .sep { stroke: #39424b; stroke-width: 1; }
svg .frame { fill: none; stroke: #9aa4ad; }
td.changed { background: #fff4c2; }
.note { font-size: 12px; color: #8a5a00; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 10px; border: 1px solid var(--line); }
`;

// The renderer, plain ES2017 without template literals (it sits inside one here).
const SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('looped-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var DECODED_LIMIT = 64;
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(x) {
    if (typeof x === 'string') return x === 'Infinity' ? '\u221e' : x === '-Infinity' ? '-\u221e' : x;
    if (Number.isInteger(x)) return String(x);
    return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? x.toFixed(4).replace(/\.?0+$/, '') : x.toExponential(3);
  }
  function row(tr, cells, tag) {
    cells.forEach(function (c) { tr.appendChild(el(tag || 'td', null, c)); });
    return tr;
  }
  function table(head, rows) {
    var t = el('table');
    var th = el('thead'); th.appendChild(row(el('tr'), head, 'th')); t.appendChild(th);
    var tb = el('tbody');
    rows.forEach(function (r) { tb.appendChild(row(el('tr'), r)); });
    t.appendChild(tb);
    return t;
  }
  // Colours: green for +, red for -, white for 0, by |v| / max|v| of the map (probabilities: blue by weight).
  function colour(v, max, kind) {
    if (kind === 'prob') {
      var a = Math.max(0, Math.min(1, v));
      return 'rgba(30, 90, 200, ' + (a === 0 ? 0 : 0.12 + 0.88 * a).toFixed(3) + ')';
    }
    if (v === 0 || max === 0) return '#ffffff';
    var s = Math.min(1, Math.abs(v) / max);
    return 'rgba(' + (v > 0 ? '22, 135, 60' : '200, 40, 40') + ', ' + (0.15 + 0.85 * s).toFixed(3) + ')';
  }
  // A heatmap in SVG: row labels on the left, column labels on top (rotated), subspace bands and
  // separators, a tooltip per cell.
  function heatmap(h, kind, maxWidth) {
    var R = h.rows.labels.length, C = h.cols.labels.length;
    var cell = Math.max(3, Math.min(16, Math.floor((maxWidth || 760) / Math.max(1, C))));
    var showRow = cell >= 9, showCol = cell >= 9;
    var font = Math.min(11, cell - 1);
    var longest = function (xs) { return xs.reduce(function (m, s) { return Math.max(m, String(s).length); }, 0); };
    var bandL = h.rows.groups.length > 1 || (h.rows.groups[0] && h.rows.groups[0].name) ? 12 + 6.5 * Math.min(12, longest(h.rows.groups.map(function (g) { return g.name; }))) : 0;
    var left = bandL + (showRow ? 8 + 6.6 * Math.min(16, longest(h.rows.labels)) : 4);
    var bandT = h.cols.groups.length > 1 || (h.cols.groups[0] && h.cols.groups[0].name) ? 16 : 0;
    var top = bandT + (showCol ? 10 + 6.2 * Math.min(16, longest(h.cols.labels)) : 4);
    var W = left + C * cell + 40, H = top + R * cell + 4;
    var svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var max = 0;
    h.values.forEach(function (r) { r.forEach(function (v) { if (typeof v === 'number' && Math.abs(v) > max) max = Math.abs(v); }); });
    var g = sv('g');
    for (var i = 0; i < R; i++) {
      for (var j = 0; j < C; j++) {
        var v = h.values[i][j];
        var rect = sv('rect', { x: left + j * cell, y: top + i * cell, width: cell, height: cell, fill: colour(v, max, kind) });
        rect.appendChild(sv('title', null, h.rows.labels[i] + ' \u2192 ' + h.cols.labels[j] + ': ' + num(v)));
        g.appendChild(rect);
      }
    }
    svg.appendChild(g);
    svg.appendChild(sv('rect', { class: 'frame', x: left, y: top, width: C * cell, height: R * cell }));
    function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }
    if (showRow) h.rows.labels.forEach(function (l, i) {
      svg.appendChild(sv('text', { x: left - 4, y: top + i * cell + cell / 2 + font / 3, 'font-size': font, 'text-anchor': 'end' }, clip(l, 16)));
    });
    if (showCol) h.cols.labels.forEach(function (l, j) {
      var x = left + j * cell + cell / 2 + font / 3, y = top - 4;
      svg.appendChild(sv('text', { x: x, y: y, 'font-size': font, transform: 'rotate(-60 ' + x + ' ' + y + ')' }, clip(l, 16)));
    });
    h.rows.groups.forEach(function (gr, k) {
      if (k > 0) svg.appendChild(sv('line', { class: 'sep', x1: bandL, x2: left + C * cell, y1: top + gr.start * cell, y2: top + gr.start * cell }));
      if (bandL && gr.size > 0) {
        var y = top + (gr.start + gr.size / 2) * cell + 4;
        svg.appendChild(sv('text', { x: 2, y: y, 'font-size': 11, 'font-weight': 'bold' }, clip(gr.name, 12)));
      }
    });
    h.cols.groups.forEach(function (gr, k) {
      if (k > 0) svg.appendChild(sv('line', { class: 'sep', y1: 2, y2: top + R * cell, x1: left + gr.start * cell, x2: left + gr.start * cell }));
      if (bandT && gr.size > 0) {
        var t = sv('text', { x: left + gr.start * cell + 2, y: 12, 'font-size': 11, 'font-weight': 'bold' }, clip(gr.name, Math.max(2, Math.floor(gr.size * cell / 7))));
        t.appendChild(sv('title', null, gr.name));
        svg.appendChild(t);
      }
    });
    return svg;
  }
  function figure(h, kind, maxWidth, caption) {
    var f = el('figure', { 'data-matrix': h.title });
    var cap = el('figcaption');
    cap.appendChild(el('b', null, caption || h.title));
    cap.appendChild(document.createTextNode(' ' + h.rows.dim + '\u00d7' + h.cols.dim + (h.nonzero !== undefined ? ', ' + h.nonzero + ' nonzero' : '')));
    f.appendChild(cap);
    if (h.downsampled) f.appendChild(el('div', { class: 'note' }, h.downsampled));
    f.appendChild(heatmap(h, kind, maxWidth));
    return f;
  }

  var root = document.getElementById('app');
  var c = D.construction;
  root.appendChild(el('h1', { id: 'construction' }, c.id));
  root.appendChild(el('div', null, c.theorem + ': ' + c.title));
  var ps = Object.keys(c.params).map(function (k) { return k + '=' + c.params[k]; }).join(' ');
  root.appendChild(el('div', { class: 'dim mono' }, ps ? 'parameters: ' + ps : 'no parameters'));
  root.appendChild(el('p', null, c.statement));
  root.appendChild(el('div', null, 'model ' + D.model.name + (D.model.description ? ' \u2014 ' + D.model.description : '')));
  var sz = D.model.sizes;
  root.appendChild(el('div', { class: 'dim' }, 'shape ' + sz.shape + ' \u00b7 width ' + sz.width + ' \u00b7 mlp ' + sz.mlpWidth + ' \u00b7 heads ' + sz.heads + '\u00d7' + sz.headDim + ' \u00b7 weights of the check \u201c' + D.model.check + '\u201d'));

  // 1. Verification summary.
  root.appendChild(el('h2', null, '1. Verification'));
  var V = D.verify;
  if (!V) root.appendChild(el('p', { class: 'dim' }, 'not run (--samples 0)'));
  else {
    var sum = el('p', { id: 'verify-summary' });
    sum.appendChild(el('span', { class: V.ok ? 'ok' : 'bad' }, V.ok ? '\u2713 every check held' : '\u2717 a check failed'));
    sum.appendChild(document.createTextNode(' \u2014 ' + V.checks.length + ' checks, ' + D.verifyOptions.samples + ' samples each (seed ' + D.verifyOptions.seed + '), ' + num(V.ms / 1000) + ' s'));
    root.appendChild(sum);
    root.appendChild(table(['check', 'interpreter', 'samples', 'result', 'min attention margin', 'min logit margin', 'ms'], V.checks.map(function (k) {
      return [k.label, k.interpreter, String(k.samples), k.failed ? 'FAILED' : 'held', num(k.minAttentionMargin), num(k.minLogitMargin), String(Math.round(k.ms))];
    })));
    V.checks.forEach(function (k) {
      if (!k.counterexample) return;
      var p = el('p', { class: 'bad' }, 'counterexample for \u201c' + k.label + '\u201d: ' + k.counterexample.input + ' \u2014 ' + k.counterexample.message);
      root.appendChild(p);
      root.appendChild(el('div', { class: 'mono' }, k.counterexample.replay));
    });
    root.appendChild(el('h3', null, 'sizes: built and claimed'));
    root.appendChild(table(['size', 'claimed formula', 'claimed', 'built'], V.sizes.map(function (s) {
      var over = s.claimed !== null && s.built !== null && s.built > s.claimed;
      return [s.key, s.formula === null ? '\u2013' : s.formula, s.claimed === null ? '\u2013' : num(s.claimed), (s.built === null ? '\u2013' : num(s.built)) + (over ? ' (over the claim)' : '')];
    })));
    if (V.deviations) root.appendChild(el('p', { class: 'dim' }, 'deviations: ' + V.deviations));
  }

  // 2. Residual layout.
  root.appendChild(el('h2', null, '2. Residual stream (width ' + D.model.width + ')'));
  root.appendChild(table(['subspace', 'offset', 'width', 'holds'], D.residual.map(function (p) { return [p.name, String(p.offset), String(p.size), p.describe]; })));

  // 3. The run, loop by loop.
  var run = D.run, rv = run.view, L = run.loops;
  root.appendChild(el('h2', null, '3. Run loop by loop'));
  var info = el('div');
  info.appendChild(el('div', { class: 'mono', id: 'run-input' }, 'input ' + JSON.stringify(rv.input) + '  (' + run.source + ')'));
  info.appendChild(el('div', { class: 'mono' }, 'tokens ' + JSON.stringify(rv.tokens) + '   answer ' + JSON.stringify(rv.answer) + '   reference ' + JSON.stringify(rv.expected)));
  info.appendChild(el('div', { class: rv.correct ? 'ok' : 'bad' }, rv.correct ? '\u2713 the answer matches the reference' : '\u2717 the answer differs from the reference'));
  root.appendChild(info);
  var controls = el('div', { class: 'controls' });
  var prev = el('button', { id: 'prev', type: 'button', 'aria-label': 'previous loop' }, '\u25c0 prev');
  var slider = el('input', { id: 'loop-slider', type: 'range', min: '0', max: String(L.length - 1), step: '1', value: '0', 'aria-label': 'loop' });
  var next = el('button', { id: 'next', type: 'button', 'aria-label': 'next loop' }, 'next \u25b6');
  var label = el('span', { id: 'loop-label', 'aria-live': 'polite' });
  [prev, slider, next, label].forEach(function (x) { controls.appendChild(x); });
  root.appendChild(controls);
  var status = el('div', { id: 'loop-status', class: 'dim' });
  root.appendChild(status);
  root.appendChild(el('h3', null, 'residual stream (positions \u00d7 directions, lines between subspaces)'));
  var residualBox = el('div', { id: 'residual' });
  root.appendChild(residualBox);
  root.appendChild(el('h3', null, 'each subspace decoded (yellow: changed by this loop)'));
  var decodedBox = el('div', { id: 'decoded' });
  root.appendChild(decodedBox);
  root.appendChild(el('h3', null, 'attention patterns of this loop (query position \u00d7 key position)'));
  var patternsBox = el('div', { id: 'patterns', class: 'grid' });
  root.appendChild(patternsBox);

  function show(t) {
    t = Math.max(0, Math.min(L.length - 1, t));
    var lp = L[t], st = rv.loops[t];
    slider.value = String(t);
    prev.disabled = t === 0;
    next.disabled = t === L.length - 1;
    label.textContent = lp.label;
    document.body.setAttribute('data-loop', String(t));
    var bits = ['trace key ' + lp.key];
    if (st && st.lockstep) bits.push(st.lockstep.matches ? 'lockstep \u2713 equals the algorithm after round ' + t : 'lockstep \u2717 differs from the algorithm');
    if (st) bits.push('readout here ' + JSON.stringify(st.readout.answer) + (st.readout.equalsReference ? ' = the reference' : ' (not the reference yet)'));
    status.textContent = bits.join('  \u00b7  ');
    residualBox.textContent = '';
    residualBox.appendChild(figure(lp.residual, 'signed', 1100, 'residual ' + lp.key));
    decodedBox.textContent = '';
    if (st) {
      var names = Object.keys(st.state);
      var n = names.length ? st.state[names[0]].length : 0;
      var shown = Math.min(n, DECODED_LIMIT);
      if (shown < n) decodedBox.appendChild(el('div', { class: 'note' }, 'positions 0\u2013' + (shown - 1) + ' of ' + n + ' shown'));
      var head = ['subspace']; for (var i = 0; i < shown; i++) head.push(String(i));
      var tbl = table(head, []);
      var tb = tbl.querySelector('tbody');
      names.forEach(function (name) {
        var tr = el('tr');
        tr.appendChild(el('th', null, name));
        st.state[name].slice(0, shown).forEach(function (cell) { tr.appendChild(el('td', { class: 'mono' + (t > 0 && st.changed.indexOf(name) >= 0 ? ' changed' : '') }, cell.kind === 'zero' ? '\u00b7' : cell.text)); });
        tb.appendChild(tr);
      });
      decodedBox.appendChild(tbl);
    }
    patternsBox.textContent = '';
    if (lp.patterns.length === 0) patternsBox.appendChild(el('p', { class: 'dim' }, t === 0 ? 'the embedding: no attention yet \u2014 step to loop 1' : 'no heads run in this loop'));
    lp.patterns.forEach(function (p) {
      patternsBox.appendChild(figure(p, 'prob', 360, 'stage ' + p.stage + ', layer ' + p.layer + ', head ' + p.head));
    });
  }
  prev.addEventListener('click', function () { show(Number(slider.value) - 1); });
  next.addEventListener('click', function () { show(Number(slider.value) + 1); });
  slider.addEventListener('input', function () { show(Number(slider.value)); });
  document.addEventListener('keydown', function (e) {
    if (e.target && e.target.tagName === 'INPUT') return;
    if (e.key === 'ArrowLeft') show(Number(slider.value) - 1);
    if (e.key === 'ArrowRight') show(Number(slider.value) + 1);
  });

  // 4. Weights.
  root.appendChild(el('h2', null, '4. Weights (rows \u2192 columns; green +, red \u2212, white 0; lines between subspaces)'));
  var where = null, box = null;
  D.matrices.forEach(function (h) {
    if (h.where !== where) {
      where = h.where;
      root.appendChild(el('h3', null, where));
      box = el('div', { class: 'grid' });
      root.appendChild(box);
    }
    box.appendChild(figure(h, 'signed', 760));
  });
  show(0);
  document.body.setAttribute('data-ready', 'true');
})();
`;

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
