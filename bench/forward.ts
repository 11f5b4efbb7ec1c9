// Forward passes per second: the fast CPU path (simulators/fast) against the generic float64
// interpreter and against numpy on the same weights, on
//   (a) a dense random model: d = 256, n = 256, vocabulary 64, 4 softmax heads of size 64
//       (scale 1/8), MLP width 4d = 1024, a 2-layer block looped 4 times, batch 32;
//   (b) the Lemma B.4 one-hot-attention gadget (proofs/gadgets/lemma-b4.ts, position i reads the
//       token at i − 1) at n = 1024 (s = 10 bits), vocabulary 16, hard attention, batch 32; an
//       equivalent model built here stands in if that module is missing.
//
//   npx tsx bench/forward.ts [--reps 5] [--only a|b] [--batch 32] [--no-numpy] [--no-generic] [--no-js]
//
// The main figures are medians of --reps rounds after a warm-up round, each round running every
// variant once (fast64 and fast32 on all threads and on one, numpy with and without margins), so load
// from elsewhere hits them alike; ratios are of figures from the same run. Not a test: it prints.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fast32, fast64, getThreads, lastParallelNote, setBackend, setThreads } from '../simulators/fast/index.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { identity } from '../simulators/matrix.ts';
import { type Model, addStage, createHead, createLayer, createMlp, createModel } from '../simulators/model.ts';
import type { Interpreter, RunResult } from '../simulators/result.ts';
import { space } from '../simulators/space.ts';
import { dumpModel } from './weights.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : fallback;
};
const flag = (name: string) => args.includes(`--${name}`);
const REPS = Number(opt('reps', '5'));
const BATCH = Number(opt('batch', '32'));
const ONLY = opt('only', '');

// ---------------------------------------------------------------- models

/** A seeded normal sampler (mulberry32 + Box–Muller), so every run benchmarks the same weights. */
function normal(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function denseModel(): Model {
  const d = 256;
  const n = 256;
  const V = 64;
  const H = 4;
  const dh = 64;
  const hidden = 4 * d;
  const g = normal(1);
  const residual = space({ res: { size: d, describe: 'a dense random residual stream' } });
  const model = createModel({ name: 'dense random', vocab: Array.from({ length: V }, (_, v) => `v${v}`), residual, maxLen: n });
  const gauss = (std: number) => () => std * g();
  model.W_E.write('vocab', 'res', gauss(1));
  model.W_pos.write('positions', 'res', gauss(0.5));
  model.W_U.write('res', 'vocab', gauss(1 / Math.sqrt(d)));
  const layers = [0, 1].map((l) => {
    const layer = createLayer(`dense layer ${l}`);
    for (let h = 0; h < H; h++) {
      const head = createHead(residual, { name: `h${h}`, kind: 'softmax', scale: '1/8', qk: dh, ov: dh });
      head.W_Q.write('res', 'qk', gauss(1 / Math.sqrt(d)));
      head.W_K.write('res', 'qk', gauss(1 / Math.sqrt(d)));
      head.W_V.write('res', 'ov', gauss(1 / Math.sqrt(d)));
      head.W_O.write('ov', 'res', gauss(0.5 / Math.sqrt(H * dh)));
      layer.heads.push(head);
    }
    const mlp = createMlp(residual, { name: 'mlp', hidden });
    mlp.W_in.write('res', 'hidden', gauss(1 / Math.sqrt(d)));
    mlp.b_in.write('hidden', Array.from({ length: hidden }, () => 0.1 * g()));
    mlp.W_out.write('hidden', 'res', gauss(0.5 / Math.sqrt(hidden)));
    mlp.b_out.write('res', Array.from({ length: d }, () => 0.1 * g()));
    layer.mlp = mlp;
    return layer;
  });
  addStage(model, layers, 4);
  return model;
}

/** sbin(x) ∈ {±1}^s, least significant bit first (proofs/codes.ts's convention). */
const sbin = (x: number, s: number) => Array.from({ length: s }, (_, b) => ((x >> b) & 1 ? 1 : -1));

/** The gadget built here: query sbin(i − 1), key sbin(j), score s − 2·hamming, the value copies the token. */
function localOneHotModel(n: number, V: number): Model {
  const s = Math.max(1, Math.ceil(Math.log2(n)));
  const residual = space({ tok: V, pos: s, tgt: s, out: V });
  const model = createModel({ name: `one-hot attention n=${n}`, vocab: Array.from({ length: V }, (_, v) => String(v)), residual, maxLen: n, readout: 'all' });
  model.W_E.write('vocab', 'tok', identity());
  model.W_pos.write('positions', 'pos', (i, b) => sbin(i, s)[b]);
  model.W_pos.write('positions', 'tgt', (i, b) => (i === 0 ? 0 : sbin(i - 1, s)[b]));
  const head = createHead(residual, { name: 'read', kind: 'hard', qk: s, ov: V });
  head.W_Q.write('tgt', 'qk', identity());
  head.W_K.write('pos', 'qk', identity());
  head.W_V.write('tok', 'ov', identity());
  head.W_O.write('ov', 'out', identity());
  const layer = createLayer('one-hot attention to i − 1');
  layer.heads.push(head);
  addStage(model, [layer], 1);
  model.W_U.write('out', 'vocab', identity());
  return model;
}

async function sparseModel(n: number, V: number): Promise<{ model: Model; source: string }> {
  try {
    const { lemmaB4 } = await import('../proofs/gadgets/lemma-b4.ts');
    const built = lemmaB4.build({ n, k: 1, V, s: 'auto', layout: 'interleaved' });
    return { model: built.model, source: 'proofs/gadgets/lemma-b4.ts build({ n, k: 1, V })' };
  } catch (e) {
    return { model: localOneHotModel(n, V), source: `built in the bench (lemma-b4 unavailable: ${(e as Error).message})` };
  }
}

// ---------------------------------------------------------------- timing

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeRuns(f: () => void, reps: number, warmup = 1): number {
  for (let k = 0; k < warmup; k++) f();
  const ts: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t = performance.now();
    f();
    ts.push((performance.now() - t) / 1000);
  }
  return median(ts);
}

function randomInputs(B: number, n: number, V: number, seed: number): number[][] {
  const g = normal(seed);
  return Array.from({ length: B }, () => Array.from({ length: n }, () => Math.floor(Math.abs(g() * 1e6)) % V));
}

interface NumpyRun {
  seconds: number;
  blas: string;
  logits: Float64Array;
  margins?: number[];
}

/** The numpy forward on weights dumped once into `dir`: one timed rep after one warm-up, in a child process. */
function runNumpy(dir: string, margins: boolean): NumpyRun | string {
  const env = { ...process.env };
  // Only in the child: these make OpenBLAS pick a slower kernel or a smaller blocking here.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const script = join(dirname(fileURLToPath(import.meta.url)), 'numpy_forward.py');
  const r = spawnSync('python3', [script, dir, '--reps', '1', '--warmup', '1', ...(margins ? [] : ['--no-margins'])], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.error) return `python3 not runnable: ${r.error.message}`;
  if (r.status !== 0) return `numpy forward failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { times: number[]; blas: string; attention_margin?: number[] };
  const buf = readFileSync(join(dir, 'logits.bin'));
  return { seconds: out.times[0], blas: out.blas, logits: new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8), margins: out.attention_margin };
}

/** Largest |fast − numpy| over all logits, relative to the largest |logit|. */
function logitDiff(results: RunResult[], np: Float64Array): number {
  let k = 0;
  let diff = 0;
  let scale = 0;
  for (const r of results) {
    for (const ro of r.readouts) {
      for (const v of ro.logits) {
        diff = Math.max(diff, Math.abs(v - np[k++]));
        scale = Math.max(scale, Math.abs(v));
      }
    }
  }
  return k === np.length ? diff / (scale || 1) : NaN;
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(3));

interface Variant {
  name: string;
  batch: number;
  /** Runs once and returns the seconds it took (numpy reports its own, without the process start). */
  run: () => number;
  times: number[];
  note?: string;
}

const wall = (f: () => void) => () => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

async function bench(label: string, model: Model, inputs: number[][], describe: string): Promise<void> {
  console.log(`\n${label}: ${describe}`);
  const B = inputs.length;
  const row = (name: string, seconds: number, batch: number, note = '') =>
    console.log(`  ${name.padEnd(44)} ${fmt(batch / seconds).padStart(9)} passes/s   (${fmt(seconds * 1000)} ms per ${batch === 1 ? 'pass' : `batch of ${batch}`})${note}`);
  const threads = getThreads();
  const withThreads = (n: number, f: () => void) => () => {
    setThreads(n);
    try {
      f();
    } finally {
      setThreads(threads);
    }
  };

  // The main figures, measured round-robin (one rep of each variant per round) so that load from
  // elsewhere on the machine hits every variant alike; the first round is a warm-up.
  const variants: Variant[] = [
    { name: `fast64, ${threads} threads`, batch: B, times: [], run: wall(() => fast64.runBatch!(model, inputs)) },
    { name: 'fast64, 1 thread', batch: B, times: [], run: wall(withThreads(1, () => fast64.runBatch!(model, inputs))) },
    { name: `fast32, ${threads} threads`, batch: B, times: [], run: wall(() => fast32.runBatch!(model, inputs)) },
    { name: 'fast32, 1 thread', batch: B, times: [], run: wall(withThreads(1, () => fast32.runBatch!(model, inputs))) },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'looped-bench-'));
  let numpyNote = '';
  let check = '';
  try {
    if (!flag('no-numpy')) {
      dumpModel(model, inputs, dir);
      const first = runNumpy(dir, true);
      if (typeof first === 'string') numpyNote = `  numpy: ${first}`;
      else {
        numpyNote = `  numpy BLAS: ${first.blas}`;
        const r64 = fast64.runBatch!(model, inputs);
        const marginDiff = Math.max(...(first.margins ?? [NaN]).map((v, b) => Math.abs(v - r64[b].margins.attention)));
        check = `  check: max |fast64 − numpy| logit / max |logit| = ${logitDiff(r64, first.logits).toExponential(2)}; max attention-margin difference ${marginDiff.toExponential(2)}`;
        for (const margins of [true, false]) {
          variants.push({
            name: margins ? 'numpy, with margins (same outputs)' : 'numpy, answers only',
            batch: B,
            times: [],
            run: () => {
              const r = runNumpy(dir, margins);
              if (typeof r === 'string') throw new Error(r);
              return r.seconds;
            },
          });
        }
      }
    }
    for (let rep = 0; rep <= REPS; rep++) {
      for (const v of variants) {
        const s = v.run();
        if (rep > 0) v.times.push(s);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = new Map(variants.map((v) => [v.name, median(v.times)]));
  const t64 = med.get(variants[0].name)!;
  const t64one = med.get('fast64, 1 thread')!;
  for (const v of variants) {
    const t = med.get(v.name)!;
    let note = '';
    if (v.name === 'fast64, 1 thread') note = `   threads gain ${fmt(t / t64)}×`;
    if (v.name === 'fast32, 1 thread') note = `   threads gain ${fmt(t / med.get(variants[2].name)!)}×`;
    if (v.name.startsWith('numpy')) note = `   fast64 / numpy time = ${fmt(t64 / t)} (1 thread: ${fmt(t64one / t)})`;
    row(v.name, t, v.batch, note);
  }
  if (numpyNote) console.log(numpyNote);
  if (check) console.log(check);

  // Slow references, timed on fewer inputs and reps (passes/s stays comparable).
  const dense = label.startsWith('(a)');
  if (!flag('no-js')) {
    // The same path with the panel product in plain JavaScript instead of WebAssembly SIMD.
    const k = dense ? Math.min(B, 4) : B;
    setBackend('js');
    const sub = inputs.slice(0, k);
    const tjs = timeRuns(withThreads(1, () => fast64.runBatch!(model, sub)), dense ? 1 : REPS, dense ? 0 : 1);
    setBackend('wasm');
    row(`fast64, 1 thread, JS kernels (${k} inputs)`, tjs, k, `   ${fmt(tjs / k / (t64one / B))}× the WebAssembly SIMD time`);
  }
  if (!flag('no-generic')) {
    const g = interpreterByName('float64');
    const k = Math.min(B, dense ? 1 : 4);
    const sub = inputs.slice(0, k);
    const reps = dense ? 1 : 3;
    const tg = timeRuns(() => sub.forEach((x) => g.run(model, x)), reps, dense ? 0 : 1);
    row(`generic float64 (${k} input${k > 1 ? 's' : ''}, ${reps} rep${reps > 1 ? 's' : ''})`, tg, k, `   fast64 is ${fmt(tg / k / (t64 / B))}× faster (${fmt(tg / k / (t64one / B))}× on 1 thread)`);
  }
}

async function main(): Promise<void> {
  console.log(`looped forward bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, median of ${REPS} reps after 1 warm-up`);
  if (ONLY === '' || ONLY === 'a') {
    const model = denseModel();
    await bench(
      '(a) dense random model',
      model,
      randomInputs(BATCH, 256, 64, 7),
      `d = 256, n = 256, V = 64, 4 softmax heads × 64 (scale 1/8), MLP 1024, (2 ⊗ 4), batch ${BATCH}`,
    );
  }
  if (ONLY === '' || ONLY === 'b') {
    const n = 1024;
    const V = 16;
    const { model, source } = await sparseModel(n, V);
    await bench('(b) one-hot attention (Lemma B.4)', model, randomInputs(BATCH, n, V, 8), `${source}: d = ${model.residual.dim}, n = ${n}, hard attention, readout at every position, batch ${BATCH}`);
  }
}

await main();
