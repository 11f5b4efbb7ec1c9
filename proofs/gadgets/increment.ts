// Lemma B.10: binary increment of an s-bit counter, width O(s), constant depth.
//
// BIT ORDER (erratum 6: the paper's Lemmas B.10 and B.11 disagree; this project uses ONE order,
// proofs/codes.ts): the counter is sbin(c, s), index b holds bit b of c, LEAST SIGNIFICANT FIRST,
// +1 for a set bit and −1 for a clear one. So sbin(6, 3) = [−1, +1, +1]. Option bitOrder
// 'msb-first' runs the same units on the reversed directions (for erratum 6 only: on LSB-first
// codes it computes rev(rev(c) + 1); tests/gadget-erratum-6-bit-order.test.ts).
//
// c + 1 flips bit b exactly when bits 0..b−1 are all 1 (the carry reaches b). With ±1 codes,
// "bits 0..b−1 all set" is Σ_{k<b} c_k = b, and any other pattern has Σ_{k<b} c_k ≤ b − 2. So one
// MLP layer with two units per bit computes the update exactly:
//   `<name>.down[b]` = relu(Σ_{k≤b} c_k − b)        = 1 iff bits 0..b all set   (bit b: 1 → 0), output −2 into c_b;
//   `<name>.up[b]`   = relu(Σ_{k<b} c_k − c_b − b)  = 1 iff bits 0..b−1 set and bit b clear (0 → 1), output +2 into c_b;
// every other pattern gives a pre-activation ≤ −1, so each unit is exactly 0 or 1.
// Width 2s, depth 1 (the lemma: O(s), constant). The counter is updated IN PLACE.
// OVERFLOW: c = 2^s − 1 (all bits set) becomes 0 — the counter wraps modulo 2^s, the carry out
// of bit s−1 is dropped. `down[s−1]` fires exactly then, so with the optional `overflow`
// direction the same unit also adds 1 there (no extra unit). Theorem 5.4 counts n + t ≤ n + m and
// sizes s so that it never wraps.
//
// IN THE FIXED POINT F_s: the pre-activations' partial sums are sums of at most s terms ±1, then
// the bias −b: all within ±s ≤ B_s, exact. The update ±2 needs B_s ≥ 2, i.e. s ≥ 2: in F_1
// (B_1 = 3/2) the weight ±2 rounds to ±3/2 and a 1-bit counter goes 1 → −1/2. The construction
// takes s ≥ 2; tests/gadget-b10-increment.test.ts shows s = 1.
import fc from 'fast-check';
import { UsageError } from '../../common/errors.ts';
import type { Layer, Model } from '../../simulators/model.ts';
import type { BitOrder } from './comparator.ts';
import type { Selector } from '../../simulators/space.ts';
import { decodeSbin, sbin } from '../codes.ts';
import { type BuiltConstruction, defineConstruction, defineParams, paramValues } from '../construction.ts';
import { type GatherHarness, buildHarness, harnessBuilt } from './token-harness.ts';
import { addUnits, directions, expectDisjoint, expectSize, sizeOf } from './units.ts';

export interface IncrementSpec {
  /** Prefix of the unit groups and of error messages. */
  name: string;
  /** s directions holding sbin(c, s), least significant bit first; replaced by sbin((c + 1) mod 2^s, s). */
  counter: Selector;
  /** One direction that receives +1 when the counter wraps (c = 2^s − 1). */
  overflow?: Selector;
  /**
   * How the gadget reads and writes the counter (default 'lsb-first', the project's order). With
   * 'msb-first' index 0 is the most significant bit: the same units on the reversed directions. It
   * exists only to build erratum 6 (Lemmas B.10 and B.11 disagree on the order).
   */
  bitOrder?: BitOrder;
}

/** Writes Lemma B.10 into one layer (its MLP is created or widened). */
export function writeIncrement(model: Model, layer: Layer, spec: IncrementSpec): void {
  const where = `increment '${spec.name}'`;
  const s = sizeOf(model, spec.counter);
  if (spec.overflow !== undefined) {
    expectSize(model, where, 'overflow', spec.overflow, 1);
    expectDisjoint(model, where, { counter: spec.counter, overflow: spec.overflow });
  }
  const order = spec.bitOrder ?? 'lsb-first';
  if (order !== 'lsb-first' && order !== 'msb-first') throw new UsageError(`${where}: bitOrder must be lsb-first or msb-first, got "${String(order)}"`);
  // MSB-first: bit b of the count lives at direction s − 1 − b; the carry chain runs from the far end.
  const c = order === 'lsb-first' ? directions(model, spec.counter) : directions(model, spec.counter).reverse();
  const label = c.map((sel) => model.residual.range(sel).what);
  const up = `${spec.name}.up`;
  const down = `${spec.name}.down`;
  const mlp = addUnits(model, layer, {
    [down]: { size: s, describe: 'bits 0..b all set: bit b goes 1 → 0', labels: label.map((l, b) => `carry through ${l}` + (b === s - 1 ? ' (wraps)' : '')) },
    [up]: { size: s, describe: 'bits 0..b−1 set, bit b clear: bit b goes 0 → 1', labels: label.map((l) => `carry into ${l}`) },
  }, `increment ${spec.name}: c ← c + 1 mod 2^s`);
  for (let b = 0; b < s; b++) {
    for (let k = 0; k < b; k++) {
      mlp.W_in.add(c[k], [down, b], 1);
      mlp.W_in.add(c[k], [up, b], 1);
    }
    mlp.W_in.add(c[b], [down, b], 1);
    mlp.W_in.add(c[b], [up, b], -1);
    if (b > 0) {
      mlp.b_in.set([down, b], -b);
      mlp.b_in.set([up, b], -b);
    }
    mlp.W_out.add([down, b], c[b], -2);
    mlp.W_out.add([up, b], c[b], 2);
  }
  if (spec.overflow !== undefined) mlp.W_out.add([down, s - 1], spec.overflow, 1);
}

// ---------------------------------------------------------------- the construction

export interface IncrementAnswer {
  /** The counter after the update, or null when the output is not exactly a signed binary code. */
  counter: number | null;
  /** Whether it wrapped, or null when the flag is not exactly 0 or 1. */
  overflow: boolean | null;
}

export interface IncrementHarnessSpec {
  s: number;
  /** The counter values the vocabulary holds (default all 2^s). */
  counters?: readonly number[];
}

export type IncrementBuilt = BuiltConstruction<number[], IncrementAnswer> & { harness: GatherHarness; counters: readonly number[] };

/**
 * A one-token model: token c embeds sbin(c, s) into `counter`, Lemma B.10 increments it in place
 * and raises `overflow` on wrap; the readout exposes both, and every counter token v also scores
 * ⟨sbin(v), counter⟩ (= s exactly at the new value), so the argmax token is the incremented counter.
 */
export function buildIncrement(spec: IncrementHarnessSpec): IncrementBuilt {
  const { s } = spec;
  const counters = spec.counters ?? Array.from({ length: 2 ** s }, (_, c) => c);
  const harness = buildHarness({
    name: `lemma-b10-increment s=${s}`,
    description: `c ← c + 1 mod 2^${s} on the signed binary code, least significant bit first (Lemma B.10)`,
    tokens: counters.map((c) => ({ label: String(c), embed: { counter: sbin(c, s) } })),
    tokenParts: {},
    length: 1,
    reads: [],
    parts: {
      counter: { size: s, describe: 'sbin(c, s), least significant bit first', labels: Array.from({ length: s }, (_, b) => `bit${b}`) },
      overflow: { size: 1, describe: '1 when the counter wrapped' },
    },
    layers: 1,
    write: (model, [layer]) => writeIncrement(model, layer, { name: 'inc', counter: 'counter', overflow: 'overflow' }),
    probes: ['counter', 'overflow'],
    unembed: (model) => counters.forEach((c, id) => model.W_U.write('counter', ['vocab', id], sbin(c, s).map((x) => [x]))),
  });
  const built = harnessBuilt<IncrementAnswer>(harness, {
    s,
    sizeScope: { s },
    decode: (p) => ({
      counter: p.counter.every((x) => x === '1' || x === '-1') ? decodeSbin(p.counter.map(Number)) : null,
      overflow: p.overflow[0] === '1' ? true : p.overflow[0] === '0' ? false : null,
    }),
    reference: ([t]) => ({ counter: (counters[t] + 1) % 2 ** s, overflow: counters[t] === 2 ** s - 1 }),
    equal: (a, b) => a.counter === b.counter && a.overflow === b.overflow,
    formatAnswer: (o) => o,
    arbitrary: () => fc.tuple(fc.nat(counters.length - 1)).map(([t]) => [t]),
    exhaustive: { symbols: counters.length, minLength: 1, maxLength: 1 },
  });
  return { ...built, harness, counters };
}

const PARAMS = defineParams([{ name: 's', describe: 'bits of the counter and of F_s', default: '4', kind: 'int', min: 2, max: 12 }]);

export const lemmaB10Increment = defineConstruction<number[], IncrementAnswer>({
  id: 'lemma-b10-increment',
  title: 'Binary increment of an s-bit counter',
  theorem: 'Lemma B.10',
  statement:
    'One ReLU layer of 2s units maps sbin(c, s) to sbin((c + 1) mod 2^s, s) in place (bit order: least significant ' +
    'first, +1 for a set bit; erratum 6). Bit b flips exactly when bits 0..b−1 are all set, which with ±1 codes is a ' +
    'linear threshold. The counter wraps from 2^s − 1 to 0 and raises an overflow flag. Exact in rationals, and in F_s ' +
    'for s ≥ 2 (the update ±2 needs B_s ≥ 2). Here the input token is the counter value.',
  params: PARAMS,
  // paper-notes §3, Theorem 5.4: "a binary-increment MLP advances the counter every loop (Lemma B.10,
  // width O(s), constant depth)": an MLP (no heads) on an s-bit counter. The O(s) and the constant
  // depth come with no constants, so they are not claimed as numbers (see deviations).
  claimed: { loops: '1', heads: '0', bits: 's' },
  deviations:
    'The paper claims MLP width O(s) and constant depth without constants, so neither is claimed as a number (any ' +
    'constant would be this construction\'s own and could not be exceeded); built: 1 layer of 2s units, which is O(s) ' +
    'and constant depth. The width is the counter and the overflow flag: the token embeds sbin(c) directly.',
  build(params) {
    const { s } = paramValues('lemma-b10-increment', PARAMS, params);
    return buildIncrement({ s });
  },
});
