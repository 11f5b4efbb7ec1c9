// Theorem 5.4 as a compiler, measured: compile time and verification time for a random decoder
// with L = 2, d = 32, n = 16, m = 16 (the point), and how the looped model's width and run
// time grow with m. Baseline in the same run: the source decoder's own greedy CoT (m forward
// passes on growing prefixes) under the same interpreter, so the figure that matters is the ratio
// (one run of the looped model) / (m CoT passes).
//   npx tsx bench/thm54.ts [--prompts 20] [--steps 4,8,16,32,64] [--seed 1] [--heads 2] [--vocab 8]
import fc from 'fast-check';
import { compileThm54, cotOf, cotPrecondition, withPads } from '../proofs/thm-5-4-cot-loops.ts';
import { randomDecoder } from '../proofs/thm-5-4/random-decoder.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes } from '../simulators/model.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : fallback;
};
const PROMPTS = Number(opt('prompts', '20'));
const STEPS = opt('steps', '4,8,16,32,64').split(',').map(Number);
const SEED = Number(opt('seed', '1'));
const L = 2;
const D = 32;
const N = 16;
const H = Number(opt('heads', '2'));
const V = Number(opt('vocab', '8'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

interface Row {
  m: number;
  width: number;
  mlpWidth: number;
  layers: number;
  params: number;
  compileMs: number;
  prompts: number;
  kept: number;
  wrong: number;
  loopedMs: Record<string, number>;
  cotMs: Record<string, number>;
  verifyMs: number;
}

function paramCount(model: ReturnType<typeof compileThm54>['model']): number {
  let total = model.W_E.rowsSparse().flat().length + model.W_pos.rowsSparse().flat().length + model.W_U.rowsSparse().flat().length;
  const seen = new Set<object>();
  for (const st of model.stages) {
    for (const l of st.layers) {
      if (seen.has(l)) continue;
      seen.add(l);
      for (const h of l.heads) for (const m of [h.W_Q, h.W_K, h.W_V, h.W_O]) total += m.rowsSparse().flat().length;
      if (l.mlp) for (const m of [l.mlp.W_in, l.mlp.W_out, l.mlp.b_in.matrix, l.mlp.b_out.matrix]) total += m.rowsSparse().flat().length;
    }
  }
  return total;
}

function measure(m: number): Row {
  const source = randomDecoder({ layers: L, distinct: L, width: D, heads: H, hidden: D, vocab: V, maxLen: N + m - 1, seed: SEED, attention: 'hard' });
  const compileTimes: number[] = [];
  let c = compileThm54(source, { n: N, m });
  for (let k = 0; k < 3; k++) {
    const [cc, t] = timed(() => compileThm54(source, { n: N, m }));
    c = cc;
    compileTimes.push(t);
  }
  const sizes = modelSizes(c.model);
  const prompts = fc.sample(fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: N, maxLength: N }), { numRuns: PROMPTS, seed: SEED });
  const loopedMs: Record<string, number> = {};
  const cotMs: Record<string, number> = {};
  // Verification as `looped verify` does it: the CoT reference (exact), its precondition, the looped model (exact).
  const exact = interpreterByName('exact');
  let kept = 0;
  let wrong = 0;
  const [, verifyMs] = timed(() => {
    for (const p of prompts) {
      const cot = cotOf(c, p, 'exact');
      if (!cotPrecondition(c, cot).ok) continue;
      kept++;
      if (exact.run(c.model, withPads(c, p)).answer !== cot.answer) wrong++;
    }
  });
  for (const name of ['exact', 'float64', 'fast64']) {
    const it = interpreterByName(name);
    const some = prompts.slice(0, Math.min(5, prompts.length));
    loopedMs[name] = median(some.map((p) => timed(() => it.run(c.model, withPads(c, p)))[1]));
    cotMs[name] = median(some.map((p) => timed(() => cotOf(c, p, name))[1]));
  }
  return { m, width: sizes.width, mlpWidth: sizes.mlpWidth, layers: sizes.layersPerBlock, params: paramCount(c.model), compileMs: median(compileTimes), prompts: prompts.length, kept, wrong, loopedMs, cotMs, verifyMs };
}

console.log(`Theorem 5.4 compiler: random decoder L=${L}, d=${D}, H=${H}, |Σ|=${V}, d_FF=${D}, seed ${SEED}; prompts n=${N}; ${PROMPTS} prompts per m`);
console.log('m   | layers | width | MLP width | nonzero weights | compile ms | verify ms (kept/wrong) | looped/CoT time: exact  float64  fast64');
const rows: Row[] = [];
for (const m of STEPS) {
  const r = measure(m);
  rows.push(r);
  const ratio = (k: string) => `${(r.loopedMs[k] / r.cotMs[k]).toFixed(2)}× (${ms(r.loopedMs[k])}/${ms(r.cotMs[k])} ms)`;
  console.log(
    `${String(m).padEnd(3)} | ${String(r.layers).padEnd(6)} | ${String(r.width).padEnd(5)} | ${String(r.mlpWidth).padEnd(9)} | ${String(r.params).padEnd(15)} | ${ms(r.compileMs).padEnd(10)} | ${ms(r.verifyMs)} (${r.kept}/${r.wrong})`.padEnd(100) +
      ` | ${ratio('exact')}  ${ratio('float64')}  ${ratio('fast64')}`,
  );
}
const bad = rows.reduce((a, r) => a + r.wrong, 0);
if (bad > 0) {
  console.error(`${bad} prompts where the looped answer differs from TF^m(v): the compiler is wrong`);
  process.exit(1);
}
