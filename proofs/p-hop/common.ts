// What the two p-hop constructions share: the residual layout, the three kinds of head and the
// three checks. Beside it: config.ts (parameters), mlp.ts (the MLP pieces that move a freshly read
// pointer into place), built.ts (input, answer and the BuiltConstruction both return), lockstep.ts.
//
// THE ALGORITHM (tasks/p-hop.ts, Def. A.1). The model reads [start, v_1, …, v_m]: position 0 is a
// start slot, so model position i is the paper's position i and the pointer value 0 is ⊥.
//   1. shift:   position i receives v_{i−1} (Lemma B.4 head aimed at i − 1; nothing at i ≤ 1).
//   2. search:  f(i) = find_1(v, i) by content attention: query v_i, key v_{j−1}, plus the start
//               slot, plus j·2^{−s} so that the LARGEST matching j wins (hard attention averages
//               exact ties, so ties must not exist). Scores, exactly:
//                   j = 0 (start): 1;   j ≥ 1: [v_{j−1} = v_i] + j·2^{−s}   (j ≤ n < 2^s)
//               so a matching j scores in (1, 2), the start slot 1, a non-matching j below 1.
//               The head copies sbin(j) and the token at j: a = b = f, tb = v_{f(i)}.
//   3. rounds l = 0, 1, …, R − 1 with R = ⌈log2 p⌉: one Lemma B.4 head reads at a_i = f^(2^l)(i):
//                   a ← a[a_i]  (= f^(2^(l+1))),   and, when bit l of p − 1 is set,
//                   b ← b[a_i], tb ← tb[a_i]      (b = f^(1 + (p−1) mod 2^(l+1))).
//               After R rounds b = f^p, so tb at position n is hop_p(v) (the start token for ⊥).
// Starting b at f (not at the identity, as pointerDoublingRounds(v, p) does) and folding the bits
// of p − 1 is what saves a read: p − 1 has ⌈log2 p⌉ bits, p has ⌊log2 p⌋ + 1. So the depth is
// 2 + ⌈log2 p⌉: the paper's ⌊log2 p⌋ + 2 when p is a power of two, one more otherwise. The
// lockstep check compares a with pointerDoublingRounds(v, p − 1).rounds[k].a and b with f∘(its b).
//
// WHY NOT ⌊log2 p⌋ + 2 FOR EVERY p. After the shift and the search a position holds f^0 and f^1,
// and a positional read composes two maps it holds (it reads map g at the position h(i) points to:
// g∘h), so after r more layers the largest power it can hold is f^(2^r): r ≥ ⌈log2 p⌉. Saving the
// layer would need f one layer earlier, i.e. a content search on the raw tokens that skips its
// own position ("largest j < i with v_j = v_i"). Its score would have to rise with j up to i − 1
// and then drop below the start slot at j = i, for every i; we found no bilinear score of
// O(log n) bits that does this, so the shift layer stays.
//
// PRECISION. Positions 0..n are coded by sbin with s = max(3, ⌈log2(n + 1)⌉) bits: n + 1 codes
// for the start slot and n tokens, and at least 3 so the MLP gates (partial sums up to 4) stay
// below B_s = 2^s − 2^{−s} in F_s. Every residual value of an exact run is a small dyadic
// rational (±1 codes, 0/1 one-hots, j·2^{−s}, the loop counter), so F_s holds it exactly, and a
// fixed:s run computes the very same residual stream as the exact one (a test checks this):
//   - the Lemma B.4 heads run as softmax in fixed:s and are EXACTLY one-hot (their off-target
//     scores saturate at −B_s and exp(−B_s) rounds to 0);
//   - the content search stays HARD in fixed:s by default (search=hard): as a softmax head in the
//     paper's F_s it cannot work at any number of bits (SOFTMAX SEARCH below; search=softmax runs
//     it and fails). Its F_s scores are exact (1 + j·2^{−s} needs s fractional bits); with fewer
//     bits the order term rounds, neighbours tie, and hard attention averages them (the `bits`
//     counterexample shows it).
//   - float64 runs every head as softmax at scale β (default 64·2^s): every other position scores
//     at least 2^{−s}·β = 64 below the search head's winner, so together they weigh at most
//     n·e^{−64}, and the positional heads' off-target weights underflow to 0.
//
// SOFTMAX SEARCH (issue #14 §2; search=softmax). Finding: in the paper's F_s — softmax as exp of
// each score, their sum, each quotient, every result rounded into F_s, NO subtraction of the
// maximum (simulators/arithmetic/fixed.ts) — no softmax head can be the content search of this
// construction, at any s. "Be the search" means what the construction needs from it, and what
// Lemma B.4's heads achieve: its F_s weights are exactly one-hot (1 on f(i), 0 elsewhere), so it
// copies the pointer sbin(f(i)) exactly. The head is any head of layer 2: its score at (i, j) is any
// function of the query's features (i, v_i, v_{i−1}) and the key's (j, v_{j−1}, v_j), which is all a
// position holds after the shift layer. Proof, with e_j the F_s value of exp(score_ij), S the
// (saturated) F_s sum, w_j the F_s quotient e_j/S, and u = 2^{−s} the F_s unit:
//   (1) w_j = 0 iff 2^s·e_j/S ≤ 1/2 (ties round down), i.e. e_j ≤ S·2^{−s−1};
//       S ≥ e_m (S is the sum, saturated at B_s ≥ e_m), and then
//       w_m = 1 iff 2^s·e_m/S > 2^s − 1/2, i.e. e_m > S·(1 − 2^{−s−1}). Both in one softmax: e_j < e_m/(2^{s+1} − 1); in units of u,
//       e_m ≥ (2^{s+1} − 1)·e_j + 1.
//   (2) Three inputs with the same query features at i = 5 and the same key features wherever
//       they are compared (alphabet {0, 1}): A = 1 1 1 1 0 (no match: the start slot wins),
//       B = 0 1 1 1 0 (one match, j = 2: key (2, 0, 1)), C = 0 1 0 1 0 (matches j = 2 and j = 4,
//       both keys (j, 0, 1)); the query is (5, 0, 1) in all three, the start slot's key is fixed.
//       A: w_0 = 1 needs e_0 ≥ u (a zero exp cannot carry weight 1). B: e_2 ≥ (2^{s+1} − 1)u + u
//       = 2^{s+1}u. C: e_4 ≥ (2^{s+1} − 1)·2^{s+1}u + u = (2^{2s+2} − 2^{s+1} + 1)u, above
//       B_s = (2^{2s} − 1)u, the largest F_s value. So at any s one of A, B, C is not one-hot.
//       (Non-matching positions only change S, and (1) holds for every S.)
// So two earlier matches and the start slot already need an exp range of 2^{2(s+1)}, while F_s
// holds 2^{2s}: the start slot is always there, and the last match must beat the one before by a
// ratio above 2^{s+1}. A margin independent of how many matches there are is therefore not the
// obstacle; the range of exp in F_s is. tests/p-hop-softmax.test.ts checks (1) against the
// interpreter's own arithmetic for every s in 1..26 (exhaustively for s ≤ 3), runs A, B, C through
// the built search=softmax head under fixed:s for every s 3..13 and every b 1..26, and shrinks a
// counterexample of the whole model.
//   The head built for search=softmax is the best one can do in F_s: it is exactly one-hot whenever
// at most one match precedes i (a test checks this property, and that it refuses a worse head). Its
// scores (before the scale), set for the check's bits b (param bits, auto = s): start −2^{−b}, a
// match 1 + j·2^{−s−1}, no match below −1/2; at scale B_b in fixed:b a match saturates (exp = B_b),
// the start slot scores −1 (exp ≈ 0.37, nonzero, rounds to weight 0 beside a match) and a
// non-match scores below −B_b/2 (exp rounds to 0). Two matches both saturate: weight 1 each, and
// the head copies the sum of their pointers. It fails so at every b in 1..26 (tested). Under hard
// attention (exact) and under float64's max-subtracting softmax (scale 64·2^s: consecutive matches
// differ by 32 in score) the same head is correct. As a contrast, under a softmax that subtracts
// the maximum but rounds everything into F_b, the same head at scale ⌈2^{s+1}(b + 1) ln 2⌉ (so an
// earlier match's exp rounds to 0) works from b = s + 5 at n = 16 and at n = 64 (measured, one bit
// fewer fails): log n + log log n + O(1) bits, not log n.
//   Not covered by the proof: a head whose weights are NOT one-hot but whose mixed output a later
// MLP decodes into f(i); we built none and did not prove that none exists.
//   What this says about B.12: the paper states "log n bits" in its own precision model F_s (it
// imports F_s from Li, Liu, Zhou, Ma 2024 for all its constructions); B.12's content search is
// softmax attention with log n bits in Sanford, Hsu, Telgarsky 2024, whose precision model we have
// not checked here. The claim does NOT hold in F_s for a softmax search placed where the
// construction places it (after one shift layer); it holds for hard attention, and for a softmax
// that subtracts the maximum (float64 here). So "log n bits with softmax" is an erratum of B.12 as
// transferred to F_s, unless the search is restructured (more layers that precompute occurrence
// counts, so the search has a unique match — not built), or softmax subtracts the maximum.
import { Fraction } from 'mathjs';
import { identity } from '../../simulators/matrix.ts';
import { type Head, type Layer, type Model, createHead, createModel, withAttention } from '../../simulators/model.ts';
import { type Scalar, toRational } from '../../simulators/rational.ts';
import { type Selector, type Space, space } from '../../simulators/space.ts';
import { sbin } from '../codes.ts';
import type { InterpreterCheck } from '../construction.ts';
import { addOneHotHead, boundB } from '../gadgets/lemma-b4.ts';
import type { PHopConfig } from './config.ts';

// ---------------------------------------------------------------- residual layout

export interface LayoutOptions {
  /** The looped model's control: loop counter, keep-flag for the shift output, fold flag. */
  control: boolean;
}

/** The residual stream, in this order (the order is the order F_s adds in, see the MLP notes). */
export function residualSpace(cfg: PHopConfig, o: LayoutOptions): Space {
  const { s, alphabet: A } = cfg;
  const letters = (prefix: string) => Array.from({ length: A }, (_, c) => `${prefix}:${c}`);
  const tokens = (prefix: string) => [...letters(prefix), `${prefix}:⊥`];
  return space({
    tok: { size: A + 1, describe: 'one-hot input token; ⊥ is the start slot at position 0', labels: tokens('tok') },
    one: { size: 1, describe: 'constant 1' },
    pos: { size: s, describe: 'sbin(i): position code (keys of the positional reads; value of the content search)' },
    posval: { size: 1, describe: 'i·2^{−s}: the content search prefers the largest matching position' },
    prevq: { size: s, describe: 'sbin(max(i − 1, 0)): where the shift head reads' },
    prev: { size: A, describe: 'one-hot v_{i−1}, written by the shift head (empty at positions 0 and 1)', labels: letters('prev') },
    ...(o.control
      ? {
          count: { size: 1, describe: 'loop counter: loops completed (each MLP adds 1)' },
          keep: { size: 1, describe: '1 during loop 1 only: the MLP keeps prev after loop 1 and clears it after every later loop' },
          fold: { size: 1, describe: '1 in the loops that fold b: loop 2 (b ← f) and round l when bit l of p − 1 is set' },
        }
      : {}),
    a: { size: s, describe: 'sbin(a_i): pointer a = f^(2^l) (sbin(0) = ⊥ before the search)' },
    b: { size: s, describe: 'sbin(b_i): answer pointer b = f^(1 + bits of p − 1 folded so far)' },
    tb: { size: A + 1, describe: 'one-hot token at b_i (⊥ when b_i = 0); the readout', labels: tokens('tb') },
    na: { size: s, describe: 'scratch: a read at a_i (cleared by the MLP)' },
    nb: { size: s, describe: 'scratch: b read at a_i (cleared by the MLP)' },
    ntb: { size: A + 1, describe: 'scratch: tb read at a_i (cleared by the MLP)', labels: tokens('ntb') },
  });
}

/** The model with its embedding and readout (no stages yet). */
export function createPHopModel(cfg: PHopConfig, o: LayoutOptions, name: string, description: string): Model {
  const { s, n, alphabet: A } = cfg;
  const residual = residualSpace(cfg, o);
  const model = createModel({
    name,
    description,
    vocab: [...Array.from({ length: A }, (_, c) => String(c)), '#'], // the start token, written # as in every construction
    residual,
    maxLen: n + 1,
    readout: cfg.readout,
  });
  model.W_E.write('vocab', 'tok', identity());
  const unit = new Fraction(1, 2 ** s); // 2^{−s}: the search's order term per position
  for (let i = 0; i <= n; i++) {
    const row: Selector = ['positions', i];
    model.W_pos.set(row, 'one', 1);
    model.W_pos.write(row, 'pos', [sbin(i, s)]);
    model.W_pos.set(row, 'posval', unit.mul(i));
    model.W_pos.write(row, 'prevq', [sbin(Math.max(i - 1, 0), s)]);
    // Pointers start at 0 (⊥): a = b = sbin(0), tb = ⊥; the search adds the difference.
    model.W_pos.write(row, 'a', [sbin(0, s)]);
    model.W_pos.write(row, 'b', [sbin(0, s)]);
    model.W_pos.set(row, ['tb', A], 1);
    if (o.control) model.W_pos.set(row, 'keep', 1);
  }
  // Readout: the token at b (the start token stands for ⊥).
  model.W_U.write('tb', 'vocab', identity());
  return model;
}

// ---------------------------------------------------------------- heads

/**
 * The content search (induction head): query v_i, key v_{j−1}, the start slot as fallback, and
 * j·2^{−s} to prefer the largest j. It copies the DIFFERENCE from the start slot's values —
 * sbin(j) + 1 and onehot(v_j) − onehot(⊥) — so reading the start slot adds exactly 0 and the
 * pointers, which start at sbin(0) and ⊥, become sbin(f(i)) and v_{f(i)}.
 */
export function addContentSearch(model: Model, layer: Layer, cfg: PHopConfig, to: { code: string[]; token: string }): Head {
  const { s, alphabet: A } = cfg;
  const residual = model.residual;
  const soft = cfg.search === 'softmax';
  const head = createHead(
    residual,
    {
      name: 'search',
      role: 'f(i) = find_1(v, i): the largest j ≤ i with v_{j−1} = v_i (else the start slot); copies sbin(j) and v_j',
      kind: 'hard',
      qk: soft
        ? {
            letter: { size: A, describe: 'one-hot v_i (query) against 2·one-hot v_{j−1} (key): a match adds 2', labels: Array.from({ length: A }, (_, c) => `letter:${c}`) },
            start: { size: 1, describe: '1 (query) against (1 − 2^{−s})·[j = 0] (key)' },
            order: { size: 1, describe: '1/2 (query) against j·2^{−s} (key): larger j wins under hard attention' },
            bias: { size: 1, describe: '1 (query) against −1 (key, every position): start −2^{−s}, match 1 + j·2^{−s−1}, no match below −1/2' },
          }
        : {
            letter: { size: A, describe: 'one-hot v_i (query) against one-hot v_{j−1} (key)', labels: Array.from({ length: A }, (_, c) => `letter:${c}`) },
            start: { size: 1, describe: '1 (query) against [j = 0] (key): the start slot scores 1' },
            order: { size: 1, describe: '1 (query) against j·2^{−s} (key): larger j wins' },
          },
      ov: {
        code: { size: s, describe: 'sbin(j) + 1: the pointer to j, minus that of the start slot' },
        token: { size: A + 1, describe: 'onehot(v_j) − onehot(⊥)' },
      },
    },
    `${model.name}: head 'search'`,
  );
  for (let c = 0; c < A; c++) {
    head.W_Q.set(['tok', c], ['letter', c], 1);
    head.W_K.set(['prev', c], ['letter', c], soft ? 2 : 1);
  }
  head.W_Q.set('one', 'start', 1);
  // (1 − 2^{−b}) for the check's bits b: the start slot scores −2^{−b}, i.e. −1 at scale B_b.
  const bits = cfg.checkBits;
  head.W_K.set(['tok', A], 'start', soft ? new Fraction(2 ** bits - 1, 2 ** bits) : 1);
  head.W_Q.set('one', 'order', soft ? new Fraction(1, 2) : 1);
  head.W_K.set('posval', 'order', 1);
  if (soft) {
    head.W_Q.set('one', 'bias', 1);
    head.W_K.set('one', 'bias', -1);
  }
  for (let b = 0; b < s; b++) {
    head.W_V.set(['pos', b], ['code', b], 1);
    head.W_V.set('one', ['code', b], 1);
    for (const t of to.code) head.W_O.set(['code', b], [t, b], 1);
  }
  for (let c = 0; c <= A; c++) {
    head.W_V.set(['tok', c], ['token', c], 1);
    head.W_O.set(['token', c], [to.token, c], 1);
  }
  head.W_V.set('one', ['token', A], -1);
  layer.heads.push(head);
  return head;
}

/**
 * A Lemma B.4 read at the pointer in `query`: position i reads the unique position j ≤ i whose
 * position code `pos` equals its `query` code and adds the listed subspaces of j into its own
 * (proofs/gadgets/lemma-b4.ts: why it is exactly one-hot in fixed:s). Hard attention; the checks
 * switch it to softmax.
 */
export function addPointerRead(model: Model, layer: Layer, cfg: PHopConfig, spec: { name: string; role: string; query: string; copies: { name: string; from: string; to: string }[] }): Head {
  return addOneHotHead(model, layer, {
    name: spec.name,
    role: spec.role,
    bits: cfg.s,
    query: spec.query,
    key: 'pos',
    one: 'one',
    copies: spec.copies.map((c) => ({ ...c, describe: `${c.from} at the position read` })),
  });
}

/** The shift head: position i reads v_{i−1} (letters only, so the start slot contributes nothing). */
export function addShift(model: Model, layer: Layer, cfg: PHopConfig): Head {
  return addOneHotHead(model, layer, {
    name: 'shift',
    role: 'copies v_{i−1} into prev (Lemma B.9 SHIFT; nothing at i ≤ 1)',
    bits: cfg.s,
    query: 'prevq',
    key: 'pos',
    one: 'one',
    copies: [{ name: 'letter', describe: 'tok at the position read', from: Array.from({ length: cfg.alphabet }, (_, c): Selector => ['tok', c]), to: 'prev' }],
  });
}

// ---------------------------------------------------------------- checks

const isSearch = (h: Head) => h.name === 'search';

/**
 * The model with the positional (Lemma B.4) heads switched to softmax at scale 1 and the content
 * search kept hard: the fixed:s check (see the module comment for why the search stays hard).
 */
export function positionalSoftmax(model: Model): Model {
  const soft = withAttention(model, 'softmax');
  return {
    ...soft,
    stages: soft.stages.map((st, s) => ({
      ...st,
      layers: st.layers.map((l, k) => ({ ...l, heads: l.heads.map((h, j) => (isSearch(h) ? model.stages[s].layers[k].heads[j] : h)) })),
    })),
  };
}

/**
 * The fixed-point check's model with the content search ALSO switched to softmax, at scale β. It
 * exists to show the obstacle of the module comment: at β = 1 the search's weights are far from
 * one-hot, and at large β its scores saturate at B_s and the start slot and every match tie.
 */
export function searchSoftmax(model: Model, scale: Scalar): Model {
  const soft = positionalSoftmax(model);
  const beta = toRational(scale);
  return {
    ...soft,
    stages: soft.stages.map((st) => ({
      ...st,
      layers: st.layers.map((l) => ({ ...l, heads: l.heads.map((h) => (isSearch(h) ? { ...h, kind: 'softmax' as const, scale: beta } : h)) })),
    })),
  };
}

/** The softmax search's scale in fixed:s: B_s = 2^s − 2^{−s}, the largest F_s value (see SOFTMAX SEARCH). */
export function softmaxSearchScale(s: number): Scalar {
  return boundB(s);
}

export function pHopChecks(model: Model, cfg: PHopConfig): InterpreterCheck[] {
  const b = cfg.checkBits;
  return [
    { label: 'exact, hard attention', interpreter: 'exact', model },
    cfg.search === 'softmax'
      ? {
          label: `fixed:${b}, softmax on every head, the content search too (at scale B_${b})`,
          interpreter: `fixed:${b}`,
          model: searchSoftmax(model, softmaxSearchScale(b)),
        }
      : {
          label: `fixed:${b}, softmax on the positional heads, search hard`,
          interpreter: `fixed:${b}`,
          model: positionalSoftmax(model),
        },
    {
      label: `float64, softmax on every head at scale ${cfg.scale}`,
      interpreter: 'float64',
      model: withAttention(model, 'softmax', cfg.scale),
    },
  ];
}
