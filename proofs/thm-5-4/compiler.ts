// Theorem 5.4: what the two variants of the compiler share. Variant (a) (proofs/thm-5-4/masked.ts)
// keeps the earlier positions with explicit loop masks; variant (b) (proofs/thm-5-4/unmasked.ts)
// keeps them with a comparator, a counter and a gate inside the block. Both build the same state
// and the same L + 5 layers around it; they differ in what the decode–encode layers clear, where
// SHIFT writes, and what the last MLP does besides. So the block is assembled here in steps:
//
//   startThm54      checks the source and the options, extends the residual (the shared parts,
//                   then the variant's own), writes the embedding and the readout, and copies the
//                   source layers (layers 0..L−1);
//   addReadoutLayer layer L: ℓ = x·W_U into the scratch `logits`;
//   addDecodeLayers layers L+1..L+3: Lemma B.7, logits ← one-hot of argmax ℓ; clears what it is told;
//   addShiftLayer   layer L+4: the SHIFT head (Lemma B.4/B.9) from `logits` at i − 1 into a
//                   subspace the variant names, optionally with θ_TE through W_O; its MLP clears
//                   `logits` and adds θ_PE(i) back by a lookup on sbin(i);
//   finishThm54     one stage of m loops (with the variant's mask, or none), validated.
//
// The state layout, the preconditions and the argument are in the two variants' headers. The
// source's unrolling, the fresh names and the copies are proofs/compiler/kit.ts (Theorem 5.2 uses them too).
// Thm54Options.codeBits (erratum 5, variant a only) shortens the codes pos and prev to a constant
// size: they wrap (i mod 2^codeBits), and SHIFT and the θ_PE lookup read them at that size.
import { UnsupportedError, UsageError } from '../../common/errors.ts';
import { type Head, type Layer, type Mask, type Model, addStage, createLayer, createModel, validateModel } from '../../simulators/model.ts';
import type { Selector, Space, SubspaceSpec } from '../../simulators/space.ts';
import { type DistinctLayer, copyHead, copyInto, copyMlp, layerSizes, nameAllocator, unrollSource } from '../compiler/kit.ts';
import { bitLength, bitsFor, embedConstantOne, embedPositionCodes, sbin } from '../codes.ts';
import { decodeEmbedLayers, writeDecodeEmbed } from '../gadgets/decode-embed.ts';
import { addOneHotHead } from '../gadgets/lemma-b4.ts';
import { addUnits } from '../gadgets/units.ts';

/** masks: variant (a), the loop masks of Def. B.4; no-masks: variant (b), comparator + counter + gate. */
export type Thm54Variant = 'masks' | 'no-masks';
export const THM54_VARIANTS: readonly Thm54Variant[] = ['masks', 'no-masks'];

export interface Thm54Options {
  /** Prompt length n: the looped model reads exactly n prompt tokens, then m tokens #. */
  n: number;
  /** CoT steps m = loops. */
  m: number;
  /** Bits of the position codes and grid of the argmax (default ⌊log2(n + m)⌋ + 1; at least bitsFor(n + m)). */
  s?: number;
  /** The new token (default "#"); an error if the source vocabulary has it. */
  startToken?: string;
  name?: string;
  /**
   * ERRATUM 5 ONLY (variant a): the size of the position codes pos and prev, a constant that does
   * not grow with n + m, as the statement's "constantly many" extra dimensions would have it. The
   * codes are then i mod 2^codeBits (sbin with wrap), and any n + m > 2^codeBits makes two
   * positions share a code. Default: s, the proof's ⌊log2(n + m)⌋ + 1 (what the theorem needs).
   */
  codeBits?: number;
}

export interface Thm54Scope {
  L: number;
  d: number;
  H: number;
  V: number;
  n: number;
  m: number;
  s: number;
  N: number;
  dFF: number;
  dATTN: number;
  [key: string]: number;
}

/** The compiler's own subspaces (fresh names: a source subspace called `tok` makes ours `tok'`). */
export interface Thm54Names {
  pos: string;
  prev: string;
  one: string;
  tok: string;
  logits: string;
  onehot: string;
  sums: string;
  /** Variant (b) only: the loop counter sbin(n + t − 1), its wrap count, and the scratch M, 1 − M. */
  counter?: string;
  wrap?: string;
  mask?: string;
  maskNot?: string;
}

export interface Thm54Compiled {
  model: Model;
  source: Model;
  n: number;
  m: number;
  s: number;
  /** The source layers in depth order (the block's first L layers copy them). */
  schedule: Layer[];
  scope: Thm54Scope;
  /** Index of # in the looped vocabulary (source tokens keep their indices). */
  startToken: number;
  names: Thm54Names;
  /** Which variant built it (a: loop masks; b: none). */
  variant: Thm54Variant;
  /** Variant (b): the exponent g of the gate's constant 2^g (Lemma B.8). */
  gateBits?: number;
  /** Bits of the position codes pos and prev: s, except in an erratum-5 build (Thm54Options.codeBits). */
  codeBits: number;
}


// ---------------------------------------------------------------- the source

/** The unrolled schedule, its distinct layers and the scope; refuses what Theorem 5.4 does not cover. */
export function analyseDecoder(source: Model, n: number, m: number): { schedule: Layer[]; distinct: DistinctLayer[]; r: number[]; scope: { L: number; d: number; H: number; V: number; dFF: number; dATTN: number } } {
  validateModel(source);
  if (source.readout !== 'last') throw new UnsupportedError(`Theorem 5.4 compiles decoders read at the last position; "${source.name}" reads out at every position (readout 'all')`);
  const u = unrollSource(source, {
    theorem: 'Theorem 5.4',
    models: 'decoders',
    stage: (stage, s) =>
      stage.layers.forEach((layer, l) =>
        layer.heads.forEach((h) => {
          if (!h.causal) throw new UnsupportedError(`Theorem 5.4 compiles decoders, but stage ${s}, layer ${l}, head '${h.name}' of "${source.name}" is not causal: later positions (the #s) would change earlier ones`);
        }),
      ),
  });
  const need = n + m - 1;
  if (source.positions.dim < need) {
    throw new UsageError(`Theorem 5.4: ${m} CoT steps on a prompt of ${n} read ${need} positions, but "${source.name}" has ${source.positions.dim} (lower n or m)`);
  }
  const { H, dFF, dATTN } = layerSizes(u.schedule);
  return { schedule: u.schedule, distinct: u.distinct, r: u.r, scope: { L: u.schedule.length, d: source.residual.dim, H, V: source.vocab.dim, dFF, dATTN } };
}

// ---------------------------------------------------------------- copies

/** A source layer over the compiled residual (it reads and writes the source parts only). */
function copyLayer(residual: Space, src: Layer, depth: number): Layer {
  const layer = createLayer(`source layer at depth ${depth + 1}${src.role ? `: ${src.role}` : ''}`);
  for (const h of src.heads) layer.heads.push(copyHead(residual, h, `block layer ${depth}, head '${h.name}'`));
  if (src.mlp) layer.mlp = copyMlp(residual, src.mlp, `block layer ${depth}, mlp`);
  return layer;
}

// ---------------------------------------------------------------- the block, step by step

/** A block under construction: the model, its names, and the layers so far (in depth order). */
export interface Thm54Draft {
  model: Model;
  source: Model;
  n: number;
  m: number;
  s: number;
  /** Bits of pos and prev (s unless an erratum-5 build shortens them). */
  codeBits: number;
  N: number;
  V: number;
  L: number;
  schedule: Layer[];
  sourceScope: ReturnType<typeof analyseDecoder>['scope'];
  names: Thm54Names;
  /** The variant's own subspaces: base name → the fresh name it got. */
  extra: Record<string, string>;
  startLabel: string;
  layers: Layer[];
  variant: Thm54Variant;
}

export interface Thm54DraftSpec {
  variant: Thm54Variant;
  /** The variant's own residual subspaces (after the shared ones), by base name, given s. */
  extra?: (s: number) => Record<string, SubspaceSpec>;
  /** The default model name and the description, given the numbers. */
  name: (k: { source: Model; n: number; m: number }) => string;
  describe: (k: { source: Model; n: number; m: number; L: number; s: number; start: string }) => string;
}

/**
 * Checks the options and the source, builds the residual (source parts, then pos, prev, one, tok,
 * logits, onehot, sums, then the variant's own), the embedding and the readout of `tok`, and
 * copies the source layers (a Layer listed twice is copied once and listed twice).
 */
export function startThm54(source: Model, options: Thm54Options, spec: Thm54DraftSpec): Thm54Draft {
  const { n, m } = options;
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`Theorem 5.4: the prompt length n must be a whole number ≥ 1, got ${n}`);
  if (!Number.isInteger(m) || m < 1) throw new UsageError(`Theorem 5.4: the step count m must be a whole number ≥ 1, got ${m}`);
  const N = n + m;
  const s = options.s ?? bitLength(n + m); // ⌊log2(n + m)⌋ + 1, the proof's bits (erratum 5)
  if (!Number.isInteger(s) || s < bitsFor(N) || s > 26) {
    throw new UsageError(`Theorem 5.4: s must be a whole number of bits in ${bitsFor(N)}..26 (the codes of ${N} positions must differ), got ${s}`);
  }
  const codeBits = options.codeBits ?? s;
  if (!Number.isInteger(codeBits) || codeBits < 1 || codeBits > s) {
    throw new UsageError(`Theorem 5.4: codeBits (erratum 5: the constant size of the position codes) must be a whole number in 1..s = 1..${s}, got ${codeBits}`);
  }
  // A code shorter than bitsFor(N) aliases positions (i and i + 2^codeBits): built on purpose for erratum 5.
  const wrap = { wrap: codeBits < bitsFor(N) };
  const analysis = analyseDecoder(source, n, m);
  const { L, V } = analysis.scope;
  const start = options.startToken ?? '#';
  if (source.vocab.labels.includes(start)) {
    throw new UnsupportedError(`Theorem 5.4 appends a new token "${start}", but the vocabulary of "${source.name}" already has "${start}" (name another start token)`);
  }

  const nm = nameAllocator(source.residual);
  const names: Thm54Names = { pos: nm('pos'), prev: nm('prev'), one: nm('one'), tok: nm('tok'), logits: nm('logits'), onehot: nm('onehot'), sums: nm('sums') };
  const extraSpecs = spec.extra?.(s) ?? {};
  const extra: Record<string, string> = {};
  const extraParts: Record<string, SubspaceSpec> = {};
  for (const [base, sub] of Object.entries(extraSpecs)) {
    extra[base] = nm(base);
    extraParts[extra[base]] = sub;
  }
  const vocabLabels = source.vocab.labels;
  const residual = source.residual.extend({
    [names.pos]: { size: codeBits, describe: 'sbin(i): the position code (key of SHIFT, lookup of θ_PE), least significant bit first' },
    [names.prev]: { size: codeBits, describe: 'sbin(max(i − 1, 0)): the previous position (query of SHIFT)' },
    [names.one]: { size: 1, describe: 'the constant 1' },
    [names.tok]: { size: V, labels: vocabLabels.map((x) => `${names.tok}[${x}]`), describe: 'one-hot of the token held at i (0 for #): the readout reads it' },
    [names.logits]: { size: V, labels: vocabLabels.map((x) => `${names.logits}[${x}]`), describe: 'scratch: ℓ = x·W_U, then the one-hot of argmax ℓ (0 between loops)' },
    [names.onehot]: { size: V, describe: 'Lemma B.7 scratch: the argmax one-hot (0 between loops)' },
    [names.sums]: { size: V, describe: 'Lemma B.6 scratch: S_v = Σ_u relu(ℓ_u − ℓ_v) (0 between loops)' },
    ...extraParts,
  });
  const model = createModel({
    name: options.name ?? spec.name({ source, n, m }),
    description: spec.describe({ source, n, m, L, s, start }),
    vocab: [...vocabLabels, start],
    residual,
    maxLen: N,
    readout: 'last',
    // The input is (v, #^m): `looped run --model` appends the #s to a prompt of n tokens itself.
    padding: { promptLength: n, token: start, count: m },
  });

  // Embedding: source token v ↦ θ_TE(v) and e_v on tok; # ↦ 0; position i ↦ θ_PE(i) (0 beyond the source), codes, 1.
  copyInto(model.W_E, source.W_E);
  for (let v = 0; v < V; v++) model.W_E.set(['vocab', v], [names.tok, v], 1);
  source.W_pos.rowsSparse().forEach((row, p) => {
    if (p < N) for (const e of row) model.W_pos.setAt(p, e.col, e.exact);
  });
  embedPositionCodes(model, names.pos, codeBits, undefined, wrap);
  embedPositionCodes(model, names.prev, codeBits, (i) => Math.max(i - 1, 0), wrap);
  embedConstantOne(model, names.one);
  // Readout: the token held at the position.
  for (let v = 0; v < V; v++) model.W_U.set([names.tok, v], ['vocab', v], 1);

  // A Layer listed twice is copied once (at its first depth) and listed twice.
  const copies = analysis.distinct.map((x) => copyLayer(residual, x.layer, x.depths[0] - 1));
  const layers: Layer[] = analysis.r.map((k) => copies[k]);
  return { model, source, n, m, s, codeBits, N, V, L, schedule: analysis.schedule, sourceScope: analysis.scope, names, extra, startLabel: start, layers, variant: spec.variant };
}

/** The source's own subspaces (what the decode–encode layers clear). */
export function sourceParts(draft: Thm54Draft): string[] {
  return draft.source.residual.parts.map((p) => p.name);
}

/** Layer L: MLP units readout.pos/neg (2V), relu(±⟨x, U_v⟩), so `logits` receives ℓ = x·W_U exactly. */
export function addReadoutLayer(draft: Thm54Draft): Layer {
  const { model, source, V, names } = draft;
  const vocabLabels = source.vocab.labels;
  const readout = createLayer('readout: the source logits x·W_U into the scratch `logits`');
  const ro = addUnits(model, readout, {
    'readout.pos': { size: V, labels: vocabLabels.map((x) => `relu(+ℓ[${x}])`), describe: 'relu(⟨x, U_v⟩)' },
    'readout.neg': { size: V, labels: vocabLabels.map((x) => `relu(−ℓ[${x}])`), describe: 'relu(−⟨x, U_v⟩)' },
  }, 'logits ℓ = x·W_U of the source readout');
  source.W_U.rowsSparse().forEach((row, r) =>
    row.forEach((e) => {
      ro.W_in.setAt(r, ro.hidden.index('readout.pos', e.col), e.exact);
      ro.W_in.setAt(r, ro.hidden.index('readout.neg', e.col), e.exact.neg());
    }),
  );
  for (let v = 0; v < V; v++) {
    ro.W_out.set(['readout.pos', v], [names.logits, v], 1);
    ro.W_out.set(['readout.neg', v], [names.logits, v], -1);
  }
  draft.layers.push(readout);
  return readout;
}

/** Layers L+1..L+3: Lemma B.7 with the identity as θ_TE — logits ← one-hot(argmax ℓ); `clear` set to 0. */
export function addDecodeLayers(draft: Thm54Draft, clear: readonly Selector[]): Layer[] {
  const { model, V, s, names } = draft;
  const decode = Array.from({ length: decodeEmbedLayers(false) }, (_, k) => createLayer(`decode–encode (Lemma B.7), layer ${k + 1}`));
  const identityV = Array.from({ length: V }, (_, v) => Array.from({ length: V }, (_, u) => (u === v ? 1 : 0)));
  writeDecodeEmbed(model, decode, { name: 'decode', s, logits: names.logits, embedding: identityV, to: names.logits, onehot: names.onehot, sums: names.sums, clear });
  draft.layers.push(...decode);
  return decode;
}

/**
 * Layer L+4: SHIFT (Lemma B.9) — the Lemma B.4 head (query prev, key pos) copies the one-hot in
 * `logits` at position i − 1 into `to` and, with `embedding`, the source token embedding θ_TE into
 * the source parts through W_O; its MLP clears `logits` (relu(ℓ_v), V units) and adds θ_PE(i) to the
 * source parts by a lookup on sbin(i): unit k is relu(⟨sbin(k), pos⟩ − (s − 1)·one) = 1[i = k] (N units).
 */
export function addShiftLayer(draft: Thm54Draft, o: { to: string; embedding: boolean; role: string; headRole: string }): { layer: Layer; head: Head } {
  const { model, source, V, N, names } = draft;
  // The codes' bits (s; fewer in an erratum-5 build, whose codes wrap and alias positions).
  const s = draft.codeBits;
  const vocabLabels = source.vocab.labels;
  const shift = createLayer(o.role);
  const head = addOneHotHead(model, shift, {
    name: 'shift',
    role: o.headRole,
    bits: s,
    query: names.prev,
    key: names.pos,
    one: names.one,
    from: names.logits,
    to: o.to,
  });
  if (o.embedding) source.W_E.rowsSparse().forEach((row, v) => row.forEach((e) => head.W_O.setAt(head.ov.index('value', v), e.col, e.exact)));
  const posRows = source.W_pos.rowsSparse();
  const fin = addUnits(model, shift, {
    'shift.clear': { size: V, labels: vocabLabels.map((x) => `clear ${names.logits}[${x}]`), describe: 'relu(ℓ_v), subtracted: the scratch is 0 again' },
    pe: { size: N, labels: Array.from({ length: N }, (_, k) => `1[i=${k}]`), describe: 'relu(⟨sbin(k), pos⟩ − (s − 1)) = 1[i = k]: writes θ_PE(k)' },
  }, 'clear the scratch; add θ_PE(i) back by a lookup on sbin(i)');
  for (let v = 0; v < V; v++) {
    fin.W_in.set([names.logits, v], ['shift.clear', v], 1);
    fin.W_out.set(['shift.clear', v], [names.logits, v], -1);
  }
  for (let k = 0; k < N; k++) {
    sbin(k, s, { wrap: true }).forEach((c, b) => fin.W_in.set([names.pos, b], ['pe', k], c));
    fin.W_in.set(names.one, ['pe', k], -(s - 1));
    for (const e of posRows[k] ?? []) fin.W_out.setAt(fin.hidden.index('pe', k), e.col, e.exact);
  }
  draft.layers.push(shift);
  return { layer: shift, head };
}

/** One stage of m loops over the layers built, with `mask` (variant a) or none (variant b). */
export function finishThm54(draft: Thm54Draft, mask: Mask | null, more: Partial<Thm54Compiled> = {}): Thm54Compiled {
  addStage(draft.model, draft.layers, draft.m, mask);
  validateModel(draft.model);
  return {
    model: draft.model,
    source: draft.source,
    n: draft.n,
    m: draft.m,
    s: draft.s,
    schedule: draft.schedule,
    scope: { ...draft.sourceScope, n: draft.n, m: draft.m, s: draft.s, N: draft.N },
    startToken: draft.V,
    names: draft.names,
    variant: draft.variant,
    codeBits: draft.codeBits,
    ...more,
  };
}
