// Theorem 5.2, run and compared: the source's output on v beside the compiled model's on (#, v)
// (outputOf, sameOutput), and the lockstep decoder (lockstepRows) — after loop t the compiled
// model's state at every source position is the source's residual after depth t, read subspace by
// subspace by name (Trace.read / Trace.readExact).
import { interpreterByName } from '../../simulators/interpreters.ts';
import type { RunResult } from '../../simulators/result.ts';
import type { Trace } from '../../simulators/trace.ts';
import type { Thm52Compiled } from './compiler.ts';

/** The source's output on v, or the compiled model's on (#, v), aligned: one row of source-token logits per source position read. */
export interface Thm52Output {
  /** The argmax among the source tokens (null on a tie; the compiled model's # would show as the index V). */
  answer: number | null;
  logits: number[][];
  /** Exact logits (rational strings) where the interpreter has them. */
  exact: string[][] | null;
  /** The interpreter that produced it, where known (a fixed:s run is compared with the source in the same fixed:s). */
  interpreter?: string;
}

/** Reads a source run (compiled: false) or a compiled run (compiled: true) as the source's positions and tokens. */
export function outputOf(run: RunResult, vocab: number, compiled: boolean): Thm52Output {
  const rows = compiled ? run.readouts.filter((r) => r.position > 0) : run.readouts;
  const exact = rows.every((r) => r.exactLogits !== undefined) ? rows.map((r) => r.exactLogits!.slice(0, vocab)) : null;
  return { answer: run.answer, logits: rows.map((r) => r.logits.slice(0, vocab)), exact };
}

/** Relative tolerance for float comparisons: |a − b| ≤ TOLERANCE·(1 + |b|). */
export const TOLERANCE = 1e-9;

/** Equal answers, and logits equal exactly where both are exact, else within TOLERANCE. */
export function sameOutput(a: Thm52Output, b: Thm52Output): boolean {
  if (a.answer !== b.answer || a.logits.length !== b.logits.length) return false;
  if (a.exact && b.exact) return a.exact.every((row, i) => row.length === b.exact![i].length && row.every((x, j) => x === b.exact![i][j]));
  return a.logits.every((row, i) => row.length === b.logits[i].length && row.every((x, j) => Math.abs(x - b.logits[i][j]) <= TOLERANCE * (1 + Math.abs(b.logits[i][j]))));
}

/** Largest |difference| between two outputs' logits (exact ones converted). */
export function logitDifference(a: Thm52Output, b: Thm52Output): number {
  let m = 0;
  a.logits.forEach((row, i) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - (b.logits[i]?.[j] ?? NaN))))));
  return m;
}

/** The compiled model's input for the source input v: (#, v). */
export const withStart = (c: Thm52Compiled, tokens: readonly number[]): number[] => [c.startToken, ...tokens];


/** One subspace at one position as text: exact rationals where the trace has them (exact, fixed:s), else the doubles. */
function shown(trace: Trace, key: string, subspace: string, position: number): string[] {
  return trace.readExact(key, subspace, position) ?? trace.read(key, subspace, position).map(String);
}

/**
 * Lockstep: after loop t the compiled model's x at positions 1..n is the source's residual after
 * depth t, its layer mask is 1_R − e_{r(t+1)} (unchanged after the last loop), l = t + 1, and the #
 * position's x is still 0. x is read subspace by subspace, by the source's names (the compiled
 * residual extends the source's); values as exact strings under exact, as decimal strings otherwise.
 */
export function lockstepRows(c: Thm52Compiled, tokens: readonly number[], run: RunResult, interpreter: string): { loop: number; expected: unknown; got: unknown }[] {
  const trace = run.trace;
  if (!trace) throw new Error('lockstep needs a run with { trace: true }');
  const srcTrace = interpreterByName(interpreter).run(c.source, tokens, { trace: true }).trace!;
  const { L, R, d } = c.scope;
  const parts = c.source.residual.parts.map((p) => p.name);
  const x = (t: Trace, key: string, i: number) => parts.flatMap((name) => shown(t, key, name, i));
  const rows: { loop: number; expected: unknown; got: unknown }[] = [];
  for (let t = 1; t <= L; t++) {
    const { loop, layer } = c.analysis.at[t - 1];
    const src = `loop${loop}.blocks.${layer}.hook_resid_post`;
    // The compiled model is one layer (blocks.0) looped L times, with no mask: loop t ends at its hook_resid_post.
    const got = `loop${t}.blocks.0.hook_resid_post`;
    const next = c.analysis.r[Math.min(t, L - 1)];
    const mask = Array.from({ length: R }, (_, k) => (k === next ? '0' : '1'));
    rows.push({
      loop: t,
      expected: {
        x: tokens.map((_, i) => x(srcTrace, src, i)),
        start: Array.from({ length: d }, () => '0'),
        positions: tokens.map(() => ({ mask, l: String(t + 1) })),
      },
      got: {
        x: tokens.map((_, i) => x(trace, got, i + 1)),
        start: x(trace, got, 0),
        positions: tokens.map((_, i) => ({ mask: shown(trace, got, c.names.inactive, i + 1), l: shown(trace, got, c.names.l, i + 1)[0] })),
      },
    });
  }
  return rows;
}
