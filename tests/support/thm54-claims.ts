// Theorem 5.4's sizes as the paper states them (paper-notes §3: "L + O(1) layers per block,
// O(log(n+m)) more width and O(1) more heads, looped m times"; the proof's constants: Lemma B.7's
// 5 ReLU layers of width |Σ|² then one SHIFT layer, 3s more width with s = ⌊log(n+m)⌋ + 1, the one
// SHIFT head), computed here from the decoder's own sizes — not from the modules' formulas — so a
// test that compares them with a compiled model's claimed row checks the claim, not the builder.
import type { Model } from '../../simulators/model.ts';
import { modelSizes } from '../../simulators/model.ts';
import type { SizeKey, SizeRow } from '../../proofs/construction.ts';

export function thm54PaperSizes(decoder: Model, n: number, m: number): Partial<Record<SizeKey, number>> {
  const z = modelSizes(decoder);
  const V = decoder.vocab.dim;
  const s = Math.floor(Math.log2(n + m)) + 1;
  return { layersPerBlock: z.depth + 6, loops: m, width: z.width + 3 * s, mlpWidth: Math.max(z.mlpWidth, V * V), heads: z.heads + 1, bits: s };
}

/** The rows whose built size is above the claim, by key. */
export function aboveClaim(rows: readonly SizeRow[]): SizeKey[] {
  return rows.filter((r) => r.claimed !== null && r.built !== null && r.built > r.claimed).map((r) => r.key);
}
