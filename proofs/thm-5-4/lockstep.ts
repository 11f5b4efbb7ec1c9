// Theorem 5.4, run and checked: the looped model's input (withPads), the decoder's CoT (cotOf),
// the lockstep decoder (lockstepRows: after loop t every position 0..n+t−1 holds exactly the
// embedding of the prompt and CoT tokens 1..t), and the SHIFT head as softmax (withSoftmaxShift),
// for both variants (proofs/thm-5-4/masked.ts, proofs/thm-5-4/unmasked.ts).
import { InputError } from '../../common/errors.ts';
import { decodeCot, type CotResult } from '../../simulators/cot.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import { type Model, paddedInput } from '../../simulators/model.ts';
import { type Rational, type Scalar, parseRational, rationalToNumber, toRational } from '../../simulators/rational.ts';
import type { RunResult } from '../../simulators/result.ts';
import { sbin } from '../codes.ts';
import type { Thm54Compiled } from './compiler.ts';

/** (v, #^m): the looped model's input for a prompt of exactly n source tokens. */
export function withPads(c: Thm54Compiled, prompt: readonly number[]): number[] {
  if (prompt.length !== c.n) throw new InputError(`the looped model was compiled for prompts of n = ${c.n} tokens; got ${prompt.length}`);
  prompt.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= c.source.vocab.dim) throw new InputError(`prompt token ${t} at position ${i} is not a source token (0..${c.source.vocab.dim - 1})`);
  });
  return paddedInput(c.model, prompt);
}

/** Greedy CoT of the source (TF^m), under `interpreter`. */
export function cotOf(c: Thm54Compiled, prompt: readonly number[], interpreter = 'exact'): CotResult {
  return decodeCot(interpreterByName(interpreter), c.source, prompt, c.m);
}

/** The looped model's embedding of (token, position) as exact values: the state the block must leave. */
export function embeddingRow(model: Model, token: number, position: number): Rational[] {
  const row = new Array<Rational>(model.residual.dim).fill(toRational(0));
  for (const e of model.W_E.rowsSparse()[token]) row[e.col] = row[e.col].add(e.exact);
  for (const e of model.W_pos.rowsSparse()[position]) row[e.col] = row[e.col].add(e.exact);
  return row;
}

/**
 * The state position `position` must hold after loop `loop` when it holds `token`: the embedding
 * of (token, position), except variant (b)'s counter, which the block advances once a loop at
 * every position: sbin(n + loop) (mod 2^s), with the wraps counted in `wrap`. For variant (a), and
 * for loop 0, it is embeddingRow.
 */
export function stateAfterLoop(c: Thm54Compiled, token: number, position: number, loop: number): Rational[] {
  const row = embeddingRow(c.model, token, position);
  if (c.names.counter !== undefined) {
    const value = c.n + loop;
    const at = c.model.residual.range(c.names.counter).offset;
    sbin(value, c.s, { wrap: true }).forEach((b, k) => (row[at + k] = toRational(b)));
    if (c.names.wrap !== undefined) row[c.model.residual.range(c.names.wrap).offset] = toRational(Math.floor(value / 2 ** c.s));
  }
  return row;
}

export interface Thm54LockstepRow {
  loop: number;
  /** The tokens positions 0..n+t−1 should hold: v, then CoT tokens 1..t. */
  expected: number[];
  /** The tokens they hold (the readout of tok), null where the state is not exactly the one stateAfterLoop prescribes. */
  got: (number | null)[];
  ok: boolean;
}

/**
 * Lockstep from a traced exact run: after loop t the state at every position 0..n+t−1 is EXACTLY
 * the looped model's embedding of (v, CoT_1..CoT_t) there — the prompt frozen, position n+t−1
 * (the notes' n+t, 1-indexed) holding CoT token t — with, in variant (b), the counter at
 * sbin(n + t) (stateAfterLoop).
 */
export function lockstepRows(c: Thm54Compiled, prompt: readonly number[], run: RunResult, cot: readonly number[]): Thm54LockstepRow[] {
  if (!run.trace) throw new Error("lockstep needs a run with { trace: 'loops' } (or true)");
  const rows: Thm54LockstepRow[] = [];
  for (let t = 1; t <= c.m; t++) {
    const snap = run.trace.afterLoop(t);
    const expected = [...prompt, ...cot.slice(0, t)];
    const got = expected.map((tok, i) => {
      const want = stateAfterLoop(c, tok, i, t);
      // exact and fixed:s traces carry exact values; a float trace only doubles. The states prescribed
      // are small dyadic rationals (integer weights, ±1 codes), exact in a double, so a float state is
      // compared for EQUALITY too: the float64 looped model must land on them bit for bit.
      const same = snap.exact
        ? snap.exact[i].map((x) => parseRational(x)).every((x, k) => x.equals(want[k]))
        : snap.values[i].every((x, k) => x === rationalToNumber(want[k]));
      return same ? tok : null;
    });
    rows.push({ loop: t, expected, got, ok: got.every((x, i) => x === expected[i]) });
  }
  return rows;
}

/**
 * The same model with the SHIFT head as softmax (score scale `scale`, default 1), every source head
 * unchanged: Lemma B.4 makes its weights exactly one-hot in F_s (fixed:s) at scale 1 — the winning
 * score is 0 and every other ≤ −2B_s, and exp(−B_s) rounds to 0 (Lemma B.1) — so under fixed:s
 * this model computes what the hard-attention one does. In float64 scale 1 is NOT one-hot (the
 * losers keep weight e^{−2B_s} > 0); float64ShiftScale(s) is a scale at which it is. Weights are shared.
 */
export function withSoftmaxShift(model: Model, scale: Scalar = 1): Model {
  const k = toRational(scale);
  return {
    ...model,
    stages: model.stages.map((st) => ({
      ...st,
      layers: st.layers.map((l) => (l.heads.some((h) => h.name === 'shift') ? { ...l, heads: l.heads.map((h) => (h.name === 'shift' ? { ...h, kind: 'softmax' as const, scale: k } : h)) } : l)),
    })),
  };
}

/**
 * The least power of two λ at which the SHIFT head, as softmax, is EXACTLY one-hot in float64:
 * the float64 softmax subtracts the top score (0 here), and every other score is ≤ −2λB_s; exp of
 * anything below −745.2 underflows to 0 in a double (the least subnormal is 2^−1074 ≈ e^−744.4), so
 * 2λB_s ≥ 746 makes every losing weight 0 and the winner's 1/1. (The codes' bits s set B_s = 2^s − 2^−s.)
 */
export function float64ShiftScale(s: number): number {
  const B = 2 ** s - 2 ** -s;
  let lambda = 1;
  while (2 * lambda * B < 746) lambda *= 2;
  return lambda;
}
