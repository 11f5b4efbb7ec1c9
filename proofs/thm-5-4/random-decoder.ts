// A random DECODER for the registered `thm-5.4` construction, from a seed: Theorem 5.2's random
// source (proofs/thm-5-2/random-source.ts) with every head made causal — Theorem 5.4 compiles
// decoders, whose position i never reads a later position — and readout 'last', the position CoT
// decoding reads. The property tests draw shrinkable decoders from properties/thm-5-4.ts instead.
import type { Model } from '../../simulators/model.ts';
import { type RandomSourceSpec, randomSource } from '../thm-5-2/random-source.ts';

/** The same model as randomSource(spec) but with causal heads and readout 'last'. */
export function randomDecoder(spec: RandomSourceSpec): Model {
  return asDecoder(randomSource(spec));
}

/** A copy of `model` whose heads are all causal and whose readout is 'last' (weights shared). */
export function asDecoder(model: Model): Model {
  const layerMap = new Map<object, Model['stages'][number]['layers'][number]>();
  const stages = model.stages.map((st) => ({
    ...st,
    layers: st.layers.map((l) => {
      let copy = layerMap.get(l);
      if (copy === undefined) {
        copy = { ...l, heads: l.heads.map((h) => ({ ...h, causal: true })) };
        layerMap.set(l, copy);
      }
      return copy;
    }),
  }));
  return { ...model, name: model.name.replace('random source', 'random decoder'), stages, readout: 'last' };
}
