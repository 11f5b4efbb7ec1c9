// Estimates of what one run of a model costs — memory and weighted multiply-adds — checked
// against the budgets (simulators/budget.ts) before the run starts, so a model that would fill the
// heap or run for hours is refused with the estimate instead.
//
// The figures are calibrated on this project's interpreters (measured on group-composition Z200
// and Z400, `node --expose-gc` heap deltas): the generic interpreters hold about 250 bytes per
// nonzero weight (the sparse row entry with its exact rational, and the weight converted into the
// number system), and a value of the exact or fixed-point systems about 80 bytes (a double's 16).
import { requireMemory, requireWork } from './budget.ts';
import type { LabeledMatrix } from './matrix.ts';
import type { Model } from './model.ts';

/** Bytes per nonzero weight in the generic interpreters' sparse form (measured: 238–253). */
export const BYTES_PER_NONZERO = 256;

export type InterpreterFamily = 'exact' | 'fixed' | 'float' | 'fast' | 'gpu';

export function interpreterFamily(name: string): InterpreterFamily {
  if (name === 'exact') return 'exact';
  if (name.startsWith('fixed')) return 'fixed';
  if (name.startsWith('fast')) return 'fast';
  if (name.startsWith('gpu')) return 'gpu';
  return 'float';
}

// Relative cost of one multiply-add, the generic float64 interpreter being 1.
const OP_WEIGHT: Record<InterpreterFamily, number> = { exact: 2, fixed: 3, float: 1, fast: 0.15, gpu: 0.05 };
// What one layer costs beyond its multiply-adds, per position and per application (allocation,
// the residual copy, masks): small models are dominated by it (measured on thm-5.4 and lemma-b4).
export const PER_POSITION_LAYER = 1000;
export const PER_LAYER = 2000;
const VALUE_BYTES: Record<InterpreterFamily, number> = { exact: 80, fixed: 80, float: 16, fast: 8, gpu: 4 };

const nonzeroCache = new WeakMap<LabeledMatrix, number>();

/** Nonzero entries of a matrix, counted from its storage (no sparse form is built). */
export function nonzeros(m: LabeledMatrix): number {
  let n = nonzeroCache.get(m);
  if (n === undefined) {
    n = m.inexact.size;
    const data = m.data;
    for (let k = 0; k < data.length; k++) if (data[k] !== 0) n++;
    nonzeroCache.set(m, n);
  }
  return n;
}

export interface RunEstimate {
  /** Peak bytes: weights in the interpreter's form plus activations (and the trace, if kept). */
  bytes: number;
  /** Weighted multiply-adds (the generic float64 interpreter's = 1 each). */
  ops: number;
  /** The weights' nonzeros, their dense size, and the unrolled depth, to explain the figures. */
  nonzeros: number;
  dense: number;
  depth: number;
}

export interface RunShape {
  /** Positions of one input. */
  positions: number;
  /** Inputs run at once (batched interpreters). */
  batch?: number;
  /** Whether every activation is kept (trace: true), or the loop ends only. */
  trace?: boolean | 'loops';
}

export function estimateRun(model: Model, interpreter: string, shape: RunShape): RunEstimate {
  const family = interpreterFamily(interpreter);
  const n = Math.max(1, shape.positions);
  const batch = Math.max(1, shape.batch ?? 1);
  const d = model.residual.dim;
  let nz = nonzeros(model.W_E) + nonzeros(model.W_pos) + nonzeros(model.W_U);
  let dense = model.W_E.data.length + model.W_pos.data.length + model.W_U.data.length;
  let ops = n * (2 * d + nonzeros(model.W_U));
  let widest = d;
  let depth = 0;
  const seen = new Set<object>();
  for (const stage of model.stages) {
    let perLoop = 0;
    for (const layer of stage.layers) {
      let layerOps = PER_LAYER + n * (d + PER_POSITION_LAYER);
      for (const h of layer.heads) {
        const w = nonzeros(h.W_Q) + nonzeros(h.W_K) + nonzeros(h.W_V) + nonzeros(h.W_O);
        if (!seen.has(h.W_Q)) {
          nz += w;
          dense += h.W_Q.data.length + h.W_K.data.length + h.W_V.data.length + h.W_O.data.length;
        }
        seen.add(h.W_Q);
        // Projections for every position, then scores and the weighted sum over the causal prefix.
        layerOps += n * w + ((n * (n + 1)) / 2) * (h.qk.dim + h.ov.dim);
        widest = Math.max(widest, h.qk.dim + h.ov.dim + n);
      }
      if (layer.mlp) {
        const w = nonzeros(layer.mlp.W_in) + nonzeros(layer.mlp.W_out);
        if (!seen.has(layer.mlp.W_in)) {
          nz += w;
          dense += layer.mlp.W_in.data.length + layer.mlp.W_out.data.length;
        }
        seen.add(layer.mlp.W_in);
        layerOps += n * (w + layer.mlp.hidden.dim);
        widest = Math.max(widest, d + layer.mlp.hidden.dim);
      }
      perLoop += layerOps;
    }
    ops += perLoop * stage.loops;
    depth += stage.layers.length * stage.loops;
  }
  const valueBytes = VALUE_BYTES[family];
  const snapshots = shape.trace === true ? 2 * depth + 1 : shape.trace === 'loops' ? depth + 1 : 0;
  const activations = batch * n * (2 * d + widest + n) * valueBytes + batch * snapshots * n * d * (valueBytes + 8);
  // The batched paths keep the weights in typed arrays (dense panels or CSR); the generic ones as objects.
  const weights = family === 'fast' || family === 'gpu' ? Math.min(8 * dense, 16 * nz) + 4 * dense : BYTES_PER_NONZERO * nz;
  return { bytes: weights + activations, ops: ops * batch * OP_WEIGHT[family], nonzeros: nz, dense, depth };
}

/**
 * Refuses a run whose estimate is over a budget, naming the model, the figures behind the
 * estimate and what to lower. The estimate is made once per model, interpreter and shape.
 */
export function preflightRun(model: Model, interpreter: string, shape: RunShape, lower?: string): RunEstimate {
  const key = `${interpreter}/${shape.positions}/${shape.batch ?? 1}/${String(shape.trace ?? false)}`;
  let byKey = checked.get(model);
  if (byKey === undefined) checked.set(model, (byKey = new Map()));
  const hit = byKey.get(key);
  if (hit) return hit;
  const e = estimateRun(model, interpreter, shape);
  const what = `running "${model.name}" under ${interpreter} on ${shape.positions} positions${(shape.batch ?? 1) > 1 ? ` × ${shape.batch} inputs` : ''} (${e.nonzeros.toLocaleString('en-US')} nonzero weights, depth ${e.depth.toLocaleString('en-US')})`;
  const hint = lower ?? 'the input length, the model size or the loop count';
  requireMemory(e.bytes, what, hint);
  requireWork(e.ops, what, hint);
  byKey.set(key, e);
  return e;
}
const checked = new WeakMap<Model, Map<string, RunEstimate>>();

/** preflightRun for a batch: its longest input, counted in a loop (a spread of 10^5 lengths overflows the stack). */
export function preflightBatch(model: Model, interpreter: string, inputs: readonly (readonly number[])[]): void {
  if (inputs.length === 0) return;
  let positions = 0;
  for (const t of inputs) positions = Math.max(positions, t.length);
  preflightRun(model, interpreter, { positions, batch: inputs.length });
}

