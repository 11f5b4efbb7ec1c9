// p-hop induction (Def. A.1) by chain of thought, ONE HOP PER STEP, and the Theorem 5.4
// compilation of that decoder into p + 1 loops of one block.
//
// THE TASK (tasks/p-hop.ts). Tokens v_1..v_n over the alphabet 0..A−1; f = find_1,
// find_t(v, n) = f^t(n), hop_p(v) = v_{find_p(v, n)}, or ⊥ when that pointer is 0.
// Prompt: [⊥, v_1, …, v_n] (n + 1 tokens): position 0 is a start slot holding the token ⊥, so
// decoder position i is the paper's position i and the pointer 0 is the start slot.
// CoT: m = p + 1 steps. Steps t = 1..p emit the POINTER token @a_t with a_t = find_t(v, n) (the
// tokens @0..@n, @0 standing for ⊥); step p + 1 emits the token at position a_p — v_{a_p}, or ⊥
// when a_p = 0 (the start slot's own token) — which is hop_p(v). The p + 1-th step is the price
// of emitting the answer as a value token rather than a pointer; a chain of p steps would have to
// fold the last hop and the value read into one step, i.e. a decoder that behaves differently at
// its last step anyway (it needs the `last` flag below either way).
//
// THE DECODER for fixed p and n: 3 layers, one head each, s = ⌊log2(n + p + 2)⌋ + 1 bits (the
// compiler's s; 2^s > n + p + 1, so positions have distinct codes and j·2^{−s} < 1 for every j).
// Its CoT reads positions 0..n + p (n + 1 prompt tokens, p CoT tokens); θ_PE covers n + p + 1 too,
// the compiled model's last pad. Vocabulary: the letters 0..A−1, ⊥, @0..@n (V = A + n + 2).
// State at position i:
//     tok    (V)    one-hot of the token at i                              θ_TE
//     one    (1)    the constant 1                                         θ_PE
//     pos    (s)    sbin(i)                                                θ_PE
//     prevq  (s)    sbin(max(i − 1, 0))                                    θ_PE
//     posval (1)    i·2^{−s}                                               θ_PE
//     ptr    (s)    sbin(the current pointer): i itself at i ≤ n (find_0),  θ_PE = sbin(i), i ≤ n
//                   k at a position holding @k,                            θ_PE = sbin(0), i > n
//                   0 (the start slot) at a pad # of the compiled model    θ_TE(@k) = sbin(k) − sbin(0)
//     last   (1)    1[i = n + p]: the step that emits the value            θ_PE
//     prev   (A)    one-hot v_{i−1}                                        layer 1
//     f      (s)    sbin(find_1(v, i))                                     layer 2
//     nf     (s)    sbin(f(ptr_i)), f read at the pointer                  layer 3 head
//     nt     (A+1)  the letter or ⊥ at the pointer                         layer 3 head
//     out    (V)    one-hot of the token to emit; the readout              layer 3 MLP
//   layer 1  head `prev` (Lemma B.4, query prevq): prev ← the letter at i − 1 (nothing at i ≤ 1:
//            position 0 holds ⊥, which is no letter);
//   layer 2  head `search`, the content search of proofs/p-hop/common.ts: query the letter v_i
//            against key prev_j = v_{j−1}, the start slot scoring 1 (query 1 against [tok = ⊥])
//            and the order term j·2^{−s} (query 1 against posval), so scores are 1 + j·2^{−s} at a
//            matching j, 1 at the start slot and below 1 elsewhere: the LARGEST matching j ≤ i wins,
//            else the start slot, and the head copies sbin(j) into f. So f(i) = find_1(v, i) at every
//            prompt position (at a CoT position, whose token is no letter, the start slot wins);
//   layer 3  head `read` (Lemma B.4, query ptr): nf ← f at the pointer, nt ← its letter or ⊥;
//            MLP, with last = 0 — units emit.ptr[k] = relu(⟨sbin(k), nf⟩ − s·last − (s − 1)),
//            1 exactly when nf = sbin(k) → out[@k]; with last = 1 — units
//            emit.tok[c] = relu(nt[c] + last − 1) → out[c]. W_U reads out.
// WHY IT IS CORRECT. Step t reads out at the last position i = n + t − 1. At t = 1 (i = n) the
// pointer is n (θ_PE), so it emits @f(n) = @a_1. At 2 ≤ t ≤ p the position holds @a_{t−1}
// (θ_TE gives ptr = sbin(a_{t−1})), a_{t−1} ≤ n is a prompt position whose f layer 2 computed in
// this same forward pass, so it emits @f(a_{t−1}) = @a_t. At t = p + 1 (i = n + p, last = 1) it
// emits the token at a_p. Exactly one MLP unit is 1 and all others ≤ 0, so the logits are a
// one-hot: top-two margin exactly 1 ≥ 2^{−s} (Theorem 5.4's precondition) at every step, for
// every input. Every value is a small dyadic (±1 codes, 0/1 one-hots, j·2^{−s}), so the compiled
// model's F_s check computes the same numbers: pre-activations stay within [−3s + 1, s] and s ≥ 3
// (n ≥ 2, p ≥ 1), below B_s; the search and the two reads stay hard in the source (only the
// compiler's SHIFT becomes softmax in that check: proofs/p-hop/common.ts says why the search
// cannot be a softmax in F_s).
//
// THE LOOPED MODEL is compileThm54(decoder, n + 1, p + 1): L + 5 = 8 layers per block, p + 1
// loops, width d + 2s + 1 + 4V with d = 2V + 5s + 2A + 4 the decoder's, MLP width V(V − 1) (the
// compiler's argmax) for every n ≥ 2. In the claims, n and m are the compiler's (prompt length
// len + 1 and p + 1) and `len` is the task's n.
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { InputError, UsageError } from '../../common/errors.ts';
import { identity } from '../../simulators/matrix.ts';
import { type Head, type Layer, type Model, addStage, createHead, createLayer, createModel } from '../../simulators/model.ts';
import { type Selector, space } from '../../simulators/space.ts';
import { findP, pHopArbitrary, paperPHopSampler } from '../../tasks/p-hop.ts';
import type { Rng } from '../../tasks/random.ts';
import { bitLength, sbin } from '../codes.ts';
import { type Params, defineParams, paramValues } from '../construction.ts';
import { addOneHotHead } from '../gadgets/lemma-b4.ts';
import { parseJsonArray } from '../input-parsing.ts';
import { addUnits } from '../gadgets/units.ts';
import { CLAIMED as THM54_CLAIMED } from '../thm-5-4-cot-loops.ts';
import type { CotTask, CotTaskBuilt } from './task.ts';

const ID = 'cot-p-hop';

export const MAX_P = 64;
export const MAX_N = 256;
export const MAX_ALPHABET = 16;

export interface CotPHopOptions {
  p: number;
  n: number;
  /** Default 4, the paper's. */
  alphabet?: number;
}

/** Token indices: letters 0..A−1, ⊥ = A, pointer @k = A + 1 + k. */
export interface CotPHopVocabulary {
  labels: string[];
  bottom: number;
  pointer: (k: number) => number;
}

export function cotPHopVocabulary(n: number, alphabet: number): CotPHopVocabulary {
  const labels = [...Array.from({ length: alphabet }, (_, c) => String(c)), '⊥', ...Array.from({ length: n + 1 }, (_, k) => `@${k}`)];
  return { labels, bottom: alphabet, pointer: (k) => alphabet + 1 + k };
}

/** A Lemma B.4 read (addOneHotHead, key pos): position i attends to the position whose pos code is in `query` and copies single directions. */
function readAt(model: Model, layer: Layer, spec: { name: string; role: string; s: number; query: string; copies: { name: string; describe: string; pairs: [Selector, Selector][] }[] }): Head {
  return addOneHotHead(model, layer, {
    name: spec.name,
    role: spec.role,
    bits: spec.s,
    query: spec.query,
    key: 'pos',
    one: 'one',
    copies: spec.copies.map((c) => ({ name: c.name, describe: c.describe, from: c.pairs.map(([from]) => from), to: c.pairs.map(([, to]) => to) })),
  });
}

/** The decoder for p hops over n tokens (see the module comment). */
export function buildCotPHopDecoder(o: Required<CotPHopOptions>): { decoder: Model; vocab: CotPHopVocabulary; s: number } {
  const { p, n, alphabet: A } = o;
  const vocab = cotPHopVocabulary(n, A);
  const V = vocab.labels.length;
  const s = bitLength(n + 1 + p + 1);
  const letters = (prefix: string) => Array.from({ length: A }, (_, c) => `${prefix}:${c}`);
  const residual = space({
    tok: { size: V, labels: vocab.labels.map((x) => `tok:${x}`), describe: 'one-hot of the token at i (θ_TE)' },
    one: { size: 1, describe: 'the constant 1' },
    pos: { size: s, describe: 'sbin(i): the key of the positional reads, the value of the search' },
    prevq: { size: s, describe: 'sbin(max(i − 1, 0)): where head prev reads' },
    posval: { size: 1, describe: 'i·2^{−s}: the search prefers the largest matching position' },
    ptr: { size: s, describe: 'sbin(current pointer): i at prompt positions (θ_PE), k at a position holding @k (θ_TE)' },
    last: { size: 1, describe: `1[i = n + p]: the last CoT step emits the token at the pointer, not a pointer` },
    prev: { size: A, labels: letters('prev'), describe: 'one-hot v_{i−1} (head prev; empty at i ≤ 1)' },
    f: { size: s, describe: 'sbin(find_1(v, i)) (head search)' },
    nf: { size: s, describe: 'sbin(f(ptr_i)): f read at the pointer (head read)' },
    nt: { size: A + 1, labels: [...letters('nt'), 'nt:⊥'], describe: 'the letter (or ⊥) at the pointer (head read)' },
    out: { size: V, labels: vocab.labels.map((x) => `out:${x}`), describe: 'one-hot of the token to emit (the MLP); the readout' },
  });
  const decoder = createModel({
    name: `${ID} p=${p} n=${n} alphabet=${A}: one hop per CoT step`,
    description: `p-hop by chain of thought: ${p} pointer tokens find_t(v, n), then the token at find_p(v, n)`,
    vocab: vocab.labels,
    residual,
    // n + p + 1 positions are read by the CoT; one more gives the compiled model's last pad its codes.
    maxLen: n + p + 2,
    readout: 'last',
  });
  decoder.W_E.write('vocab', 'tok', identity());
  // θ_TE(@k) is the difference sbin(k) − sbin(0), θ_PE past the prompt is sbin(0): a position
  // holding @k points to k, and a position holding a token without a pointer (the compiled
  // model's pads #) points to the start slot instead of matching every key equally.
  const zero = sbin(0, s);
  for (let k = 0; k <= n; k++) decoder.W_E.write(['vocab', vocab.pointer(k)], 'ptr', [sbin(k, s).map((c, b) => c - zero[b])]);
  const unit = new Fraction(1, 2 ** s);
  for (let i = 0; i <= n + p + 1; i++) {
    const row: Selector = ['positions', i];
    decoder.W_pos.set(row, 'one', 1);
    decoder.W_pos.write(row, 'pos', [sbin(i, s)]);
    decoder.W_pos.write(row, 'prevq', [sbin(Math.max(i - 1, 0), s)]);
    decoder.W_pos.set(row, 'posval', unit.mul(i));
    decoder.W_pos.write(row, 'ptr', [i <= n ? sbin(i, s) : zero]);
  }
  decoder.W_pos.set(['positions', n + p], 'last', 1);

  const l1 = createLayer('prev ← v_{i−1}');
  readAt(decoder, l1, {
    name: 'prev',
    role: 'copies the letter at i − 1 into prev (nothing at i ≤ 1)',
    s,
    query: 'prevq',
    copies: [{ name: 'letter', describe: 'the letter at i − 1', pairs: Array.from({ length: A }, (_, c): [Selector, Selector] => [['tok', c], ['prev', c]]) }],
  });

  const l2 = createLayer('f(i) = find_1(v, i) by content search');
  const search = createHead(
    residual,
    {
      name: 'search',
      role: 'f(i) = find_1(v, i): the largest j ≤ i with v_{j−1} = v_i, else the start slot; copies sbin(j) into f',
      kind: 'hard',
      qk: {
        letter: { size: A, labels: letters('letter'), describe: 'one-hot v_i (query) against one-hot v_{j−1} (key)' },
        start: { size: 1, describe: '1 (query) against [token = ⊥] (key): the start slot scores 1' },
        order: { size: 1, describe: '1 (query) against j·2^{−s} (key): the larger j wins' },
      },
      ov: { code: { size: s, describe: 'sbin(j)' } },
    },
    `${decoder.name}: head 'search'`,
  );
  for (let c = 0; c < A; c++) {
    search.W_Q.set(['tok', c], ['letter', c], 1);
    search.W_K.set(['prev', c], ['letter', c], 1);
  }
  search.W_Q.set('one', 'start', 1);
  search.W_K.set(['tok', vocab.bottom], 'start', 1);
  search.W_Q.set('one', 'order', 1);
  search.W_K.set('posval', 'order', 1);
  search.W_V.write('pos', 'code', identity());
  search.W_O.write('code', 'f', identity());
  l2.heads.push(search);

  const l3 = createLayer('read f and the token at the pointer; emit the next pointer, or the token at the last step');
  readAt(decoder, l3, {
    name: 'read',
    role: 'copies f and the letter (or ⊥) at the pointer ptr_i into nf and nt',
    s,
    query: 'ptr',
    copies: [
      { name: 'f', describe: 'sbin(f) at the pointer', pairs: Array.from({ length: s }, (_, b): [Selector, Selector] => [['f', b], ['nf', b]]) },
      { name: 'token', describe: 'the letter or ⊥ at the pointer', pairs: Array.from({ length: A + 1 }, (_, c): [Selector, Selector] => [['tok', c], ['nt', c]]) },
    ],
  });
  const mlp = addUnits(decoder, l3, {
    'emit.ptr': { size: n + 1, labels: Array.from({ length: n + 1 }, (_, k) => `emit @${k}`), describe: 'relu(⟨sbin(k), nf⟩ − s·last − (s − 1)) = 1[nf = sbin(k)] before the last step' },
    'emit.tok': { size: A + 1, labels: [...Array.from({ length: A }, (_, c) => `emit ${c}`), 'emit ⊥'], describe: 'relu(nt[c] + last − 1) = 1[nt = c] at the last step' },
  }, 'the emitted token as a one-hot: the next pointer, or the token at the pointer at the last step');
  for (let k = 0; k <= n; k++) {
    sbin(k, s).forEach((c, b) => mlp.W_in.set(['nf', b], ['emit.ptr', k], c));
    mlp.W_in.set('last', ['emit.ptr', k], -s);
    mlp.b_in.set(['emit.ptr', k], -(s - 1));
    mlp.W_out.set(['emit.ptr', k], ['out', vocab.pointer(k)], 1);
  }
  for (let c = 0; c <= A; c++) {
    mlp.W_in.set(['nt', c], ['emit.tok', c], 1);
    mlp.W_in.set('last', ['emit.tok', c], 1);
    mlp.b_in.set(['emit.tok', c], -1);
    mlp.W_out.set(['emit.tok', c], ['out', c], 1);
  }
  addStage(decoder, [l1, l2, l3], 1);
  decoder.W_U.write('out', 'vocab', identity());
  return { decoder, vocab, s };
}

function checkOptions(o: CotPHopOptions): Required<CotPHopOptions> {
  const alphabet = o.alphabet ?? 4;
  const whole = (name: string, v: number, min: number, max: number) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`parameter ${name} of ${ID} must be a whole number in ${min}..${max}, got ${v}`);
  };
  whole('p', o.p, 1, MAX_P);
  whole('n', o.n, 2, MAX_N);
  whole('alphabet', alphabet, 2, MAX_ALPHABET);
  return { p: o.p, n: o.n, alphabet };
}

/** The trace: @find_1(v, n), …, @find_p(v, n), then v_{find_p(v, n)} or ⊥. */
export function cotPHopTrace(v: readonly number[], p: number, vocab: CotPHopVocabulary): number[] {
  const out: number[] = [];
  for (let t = 1; t <= p; t++) out.push(vocab.pointer(findP(v, t, v.length)));
  const a = findP(v, p, v.length);
  out.push(a === 0 ? vocab.bottom : v[a - 1]);
  return out;
}

/**
 * The CotTaskBuilt for p hops over exactly n tokens (what build(params) returns; `looped compare
 * p-hop` reuses it). Inputs are the token lists v_1..v_n (the start slot is added by prompt()).
 */
export function buildCotPHop(options: CotPHopOptions): CotTaskBuilt<number[]> {
  const o = checkOptions(options);
  const { p, n, alphabet: A } = o;
  const { decoder, vocab } = buildCotPHopDecoder(o);
  const checkTokens = (v: readonly number[]): void => {
    if (v.length !== n) throw new InputError(`${ID}: the model was built for n = ${n} tokens but the input has ${v.length} (use --param n=${v.length})`);
    v.forEach((x, k) => {
      if (!Number.isInteger(x) || x < 0 || x >= A) throw new InputError(`${ID}: token v_${k + 1} = ${JSON.stringify(x)} is outside the alphabet 0..${A - 1}`);
    });
  };
  return {
    decoder,
    n: n + 1,
    steps: p + 1,
    sizeScope: { p, len: n, A },
    prompt(v) {
      checkTokens(v);
      return [vocab.bottom, ...v];
    },
    trace(v) {
      checkTokens(v);
      return cotPHopTrace(v, p, vocab);
    },
    parseInput(text) {
      const example = `[${Array.from({ length: Math.min(n, 4) }, (_, k) => k % A).join(',')}${n > 4 ? ',…' : ''}]`;
      // Items are checked together (checkTokens names v_k and the length), so each is taken as it is.
      const v = parseJsonArray(text, { where: ID, expected: `${n} tokens 0..${A - 1}`, example, item: (x) => x as number });
      checkTokens(v);
      return v;
    },
    formatInput: (v) => JSON.stringify(v),
    arbitrary: () => cotPHopArbitrary(o),
    exhaustive: { symbols: A, minLength: n, maxLength: n },
  };
}

/**
 * Inputs of exactly n tokens: half uniform (⊥ answers are common there), half the paper's
 * distribution, p hops guaranteed (pHopArbitrary, the property-test form of paperPHopSampler).
 */
export function cotPHopArbitrary(options: CotPHopOptions): fc.Arbitrary<number[]> {
  const { p, n, alphabet } = checkOptions(options);
  const uniform = fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { minLength: n, maxLength: n });
  const paper = pHopArbitrary({ n, p, alphabet, guaranteed: true }).map((x) => x.v);
  return fc.oneof(uniform, paper);
}

/** One input from the paper's sampler (p hops exist: find_p(v, n) ≠ 0), seeded. */
export function sampleCotPHop(rng: Rng, options: CotPHopOptions): number[] {
  const { p, n, alphabet } = checkOptions(options);
  return paperPHopSampler(rng, n, p, alphabet);
}

const PARAMS = defineParams([
  { name: 'p', describe: 'hops: p pointer steps, then the value (p + 1 CoT steps = loops)', default: '3', kind: 'int', min: 1, max: MAX_P },
  { name: 'n', describe: 'tokens v_1..v_n (the prompt adds a start slot ⊥ at position 0)', default: '8', kind: 'int', min: 2, max: MAX_N },
  { name: 'alphabet', describe: 'tokens are 0..alphabet−1', default: '4', kind: 'int', min: 2, max: MAX_ALPHABET },
]);

export const cotPHopTask: CotTask<number[]> = {
  id: ID,
  title: 'p-hop by chain of thought, one hop per step (compiled to p + 1 loops)',
  theorem: 'Theorem 5.4 on p-hop induction (CoT: one hop per step)',
  statement:
    'A 3-layer decoder emits, by greedy CoT on [⊥, v_1..v_n], the pointers find_1(v, n), …, find_p(v, n) as tokens @0..@n ' +
    '(@0 = ⊥), then the token at find_p(v, n) — hop_p(v), or ⊥ — so p + 1 steps. In every forward pass a shift head and a ' +
    'content search compute f = find_1 at every prompt position; a Lemma B.4 head reads f (and the token) at the pointer the ' +
    'last position holds, and an MLP emits the next pointer, or at the last step (flagged in θ_PE) the token. Theorem 5.4 ' +
    'compiles it into a block of L + 5 = 8 layers looped p + 1 times on (⊥ v, #^{p+1}) whose answer is hop_p(v).',
  params: PARAMS,
  // Theorem 5.4's claim (thm-5.4's CLAIMED: m loops, L + 6 layers, width d + 3s, MLP max(d_FF, V²),
  // H + 1 heads, ⌊log2(n + m)⌋ + 1 bits) in this decoder's L, d, H, d_FF, V and m CoT steps. No paper
  // states a CoT for p-hop (the paper's p-hop results are Theorem B.12 and Corollary 5.3), so the
  // loops are Theorem 5.4's m, the decoder's steps.
  claimed: { ...THM54_CLAIMED },
  deviations:
    'Claims: Theorem 5.4\'s (as thm-5.4) for a decoder of depth L = 3 and width d = 2V + 5s + 2A + 4 with V = A + len + 2 ' +
    'tokens (the n + 1 pointer tokens make V grow with n). Built: width d + 2s + 1 + 4V against the proof\'s d + 3s (see ' +
    'thm-5.4), above it by 4V + 1 − s; L + 5 layers, within L + 6; MLP width the compiler\'s V(V − 1) argmax units ' +
    '(within V²) beside the clearing and θ_PE lookup units. Head size: Theorem 5.4 states none (built max(2s, V, ' +
    's + A + 1)). Steps: p + 1, not p — the last emits the value at the pointer. In these formulas n and m are the ' +
    'compiler\'s (prompt length len + 1, m = p + 1); len is the task\'s n.',
  build(params: Params) {
    return buildCotPHop(paramValues(ID, PARAMS, params));
  },
};

