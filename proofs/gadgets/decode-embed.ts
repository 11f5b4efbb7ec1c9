// Lemma B.7: decode the argmax token and re-embed it. A residual whose logits over the vocabulary
// Σ are ℓ_1..ℓ_|Σ| becomes θ_TE(argmax ℓ), the embedding of the token greedy decoding would
// emit — the step Theorem 5.4 runs at the end of every loop so that position n+t holds the
// embedding of CoT token t.
//
// THE NETWORK (3 residual MLP layers, 4 with `readout`; the paper counts 5 ReLU layers of width |Σ|²):
//   [readout layer, only with `readout`: units `<name>.logit.pos/neg` (2|Σ|), relu(⟨x, U_v⟩) and
//     relu(−⟨x, U_v⟩) written back with +1/−1, so the scratch `logits` holds ℓ = x·U exactly — the
//     same sum, in the same order, as the model's own readout, so in F_s it rounds the same way.]
//   two layers of Lemma B.6 (proofs/gadgets/argmax.ts): the one-hot of the argmax into `onehot`;
//   embed layer: units `<name>.embed` (|Σ|), relu(onehot_v), output θ_TE(v) into `to` and −1 into
//     onehot_v (the scratch is cleared); units `<name>.clear.pos/neg` (2 per direction) zero the
//     logits scratch and every subspace in `clear`: with `to` among them, `to` is REPLACED by the
//     embedding (x ← θ_TE(argmax x·U)), which is what Theorem 5.4 does to the residual.
// Width max(|Σ|(|Σ| − 1), 2|Σ|, |Σ| + 2·(directions cleared)): within the claimed |Σ|² for |Σ| ≥ 2 with nothing to clear.
//
// PRECONDITION: as Lemma B.6 — logits on the grid 2^{−s}·Z (automatic in F_s), a unique maximum.
// On a tie the output is the SUM of the tied tokens' embeddings (the argmax's k-hot vector times
// θ_TE), which is in general no token's embedding: Theorem 5.4 must exclude ties (its CoT would
// have to break them, and the ReLU net does not). In F_s: exact for s ≥ 2 when every entry of θ_TE
// is in F_s (and sums of tied rows stay within ±B_s); see argmax.ts for s = 1.
//
// BIT ORDER: none of its own; the construction below embeds token v as sbin(v), least significant
// bit first (proofs/codes.ts).
import fc from 'fast-check';
import { ModelError } from '../../common/errors.ts';
import type { Layer, Model } from '../../simulators/model.ts';
import { type Rational, type Scalar, toRational } from '../../simulators/rational.ts';
import type { Selector } from '../../simulators/space.ts';
import { bitsFor, sbin } from '../codes.ts';
import { type BuiltConstruction, defineConstruction, defineParams, paramValues } from '../construction.ts';
import { ARGMAX_LAYERS, maximisers, writeArgmax } from './argmax.ts';
import { type GatherHarness, buildHarness, gridParam, gridValues, harnessBuilt, valueLabel } from './token-harness.ts';
import { addUnits, directions, expectBits, expectDisjoint, expectLayers, expectSize, sizeOf } from './units.ts';

export interface DecodeEmbedSpec {
  /** Prefix of the unit groups and of error messages. */
  name: string;
  /** Grid of the logits: multiples of 2^{−s}. */
  s: number;
  /** |Σ| directions: the logits, or (with `readout`) the scratch they are computed into (0 before and after). */
  logits: Selector;
  /** Compute the logits first, as ℓ = from·W_U (rows: the directions of `from`; columns: the |Σ| tokens). */
  readout?: { from: Selector; W_U: readonly (readonly Scalar[])[] };
  /** θ_TE: one row per token of Σ, each with as many entries as `to` has directions. */
  embedding: readonly (readonly Scalar[])[];
  /** Receives θ_TE(argmax) (added; list it in `clear` to replace what is there). */
  to: Selector;
  /** Scratch, |Σ| directions each, 0 before and after: the argmax's one-hot and its sums S_i. */
  onehot: Selector;
  sums: Selector;
  /** Subspaces the last layer sets to 0 (before `to` receives the embedding, when `to` is one of them). */
  clear?: readonly Selector[];
}

/** Layers the gadget occupies: 3, or 4 with a readout layer. */
export function decodeEmbedLayers(withReadout: boolean): number {
  return ARGMAX_LAYERS + 1 + (withReadout ? 1 : 0);
}

/** Writes Lemma B.7 into `layers` (3 consecutive layers, or 4 with `readout`). */
export function writeDecodeEmbed(model: Model, layers: readonly Layer[], spec: DecodeEmbedSpec): void {
  const where = `decode-embed '${spec.name}'`;
  expectLayers(where, layers, decodeEmbedLayers(spec.readout !== undefined));
  expectBits(where, spec.s);
  const V = sizeOf(model, spec.logits);
  const e = sizeOf(model, spec.to);
  expectSize(model, where, 'onehot', spec.onehot, V);
  expectSize(model, where, 'sums', spec.sums, V);
  if (spec.embedding.length !== V) throw new ModelError(`${where}: the embedding has ${spec.embedding.length} rows but logits has ${V} tokens`);
  spec.embedding.forEach((row, v) => {
    if (row.length !== e) throw new ModelError(`${where}: embedding row ${v} has ${row.length} entries but to "${model.residual.range(spec.to).what}" has ${e}`);
  });
  // `to` may be the readout's source or the logits themselves (replaced in place); the scratch may not alias anything.
  expectDisjoint(model, where, { logits: spec.logits, onehot: spec.onehot, sums: spec.sums, readout: spec.readout?.from });
  expectDisjoint(model, where, { onehot: spec.onehot, sums: spec.sums, to: spec.to });
  const ell = directions(model, spec.logits);
  let rest = layers;
  const clear: Selector[] = [...(spec.clear ?? [])];
  if (spec.readout) {
    const { from, W_U } = spec.readout;
    const xs = directions(model, from);
    if (W_U.length !== xs.length || W_U.some((row) => row.length !== V)) {
      throw new ModelError(`${where}: readout W_U must be ${xs.length}×${V} (directions of "${model.residual.range(from).what}" × tokens)`);
    }
    const pos = `${spec.name}.logit.pos`;
    const neg = `${spec.name}.logit.neg`;
    const labels = ell.map((sel) => model.residual.range(sel).what);
    const mlp = addUnits(model, layers[0], {
      [pos]: { size: V, describe: 'relu(⟨x, U_v⟩)', labels: labels.map((l) => `relu(+${l})`) },
      [neg]: { size: V, describe: 'relu(−⟨x, U_v⟩)', labels: labels.map((l) => `relu(−${l})`) },
    }, `decode-embed ${spec.name}: logits x·W_U into scratch`);
    xs.forEach((x, r) =>
      W_U[r].forEach((w, v) => {
        const u = toRational(w);
        if (u.n === 0n) return;
        mlp.W_in.add(x, [pos, v], u);
        mlp.W_in.add(x, [neg, v], u.neg());
      }),
    );
    for (let v = 0; v < V; v++) {
      mlp.W_out.add([pos, v], ell[v], 1);
      mlp.W_out.add([neg, v], ell[v], -1);
    }
    rest = layers.slice(1);
    clear.push(spec.logits);
  }
  writeArgmax(model, rest.slice(0, ARGMAX_LAYERS), { name: `${spec.name}.argmax`, from: spec.logits, to: spec.onehot, scratch: spec.sums, s: spec.s });

  const oh = directions(model, spec.onehot);
  const to = directions(model, spec.to);
  const cleared = clear.flatMap((sel) => directions(model, sel));
  const clearLabels = cleared.map((sel) => model.residual.range(sel).what);
  const embed = `${spec.name}.embed`;
  const cpos = `${spec.name}.clear.pos`;
  const cneg = `${spec.name}.clear.neg`;
  const last = addUnits(model, rest[ARGMAX_LAYERS], {
    [embed]: { size: V, describe: 'relu(onehot_v): writes θ_TE(v), clears onehot_v', labels: oh.map((sel) => `embed ${model.residual.range(sel).what}`) },
    [cpos]: { size: cleared.length, describe: 'relu(z), subtracted from z', labels: clearLabels.map((l) => `clear +${l}`) },
    [cneg]: { size: cleared.length, describe: 'relu(−z), added to z', labels: clearLabels.map((l) => `clear −${l}`) },
  }, `decode-embed ${spec.name}: θ_TE of the one-hot, scratch cleared`);
  for (let v = 0; v < V; v++) {
    last.W_in.add(oh[v], [embed, v], 1);
    last.W_out.add([embed, v], oh[v], -1);
    spec.embedding[v].forEach((w, k) => last.W_out.add([embed, v], to[k], w));
  }
  cleared.forEach((z, c) => {
    last.W_in.add(z, [cpos, c], 1);
    last.W_out.add([cpos, c], z, -1);
    last.W_in.add(z, [cneg, c], -1);
    last.W_out.add([cneg, c], z, 1);
  });
}

// ---------------------------------------------------------------- reference

/** Σ of θ_TE over the maximisers of ℓ: θ_TE(argmax ℓ) when the maximum is unique. */
export function decodeEmbedReference(logits: readonly Rational[], embedding: readonly (readonly Rational[])[]): string[] {
  const g = maximisers(logits);
  const e = embedding[0]?.length ?? 0;
  return Array.from({ length: e }, (_, k) =>
    embedding.reduce((acc, row, v) => (g[v] === '1' ? acc.add(row[k]) : acc), toRational(0)).toFraction(),
  );
}

// ---------------------------------------------------------------- the construction

export interface DecodeEmbedHarnessSpec {
  /** |Σ|. */
  V: number;
  s: number;
  values: readonly Rational[];
  /** θ_TE, |Σ| rows; default sbin(v, bitsFor(|Σ|)). */
  embedding?: readonly (readonly Rational[])[];
}

export type DecodeEmbedBuilt = BuiltConstruction<number[], string[]> & { harness: GatherHarness; embedding: readonly (readonly Rational[])[] };

/** θ_TE(v) = sbin(v, bitsFor(|Σ|)): distinct ±1 rows, in F_s for every s. */
export function sbinTable(V: number): Rational[][] {
  const e = bitsFor(V);
  return Array.from({ length: V }, (_, v) => sbin(v, e).map((x) => toRational(x)));
}

/**
 * A model that reads |Σ| scalar tokens (the logits ℓ_1..ℓ_|Σ|), gathers them at the last position
 * into `logits` (harness heads) and runs Lemma B.7 into `emb`; the readout exposes `emb`.
 */
export function buildDecodeEmbed(spec: DecodeEmbedHarnessSpec): DecodeEmbedBuilt {
  const { V, s } = spec;
  const table = spec.embedding ?? sbinTable(V);
  const e = table[0]?.length ?? 0;
  const harness = buildHarness({
    name: `lemma-b7-decode-embed V=${V} s=${s}`,
    description: `the embedding of the argmax token of ${V} logits on the 2^-${s} grid (Lemma B.7)`,
    tokens: spec.values.map((v) => ({ label: valueLabel(v), embed: { val: [v] } })),
    tokenParts: { val: { size: 1, describe: 'the scalar value of the token (one logit)' } },
    length: V,
    reads: Array.from({ length: V }, (_, j) => ({ position: j, from: 'val', to: ['logits', j] as const })),
    parts: {
      logits: { size: V, describe: 'ℓ: the logits over Σ, gathered at the last position' },
      sums: { size: V, describe: 'argmax scratch S_v' },
      onehot: { size: V, describe: 'argmax scratch: one-hot of the argmax token' },
      emb: { size: e, describe: 'θ_TE(argmax ℓ)' },
    },
    layers: decodeEmbedLayers(false),
    write: (model, layers) => writeDecodeEmbed(model, layers, { name: 'decode', s, logits: 'logits', embedding: table, to: 'emb', onehot: 'onehot', sums: 'sums' }),
    probes: ['emb'],
  });
  const values = spec.values;
  const rowKey = table.map((row) => row.map((x) => x.toFraction()).join(','));
  const built = harnessBuilt<string[]>(harness, {
    s,
    sizeScope: { V, s, e },
    decode: (p) => p.emb,
    reference: (tokens) => decodeEmbedReference(tokens.map((t) => values[t]), table),
    equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
    formatAnswer: (o) => ({ embedding: o, token: rowKey.indexOf(o.join(',')) >= 0 ? rowKey.indexOf(o.join(',')) : null }),
    arbitrary: () => fc.array(fc.nat(values.length - 1), { minLength: V, maxLength: V }),
    exhaustive: { symbols: values.length, minLength: V, maxLength: V },
  });
  return { ...built, harness, embedding: table };
}

const PARAMS = defineParams([
  { name: 'V', describe: '|Σ|, the number of logits (tokens)', default: '3', kind: 'int', min: 1, max: 8 },
  { name: 's', describe: 'grid 2^−s and bits of F_s (s ≥ 2, as Lemma B.6)', default: '2', kind: 'int', min: 2, max: 26 },
  gridParam,
]);

export const lemmaB7DecodeEmbed = defineConstruction<number[], string[]>({
  id: 'lemma-b7-decode-embed',
  title: 'Decode the argmax token and re-embed it',
  theorem: 'Lemma B.7',
  statement:
    'A ReLU network turns logits ℓ over a vocabulary Σ (on the grid 2^{−s}·Z, unique maximum) into θ_TE(argmax ℓ), the ' +
    'embedding of the greedy token: Lemma B.6 gives the one-hot of the argmax, and one more layer maps it through θ_TE ' +
    'and clears the scratch. On a tie the output is the sum of the tied tokens\' embeddings. Here the |Σ| logits are ' +
    'scalar tokens gathered at the last position and θ_TE(v) = sbin(v) (least significant bit first); exact in F_s for s ≥ 2.',
  params: PARAMS,
  // paper-notes §3, Theorem 5.4: "Lemma B.7: 5 ReLU layers of width |Σ|²". The lemma states no heads
  // and no width (the harness that gathers the logits is ours), so none are claimed.
  claimed: {
    layersPerBlock: '5',
    mlpWidth: 'V^2',
    loops: '1',
    bits: 's',
  },
  deviations:
    'The paper counts 5 ReLU layers of width |Σ|²; the net is 3 residual MLP layers (argmax 2, embed 1) of width |Σ|(|Σ|−1), ' +
    'with the logits given; 4 when the writer also computes the logits from a residual (its `readout` option). The lemma ' +
    'sizes no heads or width, so none are claimed; the built heads, ' +
    'width and head size are the harness: |Σ| hard one-hot heads gather the logits; width = val(1) + position and query ' +
    'codes + one(1) + logits, S and one-hot (|Σ| each) + the embedding (bitsFor(|Σ|)).',
  build(params) {
    const id = 'lemma-b7-decode-embed';
    const { V, s } = paramValues(id, PARAMS, params);
    const values = gridValues(id, params, s);
    return buildDecodeEmbed({ V, s, values });
  },
});
