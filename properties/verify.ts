// Verification of a construction: for each interpreter setting it declares, a fast-check search
// comparing the model's decoded answer with the reference algorithm, plus lockstep and extra-loop
// checks where the construction has them. `looped verify` and the tests both call this.
import fc from 'fast-check';
import { type BuiltConstruction, type InterpreterCheck, type Construction, type CotRoute, type Params, type SizeRow, type VerifySetting, compareSizes, interpreterFamily, modelFor, resolveParams, commandName } from '../proofs/construction.ts';
import { UsageError } from '../common/errors.ts';
import { allConstructions } from '../proofs/registry.ts';
import { type CotResult, decodeCot } from '../simulators/cot.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, modelSizes, withLoops } from '../simulators/model.ts';
import type { Interpreter, RunResult } from '../simulators/result.ts';
import { turnTimer } from '../simulators/turns.ts';

export interface Counterexample {
  input: string;
  message: string;
  seed: number;
  path: string;
  /** A `looped run` command that reproduces the failing run. */
  replay: string;
  /** A `looped verify` command that replays fast-check's shrunk case by seed and path. */
  replaySearch: string;
}

export interface CheckReport {
  label: string;
  interpreter: string;
  samples: number;
  failed: boolean;
  minAttentionMargin: number;
  minLogitMargin: number;
  counterexample: Counterexample | null;
  ms: number;
}

export interface VerifyReport {
  construction: string;
  theorem: string;
  params: Params;
  sizes: SizeRow[];
  checks: CheckReport[];
  /** Every check held (a construction may exceed a claimed size; that is reported, with its reason, not failed). */
  ok: boolean;
  /** Every built size is at most its claim. */
  sizesWithinClaim: boolean;
  deviations: string | null;
  ms: number;
  /** Under verifyAll: the setting as the construction declares it, and whether the outcome is the one expected. */
  setting?: { given: Record<string, string>; fails: string | null; paper: string | null; asExpected: boolean };
}

export interface VerifyOptions {
  samples?: number;
  seed?: number;
  /** fast-check replay path (with the seed of the failing run). */
  path?: string;
  /**
   * Only the checks whose interpreter is this one. An interpreter not among the checks runs on the
   * model `looped run` would use for it (modelFor: a check of the same family — fixed:12 runs the
   * fixed:s check's softmax model, not the exact check's hard one — else the first check's).
   */
  interpreter?: string;
  onProgress?: (label: string, done: number, total: number) => void;
  /** Set to stop early (Ctrl-C); the report then holds what ran. */
  signal?: { aborted: boolean };
}

export function paramFlags(params: Params): string {
  return Object.entries(params)
    .map(([k, v]) => `--param ${k}=${v}`)
    .join(' ');
}

/** The text as one single-quoted shell word. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

class Stopped extends Error {}

/**
 * Runs one property (a function of an input that throws on failure) as a seeded fast-check
 * search. It is async only to yield to the event loop now and then, so Ctrl-C and progress output
 * get through during a long sweep; the runs themselves are synchronous.
 */
async function search<I>(
  c: Construction,
  params: Params,
  built: BuiltConstruction<I, unknown>,
  label: string,
  interpreter: string,
  body: (input: I) => RunResult | void,
  o: VerifyOptions,
  /** Whether `looped run` reproduces a failure of this check (not so for lockstep or extra loops). */
  runReplays = true,
): Promise<CheckReport> {
  const samples = o.samples ?? 100;
  const seed = o.seed ?? 42;
  let minAttention = Infinity;
  let minLogit = Infinity;
  let done = 0;
  const turns = turnTimer(50);
  const t0 = performance.now();
  const prop = fc.asyncProperty(built.arbitrary(), async (input) => {
    // A turn of the event loop at least every 50 ms (a sample can take a second under exact), so
    // Ctrl-C and progress get through between samples.
    await turns.due();
    if (o.signal?.aborted) throw new Stopped();
    const r = body(input);
    if (r) {
      minAttention = Math.min(minAttention, r.margins.attention);
      minLogit = Math.min(minLogit, r.margins.logit);
    }
    done++;
    if (o.onProgress && done <= samples) o.onProgress(label, done, samples);
  });
  await turns.now(); // a Ctrl-C that came before this check starts is seen at its first sample
  const out = await fc.check(prop, { numRuns: samples, seed, path: o.path, endOnFailure: false });
  let counterexample: Counterexample | null = null;
  const stopped = out.failed && out.errorInstance instanceof Stopped;
  if (out.failed && !stopped && out.counterexample) {
    const input = built.formatInput(out.counterexample[0]);
    const err = out.errorInstance;
    const message = err instanceof Error ? err.message : String(err);
    const p = paramFlags(params);
    const replaySearch = `looped verify ${commandName(c)} ${p} --interpreter ${interpreter} --seed ${out.seed} --path ${shellQuote(out.counterexamplePath ?? '')}`;
    counterexample = {
      input,
      message,
      seed: out.seed,
      path: out.counterexamplePath ?? '',
      replay: runReplays ? `looped run ${commandName(c)} ${p} --interpreter ${interpreter} --input ${shellQuote(input)}` : replaySearch,
      replaySearch,
    };
  }
  return {
    label,
    interpreter,
    samples: stopped ? done : out.numRuns,
    failed: counterexample !== null,
    minAttentionMargin: minAttention,
    minLogitMargin: minLogit,
    counterexample,
    ms: performance.now() - t0,
  };
}

/**
 * Runs the model on one input and throws when its decoded answer differs from the reference
 * algorithm's (the failure every answer search shrinks); returns the run for its margins.
 */
export function runAndCompare<I, O>(built: BuiltConstruction<I, O>, it: Interpreter, model: Model, input: I, who = 'the model'): RunResult {
  const r = it.run(model, built.encode(input));
  const got = built.decode(r);
  const want = built.reference(input);
  if (!built.equal(got, want)) {
    throw new Error(`${who} answers ${JSON.stringify(built.formatAnswer(got))} but the reference gives ${JSON.stringify(built.formatAnswer(want))}`);
  }
  return r;
}

/** The decoder's greedy CoT on one input, and where it first leaves the algorithm's trace (null: nowhere). */
export function cotMismatch<I>(it: Interpreter, route: CotRoute<I>, input: I): { cot: CotResult; why: string | null } {
  const cot = decodeCot(it, route.decoder, route.prompt(input), route.steps);
  const want = route.trace(input);
  const differs = want.findIndex((tok, k) => cot.generated[k] !== tok);
  if (cot.tieAt === null && differs < 0) return { cot, why: null };
  const k = cot.tieAt ?? differs + 1;
  const label = (t: number | undefined) => (t === undefined ? 'a tie' : route.decoder.vocab.labels[t]);
  return { cot, why: `CoT step ${k} of the decoder emits ${label(cot.generated[k - 1])} but the algorithm's trace has ${label(want[k - 1])}` };
}

/** The answer check under one interpreter setting. */
export function checkAnswers<I, O>(c: Construction, params: Params, built: BuiltConstruction<I, O>, check: InterpreterCheck, o: VerifyOptions): Promise<CheckReport> {
  const it = interpreterByName(check.interpreter);
  return search(c, params, built as BuiltConstruction<I, unknown>, check.label, check.interpreter, (input) => runAndCompare(built, it, check.model, input), o);
}

export async function verifyConstruction(c: Construction, params: Params, o: VerifyOptions = {}): Promise<VerifyReport> {
  const t0 = performance.now();
  const built = c.build(params) as BuiltConstruction<unknown, unknown>;
  const sizes = compareSizes(c, built, modelSizes(built.model));
  let checks = built.checks;
  if (o.interpreter !== undefined) {
    const same = checks.filter((k) => k.interpreter === o.interpreter);
    const why = same.length > 0 ? undefined : built.unchecked?.[interpreterFamily(o.interpreter)];
    if (why !== undefined) throw new UsageError(`${c.id} declares no ${o.interpreter} check at these parameters: ${why}`);
    checks = same.length > 0 ? same : [{ label: o.interpreter, interpreter: o.interpreter, model: modelFor(built, o.interpreter) }];
  }
  const reports: CheckReport[] = [];
  for (const check of checks) {
    if (o.signal?.aborted) break;
    reports.push(await checkAnswers(c, params, built, check, o));
  }
  const first = checks[0];
  if (built.lockstep && !o.signal?.aborted && first.interpreter === built.checks[0].interpreter) {
    const ls = built.lockstep;
    const it = interpreterByName(first.interpreter);
    reports.push(
      await search(c, params, built, `lockstep: ${ls.describe}`, first.interpreter, (input) => {
        const r = it.run(first.model, built.encode(input), { trace: ls.trace ?? true });
        for (const row of ls.compare(input, r)) {
          if (JSON.stringify(row.expected) !== JSON.stringify(row.got)) {
            throw new Error(`after loop ${row.loop} the state decodes to ${JSON.stringify(row.got)} but the algorithm holds ${JSON.stringify(row.expected)}`);
          }
        }
        return r;
      }, o, false),
    );
  }
  if (built.cot && !o.signal?.aborted && first.interpreter === built.checks[0].interpreter) {
    const route = built.cot;
    const it = interpreterByName(first.interpreter);
    reports.push(
      await search(c, params, built, `the decoder's greedy CoT (${route.steps} steps) is the algorithm's trace`, first.interpreter, (input) => {
        const { cot, why } = cotMismatch(it, route, input);
        if (why !== null) throw new Error(why);
        const pre = route.precondition?.(cot);
        if (pre && !pre.ok) throw new Error(`the decoder's CoT is right but misses Theorem 5.4's precondition: ${pre.why}`);
        return cot.steps[cot.steps.length - 1];
      }, o, false),
    );
  }
  if (built.extraLoopsStable?.holds && !o.signal?.aborted && first.interpreter === built.checks[0].interpreter) {
    const it = interpreterByName(first.interpreter);
    const more = withLoops(first.model, first.model.stages.map((s) => s.loops + 2));
    reports.push(
      await search(c, params, built, 'two extra loops change nothing', first.interpreter, (input) => {
        const r = it.run(more, built.encode(input));
        const got = built.decode(r);
        const want = built.reference(input);
        if (!built.equal(got, want)) throw new Error(`with two extra loops the model answers ${JSON.stringify(built.formatAnswer(got))}, the reference ${JSON.stringify(built.formatAnswer(want))}`);
        return r;
      }, o, false),
    );
  }
  return {
    construction: c.id,
    theorem: c.theorem,
    params,
    sizes,
    checks: reports,
    ok: reports.every((r) => !r.failed),
    sizesWithinClaim: sizes.every((s) => s.claimed === null || s.built === null || s.built <= s.claimed),
    deviations: c.deviations ?? null,
    ms: performance.now() - t0,
  };
}

/** The settings `looped verify --all` runs for a construction: its verifyAt, or the defaults alone. */
export function verifySettings(c: Construction): readonly VerifySetting[] {
  return c.verifyAt && c.verifyAt.length > 0 ? c.verifyAt : [{ params: {} }];
}

/** The setting as `k=v` words (empty for the defaults). */
export function settingText(given: Record<string, string>): string {
  return Object.entries(given)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Whether a report is the outcome its setting expects: it holds, or (a setting marked `fails`) it fails. */
export function asExpected(r: VerifyReport): boolean {
  return r.setting ? r.setting.asExpected : r.ok;
}

/**
 * `looped verify --all`: every construction at every setting it declares (verifySettings), one
 * report each, in registry order. A setting marked `fails` is as expected when some check finds a
 * counterexample; an interrupted run (Ctrl-C) counts the setting it stopped in as expected.
 * `small` leaves out the settings at the paper's own sizes (VerifySetting.paper); a setting with
 * its own `samples` draws at most that many per check.
 */
export async function verifyAll(o: VerifyOptions & { small?: boolean } = {}, constructions: readonly Construction[] = allConstructions()): Promise<VerifyReport[]> {
  const reports: VerifyReport[] = [];
  for (const c of constructions) {
    for (const setting of verifySettings(c)) {
      if (o.signal?.aborted) return reports;
      if (o.small && setting.paper !== undefined) continue;
      const samples = setting.samples === undefined ? o.samples : Math.min(o.samples ?? 100, setting.samples);
      const r = await verifyConstruction(c, resolveParams(c, setting.params), { ...o, samples });
      const fails = setting.fails ?? null;
      const stopped = o.signal?.aborted === true;
      r.setting = { given: { ...setting.params }, fails, paper: setting.paper ?? null, asExpected: fails === null ? r.ok : !r.ok || stopped };
      reports.push(r);
    }
  }
  return reports;
}
