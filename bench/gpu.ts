// Throughput of the gpu.js interpreter (gpu/) at batch sizes 1..4096 on every available backend,
// beside the fast CPU path (fast32) and PyTorch on the same
// weights (bench/torch_forward.py, when python3 has torch; CUDA where present).
//
//   npx tsx bench/gpu.ts [--backends webgpu,webasm,cpu] [--batches 1,4,16,64,256,1024,4096]
//                        [--cpu-batches 1,4,16] [--workloads s5,phop] [--budget 20] [--min-time 0.5]
//                        [--torch] [--torch-script bench/torch_forward.py] [--json FILE] [--export DIR]
//
// Workloads: Theorem 5.1 (S5, n = 64) and p-hop (p = 32, n = 256), built by their constructions in
// proofs/registry.ts when those exist; otherwise random sparse models of the sizes the paper claims
// stand in (the output says which). Figures:
//   inputs/s         whole batches through runBatchAsync (gpu) or runBatch (fast32), answers and
//                    margins included, after one untimed warm-up call per batch size (which compiles)
//   eff. GFLOP/s     denseFlops(model, n) · inputs/s: the FLOPs a dense implementation performs
//                    (PyTorch's count); the sparse kernels here do less work than that
// A cell whose single call exceeds --budget seconds ends that backend's column (larger batches
// would only take longer). Not a test: it prints figures.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackendName, BACKEND_ORDER, GpuInterpreter, denseFlops, packModel, probeAll } from '../gpu/index.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, addStage, createHead, createLayer, createMlp, createModel } from '../simulators/model.ts';
import type { Interpreter, RunResult } from '../simulators/result.ts';
import { space } from '../simulators/space.ts';
import { mulberry32 as rng } from '../tasks/random.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : fallback;
};
const flag = (name: string) => args.includes(`--${name}`);
const BATCHES = opt('batches', '1,4,16,64,256,1024,4096').split(',').map(Number);
/** Batch sizes for the runners on the CPU (fast32, gpu:webasm, gpu:cpu); default: all of --batches. */
const CPU_BATCHES = opt('cpu-batches', BATCHES.join(',')).split(',').map(Number);
const BUDGET = Number(opt('budget', '20'));
const MIN_TIME = Number(opt('min-time', '0.5'));
const WORKLOADS = opt('workloads', 's5,phop').split(',');

// ---------------------------------------------------------------- workloads


interface Workload {
  id: string;
  title: string;
  /** "construction <id>" or "random stand-in: …" */
  source: string;
  model: Model;
  inputs: number[][];
}

/**
 * A random sparse model with the sizes a construction claims: entries in {−1, 1} (scaled) at the
 * given density, hard attention with a large scale, a ReLU MLP, one block looped `loops` times.
 */
function standIn(o: {
  name: string;
  V: number;
  n: number;
  d: number;
  heads: number;
  dh: number;
  hidden: number;
  mlpFanIn: number;
  mlpFanOut: number;
  loops: number;
  seed: number;
}): Model {
  const r = rng(o.seed);
  const pm = () => (r() < 0.5 ? -1 : 1);
  const residual = space({ x: { size: o.d, describe: 'random stand-in residual' } });
  const model = createModel({ name: o.name, vocab: Array.from({ length: o.V }, (_, v) => `t${v}`), residual, maxLen: o.n });
  const sparse = (density: number, value: () => number) => () => (r() < density ? value() : 0);
  model.W_E.write('vocab', 'x', sparse(0.2, pm));
  model.W_pos.write('positions', 'x', sparse(0.2, pm));
  model.W_U.write('x', 'vocab', sparse(0.3, pm));
  const layer = createLayer('stand-in layer');
  for (let h = 0; h < o.heads; h++) {
    const head = createHead(residual, { name: `h${h}`, kind: 'hard', scale: 4, qk: o.dh, ov: o.dh });
    head.W_Q.write('x', 'qk', sparse(1 / o.d, pm));
    head.W_K.write('x', 'qk', sparse(1 / o.d, pm));
    head.W_V.write('x', 'ov', sparse(1 / o.d, pm));
    head.W_O.write('ov', 'x', sparse(1 / o.dh, () => pm() / 8));
    layer.heads.push(head);
  }
  const mlp = createMlp(residual, { name: 'mlp', hidden: o.hidden });
  mlp.W_in.write('x', 'hidden', sparse(o.mlpFanIn / o.d, pm));
  mlp.b_in.write('hidden', Array.from({ length: o.hidden }, () => -Math.floor(o.mlpFanIn / 2) + 1));
  mlp.W_out.write('hidden', 'x', sparse(o.mlpFanOut / o.d, () => pm() / 16));
  layer.mlp = mlp;
  addStage(model, [layer], o.loops);
  return model;
}

function tokensOf(V: number, n: number, B: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: n }, () => Math.floor(r() * V)));
}

/**
 * A registered construction as a workload: its model, and maxB encoded inputs of one length (the
 * longest the input source gives; `raw` replaces the construction's own arbitrary, e.g. to draw
 * p-hop inputs of exactly n tokens). Null when no construction matches or it cannot be built.
 */
async function fromRegistry(
  prefer: ((id: string, theorem: string) => boolean)[],
  params: Record<string, string>,
  B: number,
  raw?: () => unknown,
): Promise<Omit<Workload, 'id' | 'title'> | null> {
  try {
    const { allConstructions } = await import('../proofs/registry.ts');
    const { resolveParams } = await import('../proofs/construction.ts');
    let c = undefined;
    for (const m of prefer) c ??= allConstructions().find((x) => m(x.id, x.theorem));
    if (!c) return null;
    const given: Record<string, string> = {};
    for (const p of c.params) if (params[p.name] !== undefined) given[p.name] = params[p.name];
    const built = c.build(resolveParams(c, given));
    const fc = (await import('fast-check')).default;
    const source = raw ? Array.from({ length: B }, raw) : fc.sample(built.arbitrary(), { numRuns: Math.max(B, 64), seed: 7 });
    const encoded = source.map((i) => built.encode(i as never));
    const n = Math.max(...encoded.map((x) => x.length));
    const same = encoded.filter((x) => x.length === n);
    const inputs = Array.from({ length: B }, (_, k) => same[k % same.length]);
    const note = same.length < B ? `, ${same.length} distinct inputs repeated` : '';
    return { source: `construction ${c.id} (${c.theorem}) with ${JSON.stringify(given)}${note}`, model: built.model, inputs };
  } catch (e) {
    console.log(`  (registry construction unusable: ${(e as Error).message.split('\n')[0]})`);
    return null;
  }
}

async function workloads(maxB: number): Promise<Workload[]> {
  const out: Workload[] = [];
  if (WORKLOADS.includes('s5')) {
    const title = 'Theorem 5.1, S5, n = 64';
    const reg = await fromRegistry([(id, th) => /5\.1\b/.test(th) || /thm-?5\.?1|group-composition/i.test(id)], { G: 'S5', group: 'S5', n: '64' }, maxB);
    if (reg) out.push({ id: 's5', title, ...reg });
    else {
      // |G| = 120: vocabulary G ∪ {#}, length n + 1 = 65, d = 3(⌈log2 120⌉ + ⌈log2 65⌉) = 42,
      // MLP width 120² + 6·7 = 14442 (each unit reads 14 coordinates, writes 7), 2 heads of size 6,
      // one layer looped ⌈log2 64⌉ = 6 times
      const model = standIn({ name: 's5-standin', V: 121, n: 65, d: 42, heads: 2, dh: 6, hidden: 14442, mlpFanIn: 14, mlpFanOut: 7, loops: 6, seed: 51 });
      out.push({ id: 's5', title, source: 'random sparse stand-in of the claimed sizes (no Theorem 5.1 construction registered yet)', model, inputs: tokensOf(121, 65, maxB, 1) });
    }
  }
  if (WORKLOADS.includes('phop')) {
    const title = 'p-hop, p = 32, n = 256';
    // the looped construction (Corollary 5.3) first; inputs of exactly n = 256 letters of the alphabet 4
    const r = rng(3);
    const reg = await fromRegistry(
      [(id, th) => /hop/i.test(id) && /5\.3/.test(th), (id) => /hop/i.test(id)],
      { p: '32', n: '256', alphabet: '4' },
      maxB,
      () => Array.from({ length: 256 }, () => Math.floor(r() * 4)),
    );
    if (reg) out.push({ id: 'phop', title, ...reg });
    else {
      // Cor. 5.3: one layer looped ⌊log2 32⌋ + 2 = 7 times, 3 heads; width O(log n) (sbin codes of
      // positions, 9 bits, a few times over): d = 48, heads of size 9, MLP width 48; alphabet 4 + start
      const model = standIn({ name: 'phop-standin', V: 5, n: 256, d: 48, heads: 3, dh: 9, hidden: 48, mlpFanIn: 6, mlpFanOut: 3, loops: 7, seed: 32 });
      out.push({ id: 'phop', title, source: 'random sparse stand-in of the claimed sizes (no p-hop construction registered yet)', model, inputs: tokensOf(5, 256, maxB, 2) });
    }
  }
  return out;
}

// ---------------------------------------------------------------- timing

interface Cell {
  workload: string;
  runner: string;
  batch: number;
  seconds: number | null;
  inputsPerSecond: number | null;
  gflops: number | null;
  note: string;
}

const fmt = (x: number | null, digits = 3) => (x === null ? '—' : x >= 100 ? x.toFixed(0) : x.toPrecision(digits));

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  let reps = 0;
  const times: number[] = [];
  const start = performance.now();
  while (reps < 50) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) / 1000);
    reps++;
    if ((performance.now() - start) / 1000 >= MIN_TIME || times[times.length - 1] > BUDGET / 4) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function disagreements(a: RunResult[], b: RunResult[]): number {
  let bad = 0;
  a.forEach((r, i) => {
    if (r.answer !== b[i].answer) bad++;
  });
  return bad;
}

async function main(): Promise<void> {
  const started = performance.now();
  const maxB = Math.max(...BATCHES);
  console.log(`# gpu.js interpreter benchmark — ${new Date().toISOString()}`);
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const probes = await probeAll();
  probesSeen = probes;
  for (const p of probes) console.log(`backend ${p.backend.padEnd(10)} ${p.available ? 'available  ' : 'unavailable'} ${p.detail}`);
  const wanted = opt('backends', probes.filter((p) => p.available).map((p) => p.backend).join(',')).split(',') as BackendName[];
  const backends = BACKEND_ORDER.filter((b) => wanted.includes(b));

  const fast: Interpreter = interpreterByName('fast32');

  const cells: Cell[] = [];
  const jobs = await workloads(maxB);
  for (const w of jobs) {
    const n = w.inputs[0].length;
    const pack = packModel(w.model);
    const flops = denseFlops(pack, n);
    console.log(`\n## ${w.title}: ${w.source}`);
    console.log(`   d = ${pack.d}, n = ${n}, V = ${pack.V}, ${w.model.stages.map((s) => `${s.layers.length} layer(s) × ${s.loops} loops`).join(', ')}; dense FLOPs per input ${(flops / 1e6).toFixed(1)} M`);
    const reference = fast;
    const refAnswers = reference.runBatch!(w.model, w.inputs.slice(0, 8));

    const runners: { name: string; batches: number[]; run: (inputs: number[][]) => Promise<RunResult[]>; info?: () => string; close?: () => Promise<void> }[] = [];
    runners.push({ name: 'fast32', batches: CPU_BATCHES, run: async (inputs) => fast.runBatch!(w.model, inputs) });
    for (const b of backends) {
      const gi = new GpuInterpreter({ backend: b });
      runners.push({
        name: `gpu:${b}`,
        batches: b === 'webgpu' || b === 'headlessgl' ? BATCHES : CPU_BATCHES,
        run: (inputs) => gi.runBatchAsync(w.model, inputs),
        info: () => (gi.lastRun ? `${gi.name} ${gi.lastRun.executor}, chunk ${gi.lastRun.chunk}` : ''),
        close: () => gi.destroy(),
      });
    }
    for (const r of runners) {
      let stopped = false;
      for (const B of r.batches) {
        if (stopped) {
          cells.push({ workload: w.id, runner: r.name, batch: B, seconds: null, inputsPerSecond: null, gflops: null, note: 'skipped (over budget)' });
          continue;
        }
        const inputs = w.inputs.slice(0, B);
        let note = '';
        try {
          const t0 = performance.now();
          const first = await r.run(inputs);
          const warm = (performance.now() - t0) / 1000;
          const bad = disagreements(refAnswers.slice(0, Math.min(B, 8)), first.slice(0, 8));
          if (bad > 0) note += `${bad} answers differ from ${reference.name}; `;
          const s = warm > BUDGET ? warm : await time(() => r.run(inputs));
          const ips = B / s;
          note += `${r.info?.() ?? ''} (first call ${warm.toFixed(2)} s)`;
          cells.push({ workload: w.id, runner: r.name, batch: B, seconds: s, inputsPerSecond: ips, gflops: (flops * ips) / 1e9, note });
          if (s > BUDGET || warm > BUDGET) stopped = true;
        } catch (e) {
          cells.push({ workload: w.id, runner: r.name, batch: B, seconds: null, inputsPerSecond: null, gflops: null, note: `failed: ${(e as Error).message.split('\n')[0]}` });
          stopped = true;
        }
        const c = cells[cells.length - 1];
        save(cells);
        console.log(`   ${r.name.padEnd(12)} B=${String(B).padStart(4)}  ${fmt(c.inputsPerSecond).padStart(8)} inputs/s  ${fmt(c.gflops).padStart(7)} eff. GFLOP/s   ${c.note}`);
      }
      await r.close?.();
    }
    const exportDir = opt('export', '') || (flag('torch') ? join(os.tmpdir(), `looped-bench-${process.pid}`) : '');
    if (exportDir) cells.push(...(await torch(w, exportDir, flops, refAnswers.map((r) => r.answer))));
    save(cells);
  }
  save(cells);
  summary(cells);
  console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** Writes the figures so far to --json (after every cell, so a run cut short still leaves them). */
let probesSeen: unknown = null;
function save(cells: Cell[]): void {
  const json = opt('json', '');
  if (!json) return;
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, probes: probesSeen, cells }, null, 1));
}

/** Exports the weights (bench/weights.ts format) and runs bench/torch_forward.py on them. */
async function torch(w: Workload, root: string, flops: number, answers: (number | null)[]): Promise<Cell[]> {
  const dir = join(root, w.id);
  mkdirSync(dir, { recursive: true });
  try {
    const { dumpModel } = await import('./weights.ts');
    dumpModel(w.model, w.inputs, dir);
  } catch (e) {
    console.log(`   torch: could not export the weights: ${(e as Error).message}`);
    return [];
  }
  writeFileSync(join(dir, 'bench.json'), JSON.stringify({ flopsPerInput: flops, batches: BATCHES, budget: BUDGET, minTime: MIN_TIME }));
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [opt('torch-script', ''), join(here, 'torch_forward.py'), join(here, '..', 'bench', 'torch_forward.py'), join(process.cwd(), 'bench', 'torch_forward.py')];
  const script = candidates.find((p) => p !== '' && existsSync(p));
  const py = process.env.PYTHON ?? 'python3';
  if (script === undefined) {
    console.log(`   torch: torch_forward.py not found (looked at ${candidates.filter(Boolean).join(', ')})`);
    return [];
  }
  const r = spawnSync(py, [script, dir], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    console.log(`   torch: ${py} ${script} failed (${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
    return [];
  }
  const cells: Cell[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as { batch?: number; seconds?: number; device?: string; note?: string; torch?: string; answers?: number[] };
    if (o.batch === undefined) {
      let check = '';
      if (o.answers) {
        const bad = o.answers.filter((a, i) => answers[i] !== undefined && answers[i] !== a).length;
        check = bad === 0 ? `; its first ${o.answers.length} answers agree` : `; ${bad} of its first ${o.answers.length} answers differ`;
      }
      console.log(`   torch: ${o.note ?? `torch ${o.torch} on ${o.device}`}${check}`);
      continue;
    }
    const ips = o.seconds ? o.batch / o.seconds : null;
    const c: Cell = { workload: w.id, runner: `torch:${o.device ?? '?'}`, batch: o.batch, seconds: o.seconds ?? null, inputsPerSecond: ips, gflops: ips === null ? null : (flops * ips) / 1e9, note: o.note ?? '' };
    cells.push(c);
    console.log(`   ${c.runner.padEnd(12)} B=${String(o.batch).padStart(4)}  ${fmt(ips).padStart(8)} inputs/s  ${fmt(c.gflops).padStart(7)} eff. GFLOP/s   ${c.note}`);
  }
  return cells;
}

function summary(cells: Cell[]): void {
  console.log('\n## best throughput per runner (inputs/s at its best batch size)');
  const keys = [...new Set(cells.map((c) => `${c.workload}\t${c.runner}`))];
  const best = new Map<string, Cell>();
  for (const k of keys) {
    const [w, r] = k.split('\t');
    const cs = cells.filter((c) => c.workload === w && c.runner === r && c.inputsPerSecond !== null);
    if (cs.length === 0) continue;
    best.set(k, cs.reduce((a, b) => (b.inputsPerSecond! > a.inputsPerSecond! ? b : a)));
  }
  for (const [k, c] of best) {
    const [w, r] = k.split('\t');
    const fast = best.get(`${w}\tfast32`);
    const torchBest = [...best.entries()].find(([kk]) => kk.startsWith(`${w}\ttorch`))?.[1];
    const vsFast = fast && r !== 'fast32' ? `  ${(c.inputsPerSecond! / fast.inputsPerSecond!).toFixed(2)}× fast32` : '';
    const vsTorch = torchBest && !r.startsWith('torch') ? `  ${(c.inputsPerSecond! / torchBest.inputsPerSecond!).toFixed(2)}× torch` : '';
    console.log(`   ${w.padEnd(5)} ${r.padEnd(12)} ${fmt(c.inputsPerSecond).padStart(8)} inputs/s at B=${c.batch}  ${fmt(c.gflops)} eff. GFLOP/s${vsFast}${vsTorch}`);
  }
}

await main();
process.exit(0);
