// A construction in plain JavaScript, written through the installed package alone (tests/package.test.ts
// copies it into a folder outside the repository): the answer is the last token, with no layer at
// all — the embedding writes the token and the readout reads it at the last position.
import { addStage, createModel, fc, identity, space } from 'looped';

export const lastToken = {
  id: 'consumer-last-token',
  title: 'The last token, through the residual stream',
  theorem: 'Example',
  statement: 'TF(v_1 … v_k) = v_k with no layer at all: the embedding writes the token, the readout reads it at the last position.',
  params: [{ name: 'V', describe: 'vocabulary size', default: '3', kind: 'int', min: 1, max: 64 }],
  claimed: { layersPerBlock: '0', width: 'V', heads: '0' },
  build(params) {
    const V = Number(params.V);
    const vocab = Array.from({ length: V }, (_, v) => `t${v}`);
    const model = createModel({ name: `last-token V=${V}`, vocab, residual: space({ tok: V }), maxLen: 16 });
    model.W_E.write('vocab', 'tok', identity());
    model.W_U.write('tok', 'vocab', identity());
    addStage(model, [], 1);
    return {
      model,
      sizeScope: { V },
      encode: (input) => input,
      decode: (run) => run.answer,
      reference: (input) => input[input.length - 1],
      equal: (a, b) => a === b,
      parseInput: (text) => JSON.parse(text),
      formatAnswer: (a) => a,
      formatInput: (input) => JSON.stringify(input),
      arbitrary: () => fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: 16 }),
      checks: [
        { label: 'exact', interpreter: 'exact', model },
        { label: 'float64', interpreter: 'float64', model },
      ],
    };
  },
};

export default lastToken;
