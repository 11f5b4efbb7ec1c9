// Verification throughput of SUBLEQ (examples/subleq.ts) at K = M = 16, N = 8, T = 32: random
// programs run on the fast CPU path (fast64, float64 softmax at scale 64), decoded and compared
// with the reference interpreter (tasks/subleq.ts); then the same weights, exported with the
// safetensors exporter, run by tools/looped_numpy.py on the same programs in the same run, and its
// answers compared with fast64's. Not a test: it prints, and writes the figures to --out.
//
//   npx tsx bench/subleq.ts [--programs 64] [--reps 3] [--out bench/results/2026-12-03-subleq.txt]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Construction, fc, interpreterByName, modelToSafetensors, resolveParams } from '../index.ts';
import subleq from '../examples/subleq.ts';
import { run as reference } from '../tasks/subleq.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : fallback;
};
const PROGRAMS = Number(opt('programs', '64'));
const REPS = Number(opt('reps', '3'));
const OUT = opt('out', '');

const params = resolveParams(subleq as Construction, { instructions: '16', memory: '16', bits: '8', steps: '32' });
const built = subleq.build(params);
const check = built.checks.find((c) => c.interpreter === 'float64')!;
const model = check.model;
const inputs = fc.sample(built.arbitrary(), { numRuns: PROGRAMS, seed: 1108 });
const tokens = inputs.map((x) => built.encode(x));
const fast64 = interpreterByName('fast64');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let wrong = 0;
const times: number[] = [];
let fastAnswers: string[] = [];
for (let r = 0; r <= REPS; r++) {
  const t0 = performance.now();
  const runs = fast64.runBatch!(model, tokens);
  const answers = runs.map((x) => built.decode(x));
  wrong = answers.filter((a, k) => !built.equal(a, reference(inputs[k], 8, 32))).length;
  const t = (performance.now() - t0) / 1000;
  fastAnswers = runs.map((x) => JSON.stringify(x.readouts.map((o) => o.token)));
  if (r > 0) times.push(t); // the first round warms up
}
const tFast = median(times);

// numpy on the same weights: export, then one Python process that loads once and times the forwards.
const dir = mkdtempSync(join(tmpdir(), 'subleq-bench-'));
let numpyLine = '';
let tNumpy = NaN;
try {
  writeFileSync(join(dir, 'm.safetensors'), modelToSafetensors(model).bytes);
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify(tokens));
  const tools = join(dirname(fileURLToPath(import.meta.url)), '..', 'tools');
  const py = `
import json, sys, time
sys.path.insert(0, ${JSON.stringify(tools)})
import looped_numpy as ln
m = ln.load(${JSON.stringify(join(dir, 'm.safetensors'))})
xs = json.load(open(${JSON.stringify(join(dir, 'inputs.json'))}))
ts = []
for r in range(${REPS} + 1):
    t0 = time.perf_counter()
    outs = [ln.forward(m, x) for x in xs]
    if r > 0: ts.append(time.perf_counter() - t0)
ts.sort()
print(json.dumps({"seconds": ts[len(ts) // 2], "argmax": [[o["argmax"] for o in out["readouts"]] for out in outs]}))
`;
  const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) numpyLine = `numpy: failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
  else {
    const out = JSON.parse(r.stdout) as { seconds: number; argmax: (number | null)[][] };
    tNumpy = out.seconds;
    const same = out.argmax.filter((a, k) => JSON.stringify(a) === fastAnswers[k]).length;
    numpyLine = `numpy (tools/looped_numpy.py, one process, same weights via safetensors): ${fmt(PROGRAMS / tNumpy)} programs/s; readouts equal to fast64's on ${same}/${PROGRAMS}`;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

const s = built.model.residual.dim;
const lines = [
  `SUBLEQ verification throughput, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
  `model: K = M = 16, N = 8, T = 32 loops of a 4-layer block, width ${s}, ${built.model.positions.dim} positions, float64 softmax at scale 64`,
  `${PROGRAMS} random programs (seed 1108; halting, early-halting and looping), median of ${REPS} rounds after a warm-up`,
  `fast64 (runBatch + decode + reference compare): ${fmt(PROGRAMS / tFast)} programs/s (${fmt(tFast * 1000)} ms per batch); wrong answers: ${wrong}/${PROGRAMS}`,
  numpyLine,
  Number.isFinite(tNumpy) ? `fast64 / numpy speed: ${fmt(tNumpy / tFast)}×` : '',
].filter((l) => l !== '');
console.log(lines.join('\n'));
if (OUT) writeFileSync(OUT, lines.join('\n') + '\n');
