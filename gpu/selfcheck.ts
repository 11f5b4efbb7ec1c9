// The GPU checks that matter, runnable without vitest (the device machine has no Node toolchain,
// only the bundle scripts/prepare-gpu-carry.sh builds): every available backend against the float32
// interpreter on random models, and a model wider and longer than gpu.js's default loop cap.
// tests/gpu.test.ts runs the same checks under vitest.
//
//   node selfcheck.mjs [--runs 60] [--json FILE] [--backends webgpu,webasm,cpu]
//
// Criteria (see tests/gpu.test.ts): cpu and webasm bit-identical to float32; webgpu the same answers
// wherever float32's margins exceed 1e-3 · (1 + max |logit|) and the tie counts agree.
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { type RandomModelSpec, buildRandomModel, inputArbitrary, randomModelArbitrary } from '../simulators/random-model.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, addStage, createHead, createLayer, createMlp, createModel } from '../simulators/model.ts';
import type { RunResult } from '../simulators/result.ts';
import { space } from '../simulators/space.ts';
import { type BackendName, BACKEND_ORDER, probeAll } from './backend.ts';
import { GpuInterpreter } from './interpreter.ts';
import { maxOf } from '../simulators/extrema.ts';

/** Random models of every kind the interpreter handles, each with a batch of inputs of mixed lengths. */
export function agreementCases(): fc.Arbitrary<{ spec: RandomModelSpec; inputs: number[][] }> {
  return randomModelArbitrary({
    kinds: ['hard', 'softmax'],
    maxWidth: 5,
    maxLen: 6,
    maxHeads: 2,
    maxLayers: 2,
    maxStages: 2,
    maxLoops: 3,
    masks: [null, 'i >= t', 'i + t > 2', 'i < T'],
  }).chain((spec) => fc.record({ spec: fc.constant(spec), inputs: fc.array(inputArbitrary(spec.vocab, spec.maxLen), { minLength: 1, maxLength: 4 }) }));
}

/** null when two results agree bit for bit (logits, answers, margins, margin site, ties); else both, as text. */
export function bitDifference(want: RunResult, got: RunResult): string | null {
  const view = (r: RunResult) =>
    JSON.stringify({ answer: r.answer, tie: r.tie, readouts: r.readouts.map((o) => [o.position, o.logits, o.top, o.token, o.margin]), margins: r.margins });
  const a = view(want);
  const b = view(got);
  return a === b ? null : `${want.interpreter}: ${a}\n${got.interpreter}: ${b}`;
}

/** The webgpu criterion: null when answers agree or float32's margins are too small to decide. */
export function answerDifference(want: RunResult, got: RunResult): { compared: boolean; diff: string | null } {
  const tol = 1e-3 * (1 + maxOf(want.readouts.flatMap((r) => r.logits.map(Math.abs))));
  const a = want.margins.attention;
  if (!(want.margins.logit > tol && (a === 0 || a > tol) && want.margins.attentionTies === got.margins.attentionTies)) return { compared: false, diff: null };
  for (let j = 0; j < want.readouts.length; j++) {
    if (want.readouts[j].token !== got.readouts[j].token) {
      return { compared: true, diff: `position ${want.readouts[j].position}: float32 ${want.readouts[j].token}, ${got.interpreter} ${got.readouts[j].token} (margin ${want.margins.logit})` };
    }
  }
  return { compared: true, diff: null };
}

/**
 * A model with d = 1100 and inputs of n = 1030 tokens, so every kernel loop (CSC columns of 1100
 * nonzeros, 1030 keys, 1030 margin sites) runs past gpu.js's default cap of 1000 iterations.
 */
export function wideLongModel(): { model: Model; tokens: number[] } {
  const d = 1100;
  const n = 1030;
  let seed = 9;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const residual = space({ x: d });
  const model = createModel({ name: 'wide and long', vocab: ['a', 'b', 'c'], residual, maxLen: n });
  model.W_E.write('vocab', 'x', () => (rand() < 0.3 ? 1 : 0));
  model.W_pos.write('positions', 'x', (i, c) => (c === 0 ? i / 64 : c === 1 ? 1 : c >= 1050 && rand() < 0.01 ? 1 : 0));
  model.W_U.write('x', 'vocab', (r, c) => (r >= 1000 ? ((r + c) % 5) - 2 : (r * 7 + c) % 3 === 0 ? 1 : 0));
  const layer = createLayer('wide');
  const head = createHead(residual, { name: 'latest', kind: 'hard', qk: 1, ov: 2 });
  head.W_Q.set('x[1]', 'qk', 1);
  head.W_K.set('x[0]', 'qk', 1);
  head.W_V.write('x', 'ov', (r, c) => (r >= 1050 && (r + c) % 2 === 0 ? 1 : 0));
  head.W_O.write('ov', 'x', (r, c) => (c >= 1080 && (r + c) % 3 === 0 ? 1 : 0));
  layer.heads.push(head);
  const soft = createHead(residual, { name: 'average', kind: 'softmax', scale: '1/1024', qk: 1, ov: 1 });
  soft.W_Q.set('x[1]', 'qk', 1);
  soft.W_K.set('x[0]', 'qk', 1);
  soft.W_V.write('x', 'ov', (r) => (r >= 1090 ? 1 : 0));
  soft.W_O.write('ov', 'x', (_r, c) => (c >= 1095 ? 1 : 0));
  layer.heads.push(soft);
  const mlp = createMlp(residual, { name: 'mlp', hidden: 2 });
  mlp.W_in.write('x', 'hidden', (r, c) => (r >= 1000 && (r + c) % 4 === 0 ? 1 : 0));
  mlp.b_in.write('hidden', [-3, -5]);
  mlp.W_out.write('hidden', 'x', (r, c) => (c >= 1098 ? r + 1 : 0));
  layer.mlp = mlp;
  addStage(model, [layer], 2);
  const tokens = Array.from({ length: n }, (_, i) => (i * 5 + (i >> 3)) % 3);
  return { model, tokens };
}

export interface CheckReport {
  backend: BackendName;
  ran: string;
  executor: string;
  cases: number;
  inputs: number;
  /** Inputs whose results were bit-identical to float32. */
  bitIdentical: number;
  /** Inputs where float32's margins decide the answer (the webgpu criterion applies). */
  compared: number;
  failures: string[];
  wide: string;
  seconds: number;
}

/** Runs the agreement check on one backend (async path, the one the GPU needs). */
export async function checkBackend(backend: BackendName, runs: number, seed = 42): Promise<CheckReport> {
  const t0 = performance.now();
  const f32 = interpreterByName('float32');
  const gi = new GpuInterpreter({ backend });
  const exact = backend === 'cpu' || backend === 'webasm';
  const report: CheckReport = { backend, ran: '', executor: '', cases: 0, inputs: 0, bitIdentical: 0, compared: 0, failures: [], wide: '', seconds: 0 };
  for (const { spec, inputs } of fc.sample(agreementCases(), { seed, numRuns: runs })) {
    const model = buildRandomModel(spec);
    report.cases++;
    let got: RunResult[];
    try {
      got = await gi.runBatchAsync(model, inputs);
    } catch (e) {
      report.failures.push(`threw: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    inputs.forEach((tokens, k) => {
      report.inputs++;
      const want = f32.run(model, tokens);
      const bits = bitDifference(want, got[k]);
      if (bits === null) report.bitIdentical++;
      const ans = answerDifference(want, got[k]);
      if (ans.compared) report.compared++;
      if (exact && bits !== null) report.failures.push(`not bit-identical on ${JSON.stringify(tokens)}:\n${bits}`);
      if (ans.diff !== null) report.failures.push(ans.diff);
    });
  }
  report.ran = gi.lastRun?.backend ?? '';
  report.executor = gi.lastRun?.executor ?? '';
  try {
    const { model, tokens } = wideLongModel();
    const want = f32.run(model, tokens);
    const got = (await gi.runBatchAsync(model, [tokens]))[0];
    const bits = bitDifference(want, got);
    const ans = answerDifference(want, got);
    report.wide = bits === null ? 'bit-identical' : ans.diff === null ? 'same answer (not bit-identical)' : `DIFFERENT: ${ans.diff}`;
    if ((exact && bits !== null) || ans.diff !== null) report.failures.push(`d = 1100, n = 1030 model: ${report.wide}`);
  } catch (e) {
    report.wide = `threw: ${(e as Error).message.split('\n')[0]}`;
    report.failures.push(`d = 1100, n = 1030 model ${report.wide}`);
  }
  await gi.destroy();
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const opt = (name: string, fallback: string) => {
    const k = argv.indexOf(`--${name}`);
    return k >= 0 && k + 1 < argv.length ? argv[k + 1] : fallback;
  };
  const runs = Number(opt('runs', '60'));
  const probes = await probeAll();
  for (const p of probes) console.log(`backend ${p.backend.padEnd(10)} ${p.available ? 'available  ' : 'unavailable'} ${p.detail}`);
  const wanted = opt('backends', probes.filter((p) => p.available).map((p) => p.backend).join(',')).split(',');
  const reports: CheckReport[] = [];
  for (const b of BACKEND_ORDER.filter((x) => wanted.includes(x))) {
    const r = await checkBackend(b, b === 'cpu' ? Math.min(runs, 20) : runs);
    reports.push(r);
    console.log(
      `${b}: ran on ${r.ran} (${r.executor}); ${r.cases} models, ${r.inputs} inputs: ${r.bitIdentical} bit-identical to float32, ` +
        `${r.compared} decided by margins; d=1100/n=1030: ${r.wide}; ${r.failures.length} failures; ${r.seconds.toFixed(1)} s`,
    );
    for (const f of r.failures.slice(0, 5)) console.log(`  FAIL ${f}`);
  }
  const json = opt('json', '');
  if (json) writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), probes, reports }, null, 1));
  const failed = reports.reduce((s, r) => s + r.failures.length, 0);
  console.log(`${reports.length - reports.filter((r) => r.failures.length > 0).length} passed, ${reports.filter((r) => r.failures.length > 0).length} failed`);
  return failed === 0 ? 0 : 1;
}
