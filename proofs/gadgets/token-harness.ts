// The harness that turns an MLP gadget (Lemmas B.6–B.11) into a model with token inputs, so each
// lemma is a registered construction checked end to end like a theorem.
//
// An input is a fixed number k of tokens. Each token embeds a small vector (a scalar value, a
// signed binary code, a mask bit) into token subspaces through W_E. The last position gathers the
// tokens it needs with hard one-hot heads (Lemma B.4, addOneHotHead: position codes from W_pos,
// query = the code of the position to read), all in the gadget's first layer, before its MLP; the
// gadget's writer then writes its layers between named subspaces; the readout (last position)
// exposes the gadget's output subspaces through PROBE tokens: W_U copies each output direction to
// a token of its own (labelled `→<direction>`), so the decoder reads the exact output values from
// the logits (exactLogits under exact and fixed:s) and never has to trust an argmax. Where the
// inputs are a single token, the token embeds straight into the gadget's input and there are no
// heads.
//
// The gather heads are harness, not lemma: they run as hard attention under every check. The
// checks are `exact` and `fixed:s` — s the gadget's own bits — on the same model.
import type { Arbitrary } from 'fast-check';
import { Fraction } from 'mathjs';
import { InputError, ModelError, UsageError } from '../../common/errors.ts';
import { type Layer, type Model, addStage, createLayer, createModel } from '../../simulators/model.ts';
import { type Rational, type Scalar, exactFromDouble } from '../../simulators/rational.ts';
import type { RunResult } from '../../simulators/result.ts';
import { type Selector, type SubspaceSpec, space } from '../../simulators/space.ts';
import { bitsFor, embedConstantOne, embedPositionCodes } from '../codes.ts';
import { type BuiltConstruction, type InterpreterCheck, type ParamSpec, type Params, type WordSpace, orAuto, readParam } from '../construction.ts';
import { echoItem, parseJsonArray } from '../input-parsing.ts';
import { addOneHotHead } from './lemma-b4.ts';

export interface HarnessToken {
  label: string;
  /** Subspace name → the vector the token writes there (a token subspace, or a gadget part when there are no heads). */
  embed: Record<string, readonly Scalar[]>;
}

export interface HarnessRead {
  /** Input position read by the last position… */
  position: number;
  /** …its token subspace… */
  from: string;
  /** …added into this gadget subspace (same size). */
  to: Selector;
}

export interface HarnessSpec {
  name: string;
  description: string;
  /** The input vocabulary (token ids 0..tokens.length−1); probe tokens follow it. */
  tokens: readonly HarnessToken[];
  /** Subspaces the tokens embed into, first in the residual. */
  tokenParts: Record<string, number | SubspaceSpec>;
  /** Every input is exactly this many tokens. */
  length: number;
  /** One hard one-hot head per read, in the first layer. */
  reads: readonly HarnessRead[];
  /** The gadget's subspaces (inputs, scratch, outputs), last in the residual. */
  parts: Record<string, number | SubspaceSpec>;
  /** Layers the gadget needs. */
  layers: number;
  write(model: Model, layers: Layer[]): void;
  /** Gadget subspaces exposed by the readout, one probe token per direction. */
  probes: readonly string[];
  /** Extra readout columns (e.g. each counter token scores ⟨sbin(v), counter⟩, so the argmax token is the answer). */
  unembed?(model: Model): void;
}

export interface GatherHarness {
  model: Model;
  /** Number of input tokens (probe tokens come after them). */
  inputTokens: number;
  length: number;
  labels: readonly string[];
  /** The exact values of every probe subspace at the last position, as fractions ("3/4"), by subspace. */
  probe(run: RunResult): Record<string, string[]>;
}

export function buildHarness(spec: HarnessSpec): GatherHarness {
  const k = spec.length;
  const p = bitsFor(k);
  const positions = [...new Set(spec.reads.map((r) => r.position))].sort((a, b) => a - b);
  for (const r of spec.reads) {
    if (!Number.isInteger(r.position) || r.position < 0 || r.position >= k) throw new ModelError(`${spec.name}: a read of position ${r.position} is outside 0..${k - 1}`);
  }
  const gather: Record<string, number | SubspaceSpec> =
    spec.reads.length === 0
      ? {}
      : {
          pos: { size: p, describe: 'sbin(i): the position code (keys of the gather heads)' },
          ...Object.fromEntries(positions.map((j) => [`at.${j}`, { size: p, describe: `sbin(${j}): query of the heads that read input position ${j}` }])),
          one: { size: 1, describe: 'constant 1 (the gather heads need it)' },
        };
  const names = [...Object.keys(spec.tokenParts), ...Object.keys(gather), ...Object.keys(spec.parts)];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ModelError(`${spec.name}: subspace "${dup}" is declared twice`);
  const residual = space({ ...spec.tokenParts, ...gather, ...spec.parts });
  const probeLabels = spec.probes.flatMap((name) => residual.get(name).labels.map((l) => `→${l}`));
  const model = createModel({
    name: spec.name,
    description: spec.description,
    vocab: [...spec.tokens.map((t) => t.label), ...probeLabels],
    residual,
    maxLen: k,
    readout: 'last',
  });
  spec.tokens.forEach((t, id) => {
    for (const [part, vec] of Object.entries(t.embed)) model.W_E.write(['vocab', id], part, [vec]);
  });
  const layers = Array.from({ length: spec.layers }, (_, l) => createLayer(`${spec.name}: gadget layer ${l + 1}`));
  if (spec.reads.length > 0) {
    embedPositionCodes(model, 'pos', p);
    for (const j of positions) embedPositionCodes(model, `at.${j}`, p, () => j);
    embedConstantOne(model, 'one');
    spec.reads.forEach((r, h) =>
      addOneHotHead(model, layers[0], {
        name: `read${h}`,
        role: `harness: copies ${r.from} of input position ${r.position} into ${residual.range(r.to).what}`,
        bits: p,
        query: `at.${r.position}`,
        key: 'pos',
        one: 'one',
        from: r.from,
        to: r.to,
      }),
    );
  }
  spec.write(model, layers);
  addStage(model, layers, 1);
  let probeId = spec.tokens.length;
  for (const name of spec.probes) {
    for (let d = 0; d < residual.get(name).size; d++) model.W_U.set([name, d], ['vocab', probeId++], 1);
  }
  spec.unembed?.(model);
  const inputTokens = spec.tokens.length;
  return {
    model,
    inputTokens,
    length: k,
    labels: spec.tokens.map((t) => t.label),
    probe(run) {
      const r = run.readouts[run.readouts.length - 1];
      const out: Record<string, string[]> = {};
      let id = inputTokens;
      for (const name of spec.probes) {
        const vals: string[] = [];
        for (let d = 0; d < residual.get(name).size; d++, id++) vals.push(r.exactLogits?.[id] ?? exactFromDouble(r.logits[id]).toFraction());
        out[name] = vals;
      }
      return out;
    },
  };
}

export interface HarnessBuiltSpec<O> {
  /** Bits of F_s for the fixed-point check. */
  s: number;
  sizeScope: Record<string, number>;
  decode(probes: Record<string, string[]>): O;
  reference(tokens: number[]): O;
  equal(a: O, b: O): boolean;
  formatAnswer(answer: O): unknown;
  arbitrary(): Arbitrary<number[]>;
  exhaustive?: WordSpace;
  /** Rejects a word that is not an input (a mask token where a value belongs…) with a message naming the position. */
  validate?(tokens: readonly number[]): string | null;
}

/** The BuiltConstruction of a harness model: inputs are token ids (labels accepted by parseInput), answers what `decode` makes of the probes. */
export function harnessBuilt<O>(h: GatherHarness, o: HarnessBuiltSpec<O>): BuiltConstruction<number[], O> {
  const name = h.model.name;
  const check = (tokens: readonly number[]): void => {
    if (tokens.length !== h.length) throw new InputError(`${name}: an input is exactly ${h.length} token${h.length === 1 ? '' : 's'}, got ${tokens.length}`);
    tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= h.inputTokens) throw new InputError(`${name}: token ${t} at position ${i} is not an input token (0..${h.inputTokens - 1})`);
    });
    const bad = o.validate?.(tokens) ?? null;
    if (bad !== null) throw new InputError(`${name}: ${bad}`);
  };
  const checks: InterpreterCheck[] = [
    { label: 'exact, hard attention', interpreter: 'exact', model: h.model },
    { label: `fixed:${o.s}, hard attention`, interpreter: `fixed:${o.s}`, model: h.model },
  ];
  return {
    model: h.model,
    sizeScope: o.sizeScope,
    bits: o.s,
    encode(input) {
      check(input);
      return [...input];
    },
    decode: (run) => o.decode(h.probe(run)),
    reference: o.reference,
    equal: o.equal,
    parseInput(text) {
      const ids = parseJsonArray(text, {
        where: name,
        expected: `${h.length} token ids or labels`,
        example: JSON.stringify(h.labels.slice(0, h.length)),
        item: (x, i) => {
          if (typeof x === 'number') return x;
          const id = typeof x === 'string' ? h.labels.indexOf(x) : -1;
          if (id < 0) throw new Error(`${echoItem(x)} at position ${i} is not an input token label`);
          return id;
        },
      });
      check(ids);
      return ids;
    },
    formatAnswer: o.formatAnswer,
    formatInput: (input) => JSON.stringify(input),
    arbitrary: o.arbitrary,
    exhaustive: o.exhaustive,
    checks,
    extraLoopsStable: { holds: false, why: 'a gadget is one pass: looping the block applies it again to its own output' },
  };
}

// ---------------------------------------------------------------- value grids

/** The most scalar tokens a gadget construction builds (readout cost grows with the vocabulary). */
export const MAX_GRID_TOKENS = 8191;

export const gridParam = {
  name: 'r',
  describe:
    'scalar tokens are the values k·2^−s for |k| ≤ r, r in 0..2^(2s)−1; auto = 2^(2s) − 1, all of F_s, when that is at most 8191 tokens (s ≤ 6), ' +
    'else r = 4095 (values near 0 only; the tests sample all of F_s for large s)',
  default: 'auto',
  kind: 'int',
  min: 0,
  auto: '2^(2s) − 1 while that is at most 8191 tokens, else 4095',
} as const satisfies ParamSpec;

/** The grid {k·2^−s : |k| ≤ r} of the `r` parameter, from −r to r. */
export function gridValues(id: string, params: Params, s: number): Rational[] {
  const top = 2 ** (2 * s) - 1;
  const given = readParam(id, { ...gridParam, max: top }, params);
  const r = orAuto(given, () => (2 * top + 1 <= MAX_GRID_TOKENS ? top : (MAX_GRID_TOKENS - 1) / 2));
  if (2 * r + 1 > MAX_GRID_TOKENS) throw new UsageError(`parameter r of ${id} is ${r}: ${2 * r + 1} tokens is more than ${MAX_GRID_TOKENS}; use r ≤ ${(MAX_GRID_TOKENS - 1) / 2}`);
  return Array.from({ length: 2 * r + 1 }, (_, i) => new Fraction(i - r, 2 ** s));
}

/** "3/4", "-1", "0". */
export function valueLabel(v: Rational): string {
  return v.toFraction();
}
