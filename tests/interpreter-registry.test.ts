// The interpreter registry as a library user meets it: a fresh Node process that imports only the
// public entry point (index.ts), or only simulators/interpreters.ts, must find every interpreter by
// name — nothing is registered by a side-effect import elsewhere — and loading the registry must
// not load gpu.js (a GpuInterpreter loads it on its first run). Each check runs in a child process,
// because this test process has long since loaded everything.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAMES = ['exact', 'fixed:8', 'float64', 'float32', 'fast64', 'fast32', 'gpu', 'gpu:cpu'];

/** Runs an ES module script under tsx in a fresh Node process at the repository root; its stdout as JSON. */
async function child(script: string): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

// Whether gpu.js is in the CommonJS module cache: gpu/backend.ts requires it (and a static
// `import 'gpu.js'` would put it there too), so this is what "gpu.js was loaded" means here.
const GPUJS_LOADED = `(() => { const r = createRequire(import.meta.url); return Object.keys(r.cache).some((k) => k.includes('/node_modules/gpu.js/')); })()`;

describe('interpreter registry, from a fresh import', () => {
  it('index.ts alone: every name resolves, fast64 equals float64 bit for bit and gpu:cpu float32, gpu.js loads only on the gpu run', async () => {
    const out = await child(`
      import { createRequire } from 'node:module';
      const L = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'index.ts')).href)});
      const loadedAfterImport = ${GPUJS_LOADED};
      const names = Object.fromEntries(${JSON.stringify(NAMES)}.map((n) => [n, L.interpreterByName(n).name]));
      const known = L.knownInterpreters().map((k) => k.name);
      let unknown = '';
      try { L.interpreterByName('no-such'); } catch (e) { unknown = e.name + ': ' + e.message; }

      // A tiny model: a hard head copies the first token into 'acc' (loop 1), an MLP adds a ReLU
      // of it back into 'tok' (every loop), two loops, readout at every position.
      const residual = L.space({ tok: 2, one: 1, first: 1, acc: 2 });
      const model = L.createModel({ name: 'tiny', vocab: ['a', 'b'], residual, maxLen: 6, readout: 'all' });
      model.W_E.write('vocab', 'tok', [[1, 0], [0, 1]]);
      model.W_E.write('vocab', 'one', [[1], [1]]);
      model.W_pos.set(['positions', 0], 'first', 1);
      const head = L.createHead(residual, { name: 'to-first', qk: 1, ov: 2 });
      head.W_Q.set('one', 'qk', 1);
      head.W_K.set('first', 'qk', 1);
      head.W_V.write('tok', 'ov', [[1, 0], [0, 1]]);
      head.W_O.write('ov', 'acc', [[0.5, 0], [0, 0.25]]);
      const mlp = L.createMlp(residual, { name: 'relu', hidden: 2 });
      mlp.W_in.write('acc', 'hidden', [[1, -1], [-1, 1]]);
      mlp.b_in.write('hidden', [0.125, -0.125]);
      mlp.W_out.write('hidden', 'tok', [[0.75, 0], [0, 1.5]]);
      const layer = L.createLayer();
      layer.heads.push(head);
      layer.mlp = mlp;
      L.addStage(model, [layer], 2);
      model.W_U.write('tok', 'vocab', [[1, 0], [0, 1]]);
      model.W_U.write('acc', 'vocab', [[0.1, 0], [0, 0.3]]);

      const inputs = [[0], [1, 0], [0, 1, 1], [1, 1, 0, 1], [0, 0, 1, 0, 1, 1]];
      const run = (n) => L.interpreterByName(n).runBatch(model, inputs);
      const gpu = L.interpreterByName('gpu:cpu');
      const loadedAfterConstruction = ${GPUJS_LOADED};
      const results = { float64: run('float64'), fast64: run('fast64'), float32: run('float32'), fast32: run('fast32'), gpu: gpu.runBatch(model, inputs) };
      const loadedAfterGpuRun = ${GPUJS_LOADED};
      console.log(JSON.stringify({ loadedAfterImport, loadedAfterConstruction, loadedAfterGpuRun, names, known, unknown, results }));
    `);
    expect(out.names).toEqual({ exact: 'exact', 'fixed:8': 'fixed:8', float64: 'float64', float32: 'float32', fast64: 'fast64', fast32: 'fast32', gpu: 'gpu', 'gpu:cpu': 'gpu(cpu)' });
    expect(out.known).toEqual(['exact', 'fixed:<s>', 'float64', 'float32', 'fast64', 'fast32', 'gpu']);
    expect(out.unknown).toMatch(/^UsageError: unknown interpreter "no-such"; known: exact, fixed:<s>, float64, float32, fast64, fast32, gpu$/);

    type R = { interpreter: string; readouts: { logits: number[]; token: number | null }[] };
    const results = out.results as Record<string, R[]>;
    const essence = (rs: R[]) => JSON.stringify(rs.map((r) => ({ ...r, interpreter: undefined })));
    expect(results.fast64.map((r) => r.interpreter)).toEqual(Array(5).fill('fast64'));
    expect(essence(results.fast64)).toBe(essence(results.float64));
    expect(essence(results.fast32)).toBe(essence(results.float32));
    expect(results.gpu.map((r) => r.interpreter)).toEqual(Array(5).fill('gpu(cpu)'));
    expect(results.gpu.map((r) => r.readouts.map((o) => o.logits))).toEqual(results.float32.map((r) => r.readouts.map((o) => o.logits)));
    expect(results.gpu.map((r) => r.readouts.map((o) => o.token))).toEqual(results.float32.map((r) => r.readouts.map((o) => o.token)));
    // The model is not trivial: float32 and float64 differ somewhere (0.1, 0.3 are not float32 values).
    expect(essence(results.float32)).not.toBe(essence(results.float64));

    // gpu.js: not loaded by the import, nor by constructing a GpuInterpreter; loaded by its first
    // run (which also shows that the check sees gpu.js when it is there).
    expect(out.loadedAfterImport).toBe(false);
    expect(out.loadedAfterConstruction).toBe(false);
    expect(out.loadedAfterGpuRun).toBe(true);
  }, 60_000);

  it('simulators/interpreters.ts alone: fast64 and gpu:cpu resolve, and gpu.js is not loaded', async () => {
    const out = await child(`
      import { createRequire } from 'node:module';
      const R = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'simulators', 'interpreters.ts')).href)});
      const names = ['fast64', 'fast32', 'gpu:cpu'].map((n) => R.interpreterByName(n).name);
      console.log(JSON.stringify({ names, loaded: ${GPUJS_LOADED} }));
    `);
    expect(out.names).toEqual(['fast64', 'fast32', 'gpu(cpu)']);
    expect(out.loaded).toBe(false);
  }, 60_000);
});
