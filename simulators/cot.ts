// Greedy chain-of-thought decoding of a non-looped model (TF^m in the paper's notation):
//   TF^1(v) = TF(v),  TF^i(v) = TF^{i−1}(v, TF(v)),
// so step i appends the argmax at the last position of the current prefix.
import { InputError } from '../common/errors.ts';
import type { Model } from './model.ts';
import type { Interpreter, RunResult } from './result.ts';

export interface CotResult {
  /** The tokens appended, one per step (shorter than m when a tie stopped decoding). */
  generated: number[];
  /** TF^m(v): the last token generated, or null when decoding stopped at a tie. */
  answer: number | null;
  /** The step (1-based) whose top logit was tied, if any: greedy decoding is undefined there. */
  tieAt: number | null;
  steps: RunResult[];
}

export function decodeCot(interpreter: Interpreter, model: Model, prompt: readonly number[], m: number): CotResult {
  if (!Number.isInteger(m) || m < 1) throw new InputError(`CoT needs a step count m ≥ 1, got ${m}`);
  if (model.readout !== 'last') throw new InputError('CoT decoding reads the last position; the model reads out at every position');
  const N = model.positions.dim;
  if (prompt.length + m - 1 > N) {
    throw new InputError(`CoT of ${m} steps on a prompt of ${prompt.length} needs ${prompt.length + m - 1} positions; the model has ${N}`);
  }
  const seq = [...prompt];
  const generated: number[] = [];
  const steps: RunResult[] = [];
  for (let i = 1; i <= m; i++) {
    const r = interpreter.run(model, seq);
    steps.push(r);
    if (r.answer === null) return { generated, answer: null, tieAt: i, steps };
    generated.push(r.answer);
    seq.push(r.answer);
  }
  return { generated, answer: generated[generated.length - 1], tieAt: null, steps };
}
