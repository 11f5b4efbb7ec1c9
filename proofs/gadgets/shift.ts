// Lemma B.9: SHIFT by one attention layer (Def. B.5: SHIFT(x_1..x_n) = (x_1, x_1, x_2, …, x_{n−1})).
//
// SHIFT is the Lemma B.4 head with chosen position t(i) = max(i − 1, 0) (0-based): each position
// carries sbin(i) and sbin(max(i − 1, 0)) through the position embedding, and the head copies the
// previous position's vector into its own. In Theorem 5.4 this is the layer after decode–encode
// that hands position i what position i − 1 predicted; that construction calls addOneHotHead from
// lemma-b4.ts with its own subspaces. Here the shifted vector is the one-hot input token, read out
// at every position.
//
// Requirement on s (see lemma-b4.ts): the lemma asks 2^s ≥ n. For this target the first position
// whose query code aliases is i* = 2^s + 1 (it wants 2^s and also matches 0), so SHIFT is correct
// on every input exactly when n ≤ 2^s + 1, and the shortest failing input has length 2^s + 2.
import { bitsFor } from '../codes.ts';
import { defineConstruction, defineParams, orAuto, paramValues } from '../construction.ts';
import { buildReader, N_PARAM, READER_CLAIMS, S_PARAM, type ReadTokens, type Tokens, V_PARAM } from './lemma-b4.ts';

const PARAMS = defineParams([N_PARAM, S_PARAM, V_PARAM]);

/** Def. B.5 on a list: the first element, then every element but the last. */
export function shiftSequence<T>(x: readonly T[]): T[] {
  return x.length === 0 ? [] : [x[0], ...x.slice(0, -1)];
}

export const lemmaB9Shift = defineConstruction<Tokens, ReadTokens>({
  id: 'lemma-b9-shift',
  title: 'SHIFT by exact one-hot attention',
  theorem: 'Lemma B.9',
  statement:
    'SHIFT(x_1, …, x_n) = (x_1, x_1, x_2, …, x_{n−1}) (Def. B.5) is computed by one attention layer with one head: ' +
    'the Lemma B.4 head whose query is the code of the previous position, sbin(max(i − 1, 0)), against keys sbin(j), ' +
    'with s bits where 2^s ≥ n. It is exact under hard attention and, in the fixed point F_s, its softmax weights are ' +
    'exactly one-hot.',
  params: PARAMS,
  claimed: READER_CLAIMS,
  deviations:
    'The claims are Lemma B.4\'s (SHIFT is a B.4 reader aimed at max(i − 1, 0)): one head, no MLP, query/key 2s with ' +
    's = ⌈log2 n⌉. The value carries the shifted one-hot token (V), so the head size is max(2s, V), above the claim when ' +
    'V > 2s; a build given more bits exceeds the claimed bits. No width is claimed; the harness\'s counts tok(V), sbin(i)(s), ' +
    'sbin(i − 1)(s), a constant 1 and out(V).',
  certifyAt: [{ params: {} }, { params: { n: '256', V: '8' } }, { params: { n: '6', s: '2' }, fails: '2-bit codes alias: position 5 wants 4 and matches 0' }],
  build(params) {
    const { n, V, s: bits } = paramValues('lemma-b9-shift', PARAMS, params);
    const s = orAuto(bits, () => bitsFor(n));
    return buildReader({
      name: `lemma-b9-shift n=${n} s=${s} V=${V}`,
      description: `SHIFT: position i reads the token at max(i − 1, 0) by exact one-hot attention on ${s}-bit codes`,
      n,
      s,
      V,
      target: (i) => Math.max(i - 1, 0),
      queryName: 'prev',
      queryDescribe: 'sbin(max(i − 1, 0)): the code of the previous position (queries)',
      headName: 'shift',
      reference: shiftSequence,
    });
  },
});
