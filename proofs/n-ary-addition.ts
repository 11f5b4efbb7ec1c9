// n-ary addition as the paper poses it: the FULL sum of n 3-digit operands, digits in and digits
// out ("#315+120+045+824=____" → 1304), by a block of two layers looped ⌈log2 n⌉ + 1 times.
//
// WHY NOT THEOREM 5.1 WITH G = Z_1000. That gives the sum mod 1000, and its MLP has one unit per pair
// of residues, |G|² = 10^6. Here the tree adds INTEGERS: column sums are linear, so attention copies
// them and the MLP adds them with ReLU identities (relu(x) = x on x ≥ 0); no lookup table. Only the
// readout into decimal digits is nonlinear, and it is threshold units: about 6n of them (187 at
// n = 32), not 10^6.
//
// THE ALGORITHM (tasks/n-ary-addition.ts): three Algorithm 2 trees, one per column (units, tens,
// hundreds), each over the integers under +, indices 0..n, index 0 the start slot; every round also
// writes the answer slots from the digits of C_0 + 10C_1 + 100C_2 read at index n before the round.
// T = ⌈log2 n⌉ + 1 rounds: ⌈log2 n⌉ for the trees, one for the slots to read the finished sums.
//
// POSITIONS (tasks/n-ary-addition.ts): # at 0; operand k's digits at 4k−3 (hundreds), 4k−2, 4k−1
// (units); '+'/'=' at 4k; answer slots at 4n+1..4n+D (most significant first), D = digits of 999n.
// Column j's tree index m lives at position 4m−1−j (m ≥ 1) and at 0 (m = 0): the digit token
// itself is the leaf, so the embedding puts every leaf in place with no gathering step — the token
// d embeds as acc = d, and WHICH column a position belongs to is only in the sources it reads.
//
// THE STATE at position i (width 7 + D + 4p, p = ⌈log2 N⌉ bits for the N = 4n + 1 + D positions;
// the order matters for F_s, see PRECISION):
//     one   (1)  constant 1 (the Lemma B.4 heads' constant; the readout's bias)
//     pos   (p)  sbin(i): the key of all three heads
//     src1, src2, src3 (p each)  the positions this position reads:
//                  a digit position of column j, tree index m: the column-j positions of indices
//                    max(2m−n−1, 0), max(2m−n, 0) (Algorithm 2's sources), and 0;
//                  answer slot: the positions of c_0[n], c_1[n], c_2[n] (4n−1, 4n−2, 4n−3);
//                  #, '+', '=': 0, 0, 0 (position 0 holds 0, so they stay 0).
//     notslot (D)  notslot_k = 0 at the slot of digit k, 1 elsewhere: the gate of digit k's units
//     acc   (1)  the column value this position holds (digit positions), 0 elsewhere
//     q     (1)  at the slot of digit k: the carry count floor(L_k / 10^{k+1})
//     s1, s2, s3 (1 each)  scratch: acc read at src1, src2, src3 (0 between loops)
//     digit (1)  the decimal digit an answer slot holds
//
// LAYER A. Three Lemma B.4 one-hot heads, key pos: `first` src1 → s1, `second` src2 → s2, `third`
// src3 → s3, each copying acc. Every source is ≤ its reader, so causality is harmless. Its MLP
// (`carry`): with L_k = s1 + 10·s2 + 100·s3 truncated to the columns j ≤ min(k, 2) (the higher ones
// add multiples of 10^{k+1}, which change neither q nor digit k), q ← floor(L_k / 10^{k+1}) =
// Σ_a [L_k ≥ a] over a = 10^{k+1}, 2·10^{k+1}, …, ≤ Lmax_k = n(10^{min(k,2)+1} − 1) (the largest L_k).
// A step [x ≥ a] on an integer x is relu(x − a + 1) − relu(x − a), a pair of units; every unit of
// digit k also gets −M·notslot_k, M = 999n + 1 > L_k, so away from its slot it is exactly 0. One more
// unit relu(q)·(−1) clears the old q first.
// LAYER B (MLP `add-and-digit`, no heads):
//   tree (3 units): relu(acc)·(−1) → acc, relu(s1) → acc +1, s1 −1, relu(s2) → acc +1, s2 −1:
//     acc ← s1 + s2, s1 = s2 = 0 (all values are ≥ 0, so relu is the identity on them).
//   clear (2 units): relu(s3) → s3 −1, relu(digit) → digit −1.
//   digit k: r = L_k − 10^{k+1}·q ∈ [0, 10^{k+1}) and digit ← floor(r / 10^k) = Σ_{j=1..9} [r ≥ j·10^k]
//     (only the j with j·10^k ≤ Lmax_k are built), gated by −M·notslot_k like the carries.
//   Net effect of a loop: acc ← acc[src1] + acc[src2] at tree positions (0 stays 0 elsewhere),
//   digit ← digit k of Σ_j 10^j·acc[4n−1−j] at the slot of digit k, scratch back to 0.
// One MLP cannot do both steps: digit k straight from L_k needs a step at every multiple of 10^k up
// to Lmax_k (≈ 10n per digit, 3407 units at n = 32, and weights −9 that cost bits); counting the
// carries first makes the second MLP a 9-step staircase.
//
// READOUT (every position; the answer is read at the D slots): the logit of digit token v is
// 2v·digit − v²·one = digit² − (v − digit)², largest at v = digit with margin 1; every other token
// has logit −1 < 0 ≤ digit².
//
// PRECISION in F_s (the interpreter adds products in residual order, then the bias). Every value is
// an integer: acc, s ≤ 9n, q ≤ n, L_k ≤ Lmax_k ≤ 999n. The partial sums:
//   carry units: −M·notslot_k (notslot comes before the scratch), + s1 + 10s2 + 100s3, then the
//     bias 1 − a: within [−M, Lmax] until the bias; a gated unit that saturates at −B_s stays
//     negative (L < B_s), so relu still gives 0;
//   digit units: −M·notslot_k, −10^{k+1}·q (q comes before the scratch: ≥ −Lmax), + L_k → r: within
//     [−M − Lmax, Lmax] and, at the slot, within ±Lmax;
//   outputs: q: −q_old ≥ −n, then each pair of a step leaves the running count up by 0 or 1, its
//     first unit adding x − a + 1 ≤ Lmax: within ±(999n + n); digit: within ±(9 + Lmax);
//   heads: the Lemma B.4 scores −2B_p·hamming (p ≤ 8 < s), exactly one-hot in F_s since
//     exp(−2B_p) rounds to 0 at s ≤ 21 for p ≥ 3 (N ≥ 13 here, so p ≥ 4).
//   So s = the least s with B_s = 2^s − 2^{−s} ≥ 1000n, i.e. ⌈log2(1000n + 1)⌉: 11 at n = 2,
//   13 at n = 8, 15 at n = 32. A sufficient bound: fewestPassingBits measures what passes.
//
// FLOAT64 SOFTMAX at scale β: an off-target key scores ≤ −2β·B_p, so each head's copy is off by at
// most 9n·N·e^{−2βB_p} (< 10^{−10} at β = 1, p = 4); a step pair is 1-Lipschitz in its input, so q and
// the digit are off by far less than the steps' margin and the readout's margin 1/2.
//
// LENGTH: under 500 lines, 76 of them this write-up; the token layout is in n-ary-addition/layout.ts,
// and what is left is one builder (its three trees share one residual) and the registration.
import fc from 'fast-check';
import { InputError, UsageError } from '../common/errors.ts';
import { addStage, createLayer, createMlp, createModel, type Mlp, type Model } from '../simulators/model.ts';
import type { Rational } from '../simulators/rational.ts';
import { exactFixedFloatChecks } from './checks.ts';
import { loopsAndScaleWeakening, loopsParamSpec, scaleParamSpec } from './param-readers.ts';
import type { RunResult } from '../simulators/result.ts';
import { space } from '../simulators/space.ts';
import {
  COLUMNS,
  MAX_OPERAND,
  OPERAND_DIGITS,
  additionRounds,
  fullSumDigits,
  operandsArbitrary,
  roundCount,
} from '../tasks/n-ary-addition.ts';
import { assertJsonDepth } from '../common/json-depth.ts';
import { embedPositionCodes } from './codes.ts';
import { type BuiltConstruction, type Params, defineConstruction, defineParams, orAuto, paramValues } from './construction.ts';
import { echoItem, parseJsonArray } from './input-parsing.ts';
import { addOneHotHead } from './gadgets/lemma-b4.ts';

import { carrySteps, digitPosition, digitSteps, layoutFor, operatorPosition, precisionBits, slotPosition, sourcesOf, treePosition } from './n-ary-addition/layout.ts';

// The layout's names, for the tests and explain.
export { type Layout, carrySteps, digitPosition, digitSteps, largestL, layoutFor, operatorPosition, precisionBits, slotPosition, sourcesAt, treePosition } from './n-ary-addition/layout.ts';

const ID = 'n-ary-addition';

/** The operands, each 0..999. */
export type Operands = number[];
/** The answer slots read as a digit string (D digits, most significant first); null when a slot's readout is a tie or no digit. */
export type DigitsAnswer = string | null;

export const MIN_N = 2;
export const MAX_N = 32;
export const DEFAULT_FLOAT_SCALE = '1';

export interface AdditionSpec {
  n: number;
  /** Loops of the block; default ⌈log2 n⌉ + 1. */
  loops: number;
  /** Softmax scale of the float64 check. */
  floatScale: Rational;
}

const DIGITS = Array.from({ length: 10 }, (_, v) => String(v));
export const VOCAB = [...DIGITS, '+', '=', '#', '_'];
const TOKEN = Object.fromEntries(VOCAB.map((t, k) => [t, k])) as Record<string, number>;

function bitLabels(name: string, size: number): string[] {
  return Array.from({ length: size }, (_, k) => `${name}[${k}]`);
}

/** The model for n operands with `loops` loops (no checks). */
export function buildModel(spec: AdditionSpec): Model {
  const { n, loops } = spec;
  const L = layoutFor(n);
  const { D, N, p } = L;
  const M = MAX_OPERAND * n + 1;

  const residual = space({
    one: { size: 1, describe: 'constant 1 (the heads’ constant, the readout’s bias)' },
    pos: { size: p, describe: 'sbin(i): this position (the key of every head)', labels: bitLabels('pos', p) },
    src1: { size: p, describe: 'sbin of the first position read: Algorithm 2’s max(2m−n−1, 0) in this column; a slot: the units sum at 4n−1', labels: bitLabels('src1', p) },
    src2: { size: p, describe: 'sbin of the second position read: Algorithm 2’s max(2m−n, 0) in this column; a slot: the tens sum at 4n−2', labels: bitLabels('src2', p) },
    src3: { size: p, describe: 'sbin of the third position read: 0 except at a slot, where it is the hundreds sum at 4n−3', labels: bitLabels('src3', p) },
    notslot: {
      size: D,
      describe: 'notslot[k] = 0 at the slot of digit k, 1 elsewhere: gates digit k’s units by −M',
      labels: Array.from({ length: D }, (_, k) => `notslot[10^${k}]`),
    },
    acc: { size: 1, describe: 'the column value this position holds in its column’s tree (digit positions); 0 elsewhere' },
    q: { size: 1, describe: 'at the slot of digit k: the carry count floor(L_k / 10^{k+1}) (0 elsewhere)' },
    s1: { size: 1, describe: 'scratch: acc at src1 (0 between loops)' },
    s2: { size: 1, describe: 'scratch: acc at src2 (0 between loops)' },
    s3: { size: 1, describe: 'scratch: acc at src3 (0 between loops)' },
    digit: { size: 1, describe: 'the decimal digit this answer slot holds (0 elsewhere)' },
  });
  const model = createModel({
    name: `${ID} n=${n}${loops === roundCount(n) ? '' : ` (${loops} loops)`}`,
    description: `the full sum of ${n} ${OPERAND_DIGITS}-digit numbers in ${D} decimal digits, by ${loops} loop(s) of a 2-layer block`,
    vocab: VOCAB,
    residual,
    maxLen: N,
    readout: 'all',
  });

  for (let d = 0; d <= 9; d++) model.W_E.set(['vocab', d], 'acc', d);
  embedPositionCodes(model, 'pos', p);
  embedPositionCodes(model, 'src1', p, (i) => sourcesOf(L, i)[0]);
  embedPositionCodes(model, 'src2', p, (i) => sourcesOf(L, i)[1]);
  embedPositionCodes(model, 'src3', p, (i) => sourcesOf(L, i)[2]);
  for (let i = 0; i < N; i++) {
    model.W_pos.set(['positions', i], 'one', 1);
    for (let k = 0; k < D; k++) if (i !== slotPosition(L, k)) model.W_pos.set(['positions', i], ['notslot', k], 1);
  }

  // Layer A: the three reads, then q ← floor(L_k / 10^{k+1}) at the slot of digit k.
  const read = createLayer('read acc at three positions; at an answer slot, count the carries q = floor(L_k / 10^{k+1})');
  const heads: [string, 'src1' | 'src2' | 'src3', 's1' | 's2' | 's3', string][] = [
    ['first', 'src1', 's1', 'copies acc from src1: Algorithm 2’s first source in this column; at a slot, the units sum'],
    ['second', 'src2', 's2', 'copies acc from src2: Algorithm 2’s second source in this column; at a slot, the tens sum'],
    ['third', 'src3', 's3', 'copies acc from src3: position 0 (zero) except at a slot, where it is the hundreds sum'],
  ];
  for (const [name, query, to, role] of heads) {
    addOneHotHead(model, read, { name, role: `${role} (Lemma B.4 one-hot attention)`, bits: p, query, key: 'pos', one: 'one', from: 'acc', to });
  }
  const columnWeight: ['s1' | 's2' | 's3', number][] = [
    ['s1', 1],
    ['s2', 10],
    ['s3', 100],
  ];
  /** Writes one step pair [x ≥ a] = relu(x − a + 1) − relu(x − a) of digit k, x = L_k (− 10^{k+1}·q when `minusQ`), gated to digit k's slot. */
  const writePair = (mlp: Mlp, group: string, u: number, k: number, a: number, out: string, minusQ: boolean) => {
    for (const [half, offset] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const unit: [string, number] = [group, 2 * u + half];
      mlp.W_in.set(['notslot', k], unit, -M);
      if (minusQ) mlp.W_in.set('q', unit, -(10 ** (k + 1)));
      // Columns above k do not change digit k (they add multiples of 10^{k+1}); leaving them out keeps L ≤ Lmax_k.
      for (const [col, w] of columnWeight.slice(0, Math.min(k, COLUMNS - 1) + 1)) mlp.W_in.set(col, unit, w);
      mlp.b_in.set(unit, offset - a);
      mlp.W_out.set(unit, out, half === 0 ? 1 : -1);
    }
  };

  const carries = Array.from({ length: D }, (_, k) => carrySteps(n, k));
  const carryHidden: Record<string, { size: number; describe: string; labels: string[] }> = {
    'clear.q': { size: 1, describe: 'q ← 0 before the slot writes its new count', labels: ['−q'] },
  };
  carries.forEach((list, k) => {
    if (list.length === 0) return;
    carryHidden[`carry.${k}`] = {
      size: 2 * list.length,
      describe: `q = floor(L_${k} / 10^${k + 1}) at the slot of digit ${k}: Σ_j [L ≥ j·10^${k + 1}], each step relu(L − a + 1) − relu(L − a), gated off by −${M}·notslot[${k}]`,
      labels: list.flatMap((a) => [`[L≥${a}] hi`, `[L≥${a}] lo`]),
    };
  });
  const carry = createMlp(model.residual, { name: 'carry', role: 'answer slot of digit k: q ← floor(L_k / 10^{k+1}), L_k = Σ_{j ≤ min(k,2)} 10^j·(column j sum)', hidden: carryHidden });
  carry.W_in.set('q', ['clear.q', 0], 1);
  carry.W_out.set(['clear.q', 0], 'q', -1);
  carries.forEach((list, k) => list.forEach((a, u) => writePair(carry, `carry.${k}`, u, k, a, 'q', false)));
  read.mlp = carry;

  // Layer B: the tree's addition, and digit k = floor((L_k − 10^{k+1}·q) / 10^k) at its slot.
  const add = createLayer('tree positions: acc ← s1 + s2; answer slots: digit ← floor((L_k − 10^{k+1}·q) / 10^k); scratch back to 0');
  const digits = Array.from({ length: D }, (_, k) => digitSteps(n, k));
  const hidden: Record<string, { size: number; describe: string; labels: string[] }> = {
    tree: { size: 3, describe: 'acc ← s1 + s2 and s1, s2 ← 0 (relu is the identity on these values ≥ 0)', labels: ['−acc', '+s1', '+s2'] },
    clear: { size: 2, describe: 's3 ← 0 and digit ← 0 before the slot writes its new digit', labels: ['−s3', '−digit'] },
  };
  digits.forEach((list, k) => {
    hidden[`digit.${k}`] = {
      size: 2 * list.length,
      describe: `digit of 10^${k} at its slot: Σ_j [r ≥ j·10^${k}], r = L_${k} − 10^${k + 1}·q ∈ [0, 10^${k + 1}), gated off by −${M}·notslot[${k}]`,
      labels: list.flatMap((a) => [`[r≥${a}] hi`, `[r≥${a}] lo`]),
    };
  });
  const mlp = createMlp(model.residual, { name: 'add-and-digit', role: add.role, hidden });
  mlp.W_in.set('acc', ['tree', 0], 1);
  mlp.W_out.set(['tree', 0], 'acc', -1);
  mlp.W_in.set('s1', ['tree', 1], 1);
  mlp.W_out.set(['tree', 1], 'acc', 1);
  mlp.W_out.set(['tree', 1], 's1', -1);
  mlp.W_in.set('s2', ['tree', 2], 1);
  mlp.W_out.set(['tree', 2], 'acc', 1);
  mlp.W_out.set(['tree', 2], 's2', -1);
  mlp.W_in.set('s3', ['clear', 0], 1);
  mlp.W_out.set(['clear', 0], 's3', -1);
  mlp.W_in.set('digit', ['clear', 1], 1);
  mlp.W_out.set(['clear', 1], 'digit', -1);
  digits.forEach((list, k) => list.forEach((a, u) => writePair(mlp, `digit.${k}`, u, k, a, 'digit', true)));
  add.mlp = mlp;
  addStage(model, [read, add], loops);

  for (let v = 0; v <= 9; v++) {
    model.W_U.set('digit', ['vocab', v], 2 * v);
    model.W_U.set('one', ['vocab', v], -(v * v));
  }
  for (const t of ['+', '=', '#', '_']) model.W_U.set('one', ['vocab', TOKEN[t]], -1);
  return model;
}

// ---------------------------------------------------------------- parameters

export const PARAMS = defineParams([
  { name: 'n', describe: `number of ${OPERAND_DIGITS}-digit operands`, default: '8', kind: 'int', min: MIN_N, max: MAX_N },
  loopsParamSpec('⌈log2 n⌉ + 1'),
  scaleParamSpec(DEFAULT_FLOAT_SCALE),
]);

export function readParams(params: Params): AdditionSpec {
  const { n, loops, scale } = paramValues(ID, PARAMS, params);
  return { n, loops: orAuto(loops, () => roundCount(n)), floatScale: scale };
}

// ---------------------------------------------------------------- input and answer

/**
 * Reads the operands: the paper's text ("315 + 120 + 045 + 824 =", spaces ignored, the '=' and the
 * start and answer slots "#…=____" optional), that text as a JSON string, or a JSON array of numbers
 * 0..999. Errors name the operand and why.
 */
export function parseOperands(text: string, n: number): Operands {
  const trimmed = text.trim();
  assertJsonDepth(trimmed); // before anything parses or quotes it
  let nums: Operands;
  if (trimmed.startsWith('[')) {
    nums = parseJsonArray(trimmed, {
      where: ID,
      expected: `${n} numbers 0..${MAX_OPERAND}`,
      example: `[315,120,45,824], or the paper's text like "315+120+045+824="`,
      item: (x, j) => {
        if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_OPERAND) return x;
        throw new Error(`operand ${j + 1} is ${echoItem(x)}; operands are whole numbers 0..${MAX_OPERAND}`);
      },
    });
  } else {
    let body = trimmed;
    if (body.startsWith('"')) {
      try {
        const s: unknown = JSON.parse(body);
        if (typeof s !== 'string') throw new Error('not a string');
        body = s;
      } catch (e) {
        throw new InputError(`${ID}: the input is not a JSON string (${(e as Error).message})`);
      }
    }
    body = body.replace(/\s+/g, '');
    if (body.startsWith('#')) body = body.slice(1);
    body = body.replace(/=_*$/, '');
    const bad = /[^0-9+]/.exec(body);
    if (bad) throw new InputError(`${ID}: the input has "${bad[0]}" at character ${bad.index + 1}; the paper's text has only digits, '+' and a final '=' ("315+120+045+824=")`);
    nums = body.split('+').map((part, j) => {
      if (part.length !== OPERAND_DIGITS) {
        throw new InputError(`${ID}: operand ${j + 1} is "${part}"; the paper's operands have exactly ${OPERAND_DIGITS} digits, zero-padded (045, not 45)`);
      }
      return Number(part);
    });
  }
  if (nums.length !== n) {
    throw new InputError(`${ID} was built for n = ${n} operands but the input has ${nums.length}; pass --param n=${nums.length} (n fixes the positions the heads read)`);
  }
  return nums;
}

/** The operands as the paper writes them, a JSON string parseOperands reads back: "315+120+045+824=". */
export function formatOperands(nums: readonly number[]): string {
  return JSON.stringify(`${nums.map((x) => String(x).padStart(OPERAND_DIGITS, '0')).join('+')}=`);
}

// ---------------------------------------------------------------- the construction

export function buildAddition(spec: AdditionSpec): BuiltConstruction<Operands, DigitsAnswer> {
  const { n, loops, floatScale } = spec;
  const L = layoutFor(n);
  const { D, p } = L;
  const model = buildModel(spec);
  const s = precisionBits(n);
  const checks = exactFixedFloatChecks(model, {
    bits: s,
    fixedWhy: `one-hot exactly: scores 0 or ≤ −2B_${p}; every partial sum within ±1000n ≤ B_s`,
    floatScale,
    floatWhy: `off-target weight ≤ e^{−2·scale·B_${p}} each`,
  });
  const check = (nums: readonly number[]): void => {
    if (nums.length !== n) throw new InputError(`${ID} was built for n = ${n} operands but the input has ${nums.length}; pass --param n=${nums.length}`);
    nums.forEach((x, j) => {
      if (!Number.isInteger(x) || x < 0 || x > MAX_OPERAND) throw new InputError(`${ID}: operand ${j + 1} is ${x}; operands are whole numbers 0..${MAX_OPERAND}`);
    });
  };
  const slots = Array.from({ length: D }, (_, m) => slotPosition(L, D - 1 - m)); // most significant first
  const readValue = (row: readonly number[], name: string): number | string => {
    const { offset } = model.residual.range(name);
    const v = row[offset];
    return Number.isInteger(v) ? v : `not an integer: ${v}`;
  };
  return {
    model,
    sizeScope: { n, D, N: L.N, p },
    bits: s,
    encode(nums) {
      check(nums);
      const tokens: number[] = [TOKEN['#']];
      nums.forEach((x, k) => {
        for (let j = OPERAND_DIGITS - 1; j >= 0; j--) tokens.push(Math.floor(x / 10 ** j) % 10);
        tokens.push(TOKEN[k === n - 1 ? '=' : '+']);
      });
      for (let m = 0; m < D; m++) tokens.push(TOKEN._);
      return tokens;
    },
    decode(run: RunResult) {
      let out = '';
      for (const at of slots) {
        const r = run.readouts.find((x) => x.position === at);
        if (r === undefined || r.token === null || r.token > 9) return null;
        out += String(r.token);
      }
      return out;
    },
    reference: (nums) => fullSumDigits(nums),
    equal: (a, b) => a === b,
    parseInput: (text) => parseOperands(text, n),
    formatAnswer: (a) => a,
    formatInput: formatOperands,
    arbitrary: () => operandsArbitrary(n),
    // Every word of n operands: 1000^n, so only n = 2 (10^6, through a batched interpreter) is feasible.
    ...(n === 2 ? { exhaustive: { symbols: MAX_OPERAND + 1, minLength: n, maxLength: n } } : {}),
    // Counterexample searches: small operands shrink best (a failure of the tree needs only one nonzero early operand).
    searchArbitrary: () => fc.array(fc.integer({ min: 0, max: MAX_OPERAND }), { minLength: n, maxLength: n }),
    checks,
    lockstep: {
      describe: `after loop t, acc at every column-tree position and the digit at the ${D} answer slots equal the algorithm's state after round t`,
      trace: 'loops',
      compare(nums, run) {
        const states = additionRounds(nums, loops);
        const trace = run.trace;
        if (trace === undefined) throw new Error(`${ID} lockstep needs a run with a trace`);
        const rows: { loop: number; expected: unknown; got: unknown }[] = [];
        for (let t = 1; t <= loops; t++) {
          const snap = trace.afterLoop(t);
          const columns = Array.from({ length: COLUMNS }, (_, j) => Array.from({ length: n + 1 }, (_, m) => readValue(snap.values[treePosition(j, m)], 'acc')));
          const got = { columns, slots: slots.map((at) => readValue(snap.values[at], 'digit')) };
          rows.push({ loop: t, expected: states[t], got });
        }
        return rows;
      },
    },
    weaken: (w) => loopsAndScaleWeakening(w, { none: 'as built', claim: `⌈log2 ${n}⌉ + 1 = ${roundCount(n)}`, scale: DEFAULT_FLOAT_SCALE }),
    extraLoopsStable: {
      holds: true,
      why:
        'after ⌈log2 n⌉ rounds every column tree is (0, …, 0, C_j), a fixed point of Algorithm 2 under +, and the slots ' +
        'recompute the same digits from the same C_j every loop (the MLP clears digit before writing it), so extra loops change nothing',
    },
  };
}

/** Position bits as a mathjs expression in n: ⌈log2 N⌉ with N = 4n + 1 + D, D = floor(log10(999n)) + 1. */
const P_FORMULA = 'ceil(log2(4*n + 2 + floor(log10(999*n))))';

export const naryAddition = defineConstruction<Operands, DigitsAnswer>({
  id: ID,
  title: 'n-ary addition, the full sum in decimal digits, in ⌈log2 n⌉ + 1 loops of a 2-layer block',
  theorem: 'Proposition (this project; the task of Section 4)',
  statement:
    'For 2 ≤ n ≤ 32, a block of two layers (three heads; two ReLU MLPs) looped ⌈log2 n⌉ + 1 times on the paper\'s tokens ' +
    '#a₁b₁c₁+…+aₙbₙcₙ=_…_ (D = floor(log10(999n)) + 1 answer slots, N = 4n + 1 + D positions, p = ⌈log2 N⌉) writes the D ' +
    'decimal digits of the full sum at the slots, most significant first. Each digit token is a leaf of its column\'s tree ' +
    '(units, tens, hundreds); in each loop every digit position reads its column at Algorithm 2\'s two sources ' +
    'max(2m−n−1, 0), max(2m−n, 0) by Lemma B.4 one-hot attention and the second MLP adds them (relu(x) = x on x ≥ 0), so ' +
    'after ⌈log2 n⌉ loops the last operand\'s digit positions hold the column sums C_0, C_1, C_2. In every loop each slot ' +
    'of digit k reads the three and, with L_k = Σ_{j ≤ min(k,2)} 10^j·C_j, the first MLP counts the carries ' +
    'q = floor(L_k/10^{k+1}) = Σ_a [L_k ≥ a] and the second writes digit = Σ_a [L_k − 10^{k+1}q ≥ a] (a step [x ≥ a] on ' +
    'integers is relu(x − a + 1) − relu(x − a); every unit gated to its slot by −(999n + 1)·notslot_k). Sizes: width ' +
    '7 + D + 4p, 3 heads of size 2p, MLP width max(1 + 2·Σ_k floor(Lmax_k/10^{k+1}), 5 + 2·Σ_k min(9, floor(Lmax_k/10^k))) ' +
    'with Lmax_k = n(10^{min(k,2)+1} − 1) — O(n), 187 at n = 32, not |Z_1000|² = 10^6 — and F_s with s = ⌈log2(1000n + 1)⌉ ' +
    'bits, the least with B_s ≥ 1000n, which bounds every partial sum.',
  params: PARAMS,
  // No paper formula exists for this task (paper-notes §4 gives only accuracies); these are the
  // proposition's own sizes, from the argument in the module comment, written in n alone.
  claimed: {
    layersPerBlock: '2',
    loops: 'ceil(log2(n)) + 1',
    width: `7 + floor(log10(999*n)) + 1 + 4*${P_FORMULA}`,
    mlpWidth:
      'max(1 + 2*(floor(9*n/10) + floor(99*n/100) + floor(999*n/1000) + floor(999*n/10000) + floor(999*n/100000)),' +
      ' 5 + 2*(min(9, 9*n) + min(9, floor(99*n/10)) + min(9, floor(999*n/100)) + min(9, floor(999*n/1000)) + min(9, floor(999*n/10000))))',
    heads: '3',
    headDim: `2*${P_FORMULA}`,
    bits: 'ceil(log2(1000*n + 1))',
  },
  verifyAt: [
    { params: {} },
    // n = 2: the least n (⌈log2 n⌉ = 1, 4 answer digits); n = 11: the least n with 5 answer digits.
    { params: { n: '2' } },
    { params: { n: '11' } },
    // An exact run at n = 32 takes 0.1–0.3 s (134 positions), so the paper-size setting draws fewer samples.
    { params: { n: '32' }, paper: 'Table 1: n-ary addition of n = 8, 16, 24 and 32 operands of 3 digits; 32 is the largest', samples: 40 },
  ],
  build(params) {
    return buildAddition(readParams(params));
  },
});
