// The loop of a fast-path worker thread: it receives a job (a plan, its share of the inputs, the
// masks those inputs need, the backend), runs every chunk of it, posts the raw outputs back (the
// logits as transferred buffers) and raises the shared `ready` flag the parent waits on.
import type { MessagePort } from 'node:worker_threads';
import type { Plan } from './compile.ts';
import { type RawChunk, chunks, computeChunk } from './forward.ts';
import { type Backend, setBackend } from './workspace.ts';

export interface Job {
  plan: Plan;
  inputs: number[][];
  /** Mask rows by `${stage}/${t}/${length}`, 1 = recompute. */
  masks: Record<string, Uint8Array>;
  chunkRows: number;
  backend: Backend;
}

export type Reply = { ok: true; raws: RawChunk[] } | { ok: false; error: string };

export const READY = 1;
export const ALIVE = 1;

export function serve(data: { port: MessagePort; state: Int32Array }): void {
  const { port, state } = data;
  port.on('message', (job: Job) => {
    let reply: Reply;
    const transfer: ArrayBuffer[] = [];
    try {
      setBackend(job.backend);
      const masks = (s: number, t: number, len: number) => job.masks[`${s}/${t}/${len}`];
      const raws = chunks(job.inputs, job.chunkRows).map((part) => computeChunk(job.plan, part, masks));
      for (const r of raws) transfer.push(r.logits.buffer as ArrayBuffer);
      reply = { ok: true, raws };
    } catch (e) {
      reply = { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply, transfer);
    Atomics.store(state, 0, READY);
    Atomics.notify(state, 0);
  });
  Atomics.store(state, 1, ALIVE);
}
