// Theorem 5.2 as properties: on random source models (simulators/random-model.ts, as data so
// fast-check shrinks them) and random inputs v, the compiled model on (#, v) gives the source's
// output distribution —
//   exact    hard attention: the logits of every source token, at every position read, are the
//            source's EXACTLY (same rationals), and so is the answer;
//   float64  softmax: the logits within TOLERANCE (relative, 1e-9) — in practice bit-identical,
//            because every softmax weight on the wrong side of position 0 underflows to 0.
// Sources mix stages, loops and shared layers: a stage may reuse the first stage's Layer objects,
// so one distinct layer runs in several stages. The erratum variants are searched with the same
// arbitraries and seed; a failure is shrunk (model and input together) and returned with the
// source as a model file and the commands that replay it.
import fc from 'fast-check';
import {
  type Gate,
  type Thm52Compiled,
  type Thm52Output,
  type Variant,
  compileThm52Info,
  fixedPointPremise,
  lockstepRows,
  logitDifference,
  outputOf,
  sameOutput,
  thm52Sizes,
  withStart,
} from '../proofs/thm-5-2-loop-one-layer.ts';
import type { SizeRow } from '../proofs/construction.ts';
import { NumericError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { Model } from '../simulators/model.ts';
import { modelToJson } from '../simulators/model-file.ts';
import { type RandomModelOptions, type RandomModelSpec, buildRandomModel, inputArbitrary, randomModelArbitrary } from '../simulators/random-model.ts';
import { shellQuote } from './verify.ts';

/** A source model as data: a random-model spec, and per later stage whether it reuses stage 0's Layer objects. */
export interface Thm52Source {
  spec: RandomModelSpec;
  reuse: boolean[];
}

export interface Thm52Case extends Thm52Source {
  tokens: number[];
}

export const DEFAULT_SOURCE_OPTIONS: RandomModelOptions = {
  maxVocab: 3,
  maxWidth: 4,
  maxLen: 4,
  maxHeads: 2,
  maxLayers: 2,
  maxLoops: 3,
  maxStages: 3,
  maxHeadDim: 2,
  maxHidden: 3,
  kinds: ['hard'],
  masks: [null],
  readouts: ['last', 'all'],
};

export function thm52SourceArbitrary(o: RandomModelOptions = {}): fc.Arbitrary<Thm52Source> {
  const opts = { ...DEFAULT_SOURCE_OPTIONS, ...o };
  return randomModelArbitrary(opts).chain((spec) =>
    fc.record({
      spec: fc.constant(spec),
      reuse: fc.array(fc.boolean(), { minLength: spec.stages.length - 1, maxLength: spec.stages.length - 1 }),
    }),
  );
}

export function thm52CaseArbitrary(o: RandomModelOptions = {}): fc.Arbitrary<Thm52Case> {
  return thm52SourceArbitrary(o).chain((s) => fc.record({ spec: fc.constant(s.spec), reuse: fc.constant(s.reuse), tokens: inputArbitrary(s.spec.vocab, s.spec.maxLen) }));
}

/** The source a case describes: buildRandomModel, then the reused stages share stage 0's Layer objects. */
export function buildSource(s: Thm52Source): Model {
  const model = buildRandomModel(s.spec, 'random source');
  s.reuse.forEach((reuse, i) => {
    if (reuse) model.stages[i + 1] = { ...model.stages[i + 1], layers: model.stages[0].layers };
  });
  return model;
}

export interface Thm52Comparison {
  compiled: Thm52Compiled;
  source: Thm52Output;
  looped: Thm52Output;
  ok: boolean;
  /** Largest |logit difference| over the source tokens and positions read. */
  difference: number;
}

/** Runs the source on v and the compiled model on (#, v) under one interpreter and compares their outputs. */
export function compareOnCase(c: Thm52Case, variant: Variant, interpreter: string): Thm52Comparison {
  return compareCompiled(compileThm52Info(buildSource(c), { variant }), c.tokens, interpreter);
}

/** The same for a model already compiled (its source inside), on the source input v. */
export function compareCompiled(k: Thm52Compiled, tokens: readonly number[], interpreter: string): Thm52Comparison {
  const it = interpreterByName(interpreter);
  const V = k.source.vocab.dim;
  const want = outputOf(it.run(k.source, tokens), V, false);
  const got = outputOf(it.run(k.model, withStart(k, tokens)), V, true);
  return { compiled: k, source: want, looped: got, ok: sameOutput(got, want), difference: logitDifference(got, want) };
}

const show = (o: Thm52Output) => JSON.stringify({ answer: o.answer, logits: o.exact ?? o.logits });

/** The property: the compiled model's output on (#, v) is the source's on v. */
export function thm52Property(variant: Variant, interpreter: string, o: RandomModelOptions = {}, onCase?: (r: Thm52Comparison) => void) {
  return fc.property(thm52CaseArbitrary(o), (c) => {
    const r = compareOnCase(c, variant, interpreter);
    onCase?.(r);
    if (!r.ok) throw new Error(`the looped model gives ${show(r.looped)} but the source gives ${show(r.source)}`);
  });
}

/** Lockstep: after every loop t, the compiled state at positions 1..n is the source's residual after depth t (and the mask, l, and # are as they should be). */
export function thm52LockstepProperty(variant: Variant, interpreter: string, o: RandomModelOptions = {}) {
  return fc.property(thm52CaseArbitrary(o), (c) => {
    const source = buildSource(c);
    const k = compileThm52Info(source, { variant });
    const run = interpreterByName(interpreter).run(k.model, withStart(k, c.tokens), { trace: true });
    for (const row of lockstepRows(k, c.tokens, run, interpreter)) {
      if (JSON.stringify(row.got) !== JSON.stringify(row.expected)) {
        throw new Error(`after loop ${row.loop} the looped state is ${JSON.stringify(row.got)}; the source holds ${JSON.stringify(row.expected)}`);
      }
    }
  });
}

export interface Thm52SearchOptions {
  seed?: number;
  runs?: number;
  path?: string;
  interpreter?: string;
  source?: RandomModelOptions;
}

export interface Thm52SearchResult {
  variant: Variant;
  interpreter: string;
  found: boolean;
  tried: number;
  seed: number;
  path?: string;
  /** The shrunk case, its source as a model file (looped/1 JSON text), and the failure. */
  case?: Thm52Case;
  sourceFile?: string;
  message?: string;
  /** Shell commands that replay the failure from the source file saved as SOURCE_FILE. */
  replay?: string[];
  /** How to repeat the search itself. */
  replaySearch: string;
}

export const SOURCE_FILE = 'thm52-source.json';

/** A seeded, shrinking search for a source model and input on which the `variant` build differs from the source. */
export function searchThm52(variant: Variant, o: Thm52SearchOptions = {}): Thm52SearchResult {
  const interpreter = o.interpreter ?? 'exact';
  const out = fc.check(thm52Property(variant, interpreter, o.source), { numRuns: o.runs ?? 200, seed: o.seed ?? 42, path: o.path });
  const replaySearch = `FC_SEED=${out.seed} npx vitest run tests/thm-5-2.test.ts -t '${variant}'`;
  const base = { variant, interpreter, tried: out.numRuns, seed: out.seed, replaySearch };
  if (!out.failed || !out.counterexample) return { ...base, found: false };
  const c = out.counterexample[0];
  const source = buildSource(c);
  const names = (ts: number[]) => JSON.stringify(ts.map((t) => source.vocab.labels[t]));
  const compiledTokens = [...c.tokens.map((t) => source.vocab.labels[t])];
  return {
    ...base,
    found: true,
    path: out.counterexamplePath ?? undefined,
    case: c,
    sourceFile: JSON.stringify(modelToJson(source)),
    message: out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance),
    replay: [
      `looped run --model ${SOURCE_FILE} --interpreter ${interpreter} --input ${shellQuote(names(c.tokens))} --json`,
      `looped compile thm-5.2 --source ${SOURCE_FILE} --variant ${variant} --out looped.json`,
      `looped run --model looped.json --interpreter ${interpreter} --input ${shellQuote(JSON.stringify(['#', ...compiledTokens]))} --json`,
    ],
  };
}

/** A search result as lines a person can read and replay. */
export function formatThm52Search(r: Thm52SearchResult): string {
  const lines = [`Theorem 5.2, ${r.variant}, ${r.interpreter}: ${r.found ? 'COUNTEREXAMPLE' : 'no counterexample'} after ${r.tried} cases (fast-check seed ${r.seed}${r.path ? `, path ${r.path}` : ''})`];
  if (r.found && r.case) {
    const s = r.case.spec;
    const source = buildSource(r.case);
    const depth = source.stages.reduce((n, st) => n + st.layers.length * st.loops, 0);
    const distinct = new Set(source.stages.filter((st) => st.loops > 0).flatMap((st) => st.layers)).size;
    lines.push(`  source: vocab ${s.vocab}, width ${s.width}, maxLen ${s.maxLen}, readout ${s.readout}, stages ${source.stages.map((st) => `${st.layers.length}⊗${st.loops}`).join(', ')} (depth ${depth}, ${distinct} distinct layers)`);
    lines.push(`  source spec: ${JSON.stringify({ spec: s, reuse: r.case.reuse })}`);
    lines.push(`  input v: ${JSON.stringify(r.case.tokens)}`);
    lines.push(`  ${r.message}`);
    lines.push(`  replay: save the source model file below as ${SOURCE_FILE}, then`);
    for (const cmd of r.replay ?? []) lines.push(`    ${cmd}`);
    lines.push(`  ${SOURCE_FILE}: ${r.sourceFile}`);
  }
  lines.push(`  search again: ${r.replaySearch}${r.path ? ` (fast-check path ${r.path})` : ''}`);
  return lines.join('\n');
}

/** Built vs claimed sizes for a source. */
export function thm52SizeRows(source: Model): SizeRow[] {
  return thm52Sizes(compileThm52Info(source));
}

/** How the compiled model in fixed:s compares with its source in the same fixed:s on one input. */
export type Thm52FixedPointOutcome =
  /** Logits and answer bitwise the source's. */
  | 'same'
  /** They differ (or only one of the two fails): a counterexample. */
  | 'differs'
  /** The source is 0/0 in F_s (outside the premise), and the compiled model, computing the same scores, is 0/0 too. */
  | 'both-fail'
  /** The source's F_s activations leave the bounds the gates came from (outside the premise: fixedPointPremise). */
  | 'outside';

/**
 * Theorem 5.2 in F_s on one input: compiles `source` for F_s (options.fixedPoint, the gate given)
 * and runs both in fixed:s, s = the compilation's sFs unless `bits` is given.
 */
export function compareInFixedPoint(source: Model, tokens: readonly number[], o: { gate?: Gate; bits?: number } = {}): { compiled: Thm52Compiled; bits: number; outcome: Thm52FixedPointOutcome } {
  const k = compileThm52Info(source, { fixedPoint: true, gate: o.gate });
  const bits = o.bits ?? k.bits;
  const it = interpreterByName(`fixed:${bits}`);
  const V = source.vocab.dim;
  const why = fixedPointPremise(k, bits, tokens);
  let got: Thm52Output;
  try {
    got = outputOf(it.run(k.model, withStart(k, tokens)), V, true);
  } catch (e) {
    if (!(e instanceof NumericError)) throw e;
    return { compiled: k, bits, outcome: why !== null && /0\/0/.test(why) ? 'both-fail' : 'differs' };
  }
  if (why !== null) return { compiled: k, bits, outcome: /0\/0/.test(why) ? 'differs' : 'outside' };
  return { compiled: k, bits, outcome: sameOutput(got, outputOf(it.run(source, tokens), V, false)) ? 'same' : 'differs' };
}
