// The gpu.js side of the gpu interpreter (interpreter.ts drives it): one GPU instance per backend,
// each model packed once and its kernels compiled per (length, chunk size) shape, kept in a small
// LRU; and the forward pass as kernel calls (orchestrate), written once for both execution modes.
import { type Model, maskRow } from '../simulators/model.ts';
import type { AttentionSite } from '../simulators/result.ts';
import { type BackendName, type GpuInstance, type PipelineShortcut, createGpu } from './backend.ts';
import { NONE, type ShapeKernels, applyResidual, cellsPerSequence, createShapeKernels } from './kernels.ts';
import { type ModelPack, packModel } from './pack.ts';

export interface GpuOptions {
  /** A backend by name; absent: the first available (WebGPU first for async runs). */
  backend?: BackendName;
  /** Upper bound on sequences per kernel launch (the chunk size is also bounded by buffer limits). */
  maxChunk?: number;
  /** Upper bound on float32 cells in one kernel output (default per backend). */
  maxCells?: number;
  /** Compiled shapes kept per model (each holds kernels and device buffers). */
  cacheShapes?: number;
  /**
   * Residual products with more nonzeros per column than this are summed in blocks of this size
   * (split-K: more parallel, but not float32's summation order). Default 1024 on webgpu, 0 (never,
   * bit-exact) elsewhere.
   */
  splitK?: number;
}

export interface Compiled {
  kernels: ShapeKernels;
  pipeline: PipelineShortcut | null;
  masks: (Float32Array | null)[][];
}

export interface ModelState {
  pack: ModelPack;
  shapes: Map<string, Compiled>;
  sites: Omit<AttentionSite, 'position'>[];
}

function nextPow2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** One gpu.js GPU instance and its compiled models, for one backend. */
export class Engine {
  readonly gpu: GpuInstance;
  private readonly models = new WeakMap<Model, ModelState>();
  private readonly live = new Set<ModelState>();

  readonly splitK: number;

  constructor(
    readonly backend: BackendName,
    readonly options: GpuOptions,
    private readonly storageLimitBytes: number,
  ) {
    this.gpu = createGpu(backend);
    this.splitK = options.splitK ?? (backend === 'webgpu' ? 1024 : 0);
  }

  state(model: Model): ModelState {
    let st = this.models.get(model);
    if (!st) {
      const pack = packModel(model);
      const sites: Omit<AttentionSite, 'position'>[] = [];
      let loop = 0;
      model.stages.forEach((stage, s) => {
        for (let t = 1; t <= stage.loops; t++) {
          loop++;
          stage.layers.forEach((layer, l) => layer.heads.forEach((h) => sites.push({ loop, stage: s, layer: l, head: h.name })));
        }
      });
      st = { pack, shapes: new Map(), sites };
      this.models.set(model, st);
      this.live.add(st);
    }
    return st;
  }

  /** Sequences per kernel launch for length n and a batch of B. */
  chunkSize(pack: ModelPack, n: number, B: number): number {
    const defaultCells = this.backend === 'webgpu' ? Math.floor(this.storageLimitBytes / 4) : this.backend === 'headlessgl' ? 1 << 24 : 1 << 23;
    const maxCells = this.options.maxCells ?? defaultCells;
    let cap = Math.max(1, Math.floor(maxCells / cellsPerSequence(pack, n, this.splitK)));
    if (this.backend === 'webgpu') {
      // z is dispatched one workgroup per slice: Bc × heads ≤ 65535
      const H = Math.max(1, ...pack.stages.flatMap((s) => s.layers.map((l) => l.heads.length)));
      cap = Math.min(cap, Math.floor(65535 / H));
    }
    if (this.options.maxChunk !== undefined) cap = Math.min(cap, this.options.maxChunk);
    // powers of two, so batch sizes share compiled shapes
    let c = 1;
    while (c * 2 <= cap) c *= 2;
    return Math.min(c, nextPow2(B));
  }

  compiled(model: Model, st: ModelState, n: number, Bc: number, direct: boolean): Compiled {
    const key = `${n}:${Bc}:${direct ? 'd' : 'p'}`;
    let c = st.shapes.get(key);
    if (c) {
      st.shapes.delete(key); // LRU: re-insert at the end
      st.shapes.set(key, c);
      return c;
    }
    const settings = direct && this.backend === 'headlessgl' ? { pipeline: true, immutable: true } : {};
    const kernels = createShapeKernels(this.gpu, st.pack, n, Bc, { settings, splitK: this.splitK });
    const masks = model.stages.map((stage, s) =>
      Array.from({ length: stage.loops }, (_, t) => {
        const row = maskRow(stage.mask, t + 1, stage.loops, n, `stage ${s} mask`);
        return row.every(Boolean) ? null : Float32Array.from(row, (v) => (v ? 1 : 0));
      }),
    );
    c = { kernels, masks, pipeline: null };
    if (!direct) {
      const k = kernels;
      const pack = st.pack;
      const compiledMasks = masks;
      c.pipeline = this.gpu.createPipeline(function (this: unknown, tokens: unknown, m0: unknown) {
        return orchestrate(k, pack, compiledMasks, tokens, m0, () => {});
      });
    }
    st.shapes.set(key, c);
    const limit = this.options.cacheShapes ?? 4;
    while (st.shapes.size > limit) {
      const [oldKey, old] = st.shapes.entries().next().value as [string, Compiled];
      st.shapes.delete(oldKey);
      void destroyCompiled(old);
    }
    return c;
  }

  async destroy(): Promise<void> {
    for (const st of this.live) for (const c of st.shapes.values()) await destroyCompiled(c);
    this.live.clear();
    await this.gpu.destroy();
  }
}

async function destroyCompiled(c: Compiled): Promise<void> {
  if (c.pipeline) await c.pipeline.destroy().catch(() => undefined);
  for (const k of c.kernels.all) {
    try {
      k.destroy();
    } catch {
      /* a kernel that never built has nothing to free */
    }
  }
}

/**
 * The forward pass as kernel calls. Written once for both execution modes: under createPipeline
 * the calls return opaque handles and are recorded; called directly they return arrays (cpu,
 * webasm) or textures (headlessgl, freed through `release`).
 */
export function orchestrate(
  k: ShapeKernels,
  pack: ModelPack,
  masks: (Float32Array | null)[][],
  tokens: unknown,
  m0: unknown,
  release: (v: unknown) => void,
): { logits: unknown; margins: unknown } {
  let x = k.embed(tokens);
  let M = m0;
  let call = 0;
  pack.stages.forEach((stage, s) => {
    for (let t = 0; t < stage.loops; t++) {
      const before = x;
      stage.layers.forEach((layer, l) => {
        const L = k.layers[s][l];
        if (L.qkv && L.scores && L.stats && L.attend && L.attnOut && L.margin) {
          const qkv = L.qkv(x);
          const S = L.scores(qkv);
          const st = L.stats(S);
          const A = L.attend(S, st, qkv);
          const x2 = applyResidual(L.attnOut, x, A, release);
          const M2 = L.margin(M, st, Float32Array.of(call));
          call += layer.heads.length;
          release(qkv);
          release(S);
          release(st);
          release(A);
          if (M !== m0) release(M);
          if (x !== before) release(x);
          M = M2;
          x = x2;
        }
        if (L.hidden && L.mlpOut) {
          const h = L.hidden(x);
          const x3 = applyResidual(L.mlpOut, x, h, release);
          release(h);
          if (x !== before) release(x);
          x = x3;
        }
      });
      const m = masks[s][t];
      if (m !== null && x !== before) {
        const y = k.select(x, before, m);
        release(x);
        x = y;
      }
      if (x !== before) release(before);
    }
  });
  const logits = k.readout(x);
  release(x);
  return { logits, margins: M };
}

export function initialMargins(Bc: number): Float32Array[] {
  return Array.from({ length: Bc }, () => Float32Array.of(NONE, -1, -1, 0, 0, 0));
}
