// Obligation 2: every head, at every query position and for every state there, attends to exactly
// the position its rule names, whatever states the other positions hold. Hard attention depends
// on a key only through its score ⟨q_i, k_j⟩ (times the head's scale), so this is pairwise: the
// smallest score the named position can have (over its states) must beat the largest score any
// other visible position can have (over its states), for each query. A position's query and its
// own key come from the same state, so position i is taken state by state, not as a product.
import type { Configuration } from './report.ts';
import type { Context, StateEntry } from './context.ts';
import type { ExactHead } from './exact-model.ts';
import type { ExactVector } from './exact.ts';

export interface AttentionOutcome {
  count: number;
  /** Smallest gap (as a double) between the named key's worst score and the best other score. */
  minMargin: number;
  failure: { where: string; why: string; configuration: Configuration } | null;
}

interface KeyEntry<S> {
  entry: StateEntry<S>;
  k: ExactVector;
}

/** Distinct keys at one position (states whose key vectors coincide are one). */
function distinctKeys<S>(ctx: Context<S>, h: ExactHead, layer: number, j: number): KeyEntry<S>[] {
  const seen = new Map<string, KeyEntry<S>>();
  for (const entry of ctx.table[layer][j]) {
    const k = ctx.ex.times(entry.vec, h.K, h.head.qk.dim);
    const key = ctx.ex.key(k);
    if (!seen.has(key)) seen.set(key, { entry, k });
  }
  return [...seen.values()];
}

export function checkAttention<S>(ctx: Context<S>, layer: number): AttentionOutcome {
  const { ex, abs } = ctx;
  const L = ctx.layerAt(layer);
  let count = 0;
  let minMargin = Infinity;
  for (let hi = 0; hi < L.heads.length; hi++) {
    const h = L.heads[hi];
    const keys: KeyEntry<S>[][] = [];
    for (let j = 0; j < ctx.n; j++) keys.push(distinctKeys(ctx, h, layer, j));
    const score = (q: ExactVector, k: ExactVector) => {
      const s = ex.dot(q, k);
      return { num: s.num * h.scale, level: s.level + 1 };
    };
    for (let i = 0; i < ctx.n; i++) {
      const t = abs.rule(layer, i).reads[hi];
      const last = h.head.causal ? i : ctx.n - 1;
      const where = `layer ${layer}, head '${h.head.name}', query position ${i}`;
      // Queries: one per distinct (query vector, own key vector) pair of position i's states.
      const seenQ = new Set<string>();
      for (const own of ctx.table[layer][i]) {
        const q = ex.times(own.vec, h.Q, h.head.qk.dim);
        const kOwn = ex.times(own.vec, h.K, h.head.qk.dim);
        const qKey = `${ex.key(q)}|${ex.key(kOwn)}`;
        if (seenQ.has(qKey)) continue;
        seenQ.add(qKey);
        // The named position's worst score.
        let worst: { num: bigint; level: number; entry: StateEntry<S> } | null = null;
        if (t === i) worst = { ...score(q, kOwn), entry: own };
        else {
          for (const key of keys[t]) {
            const s = score(q, key.k);
            if (worst === null || s.num < worst.num) worst = { ...s, entry: key.entry };
          }
        }
        // Every other visible position's best score.
        let best: { num: bigint; level: number; j: number; entry: StateEntry<S> } | null = null;
        for (let j = 0; j <= last; j++) {
          if (j === t) continue;
          if (j === i) {
            const s = score(q, kOwn);
            if (best === null || s.num > best.num) best = { ...s, j, entry: own };
            continue;
          }
          for (const key of keys[j]) {
            const s = score(q, key.k);
            if (best === null || s.num > best.num) best = { ...s, j, entry: key.entry };
          }
        }
        count++;
        if (worst === null) continue;
        if (best === null) continue; // the named position is the only one visible
        const gap = { num: worst.num - best.num, level: worst.level };
        minMargin = Math.min(minMargin, ex.toNumber(gap));
        if (gap.num <= 0n) {
          const states = [{ position: i, state: abs.format(own.state), key: own.key }];
          if (t !== i) states.push({ position: t, state: abs.format(worst.entry.state), key: worst.entry.key });
          if (best.j !== i) states.push({ position: best.j, state: abs.format(best.entry.state), key: best.entry.key });
          return {
            count,
            minMargin,
            failure: {
              where,
              why:
                `the rule names position ${t}, but position ${best.j} (state ${abs.format(best.entry.state)}) scores ${ex.toNumber(best)} ` +
                `${gap.num === 0n ? '— a tie with' : 'above'} position ${t}'s ${ex.toNumber(worst)} (state ${abs.format(worst.entry.state)}), ` +
                `for the query of state ${abs.format(own.state)}`,
              configuration: { layer, states },
            },
          };
        }
      }
    }
  }
  return { count, minMargin, failure: null };
}
