// A deterministic finite automaton run by chain of thought, ONE STATE PER STEP (Merrill &
// Sabharwal 2024: |x| CoT steps run any finite automaton), and the Theorem 5.4 compilation of
// that decoder into n loops of one block.
//
// THE TASK. Prompt x_1..x_n (input symbols), CoT token t = q_t = δ(q_{t−1}, x_t) with q_0 the start
// state, m = n steps, answer q_n. Automata (tasks/automata.ts): parity, the word problem of a group
// (state = running product g_1∘…∘g_t, the convention of tasks/group-composition.ts), or a
// transition table from a JSON file.
//
// VOCABULARY. Symbols ∪ states by NAME: a state whose name is a symbol's shares its token. So a
// group's word problem has |G| tokens, not 2|G| (S5: V = 120; the compiler's Lemma B.7 costs
// V(V − 1) MLP units), and parity has 0, 1, even, odd.
//
// THE DECODER, for a fixed n (one layer, one head, s bits with s = ⌊log2(2n)⌋ + 1, the compiler's
// s, so its codes and weights are exact in the F_s check). Its CoT reads positions 0..2n − 2 =
// n + m − 2; θ_PE covers one more, 2n − 1, so that the compiled model's last pad (position
// n + m − 1) has codes too and no head of the compiled model ever ties.
// State at position i (0-based):
//     tok   (V)   one-hot of the token at i                     θ_TE
//     one   (1)   the constant 1                                θ_PE
//     pos   (s)   sbin(i)                                       θ_PE
//     tgt   (s)   sbin(max(i − n + 1, 0))                       θ_PE
//     first (1)   1[i = n − 1]                                  θ_PE
//     x     (V)   the token at position max(i − n + 1, 0)       written by the head
//     next  (Q)   one-hot of the next state                     written by the MLP; read by W_U
// CoT step t reads out at the last position i = n + t − 2 of the prefix (x, q_1..q_{t−1}). It needs
// the current state and the next symbol:
//   * the current state is the token at i: q_{t−1} for t ≥ 2; at t = 1 (i = n − 1) that token is
//     x_n, not a state, and `first` says the state is q_0 there;
//   * the symbol x_t is at position t − 1 = i − n + 1: the head `fetch` (Lemma B.4, query tgt, key
//     pos) copies that position's token one-hot into x. Position i < n − 1 reads position 0
//     (it is never a last position; only causality matters, t(i) ≤ i).
// The MLP has one unit per (state q, symbol a) pair and one per symbol for the first step:
//     step(q, a)  = relu(tok[q] + x[a] − 2·first − 1)   → next[δ(q, a)]
//     start(a)    = relu(first + x[a] − 1)              → next[δ(q_0, a)]
// At i ≥ n exactly one step unit is 1 (tok and x are one-hots, first = 0) and every start unit
// is 0; at i = n − 1 every step unit is ≤ 0 (the −2·first; it matters when symbols and states
// share tokens, so x_n is also a state's token) and exactly start(x_1) is 1. The readout maps
// next[q] to the token of q: the logits are 1 at δ(q_{t−1}, x_t) and 0 elsewhere, a top-two margin
// of exactly 1 ≥ 2^{−s} (Theorem 5.4's precondition), at every step, for every word.
// Pre-activations stay in [−3, 2], partial sums included, so F_s (s ≥ 2) computes them exactly.
//
// THE LOOPED MODEL is compileThm54(decoder, n, m = n): L + 5 = 6 layers per block, n loops, width
// d + 2s + 1 + 4V with d = 2V + 2s + 2 + Q the decoder's, MLP width max(Q·S + S, V(V − 1), …)
// (S = |Σ| symbols, Q = |Q| states). Sizes at a glance: parity n = 8 is V = 4, d = 22; S5 n = 4 is
// V = 120, d = 370, 14 520 transition units beside the compiler's 14 280 argmax units.
import fc from 'fast-check';
import { InputError, UsageError } from '../../common/errors.ts';
import { identity } from '../../simulators/matrix.ts';
import { type Model, addStage, createLayer, createModel } from '../../simulators/model.ts';
import { space } from '../../simulators/space.ts';
import { type Automaton, AUTOMATON_FORMS, formatWord, parseAutomatonName, parseSymbol, runAutomaton } from '../../tasks/automata.ts';
import { readTableText } from '../../simulators/regular-file.ts';
import { bitLength, embedConstantOne, embedPositionCodes } from '../codes.ts';
import { type Params, defineParams, paramValues } from '../construction.ts';
import { addOneHotHead } from '../gadgets/lemma-b4.ts';
import { parseJsonArray } from '../input-parsing.ts';
import { addUnits } from '../gadgets/units.ts';
import { CLAIMED as THM54_CLAIMED } from '../thm-5-4-cot-loops.ts';
import type { CotTask, CotTaskBuilt } from './task.ts';

const ID = 'cot-automaton';

/** Longest word the construction is built for (n CoT steps; the compiled model has 2n positions). */
export const MAX_N = 64;

/** The token the compiler appends; no symbol or state may be named so. */
const PAD = '#';

export interface AutomatonVocabulary {
  labels: string[];
  /** Token of symbol a. */
  symbolToken: number[];
  /** Token of state q (a symbol's token when the names agree). */
  stateToken: number[];
}

/** Symbols first, then the states whose names are not symbols'. */
export function automatonVocabulary(A: Automaton): AutomatonVocabulary {
  const labels = [...A.symbols];
  const symbolToken = A.symbols.map((_, a) => a);
  const stateToken = A.states.map((q) => {
    const k = labels.indexOf(q);
    if (k >= 0) return k;
    labels.push(q);
    return labels.length - 1;
  });
  return { labels, symbolToken, stateToken };
}

/** The decoder for words of exactly n symbols (see the module comment). */
export function buildAutomatonDecoder(A: Automaton, n: number): { decoder: Model; vocab: AutomatonVocabulary; s: number } {
  if (!Number.isInteger(n) || n < 1 || n > MAX_N) throw new UsageError(`${ID}: n must be a whole number in 1..${MAX_N}, got ${n}`);
  const named = [...A.symbols, ...A.states].find((x) => x === PAD);
  if (named !== undefined) throw new UsageError(`${ID}: automaton ${A.name} names a symbol or state "${PAD}", the token Theorem 5.4 appends as padding; rename it`);
  const vocab = automatonVocabulary(A);
  const V = vocab.labels.length;
  const Q = A.states.length;
  const S = A.symbols.length;
  const s = bitLength(n + n);
  const tokenLabels = (prefix: string) => vocab.labels.map((x) => `${prefix}[${x}]`);
  const residual = space({
    tok: { size: V, labels: tokenLabels('tok'), describe: 'one-hot of the token at i (θ_TE)' },
    one: { size: 1, describe: 'the constant 1' },
    pos: { size: s, describe: 'sbin(i): the key of the fetch head' },
    tgt: { size: s, describe: `sbin(max(i − n + 1, 0)): where x_{i−n+2} sits (the symbol CoT step i − n + 2 consumes)` },
    first: { size: 1, describe: `1[i = n − 1]: the first CoT step reads out here, in state q_0` },
    x: { size: V, labels: tokenLabels('x'), describe: 'one-hot of the token at max(i − n + 1, 0): the next input symbol' },
    next: { size: Q, labels: A.states.map((q) => `next[${q}]`), describe: 'one-hot of δ(state, symbol): the readout' },
  });
  // The CoT reads positions 0..2n − 2; position 2n − 1 gives the compiled model's last pad its
  // codes, so no head of the compiled model ever ties.
  const maxLen = 2 * n;
  const decoder = createModel({
    name: `${ID} ${A.name} n=${n}: one state per CoT step`,
    description: `runs the automaton ${A.name} on ${n} symbols, emitting q_t = δ(q_{t−1}, x_t) at CoT step t (${S} symbols, ${Q} states, ${V} tokens)`,
    vocab: vocab.labels,
    residual,
    maxLen,
    readout: 'last',
  });
  decoder.W_E.write('vocab', 'tok', identity());
  embedConstantOne(decoder, 'one');
  embedPositionCodes(decoder, 'pos', s);
  embedPositionCodes(decoder, 'tgt', s, (i) => Math.max(i - n + 1, 0));
  decoder.W_pos.set(['positions', n - 1], 'first', 1);

  const layer = createLayer('fetch the next input symbol; one unit per (state, symbol) writes the next state');
  addOneHotHead(decoder, layer, {
    name: 'fetch',
    role: 'copies the token at position max(i − n + 1, 0) — the symbol x_t of CoT step t = i − n + 2 — into x',
    bits: s,
    query: 'tgt',
    key: 'pos',
    one: 'one',
    from: 'tok',
    to: 'x',
  });
  const pairLabels: string[] = [];
  for (let q = 0; q < Q; q++) for (let a = 0; a < S; a++) pairLabels.push(`δ(${A.states[q]},${A.symbols[a]})=${A.states[A.delta(q, a)]}`);
  const mlp = addUnits(decoder, layer, {
    step: { size: Q * S, labels: pairLabels, describe: 'relu(tok[q] + x[a] − 2·first − 1) = 1 exactly when the state is q and the symbol a (i ≥ n)' },
    start: {
      size: S,
      labels: A.symbols.map((a, k) => `δ(${A.states[A.start]},${a})=${A.states[A.delta(A.start, k)]}`),
      describe: 'relu(first + x[a] − 1) = 1 exactly at i = n − 1 (state q_0) with symbol a',
    },
  }, 'the transition table: the next state as a one-hot');
  for (let q = 0; q < Q; q++) {
    for (let a = 0; a < S; a++) {
      const u = q * S + a;
      mlp.W_in.set(['tok', vocab.stateToken[q]], ['step', u], 1);
      mlp.W_in.set(['x', vocab.symbolToken[a]], ['step', u], 1);
      mlp.W_in.set('first', ['step', u], -2);
      mlp.b_in.set(['step', u], -1);
      mlp.W_out.set(['step', u], ['next', A.delta(q, a)], 1);
    }
  }
  for (let a = 0; a < S; a++) {
    mlp.W_in.set('first', ['start', a], 1);
    mlp.W_in.set(['x', vocab.symbolToken[a]], ['start', a], 1);
    mlp.b_in.set(['start', a], -1);
    mlp.W_out.set(['start', a], ['next', A.delta(A.start, a)], 1);
  }
  addStage(decoder, [layer], 1);
  for (let q = 0; q < Q; q++) decoder.W_U.set(['next', q], ['vocab', vocab.stateToken[q]], 1);
  return { decoder, vocab, s };
}

/** Reads the `automaton` parameter; every error is a UsageError naming the parameter. */
export function automatonParam(params: Params): Automaton {
  const text = String(params.automaton ?? 'parity');
  try {
    return parseAutomatonName(text, readTableText);
  } catch (e) {
    throw new UsageError(`parameter automaton of ${ID}: ${(e as Error).message}`);
  }
}

/** The CotTaskBuilt for an automaton and a word length (what build(params) returns). */
export function buildAutomatonTask(A: Automaton, n: number): CotTaskBuilt<number[]> {
  const { decoder, vocab } = buildAutomatonDecoder(A, n);
  const S = A.symbols.length;
  const checkWord = (word: readonly number[]): void => {
    if (word.length !== n) {
      throw new InputError(`${ID}: the model was built for words of n = ${n} symbols but the input has ${word.length} (use --param n=${word.length})`);
    }
    word.forEach((a, k) => {
      if (!Number.isInteger(a) || a < 0 || a >= S) throw new InputError(`${ID}: symbol ${k + 1} of the input is ${a}, not a symbol index of ${A.name} (0..${S - 1})`);
    });
  };
  return {
    decoder,
    n,
    steps: n,
    sizeScope: { Q: A.states.length, S },
    prompt(word) {
      checkWord(word);
      return word.map((a) => vocab.symbolToken[a]);
    },
    trace(word) {
      checkWord(word);
      return runAutomaton(A, word).map((q) => vocab.stateToken[q]);
    },
    parseInput(text) {
      const word = parseJsonArray(text, {
        where: ID,
        expected: `${n} symbols of ${A.name}`,
        example: formatWord(A, new Array<number>(n).fill(0)),
        item: (v, k) => parseSymbol(A, v, `symbol ${k + 1}`),
      });
      checkWord(word);
      return word;
    },
    formatInput: (word) => formatWord(A, word),
    arbitrary: () => fc.array(fc.integer({ min: 0, max: S - 1 }), { minLength: n, maxLength: n }),
    exhaustive: { symbols: S, minLength: n, maxLength: n },
  };
}

const PARAMS = defineParams([
  {
    name: 'automaton',
    describe: 'the automaton: parity, a group (its word problem: the state is the running product), or a transition table',
    default: 'parity',
    kind: 'text',
    forms: AUTOMATON_FORMS,
  },
  { name: 'n', describe: 'word length = CoT steps = loops', default: '6', kind: 'int', min: 1, max: MAX_N },
]);

export const cotAutomatonTask: CotTask<number[]> = {
  id: ID,
  title: 'a finite automaton by chain of thought, one state per step (compiled to n loops)',
  theorem: 'Theorem 5.4 on a finite automaton (CoT: one state per step)',
  statement:
    'A deterministic finite automaton (Q, Σ, δ, q_0) runs on x_1..x_n by n steps of greedy CoT of a one-layer decoder: step t ' +
    'emits q_t = δ(q_{t−1}, x_t). One Lemma B.4 head fetches x_t (position t − 1, coded in θ_PE as max(i − n + 1, 0)), the ' +
    'current state is the token at the last position (q_0 at the first step, flagged in θ_PE), and an MLP with one unit per ' +
    '(state, symbol) pair writes the one-hot of δ(q, a); the top logit beats the rest by exactly 1. Theorem 5.4 compiles the ' +
    'decoder into a block of L + 5 = 6 layers looped n times on (x, #^n) whose answer is q_n. Automata: parity, the word ' +
    'problem of a group (S5, Z5, D4, …) and transition tables.',
  params: PARAMS,
  // Theorem 5.4's claim (thm-5.4's CLAIMED: L + 6 layers, width d + 3s, MLP max(d_FF, V²), H + 1 heads,
  // ⌊log2(n + m)⌋ + 1 bits) in this decoder's L, d, H, d_FF and V, and the loops Merrill & Sabharwal
  // state (paper-notes §5: "with |x|+1 CoT steps a transformer runs any finite automaton").
  claimed: { ...THM54_CLAIMED, loops: 'n + 1' },
  deviations:
    'Claims: Theorem 5.4\'s (as thm-5.4) for this decoder (depth L = 1, width d = 2V + 2s + 2 + Q, MLP width ' +
    'd_FF = Q·S + S transition units), loops Merrill & Sabharwal\'s |x| + 1. Built: n loops (one state per step; the ' +
    'answer is the n-th state), within the claim; L + 5 layers, within L + 6; width d + 2s + 1 + 4V against the proof\'s ' +
    'd + 3s (see thm-5.4: the 4V directions of the token one-hot and the Lemma B.6/B.7 scratch), above it by 4V + 1 − s; ' +
    'MLP width the larger of the transition table and the compiler\'s units (V(V − 1) argmax units within V², and the ' +
    'clearing and θ_PE lookup units of thm-5.4, which pass V² for small V: parity). Head size: Theorem 5.4 states none.',
  // Parity's symbols and states are different tokens; a group's share them, so only a word problem
  // reads the −2·first that keeps the step units off at the first step.
  verifyAt: [{ params: {} }, { params: { automaton: 'S3', n: '3' } }],
  build(params) {
    const { n } = paramValues(ID, PARAMS, params);
    return buildAutomatonTask(automatonParam(params), n);
  },
};

