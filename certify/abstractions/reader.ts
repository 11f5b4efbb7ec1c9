// The abstraction of a Lemma B.4 reader (lemma-b4, lemma-b9-shift: buildReader in
// proofs/gadgets/lemma-b4.ts): one layer, one head, one loop. Before the layer position i holds
// its token τ_i; after it, the pair (τ_i, the token read). The canonical vectors are the reader's
// intended layout: tok = onehot(τ), pos = sbin(i), <query> = sbin(t(i)) (both s-bit codes, x mod 2^s
// as the reader embeds them), one = 1, and out = 0 before the layer, onehot(token read) after.
// The rule: position i reads position t(i) and keeps its own token. With codes that alias (2^s
// smaller than the positions need), the head finds two keys of score 0 and obligation 2 fails.
//
// ROUNDS: the lemma's claim is the rule itself — out_i is the token at t(i) — so the rule
// algorithm's answer is the reference by definition: trusted, and stated. It is cross-checked:
// the construction's reference (written from the definition, not from t) is run on the input whose
// token at j is j mod V, and must give the token at t(i) at every position.
import { sbin } from '../../proofs/codes.ts';
import type { Model } from '../../simulators/model.ts';
import type { Abstraction } from '../abstraction.ts';

export interface ReaderState {
  readonly tok: number;
  /** The token read; null before the layer. */
  readonly out: number | null;
}

export function readerAbstraction(
  model: Model,
  spec: { n: number; s: number; V: number; target: (i: number) => number; queryName: string; claim: string; reference?: (tokens: number[]) => readonly (number | null)[] },
): Abstraction<ReaderState> {
  const { n, s, V } = spec;
  const d = model.residual.dim;
  const range = (name: string) => model.residual.range(name);
  const [tok, pos, query, one, out] = ['tok', 'pos', spec.queryName, 'one', 'out'].map(range);
  const tokens = Array.from({ length: V }, (_, v) => v);
  const code = (x: number) => sbin(x % 2 ** s, s);
  return {
    describe: 'the token at position i, then the token it read',
    boundaries: 'unrolled',
    length: n,
    tokens: () => tokens,
    initial: (_i, t) => ({ tok: t, out: null }),
    key: (st) => `${st.tok}:${st.out ?? '-'}`,
    format: (st) => (st.out === null ? `token ${st.tok}` : `token ${st.tok}, read ${st.out}`),
    states: (u) => (u === 0 ? tokens.map((t) => ({ tok: t, out: null })) : tokens.flatMap((t) => tokens.map((r) => ({ tok: t, out: r })))),
    canonical(_u, i, st) {
      const x = new Array<number>(d).fill(0);
      x[tok.offset + st.tok] = 1;
      code(i).forEach((v, b) => (x[pos.offset + b] = v));
      code(spec.target(i)).forEach((v, b) => (x[query.offset + b] = v));
      x[one.offset] = 1;
      if (st.out !== null) x[out.offset + st.out] = 1;
      return x;
    },
    rule: (_u, i) => ({ reads: [spec.target(i)], own: true }),
    next: (_u, _i, own, [read]) => ({ tok: own!.tok, out: read.tok }),
    answerToken: (_i, st) => st.out ?? 0,
    inputOf: (t) => [...t],
    rounds: {
      kind: 'trusted',
      argument: spec.claim,
      check() {
        if (spec.reference === undefined) return null;
        const input = Array.from({ length: n }, (_, j) => j % V);
        const want = spec.reference(input);
        const i = want.findIndex((x, k) => x !== input[spec.target(k)]);
        return i < 0 ? null : { why: `the reference gives ${want[i]} at position ${i}, but the rule reads position ${spec.target(i)} (token ${input[spec.target(i)]})`, input };
      },
    },
  };
}
