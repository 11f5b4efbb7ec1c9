// Lemma B.6: argmax as a ReLU network.
//
//     g_i = 2^s · relu( 2^{−s} − Σ_{j≠i} relu(x_j − x_i) )
//
// PRECONDITION. The values x_1..x_d lie on the grid 2^{−s}·Z, so two different values differ by at
// least 2^{−s}. Then for the position i of the maximum every relu(x_j − x_i) is 0 and g_i = 1; for
// any other i some x_j − x_i ≥ 2^{−s}, the bracket is ≤ 0 and g_i = 0. With a UNIQUE maximum the
// output is exactly the one-hot vector of the argmax.
// TIES. If k entries share the maximum, each of them still has Σ_{j≠i} relu(x_j − x_i) = 0 (a tie
// contributes relu(0) = 0), so g is 1 at EVERY maximiser: a k-hot vector, not a choice. Readout of
// such a vector ties (the interpreters report the tie, token null). Values off the grid break the
// lemma: with x_j − x_i ∈ (0, 2^{−s}) the losing entry gets 2^s·(2^{−s} − (x_j − x_i)) ∈ (0, 1).
//
// THE NETWORK, two residual MLP layers (the paper counts 3 ReLU layers; the final multiplication
// by 2^s is the second layer's output weight here, not a layer of its own):
//   layer 1, units `<name>.above` (d(d−1) of them): relu(x_j − x_i) for every ordered pair i ≠ j,
//     summed by the output weights into scratch S_i = Σ_{j≠i} relu(x_j − x_i);
//   layer 2, units `<name>.pick` (d): relu(2^{−s} − S_i), output weight 2^s into g_i;
//     units `<name>.reset` (d, none when d = 1: nothing was written): relu(S_i), output weight −1
//     into S_i, so the scratch is 0 again.
// Width max(d(d−1), 2d) ≤ d² (the lemma's claim; d = 1 has 1 unit), depth 2 ≤ 3.
//
// IN THE FIXED POINT F_s. Every value of F_s is on the grid 2^{−s}·Z, so the precondition holds
// for any representable input. A difference x_j − x_i beyond B_s = 2^s − 2^{−s} saturates at ±B_s
// (same sign, still ≥ 2^{−s} in magnitude), and the sum S_i of non-negative terms saturates at
// B_s, so the comparisons survive. The weight 2^s is not in F_s: it rounds to B_s, and the unit's
// output is B_s·2^{−s} = 1 − 2^{−2s}, which rounds to 1 when s ≥ 2. At s = 1 it is 3/4, exactly
// half-way between 1/2 and 1, and F_s rounds ties toward the smaller magnitude: fixed:1 gives
// g = 1/2 at the maximum (still the right argmax, but not a one-hot). So the lemma holds exactly
// in F_s for s ≥ 2, and tests/gadget-b6-argmax.test.ts shows the s = 1 case.
//
// BIT ORDER: none — this gadget reads values, not codes.
import fc from 'fast-check';
import { UsageError } from '../../common/errors.ts';
import type { Layer, Model } from '../../simulators/model.ts';
import type { Rational } from '../../simulators/rational.ts';
import type { Selector } from '../../simulators/space.ts';
import { type BuiltConstruction, defineConstruction, defineParams, paramValues } from '../construction.ts';
import { type GatherHarness, buildHarness, gridParam, gridValues, harnessBuilt, valueLabel } from './token-harness.ts';
import { addUnits, directions, expectBits, expectDisjoint, expectLayers, sizeOf } from './units.ts';

export interface ArgmaxSpec {
  /** Prefix of the unit groups (`<name>.above`, `<name>.pick`, `<name>.reset`) and of error messages. */
  name: string;
  /** d residual directions holding x_1..x_d, on the grid 2^{−s}·Z. */
  from: Selector;
  /** d directions that receive g (added to what is there; keep them 0 before). */
  to: Selector;
  /** d directions of scratch for S_i between the two layers: 0 before, and 0 again after. */
  scratch: Selector;
  /** Grid exponent: the values are multiples of 2^{−s}. */
  s: number;
}

/** Layers the gadget occupies. */
export const ARGMAX_LAYERS = 2;

/**
 * Writes Lemma B.6 into `layers[0]` and `layers[1]` (two consecutive layers; their MLPs are
 * created or widened): afterwards `to` holds g, 1 at every maximiser of `from` and 0 elsewhere.
 */
export function writeArgmax(model: Model, layers: readonly Layer[], spec: ArgmaxSpec): void {
  const where = `argmax '${spec.name}'`;
  expectLayers(where, layers, ARGMAX_LAYERS);
  expectBits(where, spec.s);
  const d = sizeOf(model, spec.from);
  for (const [field, sel] of [['to', spec.to], ['scratch', spec.scratch]] as const) {
    if (sizeOf(model, sel) !== d) throw new UsageError(`${where}: ${field} "${model.residual.range(sel).what}" has ${sizeOf(model, sel)} directions but from has ${d}`);
  }
  expectDisjoint(model, where, { from: spec.from, to: spec.to, scratch: spec.scratch });
  const x = directions(model, spec.from);
  const g = directions(model, spec.to);
  const S = directions(model, spec.scratch);
  const xl = x.map((sel) => model.residual.range(sel).what);

  const pairs: [number, number][] = [];
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) if (i !== j) pairs.push([i, j]);
  const above = `${spec.name}.above`;
  const first = addUnits(model, layers[0], {
    [above]: { size: pairs.length, describe: 'relu(x_j − x_i): how far x_j is above x_i', labels: pairs.map(([i, j]) => `relu(${xl[j]} − ${xl[i]})`) },
  }, `argmax ${spec.name}: pairwise differences into S_i`);
  pairs.forEach(([i, j], u) => {
    first.W_in.add(x[j], [above, u], 1);
    first.W_in.add(x[i], [above, u], -1);
    first.W_out.add([above, u], S[i], 1);
  });

  const pick = `${spec.name}.pick`;
  const reset = `${spec.name}.reset`;
  const second = addUnits(model, layers[1], {
    [pick]: { size: d, describe: 'relu(2^−s − S_i), times 2^s: 1 exactly at a maximiser', labels: xl.map((l) => `pick ${l}`) },
    [reset]: { size: d > 1 ? d : 0, describe: 'relu(S_i), subtracted from S_i: clears the scratch', labels: d > 1 ? xl.map((l) => `reset S(${l})`) : [] },
  }, `argmax ${spec.name}: one-hot of the maximisers, scratch cleared`);
  for (let i = 0; i < d; i++) {
    second.W_in.add(S[i], [pick, i], -1);
    second.b_in.set([pick, i], 2 ** -spec.s);
    second.W_out.add([pick, i], g[i], 2 ** spec.s);
    if (d > 1) {
      second.W_in.add(S[i], [reset, i], 1);
      second.W_out.add([reset, i], S[i], -1);
    }
  }
}

// ---------------------------------------------------------------- reference

/** g of Lemma B.6 on exact values: "1" at every maximiser, "0" elsewhere (one-hot when the maximum is unique). */
export function maximisers(x: readonly Rational[]): string[] {
  let best = x[0];
  for (const v of x) if (v.compare(best) > 0) best = v;
  return x.map((v) => (v.equals(best) ? '1' : '0'));
}

// ---------------------------------------------------------------- the construction

export interface ArgmaxHarnessSpec {
  d: number;
  s: number;
  /** The scalar vocabulary: every input token is one of these values. */
  values: readonly Rational[];
}

export type ArgmaxBuilt = BuiltConstruction<number[], string[]> & { harness: GatherHarness };

/**
 * A model that reads d scalar tokens x_1..x_d (one per position, each embedded as its value),
 * gathers them at the last position with d hard one-hot heads (Lemma B.4, the harness) into
 * `x`, and runs Lemma B.6 from `x` into `onehot`; the readout exposes `onehot`.
 */
export function buildArgmax(spec: ArgmaxHarnessSpec): ArgmaxBuilt {
  const { d, s } = spec;
  const harness = buildHarness({
    name: `lemma-b6-argmax d=${d} s=${s}`,
    description: `argmax of ${d} values on the 2^-${s} grid as a ReLU net (Lemma B.6)`,
    tokens: spec.values.map((v) => ({ label: valueLabel(v), embed: { val: [v] } })),
    tokenParts: { val: { size: 1, describe: 'the scalar value of the token' } },
    length: d,
    reads: Array.from({ length: d }, (_, j) => ({ position: j, from: 'val', to: ['x', j] as const })),
    parts: {
      x: { size: d, describe: 'x_1..x_d gathered at the last position' },
      sums: { size: d, describe: 'scratch S_i = Σ_{j≠i} relu(x_j − x_i)' },
      onehot: { size: d, describe: 'g: 1 at every maximiser' },
    },
    layers: ARGMAX_LAYERS,
    write: (model, layers) => writeArgmax(model, layers, { name: 'argmax', from: 'x', to: 'onehot', scratch: 'sums', s }),
    probes: ['onehot'],
  });
  const values = spec.values;
  const built = harnessBuilt<string[]>(harness, {
    s,
    sizeScope: { d, s },
    decode: (p) => p.onehot,
    reference: (tokens) => maximisers(tokens.map((t) => values[t])),
    equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
    formatAnswer: (o) => ({ onehot: o, argmax: o.filter((v) => v !== '0').length === 1 && o.every((v) => v === '0' || v === '1') ? o.indexOf('1') : null }),
    arbitrary: () => fc.array(fc.nat(values.length - 1), { minLength: d, maxLength: d }),
    exhaustive: { symbols: values.length, minLength: d, maxLength: d },
  });
  return { ...built, harness };
}

const PARAMS = defineParams([
  { name: 'd', describe: 'number of values compared', default: '3', kind: 'int', min: 1, max: 8 },
  { name: 's', describe: 'grid 2^−s and bits of F_s (s ≥ 2: see the statement)', default: '2', kind: 'int', min: 2, max: 26 },
  gridParam,
]);

export const lemmaB6Argmax = defineConstruction<number[], string[]>({
  id: 'lemma-b6-argmax',
  title: 'Argmax as a ReLU network',
  theorem: 'Lemma B.6',
  statement:
    'For x_1..x_d on the grid 2^{−s}·Z with a unique maximum, g_i = 2^s·relu(2^{−s} − Σ_{j≠i} relu(x_j − x_i)) is the ' +
    'one-hot vector of the argmax; with a tie, g is 1 at every maximiser. Here d scalar tokens are gathered at the last ' +
    'position by hard one-hot heads and the readout exposes g. In the fixed point F_s every value is on the grid and the ' +
    'net is exact for s ≥ 2 (at s = 1 the weight 2^s rounds to B_1 and g = 1/2 at the maximum).',
  params: PARAMS,
  // paper-notes §3, Theorem 5.4: "Lemma B.6, argmax as a 3-layer net of width d²". The lemma states
  // no heads and no width (the harness that gathers its inputs is ours), so none are claimed.
  claimed: {
    layersPerBlock: '3',
    mlpWidth: 'd^2',
    loops: '1',
    bits: 's',
  },
  deviations:
    'The paper claims 3 layers of width d²; the net is built in 2 residual MLP layers of width d(d−1) (the output weight ' +
    '2^s does the third layer\'s scaling). The lemma sizes no heads or width, so none are claimed; the built ones are the harness: d hard one-hot heads ' +
    '(Lemma B.4) gather the d input tokens at the last position; width = val(1) + position code and d query codes ' +
    '(bitsFor(d) each) + one(1) + x, S and g (d each).',
  build(params) {
    const id = 'lemma-b6-argmax';
    const { d, s } = paramValues(id, PARAMS, params);
    const values = gridValues(id, params, s);
    const built = buildArgmax({ d, s, values });
    built.sizeScope = { ...built.sizeScope, r: (values.length - 1) / 2 };
    return built;
  },
});
