// The one hot loop in WebAssembly SIMD: a product with a weight matrix packed in panels, four rows
// at a time. It is assembled here, byte by byte, by a very small assembler (the few instructions
// it needs), so there is no build step and no binary file in the repository.
//
//   gemm64(X, xs, Y, ys, W, ps, nk, rows, nrb, np, init)   float64, panels of 4 columns (f64x2 × 2)
//   gemm32(X, xs, Y, ys, W, ps, nk, rows, nrb, np, init)   float32, panels of 8 columns (f32x4 × 2)
//
// All arguments are i32: X, Y, W, rows are byte addresses in the module's memory, xs and ys byte
// row strides. For row block b < nrb (rows 4b .. 4b+3) and panel p < np (output columns
// P·p .. P·p + P−1 of the window starting at Y) it computes
//     acc = init ? 0 : Y[r, c];   for kk < nk: acc = acc + X[r, k_kk] · W_p[kk, c];   Y[r, c] = acc
// where k_kk is read from the i32 table `rows` (already a byte offset: k·8 or k·4) and panel p
// holds (at least) nk rows of P values contiguously at W + p·ps. Every multiply and add is a separate IEEE
// operation in the order above, with no fused multiply-add, so the result is bit-identical to the
// scalar loop `y += x * w` with k ascending (and, in float32, to Math.fround after each step).

/** Columns per panel: one 32-byte row of a panel is two v128 vectors. */
export const PANEL64 = 4;
export const PANEL32 = 8;

// ---------------------------------------------------------------- a tiny assembler

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

const I32 = 0x7f;
const V128 = 0x7b;
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
/** memarg: alignment (log2) and offset. */
const mem = (align: number, offset = 0): number[] => [align, ...uleb(offset)];

const ins = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  mul: [0x6c],
  geS: [0x4e],
  eqz: [0x45],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  i32Load: [0x28, ...mem(2)],
  v128Load: (offset: number) => simd(0x00, ...mem(0, offset)),
  v128Store: (offset: number) => simd(0x0b, ...mem(0, offset)),
  load32Splat: simd(0x09, ...mem(2)),
  load64Splat: simd(0x0a, ...mem(3)),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)), // v128.const 0
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
};

/** The body of one gemm kernel for elements of `bytes` (8 or 4). */
function gemmBody(bytes: 8 | 4): number[] {
  // Parameters 0..10, then i32 locals, then v128 locals.
  const [X, xs, Y, ys, W, ps, nk, rows, nrb, np, init] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [rb, p, kk, x0, x1, x2, x3, y0, wp, rp, k] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
  const nI32 = 11;
  const acc = 22; // 8 accumulators: row r, half h at acc + 2r + h
  const w0 = acc + 8;
  const w1 = w0 + 1;
  const xv = w1 + 1;
  const nV128 = 11;
  const splat = bytes === 8 ? ins.load64Splat : ins.load32Splat;
  const fmul = bytes === 8 ? ins.f64x2Mul : ins.f32x4Mul;
  const fadd = bytes === 8 ? ins.f64x2Add : ins.f32x4Add;

  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const part of parts) code.push(...part);
  };
  const rowAddr = (base: number, r: number) => {
    // base + r·ys (r = 0..3), on the stack
    emit(ins.get(base));
    for (let q = 0; q < r; q++) emit(ins.get(ys), ins.add);
  };

  emit(ins.i32(0), ins.set(rb));
  emit(ins.block, ins.loop); // for rb < nrb
  emit(ins.get(rb), ins.get(nrb), ins.geS, ins.brIf(1));
  // x0..x3: the four X rows of this block
  emit(ins.get(X), ins.get(rb), ins.get(xs), ins.mul, ins.i32(4), ins.mul, ins.add, ins.set(x0));
  emit(ins.get(x0), ins.get(xs), ins.add, ins.set(x1));
  emit(ins.get(x1), ins.get(xs), ins.add, ins.set(x2));
  emit(ins.get(x2), ins.get(xs), ins.add, ins.set(x3));
  emit(ins.i32(0), ins.set(p));
  emit(ins.block, ins.loop); // for p < np
  emit(ins.get(p), ins.get(np), ins.geS, ins.brIf(1));
  // y0 = Y + 4·rb·ys + 32·p
  emit(ins.get(Y), ins.get(rb), ins.get(ys), ins.mul, ins.i32(4), ins.mul, ins.add, ins.get(p), ins.i32(32), ins.mul, ins.add, ins.set(y0));
  // accumulators: zero, or the current Y
  emit(ins.get(init), ins.if);
  for (let a = 0; a < 8; a++) emit(ins.v128Zero, ins.set(acc + a));
  emit(ins.else);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      rowAddr(y0, r);
      emit(ins.v128Load(16 * h), ins.set(acc + 2 * r + h));
    }
  }
  emit(ins.end);
  // wp = W + p·ps; rp = rows
  emit(ins.get(W), ins.get(p), ins.get(ps), ins.mul, ins.add, ins.set(wp));
  emit(ins.get(rows), ins.set(rp));
  emit(ins.i32(0), ins.set(kk));
  emit(ins.block, ins.loop); // for kk < nk
  emit(ins.get(kk), ins.get(nk), ins.geS, ins.brIf(1));
  emit(ins.get(rp), ins.i32Load, ins.set(k));
  emit(ins.get(wp), ins.v128Load(0), ins.set(w0));
  emit(ins.get(wp), ins.v128Load(16), ins.set(w1));
  [x0, x1, x2, x3].forEach((xr, r) => {
    emit(ins.get(xr), ins.get(k), ins.add, splat, ins.set(xv));
    emit(ins.get(acc + 2 * r), ins.get(xv), ins.get(w0), fmul, fadd, ins.set(acc + 2 * r));
    emit(ins.get(acc + 2 * r + 1), ins.get(xv), ins.get(w1), fmul, fadd, ins.set(acc + 2 * r + 1));
  });
  emit(ins.get(wp), ins.i32(32), ins.add, ins.set(wp));
  emit(ins.get(rp), ins.i32(4), ins.add, ins.set(rp));
  emit(ins.get(kk), ins.i32(1), ins.add, ins.set(kk));
  emit(ins.br(0), ins.end, ins.end);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      rowAddr(y0, r);
      emit(ins.get(acc + 2 * r + h), ins.v128Store(16 * h));
    }
  }
  emit(ins.get(p), ins.i32(1), ins.add, ins.set(p), ins.br(0), ins.end, ins.end);
  emit(ins.get(rb), ins.i32(1), ins.add, ins.set(rb), ins.br(0), ins.end, ins.end);
  const locals = vec([
    [...uleb(nI32), I32],
    [...uleb(nV128), V128],
  ]);
  return [...locals, ...code, ...ins.end];
}

/** The module: imports memory env.mem, exports gemm64 and gemm32. */
export function gemmModuleBytes(): Uint8Array {
  const type = [0x60, ...vec(new Array<number[]>(11).fill([I32])), 0x00];
  const bodies = [gemmBody(8), gemmBody(4)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([[0], [0]])),
    ...section(7, vec([[...name('gemm64'), 0x00, 0], [...name('gemm32'), 0x00, 1]])),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

export type GemmKernel = (X: number, xs: number, Y: number, ys: number, W: number, ps: number, nk: number, rows: number, nrb: number, np: number, init: number) => void;

// The few WebAssembly APIs used here, typed locally (the project's tsconfig has no DOM library).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** A growable memory for the workspace (a plain one where WebAssembly is missing altogether). */
export function newMemory(): WasmMemory {
  if (wasmApi) return new wasmApi.Memory({ initial: 1 });
  let buffer = new ArrayBuffer(65536);
  return {
    get buffer() {
      return buffer;
    },
    grow(pages: number) {
      const old = buffer;
      buffer = new ArrayBuffer(old.byteLength + pages * 65536);
      new Uint8Array(buffer).set(new Uint8Array(old));
      return old.byteLength / 65536;
    },
  };
}

export interface WasmKernels {
  readonly memory: WasmMemory;
  readonly gemm64: GemmKernel;
  readonly gemm32: GemmKernel;
}

let compiled: object | null | undefined;

/** A fresh instance with its own memory, or null where WebAssembly SIMD is unavailable. */
export function instantiateKernels(): WasmKernels | null {
  if (compiled === undefined) {
    const bytes = gemmModuleBytes();
    compiled = wasmApi && wasmApi.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  if (compiled === null || !wasmApi) return null;
  const memory = new wasmApi.Memory({ initial: 1 });
  const inst = new wasmApi.Instance(compiled, { env: { mem: memory } });
  return { memory, gemm64: inst.exports.gemm64 as GemmKernel, gemm32: inst.exports.gemm32 as GemmKernel };
}
