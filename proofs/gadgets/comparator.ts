// Lemma B.11: a comparator on binary codes, 1[a ≥ b] for two s-bit codes. Theorem 5.4 uses it as
// 1[i ≥ n + t] with a = sbin(i) from the position embedding and b = the loop counter of
// Lemma B.10, to replace the explicit loop mask M^t(i).
//
// BIT ORDER (erratum 6: the paper's Lemmas B.10 and B.11 disagree; this project uses ONE order,
// proofs/codes.ts): index k of a code holds bit k, LEAST SIGNIFICANT FIRST, +1 set, −1 clear. The
// weights below give bit k the place value 2^k, so a code written most significant first would
// compare the bit-reversed numbers; that is the disagreement erratum 6 names. Option bitOrder
// 'msb-first' builds exactly that (for erratum 6: Theorem 5.4 variant erratum-6 reads the state's
// LSB-first codes with it; tests/gadget-erratum-6-bit-order.test.ts shows it exact on MSB-first codes).
//
// With ±1 codes bit k of a is (a_k + 1)/2, so b − a = Σ_k 2^{k−1}(b_k − a_k) — a linear function of
// the two codes, an integer in [−(2^s − 1), 2^s − 1]. For an integer z, relu(z) − relu(z − 1) is
// 1 when z ≥ 1 and 0 when z ≤ 0, so with z = b − a:
//   `<name>.lt` units: u = relu(Σ_k 2^{k−1}(b_k − a_k)), w = relu(Σ_k 2^{k−1}(b_k − a_k) − 1);
//   1[a < b] = u − w  (written into `lt`),   1[a ≥ b] = 1 − (u − w)  (into `ge`, the 1 from the output bias).
// Two units, one layer. Both outputs are offered because the control gate (Lemma B.8, gate.ts)
// needs M and 1 − M as separate values in F_s.
//
// IN THE FIXED POINT F_s: the weights 2^{k−1} (1/2 … 2^{s−2}) are in F_s; any partial sum of the
// 2s terms is at most Σ_k 2^{k−1}·2 = 2^s − 1 ≤ B_s in magnitude, so u is exact, and w's bias −1 can
// only push an already non-positive sum down (relu gives 0 either way). Exact for every s ≥ 1 and
// every pair of codes. (The mirror form relu(a − b + 1) − relu(a − b) reaches 2^s > B_s at
// a = 2^s − 1, b = 0 and saturates; that is why the gadget computes 1[a < b] first.)
import fc from 'fast-check';
import { UsageError } from '../../common/errors.ts';
import type { Layer, Model } from '../../simulators/model.ts';
import type { Selector } from '../../simulators/space.ts';
import { sbin } from '../codes.ts';
import { type BuiltConstruction, defineConstruction, defineParams, paramValues } from '../construction.ts';
import { type GatherHarness, buildHarness, harnessBuilt } from './token-harness.ts';
import { addUnits, directions, expectDisjoint, expectSize, sizeOf } from './units.ts';

export interface ComparatorSpec {
  /** Prefix of the unit group and of error messages. */
  name: string;
  /** s directions each: sbin codes, least significant bit first. */
  a: Selector;
  b: Selector;
  /** One direction that receives 1[a ≥ b] (added). */
  ge?: Selector;
  /** One direction that receives 1[a < b] = 1 − 1[a ≥ b] (added). */
  lt?: Selector;
  /**
   * How the gadget READS the codes (default 'lsb-first', the project's order, proofs/codes.ts).
   * 'msb-first' gives index k the place value 2^{s−1−k}: on the project's LSB-first codes it then
   * compares the bit-reversed numbers. It exists only to build erratum 6 (the paper's Lemmas B.10
   * and B.11 disagree on the order; Theorem 5.4 variant erratum-6 composes them that way).
   */
  bitOrder?: BitOrder;
}

/** Which end of a code index 0 holds: the least (the project's order) or the most significant bit. */
export type BitOrder = 'lsb-first' | 'msb-first';

/** Writes Lemma B.11 into one layer (its MLP is created or widened). */
export function writeComparator(model: Model, layer: Layer, spec: ComparatorSpec): void {
  const where = `comparator '${spec.name}'`;
  const s = sizeOf(model, spec.a);
  expectSize(model, where, 'b', spec.b, s);
  if (spec.ge !== undefined) expectSize(model, where, 'ge', spec.ge, 1);
  if (spec.lt !== undefined) expectSize(model, where, 'lt', spec.lt, 1);
  expectDisjoint(model, where, { a: spec.a, ge: spec.ge, lt: spec.lt });
  expectDisjoint(model, where, { b: spec.b, ge: spec.ge, lt: spec.lt });
  const order = spec.bitOrder ?? 'lsb-first';
  if (order !== 'lsb-first' && order !== 'msb-first') throw new UsageError(`${where}: bitOrder must be lsb-first or msb-first, got "${String(order)}"`);
  // Read MSB-first, direction k carries place value 2^{s−1−k}: the same weights on the reversed directions.
  const inOrder = (sel: Selector) => (order === 'lsb-first' ? directions(model, sel) : directions(model, sel).reverse());
  const a = inOrder(spec.a);
  const b = inOrder(spec.b);
  const g = `${spec.name}.lt`;
  const mlp = addUnits(model, layer, {
    [g]: { size: 2, describe: 'relu(b − a) and relu(b − a − 1) on the codes: their difference is 1[a < b]', labels: ['relu(b − a)', 'relu(b − a − 1)'] },
  }, `comparator ${spec.name}: 1[a ≥ b] and 1[a < b]`);
  for (let k = 0; k < s; k++) {
    const w = 2 ** (k - 1);
    for (const u of [0, 1]) {
      mlp.W_in.add(b[k], [g, u], w);
      mlp.W_in.add(a[k], [g, u], -w);
    }
  }
  mlp.b_in.set([g, 1], -1);
  if (spec.lt !== undefined) {
    mlp.W_out.add([g, 0], spec.lt, 1);
    mlp.W_out.add([g, 1], spec.lt, -1);
  }
  if (spec.ge !== undefined) {
    mlp.W_out.add([g, 0], spec.ge, -1);
    mlp.W_out.add([g, 1], spec.ge, 1);
    const at = model.residual.range(spec.ge).offset;
    mlp.b_out.setAt(at, mlp.b_out.exactAt(at).add(1));
  }
}

// ---------------------------------------------------------------- the construction

export interface ComparatorHarnessSpec {
  s: number;
  /** The code values the vocabulary holds (default all 2^s). */
  codes?: readonly number[];
}

export type ComparatorBuilt = BuiltConstruction<number[], boolean | null> & { harness: GatherHarness; codes: readonly number[] };

/**
 * A two-token model: tokens a, b embed sbin(·, s); the last position (b) gathers a's code with one
 * hard one-hot head (harness) and Lemma B.11 writes 1[a ≥ b] and 1[a < b]; the readout exposes
 * both, so the argmax token is `→ge` or `→lt`.
 */
export function buildComparator(spec: ComparatorHarnessSpec): ComparatorBuilt {
  const { s } = spec;
  const codes = spec.codes ?? Array.from({ length: 2 ** s }, (_, c) => c);
  const harness = buildHarness({
    name: `lemma-b11-comparator s=${s}`,
    description: `1[a ≥ b] on ${s}-bit signed binary codes, least significant bit first (Lemma B.11)`,
    tokens: codes.map((c) => ({ label: String(c), embed: { tok: sbin(c, s) } })),
    tokenParts: { tok: { size: s, describe: 'sbin of the token, least significant bit first' } },
    length: 2,
    reads: [{ position: 0, from: 'tok', to: 'a' }],
    parts: {
      a: { size: s, describe: 'sbin(a): the first token, gathered at the last position' },
      ge: { size: 1, describe: '1[a ≥ b]' },
      lt: { size: 1, describe: '1[a < b]' },
    },
    layers: 1,
    write: (model, [layer]) => writeComparator(model, layer, { name: 'cmp', a: 'a', b: 'tok', ge: 'ge', lt: 'lt' }),
    probes: ['ge', 'lt'],
  });
  const built = harnessBuilt<boolean | null>(harness, {
    s,
    sizeScope: { s },
    decode: ({ ge: [ge], lt: [lt] }) => (ge === '1' && lt === '0' ? true : ge === '0' && lt === '1' ? false : null),
    reference: ([a, b]) => codes[a] >= codes[b],
    equal: (x, y) => x === y,
    formatAnswer: (o) => o,
    arbitrary: () => fc.array(fc.nat(codes.length - 1), { minLength: 2, maxLength: 2 }),
    exhaustive: { symbols: codes.length, minLength: 2, maxLength: 2 },
  });
  return { ...built, harness, codes };
}

const PARAMS = defineParams([{ name: 's', describe: 'bits of the codes and of F_s', default: '4', kind: 'int', min: 1, max: 12 }]);

export const lemmaB11Comparator = defineConstruction<number[], boolean | null>({
  id: 'lemma-b11-comparator',
  title: 'Comparator on binary codes: 1[a ≥ b]',
  theorem: 'Lemma B.11',
  statement:
    'For s-bit signed binary codes (least significant bit first, erratum 6) b − a is a linear function of the codes, and ' +
    'relu(b − a) − relu(b − a − 1) = 1[a < b] on integers: one ReLU layer of 2 units gives 1[a < b] and 1[a ≥ b] = 1 − 1[a < b], ' +
    'exactly in rationals and in F_s for every s ≥ 1 (no partial sum exceeds 2^s − 1 ≤ B_s). Theorem 5.4 uses it as ' +
    '1[i ≥ n + t]. Here the two codes are tokens a, b and the last position gathers a.',
  params: PARAMS,
  // paper-notes §3, Theorem 5.4: "a comparator MLP on binary codes gives 1[i ≥ n+t] (Lemma B.11)" — an
  // MLP on s-bit codes in F_s, with no size stated. So only what that says is claimed: one pass, s
  // bits; a depth or width here would be this construction's own count, which a test cannot fail.
  claimed: { loops: '1', bits: 's' },
  deviations:
    'The notes state no size for Lemma B.11 (only that it is an MLP on binary codes), so no depth or width is claimed; ' +
    'built: 1 layer of 2 units. The head and the width are the harness: one hard one-hot head gathers a; width = tok(s) + ' +
    'position code, query code and one (1 each, two positions) + a(s) + ge + lt.',
  build(params) {
    const { s } = paramValues('lemma-b11-comparator', PARAMS, params);
    return buildComparator({ s });
  },
});
