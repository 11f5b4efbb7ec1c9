// Random models as plain data, so fast-check can shrink them and a failure prints a model a
// person can read. Weights are small integers (real ties in hard attention, exact arithmetic
// stays cheap); `buildRandomModel` turns the data into a Model with labelled subspaces.
import fc from 'fast-check';
import { type AttentionKind, type Model, addStage, createHead, createLayer, createMlp, createModel } from './model.ts';
import { space } from './space.ts';

export type IntMatrix = number[][];

export interface RandomHeadSpec {
  kind: AttentionKind;
  causal: boolean;
  scale: number;
  Wq: IntMatrix;
  Wk: IntMatrix;
  Wv: IntMatrix;
  Wo: IntMatrix;
}

export interface RandomMlpSpec {
  Win: IntMatrix;
  bin: number[];
  Wout: IntMatrix;
  bout: number[];
}

export interface RandomLayerSpec {
  heads: RandomHeadSpec[];
  mlp: RandomMlpSpec | null;
}

export interface RandomModelSpec {
  vocab: number;
  width: number;
  maxLen: number;
  E: IntMatrix;
  P: IntMatrix;
  U: IntMatrix;
  /** One stage per entry: its block and loop count. */
  stages: { layers: RandomLayerSpec[]; loops: number; mask: string | null }[];
  readout: 'last' | 'all';
}

export interface RandomModelOptions {
  maxVocab?: number;
  maxWidth?: number;
  maxLen?: number;
  maxHeads?: number;
  maxLayers?: number;
  maxLoops?: number;
  maxStages?: number;
  maxHeadDim?: number;
  maxHidden?: number;
  /**
   * Least sizes (defaults: vocabulary 2, width 1, length 1, 0 heads, 1 layer, head size 1, MLP 1):
   * with min = max a size is fixed, as the realistic-size runs fix width 64, 4 heads, vocabulary 32
   * and length 32 (tests/realistic-sources.test.ts).
   */
  minVocab?: number;
  minWidth?: number;
  minLen?: number;
  minHeads?: number;
  minLayers?: number;
  minHeadDim?: number;
  minHidden?: number;
  /** Largest absolute weight. */
  weight?: number;
  kinds?: AttentionKind[];
  masks?: (string | null)[];
  readouts?: ('last' | 'all')[];
}

const matrix = (rows: number, cols: number, w: number): fc.Arbitrary<IntMatrix> =>
  fc.array(fc.array(fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: -w, max: w }) }), {
    minLength: cols,
    maxLength: cols,
  }), { minLength: rows, maxLength: rows });

const vector = (n: number, w: number) => fc.array(fc.integer({ min: -w, max: w }), { minLength: n, maxLength: n });

export function randomModelArbitrary(o: RandomModelOptions = {}): fc.Arbitrary<RandomModelSpec> {
  const w = o.weight ?? 2;
  const kinds = o.kinds ?? ['hard'];
  return fc
    .record({
      vocab: fc.integer({ min: o.minVocab ?? 2, max: o.maxVocab ?? 4 }),
      width: fc.integer({ min: o.minWidth ?? 1, max: o.maxWidth ?? 6 }),
      maxLen: fc.integer({ min: o.minLen ?? 1, max: o.maxLen ?? 5 }),
    })
    .chain(({ vocab, width, maxLen }) => {
      const head = fc
        .record({ dqk: fc.integer({ min: o.minHeadDim ?? 1, max: o.maxHeadDim ?? 3 }), dov: fc.integer({ min: o.minHeadDim ?? 1, max: o.maxHeadDim ?? 3 }) })
        .chain(({ dqk, dov }) =>
          fc.record({
            kind: fc.constantFrom(...kinds),
            causal: fc.boolean(),
            scale: fc.constantFrom(1, 2, 0.5),
            Wq: matrix(width, dqk, w),
            Wk: matrix(width, dqk, w),
            Wv: matrix(width, dov, w),
            Wo: matrix(dov, width, w),
          }),
        );
      const mlp = fc.integer({ min: o.minHidden ?? 1, max: o.maxHidden ?? 4 }).chain((h) =>
        fc.record({ Win: matrix(width, h, w), bin: vector(h, w), Wout: matrix(h, width, w), bout: vector(width, w) }),
      );
      const layer = fc.record({
        heads: fc.array(head, { minLength: o.minHeads ?? 0, maxLength: o.maxHeads ?? 2 }),
        mlp: fc.option(mlp, { nil: null }),
      });
      const stage = fc.record({
        layers: fc.array(layer, { minLength: o.minLayers ?? 1, maxLength: o.maxLayers ?? 2 }),
        loops: fc.integer({ min: 1, max: o.maxLoops ?? 3 }),
        mask: fc.constantFrom(...(o.masks ?? [null])),
      });
      return fc.record({
        vocab: fc.constant(vocab),
        width: fc.constant(width),
        maxLen: fc.constant(maxLen),
        E: matrix(vocab, width, w),
        P: matrix(maxLen, width, w),
        U: matrix(width, vocab, w),
        stages: fc.array(stage, { minLength: 1, maxLength: o.maxStages ?? 1 }),
        readout: fc.constantFrom(...(o.readouts ?? (['last', 'all'] as const))),
      });
    });
}

/** Builds the model a spec describes. The residual is one subspace `h` of the spec's width. */
export function buildRandomModel(spec: RandomModelSpec, name = 'random'): Model {
  const residual = space({ h: spec.width });
  const model = createModel({
    name,
    vocab: Array.from({ length: spec.vocab }, (_, i) => `t${i}`),
    residual,
    maxLen: spec.maxLen,
    readout: spec.readout,
  });
  model.W_E.write('vocab', 'h', (r, c) => spec.E[r][c]);
  model.W_pos.write('positions', 'h', (r, c) => spec.P[r][c]);
  model.W_U.write('h', 'vocab', (r, c) => spec.U[r][c]);
  spec.stages.forEach((st, s) => {
    const layers = st.layers.map((ls, l) => {
      const layer = createLayer();
      ls.heads.forEach((hs, k) => {
        const h = createHead(residual, {
          name: `h${k}`,
          kind: hs.kind,
          causal: hs.causal,
          scale: hs.scale,
          qk: hs.Wq[0]?.length ?? 1,
          ov: hs.Wv[0]?.length ?? 1,
        }, `stage ${s}, layer ${l}, head 'h${k}'`);
        h.W_Q.write('h', 'qk', (r, c) => hs.Wq[r][c]);
        h.W_K.write('h', 'qk', (r, c) => hs.Wk[r][c]);
        h.W_V.write('h', h.ov.parts[0].name, (r, c) => hs.Wv[r][c]);
        h.W_O.write(h.ov.parts[0].name, 'h', (r, c) => hs.Wo[r][c]);
        layer.heads.push(h);
      });
      if (ls.mlp) {
        const m = ls.mlp;
        const mlp = createMlp(residual, { name: 'mlp', hidden: m.bin.length }, `stage ${s}, layer ${l}, mlp`);
        mlp.W_in.write('h', 'hidden', (r, c) => m.Win[r][c]);
        mlp.b_in.write('hidden', m.bin);
        mlp.W_out.write('hidden', 'h', (r, c) => m.Wout[r][c]);
        mlp.b_out.write('h', m.bout);
        layer.mlp = mlp;
      }
      return layer;
    });
    addStage(model, layers, st.loops, st.mask === null ? null : { expr: st.mask });
  });
  return model;
}

/** Token sequences a model accepts: 1..maxLen tokens from its vocabulary. */
export function inputArbitrary(vocab: number, maxLen: number, minLen = 1): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: vocab - 1 }), { minLength: Math.min(minLen, maxLen), maxLength: maxLen });
}

/** A random model together with an input it accepts. */
export function modelAndInputArbitrary(o: RandomModelOptions = {}): fc.Arbitrary<{ spec: RandomModelSpec; tokens: number[] }> {
  return randomModelArbitrary(o).chain((spec) =>
    fc.record({ spec: fc.constant(spec), tokens: inputArbitrary(spec.vocab, spec.maxLen) }),
  );
}
