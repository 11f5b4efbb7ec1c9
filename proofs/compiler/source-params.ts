// The parameters that name a random source (proofs/thm-5-2/random-source.ts) for the registered
// constructions of the two compilers, thm-5.2 (a random model) and thm-5.4 (a random decoder):
// its shape (width, heads, hidden, vocab) and its draw (seed, attention). Each construction puts
// its own depth and lengths around them (thm-5.2: layers, distinct, n; thm-5.4: layers, n, m).
import { defineParams } from '../construction.ts';

/** d, H, d_FF and |Σ| of the random source, at most the maxima given. */
export function sourceShapeParams(max: { width: number; heads: number; hidden: number; vocab: number }) {
  return defineParams([
    { name: 'width', describe: 'd: width of the source residual stream', default: '3', kind: 'int', min: 1, max: max.width },
    { name: 'heads', describe: 'H: heads per source layer', default: '1', kind: 'int', min: 0, max: max.heads },
    { name: 'hidden', describe: 'd_FF: MLP width per source layer (0: no MLP)', default: '2', kind: 'int', min: 0, max: max.hidden },
    { name: 'vocab', describe: '|Σ|: source vocabulary size (the compiled model adds #)', default: '3', kind: 'int', min: 2, max: max.vocab },
  ]);
}

/** The seed of the random source ("model" or "decoder") and its attention, hard or softmax, checked as `attention` says. */
export function sourceDrawParams(o: { of: string; attention: string }) {
  return defineParams([
    { name: 'seed', describe: `seed of the random source ${o.of}`, default: '1', kind: 'int', min: 0, max: 2 ** 31 - 1 },
    { name: 'attention', describe: o.attention, default: 'hard', kind: 'choice', values: ['hard', 'softmax'] },
  ]);
}
