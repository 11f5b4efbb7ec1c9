// Verification at scale: random inputs streamed through a batched interpreter (fast64, fast32,
// gpu…) in batches, each answer checked against the reference algorithm on the CPU while the next
// batch runs (an asynchronous interpreter — WebGPU, the fast path's worker threads — overlaps the
// two). A batch of B inputs is drawn at once (so the inputs do not depend on timing) but run in
// sub-batches sized to take about TARGET_BATCH_MS, with a turn of the event loop between them and
// the abort signal passed into the interpreter, so progress and Ctrl-C get through within about a
// second whatever the interpreter and the size of one input. Every failure is re-run
// on the construction's exact interpreter: if exact also fails it is a real counterexample of the
// construction (then shrunk by fast-check under exact); if exact passes it is an artefact of the
// batched interpreter's arithmetic (float32 rounding), reported with the margins that decide it.
import fc from 'fast-check';
import { type BuiltConstruction, type Construction, type Params, allWords, wordCount, commandName } from '../proofs/construction.ts';
import { UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { Model } from '../simulators/model.ts';
import type { Interpreter, RunResult } from '../simulators/result.ts';
import { type AbortFlag, turnTimer } from '../simulators/turns.ts';
import { type CheckReport, type Counterexample, paramFlags, runAndCompare } from './verify.ts';

export interface SweepOptions {
  samples?: number;
  seed?: number;
  /**
   * Inputs drawn per batch (default 256; batch k is drawn with seed + k). A batch runs in
   * sub-batches of at most this many inputs, fewer when that many would take longer than about
   * TARGET_BATCH_MS; the inputs checked do not depend on the sub-batch sizes.
   */
  batch?: number;
  /** Every input of the construction's finite input space instead of `samples` random ones. */
  exhaustive?: boolean;
  onProgress?: (label: string, done: number, total: number) => void;
  /** Set to stop early (Ctrl-C): the sweep stops within one sub-batch and reports what it checked. */
  signal?: AbortFlag;
}


/** About how long one sub-batch should take (ms): sub-batches double or halve to stay near it. */
export const TARGET_BATCH_MS = 300;

export interface Artefact {
  input: string;
  message: string;
  /** Margins of the exact run on the same input: small ones explain a float32 disagreement. */
  exactMargins: { attention: number; logit: number };
}

export interface SweepReport extends CheckReport {
  /** The interpreter that really ran, as its results name it (e.g. gpu(webasm)). */
  ranAs: string;
  inputsPerSecond: number;
  /** Inputs whose answer was wrong under the batched interpreter. */
  failures: number;
  /** Failures the exact interpreter does not reproduce (float32 artefacts); the first few. */
  artefacts: Artefact[];
  artefactCount: number;
  /** The signal stopped the sweep: `samples` inputs were checked, not all that were asked for. */
  interrupted: boolean;
}

/** The largest input space `--exhaustive` walks. */
export const MAX_EXHAUSTIVE = 1e8;

/**
 * An interpreter that can run a batch without blocking (gpu, fast64, fast32): given a signal that
 * becomes set, it stops and returns the results of a prefix of the inputs.
 */
type AsyncBatch = { runBatchAsync(model: Model, inputs: readonly (readonly number[])[], options?: { signal?: AbortFlag }): Promise<RunResult[]> };


function hasAsyncBatch(it: Interpreter): it is Interpreter & AsyncBatch {
  return typeof (it as Partial<AsyncBatch>).runBatchAsync === 'function';
}

/** Whether `verify --interpreter NAME` should stream batches rather than run one input at a time. */
export function isBatchInterpreter(name: string): boolean {
  return /^(fast64|fast32|gpu)(:|$)/.test(name);
}

export async function sweepConstruction<I, O>(c: Construction, params: Params, interpreterName: string, o: SweepOptions = {}): Promise<SweepReport> {
  const built = c.build(params) as unknown as BuiltConstruction<I, O>;
  const reference = built.checks[0];
  const model = reference.model;
  const it = interpreterByName(interpreterName);
  const exactIt = interpreterByName(reference.interpreter);
  let samples = o.samples ?? 1000;
  const seed = o.seed ?? 42;
  const batch = o.batch ?? 256;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a whole number ≥ 1, got ${batch}`);
  const aborted = () => o.signal?.aborted === true;
  const run = async (inputs: number[][]): Promise<RunResult[]> =>
    hasAsyncBatch(it) ? it.runBatchAsync(model, inputs, { signal: o.signal }) : it.runBatch ? it.runBatch(model, inputs) : inputs.map((t) => it.run(model, t));
  const label = `sweep (${interpreterName})`;
  const t0 = performance.now();
  let done = 0;
  let failures = 0;
  let minAttention = Infinity;
  let minLogit = Infinity;
  let ranAs = interpreterName;
  const artefacts: Artefact[] = [];
  let artefactCount = 0;
  let real: { input: I; message: string } | null = null;
  const fmt = (x: O) => JSON.stringify(built.formatAnswer(x));

  // Random batches are drawn with seeds seed, seed+1, …, so a sweep is reproducible; an exhaustive
  // sweep walks the input space in order.
  let draw = (k: number) => fc.sample(built.arbitrary(), { seed: seed + k, numRuns: Math.min(batch, samples - k * batch) });
  if (o.exhaustive) {
    if (!built.exhaustive) throw new UsageError(`${c.id} declares no finite input space to run exhaustively; use --samples`);
    const count = wordCount(built.exhaustive);
    if (count > MAX_EXHAUSTIVE) {
      throw new UsageError(`${c.id} with these parameters has ${count.toExponential(2)} inputs, more than the ${MAX_EXHAUSTIVE.toExponential(0)} an exhaustive sweep runs; use smaller parameters or --samples`);
    }
    samples = count;
    const words = allWords(built.exhaustive);
    draw = () => {
      const out: I[] = [];
      while (out.length < batch) {
        const r = words.next();
        if (r.done) break;
        out.push(r.value as unknown as I); // exhaustive spaces are declared only where I = number[]
      }
      return out;
    };
  }
  let k = 0;
  let inputs = samples > 0 ? draw(0) : [];
  // Sub-batch size: a power of two (so the gpu interpreter's compiled shapes are shared), at most
  // `batch`, doubled or halved after each sub-batch to take about TARGET_BATCH_MS.
  let size = 1;
  const turns = turnTimer(50);
  batches: while (inputs.length > 0) {
    for (let at = 0; at < inputs.length; ) {
      await turns.now();
      if (aborted()) break batches;
      const part = inputs.slice(at, at + size);
      const started = performance.now();
      const pending = run(part.map((x) => built.encode(x)));
      // The reference answers are computed while the batch runs (for an asynchronous interpreter).
      const expected = part.map((x) => built.reference(x));
      const results = await pending; // a prefix of `part` if the signal stopped it
      const ms = performance.now() - started;
      for (let j = 0; j < results.length; j++) {
        const r = results[j];
        ranAs = r.interpreter;
        minAttention = Math.min(minAttention, r.margins.attention);
        minLogit = Math.min(minLogit, r.margins.logit);
        const got = built.decode(r);
        if (built.equal(got, expected[j])) continue;
        // A wrong answer is re-run on the exact interpreter, which can be slow: let Ctrl-C in first.
        await turns.due();
        if (aborted()) {
          done += j;
          break batches;
        }
        failures++;
        const message = `${r.interpreter} answers ${fmt(got)} but the reference gives ${fmt(expected[j])}`;
        const ex = exactIt.run(model, built.encode(part[j]));
        if (built.equal(built.decode(ex), expected[j])) {
          artefactCount++;
          if (artefacts.length < 5) artefacts.push({ input: built.formatInput(part[j]), message, exactMargins: { attention: ex.margins.attention, logit: ex.margins.logit } });
        } else if (real === null) real = { input: part[j], message };
      }
      done += results.length;
      o.onProgress?.(label, done, samples);
      if (results.length < part.length) break batches; // stopped by the signal
      at += part.length;
      if (ms < TARGET_BATCH_MS / 2 && size < batch) size = Math.min(batch, size * 2);
      else if (ms > TARGET_BATCH_MS * 2 && size > 1) size = Math.max(1, 2 ** Math.floor(Math.log2((size * TARGET_BATCH_MS) / ms)));
    }
    k++;
    inputs = k * batch < samples ? draw(k) : [];
  }
  const interrupted = aborted() && done < samples;
  const seconds = (performance.now() - t0) / 1000;
  let counterexample: Counterexample | null = null;
  if (real !== null) counterexample = await shrinkUnderExact(c, params, built, real as { input: I; message: string }, seed, o.signal);
  return {
    label,
    interpreter: interpreterName,
    ranAs,
    samples: done,
    failed: counterexample !== null,
    failures,
    artefacts,
    artefactCount,
    minAttentionMargin: minAttention,
    minLogitMargin: minLogit,
    counterexample,
    inputsPerSecond: done / Math.max(seconds, 1e-9),
    ms: seconds * 1000,
    interrupted,
  };
}

/**
 * A real counterexample, shrunk by fast-check under the exact interpreter starting from the failing
 * input. Once the signal is set every remaining candidate counts as passing, so shrinking ends at
 * once with the smallest failure found so far (an untried candidate is no counterexample).
 */
async function shrinkUnderExact<I, O>(c: Construction, params: Params, built: BuiltConstruction<I, O>, found: { input: I; message: string }, seed: number, signal?: AbortFlag): Promise<Counterexample> {
  const check = built.checks[0];
  const it = interpreterByName(check.interpreter);
  const turns = turnTimer(50);
  const out = await fc.check(
    fc.asyncProperty(built.arbitrary(), async (input) => {
      await turns.due();
      if (signal?.aborted) return;
      runAndCompare(built, it, check.model, input, check.interpreter);
    }),
    { examples: [[found.input]], numRuns: 1, seed },
  );
  const input = out.counterexample ? built.formatInput(out.counterexample[0]) : built.formatInput(found.input);
  const message = out.errorInstance instanceof Error ? out.errorInstance.message : found.message;
  const p = paramFlags(params);
  return {
    input,
    message,
    seed,
    path: out.counterexamplePath ?? '',
    replay: `looped run ${commandName(c)} ${p} --interpreter ${check.interpreter} --input '${input.replace(/'/g, `'\\''`)}'`,
    replaySearch: `looped verify ${commandName(c)} ${p} --interpreter ${check.interpreter} --seed ${seed}`,
  };
}
