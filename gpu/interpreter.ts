// The float32 gpu.js interpreter: a batch of sequences at once, every stage, loop, head and MLP as
// gpu.js kernels (gpu/kernels.ts, compiled and called by gpu/engine.ts), and only the logits and
// the running margins read back; the results are assembled with simulators/readout.ts's rule.
//
// Two ways to run the same kernels:
//   - runBatchAsync: the whole forward pass is recorded once per (length, chunk size) with gpu.js
//     `createPipeline` and replayed; activations never leave the device (on webgpu one command
//     encoder per chunk, on webasm one shared wasm memory walked by worker threads). Any backend.
//   - run / runBatch (the synchronous Interpreter contract): the same orchestration calling the
//     kernels directly, for the backends whose kernels answer synchronously (cpu, webasm,
//     headlessgl). WebGPU readback is a Promise, so gpu:webgpu refuses the synchronous calls.
//
// Every result names the backend that really ran, read from the kernels' classes: `gpu(webasm)`.
// A named backend (gpu:webasm) that ends up running elsewhere is an UnsupportedError, not a result.
// Traces are refused: use the float32 interpreter, which performs the same float32 operations.
import { InputError, UnsupportedError } from '../common/errors.ts';
import { checkInput } from '../simulators/forward.ts';
import { preflightBatch } from '../simulators/preflight.ts';
import { nextTurn } from '../simulators/turns.ts';
import type { Model } from '../simulators/model.ts';
import type { Interpreter, RunOptions, RunResult } from '../simulators/result.ts';
import { FLOAT_ORDER, noAttention, readoutOf, runResult } from '../simulators/readout.ts';
import { type BackendName, type KernelShortcut, type PipelineShortcut, backendOfKernel, chooseAsync, chooseSync, probeWebGPU } from './backend.ts';
import { Engine, type GpuOptions, type ModelState, initialMargins, orchestrate } from './engine.ts';
import { type Kernel, MARGIN_FIELDS, NONE } from './kernels.ts';

export type { GpuOptions };

/** What the last run did, for benchmarks and the CLI's report line. */
export interface RunInfo {
  /** Backend(s) that really ran, from the kernel classes: "webasm", or "webasm+cpu" if gpu.js degraded some. */
  backend: string;
  /** 'direct' (synchronous calls) or the pipeline executor: 'fused-encoder', 'fused-threaded', 'fused-sync', 'generic'. */
  executor: string;
  fallbackReason: string | null;
  chunk: number;
  chunks: number;
}

/** The asynchronous side of the contract, which the gpu interpreter adds to `Interpreter`. */
export interface AsyncInterpreter extends Interpreter {
  /**
   * With `options.signal`, the signal is looked at before every chunk (with a turn of the event
   * loop, so Ctrl-C gets through); once it is set the run stops and returns the results of the
   * inputs finished so far, always a prefix of `inputs` (possibly empty).
   */
  runBatchAsync(model: Model, inputs: readonly (readonly number[])[], options?: { signal?: { readonly aborted: boolean } }): Promise<RunResult[]>;
  runAsync(model: Model, tokens: readonly number[]): Promise<RunResult>;
}

/** RunResults from the logits [b][p][v] and margin rows [b][6] of one chunk. */
function assemble(
  name: string,
  st: ModelState,
  inputs: readonly (readonly number[])[],
  logits: ArrayLike<ArrayLike<ArrayLike<number>>>,
  margins: ArrayLike<ArrayLike<number>> | null,
): RunResult[] {
  return inputs.map((tokens, b) => {
    const n = tokens.length;
    const rows = logits[b];
    const positions = st.pack.readout === 'all' ? Array.from({ length: n }, (_, i) => i) : [n - 1];
    const readouts = positions.map((position, p) => readoutOf(Array.from(rows[p]), position, FLOAT_ORDER));
    const tracker = noAttention();
    if (margins !== null) {
      const M = margins[b];
      tracker.ties = M[3];
      if (M[0] < NONE) {
        tracker.attention = M[4] - M[5];
        const s = st.sites[M[1]];
        tracker.site = s ? { ...s, position: M[2] } : null;
      }
    }
    return runResult(name, tokens, readouts, tracker);
  });
}

/** Kernel classes that ran, as backend names ("webasm", or "webasm+cpu" when gpu.js degraded some). */
function backendsOf(shortcuts: Iterable<{ kernel: { constructor: { name: string }; built?: boolean } }>): Set<string> {
  const out = new Set<string>();
  for (const s of shortcuts) out.add(backendOfKernel(s.kernel.constructor));
  return out;
}

function pipelineBackends(p: PipelineShortcut): Set<string> {
  const plan = p.plan;
  if (!plan) return new Set();
  const ran: KernelShortcut[] = p.executorKind === 'generic' ? [...plan.genericClones.entries()].filter(([key]) => !key.startsWith('up:')).map(([, v]) => v) : plan.kernels.map((e) => e.clone);
  return backendsOf(ran);
}

function fallbackReasons(shortcuts: Iterable<{ kernel: { fallbackReason?: string | null } }>): string | null {
  for (const s of shortcuts) if (s.kernel.fallbackReason) return s.kernel.fallbackReason;
  return null;
}

/** Inputs grouped by length (every kernel of a chunk runs one length), keeping their indices. */
function byLength(inputs: readonly (readonly number[])[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  inputs.forEach((tokens, idx) => {
    const g = groups.get(tokens.length);
    if (g) g.push(idx);
    else groups.set(tokens.length, [idx]);
  });
  return groups;
}

export class GpuInterpreter implements AsyncInterpreter {
  private syncEngine: Engine | null = null;
  private asyncEngine: Promise<Engine> | null = null;
  /** What the most recent run did (backend, executor, chunking). */
  lastRun: RunInfo | null = null;

  constructor(readonly options: GpuOptions = {}) {}

  get name(): string {
    const ran = this.lastRun?.backend ?? this.options.backend;
    return ran ? `gpu(${ran})` : 'gpu';
  }

  private engineSync(): Engine {
    if (this.syncEngine === null) {
      const backend = chooseSync(this.options.backend);
      this.syncEngine = new Engine(backend, this.options, Infinity);
    }
    return this.syncEngine;
  }

  private engineAsync(): Promise<Engine> {
    this.asyncEngine ??= (async () => {
      const backend = await chooseAsync(this.options.backend);
      const limit = backend === 'webgpu' ? (await probeWebGPU()).info?.maxStorageBytes ?? 128 << 20 : Infinity;
      return new Engine(backend, this.options, limit);
    })();
    return this.asyncEngine;
  }

  /** The backend an async run will use (probes WebGPU); throws the UnsupportedError for an unavailable named backend. */
  async backend(): Promise<BackendName> {
    return (await this.engineAsync()).backend;
  }

  run(model: Model, tokens: readonly number[], options: RunOptions = {}): RunResult {
    refuseTrace(options);
    return this.runBatch(model, [tokens])[0];
  }

  async runAsync(model: Model, tokens: readonly number[], options: RunOptions = {}): Promise<RunResult> {
    refuseTrace(options);
    return (await this.runBatchAsync(model, [tokens]))[0];
  }

  runBatch(model: Model, inputs: readonly (readonly number[])[]): RunResult[] {
    const engine = this.engineSync();
    const st = engine.state(model);
    for (const t of inputs) checkInput(model, t);
    preflightBatch(model, 'gpu', inputs);
    const out = new Array<RunResult>(inputs.length);
    const ran = new Set<string>();
    let fallback: string | null = null;
    let chunkInfo = { chunk: 0, chunks: 0 };
    for (const [n, idx] of byLength(inputs)) {
      const Bc = engine.chunkSize(st.pack, n, idx.length);
      const c = engine.compiled(model, st, n, Bc, true);
      const release = engine.backend === 'headlessgl' ? releaseTexture : () => {};
      for (let start = 0; start < idx.length; start += Bc) {
        const part = idx.slice(start, start + Bc);
        const chunk = padChunk(inputs, part, Bc);
        const tokens = chunk.map((t) => Float32Array.from(t));
        const res = orchestrate(c.kernels, st.pack, c.masks, tokens, initialMargins(Bc), release);
        const logits = readBack(res.logits) as ArrayLike<ArrayLike<ArrayLike<number>>>;
        const margins = st.sites.length > 0 ? (readBack(res.margins) as ArrayLike<ArrayLike<number>>) : null;
        release(res.logits);
        if (st.sites.length > 0) release(res.margins);
        for (const b of backendsOf(c.kernels.all)) ran.add(b);
        fallback ??= fallbackReasons(c.kernels.all);
        const name = this.checkBackend(engine, ran, fallback);
        assemble(name, st, part.map((i) => inputs[i]), logits, margins).forEach((r, j) => (out[part[j]] = r));
        chunkInfo = { chunk: Bc, chunks: chunkInfo.chunks + 1 };
      }
    }
    this.lastRun = { backend: [...ran].join('+') || engine.backend, executor: 'direct', fallbackReason: fallback, ...chunkInfo };
    return out;
  }

  async runBatchAsync(model: Model, inputs: readonly (readonly number[])[], options: { signal?: { readonly aborted: boolean } } = {}): Promise<RunResult[]> {
    const signal = options.signal;
    const engine = await this.engineAsync();
    const st = engine.state(model);
    for (const t of inputs) checkInput(model, t);
    preflightBatch(model, 'gpu', inputs);
    const out = new Array<RunResult>(inputs.length);
    const ran = new Set<string>();
    let executor = '';
    let fallback: string | null = null;
    let chunkInfo = { chunk: 0, chunks: 0 };
    for (const [n, idx] of byLength(inputs)) {
      const Bc = engine.chunkSize(st.pack, n, idx.length);
      const c = engine.compiled(model, st, n, Bc, false);
      const p = c.pipeline!;
      for (let start = 0; start < idx.length; start += Bc) {
        if (signal) {
          await nextTurn();
          if (signal.aborted) return finishedPrefix(out);
        }
        const part = idx.slice(start, start + Bc);
        const chunk = padChunk(inputs, part, Bc);
        const tokens = chunk.map((t) => Float32Array.from(t));
        const res = (await p(tokens, initialMargins(Bc))) as { logits: ArrayLike<ArrayLike<ArrayLike<number>>>; margins: ArrayLike<ArrayLike<number>> };
        for (const b of pipelineBackends(p)) ran.add(b);
        executor = p.executorKind;
        fallback = p.fallbackReason;
        const name = this.checkBackend(engine, ran, null);
        assemble(name, st, part.map((i) => inputs[i]), res.logits, st.sites.length > 0 ? res.margins : null).forEach((r, j) => (out[part[j]] = r));
        chunkInfo = { chunk: Bc, chunks: chunkInfo.chunks + 1 };
      }
    }
    this.lastRun = { backend: [...ran].join('+') || engine.backend, executor, fallbackReason: fallback, ...chunkInfo };
    return out;
  }

  /** The name results carry; an UnsupportedError if a backend asked for by name did not run everything. */
  private checkBackend(engine: Engine, ran: Set<string>, fallback: string | null): string {
    const label = [...ran].join('+') || engine.backend;
    if (this.options.backend !== undefined && (ran.size !== 1 || !ran.has(this.options.backend))) {
      throw new UnsupportedError(
        `the gpu backend "${this.options.backend}" was asked for but gpu.js ran kernels on ${label}` + (fallback ? ` (${fallback})` : ''),
      );
    }
    return `gpu(${label})`;
  }

  /** Frees kernels, device buffers and the GPU instance. */
  async destroy(): Promise<void> {
    if (this.syncEngine) await this.syncEngine.destroy();
    if (this.asyncEngine) await (await this.asyncEngine).destroy();
    this.syncEngine = null;
    this.asyncEngine = null;
  }
}

/** The results up to the first input not yet run (inputs run grouped by length, so a stopped run may have filled later ones). */
function finishedPrefix(out: RunResult[]): RunResult[] {
  let k = 0;
  while (k < out.length && out[k] !== undefined) k++;
  return out.slice(0, k);
}

function refuseTrace(options: RunOptions): void {
  if (options.trace) {
    throw new UnsupportedError(
      'the gpu interpreter keeps activations on the device and records no trace; run the float32 interpreter for one (same float32 operations, same order)',
    );
  }
}

/** The chunk's inputs, padded to Bc by repeating the first (padding rows are computed and dropped). */
function padChunk(inputs: readonly (readonly number[])[], part: number[], Bc: number): (readonly number[])[] {
  if (part.length === 0) throw new InputError('empty chunk');
  const chunk = part.map((i) => inputs[i]);
  while (chunk.length < Bc) chunk.push(chunk[0]);
  return chunk;
}

function readBack(v: unknown): unknown {
  if (v && typeof (v as { toArray?: unknown }).toArray === 'function') return (v as { toArray(): unknown }).toArray();
  return v;
}

function releaseTexture(v: unknown): void {
  if (v && typeof (v as { delete?: unknown }).delete === 'function') (v as { delete(): void }).delete();
}

export type { Kernel };
export { MARGIN_FIELDS };
