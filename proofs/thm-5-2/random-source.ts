// A random source model for the registered `thm-5.2` construction, from a seed: R distinct layers
// arranged into a depth-L schedule in which every distinct layer runs at least once. Weights are
// small integers (ties in hard attention are common, exact arithmetic stays cheap), score scales
// are 1, 2 or 1/2, heads are causal or not. The property tests draw richer sources, shrinkably,
// from simulators/random-model.ts (properties/thm-5-2.ts); this one only has to be reproducible
// from `--param seed=…` so `looped verify|run|counterexample thm-5.2` can name it.
import { UsageError } from '../../common/errors.ts';
import { type AttentionKind, type Layer, type Model, addStage, createHead, createLayer, createMlp, createModel } from '../../simulators/model.ts';
import { space } from '../../simulators/space.ts';
import { mulberry32 as rng } from '../../tasks/random.ts';

export interface RandomSourceSpec {
  /** Depth L (layers of the unrolled source). */
  layers: number;
  /** Distinct layers R ≤ L. */
  distinct: number;
  width: number;
  /** Heads per layer. */
  heads: number;
  /** MLP width per layer (0: no MLP). */
  hidden: number;
  vocab: number;
  maxLen: number;
  seed: number;
  attention: AttentionKind;
}


/**
 * The model a spec names. The schedule is written as stages: runs of the same block (a layer
 * repeated consecutively) become a stage looped that many times, so the source mixes looped and
 * plain stages the way real models do, and distinct layers are shared across stages.
 */
export function randomSource(spec: RandomSourceSpec): Model {
  const { layers: L, distinct: R, width: d, heads: H, hidden, vocab, maxLen, seed } = spec;
  if (R > L) throw new UsageError(`parameter distinct (${R}) must be at most layers (${L}): every distinct layer runs at least once`);
  const rand = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const weight = () => (rand() < 0.4 ? 0 : int(-2, 2));
  const residual = space({ h: { size: d, describe: 'the source residual stream' } });
  const model = createModel({
    name: `random source L=${L} R=${R} d=${d} seed=${seed}`,
    description: `a random ${L}-layer model with ${R} distinct layers (Theorem 5.2's source), seed ${seed}`,
    vocab: Array.from({ length: vocab }, (_, i) => `t${i}`),
    residual,
    maxLen,
  });
  model.W_E.write('vocab', 'h', () => weight());
  model.W_pos.write('positions', 'h', () => weight());
  model.W_U.write('h', 'vocab', () => weight());
  const distinct: Layer[] = Array.from({ length: R }, (_, k) => {
    const layer = createLayer(`random layer ${k}`);
    for (let j = 0; j < H; j++) {
      const head = createHead(residual, {
        name: `h${j}`,
        kind: spec.attention,
        causal: rand() < 0.75,
        scale: [1, 2, 0.5][int(0, 2)],
        qk: int(1, 2),
        ov: int(1, 2),
      }, `layer ${k}, head 'h${j}'`);
      head.W_Q.write('h', 'qk', () => weight());
      head.W_K.write('h', 'qk', () => weight());
      head.W_V.write('h', 'ov', () => weight());
      head.W_O.write('ov', 'h', () => weight());
      layer.heads.push(head);
    }
    if (hidden > 0) {
      const mlp = createMlp(residual, { name: 'mlp', hidden }, `layer ${k}, mlp`);
      mlp.W_in.write('h', 'hidden', () => weight());
      mlp.b_in.write('hidden', Array.from({ length: hidden }, () => int(-2, 2)));
      mlp.W_out.write('hidden', 'h', () => weight());
      mlp.b_out.write('h', Array.from({ length: d }, () => int(-1, 1)));
      layer.mlp = mlp;
    }
    return layer;
  });
  // Every distinct layer once, then random ones, shuffled.
  const order = Array.from({ length: L }, (_, t) => (t < R ? t : int(0, R - 1)));
  for (let t = L - 1; t > 0; t--) {
    const u = int(0, t);
    [order[t], order[u]] = [order[u], order[t]];
  }
  let t = 0;
  while (t < L) {
    let run = 1;
    while (t + run < L && order[t + run] === order[t]) run++;
    addStage(model, [distinct[order[t]]], run);
    t += run;
  }
  return model;
}
