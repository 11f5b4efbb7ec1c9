// Properties and counterexample searches for the p-hop constructions (Theorem B.12 as
// `p-hop-direct`, Corollary 5.3 as `p-hop`). The tests and the CLI run the same functions.
//
//   answersProperty / lockstepProperty / extraLoopsProperty   fast-check properties over inputs
//   uniformInputs / paperSamplerInputs                         the two input distributions
//   searchCounterexample(c, params, weakening, options)        a shrunk failing input under
//        {kind: 'loops', loops}  p-hop looped `loops` times, or p-hop-direct keeping its first
//                                `loops` layers (its one stage loops once), exact arithmetic;
//        {kind: 'bits', bits}    the fixed-point check (positional heads softmax) at fixed:<bits>;
//        {kind: 'scale', scale}  the float64 check, every head softmax at scale β = `scale`.
//      The loops/layers and scale weakenings travel as the construction's own parameters, so
//        replay        `looped run <id> --param … --interpreter … --input '…'`   (the failing run)
//        replaySearch  `looped counterexample <id> --param … [--bits r] --samples N --seed S --path P`
//      rebuild exactly what failed. When nothing fails, `replay` is the search command.
//   fewestPassingBits / smallestPassingScale   the least precision that passed every sample (the
//      same samples for each try): evidence, not proof.
import fc from 'fast-check';
import type { Check, Construction, Params } from '../proofs/construction.ts';
import type { PHopBuilt } from '../proofs/p-hop/common.ts';
import { UsageError } from '../simulators/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, withLoops } from '../simulators/model.ts';
import { paperPHopSampler } from '../tasks/p-hop.ts';
import { mulberry32 } from '../tasks/random.ts';

// ---------------------------------------------------------------- inputs

/** Uniform token sequences of length minLength..n (they shrink toward short sequences of small tokens). */
export function uniformInputs(n: number, alphabet: number, minLength = 0): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { minLength, maxLength: n, size: 'max' });
}

/** Exactly n tokens drawn by the paper's sampler (uniform, conditioned on p hops existing), from a seed. */
export function paperSamplerInputs(n: number, p: number, alphabet: number, options: { nonTrivial?: boolean } = {}): fc.Arbitrary<number[]> {
  return fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 })).map((seed) => paperPHopSampler(mulberry32(seed), n, p, alphabet, options));
}

// ---------------------------------------------------------------- properties

function describeAnswer(x: unknown): string {
  return JSON.stringify(x);
}

/** The decoded answer equals the reference (hop_p, or hop_p of every prefix) under one check. */
export function answersProperty(built: PHopBuilt, check: Check, inputs: fc.Arbitrary<number[]>): fc.IProperty<[number[]]> {
  const it = interpreterByName(check.interpreter);
  return fc.property(inputs, (v) => {
    const run = it.run(check.model, built.encode(v));
    const got = built.decode(run);
    const want = built.reference(v);
    if (!built.equal(got, want)) throw new Error(`${check.label}: the model answers ${describeAnswer(got)}, hop_p gives ${describeAnswer(want)}`);
  });
}

/** After every loop (or layer) the decoded pointers equal the doubling algorithm's (exact check). */
export function lockstepProperty(built: PHopBuilt, inputs: fc.Arbitrary<number[]>): fc.IProperty<[number[]]> {
  const ls = built.lockstep!;
  const check = built.checks[0];
  const it = interpreterByName(check.interpreter);
  return fc.property(inputs, (v) => {
    const run = it.run(check.model, built.encode(v), { trace: true });
    for (const row of ls.compare(v, run)) {
      if (JSON.stringify(row.expected) !== JSON.stringify(row.got)) {
        throw new Error(`after step ${row.loop} the model holds ${JSON.stringify(row.got)} but the algorithm ${JSON.stringify(row.expected)}`);
      }
    }
  });
}

/** Looping `extra` more times leaves the answer equal to the reference (exact check). */
export function extraLoopsProperty(built: PHopBuilt, extra: number, inputs: fc.Arbitrary<number[]>): fc.IProperty<[number[]]> {
  const base = built.checks[0].model;
  const more: Model = withLoops(base, base.stages.map((s) => s.loops + extra));
  const it = interpreterByName('exact');
  return fc.property(inputs, (v) => {
    const got = built.decode(it.run(more, built.encode(v)));
    const want = built.reference(v);
    if (!built.equal(got, want)) throw new Error(`with ${extra} extra loops the model answers ${describeAnswer(got)}, hop_p gives ${describeAnswer(want)}`);
  });
}

// ---------------------------------------------------------------- counterexample searches

export type Weakening = { kind: 'loops'; loops: number } | { kind: 'bits'; bits: number } | { kind: 'scale'; scale: number };

export interface SearchOptions {
  /** Inputs to try (default 200). */
  samples?: number;
  /** fast-check seed (default 42). */
  seed?: number;
  /** fast-check replay path, with the seed of the failing search. */
  path?: string;
  /**
   * uniform (default): token sequences of length 0..n, which shrink best (toward short sequences
   * of small tokens); construction: the construction's mix, half of it the paper's distribution.
   */
  inputs?: 'uniform' | 'construction';
}

export interface SearchResult {
  construction: string;
  /** The parameters the weakened model is built from (a loops/layers/scale weakening is one of them). */
  params: Params;
  weakening: Weakening;
  /** "3 loops (the construction needs 4)", "fixed:4 (the construction's s is 5)", … */
  describe: string;
  interpreter: string;
  found: boolean;
  /** Inputs run, shrinking steps included. */
  tried: number;
  /** The shrunk failing input, as `--input` takes it (a JSON array). */
  input?: string;
  /** What the model answered on it (or the error it raised) and hop_p. */
  answer?: unknown;
  expected?: unknown;
  message?: string;
  seed: number;
  path: string;
  /** `looped run …` reproducing the failing run when found, else the search command. */
  replay: string;
  /** `looped counterexample …` repeating the search (with --path, straight to the shrunk case). */
  replaySearch: string;
  ms: number;
}

const shellQuote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

const DEFAULTS: Record<string, string> = { readout: 'last', scale: 'auto', loops: 'auto', layers: 'auto' };

/** `--param k=v`, leaving out parameters at their default. */
export function pHopParamFlags(params: Params): string {
  return Object.entries(params)
    .filter(([k, v]) => DEFAULTS[k] === undefined || String(v) !== DEFAULTS[k])
    .map(([k, v]) => `--param ${k}=${String(v)}`)
    .join(' ');
}

/** The parameter that sets loops: `loops` on the looped construction, `layers` on the non-looped one. */
export function loopsParamName(c: Construction): 'loops' | 'layers' {
  return c.params.some((p) => p.name === 'loops') ? 'loops' : 'layers';
}

interface Setting {
  params: Params;
  interpreter: string;
  /** Which of the construction's checks supplies the model: 0 exact, 1 fixed-point, 2 float64. */
  check: 0 | 1 | 2;
  describe: string;
  /** The flag of `looped counterexample` that repeats the weakening (empty when it travels as a parameter). */
  flag: string;
}

/**
 * What a weakening changes. `loops` becomes the construction's own parameter (`loops` of p-hop,
 * `layers` of p-hop-direct, whose only stage loops once: there the weakening keeps the first
 * `loops` layers), so `looped run` and `looped counterexample` rebuild it without a flag; `bits`
 * is the interpreter fixed:<bits> on the fixed-point check; `scale` is the construction's `scale`
 * parameter, the softmax scale of its float64 check (the same model as --scale of the CLI).
 */
export function weakenedSetting(c: Construction, params: Params, w: Weakening): Setting {
  const built = c.build(params) as PHopBuilt;
  switch (w.kind) {
    case 'loops': {
      const name = loopsParamName(c);
      const needed = name === 'loops' ? built.model.stages[0].loops : built.model.stages[0].layers.length;
      if (!Number.isSafeInteger(w.loops) || w.loops < (name === 'loops' ? 0 : 1)) {
        throw new UsageError(`${name} must be a whole number ≥ ${name === 'loops' ? 0 : 1}, got ${w.loops}`);
      }
      return {
        params: { ...params, [name]: w.loops },
        interpreter: 'exact',
        check: 0,
        describe: `${w.loops} ${name === 'loops' ? 'loops' : 'layers'} (the construction ${name === 'loops' ? 'loops' : 'has'} ${needed})`,
        flag: '',
      };
    }
    case 'bits':
      if (!Number.isSafeInteger(w.bits) || w.bits < 1 || w.bits > 26) throw new UsageError(`bits must be a whole number in 1..26, got ${w.bits}`);
      return {
        params: { ...params },
        interpreter: `fixed:${w.bits}`,
        check: 1,
        describe: `fixed:${w.bits} (the construction's s is ${built.bits})`,
        flag: `--bits ${w.bits}`,
      };
    case 'scale':
      if (!(w.scale > 0) || !Number.isFinite(w.scale)) throw new UsageError(`scale must be a positive number, got ${w.scale}`);
      return {
        params: { ...params, scale: w.scale },
        interpreter: 'float64',
        check: 2,
        describe: `float64 softmax at scale ${w.scale} (the stated scale is ${(c.build({ ...params, scale: 'auto' }) as PHopBuilt).config.scale})`,
        flag: '',
      };
  }
}

/** Searches for an input on which the weakened construction answers other than hop_p, and shrinks it. */
export function searchCounterexample(c: Construction, params: Params, w: Weakening, o: SearchOptions = {}): SearchResult {
  const t0 = performance.now();
  const samples = o.samples ?? 200;
  const st = weakenedSetting(c, params, w);
  const built = c.build(st.params) as PHopBuilt;
  const model = built.checks[st.check].model;
  const it = interpreterByName(st.interpreter);
  const n = Number(st.params.n ?? 16);
  const alphabet = Number(st.params.alphabet ?? 4);
  const inputs = o.inputs === 'construction' ? built.arbitrary() : uniformInputs(n, alphabet);
  let tried = 0;
  const out = fc.check(
    fc.property(inputs, (v) => {
      tried++;
      const got = built.decode(it.run(model, built.encode(v)));
      const want = built.reference(v);
      if (!built.equal(got, want)) throw new Error(`the model answers ${describeAnswer(got)}, hop_${String(st.params.p)} gives ${describeAnswer(want)}`);
    }),
    { numRuns: samples, seed: o.seed ?? 42, path: o.path, endOnFailure: false },
  );
  const flags = pHopParamFlags(st.params);
  const searchCmd = (path?: string) =>
    [`looped counterexample ${c.id} ${flags}`, st.flag, `--samples ${samples} --seed ${out.seed}`, path ? `--path ${shellQuote(path)}` : '']
      .filter((x) => x !== '')
      .join(' ');
  const base = { construction: c.id, params: st.params, weakening: w, describe: st.describe, interpreter: st.interpreter, tried, seed: out.seed };
  if (!out.failed || out.counterexample === null) {
    return { ...base, found: false, path: '', replay: searchCmd(), replaySearch: searchCmd(), ms: performance.now() - t0 };
  }
  const v = out.counterexample[0];
  const input = built.formatInput(v);
  let answer: unknown;
  try {
    answer = built.formatAnswer(built.decode(it.run(model, built.encode(v))));
  } catch (e) {
    answer = `error: ${(e as Error).message}`; // e.g. a fixed-point softmax whose every exp rounded to 0
  }
  const err = out.errorInstance;
  const path = out.counterexamplePath ?? '';
  return {
    ...base,
    found: true,
    input,
    answer,
    expected: built.formatAnswer(built.reference(v)),
    message: err instanceof Error ? err.message : String(err),
    path,
    replay: `looped run ${c.id} ${flags} --interpreter ${st.interpreter} --input ${shellQuote(input)}`,
    replaySearch: searchCmd(path),
    ms: performance.now() - t0,
  };
}

export interface BitsSearchResult {
  /** The fewest bits r (scanning upward) at which every sample passed; null if none in range did. */
  bits: number | null;
  /** The construction's own s. */
  claimed: number;
  /** The counterexample at the largest r that failed below `bits`. */
  failing: SearchResult | null;
  trials: { bits: number; passed: boolean; tried: number }[];
}

/** Scans r = from, from + 1, … (default 1 up to the construction's s) for the first fixed:r that passes every sample. */
export function fewestPassingBits(c: Construction, params: Params, o: SearchOptions & { from?: number; to?: number } = {}): BitsSearchResult {
  const claimed = (c.build(params) as PHopBuilt).bits!;
  const trials: BitsSearchResult['trials'] = [];
  let failing: SearchResult | null = null;
  for (let r = o.from ?? 1; r <= (o.to ?? claimed); r++) {
    const res = searchCounterexample(c, params, { kind: 'bits', bits: r }, { inputs: 'construction', ...o });
    trials.push({ bits: r, passed: !res.found, tried: res.tried });
    if (!res.found) return { bits: r, claimed, failing, trials };
    failing = res;
  }
  return { bits: null, claimed, failing, trials };
}

export interface ScaleSearchResult {
  /** The smallest scale that passed every sample (null when even `high` failed). */
  scale: number | null;
  /** The counterexample at the largest scale that failed. */
  failing: SearchResult | null;
  trials: { scale: number; passed: boolean; tried: number }[];
}

const round3 = (x: number) => Number(x.toPrecision(3));

/**
 * The smallest float64 softmax scale β in [low, high] (defaults 1 and the construction's stated
 * 64·2^s) that passes every sample, by bisection on log β with 3-digit scales; the same inputs for
 * every β. Evidence, not proof: a larger sample may fail at that β.
 */
export function smallestPassingScale(c: Construction, params: Params, o: SearchOptions & { low?: number; high?: number; steps?: number } = {}): ScaleSearchResult {
  const stated = (c.build({ ...params, scale: 'auto' }) as PHopBuilt).config.scale;
  const trials: ScaleSearchResult['trials'] = [];
  const at = (scale: number) => {
    const r = searchCounterexample(c, params, { kind: 'scale', scale }, { inputs: 'construction', ...o });
    trials.push({ scale, passed: !r.found, tried: r.tried });
    return r;
  };
  const high = o.high ?? stated;
  const low = o.low ?? 1;
  const top = at(high);
  if (top.found) return { scale: null, failing: top, trials };
  const bottom = at(low);
  if (!bottom.found) return { scale: low, failing: null, trials };
  let pass = high;
  let fail = low;
  let failing = bottom;
  for (let k = 0; k < (o.steps ?? 12); k++) {
    const mid = round3(Math.sqrt(pass * fail));
    if (mid <= fail || mid >= pass) break;
    const r = at(mid);
    if (r.found) {
      fail = mid;
      failing = r;
    } else pass = mid;
  }
  return { scale: pass, failing, trials };
}
