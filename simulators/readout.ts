// The readout and the result, once for every interpreter (generic, fast, gpu): which logits are
// top, the argmax or a tie, the top-two margin, and the RunResult built from the readouts and the
// attention margins an interpreter tracked while it ran.
//
// The tie rule: every token whose logit compares equal to the best is in `top`; the answer is the
// token only when it is alone there, otherwise null and `tie` is true (a tie is never broken
// silently). Comparison is the number system's own (`cmp`): exact rationals that one double cannot
// tell apart are still told apart, and under the float order a NaN compares equal to everything,
// so a NaN logit makes a tie rather than being skipped.
import { minOf } from './extrema.ts';
import type { AttentionSite, Readout, RunResult } from './result.ts';
import type { Trace } from './trace.ts';

/** How a readout compares and reports logits: a number system's cmp, toNumber and (exact ones) toExact. */
export interface LogitOrder<T> {
  cmp(a: T, b: T): number;
  toNumber(a: T): number;
  toExact?(a: T): string;
}

/** Doubles (and float32 values held in doubles), compared as the float number systems compare them. */
export const FLOAT_ORDER: LogitOrder<number> = {
  cmp: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  toNumber: (a) => a,
};

/** The readout of one position's logits: top tokens, argmax (null on a tie), top-two margin. */
export function readoutOf<T>(values: readonly T[], position: number, order: LogitOrder<T>): Readout {
  let best = values[0];
  for (const v of values) if (order.cmp(v, best) > 0) best = v;
  const top: number[] = [];
  let second = -Infinity;
  values.forEach((v, k) => {
    if (order.cmp(v, best) === 0) top.push(k);
    else second = Math.max(second, order.toNumber(v));
  });
  const margin = top.length > 1 ? 0 : second === -Infinity ? Infinity : order.toNumber(best) - second;
  const token = top.length === 1 ? top[0] : null;
  const logits = values.map((v) => order.toNumber(v));
  if (order.toExact === undefined) return { position, logits, top, token, margin };
  return { position, logits, exactLogits: values.map((v) => order.toExact!(v)), top, token, margin };
}

/** The smallest attention gap an interpreter saw, where, and how many sites tied (simulators/result.ts Margins). */
export interface AttentionTracker {
  attention: number;
  site: AttentionSite | null;
  ties: number;
}

export const noAttention = (): AttentionTracker => ({ attention: Infinity, site: null, ties: 0 });

/** The result of one input: the answer is the last readout's token; the logit margin the smallest over the readouts. */
export function runResult(interpreter: string, tokens: readonly number[], readouts: Readout[], attention: AttentionTracker, trace?: Trace): RunResult {
  const last = readouts[readouts.length - 1];
  const result: RunResult = {
    interpreter,
    tokens: [...tokens],
    answer: last.token,
    tie: last.token === null,
    readouts,
    margins: { attention: attention.attention, attentionSite: attention.site, attentionTies: attention.ties, logit: minOf(readouts.map((r) => r.margin)) },
  };
  if (trace) result.trace = trace;
  return result;
}
