// One forward pass of a model over any number system, following Section 5 of the paper:
//   x_i = θ_TE(v_i) + θ_PE(i);  per layer x ← x + MHA(x), x ← x + FF(x);  per loop of a masked
//   stage x_i ← (1 − M^t(i)) x_i + M^t(i) [TB(x)]_i;  logits = x_i W_U at the readout positions.
// Weights are converted into the number system once per matrix and kept sparse (the
// constructions are mostly zeros), and a product skips zero inputs.
import { InputError, UnsupportedError } from '../common/errors.ts';
import type { LabeledMatrix, LabeledVector } from './matrix.ts';
import type { NumberSystem } from './arithmetic/number-system.ts';
import { type Head, type Mlp, type Model, ensureValid, maskRow } from './model.ts';
import type { RunOptions, RunResult } from './result.ts';
import { type AttentionTracker, noAttention, readoutOf, runResult } from './readout.ts';
import { activity } from './activity.ts';
import { preflightRun } from './preflight.ts';
import { Trace } from './trace.ts';

interface SparseRow<T> {
  cols: Int32Array;
  weights: T[];
}
type Sparse<T> = SparseRow<T>[];

// Keyed by the matrix's sparse-row list, which the matrix rebuilds after any edit: a model edited
// in place after a run is converted again rather than served stale.
const converted = new WeakMap<object, Map<string, unknown>>();

/** The matrix's nonzero entries as values of the number system, computed once per system. */
export function sparseIn<T>(ns: NumberSystem<T>, m: LabeledMatrix): Sparse<T> {
  const key = m.rowsSparse();
  let bySystem = converted.get(key);
  if (bySystem === undefined) converted.set(key, (bySystem = new Map()));
  const hit = bySystem.get(ns.name) as Sparse<T> | undefined;
  if (hit) return hit;
  const rows: Sparse<T> = key.map((row) => {
    const cols: number[] = [];
    const weights: T[] = [];
    for (const e of row) {
      const w = ns.fromWeight(e.value, e.exact);
      if (ns.isZero(w)) continue; // a weight that rounds to 0 in this system contributes nothing
      cols.push(e.col);
      weights.push(w);
    }
    return { cols: Int32Array.from(cols), weights };
  });
  bySystem.set(ns.name, rows);
  return rows;
}

/** y += b for a bias vector, touching only its nonzero entries. */
function addBias<T>(ns: NumberSystem<T>, y: T[], b: LabeledVector): T[] {
  const { cols, weights } = sparseIn(ns, b.matrix)[0];
  for (let k = 0; k < cols.length; k++) y[cols[k]] = ns.add(y[cols[k]], weights[k]);
  return y;
}

/** y = x W (x a row vector), adding into `into` when given. Additions run in row order. */
function project<T>(ns: NumberSystem<T>, x: readonly T[], W: Sparse<T>, outDim: number, into?: T[]): T[] {
  const y = into ?? new Array<T>(outDim).fill(ns.zero);
  for (let r = 0; r < x.length; r++) {
    const xr = x[r];
    if (ns.isZero(xr)) continue;
    const { cols, weights } = W[r];
    for (let k = 0; k < cols.length; k++) y[cols[k]] = ns.add(y[cols[k]], ns.mul(xr, weights[k]));
  }
  return y;
}

function addInto<T>(ns: NumberSystem<T>, y: T[], b: readonly T[]): T[] {
  for (let i = 0; i < y.length; i++) if (!ns.isZero(b[i])) y[i] = ns.add(y[i], b[i]);
  return y;
}

function dot<T>(ns: NumberSystem<T>, a: readonly T[], b: readonly T[]): T {
  let s = ns.zero;
  for (let i = 0; i < a.length; i++) if (!ns.isZero(a[i]) && !ns.isZero(b[i])) s = ns.add(s, ns.mul(a[i], b[i]));
  return s;
}

export function checkInput(model: Model, tokens: readonly number[]): void {
  const V = model.vocab.dim;
  const N = model.positions.dim;
  if (tokens.length === 0) throw new InputError(`model "${model.name}": the input is empty`);
  if (tokens.length > N) {
    throw new InputError(`model "${model.name}": the input has ${tokens.length} tokens but the position embedding covers ${N}`);
  }
  tokens.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new InputError(`model "${model.name}": token ${t} at position ${i} is outside the vocabulary 0..${V - 1}`);
    }
  });
}

/** Runs the model on one input in the given number system. */
export function forward<T>(ns: NumberSystem<T>, model: Model, tokens: readonly number[], options: RunOptions = {}): RunResult {
  ensureValid(model);
  checkInput(model, tokens);
  preflightRun(model, ns.name, { positions: tokens.length, trace: options.trace });
  const n = tokens.length;
  const d = model.residual.dim;
  const trace = options.trace ? new Trace(model.residual) : undefined;
  // With trace 'loops' only the embedding and each loop's final state are kept.
  const everyLayer = options.trace === true;
  const snapshot = (key: string, x: readonly T[][], loopEnd = true) => {
    if (!trace || !(everyLayer || loopEnd)) return;
    trace.snapshots.set(key, {
      key,
      values: x.map((row) => row.map((v) => ns.toNumber(v))),
      exact: ns.toExact ? x.map((row) => row.map((v) => ns.toExact!(v))) : undefined,
    });
  };

  // Embedding: one-hot token and position rows, so the "product" is a row lookup.
  const E = sparseIn(ns, model.W_E);
  const P = sparseIn(ns, model.W_pos);
  let x: T[][] = tokens.map((tok, i) => {
    const row = new Array<T>(d).fill(ns.zero);
    for (const M of [E[tok], P[i]]) for (let k = 0; k < M.cols.length; k++) row[M.cols[k]] = ns.add(row[M.cols[k]], M.weights[k]);
    return row;
  });
  snapshot('hook_embed', x);

  const margins = noAttention();
  let loop = 0;
  model.stages.forEach((stage, s) => {
    for (let t = 1; t <= stage.loops; t++) {
      loop++;

      const before = x;
      x = x.map((row) => row.slice());
      stage.layers.forEach((layer, l) => {
        // For a progress line: where the run is, down to the position of a wide MLP.
        const where = (part: string) => () =>
          `${model.name}: ${ns.name}, ${model.stages.length > 1 ? `stage ${s + 1} of ${model.stages.length}, ` : ''}loop ${t} of ${stage.loops}, layer ${l + 1} of ${stage.layers.length}${part}`;
        activity(where(''));
        const prefix = `loop${loop}.blocks.${l}`;
        if (layer.heads.length > 0) {
          const out = x.map(() => new Array<T>(d).fill(ns.zero));
          for (const head of layer.heads) {
            activity(where(`, head ${head.name}`));
            runHead(ns, head, x, out, { loop, stage: s, layer: l }, margins, everyLayer ? `${prefix}.attn.${head.name}.hook_pattern` : null, trace);
          }
          x = x.map((row, i) => addInto(ns, row, out[i]));
        }
        snapshot(`${prefix}.hook_resid_mid`, x, false);
        if (layer.mlp) {
          const mlp = layer.mlp;
          x = x.map((row, i) => {
            if ((i & 15) === 0) activity(where(`, MLP at position ${i} of ${n}`));
            return addInto(ns, row, runMlp(ns, mlp, row));
          });
        }
        snapshot(`${prefix}.hook_resid_post`, x, l === stage.layers.length - 1 && stage.mask === null);
      });
      if (stage.mask !== null) {
        const m = maskRow(stage.mask, t, stage.loops, n, `stage ${s} mask`);
        x = x.map((row, i) => (m[i] ? row : before[i]));
        snapshot(`loop${loop}.hook_resid_masked`, x);
      }
    }
  });

  const U = sparseIn(ns, model.W_U);
  const V = model.vocab.dim;
  const positions = model.readout === 'all' ? tokens.map((_, i) => i) : [n - 1];
  const readouts = positions.map((p) => readoutOf(project(ns, x[p], U, V), p, ns));
  return runResult(ns.name, tokens, readouts, margins, trace);
}

function runHead<T>(
  ns: NumberSystem<T>,
  head: Head,
  x: readonly T[][],
  out: T[][],
  where: { loop: number; stage: number; layer: number },
  margins: AttentionTracker,
  patternKey: string | null,
  trace: Trace | undefined,
): void {
  if (head.kind === 'softmax' && !ns.softmax) {
    throw new UnsupportedError(
      `the ${ns.name} interpreter cannot compute softmax (stage ${where.stage}, layer ${where.layer}, head '${head.name}'); ` +
        `use hard attention, or a fixed:s or float interpreter`,
    );
  }
  const Q = sparseIn(ns, head.W_Q);
  const K = sparseIn(ns, head.W_K);
  const Vw = sparseIn(ns, head.W_V);
  const O = sparseIn(ns, head.W_O);
  const dqk = head.qk.dim;
  const dov = head.ov.dim;
  const d = out[0].length;
  const scale = ns.fromWeight(head.scale.valueOf(), head.scale);
  const unitScale = head.scale.equals(1);
  const q = x.map((row) => project(ns, row, Q, dqk));
  const k = x.map((row) => project(ns, row, K, dqk));
  const v = x.map((row) => project(ns, row, Vw, dov));
  const n = x.length;
  const pattern: number[][] | null = patternKey ? [] : null;
  for (let i = 0; i < n; i++) {
    const last = head.causal ? i : n - 1;
    const scores: T[] = [];
    for (let j = 0; j <= last; j++) {
      const sc = dot(ns, q[i], k[j]);
      scores.push(unitScale ? sc : ns.mul(scale, sc));
    }
    // Margin: best score minus second best (0 on a tie).
    let best = scores[0];
    for (const sc of scores) if (ns.cmp(sc, best) > 0) best = sc;
    let ties = 0;
    let second = -Infinity;
    for (const sc of scores) {
      if (ns.cmp(sc, best) === 0) ties++;
      else second = Math.max(second, ns.toNumber(sc));
    }
    if (scores.length > 1) {
      const gap = ties > 1 ? 0 : ns.toNumber(best) - second;
      if (ties > 1) margins.ties++;
      if (gap < margins.attention) {
        margins.attention = gap;
        margins.site = { ...where, head: head.name, position: i };
      }
    }
    let weights: T[];
    if (head.kind === 'hard') {
      const share = ns.div(ns.one, ns.fromInt(ties));
      weights = scores.map((sc) => (ns.cmp(sc, best) === 0 ? share : ns.zero));
    } else {
      weights = ns.softmax!(scores);
    }
    const o = new Array<T>(dov).fill(ns.zero);
    for (let j = 0; j < weights.length; j++) {
      const w = weights[j];
      if (ns.isZero(w)) continue;
      for (let c = 0; c < dov; c++) if (!ns.isZero(v[j][c])) o[c] = ns.add(o[c], ns.mul(w, v[j][c]));
    }
    project(ns, o, O, d, out[i]);
    if (pattern) {
      const row = new Array<number>(n).fill(0);
      weights.forEach((w, j) => (row[j] = ns.toNumber(w)));
      pattern.push(row);
    }
  }
  if (pattern && patternKey && trace) trace.patterns.set(patternKey, pattern);
}

function runMlp<T>(ns: NumberSystem<T>, mlp: Mlp, x: readonly T[]): T[] {
  const hdim = mlp.hidden.dim;
  const h = addBias(ns, project(ns, x, sparseIn(ns, mlp.W_in), hdim), mlp.b_in).map((v) => ns.relu(v));
  return addBias(ns, project(ns, h, sparseIn(ns, mlp.W_out), x.length), mlp.b_out);
}
