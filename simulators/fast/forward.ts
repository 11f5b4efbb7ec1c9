// The batched forward pass over a compiled plan. A batch of sequences (of any lengths) is packed
// into one [rows × d] activation array, sequence after sequence, so each product with a weight
// matrix runs over the whole batch at once and reuses every weight across it; attention, masks and
// readouts work sequence by sequence on their own rows. Large batches are cut into chunks of whole
// sequences to bound memory.
//
// A chunk runs phase by phase: it is laid out in the thread's workspace (chunk.ts, over
// workspace.ts's memory and products), embedded, then per loop and layer its attention
// (attention.ts) and MLP, the loop's mask, and finally the readout logits, which assemble() turns
// into results with the one readout rule (simulators/readout.ts).
//
// This module needs nothing but the plan and plain inputs (masks come in as a callback), so a
// worker thread can run it on its share of a batch.
import type { MlpPlan, Plan } from './compile.ts';
import { type Chunk, addResidual, layOut } from './chunk.ts';
import { attentionPhase } from './attention.ts';
import { product } from './workspace.ts';
import { type AttentionTracker, FLOAT_ORDER, readoutOf, runResult } from '../readout.ts';
import type { Readout, RunResult } from '../result.ts';

/** M^t(i) for stage s, loop t (1-based within the stage), sequence length len; true = recompute. */
export type MaskFn = (stage: number, t: number, len: number) => ArrayLike<boolean | number>;

/** At most this many rows (positions, summed over the sequences) go through the layers together. */
export const CHUNK_ROWS = 4096;

/** What one chunk computes, compactly (so a worker can hand it back as one transferable buffer). */
export interface RawChunk {
  /** Logits, V per readout row: every position of every sequence (readout 'all') or the last ones. */
  logits: Float64Array;
  trackers: AttentionTracker[];
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

/** The forward pass of one chunk: every layer over the packed rows, then the readout logits. */
export function computeChunk(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn): RawChunk {
  const c = layOut(plan, inputs);
  embed(c, inputs);
  let loop = 0;
  plan.stages.forEach((stage, s) => {
    const before = stage.hasMask ? c.saved : null;
    for (let t = 1; t <= stage.loops; t++) {
      loop++;
      if (before) before.set(c.X.subarray(0, c.R * c.D));
      stage.layers.forEach((li, l) => {
        const layer = plan.layers[li];
        if (layer.heads.length > 0) attentionPhase(c, layer, { loop, stage: s, layer: l });
        if (layer.mlp) mlpPhase(c, layer.mlp);
      });
      if (before) maskPhase(c, masks, s, t);
    }
  });
  return { logits: readoutLogits(c), trackers: c.trackers };
}

/** x_i = token row + position row (a store into a Float32Array rounds the sum). */
function embed(c: Chunk, inputs: readonly (readonly number[])[]): void {
  const { X, D, offs } = c;
  const { E, P: Pos, d } = c.plan;
  for (let b = 0; b < c.B; b++) {
    const toks = inputs[b];
    for (let i = 0; i < toks.length; i++) {
      const x = (offs[b] + i) * D;
      const e = toks[i] * d;
      const p = i * d;
      for (let col = 0; col < d; col++) X[x + col] = E[e + col] + Pos[p + col];
    }
  }
}

/** x ← x + W_out ReLU(x W_in + b_in) + b_out over every row. */
function mlpPhase(c: Chunk, mlp: MlpPlan): void {
  const { ctx, X, H, OUT, R, D, Hs } = c;
  const d = c.plan.d;
  const hid = mlp.hidden;
  H.fill(0, 0, R * Hs);
  product(ctx, mlp.W_in, X, 0, D, R, H, 0, Hs);
  const bi = mlp.b_in;
  for (let r = 0; r < R; r++) {
    const o = r * Hs;
    if (mlp.hasBIn) for (let col = 0; col < hid; col++) H[o + col] += bi[col];
    for (let col = 0; col < hid; col++) if (!(H[o + col] > 0)) H[o + col] = 0;
  }
  OUT.fill(0, 0, R * D);
  product(ctx, mlp.W_out, H, 0, Hs, R, OUT, 0, D);
  const bo = mlp.b_out;
  if (mlp.hasBOut) for (let r = 0; r < R; r++) for (let col = 0; col < d; col++) OUT[r * D + col] += bo[col];
  addResidual(c, X, OUT);
}

/** The loop's mask: positions it does not recompute get back the stream from before the loop. */
function maskPhase(c: Chunk, masks: MaskFn, s: number, t: number): void {
  const { X, D, offs } = c;
  const before = c.saved!;
  const d = c.plan.d;
  for (let b = 0; b < c.B; b++) {
    const n = offs[b + 1] - offs[b];
    const m = masks(s, t, n);
    for (let i = 0; i < n; i++) {
      if (m[i]) continue;
      const x = (offs[b] + i) * D;
      X.set(before.subarray(x, x + d), x);
    }
  }
}

/** The readout logits: the last row of each sequence, or every row; copied out of the workspace. */
function readoutLogits(c: Chunk): Float64Array {
  const { plan, ctx, X, G, L, D, VS, R, B, offs, lRows } = c;
  const { V, d } = plan;
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
  return logits;
}

/** The results of one chunk from its raw output. */
export function assemble(plan: Plan, inputs: readonly (readonly number[])[], raw: RawChunk, name: string): RunResult[] {
  const V = plan.V;
  let row = 0;
  return inputs.map((tokens, b) => {
    const n = tokens.length;
    const readouts: Readout[] = [];
    for (let p = plan.readoutAll ? 0 : n - 1; p < n; p++, row++) {
      readouts.push(readoutOf(Array.from(raw.logits.subarray(row * V, row * V + V)), p, FLOAT_ORDER));
    }
    return runResult(name, tokens, readouts, raw.trackers[b]);
  });
}
