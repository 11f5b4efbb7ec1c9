/**
 * p-hop induction (Definition A.1) and the pointer-doubling algorithm behind Corollary 5.3.
 *
 * Indexing. The paper's tokens are 1-indexed, v_1..v_n; here they arrive as a JavaScript array
 * `v` with v[i−1] = v_i. Positions are 0..n, where position 0 is the start slot and the pointer
 * value 0 means ⊥ ("no such position"). Tokens are compared with ===; any integers will do, and
 * the samplers use 0..alphabet−1.
 *
 * Definitions, restated:
 *   find_1(v, i) = max({0} ∪ { j ≤ i : v_{j−1} = v_i })   (find_1(v, 0) = 0)
 * v_0 does not exist, so only j ∈ 2..i can qualify: find_1(v, i) is one past the most recent
 * earlier occurrence of v_i among v_1..v_{i−1}, or 0 when there is none. j = i is allowed, so a
 * repeated pair v_{i−1} = v_i makes i a fixed point (find_1(v, i) = i).
 *   find_p(v, i) = find_1(v, find_{p−1}(v, i)), with find_0(v, i) = i,
 *   hop_p(v) = v_{find_p(v, n)}, or ⊥ (null here) when find_p(v, n) = 0.
 *
 * A fact the sampler relies on: a fixed point can only be reached from itself. If
 * find_1(v, i) = c < i and find_1(v, c) = c, then v_{c−1} = v_i and v_{c−1} = v_c, so v_c = v_i
 * and j = c + 1 ≤ i would qualify for i, contradicting the maximum. So the chain from n either
 * stays at n (v_{n−1} = v_n) or strictly decreases until it reaches 0.
 */
import fc from 'fast-check';
import { randomInt, type Rng } from './random.ts';

function assertTokens(v: readonly number[]): void {
  v.forEach((x, k) => {
    if (!Number.isInteger(x)) throw new TypeError(`p-hop: token v_${k + 1} = ${x} is not an integer`);
  });
}

function assertPosition(v: readonly number[], i: number): void {
  if (!Number.isInteger(i) || i < 0 || i > v.length) {
    throw new RangeError(`p-hop: position i = ${i} is outside 0..${v.length} (n = ${v.length})`);
  }
}

function assertHops(p: number): void {
  if (!Number.isInteger(p) || p < 0) throw new RangeError(`p-hop: p must be an integer ≥ 0, got ${p}`);
}

/** find_1(v, i), straight from the definition: scan j = i, i−1, …, 2. */
export function find1(v: readonly number[], i: number): number {
  assertPosition(v, i);
  for (let j = i; j >= 2; j--) {
    if (v[j - 2] === v[i - 1]) return j;
  }
  return 0;
}

/** find_1(v, i) for every position i = 0..n in one pass (last occurrence of each token + 1). */
export function find1All(v: readonly number[]): number[] {
  assertTokens(v);
  const out = [0];
  const lastSeen = new Map<number, number>();
  for (let i = 1; i <= v.length; i++) {
    const previous = lastSeen.get(v[i - 1]);
    out.push(previous === undefined ? 0 : previous + 1);
    lastSeen.set(v[i - 1], i);
  }
  return out;
}

/** find_p(v, i) by applying find_1 p times (the brute-force reference). */
export function findP(v: readonly number[], p: number, i: number): number {
  assertHops(p);
  let position = i;
  assertPosition(v, position);
  for (let hop = 0; hop < p && position !== 0; hop++) position = find1(v, position);
  return position;
}

/** find_p(v, i) for every i = 0..n, iterating the one-pass find_1 table. */
export function findPAll(v: readonly number[], p: number): number[] {
  assertHops(p);
  const f = find1All(v);
  return f.map((_, i) => {
    let position = i;
    for (let hop = 0; hop < p && position !== 0; hop++) position = f[position];
    return position;
  });
}

/** hop_p(v) = v_{find_p(v, n)}, or null for ⊥. */
export function hopP(v: readonly number[], p: number): number | null {
  assertTokens(v);
  const target = findP(v, p, v.length);
  return target === 0 ? null : v[target - 1];
}

/**
 * hop_p of every prefix: entry i (i = 0..n, indexed like the pointer arrays) is hop_p(v_1..v_i),
 * what a model reading out at position i would have to answer. Entry 0 is always null.
 */
export function hopAllPositions(v: readonly number[], p: number): (number | null)[] {
  return findPAll(v, p).map((target) => (target === 0 ? null : v[target - 1]));
}

// ---------------------------------------------------------------------------------------------
// Pointer doubling
// ---------------------------------------------------------------------------------------------

/** Pointers over positions 0..n; value 0 is ⊥, and position 0 always points to 0. */
export interface PointerState {
  /** a_i = f^(2^l)(i) before round l (f = find_1). */
  a: number[];
  /** b_i = f^(p mod 2^l)(i) before round l: the bits of p folded so far. */
  b: number[];
}

export interface PointerDoubling {
  /** Layer 1: position i holds v_{i−1}; null at positions 0 and 1 (v_0 does not exist). */
  previous: (number | null)[];
  /** Layer 2: f(i) = find_1(v, i) over positions 0..n. */
  f: number[];
  /** rounds[0] is (a = f, b = identity); rounds[l + 1] is the state after round l. */
  rounds: PointerState[];
  /** b after the last round: find_p(v, i) for every i = 0..n. */
  answer: number[];
}

/** Rounds of pointer doubling: the bit length of p, ⌊log2 p⌋ + 1 (0 for p = 0). */
export function pointerDoublingRoundCount(p: number): number {
  assertHops(p);
  let rounds = 0;
  while (2 ** rounds <= p) rounds++;
  return rounds;
}

/**
 * The pointer-doubling reference for Corollary 5.3, step by step as the looped model computes it.
 *
 * Layers 1 and 2 build f = find_1: layer 1 copies v_{i−1} to position i, layer 2 is a content
 * search (query v_i, key v_{j−1} for j ≤ i, ties to the largest j, the start slot answering 0).
 * Then, for l = 0, 1, …, ⌊log2 p⌋, each position reads at the single position a_i:
 *     b_i ← b[a_i] when bit l of p is set,        a_i ← a[a_i],
 * both from the old arrays. Bits are folded from the least significant up. Correctness: if
 * a = f^(2^l) and b = f^B with B = p mod 2^l, then b[a_i] = f^B(f^(2^l)(i)) = f^(B + 2^l)(i) and
 * a[a_i] = f^(2^(l+1))(i). Folding b[a_i] rather than a[b_i] is what lets one positional read at
 * a_i serve both updates; it gives the same pointer because powers of one map commute,
 * f^B ∘ f^(2^l) = f^(2^l) ∘ f^B = f^(B + 2^l), so the order of the bits does not matter.
 * Position 0 is absorbing (f(0) = 0), which is why ⊥ stays ⊥.
 */
export function pointerDoublingRounds(v: readonly number[], p: number): PointerDoubling {
  assertTokens(v);
  assertHops(p);
  const n = v.length;
  const token = (i: number): number => v[i - 1];
  const previous: (number | null)[] = Array.from({ length: n + 1 }, (_, i) => (i >= 2 ? token(i - 1) : null));
  const f: number[] = [0];
  for (let i = 1; i <= n; i++) {
    let best = 0;
    for (let j = 1; j <= i; j++) if (previous[j] === token(i)) best = j;
    f.push(best);
  }
  const rounds: PointerState[] = [{ a: f.slice(), b: Array.from({ length: n + 1 }, (_, i) => i) }];
  const total = pointerDoublingRoundCount(p);
  for (let l = 0; l < total; l++) {
    const { a, b } = rounds[rounds.length - 1];
    const bitSet = Math.floor(p / 2 ** l) % 2 === 1;
    rounds.push({
      a: a.map((target) => a[target]),
      b: bitSet ? a.map((target) => b[target]) : b.slice(),
    });
  }
  return { previous, f, rounds, answer: rounds[rounds.length - 1].b };
}

// ---------------------------------------------------------------------------------------------
// Samplers
// ---------------------------------------------------------------------------------------------

function assertSamplerSizes(n: number, alphabet: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`p-hop sampler: n must be an integer ≥ 0, got ${n}`);
  if (!Number.isInteger(alphabet) || alphabet < 1) {
    throw new RangeError(`p-hop sampler: alphabet must be an integer ≥ 1, got ${alphabet}`);
  }
}

/** n tokens, each uniform in 0..alphabet−1. */
export function uniformPHop(rng: Rng, n: number, alphabet: number): number[] {
  assertSamplerSizes(n, alphabet);
  return Array.from({ length: n }, () => randomInt(rng, alphabet));
}

/** Smallest n for which p hops can exist: n ≥ 1 for p = 0, n ≥ 2 otherwise (find_1(v, 1) = 0). */
export function minLengthForHops(p: number): number {
  assertHops(p);
  return p === 0 ? 1 : 2;
}

/**
 * Overwrites `base` so that the hop chain from n is exactly n > chain[0] > … > chain[p−1], i.e.
 * find_k(v, n) = chain[k−1]. Needs alphabet ≥ 2 and chain positions in 2..n−1 (so n ≥ p + 2).
 *
 * Write c_0 = n, c_k = chain[k−1] and t_k for the token at c_k. find_1(v, c_k) = c_{k+1} holds
 * exactly when v_{c_{k+1}−1} = t_k and t_k does not occur in the interval c_{k+1}..c_k−1. So:
 * t_0 = v_n is kept; the interval of hop k is cleared of t_k (an offending token x becomes
 * (x + 1) mod alphabet — a small bias this fallback accepts); c_{k+1} gets t_{k+1} and c_{k+1}−1
 * gets t_k. t_{k+1} keeps the base token at c_{k+1} unless that equals t_k; when the interval of
 * hop k is the single position c_{k+1} = c_k − 1, that position must carry both t_{k+1} and
 * t_{k−1}, so t_{k+1} = t_{k−1} (which differs from t_k by induction).
 */
export function plantHopChain(base: readonly number[], chain: readonly number[], alphabet: number): number[] {
  const n = base.length;
  assertSamplerSizes(n, alphabet);
  if (alphabet < 2) throw new RangeError('plantHopChain: a strictly decreasing chain needs alphabet ≥ 2');
  base.forEach((x, k) => {
    if (!Number.isInteger(x) || x < 0 || x >= alphabet) {
      throw new RangeError(`plantHopChain: base token v_${k + 1} = ${x} is outside 0..${alphabet - 1}`);
    }
  });
  const c = [n, ...chain];
  chain.forEach((position, k) => {
    if (!Number.isInteger(position) || position < 2 || position >= c[k]) {
      throw new RangeError(
        `plantHopChain: chain[${k}] = ${position} must be an integer with 2 ≤ chain[${k}] < ${c[k]} (strictly decreasing from n = ${n})`,
      );
    }
  });
  const v = base.slice();
  const get = (i: number): number => v[i - 1];
  const set = (i: number, x: number): void => {
    v[i - 1] = x;
  };
  const p = chain.length;
  const t = [get(n)];
  for (let k = 0; k < p; k++) {
    if (k >= 1 && c[k + 1] === c[k] - 1) t.push(t[k - 1]);
    else {
      const own = get(c[k + 1]);
      t.push(own !== t[k] ? own : (t[k] + 1) % alphabet);
    }
  }
  for (let k = 0; k < p; k++) {
    for (let i = c[k + 1]; i <= c[k] - 1; i++) if (get(i) === t[k]) set(i, (t[k] + 1) % alphabet);
  }
  for (let k = 1; k <= p; k++) {
    set(c[k], t[k]);
    set(c[k] - 1, t[k - 1]);
  }
  return v;
}

/**
 * Returns `base` itself when find_p(base, n) ≠ 0; otherwise repairs it: plants the strictly
 * decreasing `chain` when one fits (n ≥ p + 2, alphabet ≥ 2), else makes n a fixed point by
 * copying v_n into v_{n−1} (the only way p hops can exist when n < p + 2, by the fact above).
 */
function ensureHops(base: number[], p: number, alphabet: number, chain: readonly number[]): number[] {
  const n = base.length;
  if (findP(base, p, n) !== 0) return base;
  if (alphabet >= 2 && n >= p + 2) return plantHopChain(base, chain, alphabet);
  const v = base.slice();
  v[n - 2] = v[n - 1];
  return v;
}

/** p distinct positions from 2..n−1 in decreasing order (partial Fisher–Yates). */
function randomChain(rng: Rng, n: number, p: number): number[] {
  const pool = Array.from({ length: Math.max(n - 2, 0) }, (_, k) => k + 2);
  const count = Math.min(p, pool.length);
  for (let k = 0; k < count; k++) {
    const pick = k + randomInt(rng, pool.length - k);
    [pool[k], pool[pick]] = [pool[pick], pool[k]];
  }
  return pool.slice(0, count).sort((x, y) => y - x);
}

/**
 * The paper's p-hop data (Section 4: alphabet 4, n = 256, p ∈ {16, 32}) is "sampled so that p
 * hops always exist", i.e. find_p(v, n) ≠ 0. This sampler draws uniform sequences and keeps the
 * first that qualifies, so an accepted sample has exactly the uniform distribution conditioned on
 * the event. In the paper's regime the event is nearly certain (a hop moves back about `alphabet`
 * positions, so p hops need about p·alphabet ≪ n). After `maxAttempts` failures (default 100;
 * 0 forces the fallback) it repairs the last draw with plantHopChain along a uniformly random
 * chain, or, when n < p + 2, by making n a fixed point. Throws when no sequence can qualify
 * (n < 2 with p ≥ 1, or n = 0).
 *
 * Beware the fixed point: under Definition A.1 a sequence with v_{n−1} = v_n has find_p(v, n) = n
 * for every p, so hop_p(v) = v_n trivially; a uniform draw does that with probability
 * 1/alphabet (a quarter of the paper's samples, if the paper sampled this way). `nonTrivial: true`
 * rejects those too, so the chain from n strictly decreases for p ≥ 1 (needs n ≥ p + 2 and
 * alphabet ≥ 2).
 */
export function paperPHopSampler(
  rng: Rng,
  n: number,
  p: number,
  alphabet = 4,
  options: { maxAttempts?: number; nonTrivial?: boolean } = {},
): number[] {
  assertSamplerSizes(n, alphabet);
  assertHops(p);
  if (n < minLengthForHops(p)) {
    throw new RangeError(`paperPHopSampler: p = ${p} hops cannot exist in n = ${n} tokens; need n ≥ ${minLengthForHops(p)}`);
  }
  const maxAttempts = options.maxAttempts ?? 100;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new RangeError(`paperPHopSampler: maxAttempts must be an integer ≥ 0, got ${maxAttempts}`);
  }
  const nonTrivial = (options.nonTrivial ?? false) && p >= 1;
  if (nonTrivial && (n < p + 2 || alphabet < 2)) {
    throw new RangeError(`paperPHopSampler: nonTrivial p = ${p} hops need n ≥ ${p + 2} and alphabet ≥ 2, got n = ${n}, alphabet = ${alphabet}`);
  }
  const accept = (v: number[]): boolean => findP(v, p, n) !== 0 && !(nonTrivial && isFixedPointAtEnd(v));
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const v = uniformPHop(rng, n, alphabet);
    if (accept(v)) return v;
  }
  const base = uniformPHop(rng, n, alphabet);
  const chain = randomChain(rng, n, p);
  return nonTrivial ? plantHopChain(base, chain, alphabet) : ensureHops(base, p, alphabet, chain);
}

/** True when v_{n−1} = v_n, i.e. n is a fixed point of find_1 and every hop_p(v) is v_n. */
export function isFixedPointAtEnd(v: readonly number[]): boolean {
  const n = v.length;
  return n >= 2 && v[n - 2] === v[n - 1];
}

export interface PHopInstance {
  v: number[];
  p: number;
  alphabet: number;
}

type IntSpec = number | { min: number; max: number };

function rangeOf(what: string, spec: IntSpec, lowest: number): { min: number; max: number } {
  const range = typeof spec === 'number' ? { min: spec, max: spec } : spec;
  if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || range.min < lowest || range.max < range.min) {
    throw new RangeError(`pHopArbitrary: ${what} must be integers with ${lowest} ≤ min ≤ max, got ${range.min}..${range.max}`);
  }
  return range;
}

/**
 * p-hop instances for property tests; n, p and alphabet are each fixed or a { min, max } range.
 * With `guaranteed`, a drawn sequence without p hops is repaired exactly as in the sampler's
 * fallback, along a chain that fast-check draws too, so failures still shrink (towards short,
 * all-zero sequences, which have hops through the fixed point at n).
 */
export function pHopArbitrary(options: {
  n: IntSpec;
  p: IntSpec;
  alphabet: IntSpec;
  guaranteed?: boolean;
}): fc.Arbitrary<PHopInstance> {
  const nRange = rangeOf('n', options.n, 0);
  const pRange = rangeOf('p', options.p, 0);
  const alphabetRange = rangeOf('alphabet', options.alphabet, 1);
  const guaranteed = options.guaranteed ?? false;
  if (guaranteed && nRange.min < minLengthForHops(pRange.max)) {
    throw new RangeError(
      `pHopArbitrary: guaranteed hops need n ≥ ${minLengthForHops(pRange.max)} for p up to ${pRange.max}, but n can be ${nRange.min}`,
    );
  }
  const sizes = fc.record({
    n: fc.integer(nRange),
    p: fc.integer(pRange),
    alphabet: fc.integer(alphabetRange),
  });
  return sizes.chain(({ n, p, alphabet }) => {
    const tokens = fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { minLength: n, maxLength: n });
    if (!guaranteed) return tokens.map((v) => ({ v, p, alphabet }));
    const chainLength = n >= p + 2 ? p : 0;
    const chain = fc.uniqueArray(fc.integer({ min: 2, max: Math.max(n - 1, 2) }), {
      minLength: chainLength,
      maxLength: chainLength,
    });
    return fc
      .tuple(tokens, chain)
      .map(([base, positions]) => ({ v: ensureHops(base, p, alphabet, [...positions].sort((x, y) => y - x)), p, alphabet }));
  });
}
