// The fast CPU path: float64 and float32 on flat typed arrays, batched over many inputs, skipping
// the zero rows, columns and entries of the (very sparse) construction matrices.
//
//   fast64  bit-identical to the generic float64 interpreter (same operations in the same order)
//   fast32  Float32Array storage, every + and × rounded to single precision where the generic
//           float32 rounds (Math.fround, or a WebAssembly f32 operation, which rounds the same),
//           in the same order: bit-identical to the generic float32 interpreter
//
// How: compile.ts turns the model into a plan (dense panels or CSR per matrix, heads packed);
// forward.ts runs a batch packed as one [positions × d] array (chunk.ts lays it out), phase by
// phase (attention in attention.ts), with the products in WebAssembly SIMD (workspace.ts, wasm.ts;
// a JavaScript fallback gives the same bits) and the attention rows in JavaScript;
// parallel.ts splits a large batch over worker threads and still answers synchronously;
// runBatchAsync does the same without blocking (a sweep under Ctrl-C: it stops at the signal
// between chunks and returns the results of a prefix).
//
// The registry (simulators/interpreters.ts) imports `fastEntries` and registers both names, so
// interpreterByName('fast64') works wherever the registry is loaded.
//
// Not supported: traces (`trace: true` is refused with an UnsupportedError: run float64 or
// float32, which compute the same numbers and record every activation).
import { UnsupportedError } from '../../common/errors.ts';
import { checkInput } from '../forward.ts';
import { type Model, ensureValid, maskRow } from '../model.ts';
import type { Interpreter, InterpreterEntry, RunOptions, RunResult } from '../result.ts';
import { type Plan, type Precision, compilePlan } from './compile.ts';
import type { MaskFn } from './forward.ts';
import { runParallel, runParallelAsync } from './parallel.ts';
import type { AbortFlag } from '../turns.ts';
import { preflightBatch } from '../preflight.ts';

export { type Plan, type Precision, compilePlan } from './compile.ts';
export { runPlan } from './forward.ts';
export { backend, setBackend } from './workspace.ts';
export { PARALLEL_MIN_WORK, getThreads, lastParallelNote, setParallelMinWork, setThreads } from './parallel.ts';

const NAMES: Record<Precision, string> = { f64: 'fast64', f32: 'fast32' };

/** The loop masks of a model, evaluated once per (stage, loop, length) and kept. */
function maskFn(model: Model): MaskFn {
  const cache = new Map<string, boolean[]>();
  return (s, t, len) => {
    const stage = model.stages[s];
    const key = `${s}/${t}/${len}`;
    let row = cache.get(key);
    if (row === undefined) {
      row = maskRow(stage.mask, t, stage.loops, len, `stage ${s} mask`);
      cache.set(key, row);
    }
    return row;
  };
}

/** Validates the model and the inputs, compiles (or fetches) the plan and runs the whole batch. */
export function runFast(precision: Precision, model: Model, inputs: readonly (readonly number[])[]): RunResult[] {
  const plan = prepare(precision, model, inputs);
  return plan === null ? [] : runParallel(plan, inputs, maskFn(model), NAMES[precision]);
}

/** What both entry points check before running: the model, the inputs and the budget; null for no inputs. */
function prepare(precision: Precision, model: Model, inputs: readonly (readonly number[])[]): Plan | null {
  ensureValid(model);
  for (const tokens of inputs) checkInput(model, tokens);
  if (inputs.length === 0) return null;
  preflightBatch(model, NAMES[precision], inputs);
  return compilePlan(precision, model);
}

/**
 * runFast without blocking the calling thread for long (parallel.ts runParallelAsync): same
 * results, but Ctrl-C and timers get through between chunks, and once `options.signal.aborted`
 * is set it stops and returns the results of a prefix of the inputs (possibly empty).
 */
export async function runFastAsync(precision: Precision, model: Model, inputs: readonly (readonly number[])[], options: { signal?: AbortFlag } = {}): Promise<RunResult[]> {
  const plan = prepare(precision, model, inputs);
  return plan === null ? [] : runParallelAsync(plan, inputs, maskFn(model), NAMES[precision], options.signal);
}

/** A fast interpreter: the synchronous contract, plus runBatchAsync for callers that must stay responsive. */
export interface FastInterpreter extends Interpreter {
  runBatch(model: Model, inputs: readonly (readonly number[])[]): RunResult[];
  runBatchAsync(model: Model, inputs: readonly (readonly number[])[], options?: { signal?: AbortFlag }): Promise<RunResult[]>;
}

export function fastInterpreter(precision: Precision): FastInterpreter {
  const name = NAMES[precision];
  return {
    name,
    run(model: Model, tokens: readonly number[], options: RunOptions = {}): RunResult {
      if (options.trace) {
        const same = precision === 'f64' ? 'float64' : 'float32';
        throw new UnsupportedError(`the ${name} interpreter does not record traces; run ${same} instead (the same arithmetic, bit for bit) to trace`);
      }
      return runFast(precision, model, [tokens])[0];
    },
    runBatch: (model, inputs) => runFast(precision, model, inputs),
    runBatchAsync: (model, inputs, options) => runFastAsync(precision, model, inputs, options),
  };
}

export const fast64: FastInterpreter = fastInterpreter('f64');
export const fast32: FastInterpreter = fastInterpreter('f32');

/** `fast64` and `fast32` for the interpreter registry. */
export const fastEntries: readonly InterpreterEntry[] = [
  { name: 'fast64', describe: 'batched typed-array CPU path, float64 (bit-identical to float64)', make: () => fast64 },
  { name: 'fast32', describe: 'batched typed-array CPU path, float32 (bit-identical to float32)', make: () => fast32 },
];
