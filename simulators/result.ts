// The one result type every interpreter returns.
import type { Trace } from './trace.ts';

export interface Readout {
  /** 0-based position the logits were read at. */
  position: number;
  logits: number[];
  /** Exact logits ("3/4") where the interpreter has them. */
  exactLogits?: string[];
  /** Every token whose logit ties for the top: one entry unless there is a tie. */
  top: number[];
  /** The argmax, or null when the top logit is tied (never broken silently). */
  token: number | null;
  /** Top logit minus the runner-up (0 on a tie, Infinity with a one-token vocabulary). */
  margin: number;
}

export interface AttentionSite {
  /** 1-based loop counter over the whole model (stage after stage). */
  loop: number;
  stage: number;
  layer: number;
  head: string;
  position: number;
}

export interface Margins {
  /** Smallest gap between the best and second-best attention score at any site (Infinity if no site had two keys). */
  attention: number;
  attentionSite: AttentionSite | null;
  /** How many sites had a tie for the best score (average-hard attention then averages them). */
  attentionTies: number;
  /** Smallest top-two logit gap over the readout positions. */
  logit: number;
}

export interface RunResult {
  interpreter: string;
  tokens: number[];
  /** Argmax at the last position; null on a tie (see `tie`). */
  answer: number | null;
  tie: boolean;
  readouts: Readout[];
  margins: Margins;
  trace?: Trace;
}

export interface RunOptions {
  /**
   * true: record the residual stream after the embedding and every attention and MLP, and every
   * attention pattern. 'loops': only after the embedding and after each loop (what
   * Trace.afterLoop reads) — several times cheaper for lockstep checks of deep blocks.
   */
  trace?: boolean | 'loops';
}

/**
 * How the registry (simulators/interpreters.ts) makes an interpreter from its name: `name` or
 * `name:arg` (fixed:8, gpu:cpu); `describe` is the line `looped` lists it with.
 */
export interface InterpreterEntry {
  readonly name: string;
  readonly describe: string;
  make(arg: string | undefined): Interpreter;
}

/** The contract: same model, same input, same result type, for every number system and path. */
export interface Interpreter {
  readonly name: string;
  run(model: import('./model.ts').Model, tokens: readonly number[], options?: RunOptions): RunResult;
  /** Many inputs at once; interpreters without a batched path run them one by one. */
  runBatch?(model: import('./model.ts').Model, inputs: readonly (readonly number[])[]): RunResult[];
}
