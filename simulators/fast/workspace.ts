// The fast path's memory and its products (forward.ts runs the pass with them).
//
// Memory. Everything the kernels touch lives in one WebAssembly.Memory per thread (a workspace):
// the dense weight panels, the activations and the attention scratch. Each chunk lays its arrays
// out from address 0 (growing the memory first if needed), so nothing is freed and nothing leaks;
// the memory keeps its largest size until the thread ends.
//
// Products. A dense block is a panel product, in WebAssembly SIMD (wasm.ts) or, with the same
// bits, its JavaScript fallback; a CSR block is a JavaScript loop (kernels32/64.ts).
import type { Arr, Mat, Precision } from './compile.ts';
import { csr32, panels32 } from './kernels32.ts';
import { csr64, panels64 } from './kernels64.ts';
import { type GemmKernel, type WasmKernels, type WasmMemory, instantiateKernels, newMemory } from './wasm.ts';

export type Backend = 'wasm' | 'js';
let wanted: Backend = 'wasm';
let kernels: WasmKernels | null | undefined;
let memory: WasmMemory | null = null;

/**
 * Chooses the panel product: WebAssembly SIMD (the default, where the engine has it) or the plain
 * JavaScript fallback. Both give the same bits; the switch exists to test one against the other.
 */
export function setBackend(b: Backend): void {
  wanted = b;
}

/** The backend runs use now: 'js' where WebAssembly SIMD is missing, whatever was asked. */
export function backend(): Backend {
  if (kernels === undefined) kernels = instantiateKernels();
  return wanted === 'wasm' && kernels !== null ? 'wasm' : 'js';
}

/** The WebAssembly panel product for the precision, or null when the JavaScript fallback runs. */
export function gemmKernel(precision: Precision): GemmKernel | null {
  if (backend() !== 'wasm') return null;
  return precision === 'f64' ? kernels!.gemm64 : kernels!.gemm32;
}

/** This thread's workspace, grown to at least `bytes`. */
export function workspace(bytes: number): WasmMemory {
  if (kernels === undefined) kernels = instantiateKernels();
  if (memory === null) memory = kernels?.memory ?? newMemory();
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
  return memory;
}

export const align = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Hands out typed arrays over the workspace, in order, from address 0. */
export class Arena {
  private top = 0;
  constructor(
    private readonly buffer: ArrayBuffer,
    private readonly precision: Precision,
  ) {}
  take(n: number): Arr {
    const a = this.precision === 'f64' ? new Float64Array(this.buffer, this.top, n) : new Float32Array(this.buffer, this.top, n);
    this.top += align(n * a.BYTES_PER_ELEMENT);
    return a;
  }
  takeI32(n: number): Int32Array {
    const a = new Int32Array(this.buffer, this.top, n);
    this.top += align(n * 4);
    return a;
  }
}

/** A dense matrix copied into the workspace: its panels and its row table as byte offsets. */
export interface Loaded {
  w: Arr;
  rowBytes: Int32Array;
}

/** Everything one chunk's products compute with. */
export interface Ctx {
  readonly precision: Precision;
  readonly P: number;
  readonly bytes: number;
  readonly gemm: GemmKernel | null;
  readonly loaded: Map<Mat, Loaded>;
  /** 0, 1, 2, … as element indices (JS fallback) and as byte offsets (wasm). */
  readonly ident: Int32Array;
  readonly identBytes: Int32Array;
}

/**
 * Y = X · W on rows 0..R−1 (rounded up to a block of 4), into Y's zeroed rows at column offset yo.
 * Offsets and strides are in elements.
 */
export function product(ctx: Ctx, m: Mat, X: Arr, xo: number, xs: number, R: number, Y: Arr, yo: number, ys: number): void {
  if (m.kind === 'csr') {
    if (ctx.precision === 'f64') csr64(m, X as Float64Array, xo, xs, R, Y as Float64Array, yo, ys);
    else csr32(m, X as Float32Array, xo, xs, R, Y as Float32Array, yo, ys);
    return;
  }
  const nk = m.rows.length;
  if (nk === 0 || m.width === 0 || R === 0) return;
  const L = ctx.loaded.get(m)!;
  const { P, bytes } = ctx;
  const nrb = Math.ceil(R / 4);
  const np = m.width / P;
  if (ctx.gemm) {
    ctx.gemm(X.byteOffset + xo * bytes, xs * bytes, Y.byteOffset + (yo + m.c0) * bytes, ys * bytes, L.w.byteOffset, nk * 32, nk, L.rowBytes.byteOffset, nrb, np, 1);
  } else {
    panelsJs(ctx, X, xo, xs, Y, yo + m.c0, ys, L.w, 0, nk * P, nk, m.rows, nrb, np);
  }
}

/** The panel product on workspace arrays whose row table is the identity (attention's products). */
export function productIdent(ctx: Ctx, X: Arr, xo: number, xs: number, nrb: number, Y: Arr, yo: number, ys: number, W: Arr, ps: number, nk: number, np: number): void {
  if (np === 0 || nrb === 0) return;
  if (nk === 0) {
    // An empty sum (a head with a 0-dimensional query/key space): every entry is 0.
    for (let r = 0; r < 4 * nrb; r++) Y.fill(0, yo + r * ys, yo + r * ys + np * ctx.P);
    return;
  }
  const { bytes } = ctx;
  if (ctx.gemm) ctx.gemm(X.byteOffset + xo * bytes, xs * bytes, Y.byteOffset + yo * bytes, ys * bytes, W.byteOffset, ps * bytes, nk, ctx.identBytes.byteOffset, nrb, np, 1);
  else panelsJs(ctx, X, xo, xs, Y, yo, ys, W, 0, ps, nk, ctx.ident, nrb, np);
}

function panelsJs(ctx: Ctx, X: Arr, xo: number, xs: number, Y: Arr, yo: number, ys: number, W: Arr, wo: number, ps: number, nk: number, rows: Int32Array, nrb: number, np: number): void {
  if (ctx.precision === 'f64') panels64(ctx.P, X as Float64Array, xo, xs, Y as Float64Array, yo, ys, W as Float64Array, wo, ps, nk, rows, 0, nrb, np, true);
  else panels32(ctx.P, X as Float32Array, xo, xs, Y as Float32Array, yo, ys, W as Float32Array, wo, ps, nk, rows, 0, nrb, np, true);
}
