// Theorem 5.1's abstraction for `looped certify`: position i holds an element g_i of G (position 0
// only the identity), its canonical residual is the layout the construction intends —
//     g = sbin(g_i), pos = sbin(i), src1 = sbin(max(2i−n−1, 0)), src2 = sbin(max(2i−n, 0)), g1 = g2 = 1_b
// (proofs/thm-5-1-group-composition.ts) — and one layer is one round of Algorithm 2: heads first
// and second read positions max(2i−n−1, 0) and max(2i−n, 0), and g_i ← g_src1 ∘ g_src2.
// The canonical vectors are the corrected layout whatever the variant built, so a variant that
// embeds or reads otherwise fails an obligation.
//
// ROUNDS, by a symbolic run: over the free monoid of input positions (position j ≥ 1 starts as
// the word "j", position 0 as the empty word), the round is concatenation. If after L rounds the
// word at position n is 1 2 … n, then for every input the state there is g_1 ∘ … ∘ g_n, by
// associativity alone — whatever the elements. For an abelian G the order of the word does not
// matter, so there it is compared as a multiset. Otherwise an input where the rounds go wrong is
// built from the word: an element a at a position counted other than once, or two elements that
// do not commute at two positions the word puts out of order.
import type { FiniteGroup } from '../../tasks/groups.ts';
import { sourceIndices } from '../../tasks/group-composition.ts';
import { bitsFor, sbin } from '../../proofs/codes.ts';
import type { Model } from '../../simulators/model.ts';
import type { Abstraction, RoundsProof } from '../abstraction.ts';

export function groupCompositionAbstraction(model: Model, G: FiniteGroup, n: number): Abstraction<number> {
  const b = bitsFor(G.order);
  const p = bitsFor(n + 1);
  const start = G.order; // the # token, after the elements
  const all = Array.from({ length: G.order }, (_, a) => a);
  const layout = (['g', 'pos', 'src1', 'src2', 'g1', 'g2'] as const).map((name) => ({ name, ...model.residual.range(name) }));
  const d = model.residual.dim;
  const canonicalAt = (i: number, a: number): number[] => {
    const x = new Array<number>(d).fill(0);
    const [first, second] = sourceIndices(i, n);
    const values: Record<string, number[]> = {
      g: sbin(a, b),
      pos: sbin(i, p),
      src1: sbin(first, p),
      src2: sbin(second, p),
      g1: new Array<number>(b).fill(1),
      g2: new Array<number>(b).fill(1),
    };
    for (const { name, offset, size } of layout) values[name].slice(0, size).forEach((v, k) => (x[offset + k] = v));
    return x;
  };
  return {
    describe: `g_i, the element of ${G.name} that position i holds (Algorithm 2); position 0 holds the identity`,
    length: n + 1,
    tokens: (i) => (i === 0 ? [start] : all),
    initial: (i, token) => (i === 0 || token === start ? G.identity : token),
    key: (a) => String(a),
    format: (a) => G.elementNames[a],
    states: (_layer, i) => (i === 0 ? [G.identity] : all),
    canonical: (_layer, i, a) => canonicalAt(i, a),
    rule: (_layer, i) => ({ reads: sourceIndices(i, n), own: false }),
    next: (_layer, _i, _own, [x, y]) => G.mul(x, y),
    answerToken: (_i, a) => a,
    inputOf: (tokens) => tokens.slice(1),
    rounds: algorithm2Rounds(G, n, start),
  };
}

function commutes(G: FiniteGroup): boolean {
  for (let a = 0; a < G.order; a++) for (let c = 0; c < G.order; c++) if (G.mul(a, c) !== G.mul(c, a)) return false;
  return true;
}

function algorithm2Rounds(G: FiniteGroup, n: number, start: number): RoundsProof {
  return {
    kind: 'symbolic',
    argument:
      'Algorithm 2 run over the free monoid of input positions: when the word at position n after the loops is 1 2 … n ' +
      '(as a multiset for an abelian group), associativity makes the state there g_1 ∘ … ∘ g_n for every input',
    check(loops) {
      let words: number[][] = Array.from({ length: n + 1 }, (_, i) => (i === 0 ? [] : [i]));
      for (let t = 0; t < loops; t++) {
        words = words.map((_, i) => {
          const [a, c] = sourceIndices(i, n);
          return [...words[a], ...words[c]];
        });
        if (words[n].length > 4 * n) break; // a word this long already counts some position twice
      }
      const word = words[n];
      const counts = new Array<number>(n + 1).fill(0);
      word.forEach((j) => counts[j]++);
      const abelian = commutes(G);
      const inputWith = (set: Map<number, number>) => [start, ...Array.from({ length: n }, (_, j) => set.get(j + 1) ?? G.identity)];
      const off = counts.findIndex((c, j) => j >= 1 && c !== 1);
      if (off >= 0) {
        // a^c ≠ a for some a: any a ≠ e when c = 0; otherwise one whose order does not divide c − 1.
        const power = (a: number, c: number) => Array.from({ length: c }).reduce<number>((x) => G.mul(x, a), G.identity);
        const a = Array.from({ length: G.order }, (_, x) => x).find((x) => power(x, counts[off]) !== x);
        return {
          why: `after ${loops} loop(s) position ${n} holds the product over the word ${shortWord(word)}, which counts g_${off} ${counts[off]} time(s), not once`,
          input: a === undefined ? null : inputWith(new Map([[off, a]])),
        };
      }
      if (abelian) return null;
      const k = word.findIndex((j, at) => at > 0 && word[at - 1] > j);
      if (k < 0) return null;
      const [late, early] = [word[k - 1], word[k]];
      let pair: [number, number] | null = null;
      for (let a = 0; a < G.order && pair === null; a++) for (let c = 0; c < G.order && pair === null; c++) if (G.mul(a, c) !== G.mul(c, a)) pair = [a, c];
      return {
        why: `after ${loops} loop(s) position ${n} holds the product over the word ${shortWord(word)}: g_${late} comes before g_${early}`,
        input: pair === null ? null : inputWith(new Map([[early, pair[0]], [late, pair[1]]])),
      };
    },
  };
}

function shortWord(word: readonly number[]): string {
  return word.length <= 12 ? word.join(' ') : `${word.slice(0, 10).join(' ')} … (${word.length} letters)`;
}
