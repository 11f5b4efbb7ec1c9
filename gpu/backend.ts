// Which gpu.js backend runs the kernels, and proof of it.
//
// Order when the user names none: WebGPU (gpu.js 'webgpu' mode on the `webgpu` npm package, Dawn:
// Vulkan where a driver exists, else OpenGL ES on Mesa's EGL surfaceless platform), headless-gl,
// WebAssembly, plain JS ('cpu'). gpu.js itself falls back silently (`mode: 'gpu'` can run on webasm
// while `gpu.mode` still says 'gpu'), so the backend that ran is read from the class of each kernel
// that executed (`kernel.kernel.constructor.name`), never from the mode that was asked for. A backend
// asked for by name that is unavailable is an UnsupportedError that says why; it never falls back.
//
// The `webgpu` package (a 21 MB native addon) is loaded lazily and only when WebGPU is probed: a
// machine without it, or without the libraries it needs, still runs every other backend. gpu.js
// itself (CommonJS) is loaded on first use too, so importing the interpreter registry, which
// registers `gpu`, does not load it (tests/interpreter-registry.test.ts checks this).
import { createRequire } from 'node:module';
import os from 'node:os';
import { UnsupportedError, UsageError } from '../common/errors.ts';

const require = createRequire(import.meta.url);

/** gpu.js as this module uses it (its own typings do not describe createPipeline's shortcut fully). */
export interface GpuJs {
  GPU: (new (settings?: Record<string, unknown>) => GpuInstance) & {
    isWebAssemblySupported: boolean;
    isHeadlessGLSupported: boolean;
  };
}
export interface GpuInstance {
  mode: string;
  createKernel(source: string, settings: Record<string, unknown>): unknown;
  createPipeline(fn: (...args: unknown[]) => unknown, settings?: Record<string, unknown>): PipelineShortcut;
  destroy(): Promise<void>;
}
export interface PipelineShortcut {
  (...args: unknown[]): Promise<unknown>;
  readonly backend: string | null;
  readonly executorKind: string;
  readonly fallbackReason: string | null;
  readonly plan: { kernels: { clone: KernelShortcut }[]; genericClones: Map<string, KernelShortcut> } | null;
  destroy(): Promise<void>;
}
export interface KernelShortcut {
  (...args: unknown[]): unknown;
  readonly kernel: { constructor: { name: string }; fallbackReason?: string | null };
  destroy(removeCanvasReferences?: boolean): void;
}

let gpujsModule: GpuJs | undefined;

/** gpu.js, required on the first call (a probe, or the first run of a GpuInterpreter). */
export function gpujs(): GpuJs {
  gpujsModule ??= require('gpu.js') as GpuJs;
  return gpujsModule;
}

export type BackendName = 'webgpu' | 'headlessgl' | 'webasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'headlessgl', 'webasm', 'cpu'];

const KERNEL_CLASS: Record<string, BackendName> = {
  WebGPUKernel: 'webgpu',
  HeadlessGLKernel: 'headlessgl',
  WebAssemblyKernel: 'webasm',
  CPUKernel: 'cpu',
};

/**
 * The backend a gpu.js kernel class belongs to ('WebAssemblyKernel' → 'webasm'), or the class name
 * itself for any other class. A bundler may rename classes (`_WebAssemblyKernel`), so the name is
 * matched loosely; `backendOfKernel` prefers identity with gpu.js's own exported classes.
 */
export function backendOfKernelClass(className: string): string {
  const m = /(WebGPUKernel|HeadlessGLKernel|WebAssemblyKernel|CPUKernel)\d*$/.exec(className);
  return m ? KERNEL_CLASS[m[1]] : className;
}

/** The backend of the kernel class that actually ran (`shortcut.kernel.constructor`). */
export function backendOfKernel(ctor: { name: string }): string {
  const g = gpujs() as unknown as Record<string, unknown>;
  for (const [cls, backend] of Object.entries(KERNEL_CLASS)) if (g[cls] === ctor) return backend;
  return backendOfKernelClass(ctor.name);
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(s);
}

/** Whether the backend's kernels answer synchronously (webgpu readback is always a Promise). */
export function isSynchronous(backend: BackendName): boolean {
  return backend !== 'webgpu';
}

export interface BackendProbe {
  backend: BackendName;
  available: boolean;
  /** Why it is unavailable, or what it runs on ("llvmpipe … via OpenGL ES", "2 worker threads"). */
  detail: string;
}

export interface WebGpuInfo {
  /** Which Dawn attempt found the adapter: "vulkan/default" or "opengles". */
  via: string;
  adapter: string;
  /** Storage-buffer binding limit of the adapter, in bytes. */
  maxStorageBytes: number;
  maxWorkgroupsPerDimension: number;
}

interface DawnModule {
  create(flags: string[]): DawnGpu;
}
interface DawnAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupsPerDimension: number };
}
interface DawnGpu {
  requestAdapter(options?: Record<string, unknown>): Promise<DawnAdapter | null>;
}

let webgpuProbe: Promise<{ probe: BackendProbe; info: WebGpuInfo | null }> | null = null;

function describeAdapter(a: DawnAdapter): string {
  const i = a.info ?? {};
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s && String(s).trim() !== '').join(' ').trim() || 'unnamed adapter';
}

/**
 * Finds a WebGPU adapter through Dawn and, when one exists, installs `globalThis.navigator.gpu` for
 * gpu.js. Attempts, in order: LOOPED_WEBGPU_FLAGS if set (comma-separated Dawn toggles such as
 * "backend=vulkan"); Dawn's default (Vulkan on a machine with libvulkan.so.1 and a driver; set
 * VK_DRIVER_FILES to the driver's ICD json where the loader does not find it); then the OpenGL ES
 * backend on EGL with EGL_PLATFORM=surfaceless (Mesa's llvmpipe here, no display needed).
 * LOOPED_NO_WEBGPU=1 skips WebGPU entirely. The answer is cached for the process.
 */
export function probeWebGPU(): Promise<{ probe: BackendProbe; info: WebGpuInfo | null }> {
  webgpuProbe ??= (async () => {
    const no = (detail: string) => ({ probe: { backend: 'webgpu' as const, available: false, detail }, info: null });
    if (process.env.LOOPED_NO_WEBGPU) return no('disabled by LOOPED_NO_WEBGPU');
    let dawn: DawnModule;
    try {
      dawn = (await import('webgpu')) as unknown as DawnModule;
    } catch (e) {
      return no(`the 'webgpu' package (Dawn for Node) could not be loaded: ${firstLine(e)}`);
    }
    const attempts: { via: string; flags: string[]; options: Record<string, unknown>; env?: Record<string, string> }[] = [];
    const custom = process.env.LOOPED_WEBGPU_FLAGS;
    if (custom) attempts.push({ via: `flags ${custom}`, flags: custom.split(',').filter(Boolean), options: { powerPreference: 'high-performance' } });
    attempts.push({ via: 'vulkan/default', flags: [], options: { powerPreference: 'high-performance' } });
    attempts.push({
      via: 'opengles',
      flags: ['backend=opengles'],
      options: { featureLevel: 'compatibility' },
      env: { EGL_PLATFORM: 'surfaceless' },
    });
    const failures: string[] = [];
    for (const a of attempts) {
      for (const [k, v] of Object.entries(a.env ?? {})) process.env[k] ??= v;
      try {
        const gpu = dawn.create(a.flags);
        const adapter = await gpu.requestAdapter(a.options);
        if (!adapter) {
          failures.push(`${a.via}: no adapter`);
          continue;
        }
        installNavigator(gpu, a.options);
        const info: WebGpuInfo = {
          via: a.via,
          adapter: describeAdapter(adapter),
          maxStorageBytes: Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize),
          maxWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
        };
        return { probe: { backend: 'webgpu' as const, available: true, detail: `${info.adapter} via ${a.via}` }, info };
      } catch (e) {
        failures.push(`${a.via}: ${firstLine(e)}`);
      }
    }
    return no(`Dawn found no adapter (${failures.join('; ')})`);
  })();
  return webgpuProbe;
}

/**
 * gpu.js looks for `navigator.gpu` and calls `requestAdapter()` with no options; the wrapper passes
 * the options that found an adapter (featureLevel 'compatibility' is what the OpenGL ES backend
 * needs). Node 20 has no navigator; newer Node has one without `gpu`, so the property is defined on
 * whatever is there. hardwareConcurrency is kept: gpu.js sizes its webasm worker pool from it.
 */
function installNavigator(gpu: DawnGpu, options: Record<string, unknown>): void {
  const wrapped = {
    requestAdapter: (o?: Record<string, unknown>) => gpu.requestAdapter({ ...options, ...(o ?? {}) }),
    getPreferredCanvasFormat: () => 'rgba8unorm',
  };
  const g = globalThis as { navigator?: Record<string, unknown> };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: wrapped, hardwareConcurrency: os.availableParallelism?.() ?? os.cpus().length },
      configurable: true,
      writable: true,
    });
  } else {
    Object.defineProperty(g.navigator, 'gpu', { value: wrapped, configurable: true, writable: true });
  }
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0];
}

/** Synchronous probe of the backends that need no adapter round trip. */
export function probeSync(backend: Exclude<BackendName, 'webgpu'>): BackendProbe {
  const { GPU } = gpujs();
  switch (backend) {
    case 'cpu':
      return { backend, available: true, detail: 'plain JavaScript (kernels compute in doubles; rounded to float32 per operation here)' };
    case 'webasm':
      return GPU.isWebAssemblySupported
        ? { backend, available: true, detail: `WebAssembly (${os.availableParallelism?.() ?? os.cpus().length} cores)` }
        : { backend, available: false, detail: 'this JavaScript engine has no WebAssembly' };
    case 'headlessgl': {
      let installed = true;
      try {
        require.resolve('gl');
      } catch {
        installed = false;
      }
      if (!installed) {
        return {
          backend,
          available: false,
          detail: "the optional 'gl' package (headless-gl) is not installed (it builds from source and needs an X display)",
        };
      }
      return GPU.isHeadlessGLSupported
        ? { backend, available: true, detail: 'headless-gl (WebGL 1 through an X display)' }
        : { backend, available: false, detail: "'gl' is installed but could not create a context (no X display? try xvfb-run)" };
    }
  }
}

/** Every backend's availability, in the order of preference. */
export async function probeAll(): Promise<BackendProbe[]> {
  const webgpu = (await probeWebGPU()).probe;
  return [webgpu, probeSync('headlessgl'), probeSync('webasm'), probeSync('cpu')];
}

/** gpu.js mode name of a backend. */
export function modeOf(backend: BackendName): string {
  return backend;
}

/** A GPU instance in exactly the requested backend, or an UnsupportedError saying why not. */
export function createGpu(backend: BackendName): GpuInstance {
  const { GPU } = gpujs();
  try {
    return new GPU({ mode: modeOf(backend) });
  } catch (e) {
    throw new UnsupportedError(`gpu.js cannot start its ${backend} backend: ${firstLine(e)}`);
  }
}

/** Parses the argument of `gpu:<backend>`; undefined means automatic. */
export function parseBackendArg(arg: string | undefined): BackendName | undefined {
  if (arg === undefined || arg === '' || arg === 'auto') return undefined;
  if (!isBackendName(arg)) {
    throw new UsageError(`unknown gpu backend "${arg}"; known: ${BACKEND_ORDER.join(', ')} (or gpu alone for the first available)`);
  }
  return arg;
}

/** Throws the UnsupportedError for an unavailable backend asked for by name. */
export function unavailable(p: BackendProbe): never {
  throw new UnsupportedError(`the gpu backend "${p.backend}" is unavailable: ${p.detail}`);
}

/** The synchronous choice: the requested backend (checked), or the first available among headlessgl, webasm, cpu. */
export function chooseSync(requested: BackendName | undefined): BackendName {
  if (requested === 'webgpu') {
    throw new UnsupportedError(
      'the gpu backend "webgpu" answers asynchronously (WebGPU readback is a Promise); use runBatchAsync, or gpu:webasm / gpu:cpu for synchronous runs',
    );
  }
  if (requested !== undefined) {
    const p = probeSync(requested);
    if (!p.available) unavailable(p);
    return requested;
  }
  for (const b of ['headlessgl', 'webasm', 'cpu'] as const) if (probeSync(b).available) return b;
  return 'cpu';
}

/** The asynchronous choice, WebGPU first. */
export async function chooseAsync(requested: BackendName | undefined): Promise<BackendName> {
  if (requested === 'webgpu') {
    const { probe } = await probeWebGPU();
    if (!probe.available) unavailable(probe);
    return 'webgpu';
  }
  if (requested !== undefined) return chooseSync(requested);
  if ((await probeWebGPU()).probe.available) return 'webgpu';
  return chooseSync(undefined);
}
