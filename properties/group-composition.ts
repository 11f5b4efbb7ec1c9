// Counterexample searches for Theorem 5.1 (proofs/thm-5-1-group-composition.ts): library code that
// `looped counterexample group-composition` and tests/thm-5-1.test.ts both call.
//
// A weakening names one thing the theorem's claim relies on and what to put in its place:
//   { kind: 'loops', loops }      run the block `loops` times (e.g. one fewer than ⌈log2 n⌉), exact
//   { kind: 'bits', bits }        run the softmax model in the fixed point F_bits (fixed:<bits>)
//   { kind: 'scale', scale }      run the softmax model in float64 with scores scale·⟨q, k⟩
//   { kind: 'variant', variant }  build erratum-1 / erratum-2 (the weights as printed), exact
// The same call at the claimed setting ({loops: ⌈log2 n⌉}, {bits: the construction's s},
// {scale: 1}, {variant: 'corrected'}) is the control: it must find nothing.
//
// A search is a seeded fast-check run over random words g_1..g_n (n fixed by the parameters), each
// compared with the plain product; a failure is shrunk (elements toward index 0, the identity of
// the built-in groups) and returned with fast-check's seed and path and two commands:
//   replay        `looped run group-composition --param … --interpreter … --input '…'` — the one
//                 failing run (a loops, scale or variant weakening travels as the construction's
//                 own `loops`, `scale` and `variant` parameters, so `looped run` rebuilds it);
//   replaySearch  `looped counterexample group-composition --param … --loops L|--bits s|--scale β
//                 --samples N --seed S [--path P]` — the search itself.
// When nothing fails, `replay` is the search command (there is no failing run to replay).
//
// smallestPassingScale bisects the scale on a log scale; fewestPassingBits scans s upward. Both
// report what passed on every sample tried, which is evidence, not proof: a larger sample may fail.
import fc from 'fast-check';
import type { Params } from '../proofs/construction.ts';
import {
  type GroupAnswer,
  type GroupCompositionSpec,
  type GroupWord,
  type Variant,
  DEFAULT_FLOAT_SCALE,
  buildGroupComposition,
  precisionBits,
  readParams,
} from '../proofs/thm-5-1-group-composition.ts';
import { UsageError } from '../simulators/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { Model } from '../simulators/model.ts';
import { parseRational } from '../simulators/rational.ts';
import { algorithm2RoundCount } from '../tasks/group-composition.ts';

const ID = 'group-composition';

export type Weakening =
  | { kind: 'loops'; loops: number }
  | { kind: 'bits'; bits: number }
  | { kind: 'scale'; scale: number | string }
  | { kind: 'variant'; variant: Variant };

export interface SearchOptions {
  /** Random words to try (default 100). */
  samples?: number;
  /** fast-check seed (default 42). */
  seed?: number;
  /** fast-check replay path, with the seed of the failing search. */
  path?: string;
  /** Called after every sample. */
  onProgress?: (done: number, total: number) => void;
}

export interface SearchResult {
  construction: typeof ID;
  /** The parameters the weakened model is built from (group, n, and any loops/scale/variant override). */
  params: Params;
  weakening: Weakening;
  /** "2 loops (the claim is 3)", "fixed:3 (the construction's s is 4)", … */
  describe: string;
  interpreter: string;
  found: boolean;
  /** Words run, shrinking steps included. */
  tried: number;
  /** The shrunk failing word, as `--input` takes it. */
  input?: string;
  /** What the model answered on it (null: a tie or the # token), and the product. */
  answer?: unknown;
  expected?: unknown;
  message?: string;
  seed: number;
  path: string;
  /** See the module comment: a `looped run` command when found, else the search command. */
  replay: string;
  replaySearch: string;
  ms: number;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `--param k=v` for group and n, and for variant/loops/scale only when they are not the default. */
function paramFlags(params: Params): string {
  const defaults: Record<string, string> = { variant: 'corrected', loops: 'auto', scale: DEFAULT_FLOAT_SCALE };
  return Object.entries(params)
    .filter(([k, v]) => defaults[k] === undefined || String(v) !== defaults[k])
    .map(([k, v]) => `--param ${k}=${String(v)}`)
    .join(' ');
}

function weakeningFlag(w: Weakening): string {
  switch (w.kind) {
    case 'loops':
      return `--loops ${w.loops}`;
    case 'bits':
      return `--bits ${w.bits}`;
    case 'scale':
      return `--scale ${w.scale}`;
    case 'variant':
      return '';
  }
}

interface Setting {
  spec: Required<GroupCompositionSpec>;
  params: Params;
  interpreter: string;
  describe: string;
  pick: 'exact' | 'fixed' | 'float';
}

/** What a weakening changes: the build, the interpreter, and the model of the checks to run. */
function setting(params: Params, w: Weakening): Setting {
  const base = readParams(params);
  const claimLoops = algorithm2RoundCount(base.n);
  const out: Params = { group: String(params.group ?? 'S3'), n: base.n };
  if (base.variant !== 'corrected') out.variant = base.variant;
  switch (w.kind) {
    case 'loops': {
      if (!Number.isSafeInteger(w.loops) || w.loops < 0 || w.loops > 64) throw new UsageError(`--loops must be a whole number in 0..64, got ${w.loops}`);
      return {
        spec: { ...base, loops: w.loops },
        params: { ...out, loops: w.loops },
        interpreter: 'exact',
        describe: `${w.loops} loop${w.loops === 1 ? '' : 's'} (the claim is ⌈log2 ${base.n}⌉ = ${claimLoops})`,
        pick: 'exact',
      };
    }
    case 'bits': {
      if (!Number.isSafeInteger(w.bits) || w.bits < 1 || w.bits > 26) throw new UsageError(`--bits must be a whole number in 1..26, got ${w.bits}`);
      return {
        spec: base,
        params: out,
        interpreter: `fixed:${w.bits}`,
        describe: `softmax in fixed:${w.bits} (the construction's constant precision for ${base.G.name} is s = ${precisionBits(base.G)})`,
        pick: 'fixed',
      };
    }
    case 'scale': {
      const text = String(w.scale);
      let scale;
      try {
        scale = parseRational(text);
      } catch {
        throw new UsageError(`--scale must be a positive number, got "${text}"`);
      }
      if (scale.s < 0n || scale.n === 0n) throw new UsageError(`--scale must be positive, got "${text}"`);
      return {
        spec: { ...base, floatScale: scale },
        params: { ...out, scale: text },
        interpreter: 'float64',
        describe: `softmax in float64 at scale ${text} (the stated scale is ${DEFAULT_FLOAT_SCALE})`,
        pick: 'float',
      };
    }
    case 'variant': {
      if (!['corrected', 'erratum-1', 'erratum-2'].includes(w.variant)) throw new UsageError(`variant must be corrected, erratum-1 or erratum-2, got "${String(w.variant)}"`);
      const p: Params = { group: out.group, n: out.n };
      if (w.variant !== 'corrected') p.variant = w.variant;
      return {
        spec: { ...base, variant: w.variant },
        params: p,
        interpreter: 'exact',
        describe:
          w.variant === 'corrected'
            ? 'the corrected construction'
            : w.variant === 'erratum-1'
              ? 'as printed, erratum 1: both heads read max(2i−n−1, 0)'
              : 'as printed, erratum 2: negative queries',
        pick: 'exact',
      };
    }
  }
}

/** Searches for a word on which the weakened construction answers something other than g_1∘…∘g_n. */
export function searchCounterexample(params: Params, weakening: Weakening, options: SearchOptions = {}): SearchResult {
  const t0 = performance.now();
  const samples = options.samples ?? 100;
  const seed = options.seed ?? 42;
  const st = setting(params, weakening);
  const built = buildGroupComposition(st.spec);
  const G = st.spec.G;
  const model: Model = built.checks.find((k) => (st.pick === 'exact' ? k.interpreter === 'exact' : k.interpreter.startsWith(st.pick)))!.model;
  const it = interpreterByName(st.interpreter);
  let tried = 0;
  const fmt = (a: GroupAnswer) => JSON.stringify(built.formatAnswer(a));
  const prop = fc.property(built.arbitrary(), (word: GroupWord) => {
    tried++;
    if (options.onProgress && tried <= samples) options.onProgress(tried, samples);
    const got = built.decode(it.run(model, built.encode(word)));
    const want = built.reference(word);
    if (got !== want) throw new Error(`the model answers ${fmt(got)} but g_1∘…∘g_n = ${fmt(want)} in ${G.name}`);
  });
  const out = fc.check(prop, { numRuns: samples, seed, path: options.path, endOnFailure: false });
  const flags = paramFlags(st.params);
  // The search command carries the weakening as its flag, not as the construction's parameter.
  const searchFlags = paramFlags(Object.fromEntries(Object.entries(st.params).filter(([k]) => k !== 'loops' && k !== 'scale')));
  const searchCmd = (path?: string) =>
    [`looped counterexample ${ID} ${searchFlags}`, weakeningFlag(weakening), `--samples ${samples} --seed ${out.seed}`, path ? `--path ${shellQuote(path)}` : '']
      .filter((x) => x !== '')
      .join(' ');
  const base = {
    construction: ID,
    params: st.params,
    weakening,
    describe: st.describe,
    interpreter: st.interpreter,
    tried,
    seed: out.seed,
  } as const;
  if (!out.failed || out.counterexample === null) {
    return { ...base, found: false, path: '', replay: searchCmd(), replaySearch: searchCmd(), ms: performance.now() - t0 };
  }
  const word = out.counterexample[0];
  const input = built.formatInput(word);
  const err = out.errorInstance;
  let answer: unknown = null;
  try {
    answer = built.formatAnswer(built.decode(it.run(model, built.encode(word))));
  } catch (e) {
    answer = `error: ${(e as Error).message}`; // e.g. a softmax whose every exp rounded to 0
  }
  const path = out.counterexamplePath ?? '';
  return {
    ...base,
    found: true,
    input,
    answer,
    expected: built.formatAnswer(built.reference(word)),
    message: err instanceof Error ? err.message : String(err),
    path,
    replay: `looped run ${ID} ${flags} --interpreter ${st.interpreter} --input ${shellQuote(input)}`,
    replaySearch: searchCmd(path),
    ms: performance.now() - t0,
  };
}

export interface ScaleSearchOptions extends SearchOptions {
  /** Smallest scale tried (default 1/1024). */
  lo?: number;
  /** Largest scale tried: the stated one (default 1). */
  hi?: number;
  /** Bisection steps on the log scale (default 10). */
  steps?: number;
}

export interface ScaleSearchResult {
  /** The smallest scale that passed every sample (null when even `hi` failed). */
  scale: number | null;
  /** The counterexample at the largest scale that failed (null when even `lo` passed). */
  failing: SearchResult | null;
  trials: { scale: number; passed: boolean; tried: number }[];
}

/** Three significant digits, so the scales in replay commands stay short (and are exact decimals). */
const round3 = (x: number) => Number(x.toPrecision(3));

/** The smallest float64 softmax scale β in [lo, hi] that passes every sample (bisection on log β). */
export function smallestPassingScale(params: Params, options: ScaleSearchOptions = {}): ScaleSearchResult {
  const lo0 = options.lo ?? 1 / 1024;
  const hi0 = options.hi ?? Number(DEFAULT_FLOAT_SCALE);
  if (!(lo0 > 0 && hi0 >= lo0)) throw new UsageError(`scale search needs 0 < lo ≤ hi, got lo=${lo0}, hi=${hi0}`);
  const trials: ScaleSearchResult['trials'] = [];
  const at = (scale: number) => {
    const r = searchCounterexample(params, { kind: 'scale', scale }, options);
    trials.push({ scale, passed: !r.found, tried: r.tried });
    return r;
  };
  const top = at(hi0);
  if (top.found) return { scale: null, failing: top, trials };
  const bottom = at(lo0);
  if (!bottom.found) return { scale: lo0, failing: null, trials };
  let pass = hi0;
  let failing = bottom;
  let fail = lo0;
  for (let k = 0; k < (options.steps ?? 10); k++) {
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

export interface BitsSearchOptions extends SearchOptions {
  /** First s tried (default 1). */
  from?: number;
  /** Last s tried (default: the construction's s). */
  to?: number;
}

export interface BitsSearchResult {
  /** The fewest bits s (scanning upward) at which every sample passed; null if none in range did. */
  bits: number | null;
  /** The construction's own s, for comparison. */
  claimed: number;
  /** The counterexample at the largest s that failed below `bits` (null when `from` passed). */
  failing: SearchResult | null;
  trials: { bits: number; passed: boolean; tried: number }[];
}

/** Scans s = from, from+1, … and stops at the first fixed:s under which every sample passes. */
export function fewestPassingBits(params: Params, options: BitsSearchOptions = {}): BitsSearchResult {
  const claimed = precisionBits(readParams(params).G);
  const from = options.from ?? 1;
  const to = options.to ?? claimed;
  const trials: BitsSearchResult['trials'] = [];
  let failing: SearchResult | null = null;
  for (let s = from; s <= to; s++) {
    const r = searchCounterexample(params, { kind: 'bits', bits: s }, options);
    trials.push({ bits: s, passed: !r.found, tried: r.tried });
    if (!r.found) return { bits: s, claimed, failing, trials };
    failing = r;
  }
  return { bits: null, claimed, failing, trials };
}
