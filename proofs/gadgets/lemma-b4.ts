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
import { InputError, ModelError, UsageError } from '../../common/errors.ts';
import { identity } from '../../simulators/matrix.ts';
import { type Head, type Layer, type Model, addStage, createHead, createLayer, createModel, withAttention } from '../../simulators/model.ts';
import type { Rational } from '../../simulators/rational.ts';
import type { RunResult } from '../../simulators/result.ts';
import { type Selector, Space, space } from '../../simulators/space.ts';
import { bitsFor, embedConstantOne, embedPositionCodes } from '../codes.ts';
import type { Built, Check, ClaimedSizes, Construction, ParamSpec, Params } from '../construction.ts';
import { assertJsonDepth } from '../../common/json-depth.ts';

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
 * The query/key space of a one-hot head: directions `code.b` (bit b of the codes) and `one.b`
 * (the constant that cancels it), interleaved (code.0, one.0, code.1, one.1, …) or concatenated
 * (code.0 … code.{s−1}, one.0 … one.{s−1}).
 */
export function oneHotQkSpace(s: number, layout: OneHotLayout = 'interleaved'): Space {
  const code = (b: number) => [`code.${b}`, { size: 1, describe: `bit ${b} of sbin: target code (query) against B_s·position code (key)` }] as const;
  const one = (b: number) => [`one.${b}`, { size: 1, describe: `constant for bit ${b}: 1 (query) against −B_s (key)` }] as const;
  const bits = Array.from({ length: s }, (_, b) => b);
  const order = layout === 'interleaved' ? bits.flatMap((b) => [code(b), one(b)]) : [...bits.map(code), ...bits.map(one)];
  return space(Object.fromEntries(order));
}

export interface OneHotHeadSpec {
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
  /** Residual subspace read at the chosen position… */
  from: Selector;
  /** …and added into this one at the reading position (same size as `from`). */
  to: Selector;
  /** Default 'interleaved', the lemma's layout; 'concatenated' exists to show why. */
  layout?: OneHotLayout;
}

/**
 * Writes a Lemma B.4 head into `layer` of `model`: position i attends to the unique position j ≤ i
 * whose `key` code equals its `query` code and adds that position's `from` vector into its `to`
 * subspace. The head is hard attention (exact first); run it with withAttention(model, 'softmax')
 * under fixed:s for the lemma's exactly one-hot softmax. Returns the head (also pushed to layer.heads).
 */
export function addOneHotHead(model: Model, layer: Layer, spec: OneHotHeadSpec): Head {
  const s = spec.bits;
  const where = `one-hot head '${spec.name}'`;
  const size = (sel: Selector) => model.residual.range(sel);
  for (const [field, sel] of [['query', spec.query], ['key', spec.key]] as const) {
    const r = size(sel);
    if (r.size !== s) throw new ModelError(`${where}: ${field} subspace "${r.what}" has ${r.size} directions but the codes have s = ${s} bits`);
  }
  if (size(spec.one).size !== 1) throw new ModelError(`${where}: one "${size(spec.one).what}" must be a single direction`);
  const from = size(spec.from);
  const to = size(spec.to);
  if (from.size !== to.size) throw new ModelError(`${where}: from "${from.what}" (${from.size}) and to "${to.what}" (${to.size}) differ in size`);
  const B = boundB(s);
  const head = createHead(
    model.residual,
    {
      name: spec.name,
      role: spec.role ?? `copies ${from.what} from the position whose code is in ${size(spec.query).what}`,
      kind: 'hard',
      qk: oneHotQkSpace(s, spec.layout ?? 'interleaved'),
      ov: space({ value: { size: from.size, describe: `${from.what} at the chosen position` } }),
    },
    where,
  );
  const bit = (sel: Selector, b: number) => direction(model.residual, sel, b);
  for (let b = 0; b < s; b++) {
    head.W_Q.set(bit(spec.query, b), `code.${b}`, 1);
    head.W_Q.set(spec.one, `one.${b}`, 1);
    head.W_K.set(bit(spec.key, b), `code.${b}`, B);
    head.W_K.set(spec.one, `one.${b}`, B.neg());
  }
  head.W_V.write(spec.from, 'value', identity());
  head.W_O.write('value', spec.to, identity());
  layer.heads.push(head);
  return head;
}

/** Direction b of the block a selector covers, as a selector of its own subspace ("tgt[2]"). */
function direction(sp: Space, sel: Selector, b: number): Selector {
  const at = sp.range(sel).offset + b;
  const part = sp.parts.find((p) => p.offset <= at && at < p.offset + p.size)!;
  return [part.name, at - part.offset];
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
export function buildReader(spec: ReaderSpec): Built<Tokens, ReadTokens> {
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

  const floatScale = spec.floatScale ?? 1;
  const checks: Check[] = [
    { label: 'exact, hard attention', interpreter: 'exact', model },
    { label: `fixed:${s}, softmax (exactly one-hot: exp(−B_s) rounds to 0)`, interpreter: `fixed:${s}`, model: withAttention(model, 'softmax') },
    {
      label: `float64, softmax at scale ${floatScale} (target weight ≥ 1/(1+(n−1)e^{−2B_s}))`,
      interpreter: 'float64',
      model: withAttention(model, 'softmax', floatScale),
    },
  ];
  const checkTokens = (tokens: readonly number[]): void => {
    if (tokens.length < 1 || tokens.length > n) throw new InputError(`${spec.name}: an input has 1..${n} tokens, got ${tokens.length}`);
    tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new InputError(`${spec.name}: token ${t} at position ${i} is outside the vocabulary 0..${V - 1}`);
    });
  };
  return {
    model,
    scope: { n, s, V },
    bits: s,
    encode(input) {
      checkTokens(input);
      return [...input];
    },
    decode: (run: RunResult) => run.readouts.map((r) => r.token),
    reference: spec.reference,
    equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
    parseInput(text) {
      assertJsonDepth(text);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new InputError(`${spec.name}: the input must be a JSON array of tokens 0..${V - 1}, like [0,1,2]; got ${JSON.stringify(text)}`);
      }
      if (!Array.isArray(value)) throw new InputError(`${spec.name}: the input must be a JSON array of tokens 0..${V - 1}, like [0,1,2]`);
      checkTokens(value as number[]);
      return value as number[];
    },
    formatAnswer: (answer) => answer,
    formatInput: (input) => JSON.stringify(input),
    arbitrary: () => fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: n, size: 'max' }),
    exhaustive: { symbols: V, minLength: 1, maxLength: n },
    checks,
    extraLoopsStable: {
      holds: true,
      why: 'the head reads only tok and the codes, which no loop changes, so every loop adds the same one-hot vector to out and its argmax stays',
    },
  };
}

// ---------------------------------------------------------------- parameters

/** A whole-number parameter in [min, max]; the error names the parameter and its range. */
export function intParam(id: string, params: Params, name: string, min: number, max: number): number {
  const raw = params[name];
  const v = typeof raw === 'number' ? raw : Number(raw);
  if (raw === undefined || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`parameter ${name} of ${id} must be a whole number in ${min}..${max}, got ${raw === undefined ? '(missing)' : String(raw)}`);
  }
  return v;
}

/** Bits s: "auto" (or absent) is bitsFor(n), the lemma's requirement; a number is taken as given, even below it. */
export function bitsParam(id: string, params: Params, n: number): number {
  const raw = params.s;
  if (raw === undefined || raw === 'auto') return bitsFor(n);
  return intParam(id, params, 's', 1, 26);
}

export const N_PARAM: ParamSpec = { name: 'n', describe: 'sequence length (positions 0..n−1)', default: '16', kind: 'int', min: 1, max: 1024 };
export const V_PARAM: ParamSpec = { name: 'V', describe: 'vocabulary size (tokens 0..V−1)', default: '4', kind: 'int', min: 1, max: 256 };
export const S_PARAM: ParamSpec = {
  name: 's',
  describe:
    'bits of the position codes and of F_s; auto = bitsFor(n) = max(1, ⌈log2 n⌉), the least with 2^s ≥ n (the lemma needs distinct codes). ' +
    'A smaller s is built anyway: its codes alias and the checks fail on long enough inputs',
  default: 'auto',
  kind: 'text',
  forms: 'auto, or a whole number 1..26',
};

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

export const lemmaB4: Construction<Tokens, ReadTokens> = {
  id: 'lemma-b4',
  title: 'Exact one-hot attention to a chosen position',
  theorem: 'Lemma B.4',
  statement:
    'With s-bit signed binary position codes and 2^s ≥ n, one attention head with query sbin(t(i)) ⌢ 1_s and key ' +
    'B_s·(sbin(j) ⌢ −1_s) (⌢ interleaving the halves, B_s = 2^s − 2^{−s}) scores 0 at j = t(i) and at most −2B_s at every ' +
    'other j, so hard attention picks t(i) and, in the fixed point F_s, softmax weights are exactly 1 at t(i) and 0 elsewhere ' +
    '(exp(−B_s) rounds to 0). Here every position i reads the token at t(i) = max(i − k, 0), with t(i) embedded as ' +
    'sbin(t(i)) through the position embedding.',
  params: [
    N_PARAM,
    { name: 'k', describe: 'offset: position i reads position max(i − k, 0)', default: '2', kind: 'int', min: 0, max: 1024 },
    S_PARAM,
    V_PARAM,
    {
      name: 'layout',
      describe: 'query/key layout: interleaved (the lemma) or concatenated (two plain blocks; fails in F_s for s ≥ 2 because partial sums saturate)',
      default: 'interleaved',
      kind: 'text',
      forms: 'interleaved, concatenated',
    },
  ],
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
  build(params) {
    const id = 'lemma-b4';
    const n = intParam(id, params, 'n', 1, 1024);
    const k = intParam(id, params, 'k', 0, 1024);
    const V = intParam(id, params, 'V', 1, 256);
    const s = bitsParam(id, params, n);
    const layout = params.layout ?? 'interleaved';
    if (layout !== 'interleaved' && layout !== 'concatenated') {
      throw new UsageError(`parameter layout of ${id} must be interleaved or concatenated, got "${String(layout)}"`);
    }
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
    built.scope = { ...built.scope, k };
    return built;
  },
};

/**
 * The shortest input length on which the reader t(i) = max(i − k, 0) built with s bits fails:
 * 2^s + k + 1 when k < 2^s, else 2^s + 1 (see the module comment). It is correct for every input
 * of length at most this minus one.
 */
export function firstAliasingLength(s: number, k: number): number {
  const size = 2 ** s;
  return k < size ? size + k + 1 : size + 1;
}
