// Both cores for one batch, behind the synchronous Interpreter contract. A large batch is split
// into contiguous shares of about equal work; the main thread runs the first share itself while
// worker threads run the others, then it blocks (Atomics.wait) until each worker raises its flag
// and takes the reply with receiveMessageOnPort, so runBatch stays an ordinary synchronous call.
//
// Workers start on first use (worker.mjs) and stay, unref'd, for later batches. A share goes to a
// worker only when the batch is big enough to pay for copying the plan (PARALLEL_MIN_WORK); a
// worker that died or failed to start is retired and its share is run on the main thread, so the
// results never depend on the threads. Threads: LOOPED_THREADS, else os.availableParallelism().
//
// runParallelAsync is the same split for a caller that must stay responsive (a sweep under Ctrl-C):
// it never blocks. It gives shares only to workers already serving (one still booting is left to
// boot), runs its own share a chunk at a time with a turn of the event loop between chunks, and
// polls for the replies; when the caller's signal is set it stops, abandons (terminates) the
// workers still busy, which are replaced on next use, and returns the results of a prefix.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { Plan } from './compile.ts';
import { type MaskFn, type RawChunk, assemble, chunks, computeChunk, CHUNK_ROWS } from './forward.ts';
import { backend } from './workspace.ts';
import type { Job, Reply } from './worker.ts';
import type { RunResult } from '../result.ts';
import { type AbortFlag, nextTurn } from '../turns.ts';

/** Below this many multiply-adds (about 10 ms on one core) a batch runs on the calling thread alone. */
export const PARALLEL_MIN_WORK = 5e7;
let minWork = PARALLEL_MIN_WORK;

const ALIVE = 1;
const DEAD = 2;
const READY = 1;
/** A worker that has not started serving after this long is retired (its share runs here). */
const BOOT_TIMEOUT_MS = 60_000;
const WORKER_URL = new URL('./worker.mjs', import.meta.url);
/** False where worker.mjs is not beside this module (a bundle): then everything runs on one thread. */
let workersPossible: boolean | undefined;

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** [0] reply ready, [1] alive (0 starting, 1 serving, 2 dead). */
  state: Int32Array;
  /** A job was posted and its reply not yet taken. */
  busy?: boolean;
}

/** Slot k: worker k; undefined until first use, or after it was abandoned (then respawned on use). */
const helpers: (Helper | undefined)[] = [];
let threads = defaultThreads();
/** Why the last batch ran as it did (for the bench and for tests). */
let lastNote = '';

function defaultThreads(): number {
  const env = Number(process.env.LOOPED_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, availableParallelism());
}

/** How many threads a large batch uses (1 = the calling thread only). */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setThreads: the number of threads must be a whole number ≥ 1, got ${n}`);
  threads = n;
}

export function getThreads(): number {
  return threads;
}

/** The work below which a batch is not split (tests set 0 to exercise the workers on small models). */
export function setParallelMinWork(work: number): void {
  minWork = work;
}

/** How the last runParallel call split its batch, in words. */
export function lastParallelNote(): string {
  return lastNote;
}

function helper(k: number): Helper | null {
  if (workersPossible === undefined) workersPossible = WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
  if (!workersPossible) return null;
  let h = helpers[k];
  if (h === undefined) {
    const state = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_URL, { workerData: { port: port2, state }, transferList: [port2] });
    worker.unref();
    port1.unref();
    // An error surfaces here only after the main thread is free again; the flag already told it.
    worker.on('error', () => Atomics.store(state, 1, DEAD));
    h = { worker, port: port1, state };
    helpers[k] = h;
  }
  return Atomics.load(h.state, 1) === DEAD ? null : h;
}

/** Stops worker k mid-job (its reply is no longer wanted); the slot gets a fresh worker on next use. */
function abandon(k: number): void {
  const h = helpers[k];
  if (h === undefined) return;
  helpers[k] = undefined;
  Atomics.store(h.state, 1, DEAD);
  h.port.close();
  void h.worker.terminate();
}

/** Multiply-adds of one sequence of length n through the plan (the products and the attention). */
function costOf(plan: Plan, n: number): number {
  const nnz = (m: Plan['U']) => (m.kind === 'dense' ? m.rows.length * m.width : m.val.length);
  let c = nnz(plan.U) * n;
  for (const stage of plan.stages) {
    for (const li of stage.layers) {
      const l = plan.layers[li];
      let per = 0;
      if (l.W_QKV) per += n * (nnz(l.W_QKV) + nnz(l.W_O!)) + n * n * l.heads.reduce((s, h) => s + h.dqk + h.dov, 0);
      if (l.mlp) per += n * (nnz(l.mlp.W_in) + nnz(l.mlp.W_out));
      c += stage.loops * per;
    }
  }
  return c;
}

/** Contiguous shares of about equal cost, at most `parts` of them, none empty. */
function shares<T>(items: readonly T[], cost: readonly number[], parts: number): T[][] {
  const total = cost.reduce((s, x) => s + x, 0);
  const out: T[][] = [];
  let cur: T[] = [];
  let acc = 0;
  items.forEach((it, i) => {
    cur.push(it);
    acc += cost[i];
    const left = items.length - i - 1;
    if (out.length < parts - 1 && acc >= (total * (out.length + 1)) / parts && left > 0) {
      out.push(cur);
      cur = [];
    }
  });
  if (cur.length > 0) out.push(cur);
  return out;
}

function maskTable(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn): Record<string, Uint8Array> {
  const table: Record<string, Uint8Array> = {};
  const lengths = [...new Set(inputs.map((x) => x.length))];
  plan.stages.forEach((stage, s) => {
    if (!stage.hasMask) return;
    for (let t = 1; t <= stage.loops; t++) {
      for (const len of lengths) table[`${s}/${t}/${len}`] = Uint8Array.from(Array.from(masks(s, t, len), (v) => (v ? 1 : 0)));
    }
  });
  return table;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Waits for a worker's reply; null if it died first, or never started serving. */
function awaitReply(h: Helper): Reply | null {
  const start = Date.now();
  while (Atomics.load(h.state, 0) !== READY) {
    const alive = Atomics.load(h.state, 1);
    if (alive === DEAD) return null;
    if (alive !== ALIVE && Date.now() - start > BOOT_TIMEOUT_MS) {
      // Never started (its 'error' event cannot reach this blocked thread): retire it.
      Atomics.store(h.state, 1, DEAD);
      void h.worker.terminate();
      return null;
    }
    Atomics.wait(h.state, 0, 0, 250);
  }
  // The reply was posted before the flag was raised; give the port a moment if it is not there yet.
  for (let k = 0; k < 100; k++) {
    const m = receiveMessageOnPort(h.port);
    if (m !== undefined) return m.message as Reply;
    Atomics.wait(sleeper, 0, 0, 5);
  }
  return null;
}

/**
 * runPlan over several threads when the batch is large enough, else on this one. Same results,
 * in the same order, either way.
 */
export function runParallel(plan: Plan, inputs: readonly (readonly number[])[], masks: MaskFn, name: string, chunkRows = CHUNK_ROWS): RunResult[] {
  const cost = inputs.map((x) => costOf(plan, x.length));
  const total = cost.reduce((s, x) => s + x, 0);
  const parts = Math.min(threads, inputs.length);
  const local = (part: readonly (readonly number[])[]) => chunks(part, chunkRows).flatMap((c) => assemble(plan, c, computeChunk(plan, c, masks), name));
  if (parts < 2 || total < minWork) {
    lastNote = `1 thread (${parts < 2 ? 'one thread or one input' : `${total.toExponential(1)} multiply-adds is below ${minWork.toExponential(0)}`})`;
    return local(inputs);
  }
  const split = shares(inputs, cost, parts);
  const out: RunResult[][] = new Array(split.length);
  // Post every worker's share first, then run share 0 here while they work.
  const posted: { k: number; h: Helper }[] = [];
  for (let k = 1; k < split.length; k++) {
    const h = helper(k - 1);
    if (h === null || h.busy) continue; // retired, or serving a runParallelAsync still in flight: run below
    const job: Job = { plan, inputs: split[k].map((x) => [...x]), masks: maskTable(plan, split[k], masks), chunkRows, backend: backend() };
    Atomics.store(h.state, 0, 0);
    h.port.postMessage(job);
    h.busy = true;
    posted.push({ k, h });
  }
  out[0] = local(split[0]);
  let used = 1;
  for (const { k, h } of posted) {
    const reply = awaitReply(h);
    h.busy = false;
    if (reply !== null && !reply.ok) throw new Error(`fast path worker failed: ${reply.error}`);
    if (reply === null) continue; // the worker died: its share runs below
    used++;
    const parts2 = chunks(split[k], chunkRows);
    out[k] = reply.raws.flatMap((raw: RawChunk, c: number) => assemble(plan, parts2[c], raw, name));
  }
  for (let k = 1; k < split.length; k++) if (out[k] === undefined) out[k] = local(split[k]);
  const why = workersPossible === false ? ', no worker threads: worker.mjs is not beside parallel.ts' : used < split.length ? ', a worker was retired' : '';
  lastNote = `${used} thread${used > 1 ? 's' : ''} (${split.map((p) => p.length).join(' + ')} inputs${why})`;
  return out.flat();
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls for a worker's reply without blocking: the reply; null if the worker died first; 'stopped' if the signal came first. */
async function awaitReplyAsync(h: Helper, signal: AbortFlag | undefined): Promise<Reply | null | 'stopped'> {
  while (Atomics.load(h.state, 0) !== READY) {
    if (Atomics.load(h.state, 1) === DEAD) return null;
    if (signal?.aborted) return 'stopped';
    await pause(1);
  }
  for (let k = 0; k < 100; k++) {
    const m = receiveMessageOnPort(h.port);
    if (m !== undefined) return m.message as Reply;
    await pause(5);
  }
  return null;
}

/**
 * runParallel for a caller that must stay responsive: the same results in the same order, but the
 * calling thread is never blocked for more than one chunk of its own share. Shares go only to
 * workers that are already serving and idle (the others are started, or left to finish booting,
 * for later batches). When `signal.aborted` becomes true it stops at the next chunk boundary,
 * terminates the workers still computing (their slots get fresh workers on next use) and returns
 * the results of the inputs finished so far: always a prefix of `inputs`, possibly empty.
 */
export async function runParallelAsync(
  plan: Plan,
  inputs: readonly (readonly number[])[],
  masks: MaskFn,
  name: string,
  signal?: AbortFlag,
  chunkRows = CHUNK_ROWS,
): Promise<RunResult[]> {
  const cost = inputs.map((x) => costOf(plan, x.length));
  const total = cost.reduce((s, x) => s + x, 0);
  const ready: number[] = [];
  if (total >= minWork) {
    for (let k = 0; k < threads - 1; k++) {
      const h = helper(k); // starts worker k if it was never started
      if (h !== null && Atomics.load(h.state, 1) === ALIVE && !h.busy && ready.length + 1 < inputs.length) ready.push(k);
    }
  }
  const split = shares(inputs, cost, 1 + ready.length);
  const posted: { part: number; k: number; h: Helper; settled: boolean }[] = [];
  for (let part = 1; part < split.length; part++) {
    const k = ready[part - 1];
    const h = helpers[k]!;
    const job: Job = { plan, inputs: split[part].map((x) => [...x]), masks: maskTable(plan, split[part], masks), chunkRows, backend: backend() };
    Atomics.store(h.state, 0, 0);
    h.port.postMessage(job);
    h.busy = true;
    posted.push({ part, k, h, settled: false });
  }
  const done: RunResult[] = [];
  /** Runs a share here, a chunk at a time with a turn of the event loop before each; false if the signal stopped it. */
  const local = async (part: readonly (readonly number[])[]): Promise<boolean> => {
    for (const c of chunks(part, chunkRows)) {
      await nextTurn();
      if (signal?.aborted) return false;
      done.push(...assemble(plan, c, computeChunk(plan, c, masks), name));
    }
    return true;
  };
  const stop = (): RunResult[] => {
    for (const p of posted) if (!p.settled) abandon(p.k);
    lastNote = `stopped by the signal after ${done.length} of ${inputs.length} inputs`;
    return done;
  };
  if (!(await local(split[0]))) return stop();
  let used = 1;
  let retired = false;
  for (const p of posted) {
    const reply = await awaitReplyAsync(p.h, signal);
    if (reply === 'stopped') return stop();
    p.settled = true;
    p.h.busy = false;
    if (reply !== null && !reply.ok) {
      stop();
      throw new Error(`fast path worker failed: ${reply.error}`);
    }
    if (reply === null) {
      // The worker died: its share runs here.
      retired = true;
      if (!(await local(split[p.part]))) return stop();
      continue;
    }
    used++;
    const parts2 = chunks(split[p.part], chunkRows);
    done.push(...reply.raws.flatMap((raw: RawChunk, c: number) => assemble(plan, parts2[c], raw, name)));
  }
  const why = workersPossible === false ? ', no worker threads: worker.mjs is not beside parallel.ts' : retired ? ', a worker was retired' : '';
  lastNote = `${used} thread${used > 1 ? 's' : ''} (${split.map((p) => p.length).join(' + ')} inputs${why}, without blocking)`;
  return done;
}
