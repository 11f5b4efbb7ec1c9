// Time to verify a construction on 10,000 random inputs on the fast float path, beside the same
// forward passes in numpy on the same weights in the same run (bench/numpy_forward.py), with the
// same answer check against the reference algorithm for both.
//   npx tsx bench/verify.ts [--samples 10000] [--batch 256] [--workloads s5,phop]
// Workloads: Theorem 5.1 on S5 with n = 64, and p-hop (Corollary 5.3) with p = 32, n = 256
// (inputs of exactly n tokens, uniform over the alphabet of 4).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { type BuiltConstruction, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { fast32, fast64, getThreads } from '../simulators/fast/index.ts';
import type { Interpreter } from '../simulators/result.ts';
import { mulberry32 } from '../tasks/random.ts';
import { dumpModel } from './weights.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : fallback;
};
const SAMPLES = Number(opt('samples', '10000'));
const BATCH = Number(opt('batch', '256'));
const WORKLOADS = opt('workloads', 's5,phop').split(',');

interface Workload {
  key: string;
  title: string;
  id: string;
  params: Record<string, string>;
  inputs: (built: BuiltConstruction<unknown, unknown>) => unknown[];
}

const workloads: Workload[] = [
  {
    key: 's5',
    title: 'Theorem 5.1, S5, n = 64',
    id: 'group-composition',
    params: { group: 'S5', n: '64' },
    inputs: (b) => fc.sample(b.arbitrary(), { seed: 1, numRuns: SAMPLES }),
  },
  {
    key: 'phop',
    title: 'p-hop (Corollary 5.3), p = 32, n = 256',
    id: 'p-hop',
    params: { p: '32', n: '256' },
    inputs: () => {
      const rng = mulberry32(1);
      return Array.from({ length: SAMPLES }, () => Array.from({ length: 256 }, () => Math.floor(rng() * 4)));
    },
  },
];

function verifyFast(it: Interpreter, built: BuiltConstruction<unknown, unknown>, inputs: unknown[], expected: unknown[]): { seconds: number; wrong: number } {
  const model = built.checks[0].model;
  const t0 = performance.now();
  let wrong = 0;
  for (let i = 0; i < inputs.length; i += BATCH) {
    const chunk = inputs.slice(i, i + BATCH);
    const results = it.runBatch!(model, chunk.map((x) => built.encode(x)));
    results.forEach((r, j) => {
      if (!built.equal(built.decode(r), expected[i + j])) wrong++;
    });
  }
  return { seconds: (performance.now() - t0) / 1000, wrong };
}

function verifyNumpy(built: BuiltConstruction<unknown, unknown>, inputs: unknown[], expected: unknown[]): { seconds: number; wrong: number; blas: string } | string {
  const dir = mkdtempSync(join(tmpdir(), 'looped-verify-'));
  try {
    const model = built.checks[0].model;
    const tokens = inputs.map((x) => built.encode(x));
    dumpModel(model, tokens, dir);
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; // these slow a current numpy; unset for the numpy child only
    delete env.OPENBLAS_L2_SIZE;
    const script = join(dirname(fileURLToPath(import.meta.url)), 'numpy_forward.py');
    const r = spawnSync('python3', [script, dir, '--reps', '1', '--warmup', '0', '--chunk', String(BATCH)], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
    if (r.status !== 0) return `numpy failed (status ${r.status}, signal ${r.signal ?? "none"}${r.error ? `, ${r.error.message}` : ""}): ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ")}`;
    const out = JSON.parse(r.stdout) as { times: number[]; blas: unknown };
    // The same check as the fast path: the answer read from numpy's logits against the reference.
    const raw = readFileSync(join(dir, 'logits.bin'));
    const logits = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)); // a small read may sit inside Node's pool
    const V = model.vocab.dim;
    const positions = logits.length / (inputs.length * V);
    const t0 = performance.now();
    let wrong = 0;
    inputs.forEach((x, i) => {
      const base = (i * positions + positions - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[base + v] > logits[base + best]) best = v;
      const fake = { answer: best, readouts: [{ token: best }] } as unknown as Parameters<typeof built.decode>[0];
      if (!built.equal(built.decode(fake), expected[i])) wrong++;
    });
    const check = (performance.now() - t0) / 1000;
    return { seconds: out.times[0] + check, wrong, blas: JSON.stringify(out.blas) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`# verification time, ${SAMPLES} random inputs, batches of ${BATCH}, fast path on ${getThreads()} thread(s)`);
for (const w of workloads.filter((x) => WORKLOADS.includes(x.key))) {
  const c = constructionById(w.id);
  const built = c.build(resolveParams(c, w.params)) as BuiltConstruction<unknown, unknown>;
  const inputs = w.inputs(built);
  const t0 = performance.now();
  const expected = inputs.map((x) => built.reference(x));
  const refSeconds = (performance.now() - t0) / 1000;
  console.log(`\n## ${w.title} (reference algorithm: ${refSeconds.toFixed(2)} s for all inputs, included in no figure below)`);
  verifyFast(fast64, built, inputs.slice(0, BATCH), expected); // warm up (compile, start workers)
  const f64 = verifyFast(fast64, built, inputs, expected);
  const f32 = verifyFast(fast32, built, inputs, expected);
  const np = verifyNumpy(built, inputs, expected);
  const line = (name: string, s: number, wrong: number) => `   ${name.padEnd(8)} ${s.toFixed(2).padStart(8)} s   ${(inputs.length / s).toFixed(0).padStart(7)} inputs/s   ${wrong} wrong`;
  console.log(line('fast64', f64.seconds, f64.wrong));
  console.log(line('fast32', f32.seconds, f32.wrong));
  if (typeof np === 'string') console.log(`   numpy    ${np}`);
  else {
    console.log(line('numpy', np.seconds, np.wrong));
    console.log(`   fast64 / numpy time = ${(f64.seconds / np.seconds).toFixed(2)}, fast32 / numpy = ${(f32.seconds / np.seconds).toFixed(2)}   (numpy BLAS: ${np.blas})`);
  }
}
