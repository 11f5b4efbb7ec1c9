// Lemma B.4: exact one-hot attention to a chosen position.
//
// Every position i carries sbin(i) (its own code, the key side), sbin(t(i)) (the code of the
// position it wants to read, the query side) and a constant 1. One head with
//     query  q_i = sbin(t(i)) ⌢ 1_s,        key  k_j = B_s·(sbin(j) ⌢ −1_s),
// where ⌢ INTERLEAVES the two halves (code bit b, then constant b, for b = 0..s−1), scores
//     ⟨q_i, k_j⟩ = B_s·(⟨sbin(t(i)), sbin(j)⟩ − s) = −2·B_s·hamming(t(i), j),
// which is 0 at j = t(i) and ≤ −2B_s at every other j. B_s = 2^s − 2^{−s} is the largest value of
// the paper's fixed point F_s, so:
//   * exact arithmetic, hard attention: the unique best score is at t(i);
//   * F_s (fixed:s) with softmax: exp(0) = 1 and exp(−B_s) rounds to 0 (Lemma B.1), so the weights
//     are EXACTLY 1 at t(i) and 0 elsewhere — no approximation at all;
//   * float64 with softmax at scale 1: the target gets weight ≥ 1/(1 + (n−1)e^{−2B_s}) > 0.95.
//
// WHY INTERLEAVED. F_s saturates after every addition, and the score is a sum of 2s products of
// ±B_s. Interleaved, the partial sums after each pair (bit b, constant b) are 0 while the bits
// agree, and once one bit disagrees they sit at −B_s (−B_s − B_s saturates to −B_s; +B_s − B_s
// returns to 0, then −B_s again), so the F_s score is 0 or −B_s: still one-hot. Written as two
// plain blocks (all code bits, then all constants) the first half saturates at +B_s and the second
// drives every score, the target's included, to −B_s: for s ≥ 2 every exp rounds to 0 and softmax
// is 0/0 (`layout: 'concatenated'` builds this, to show it). This relies on the interpreter adding
// the products in query/key order, as simulators/forward.ts does.
//
// REQUIREMENT ON s. The codes must tell t(i) apart from every other position j ≤ i. The lemma's
// sufficient condition is 2^s ≥ n (s ≥ bitsFor(n) = max(1, ⌈log2 n⌉)): all positions get
// distinct codes. With fewer bits, positions x and x + 2^s share a code (an s-bit code keeps only
// x mod 2^s), the query matches two keys with score 0, and both hard attention and F_s softmax
// split the weight 1/2–1/2 between them: the copied vector is the average of two tokens, whose
// argmax is a tie (reported as null) whenever the two tokens differ. For the reader below,
// t(i) = max(i − k, 0), the first position that aliases is i* = 2^s + k (it wants 2^s and also
// matches 0) when k < 2^s, and i* = 2^s (it wants 0 and matches itself) when k ≥ 2^s; so the
// gadget is correct for every input exactly when n ≤ i*, and the shortest failing input has
// length i* + 1 (tests/gadgets.test.ts finds and shrinks it). Running a correctly built gadget at
// FEWER bits r < s does not break it (B_s saturates to B_r and exp(−B_r) still rounds to 0);
// running it at MORE bits r > s leaves the off-target scores unsaturated at −2B_s·hamming, and
// once e^{−2B_s}·2^r > 1/2 (r ≥ 4 for s = 1, r ≥ 10 for s = 2, r ≥ 22 for s = 3) their exp no
// longer rounds to 0: the weights are then only nearly one-hot (the answer stays right).
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { InputError, ModelError } from '../../common/errors.ts';
import { identity } from '../../simulators/matrix.ts';
import { type Head, type Layer, type Model, addStage, createHead, createLayer, createModel } from '../../simulators/model.ts';
import type { Rational } from '../../simulators/rational.ts';
import type { RunResult } from '../../simulators/result.ts';
import { type Selector, Space, space } from '../../simulators/space.ts';
import { bitsFor, embedConstantOne, embedPositionCodes } from '../codes.ts';
import { directions } from './units.ts';
import { exactFixedFloatChecks } from '../checks.ts';
import { type BuiltConstruction, type ClaimedSizes, type ParamSpec, defineConstruction, defineParams, orAuto, paramValues } from '../construction.ts';
import { echoItem, parseJsonArray } from '../input-parsing.ts';
import { readerAbstraction } from '../../certify/abstractions/reader.ts';

// ---------------------------------------------------------------- the reusable head

/** B_s = 2^s − 2^{−s}, the largest value of F_s, exactly. */
export function boundB(s: number): Rational {
  if (!Number.isInteger(s) || s < 1 || s > 26) throw new RangeError(`boundB: s must be a whole number of bits in 1..26, got ${s}`);
  const two = BigInt(2);
  return new Fraction(two ** BigInt(2 * s) - BigInt(1), two ** BigInt(s));
}

/** How the query/key halves are laid out in the head's space; only 'interleaved' is exact in F_s. */
export type OneHotLayout = 'interleaved' | 'concatenated';

/**
 * The named query/key directions of a one-hot head: `code(b)` carries bit b of the codes (query
 * sbin(t(i)), key B_s·sbin(j)), `one(b)` the constant that cancels it (query 1, key −B_s). A
 * variant that writes its own query or key (Theorem 5.1's erratum 2, "negative queries") names
 * these instead of spelling the labels.
 */
export const ONE_HOT_QK = {
  code: (b: number): string => `code.${b}`,
  one: (b: number): string => `one.${b}`,
} as const;

/**
 * The query/key space of a one-hot head: directions ONE_HOT_QK.code(b) (bit b of the codes) and
 * ONE_HOT_QK.one(b) (the constant that cancels it), interleaved (code.0, one.0, code.1, one.1, …)
 * or concatenated (code.0 … code.{s−1}, one.0 … one.{s−1}).
 */
export function oneHotQkSpace(s: number, layout: OneHotLayout = 'interleaved'): Space {
  const code = (b: number) => [ONE_HOT_QK.code(b), { size: 1, describe: `bit ${b} of sbin: target code (query) against B_s·position code (key)` }] as const;
  const one = (b: number) => [ONE_HOT_QK.one(b), { size: 1, describe: `constant for bit ${b}: 1 (query) against −B_s (key)` }] as const;
  const bits = Array.from({ length: s }, (_, b) => b);
  const order = layout === 'interleaved' ? bits.flatMap((b) => [code(b), one(b)]) : [...bits.map(code), ...bits.map(one)];
  return space(Object.fromEntries(order));
}

/**
 * One copy a one-hot head makes: `from`, read at the chosen position, is added into `to` at the
 * reading position. Each side is one subspace or a list of selectors (subspaces or single
 * directions, taken in order); the two sides cover the same number of directions.
 */
export interface OneHotCopy {
  /** The copy's value subspace in the head. */
  name: string;
  /** What the value subspace holds; default "<from> at the chosen position". */
  describe?: string;
  from: Selector | readonly Selector[];
  to: Selector | readonly Selector[];
}

interface OneHotHeadBase {
  name: string;
  role?: string;
  /** s: the codes in `query` and `key` have s bits (and the key carries B_s). */
  bits: number;
  /** Residual subspace (s directions) holding sbin(t(i), s): the code of the position to read. */
  query: Selector;
  /** Residual subspace (s directions) holding sbin(i, s): the position's own code. */
  key: Selector;
  /** Residual direction that is 1 at every position. */
  one: Selector;
  /** Default 'interleaved', the lemma's layout; 'concatenated' exists to show why. */
  layout?: OneHotLayout;
}

/**
 * A one-hot head copies either one subspace (`from` → `to`, value subspace `value`) or a list of
 * (from, to) `copies`, one value subspace each.
 */
export type OneHotHeadSpec = OneHotHeadBase &
  (
    | {
        /** Residual subspace read at the chosen position… */
        from: Selector;
        /** …and added into this one at the reading position (same size as `from`). */
        to: Selector;
        copies?: never;
      }
    | { copies: readonly OneHotCopy[]; from?: never; to?: never }
  );

/**
 * Writes a Lemma B.4 head into `layer` of `model`: position i attends to the unique position j ≤ i
 * whose `key` code equals its `query` code and adds that position's copies (`from`) into its own
 * (`to`). The head is hard attention (exact first); run it with withAttention(model, 'softmax')
 * under fixed:s for the lemma's exactly one-hot softmax. Returns the head (also pushed to layer.heads).
 */
export function addOneHotHead(model: Model, layer: Layer, spec: OneHotHeadSpec): Head {
  const s = spec.bits;
  const where = `one-hot head '${spec.name}'`;
  const residual = model.residual;
  for (const [field, sel] of [['query', spec.query], ['key', spec.key]] as const) {
    const r = residual.range(sel);
    if (r.size !== s) throw new ModelError(`${where}: ${field} subspace "${r.what}" has ${r.size} directions but the codes have s = ${s} bits`);
  }
  if (residual.range(spec.one).size !== 1) throw new ModelError(`${where}: one "${residual.range(spec.one).what}" must be a single direction`);
  const single = spec.copies === undefined;
  const copies: readonly OneHotCopy[] = spec.copies ?? [{ name: 'value', from: spec.from, to: spec.to }];
  if (copies.length === 0) throw new ModelError(`${where}: a head copies something; copies is empty`);
  const what = (side: Selector | readonly Selector[]) => (isSelector(side) ? residual.range(side).what : side.map((sel) => residual.range(sel).what).join(', '));
  const planned = copies.map((c) => {
    const from = sideDirections(model, c.from);
    const to = sideDirections(model, c.to);
    if (from.length !== to.length) {
      throw new ModelError(`${where}: ${single ? '' : `copy '${c.name}': `}from "${what(c.from)}" (${from.length}) and to "${what(c.to)}" (${to.length}) differ in size`);
    }
    return { copy: c, from, to };
  });
  const B = boundB(s);
  const head = createHead(
    residual,
    {
      name: spec.name,
      role: spec.role ?? `copies ${copies.map((c) => what(c.from)).join(', ')} from the position whose code is in ${residual.range(spec.query).what}`,
      kind: 'hard',
      qk: oneHotQkSpace(s, spec.layout ?? 'interleaved'),
      ov: space(Object.fromEntries(planned.map(({ copy, from }) => [copy.name, { size: from.length, describe: copy.describe ?? `${what(copy.from)} at the chosen position` }]))),
    },
    where,
  );
  const query = directions(model, spec.query);
  const key = directions(model, spec.key);
  for (let b = 0; b < s; b++) {
    head.W_Q.set(query[b], ONE_HOT_QK.code(b), 1);
    head.W_Q.set(spec.one, ONE_HOT_QK.one(b), 1);
    head.W_K.set(key[b], ONE_HOT_QK.code(b), B);
    head.W_K.set(spec.one, ONE_HOT_QK.one(b), B.neg());
  }
  for (const { copy, from, to } of planned) {
    from.forEach((sel, k) => head.W_V.set(sel, [copy.name, k], 1));
    to.forEach((sel, k) => head.W_O.set([copy.name, k], sel, 1));
  }
  layer.heads.push(head);
  return head;
}

const isSelector = (side: Selector | readonly Selector[]): side is Selector => typeof side === 'string' || (side.length === 2 && typeof side[1] === 'number');

/** A copy's side as single directions: a selector's own directions, or those of each listed selector in turn. */
function sideDirections(model: Model, side: Selector | readonly Selector[]): Selector[] {
  return isSelector(side) ? directions(model, side) : side.flatMap((sel) => directions(model, sel));
}

// ---------------------------------------------------------------- a token reader built on it

/** Tokens in, the token read at every position out (null where the readout is a tie). */
export type Tokens = number[];
export type ReadTokens = (number | null)[];

export interface ReaderSpec {
  /** Model name. */
  name: string;
  description: string;
  n: number;
  s: number;
  V: number;
  /** The position that position i reads; must satisfy 0 ≤ t(i) ≤ i. */
  target: (i: number) => number;
  /** Residual subspace that holds sbin(t(i)), and what it means. */
  queryName: string;
  queryDescribe: string;
  headName: string;
  /** The algorithm the reader is checked against (written from the definition, not from `target`). */
  reference: (tokens: Tokens) => ReadTokens;
  layout?: OneHotLayout;
  /** Float64 softmax scale for the third check. */
  floatScale?: number;
}

/**
 * A 1-layer, 1-head model that reads, at every position i, the token at position t(i):
 * residual tok(V) | pos(s) = sbin(i) | <query>(s) = sbin(t(i)) | one | out(V); readout at every
 * position from `out`. Positions are coded with wrap, so a model built with 2^s < n is built
 * anyway (its codes alias) and the checks show where it fails.
 */
export function buildReader(spec: ReaderSpec): BuiltConstruction<Tokens, ReadTokens> {
  const { n, s, V } = spec;
  for (let i = 0; i < n; i++) {
    const t = spec.target(i);
    if (!Number.isInteger(t) || t < 0 || t > i) throw new ModelError(`${spec.name}: position ${i} would read position ${t}; a causal head reads 0..${i}`);
  }
  const residual = space({
    tok: { size: V, describe: 'one-hot input token', labels: Array.from({ length: V }, (_, v) => `tok:${v}`) },
    pos: { size: s, describe: 'sbin(i): the position code (keys)' },
    [spec.queryName]: { size: s, describe: spec.queryDescribe },
    one: { size: 1, describe: 'constant 1' },
    out: { size: V, describe: 'one-hot token read from the chosen position', labels: Array.from({ length: V }, (_, v) => `out:${v}`) },
  });
  const model = createModel({
    name: spec.name,
    description: spec.description,
    vocab: Array.from({ length: V }, (_, v) => String(v)),
    residual,
    maxLen: n,
    readout: 'all',
  });
  model.W_E.write('vocab', 'tok', identity());
  embedPositionCodes(model, 'pos', s, (i) => i, { wrap: true });
  embedPositionCodes(model, spec.queryName, s, spec.target, { wrap: true });
  embedConstantOne(model, 'one');
  const layer = createLayer(`one-hot attention: position i reads the token at ${spec.queryName}`);
  addOneHotHead(model, layer, {
    name: spec.headName,
    bits: s,
    query: spec.queryName,
    key: 'pos',
    one: 'one',
    from: 'tok',
    to: 'out',
    layout: spec.layout,
  });
  addStage(model, [layer], 1);
  model.W_U.write('out', 'vocab', identity());

  const checks = exactFixedFloatChecks(model, {
    bits: s,
    fixedWhy: 'exactly one-hot: exp(−B_s) rounds to 0',
    floatScale: new Fraction(spec.floatScale ?? 1),
    floatWhy: 'target weight ≥ 1/(1+(n−1)e^{−2B_s})',
  });
  /** Why token t at position i is refused, or null: what encode and parseInput both say (without the name). */
  const tokenProblem = (t: unknown, i: number): string | null =>
    typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < V ? null : `token ${echoItem(t)} at position ${i} is outside the vocabulary 0..${V - 1}`;
  const checkTokens = (tokens: readonly number[]): void => {
    if (tokens.length < 1 || tokens.length > n) throw new InputError(`${spec.name}: an input has 1..${n} tokens, got ${tokens.length}`);
    tokens.forEach((t, i) => {
      const problem = tokenProblem(t, i);
      if (problem !== null) throw new InputError(`${spec.name}: ${problem}`);
    });
  };
  return {
    model,
    sizeScope: { n, s, V },
    bits: s,
    encode(input) {
      checkTokens(input);
      return [...input];
    },
    decode: (run: RunResult) => run.readouts.map((r) => r.token),
    reference: spec.reference,
    equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
    parseInput(text) {
      const tokens = parseJsonArray(text, {
        where: spec.name,
        expected: `tokens 0..${V - 1}`,
        example: '[0,1,2]',
        item: (t, i) => {
          const problem = tokenProblem(t, i);
          if (problem !== null) throw new Error(problem);
          return t as number;
        },
      });
      checkTokens(tokens);
      return tokens;
    },
    formatAnswer: (answer) => answer,
    formatInput: (input) => JSON.stringify(input),
    arbitrary: () => fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: n, size: 'max' }),
    exhaustive: { symbols: V, minLength: 1, maxLength: n },
    checks,
    abstraction: (m) =>
      readerAbstraction(m, { n, s, V, target: spec.target, queryName: spec.queryName, reference: spec.reference, claim: `out_i is the token at ${spec.queryName}(i): the lemma's claim is the rule itself` }),
    extraLoopsStable: {
      holds: true,
      why: 'the head reads only tok and the codes, which no loop changes, so every loop adds the same one-hot vector to out and its argmax stays',
    },
  };
}

// ---------------------------------------------------------------- parameters

export const N_PARAM = { name: 'n', describe: 'sequence length (positions 0..n−1)', default: '16', kind: 'int', min: 1, max: 1024 } as const satisfies ParamSpec;
export const V_PARAM = { name: 'V', describe: 'vocabulary size (tokens 0..V−1)', default: '4', kind: 'int', min: 1, max: 256 } as const satisfies ParamSpec;
/** Bits s: auto is bitsFor(n), the lemma's requirement (resolve with orAuto); a number is taken as given, even below it. */
export const S_PARAM = {
  name: 's',
  describe:
    'bits of the position codes and of F_s; auto = bitsFor(n) = max(1, ⌈log2 n⌉), the least with 2^s ≥ n (the lemma needs distinct codes). ' +
    'A smaller s is built anyway: its codes alias and the checks fail on long enough inputs',
  default: 'auto',
  kind: 'int',
  min: 1,
  max: 26,
  auto: 'bitsFor(n) = max(1, ⌈log2 n⌉)',
} as const satisfies ParamSpec;

// ---------------------------------------------------------------- the construction

/** t(i) = max(i − k, 0). */
export const offsetTarget = (k: number) => (i: number) => Math.max(i - k, 0);

/**
 * What Lemma B.4 states (and the SHIFT of Lemma B.9, a reader aimed at i − 1): ONE attention head
 * (paper-notes §3, Theorem 5.4: "exact one-hot attention to a chosen position (Lemma B.4): query
 * `sbin(i) ⌢ 1_s`, key `B_s·(sbin(j) ⌢ −1_s)`"), so one layer, no MLP, a query/key of 2s; and s the
 * bits of `sbin_s` codes of the n positions 0..n − 1 (§2: `sbin_s(x) ∈ {±1}^s` is the signed binary
 * code of an integer x), i.e. 2^s ≥ n: s = ⌈log2 n⌉ (at least 1). These are the lemma's numbers in
 * n, never the s a build was given: `--param s=…` above them shows as an excess. The lemma sizes no
 * width (the residual is the caller's) and no value (it copies whatever the caller names).
 */
export const READER_CLAIMS: ClaimedSizes = {
  layersPerBlock: '1',
  loops: '1',
  heads: '1',
  headDim: '2*max(1, ceil(log2(n)))',
  mlpWidth: '0',
  bits: 'max(1, ceil(log2(n)))',
};

export const LAYOUTS = ['interleaved', 'concatenated'] as const;

const PARAMS = defineParams([
  N_PARAM,
  { name: 'k', describe: 'offset: position i reads position max(i − k, 0)', default: '2', kind: 'int', min: 0, max: 1024 },
  S_PARAM,
  V_PARAM,
  {
    name: 'layout',
    describe: 'query/key layout: interleaved (the lemma) or concatenated (two plain blocks; fails in F_s for s ≥ 2 because partial sums saturate)',
    default: 'interleaved',
    kind: 'choice',
    values: LAYOUTS,
  },
]);

export const lemmaB4 = defineConstruction<Tokens, ReadTokens>({
  id: 'lemma-b4',
  title: 'Exact one-hot attention to a chosen position',
  theorem: 'Lemma B.4',
  statement:
    'With s-bit signed binary position codes and 2^s ≥ n, one attention head with query sbin(t(i)) ⌢ 1_s and key ' +
    'B_s·(sbin(j) ⌢ −1_s) (⌢ interleaving the halves, B_s = 2^s − 2^{−s}) scores 0 at j = t(i) and at most −2B_s at every ' +
    'other j, so hard attention picks t(i) and, in the fixed point F_s, softmax weights are exactly 1 at t(i) and 0 elsewhere ' +
    '(exp(−B_s) rounds to 0). Here every position i reads the token at t(i) = max(i − k, 0), with t(i) embedded as ' +
    'sbin(t(i)) through the position embedding.',
  params: PARAMS,
  claimed: READER_CLAIMS,
  deviations:
    'Claims are the lemma\'s: one head, no MLP, query/key 2s with s = ⌈log2 n⌉ (2^s ≥ n, distinct codes for the n ' +
    'positions). The value carries the copied one-hot token, so the head size is max(2s, V): above the claim when V > 2s. ' +
    'A build given more bits than the lemma needs (`--param s=…`) exceeds the claimed bits and head size; one given fewer ' +
    'is below them, and its codes alias (the checks fail on inputs longer than 2^s + k). The lemma states no width: the ' +
    'harness\'s is tok(V), sbin(i)(s), sbin(t(i))(s), a constant 1, out(V) = 2V + 2s + 1, shown unclaimed.',
  verifyAt: [
    { params: {} },
    { params: { layout: 'concatenated' }, fails: 'two plain blocks: the partial sums of the score saturate in F_s (s ≥ 2), so the fixed:s softmax has no weight left' },
  ],
  certifyAt: [
    { params: {} },
    { params: { n: '256', V: '8', k: '3' } },
    { params: { n: '1024', V: '4', k: '7' } },
    { params: { n: '12', s: '3' }, fails: '3-bit codes alias from position 2^3 + 2 = 10' },
  ],
  build(params) {
    const { n, k, V, s: bits, layout } = paramValues('lemma-b4', PARAMS, params);
    const s = orAuto(bits, () => bitsFor(n));
    const built = buildReader({
      name: `lemma-b4 n=${n} k=${k} s=${s} V=${V}${layout === 'concatenated' ? ' (concatenated)' : ''}`,
      description: `position i reads the token at max(i − ${k}, 0) by exact one-hot attention on ${s}-bit codes`,
      n,
      s,
      V,
      target: offsetTarget(k),
      queryName: 'tgt',
      queryDescribe: `sbin(max(i − ${k}, 0)): the code of the position to read (queries)`,
      headName: 'read',
      reference: (x) => x.map((_, i) => x[Math.max(i - k, 0)]),
      layout,
    });
    built.sizeScope = { ...built.sizeScope, k };
    return built;
  },
});

/**
 * The shortest input length on which the reader t(i) = max(i − k, 0) built with s bits fails:
 * 2^s + k + 1 when k < 2^s, else 2^s + 1 (see the module comment). It is correct for every input
 * of length at most this minus one.
 */
export function firstAliasingLength(s: number, k: number): number {
  const size = 2 ** s;
  return k < size ? size + k + 1 : size + 1;
}
