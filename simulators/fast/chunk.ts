// One chunk of a batch laid out in the workspace (workspace.ts): the packed rows of its sequences,
// the row strides of every activation array, and the arrays themselves. forward.ts and
// attention.ts compute on it phase by phase.
//
// Layout. Activation rows are padded to a whole number of panels (padded(precision, width)) and
// every array has 4 spare rows, because the products work on blocks of 4 rows and whole panels;
// what they write into padding is never read back into a real row.
import type { Arr, Mat, Plan } from './compile.ts';
import { padded, panelWidth } from './compile.ts';
import { Arena, type Ctx, type Loaded, align, gemmKernel, workspace } from './workspace.ts';
import { type AttentionTracker, noAttention } from '../readout.ts';

/** Query rows per attention strip (a multiple of 4): the score scratch is STRIP × n. */
export const STRIP = 64;

export interface Chunk {
  readonly plan: Plan;
  readonly ctx: Ctx;
  /** n rounded up to whole panels. */
  readonly pad: (n: number) => number;
  /** Sequences, rows (positions summed over them), and where each sequence's rows start (B + 1 offsets). */
  readonly B: number;
  readonly R: number;
  readonly offs: Int32Array;
  /** Row strides: residual, packed q/k/v, packed head outputs, MLP hidden, logits. */
  readonly D: number;
  readonly T: number;
  readonly A: number;
  readonly Hs: number;
  readonly VS: number;
  /** The longest sequence and the largest value size, padded; rows of the logits array. */
  readonly nP: number;
  readonly dovP: number;
  readonly lRows: number;
  /** The residual stream, a layer's output, the stream before a masked loop (null without masks). */
  readonly X: Arr;
  readonly OUT: Arr;
  readonly saved: Arr | null;
  readonly QKV: Arr;
  readonly AO: Arr;
  readonly H: Arr;
  /** The last row of each sequence (readout 'last'), and the logits. */
  readonly G: Arr;
  readonly L: Arr;
  /** Attention scratch: a strip's scores, the keys and values packed as panels, a strip's output. */
  readonly S: Arr;
  readonly KP: Arr;
  readonly VP: Arr;
  readonly OH: Arr;
  /** What stats32/64 write for the scanned row: best score, how many reach it, best of the others, first index of the best. */
  readonly stat: Float64Array;
  readonly trackers: AttentionTracker[];
}

function denseMats(plan: Plan): Mat[] {
  const ms: Mat[] = [plan.U];
  for (const l of plan.layers) {
    if (l.W_QKV) ms.push(l.W_QKV, l.W_O!);
    if (l.mlp) ms.push(l.mlp.W_in, l.mlp.W_out);
  }
  return [...new Set(ms)].filter((m) => m.kind === 'dense');
}

/** Sizes the chunk, lays its weights and arrays out in the workspace (grown first), and returns it. */
export function layOut(plan: Plan, inputs: readonly (readonly number[])[]): Chunk {
  const { d, precision } = plan;
  const f64 = precision === 'f64';
  const P = panelWidth(precision);
  const bytes = f64 ? 8 : 4;
  const pad = (n: number) => padded(precision, n);
  const B = inputs.length;
  const offs = new Int32Array(B + 1);
  let maxN = 0;
  for (let b = 0; b < B; b++) {
    offs[b + 1] = offs[b] + inputs[b].length;
    maxN = Math.max(maxN, inputs[b].length);
  }
  const R = offs[B];
  const Rp = R + 4;

  // Sizes: activation row strides (padded) and the attention scratch.
  let T = 0;
  let A = 0;
  let Hs = 0;
  let dqkMax = 0;
  let dovMax = 0;
  for (const l of plan.layers) {
    T = Math.max(T, pad(l.qkvWidth));
    A = Math.max(A, pad(l.aoWidth));
    Hs = Math.max(Hs, pad(l.mlp?.hidden ?? 0));
    for (const h of l.heads) {
      dqkMax = Math.max(dqkMax, h.dqk);
      dovMax = Math.max(dovMax, h.dov);
    }
  }
  const D = pad(d);
  const VS = pad(plan.V);
  const nP = pad(maxN);
  const dovP = pad(dovMax);
  const hasMask = plan.stages.some((s) => s.hasMask);
  const lRows = plan.readoutAll ? Rp : B + 4;
  const mats = denseMats(plan);
  const identLen = Math.max(nP, dqkMax, 1);

  const elems = [
    ...mats.map((m) => (m as { w: Arr }).w.length),
    Rp * D, // X
    Rp * D, // OUT
    hasMask ? Rp * D : 0, // before
    Rp * T, // QKV
    Rp * A, // AO
    Rp * Hs, // H
    (B + 4) * D, // G
    lRows * VS, // L
    STRIP * nP, // S
    nP * dqkMax, // keys, packed
    dovP * nP, // values, packed
    STRIP * dovP, // a head's output strip
  ];
  const ints = [...mats.map((m) => m.rows.length), identLen, identLen];
  const total = elems.reduce((s, n) => s + align(n * bytes), 0) + ints.reduce((s, n) => s + align(n * 4), 0);
  const arena = new Arena(workspace(total).buffer, precision);

  const loaded = new Map<Mat, Loaded>();
  for (const m of mats) {
    const src = (m as { w: Arr }).w;
    const w = arena.take(src.length);
    w.set(src);
    const rowBytes = arena.takeI32(m.rows.length);
    for (let k = 0; k < m.rows.length; k++) rowBytes[k] = m.rows[k] * bytes;
    loaded.set(m, { w, rowBytes });
  }
  const X = arena.take(Rp * D);
  const OUT = arena.take(Rp * D);
  const saved = hasMask ? arena.take(Rp * D) : null;
  const QKV = arena.take(Rp * T);
  const AO = arena.take(Rp * A);
  const H = arena.take(Rp * Hs);
  const G = arena.take((B + 4) * D);
  const L = arena.take(lRows * VS);
  const S = arena.take(STRIP * nP);
  const KP = arena.take(nP * dqkMax);
  const VP = arena.take(dovP * nP);
  const OH = arena.take(STRIP * dovP);
  const ident = arena.takeI32(identLen);
  const identBytes = arena.takeI32(identLen);
  for (let k = 0; k < identLen; k++) {
    ident[k] = k;
    identBytes[k] = k * bytes;
  }
  const ctx: Ctx = { precision, P, bytes, gemm: gemmKernel(precision), loaded, ident, identBytes };
  return {
    plan, ctx, pad, B, R, offs, D, T, A, Hs, VS, nP, dovP, lRows,
    X, OUT, saved, QKV, AO, H, G, L, S, KP, VP, OH,
    stat: new Float64Array(4),
    trackers: inputs.map(() => noAttention()),
  };
}

/** Y += Z over the real rows and columns of the residual stream (a store into a Float32Array rounds). */
export function addResidual(c: Chunk, Y: Arr, Z: Arr): void {
  const { R, D } = c;
  const d = c.plan.d;
  for (let r = 0; r < R; r++) for (let k = r * D, e = k + d; k < e; k++) Y[k] += Z[k];
}
