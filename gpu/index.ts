// The gpu.js interpreter's public names, and `gpu[:backend]` for the interpreter registry
// (simulators/interpreters.ts imports `gpuEntry`). Importing this module does not load gpu.js: a
// GpuInterpreter loads it on its first run (and the `webgpu` addon only if WebGPU is probed).
//   gpu              first available: WebGPU for async runs, else headlessgl, webasm, cpu
//   gpu:webgpu       WebGPU only (asynchronous: runBatchAsync / runAsync)
//   gpu:headlessgl   headless-gl only
//   gpu:webasm       gpu.js WebAssembly backend only
//   gpu:cpu          gpu.js plain-JS backend only (same kernel source; for CI and for checking)
import type { Interpreter, InterpreterEntry } from '../simulators/result.ts';
import { parseBackendArg } from './backend.ts';
import { type AsyncInterpreter, GpuInterpreter } from './interpreter.ts';

/** `gpu` and `gpu:<backend>` for the interpreter registry. */
export const gpuEntry: InterpreterEntry = {
  name: 'gpu',
  describe: 'float32 gpu.js kernels, batched: gpu or gpu:webgpu|headlessgl|webasm|cpu (WebGPU is async-only); results name the backend that ran',
  make: (arg) => new GpuInterpreter({ backend: parseBackendArg(arg) }),
};

/** True for interpreters that also offer runBatchAsync (the gpu interpreter; WebGPU needs it). */
export function isAsyncInterpreter(i: Interpreter): i is AsyncInterpreter {
  return typeof (i as Partial<AsyncInterpreter>).runBatchAsync === 'function';
}

export { GpuInterpreter, type AsyncInterpreter, type GpuOptions, type RunInfo } from './interpreter.ts';
export { type BackendName, type BackendProbe, BACKEND_ORDER, probeAll, probeWebGPU } from './backend.ts';
export { packModel, denseFlops } from './pack.ts';
