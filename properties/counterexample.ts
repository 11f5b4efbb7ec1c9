// Counterexample search under a weakened claim, for any registered construction: library code
// that `looped counterexample` and the tests both call.
//   none   — the construction as built (e.g. --param variant=erratum-1, the paper as printed);
//   loops  — L loops instead of the claimed count, exact arithmetic, hard attention;
//   bits   — the construction's fixed-point check under fixed:s (softmax as the paper computes it);
//   scale  — softmax in float64 with every score multiplied by β.
// Where a construction's own parameters express a weakening (BuiltConstruction.weaken: group-composition's
// loops and scale, p-hop's loops and scale, p-hop-direct's layers for "one layer fewer"), the
// search rebuilds it with them; otherwise it transforms the model: every stage looped L times
// (withLoops), the hard construction as a softmax model at scale β (withAttention).
//
// A search is a seeded fast-check run over the construction's inputs (BuiltConstruction.searchArbitrary where
// it has one, else arbitrary(); `inputs: 'checks'` takes arbitrary(), what `looped verify` draws),
// each answer compared with the reference algorithm; a failure is shrunk and returned with
// fast-check's seed and path and two commands:
//   replay        `looped run <id> --param … --interpreter … [--loops L | --softmax-scale β]
//                 --input '…'` — the one failing run (the search command when nothing failed);
//   replaySearch  `looped counterexample <id> --param … [--loops L | --bits s | --scale β]
//                 --samples N --seed S [--path P]` — the search itself.
// fewestPassingBits scans s upward; smallestPassingScale bisects β on a log scale. Both report
// what passed on every sample tried, which is evidence, not proof: a larger sample may fail.
import fc from 'fast-check';
import { type BuiltConstruction, type Construction, type Params, type Weakening, modelFor, commandName } from '../proofs/construction.ts';
import { UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, withAttention, withLoops } from '../simulators/model.ts';
import { paramFlags, runAndCompare, shellQuote } from './verify.ts';

export type { Weakening };

export interface SearchOptions {
  /** Inputs to try (default 1000). */
  samples?: number;
  /** fast-check seed (default 42). */
  seed?: number;
  /** fast-check replay path, with the seed of the failing search. */
  path?: string;
  /** search (default): the construction's searchArbitrary() where it has one; checks: its arbitrary(), as `looped verify` draws. */
  inputs?: 'search' | 'checks';
  /** Called after every input tried (shrinking steps not counted). */
  onProgress?: (done: number, total: number) => void;
}

export interface SearchResult {
  construction: string;
  /** The parameters the weakened model is built from (with the construction's own loops/layers/scale when it expresses the weakening). */
  params: Params;
  weakening: Weakening;
  /** "2 loops (the claim is ⌈log2 8⌉ = 3)", "fixed:4 (the construction's s is 5)", … */
  describe: string;
  interpreter: string;
  found: boolean;
  /** Inputs tried before the failure (or all of them). */
  tried: number;
  /** The shrunk failing input, as `--input` takes it. */
  input?: string;
  /** What the model answered on it (or the error it raised), and the reference's answer. */
  answer?: unknown;
  expected?: unknown;
  message?: string;
  seed: number;
  path?: string;
  /** `looped run …` reproducing the failing run when found, else the search command. */
  replay: string;
  /** `looped counterexample …` repeating the search (with --path, straight to the shrunk case). */
  replaySearch: string;
}

export interface WeakenedSetting {
  built: BuiltConstruction<unknown, unknown>;
  params: Params;
  model: Model;
  interpreter: string;
  describe: string;
  /** The `looped run` flags that select the same model and interpreter. */
  runFlags: string;
}

const join = (...parts: string[]) => parts.filter((x) => x !== '').join(' ');

/** What a weakening runs: the (re)built construction, the model, the interpreter, and the `looped run` flags that reproduce it. */
export function weakenedSetting(c: Construction, params: Params, w: Weakening): WeakenedSetting {
  if (w.kind === 'loops' && (!Number.isSafeInteger(w.loops) || w.loops < 0)) throw new UsageError(`--loops must be a whole number ≥ 0, got ${w.loops}`);
  if (w.kind === 'bits') interpreterByName(`fixed:${w.bits}`); // validates the range
  if (w.kind === 'scale' && (!(w.scale > 0) || !Number.isFinite(w.scale))) throw new UsageError(`--scale must be a positive number, got ${w.scale}`);
  const base = c.build(params) as BuiltConstruction<unknown, unknown>;
  const own = base.weaken?.(w) ?? null;
  // The construction's own parameters go last, so they read as the change (`--param loops=2`).
  const names = Object.keys(own?.params ?? {});
  const weakParams = own ? { ...Object.fromEntries(Object.entries(params).filter(([k]) => !names.includes(k))), ...own.params } : params;
  const built = names.length > 0 ? (c.build(weakParams) as BuiltConstruction<unknown, unknown>) : base;
  const hard = built.checks[0];
  const interpreter = w.kind === 'bits' ? `fixed:${w.bits}` : w.kind === 'scale' ? 'float64' : hard.interpreter;
  const setting = { built, params: weakParams, interpreter, runFlags: `--interpreter ${interpreter}` };
  if (own) return { ...setting, model: modelFor(built, interpreter), describe: own.describe };
  switch (w.kind) {
    case 'none':
      return { ...setting, model: hard.model, describe: 'as built' };
    case 'loops': {
      const claimed = hard.model.stages.map((s) => s.loops).join(', ');
      return {
        ...setting,
        model: withLoops(hard.model, hard.model.stages.map(() => w.loops)),
        describe: `${w.loops} loop${w.loops === 1 ? '' : 's'} (the construction loops ${claimed})`,
        runFlags: `${setting.runFlags} --loops ${w.loops}`,
      };
    }
    case 'bits':
      return {
        ...setting,
        model: built.checks.find((k) => k.interpreter.startsWith('fixed:'))?.model ?? withAttention(hard.model, 'softmax'),
        describe: `fixed:${w.bits}${built.bits === undefined ? '' : ` (the construction's s is ${built.bits})`}`,
      };
    case 'scale':
      return {
        ...setting,
        model: withAttention(hard.model, 'softmax', w.scale),
        describe: `float64 softmax at scale ${w.scale}`,
        runFlags: `${setting.runFlags} --softmax-scale ${w.scale}`,
      };
  }
}

/** The `looped counterexample` flag that repeats a weakening. */
function weakeningFlag(w: Weakening): string {
  switch (w.kind) {
    case 'none':
      return '';
    case 'loops':
      return `--loops ${w.loops}`;
    case 'bits':
      return `--bits ${w.bits}`;
    case 'scale':
      return `--scale ${w.scale}`;
  }
}

/** One seeded, shrinking search for an input on which the weakened construction's answer is wrong. */
export function searchCounterexample(c: Construction, params: Params, w: Weakening, o: SearchOptions = {}): SearchResult {
  const st = weakenedSetting(c, params, w);
  const { built, model, interpreter } = st;
  const it = interpreterByName(interpreter);
  const samples = o.samples ?? 1000;
  const inputs = o.inputs === 'checks' ? built.arbitrary() : (built.searchArbitrary?.() ?? built.arbitrary());
  let calls = 0;
  const out = fc.check(
    fc.property(inputs, (input) => {
      if (o.onProgress && ++calls <= samples) o.onProgress(calls, samples);
      runAndCompare(built, it, model, input);
    }),
    { numRuns: samples, seed: o.seed ?? 42, path: o.path },
  );
  const searchCmd = (path?: string) =>
    join(
      `looped counterexample ${commandName(c)}`,
      paramFlags(params),
      weakeningFlag(w),
      o.inputs === 'checks' ? '--inputs checks' : '',
      `--samples ${samples} --seed ${out.seed}`,
      path === undefined ? '' : `--path ${shellQuote(path)}`,
    );
  const base = { construction: c.id, params: st.params, weakening: w, describe: st.describe, interpreter, tried: out.numRuns, seed: out.seed };
  if (!out.failed || !out.counterexample) return { ...base, found: false, replay: searchCmd(), replaySearch: searchCmd() };
  const failing = out.counterexample[0];
  const input = built.formatInput(failing);
  let answer: unknown;
  try {
    answer = built.formatAnswer(built.decode(it.run(model, built.encode(failing))));
  } catch (e) {
    answer = `error: ${(e as Error).message}`; // e.g. a fixed-point softmax whose every exp rounded to 0
  }
  const err = out.errorInstance;
  const path = out.counterexamplePath ?? undefined;
  return {
    ...base,
    found: true,
    input,
    answer,
    expected: built.formatAnswer(built.reference(failing)),
    message: err instanceof Error ? err.message : String(err),
    path,
    replay: join(`looped run ${commandName(c)}`, paramFlags(st.params), st.runFlags, `--input ${shellQuote(input)}`),
    replaySearch: searchCmd(path),
  };
}

export interface Threshold {
  /** The fewest bits / smallest scale at which every sample passed, or null if none in range did. */
  value: number | null;
  /** A counterexample just below it (fewer bits / a smaller scale), when one was found. */
  below: SearchResult | null;
  probes: { value: number; passed: boolean }[];
}

/** Scans s = 1, 2, … up to maxBits and returns the first s under which every sample passed. */
export function fewestPassingBits(c: Construction, params: Params, o: SearchOptions & { maxBits?: number } = {}): Threshold {
  const probes: Threshold['probes'] = [];
  let below: SearchResult | null = null;
  for (let s = 1; s <= (o.maxBits ?? 26); s++) {
    const r = searchCounterexample(c, params, { kind: 'bits', bits: s }, o);
    probes.push({ value: s, passed: !r.found });
    if (!r.found) return { value: s, below, probes };
    below = r;
  }
  return { value: null, below, probes };
}

/** Three significant digits, so the scales in replay commands stay short (and are exact decimals). */
const round3 = (x: number) => Number(x.toPrecision(3));

/**
 * Bisects the softmax scale between lo and hi (geometrically, on 3-digit scales, to a relative
 * width of `precision`) for the smallest β under which every sample passed, assuming larger scales
 * only sharpen the softmax; each probe uses the same seed, so all probes see the same inputs.
 */
export function smallestPassingScale(c: Construction, params: Params, o: SearchOptions & { lo?: number; hi?: number; precision?: number } = {}): Threshold {
  const probes: Threshold['probes'] = [];
  const probe = (scale: number) => {
    const r = searchCounterexample(c, params, { kind: 'scale', scale }, o);
    probes.push({ value: scale, passed: !r.found });
    return r;
  };
  let lo = o.lo ?? 1 / 1024;
  let hi = o.hi ?? 1024;
  if (!(lo > 0 && hi >= lo)) throw new UsageError(`the scale search needs 0 < lo ≤ hi, got lo=${lo}, hi=${hi}`);
  if (probe(hi).found) return { value: null, below: null, probes };
  let below = probe(lo);
  if (!below.found) return { value: lo, below: null, probes };
  while (hi / lo > 1 + (o.precision ?? 0.01)) {
    const mid = round3(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    const r = probe(mid);
    if (r.found) {
      lo = mid;
      below = r;
    } else hi = mid;
  }
  return { value: hi, below, probes };
}
