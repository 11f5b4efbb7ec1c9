// A construction written through the public entry point only (it imports nothing else of the
// repository): the answer at the last position is the FIRST token, v_1. One layer, one head: every
// position carries a constant 1, position 0 carries a flag `first`, and the head's query (the 1)
// against its key (first − 1) scores 0 at position 0 and −1 elsewhere, so hard attention reads
// position 0 — and so does softmax at scale B_s in the paper's F_s, where exp(−B_s) rounds to 0
// and the weights are exactly one-hot — and copies its token into `copy`, which the readout turns
// back into a token. Small, but checked the three ways every construction is:
// against its reference on random inputs under exact, fixed:s and float64, with its claimed sizes.
// (In a project that installs the package, the import below is `from 'looped'`.)
import { type RunResult, addStage, createHead, createLayer, createModel, defineConstruction, defineParams, fc, identity, intItem, paramValues, parseJsonArray, space } from '../index.ts';

type Input = number[];

const ID = 'example-first-token';

/** The parameters: whole numbers in range (`looped` checks them before build sees them). */
const PARAMS = defineParams([
  { name: 'n', describe: 'longest input', default: '8', kind: 'int', min: 1, max: 4096 },
  { name: 'V', describe: 'vocabulary size', default: '4', kind: 'int', min: 1, max: 256 },
]);

export const firstToken = defineConstruction<Input, number | null>({
  id: ID,
  title: 'Read the first token (an example of the public API)',
  theorem: 'Example',
  statement:
    'For every n and vocabulary of V tokens, one layer with one head (query/key of size 1, value of size V) answers TF(v_1 … v_k) = v_1 for every k ≤ n: ' +
    'the query is a constant 1, the key is first − 1 (first a flag set at position 0 only), so the score is 0 at position 0 and −1 elsewhere; ' +
    'the value copies the token. Exact under hard attention; in F_s at s = 2 with softmax at scale B_s; in float64 at scale 64.',
  params: PARAMS,
  // The claim, as formulas in n and V: what the statement above says, not read off the build.
  claimed: { layersPerBlock: '1', loops: '1', width: '2*V + 2', mlpWidth: '0', heads: '1', headDim: 'V', bits: '2' },
  build(params) {
    // The parameters read by their specs, typed (n and V are numbers, checked against their ranges).
    const { n, V } = paramValues(ID, PARAMS, params);
    const vocab = Array.from({ length: V }, (_, v) => `t${v}`);
    const residual = space({ tok: V, one: 1, first: 1, copy: V });
    const make = (kind: 'hard' | 'softmax', scale: number) => {
      const model = createModel({ name: `first-token n=${n} V=${V}`, vocab, residual, maxLen: n });
      model.W_E.write('vocab', 'tok', identity());
      for (let v = 0; v < V; v++) model.W_E.set(['vocab', v], 'one', 1);
      model.W_pos.set(['positions', 0], 'first', 1);
      const layer = createLayer('reads position 0');
      const head = createHead(residual, { name: 'first', kind, scale, qk: 1, ov: { v: V } });
      head.W_Q.set('one', 'qk', 1);
      head.W_K.set('first', 'qk', 1);
      head.W_K.set('one', 'qk', -1);
      head.W_V.write('tok', 'v', identity());
      head.W_O.write('v', 'copy', identity());
      layer.heads.push(head);
      addStage(model, [layer], 1);
      model.W_U.write('copy', 'vocab', identity());
      return model;
    };
    const hard = make('hard', 1);
    return {
      model: hard,
      sizeScope: { n, V },
      bits: 2,
      encode: (input) => input,
      decode: (run: RunResult) => run.answer,
      reference: (input) => input[0],
      equal: (a, b) => a === b,
      // A JSON array of 1..n token indices; an error names the position and why.
      parseInput: (text) => parseJsonArray(text, { what: '--input', expected: `1..${n} token indices 0..${V - 1}`, example: '[0,1]', length: { min: 1, max: n }, item: intItem(0, V - 1, 'token') }),
      formatAnswer: (answer) => answer,
      formatInput: (input) => JSON.stringify(input),
      arbitrary: () => fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: n }),
      exhaustive: { symbols: V, minLength: 1, maxLength: Math.min(n, 4) },
      checks: [
        { label: 'exact, hard attention', interpreter: 'exact', model: hard },
        // Scores 0 and −B_2 = −3.75: exp(−3.75) ≈ 0.023 rounds to 0 in F_2 (unit 1/4), so the weights are one-hot.
        { label: 'fixed:2, softmax at scale B_s', interpreter: 'fixed:2', model: make('softmax', 3.75) },
        { label: 'float64, softmax at scale 64', interpreter: 'float64', model: make('softmax', 64) },
      ],
      extraLoopsStable: { holds: false, why: 'one loop; nothing to converge' },
    };
  },
});

export default firstToken;
