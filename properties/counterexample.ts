// Counterexample search under a weakened claim, for any registered construction:
//   loops  — run every stage with L loops instead of the claimed count (exact, hard attention);
//   bits   — run the construction's fixed-point variant under fixed:s (softmax as the paper computes it);
//   scale  — run the hard construction as a softmax model with every score multiplied by β (float64);
//   none   — the construction as built (e.g. --param variant=erratum-1, the paper as printed).
// Plus threshold searches: the fewest bits and the smallest scale that passed every sample.
import fc from 'fast-check';
import type { Built, Construction, Params } from '../proofs/construction.ts';
import { UsageError } from '../simulators/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, withAttention, withLoops } from '../simulators/model.ts';
import { paramFlags } from './verify.ts';

export type Weakening = { kind: 'none' } | { kind: 'loops'; loops: number } | { kind: 'bits'; bits: number } | { kind: 'scale'; scale: number };

export interface SearchOptions {
  samples?: number;
  seed?: number;
  path?: string;
}

export interface SearchResult {
  weakening: Weakening;
  interpreter: string;
  found: boolean;
  /** Inputs tried before the failure (or all of them). */
  tried: number;
  input?: string;
  message?: string;
  seed: number;
  path?: string;
  /** `looped run …` reproducing the failing run. */
  replay?: string;
}

/** The model and interpreter a weakening runs, and the `looped run` flags that reproduce it. */
export function weakenedSetting(built: Built<unknown, unknown>, w: Weakening): { model: Model; interpreter: string; flags: string } {
  const hard = built.checks[0];
  switch (w.kind) {
    case 'none':
      return { model: hard.model, interpreter: hard.interpreter, flags: `--interpreter ${hard.interpreter}` };
    case 'loops':
      if (!Number.isInteger(w.loops) || w.loops < 0) throw new UsageError(`--loops must be a whole number ≥ 0, got ${w.loops}`);
      return { model: withLoops(hard.model, hard.model.stages.map(() => w.loops)), interpreter: hard.interpreter, flags: `--interpreter ${hard.interpreter} --loops ${w.loops}` };
    case 'bits': {
      const interpreter = `fixed:${w.bits}`;
      interpreterByName(interpreter); // validates the range
      const fixed = built.checks.find((k) => k.interpreter.startsWith('fixed:'));
      const model = fixed?.model ?? withAttention(hard.model, 'softmax');
      return { model, interpreter, flags: `--interpreter ${interpreter}` };
    }
    case 'scale':
      if (!(w.scale > 0) || !Number.isFinite(w.scale)) throw new UsageError(`--scale must be a positive number, got ${w.scale}`);
      return { model: withAttention(hard.model, 'softmax', w.scale), interpreter: 'float64', flags: `--interpreter float64 --softmax-scale ${w.scale}` };
  }
}

/** One seeded, shrinking search for an input on which the weakened construction's answer is wrong. */
export function searchCounterexample(c: Construction, params: Params, w: Weakening, o: SearchOptions = {}): SearchResult {
  const built = c.build(params) as Built<unknown, unknown>;
  const { model, interpreter, flags } = weakenedSetting(built, w);
  const it = interpreterByName(interpreter);
  const seed = o.seed ?? 42;
  const fmt = (x: unknown) => JSON.stringify(built.formatAnswer(x));
  const out = fc.check(
    fc.property(built.arbitrary(), (input) => {
      const got = built.decode(it.run(model, built.encode(input)));
      const want = built.reference(input);
      if (!built.equal(got, want)) throw new Error(`the model answers ${fmt(got)} but the reference gives ${fmt(want)}`);
    }),
    { numRuns: o.samples ?? 1000, seed, path: o.path },
  );
  if (!out.failed || !out.counterexample) return { weakening: w, interpreter, found: false, tried: out.numRuns, seed };
  const input = built.formatInput(out.counterexample[0]);
  const err = out.errorInstance;
  return {
    weakening: w,
    interpreter,
    found: true,
    tried: out.numRuns,
    input,
    message: err instanceof Error ? err.message : String(err),
    seed: out.seed,
    path: out.counterexamplePath ?? undefined,
    replay: `looped run ${c.id} ${paramFlags(params)} ${flags} --input '${input.replace(/'/g, `'\\''`)}'`,
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

/**
 * Bisects the softmax scale between lo and hi (geometrically, to a relative width of `precision`)
 * for the smallest β under which every sample passed, assuming larger scales only sharpen the
 * softmax; each probe uses the same seed, so all probes see the same inputs.
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
  if (probe(hi).found) return { value: null, below: null, probes };
  let below = probe(lo);
  if (!below.found) return { value: lo, below: null, probes };
  while (hi / lo > 1 + (o.precision ?? 0.01)) {
    const mid = Math.sqrt(lo * hi);
    const r = probe(mid);
    if (r.found) {
      lo = mid;
      below = r;
    } else hi = mid;
  }
  return { value: hi, below, probes };
}
