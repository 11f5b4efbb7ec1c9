// Export and import: safetensors (TransformerLens names) and looped/1 JSON round-trip every
// registered construction; rounding is refused unless allowed; readModelFile takes both formats;
// and tools/looped_numpy.py, run on the exported file, gives the float64 interpreter's answers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../cli/commands/export.ts';
import { loadModelBytes, readModelFile, sniffModelFormat } from '../cli/model-input.ts';
import { makeOut } from '../cli/output.ts';
import { seedFromEnv } from '../properties/config.ts';
import { MASK_EXPRESSIONS } from '../properties/engine.ts';
import { buildRandomModel, inputArbitrary, randomModelArbitrary } from '../simulators/random-model.ts';
import { type BuiltConstruction, modelFor, resolveParams } from '../proofs/construction.ts';
import { allConstructions, constructionById } from '../proofs/registry.ts';
import { ModelError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, addStage, createHead, createLayer, createModel, maskRow, withAttention } from '../simulators/model.ts';
import { loadModel, modelToJson, saveModel } from '../simulators/model-file.ts';
import type { Readout } from '../simulators/result.ts';
import { loadSafetensors, modelToSafetensors, parseSafetensors } from '../simulators/safetensors.ts';
import { space } from '../simulators/space.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(ROOT, 'tools', 'looped_numpy.py');
const BIN = join(ROOT, 'bin', 'looped.mjs');
const dir = mkdtempSync(join(tmpdir(), 'looped-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = (m: Model) => JSON.parse(JSON.stringify(modelToJson(m))) as unknown;
/** Two models are the same model file (node's deep equality is fast; vitest's diff only on failure). */
function expectSameModel(a: Model, b: Model, what?: string): void {
  const [x, y] = [json(a), json(b)];
  if (!isDeepStrictEqual(x, y)) expect(x, what).toEqual(y);
}
const built = (id: string, given: Record<string, string> = {}) => {
  const c = constructionById(id);
  return c.build(resolveParams(c, given)) as BuiltConstruction<unknown, unknown>;
};

/** Every weight is exactly a double (so a float64 export loses nothing). */
function dyadic(m: Model): boolean {
  const mats = [m.W_E, m.W_pos, m.W_U, ...m.stages.flatMap((s) => s.layers.flatMap((l) => [...l.heads.flatMap((h) => [h.W_Q, h.W_K, h.W_V, h.W_O]), ...(l.mlp ? [l.mlp.W_in, l.mlp.b_in.matrix, l.mlp.W_out, l.mlp.b_out.matrix] : [])]))];
  return mats.every((x) => x.isDyadic());
}

/** An Out that collects what a command prints. */
function captureOut(asJson = false) {
  const lines: string[] = [];
  const errors: string[] = [];
  const out = makeOut(asJson);
  out.print = (t = '') => void lines.push(t);
  out.error = (t) => void errors.push(t);
  return { out, lines, errors };
}

describe('safetensors export and import', () => {
  it('round-trips every registered construction, every checked variant, exactly (float64)', () => {
    for (const c of allConstructions()) {
      const b = c.build(resolveParams(c, {})) as BuiltConstruction<unknown, unknown>;
      for (const check of b.checks) {
        const what = `${c.id} ${check.interpreter}`;
        if (!dyadic(check.model)) {
          // A weight no double holds: refused unless rounding is allowed, and then stable.
          expect(() => modelToSafetensors(check.model), what).toThrow(/cannot be stored exactly as F64/);
          const rounded = modelToSafetensors(check.model, { allowRounding: true });
          expect(rounded.rounded.count).toBeGreaterThan(0);
          expect(Buffer.compare(modelToSafetensors(loadSafetensors(rounded.bytes)).bytes, rounded.bytes), what).toBe(0);
          continue;
        }
        const { bytes } = modelToSafetensors(check.model);
        const back = loadSafetensors(bytes);
        expectSameModel(back, check.model, what);
        expect(Buffer.compare(modelToSafetensors(back).bytes, bytes), `${what}: export is deterministic`).toBe(0);
        // looped/1 JSON too
        expectSameModel(loadModel(saveModel(check.model)), check.model);
      }
    }
  });

  it('uses TransformerLens names and shapes, pads heads to one d_head, and records the true sizes', () => {
    const model = built('p-hop-direct').model;
    const { tensors, metadata } = parseSafetensors(modelToSafetensors(model).bytes);
    const d = model.residual.dim;
    const V = model.vocab.dim;
    expect(tensors.get('embed.W_E')!.shape).toEqual([V, d]);
    expect(tensors.get('pos_embed.W_pos')!.shape).toEqual([model.positions.dim, d]);
    expect(tensors.get('unembed.W_U')!.shape).toEqual([d, V]);
    const heads = model.stages[0].layers[0].heads;
    const dHead = Math.max(...model.stages.flatMap((s) => s.layers.flatMap((l) => l.heads.map((h) => Math.max(h.qk.dim, h.ov.dim)))));
    expect(tensors.get('stages.0.blocks.0.attn.W_Q')!.shape).toEqual([heads.length, d, dHead]);
    expect(tensors.get('stages.0.blocks.0.attn.W_O')!.shape).toEqual([heads.length, dHead, d]);
    const mlp = model.stages[0].layers[3].mlp!;
    expect(tensors.get('stages.0.blocks.3.mlp.W_in')!.shape).toEqual([d, mlp.hidden.dim]);
    expect(tensors.get('stages.0.blocks.3.mlp.b_in')!.shape).toEqual([mlp.hidden.dim]);
    expect(tensors.get('stages.0.blocks.0.mlp.W_in')).toBeUndefined(); // layer 0 has no MLP
    expect(tensors.get('stages.0.blocks.0.attn.W_Q')!.dtype).toBe('F64');
    expect(metadata.format).toBe('looped/1');
    expect(metadata.readout).toBe(model.readout);
    expect(JSON.parse(metadata.vocab)).toEqual(model.vocab.labels);
    const attn = JSON.parse(metadata.attention) as { d_qk: number; d_ov: number; kind: string; causal: boolean; scale: number }[][][];
    expect(attn[0][0][0]).toMatchObject({ kind: heads[0].kind, causal: heads[0].causal, scale: 1, d_qk: heads[0].qk.dim, d_ov: heads[0].ov.dim });
    expect(JSON.parse(metadata.stages)).toEqual([{ loops: 1, layers: 4, mask: null, roles: model.stages[0].layers.map((l) => l.role) }]);
    expect(JSON.parse(metadata.residual_labels)).toEqual(modelToJson(model).residual);
    // The group element tokens and the start token, as the CLI takes them.
    expect(JSON.parse(parseSafetensors(modelToSafetensors(built('group-composition').model).bytes).metadata.vocab)).toEqual([
      '[0,1,2]', '[0,2,1]', '[1,0,2]', '[1,2,0]', '[2,0,1]', '[2,1,0]', '#',
    ]);
  });

  it('round-trips random models with masks, several stages, both attention kinds and float32', () => {
    fc.assert(
      fc.property(randomModelArbitrary({ kinds: ['hard', 'softmax'], maxStages: 3, masks: [null, ...MASK_EXPRESSIONS] }), (spec) => {
        const model = buildRandomModel(spec);
        for (const dtype of ['F64', 'F32'] as const) {
          const back = loadSafetensors(modelToSafetensors(model, { dtype }).bytes); // small integers: exact in F32 too
          expectSameModel(back, model);
        }
      }),
      { numRuns: 100, seed: seedFromEnv() },
    );
  });

  it('refuses to round a non-dyadic rational unless allowed, and keeps an exact head scale', () => {
    const model = built('lemma-b4', { n: '4' }).model;
    model.W_U.setAt(0, 0, '1/3');
    expect(() => modelToSafetensors(model)).toThrow(ModelError);
    expect(() => modelToSafetensors(model)).toThrow(/1 weight cannot be stored exactly as F64 \(first: unembed\.W_U \(.*\) = 1\/3 → 0\.333/);
    const r = modelToSafetensors(model, { allowRounding: true });
    expect(r.rounded.count).toBe(1);
    const back = loadSafetensors(r.bytes);
    expect(back.W_U.get(0, 0)).toBe(1 / 3);
    expect(back.W_U.isDyadic()).toBe(true); // the rational is gone: that is what rounding means
    // F32: 0.1 is not a float32; a float32 file reads back the float32 value
    const m32 = built('lemma-b4', { n: '4' }).model;
    m32.W_U.setAt(0, 0, 0.1);
    expect(() => modelToSafetensors(m32, { dtype: 'F32' })).toThrow(/cannot be stored exactly as F32/);
    expect(loadSafetensors(modelToSafetensors(m32, { dtype: 'F32', allowRounding: true }).bytes).W_U.get(0, 0)).toBe(Math.fround(0.1));
    // A head scale of 1/3 lives in the metadata as a rational: exact, no rounding needed.
    const scaled = withAttention(built('lemma-b4', { n: '4' }).model, 'softmax', '1/3');
    const again = loadSafetensors(modelToSafetensors(scaled).bytes);
    expect(again.stages[0].layers[0].heads[0].scale.toFraction()).toBe('1/3');
    expectSameModel(again, scaled);
  });

  it('reads both formats from a file, by content, wherever a model file is accepted', () => {
    const model = built('lemma-b9-shift', { n: '6' }).model;
    const st = modelToSafetensors(model).bytes;
    const files = {
      st: join(dir, 'shift.safetensors'),
      js: join(dir, 'shift.json'),
      stNamedJson: join(dir, 'really-safetensors.json'),
      garbage: join(dir, 'garbage.bin'),
      truncated: join(dir, 'truncated.safetensors'),
    };
    writeFileSync(files.st, st);
    writeFileSync(files.js, saveModel(model));
    writeFileSync(files.stNamedJson, st);
    writeFileSync(files.garbage, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    writeFileSync(files.truncated, st.subarray(0, 6));
    for (const f of [files.st, files.js, files.stNamedJson]) expectSameModel(readModelFile(f), model, f);
    expect(sniffModelFormat(st)).toBe('safetensors');
    expect(sniffModelFormat(new TextEncoder().encode(' \n{"format":"looped/1"}'))).toBe('json');
    expect(() => readModelFile(files.garbage)).toThrow(/neither a looped\/1 JSON model file nor a safetensors file/);
    expect(() => readModelFile(files.truncated)).toThrow(/truncated: 6 bytes/);
    expect(() => loadModelBytes(new TextEncoder().encode('{"format":"looped/2"}'))).toThrow(/format is "looped\/2"/);
    // `looped run --model FILE.safetensors` (the command as a user runs it; JSON files: tests/cli.test.ts)
    const a = spawnSync(process.execPath, [BIN, 'run', '--model', files.st, '--input', '[0,1,2,3,0,1]', '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    const ra = JSON.parse(a.stdout) as { readouts: { token: string }[] };
    expect(ra.readouts.map((o) => o.token)).toEqual(['0', '0', '1', '2', '3', '0']);
    const bad = spawnSync(process.execPath, [BIN, 'run', '--model', files.truncated, '--input', '[0]'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^looped run: safetensors: the file is truncated: 6 bytes/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('looped export: construction or model file → safetensors or json, with --dtype and rounding report', () => {
    const st = join(dir, 'gc.safetensors');
    const c1 = captureOut(true);
    expect(exportCommand(['group-composition', '--param', 'n=4', '--out', st, '--json'], c1.out)).toBe(0);
    const rep = JSON.parse(c1.lines.join('\n')) as { format: string; dtype: string; tensors: number; dHead: number; rounded: { count: number } };
    expect(rep).toMatchObject({ format: 'safetensors', dtype: 'F64', tensors: 11, dHead: 6, rounded: { count: 0 } });
    const model = modelFor(built('group-composition', { n: '4' }), 'exact');
    expectSameModel(readModelFile(st), model);
    // safetensors → json → safetensors (float32), via model files
    const js = join(dir, 'gc.json');
    expect(exportCommand([st, '--format', 'json', '--out', js], captureOut().out)).toBe(0);
    expectSameModel(loadModel(readFileSync(js, 'utf8')), model);
    const st32 = join(dir, 'gc32.safetensors');
    const c2 = captureOut();
    expect(exportCommand([js, '--out', st32, '--dtype', 'float32'], c2.out)).toBe(0);
    expect(c2.lines[0]).toMatch(/wrote .*gc32\.safetensors \(\d+ bytes, safetensors F32, 11 tensors, d_head 6\)/);
    expectSameModel(readModelFile(st32), model);
    // the float64 variant: softmax at its checked scale
    const f64 = join(dir, 'gc-f64.safetensors');
    expect(exportCommand(['group-composition', '--param', 'n=4', '--interpreter', 'float64', '--out', f64], captureOut().out)).toBe(0);
    expect(readModelFile(f64).stages[0].layers[0].heads[0].kind).toBe('softmax');
    // rounding: refused, then allowed with a warning
    const thirds = built('lemma-b4', { n: '4' }).model;
    thirds.W_U.setAt(0, 0, '1/3');
    const tj = join(dir, 'thirds.json');
    writeFileSync(tj, saveModel(thirds));
    expect(() => exportCommand([tj, '--out', join(dir, 'thirds.safetensors')], captureOut().out)).toThrow(/--allow-rounding/);
    const c3 = captureOut();
    expect(exportCommand([tj, '--out', join(dir, 'thirds.safetensors'), '--allow-rounding'], c3.out)).toBe(0);
    expect(c3.errors.join('\n')).toMatch(/warning: 1 weight was rounded to F64: unembed\.W_U/);
    // usage errors
    expect(() => exportCommand(['lemma-b4', '--out', join(dir, 'x.bin')], captureOut().out)).toThrow(/needs --format/);
    expect(() => exportCommand(['lemma-b4', '--out', join(dir, 'x.json'), '--dtype', 'float32'], captureOut().out)).toThrow(/--dtype applies to --format safetensors/);
    expect(() => exportCommand(['lemma-b4', '--out', join(dir, 'x.safetensors'), '--dtype', 'f16'], captureOut().out)).toThrow(/--dtype must be float64 or float32/);
    expect(() => exportCommand(['no-such-thing', '--out', join(dir, 'x.json')], captureOut().out)).toThrow(/neither a construction .* nor a model file/);
    expect(() => exportCommand([st, '--param', 'n=3', '--out', join(dir, 'x.json')], captureOut().out)).toThrow(/apply to a construction/);
  });
});

// ---------------------------------------------------------------- the numpy script

/** No __pycache__ left in tools/ by the tests. */
const PY = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
const python = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8', env: PY });
const hasNumpy = python.status === 0;
if (!hasNumpy) console.warn('tests/export.test.ts: python3 with numpy is not available — skipping the tools/looped_numpy.py checks');

interface PyReadout {
  position: number;
  logits: number[];
  top: string[];
  argmax: number | null;
  token: string | null;
}
interface PyResult {
  tokens: number[];
  answer: string | null;
  readouts: PyReadout[];
}

/** Runs the script's command line on one file and a batch of inputs (--inputs FILE). */
function runPython(file: string, inputs: (number | string)[][]): PyResult[] {
  const inputsFile = `${file}.inputs.json`;
  writeFileSync(inputsFile, JSON.stringify(inputs));
  const r = spawnSync('python3', [SCRIPT, file, '--inputs', inputsFile], { encoding: 'utf8', env: PY, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`looped_numpy.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PyResult[];
}

/** Many files in one python process, through the module API (load, forward). */
function runPythonModule(jobs: { file: string; inputs: (number | string)[][] }[]): PyResult[][] {
  const jobsFile = join(dir, `jobs-${jobs.length}.json`);
  writeFileSync(jobsFile, JSON.stringify(jobs.map(({ file, inputs }) => ({ file, inputs }))));
  const code = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'tools'))})`,
    'import looped_numpy as ln',
    `jobs = json.load(open(${JSON.stringify(jobsFile)}))`,
    'print(json.dumps([[ln.forward(m, t) for t in job["inputs"]] for job in jobs for m in [ln.load(job["file"])]]))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: PY, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`looped_numpy.py (module) failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PyResult[][];
}

let compared = 0;
let identical = 0;
function expectSame(model: Model, js: Readout[], py: PyReadout[], what: string): void {
  expect(py.map((o) => o.position), what).toEqual(js.map((o) => o.position));
  js.forEach((o, k) => {
    const p = py[k];
    expect(p.top, `${what} position ${o.position}: tied top tokens`).toEqual(o.top.map((t) => model.vocab.labels[t]));
    expect(p.argmax, `${what} position ${o.position}: argmax`).toBe(o.token);
    o.logits.forEach((x, v) => {
      const y = p.logits[v];
      compared++;
      if (x === y) identical++;
      expect(Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y), 1e-3), `${what} position ${o.position} logit ${v}: ${x} vs ${y}`).toBe(true);
    });
  });
}

describe.skipIf(!hasNumpy)('tools/looped_numpy.py (numpy forward pass)', () => {
  const float64 = interpreterByName('float64');

  it('gives the float64 interpreter’s answers on random inputs, for every registered construction', () => {
    const jobs: { file: string; inputs: (number | string)[][]; model: Model; tokens: number[][]; what: string }[] = [];
    for (const c of allConstructions()) {
      const b = c.build(resolveParams(c, {})) as BuiltConstruction<unknown, unknown>;
      const tokens = fc.sample(b.arbitrary(), { numRuns: 12, seed: seedFromEnv() }).map((i) => b.encode(i));
      // The construction's own model (hard attention) and its float64 variant (softmax at its scale).
      const variants = [...new Set([b.checks[0].model, modelFor(b, 'float64')])];
      variants.forEach((model, k) => {
        const file = join(dir, `${c.id}-${k}.safetensors`);
        // (a weight no double holds is rounded, as the float64 interpreter rounds it too)
        writeFileSync(file, modelToSafetensors(model, { allowRounding: true }).bytes);
        // half the inputs as vocabulary strings, half as ids
        const inputs = tokens.map((t, n) => (n % 2 ? t.map((x) => model.vocab.labels[x]) : t));
        jobs.push({ file, inputs, model, tokens, what: `${c.id} variant ${k}` });
      });
    }
    const results = runPythonModule(jobs); // one python process for all of them
    jobs.forEach(({ model, tokens, what }, k) => {
      tokens.forEach((t, n) => {
        const js = float64.run(model, t);
        const py = results[k][n];
        expect(py.tokens).toEqual(t);
        expectSame(model, js.readouts, py.readouts, `${what} input ${JSON.stringify(t)}`);
        expect(py.answer).toBe(js.answer === null ? null : model.vocab.labels[js.answer]);
      });
    });
    expect(compared).toBeGreaterThan(0);
    console.log(`looped_numpy.py: ${jobs.length} exported models × 12 inputs; ${identical} of ${compared} logits bit-identical to the float64 interpreter, the rest within 1e-9 relative`);
  });

  it('evaluates loop masks as looped does (random hard-attention models: bit-identical logits)', () => {
    const masks = [...MASK_EXPRESSIONS, 'i + 1 - t >= 2', 't == T ? i >= 1 : i < len - 1', 'not (i < t) and (i % 2 == 0 or t >= 2)', '2^t > i + 1 xor i == 0'];
    const cases = fc.sample(
      randomModelArbitrary({ kinds: ['hard'], maxStages: 2, maxLoops: 4, maxLen: 6, masks }).chain((spec) =>
        fc.record({ spec: fc.constant(spec), inputs: fc.array(inputArbitrary(spec.vocab, spec.maxLen), { minLength: 3, maxLength: 3 }) }),
      ),
      { numRuns: 40, seed: seedFromEnv() },
    );
    const before = identical;
    let count = 0;
    const models = cases.map(({ spec }) => buildRandomModel(spec));
    const results = runPythonModule(
      cases.map(({ inputs }, k) => {
        const file = join(dir, `random-${k}.safetensors`);
        writeFileSync(file, modelToSafetensors(models[k]).bytes);
        return { file, inputs };
      }),
    );
    cases.forEach(({ spec, inputs }, k) => {
      const model = models[k];
      const py = results[k];
      inputs.forEach((tokens, n) => {
        const js = float64.run(model, tokens);
        expectSame(model, js.readouts, py[n].readouts, `random model ${k} (masks ${spec.stages.map((s) => s.mask).join(' | ')}) input ${JSON.stringify(tokens)}`);
        count += js.readouts.reduce((s, o) => s + o.logits.length, 0);
      });
    });
    expect(identical - before).toBe(count); // hard attention: the same sums in the same order
  });

  it('reads mask expressions as mathjs does (precedence, chained comparisons, functions)', () => {
    const exprs = [
      ...MASK_EXPRESSIONS,
      '-2^2 + i > -5', 'i - 1 - 1 >= t', '2^3^0 == 2', 'i / 2 == floor(i / 2)', 'mod(i, 3) != 1 and not t > 1',
      'i % 3 == 0 or i == len - 1', 'max(i, t) <= min(len, T + 1)', '1 < i < 4', 'i >= t ? 1 : 0', 'abs(i - t) <= 1',
      'i * 2 >= len', 'true', '0 == 1 xor i == 2', 'i + 1 - t >= 2', 'not (i < t) or i == 0 and t == T', 'ceil(len / 2) - 1 == i',
      '2 * -i + 3 >= -t', 'i == 0 ? t == 1 : t > 1', 'round(i / 3) == 1', 'sign(i - t) >= 0', 'i mod 2 == t mod 2',
    ];
    const cases: { expr: string; t: number; T: number; n: number; row: boolean[] }[] = [];
    for (const expr of exprs) {
      for (let n = 1; n <= 6; n++) for (let T = 1; T <= 3; T++) for (let t = 1; t <= T; t++) cases.push({ expr, t, T, n, row: maskRow({ expr }, t, T, n) });
    }
    const file = join(dir, 'masks.json');
    writeFileSync(file, JSON.stringify(cases));
    const code = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'tools'))})`,
      'import looped_numpy as ln',
      `cases = json.load(open(${JSON.stringify(file)}))`,
      'print(json.dumps([[bool(b) for b in ln.Mask(c["expr"]).row(c["t"], c["T"], c["n"])] for c in cases]))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: PY, maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const rows = JSON.parse(r.stdout) as boolean[][];
    cases.forEach((c, k) => expect(rows[k], `mask "${c.expr}" at t=${c.t}, T=${c.T}, len=${c.n}`).toEqual(c.row));
  });

  it('runs from the command line and as a module, and refuses what it cannot do', () => {
    const file = join(dir, 'gc-cli.safetensors');
    const model = built('group-composition').model;
    writeFileSync(file, modelToSafetensors(model).bytes);
    const input = ['#', '[1,0,2]', '[2,1,0]', '[1,2,0]'];
    const r = spawnSync('python3', [SCRIPT, file, '--input', JSON.stringify(input)], { encoding: 'utf8', env: PY });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as PyResult;
    const js = float64.run(model, input.map((t) => model.vocab.labels.indexOf(t)));
    expect(out.answer).toBe(model.vocab.labels[js.answer!]);
    const batch = runPython(file, [input, input.map((t) => model.vocab.labels.indexOf(t))]); // --inputs FILE
    expect(batch.map((b) => b.answer)).toEqual([out.answer, out.answer]);
    const f32 = join(dir, 'gc-cli-f32.safetensors'); // float32 weights (these are exact in F32): the same logits
    writeFileSync(f32, modelToSafetensors(model, { dtype: 'F32' }).bytes);
    expect(runPython(f32, [input])[0].readouts).toEqual(out.readouts);
    const mod = spawnSync('python3', ['-c', `import sys, json; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'tools'))}); import looped_numpy as ln; m = ln.load(${JSON.stringify(file)}); print(json.dumps(ln.forward(m, ${JSON.stringify(input)})["answer"]))`], { encoding: 'utf8', env: PY });
    expect(mod.stderr).toBe('');
    expect(JSON.parse(mod.stdout)).toBe(out.answer);
    // a token outside the vocabulary, a truncated file, a mask this script does not evaluate
    const bad = spawnSync('python3', [SCRIPT, file, '--input', '["#","[9,9,9]"]'], { encoding: 'utf8', env: PY });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/token '\[9,9,9\]' at position 1 is not in the vocabulary/);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, readFileSync(file).subarray(0, 100));
    const t = spawnSync('python3', [SCRIPT, cut, '--input', '[0]'], { encoding: 'utf8', env: PY });
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/header length \d+ is beyond the file/);
    const masked = createModel({ name: 'masked', vocab: ['a', 'b'], residual: space({ h: 1 }), maxLen: 4 });
    const layer = createLayer();
    layer.heads.push(createHead(masked.residual, { name: 'h', qk: 1 }));
    addStage(masked, [layer], 2, { expr: 'isPrime(i + t)' });
    const mf = join(dir, 'masked.safetensors');
    writeFileSync(mf, modelToSafetensors(masked).bytes);
    const m = spawnSync('python3', [SCRIPT, mf, '--input', '[0,1]'], { encoding: 'utf8', env: PY });
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/mask 'isPrime\(i \+ t\)': function isPrime\(\) is not supported.*looped run --model/);
  });
});
