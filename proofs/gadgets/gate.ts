// Lemma B.8: the control gate
//
//     F(x, y, M) = relu(x − 2^s(1−M)) − relu(−x − 2^s(1−M)) + relu(y − 2^s·M) − relu(−y − 2^s·M)
//
// applied coordinate by coordinate. For M = 1 the y-terms are relu(±y − 2^s) = 0 and the x-terms
// are relu(x) − relu(−x) = x; for M = 0 the other way round. So F(x, y, 1) = x and F(x, y, 0) = y.
// RANGE: every |x_k|, |y_k| ≤ 2^s (the switched-off side must not poke above the offset 2^s);
// M ∈ {0, 1}. Outside the range the switched-off side leaks: with M = 1 and y = 2^s + δ the output
// is x + δ. Theorem 5.4 uses it to blend the new state x with the old one y by the mask 1[i ≥ n+t].
//
// THE NETWORK: one MLP layer, 4 units per coordinate (`<name>.x.pos`, `.x.neg`, `.y.pos`,
// `.y.neg`), output +1, −1, +1, −1 into `to`. Optional `clear` adds relu(z), relu(−z) units that
// zero subspaces in the same layer: with to = y and clear = [y] the gate updates y IN PLACE,
// y ← F(x, y, M).
//
// IN THE FIXED POINT F_s, ORDER MATTERS. F_s rounds and saturates after every addition, and the
// interpreter adds a unit's inputs in residual order and its bias last. The weight 2^s rounds to
// B_s = 2^s − 2^{−s} (≥ every |x| in F_s, so the range holds for every representable input).
//   * 1 − M from its own direction (`maskNot`, the default form): the pre-activations are
//     x − B_s·(1−M) and y − B_s·M: one large term at most, and x − B_s ∈ [−2B_s, 0] saturates at
//     −B_s, which relu sends to 0 anyway. Exact for every x, y ∈ F_s.
//   * 1 − M through the bias (`maskNot` omitted, the formula expanded to x + 2^s·M − 2^s): exact
//     in rationals, but in F_s the partial sum x + B_s·M saturates at B_s for any x > 0 before the
//     bias −B_s is added, so F(x, y, 1) = 0 for every positive x (and symmetrically the negative
//     unit for x < 0). The construction builds this form (form=bias) to show the counterexample.
// So the gate needs 1 − M as a value of its own, as the lemma's parenthesised (1−M) says; the
// comparator (Lemma B.11, comparator.ts) writes both 1[a ≥ b] and 1[a < b] for that reason.
// In-place use (to = y, clear = [y]) writes the difference F − y = M·(x − y) into y; in F_s that
// needs |x − y| ≤ B_s as well, else the difference saturates.
//
// BIT ORDER: none — the gate reads values and one mask bit.
import fc from 'fast-check';
import type { Layer, Mlp, Model } from '../../simulators/model.ts';
import type { Rational } from '../../simulators/rational.ts';
import type { Selector } from '../../simulators/space.ts';
import { type BuiltConstruction, defineConstruction, defineParams, paramValues } from '../construction.ts';
import { type GatherHarness, buildHarness, gridParam, gridValues, harnessBuilt, valueLabel } from './token-harness.ts';
import { addUnits, directions, expectBits, expectDisjoint, expectSize, sizeOf } from './units.ts';

export interface GateSpec {
  /** Prefix of the unit groups and of error messages. */
  name: string;
  /** d directions each; every |x_k|, |y_k| ≤ 2^s. */
  x: Selector;
  y: Selector;
  /** One direction holding M ∈ {0, 1}. */
  mask: Selector;
  /** One direction holding 1 − M. Omitted: the bias form x + 2^s·M − 2^s, exact in rationals only (see above). */
  maskNot?: Selector;
  /** d directions that receive F(x, y, M) (added). */
  to: Selector;
  /** The offset 2^s: the bound on |x| and |y|. */
  s: number;
  /** Subspaces zeroed by the same layer (to = y with clear = [y] updates y in place). */
  clear?: readonly Selector[];
}

/**
 * The piece Lemma B.8 is made of: two hidden units that pass a signal v through an open gate,
 *     relu(v + g) − relu(−v + g) = v   when g = 0,        0   when g ≤ −|v|,
 * with v = Σ signal (a linear form in residual directions: a coordinate, or a difference new − old
 * for an in-place update) and g = Σ gate + bias (closed: g = −K(1 − M) with K ≥ |v|). The gate
 * writes one piece per coordinate and side (x with g = −2^s(1−M), y with g = −2^s·M); a
 * construction with its own gate terms (examples/subleq.ts: a write enable from an address match)
 * writes the piece itself. The units `pos` and `neg` must exist in `mlp`; both write ±1 into `to`.
 */
export interface GatedPassSpec {
  pos: Selector;
  neg: Selector;
  signal: readonly (readonly [Selector, number])[];
  gate: readonly (readonly [Selector, number])[];
  bias?: number;
  to: Selector;
}

export function writeGatedPass(mlp: Mlp, spec: GatedPassSpec): void {
  for (const [unit, sign] of [[spec.pos, 1], [spec.neg, -1]] as const) {
    for (const [sel, w] of spec.signal) mlp.W_in.add(sel, unit, sign * w);
    for (const [sel, w] of spec.gate) mlp.W_in.add(sel, unit, w);
    if (spec.bias !== undefined && spec.bias !== 0) mlp.b_in.set(unit, spec.bias);
    mlp.W_out.add(unit, spec.to, sign);
  }
}

/** Writes Lemma B.8 into one layer (its MLP is created or widened). */
export function writeGate(model: Model, layer: Layer, spec: GateSpec): void {
  const where = `gate '${spec.name}'`;
  expectBits(where, spec.s);
  const d = sizeOf(model, spec.x);
  expectSize(model, where, 'y', spec.y, d);
  expectSize(model, where, 'to', spec.to, d);
  expectSize(model, where, 'mask', spec.mask, 1);
  if (spec.maskNot !== undefined) expectSize(model, where, 'maskNot', spec.maskNot, 1);
  expectDisjoint(model, where, { x: spec.x, y: spec.y, mask: spec.mask, maskNot: spec.maskNot });
  expectDisjoint(model, where, { mask: spec.mask, to: spec.to });
  if (spec.maskNot !== undefined) expectDisjoint(model, where, { maskNot: spec.maskNot, to: spec.to });
  const K = 2 ** spec.s;
  const x = directions(model, spec.x);
  const y = directions(model, spec.y);
  const to = directions(model, spec.to);
  const label = (sel: Selector) => model.residual.range(sel).what;
  const cleared = (spec.clear ?? []).flatMap((sel) => directions(model, sel));
  const g = (part: string) => `${spec.name}.${part}`;
  const mlp = addUnits(model, layer, {
    [g('x.pos')]: { size: d, describe: 'relu(x − 2^s(1−M))', labels: x.map((s) => `relu(+${label(s)} − 2^s(1−M))`) },
    [g('x.neg')]: { size: d, describe: 'relu(−x − 2^s(1−M))', labels: x.map((s) => `relu(−${label(s)} − 2^s(1−M))`) },
    [g('y.pos')]: { size: d, describe: 'relu(y − 2^s·M)', labels: y.map((s) => `relu(+${label(s)} − 2^s·M)`) },
    [g('y.neg')]: { size: d, describe: 'relu(−y − 2^s·M)', labels: y.map((s) => `relu(−${label(s)} − 2^s·M)`) },
    [g('clear.pos')]: { size: cleared.length, describe: 'relu(z), subtracted from z', labels: cleared.map((s) => `clear +${label(s)}`) },
    [g('clear.neg')]: { size: cleared.length, describe: 'relu(−z), added to z', labels: cleared.map((s) => `clear −${label(s)}`) },
  }, `gate ${spec.name}: M ? x : y`);
  // The x half passes x when M = 1, the y half passes y when M = 0 (closed: the gate term is −2^s).
  const xGate: GatedPassSpec['gate'] = spec.maskNot !== undefined ? [[spec.maskNot, -K]] : [[spec.mask, K]];
  for (let k = 0; k < d; k++) {
    writeGatedPass(mlp, { pos: [g('x.pos'), k], neg: [g('x.neg'), k], signal: [[x[k], 1]], gate: xGate, bias: spec.maskNot !== undefined ? 0 : -K, to: to[k] });
    writeGatedPass(mlp, { pos: [g('y.pos'), k], neg: [g('y.neg'), k], signal: [[y[k], 1]], gate: [[spec.mask, -K]], to: to[k] });
  }
  cleared.forEach((z, c) => {
    mlp.W_in.add(z, [g('clear.pos'), c], 1);
    mlp.W_out.add([g('clear.pos'), c], z, -1);
    mlp.W_in.add(z, [g('clear.neg'), c], -1);
    mlp.W_out.add([g('clear.neg'), c], z, 1);
  });
}

// ---------------------------------------------------------------- the construction

export const GATE_FORMS = ['complement', 'bias'] as const;
export type GateForm = (typeof GATE_FORMS)[number];

export interface GateHarnessSpec {
  d: number;
  s: number;
  values: readonly Rational[];
  form?: GateForm;
}

export type GateBuilt = BuiltConstruction<number[], string[]> & {
  harness: GatherHarness;
  /** Token ids of the mask tokens M=0 and M=1. */
  maskToken: readonly [number, number];
};

/**
 * A model that reads x_1..x_d, y_1..y_d (scalar tokens) and a mask token M=0 or M=1 (which embeds
 * M and 1 − M), gathers them at the last position (harness heads) and runs Lemma B.8 into `out`.
 */
export function buildGate(spec: GateHarnessSpec): GateBuilt {
  const { d, s } = spec;
  const form = spec.form ?? 'complement';
  const nv = spec.values.length;
  const harness = buildHarness({
    name: `lemma-b8-gate d=${d} s=${s}${form === 'bias' ? ' (bias form)' : ''}`,
    description: `F(x, y, M) = M ? x : y for |x|, |y| ≤ 2^${s} (Lemma B.8)`,
    tokens: [
      ...spec.values.map((v) => ({ label: valueLabel(v), embed: { val: [v] } })),
      { label: 'M=0', embed: { mbit: [0], mnot: [1] } },
      { label: 'M=1', embed: { mbit: [1], mnot: [0] } },
    ],
    tokenParts: {
      val: { size: 1, describe: 'the scalar value of a value token' },
      mbit: { size: 1, describe: 'M of a mask token' },
      mnot: { size: 1, describe: '1 − M of a mask token' },
    },
    length: 2 * d + 1,
    reads: [
      ...Array.from({ length: d }, (_, j) => ({ position: j, from: 'val', to: ['x', j] as const })),
      ...Array.from({ length: d }, (_, j) => ({ position: d + j, from: 'val', to: ['y', j] as const })),
      { position: 2 * d, from: 'mbit', to: 'M' },
      { position: 2 * d, from: 'mnot', to: 'Mnot' },
    ],
    parts: {
      x: { size: d, describe: 'x gathered at the last position' },
      y: { size: d, describe: 'y gathered at the last position' },
      M: { size: 1, describe: 'the mask bit M' },
      Mnot: { size: 1, describe: '1 − M' },
      out: { size: d, describe: 'F(x, y, M)' },
    },
    layers: 1,
    write: (model, [layer]) => writeGate(model, layer, { name: 'gate', x: 'x', y: 'y', mask: 'M', maskNot: form === 'complement' ? 'Mnot' : undefined, to: 'out', s }),
    probes: ['out'],
  });
  const values = spec.values;
  const maskToken = [nv, nv + 1] as const;
  const built = harnessBuilt<string[]>(harness, {
    s,
    sizeScope: { d, s },
    decode: (p) => p.out,
    reference: (tokens) => {
      const m = tokens[2 * d] === maskToken[1];
      return tokens.slice(m ? 0 : d, m ? d : 2 * d).map((t) => values[t].toFraction());
    },
    equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
    formatAnswer: (o) => o,
    arbitrary: () =>
      fc.tuple(fc.array(fc.nat(nv - 1), { minLength: 2 * d, maxLength: 2 * d }), fc.constantFrom(...maskToken)).map(([xy, m]) => [...xy, m]),
    validate(tokens) {
      const bad = tokens.findIndex((t, i) => (i < 2 * d ? t >= nv : t < nv));
      if (bad < 0) return null;
      return bad < 2 * d ? `position ${bad} must hold a value of x or y, not a mask token` : `position ${bad} must hold the mask, M=0 or M=1`;
    },
  });
  return { ...built, harness, maskToken };
}

const PARAMS = defineParams([
  { name: 'd', describe: 'coordinates of x and y', default: '1', kind: 'int', min: 1, max: 8 },
  { name: 's', describe: 'offset 2^s (the range of x and y) and bits of F_s', default: '2', kind: 'int', min: 1, max: 26 },
  gridParam,
  {
    name: 'form',
    describe: 'complement: 1 − M from its own direction (exact in F_s); bias: x + 2^s·M − 2^s with the constant in the bias (fails in F_s)',
    default: 'complement',
    kind: 'choice',
    values: GATE_FORMS,
  },
]);

export const lemmaB8Gate = defineConstruction<number[], string[]>({
  id: 'lemma-b8-gate',
  title: 'Control gate: M ? x : y',
  theorem: 'Lemma B.8',
  statement:
    'F(x, y, M) = relu(x − 2^s(1−M)) − relu(−x − 2^s(1−M)) + relu(y − 2^s·M) − relu(−y − 2^s·M) equals x when M = 1 and y ' +
    'when M = 0, coordinate by coordinate, for |x|, |y| ≤ 2^s: one ReLU layer of 4 units per coordinate. Here x and y ' +
    'are d scalar tokens each and M a mask token, gathered at the last position. In F_s the gate reads 1 − M from a ' +
    'direction of its own; form=bias puts the 2^s(1−M) into x + 2^s·M − 2^s with the constant in the bias, exact in ' +
    'rationals but wrong in F_s (x + B_s·M saturates before the bias is added).',
  params: PARAMS,
  // paper-notes §3, Theorem 5.4, Lemma B.8: `F(x, y, M) = relu(x − 2^s(1−M)) − relu(−x − 2^s(1−M)) +
  // relu(y − 2^s M) − relu(−y − 2^s M)`: one ReLU layer, 4 units a coordinate. The lemma states no
  // heads and no width (the harness that gathers x, y and M is ours), so none are claimed.
  claimed: {
    layersPerBlock: '1',
    mlpWidth: '4*d',
    loops: '1',
    bits: 's',
  },
  deviations:
    'The lemma is one ReLU layer of 4 units per coordinate (4d), as built. It sizes no heads or width, so none are ' +
    'claimed; the built heads, width and head size are the harness: ' +
    '2d + 2 hard one-hot heads gather x, y, M and 1 − M; width = val, M, 1 − M of the tokens (3) + position and query ' +
    'codes + one(1) + x, y, out (d each) + M, 1 − M (2).',
  verifyAt: [
    { params: {} },
    { params: { d: '2' } },
    { params: { form: 'bias' }, fails: 'x + B_s·M saturates in F_s before the bias −2^s is added: the fixed:s check fails' },
  ],
  build(params) {
    const id = 'lemma-b8-gate';
    const { d, s, form } = paramValues(id, PARAMS, params);
    const values = gridValues(id, params, s);
    return buildGate({ d, s, values, form });
  },
});
