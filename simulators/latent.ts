// The "latent thoughts" of a run: what the readout would say at EVERY position after every loop.
// For a Theorem 5.4 model the readout reads the token a position holds, so row t shows the prompt
// followed by CoT tokens 1..t — the chain of thought the loops compute without emitting it.
import type { Model } from './model.ts';
import type { RunResult } from './result.ts';
import { maxOf } from './extrema.ts';

export interface LatentRow {
  /** 0 for the embedding, then loops 1.. over the whole model. */
  loop: number;
  /** The readout's argmax at each position; null where the top logit is tied. */
  tokens: (number | null)[];
}

/** Argmax of x·W_U at each position of every loop snapshot of a traced run (in doubles). */
export function latentRows(model: Model, run: RunResult): LatentRow[] {
  const trace = run.trace;
  if (trace === undefined) throw new Error('latentRows needs a run with { trace: true }');
  const unembed = model.W_U.rowsSparse();
  const V = model.vocab.dim;
  const decode = (values: number[][]) =>
    values.map((x) => {
      const logits = new Array<number>(V).fill(0);
      unembed.forEach((row, r) => {
        if (x[r] !== 0) for (const e of row) logits[e.col] += x[r] * e.value;
      });
      const top = maxOf(logits);
      const at = logits.flatMap((l, v) => (l === top ? [v] : []));
      return at.length === 1 ? at[0] : null;
    });
  const loops = model.stages.reduce((a, s) => a + s.loops, 0);
  const rows: LatentRow[] = [{ loop: 0, tokens: decode(trace.get('hook_embed').values) }];
  for (let t = 1; t <= loops; t++) rows.push({ loop: t, tokens: decode(trace.afterLoop(t).values) });
  return rows;
}
