// The model's weights as exact sparse rows over the certifier's common denominator D
// (certify/exact.ts): every matrix the forward pass multiplies by, in the same orientation
// (rows = the input side: y = x W).
import type { LabeledMatrix, LabeledVector } from '../simulators/matrix.ts';
import type { Head, Layer, Model } from '../simulators/model.ts';
import type { Rational } from '../simulators/rational.ts';
import { type Exact, type ExactEntry, type ExactVector } from './exact.ts';

export type ExactRows = readonly (readonly ExactEntry[])[];

export interface ExactHead {
  readonly head: Head;
  readonly Q: ExactRows;
  readonly K: ExactRows;
  readonly V: ExactRows;
  readonly O: ExactRows;
  /** The score scale as a numerator over D (level 1). */
  readonly scale: bigint;
}

export interface ExactMlp {
  readonly W_in: ExactRows;
  readonly b_in: ExactVector;
  readonly W_out: ExactRows;
  readonly b_out: ExactVector;
  readonly hidden: number;
  /** Hidden unit → the nonzero input rows (residual coordinates) it reads, with weights. */
  readonly unitReads: readonly (readonly { row: number; w: bigint }[])[];
}

export interface ExactLayer {
  readonly layer: Layer;
  readonly heads: readonly ExactHead[];
  readonly mlp: ExactMlp | null;
}

/** Every rational the model holds (weights, biases, scales): their denominators make up D. */
export function* modelRationals(model: Model): Generator<Rational> {
  const matrices: LabeledMatrix[] = [model.W_E, model.W_pos, model.W_U];
  for (const stage of model.stages) {
    for (const layer of stage.layers) {
      for (const h of layer.heads) {
        matrices.push(h.W_Q, h.W_K, h.W_V, h.W_O);
        yield h.scale;
      }
      if (layer.mlp) matrices.push(layer.mlp.W_in, layer.mlp.b_in.matrix, layer.mlp.W_out, layer.mlp.b_out.matrix);
    }
  }
  for (const m of matrices) for (const row of m.rowsSparse()) for (const e of row) yield e.exact;
}

export function exactRows(ex: Exact, m: LabeledMatrix): ExactRows {
  return m.rowsSparse().map((row) => row.map((e) => ({ col: e.col, w: ex.weight(e.exact) })).filter((e) => e.w !== 0n));
}

function exactBias(ex: Exact, v: LabeledVector): ExactVector {
  const num = new Array<bigint>(v.dim).fill(0n);
  for (const e of v.matrix.rowsSparse()[0]) num[e.col] = ex.weight(e.exact);
  return { num, level: 1 };
}

export function exactLayer(ex: Exact, layer: Layer): ExactLayer {
  const heads = layer.heads.map((head) => ({
    head,
    Q: exactRows(ex, head.W_Q),
    K: exactRows(ex, head.W_K),
    V: exactRows(ex, head.W_V),
    O: exactRows(ex, head.W_O),
    scale: ex.weight(head.scale),
  }));
  let mlp: ExactMlp | null = null;
  if (layer.mlp) {
    const W_in = exactRows(ex, layer.mlp.W_in);
    const hidden = layer.mlp.hidden.dim;
    const unitReads: { row: number; w: bigint }[][] = Array.from({ length: hidden }, () => []);
    W_in.forEach((row, r) => row.forEach(({ col, w }) => unitReads[col].push({ row: r, w })));
    mlp = { W_in, b_in: exactBias(ex, layer.mlp.b_in), W_out: exactRows(ex, layer.mlp.W_out), b_out: exactBias(ex, layer.mlp.b_out), hidden, unitReads };
  }
  return { layer, heads, mlp };
}
