// Models compiled for a prompt plus padding (Theorem 5.4 reads (v, #^m)): the padding record
// survives both model file formats, is validated, and `looped run --model` appends it itself;
// --all-positions shows the latent chain of thought, one more CoT token per loop.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileThm54, compileThm54Variant, cotOf, cotPrecondition, type Thm54Compiled } from '../proofs/thm-5-4-cot-loops.ts';
import { randomDecoder } from '../proofs/thm-5-4/random-decoder.ts';
import { runsFromEnv, seedFromEnv } from '../properties/config.ts';
import { InputError, ModelError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { latentRows } from '../simulators/latent.ts';
import { paddedInput, validateModel } from '../simulators/model.ts';
import { loadModel, modelToJson, saveModel } from '../simulators/model-file.ts';
import { loadSafetensors, modelToSafetensors } from '../simulators/safetensors.ts';
import { looped } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'looped-padding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


const exact = interpreterByName('exact');

function compiled(seed: number, n = 4, m = 3): Thm54Compiled {
  const source = randomDecoder({ layers: 2, distinct: 2, width: 4, heads: 1, hidden: 3, vocab: 3, maxLen: n + m - 1, seed, attention: 'hard' });
  const c = compileThm54(source, { n, m });
  expect(c.model.padding).toEqual({ promptLength: n, token: '#', count: m });
  return c;
}

describe('padding record', () => {
  it('survives looped/1 JSON and safetensors, and a model without one has none', () => {
    const c = compiled(3);
    expect(loadModel(saveModel(c.model)).padding).toEqual(c.model.padding);
    expect(loadSafetensors(modelToSafetensors(c.model).bytes).padding).toEqual(c.model.padding);
    expect(loadModel(saveModel(c.source)).padding).toBeUndefined();
    expect(loadSafetensors(modelToSafetensors(c.source).bytes).padding).toBeUndefined();
  });

  it('is validated: the token must be in the vocabulary and the padded input must fit', () => {
    const c = compiled(3);
    const json = modelToJson(c.model);
    expect(() => loadModel({ ...json, padding: { promptLength: 4, token: 'zz', count: 3 } })).toThrow(/padding: token "zz" is not in the vocabulary/);
    expect(() => loadModel({ ...json, padding: { promptLength: 6, token: '#', count: 3 } })).toThrow(/need 9 positions; the model has 7/);
    expect(() => loadModel({ ...json, padding: { promptLength: 4, token: '#' } })).toThrow(ModelError);
    expect(() => loadModel({ ...json, padding: { promptLength: 0, token: '#', count: 3 } })).toThrow(/padding.promptLength must be a whole number/);
    expect(() => validateModel({ ...c.model, padding: { promptLength: 4, token: '#', count: -1 } })).toThrow(/count is -1/);
  });

  it('paddedInput appends #^m to a prompt of n tokens, accepts an already padded input, and refuses the rest', () => {
    const c = compiled(3);
    const hash = c.startToken;
    expect(paddedInput(c.model, [0, 1, 2, 0])).toEqual([0, 1, 2, 0, hash, hash, hash]);
    expect(paddedInput(c.model, [0, 1, 2, 0, hash, hash, hash])).toEqual([0, 1, 2, 0, hash, hash, hash]);
    expect(() => paddedInput(c.model, [0, 1, 2])).toThrow(InputError);
    expect(() => paddedInput(c.model, [0, 1, 2])).toThrow(/compiled for prompts of 4 tokens .* got 3 tokens/);
    expect(() => paddedInput(c.model, [0, hash, 2, 0])).toThrow(/"#" at position 1 is the padding token/);
    expect(paddedInput(c.source, [0, 1])).toEqual([0, 1]);
  });
});

describe('latent chain of thought', () => {
  it('after loop t the readout at positions 0..n+t−1 is the prompt and CoT tokens 1..t (random decoders)', () => {
    let checked = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }), (seed, prompt) => {
        const c = compiled(seed);
        const cot = cotOf(c, prompt);
        if (!cotPrecondition(c, cot).ok) return;
        checked++;
        const run = exact.run(c.model, paddedInput(c.model, prompt), { trace: true });
        const rows = latentRows(c.model, run);
        expect(rows.map((r) => r.loop)).toEqual([0, 1, 2, 3]);
        expect(rows[0].tokens.slice(0, 4)).toEqual(prompt);
        for (let t = 1; t <= c.m; t++) expect(rows[t].tokens.slice(0, c.n + t)).toEqual([...prompt, ...cot.generated.slice(0, t)]);
        expect(run.answer).toBe(cot.answer);
      }),
      { seed: seedFromEnv(42), numRuns: runsFromEnv(40) },
    );
    expect(checked).toBeGreaterThan(10);
  });
});

describe("trace: 'loops'", () => {
  it('keeps exactly the embedding and every loop end of the full trace (masked and unmasked stages), nothing else', () => {
    for (const variant of ['masks', 'no-masks'] as const) {
      const source = randomDecoder({ layers: 2, distinct: 2, width: 4, heads: 1, hidden: 3, vocab: 3, maxLen: 6, seed: 5, attention: 'hard' });
      const c = compileThm54Variant(source, { n: 4, m: 3, variant });
      const input = paddedInput(c.model, [2, 0, 1, 1]);
      const full = exact.run(c.model, input, { trace: true }).trace!;
      const run = exact.run(c.model, input, { trace: 'loops' });
      const ends = run.trace!;
      expect(ends.keys()).toHaveLength(1 + c.m);
      expect(ends.patterns.size).toBe(0);
      expect(full.patterns.size).toBeGreaterThan(0);
      expect(ends.get('hook_embed')).toEqual(full.get('hook_embed'));
      for (let t = 1; t <= c.m; t++) expect(ends.afterLoop(t)).toEqual(full.afterLoop(t));
      expect(run.answer).toBe(exact.run(c.model, input).answer);
    }
  });
});

describe('looped run --model on a compiled Theorem 5.4 model', () => {
  it('takes the prompt v, appends #^m itself, answers TF^m(v) and shows the latent CoT with --all-positions', () => {
    const dec = join(dir, 'dec.json');
    const cot = join(dir, 'cot.json');
    expect(looped('build', 'random-decoder', '--layers', '2', '--width', '4', '--heads', '1', '--vocab', '3', '--seed', '7', '--out', dec).code).toBe(0);
    expect(looped('compile', 'thm-5.4', '--source', dec, '--n', '4', '--steps', '3', '--out', cot).code).toBe(0);
    const c = compileThm54(loadModel(readFileSync(dec, 'utf8')), { n: 4, m: 3 });
    const prompt = [0, 1, 2, 0];
    const want = cotOf(c, prompt);
    expect(cotPrecondition(c, want).ok).toBe(true);
    const r = looped('run', '--model', cot, '--input', JSON.stringify(prompt), '--all-positions', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: string; tokens: number[]; allPositions: { loop: number; tokens: (string | null)[] }[] };
    const label = (t: number) => c.model.vocab.labels[t];
    expect(out.answer).toBe(label(want.answer!));
    expect(out.tokens).toEqual([...prompt, 3, 3, 3]);
    expect(out.allPositions[3].tokens.slice(0, 7)).toEqual([...prompt, ...want.generated].map(label));
    const text = looped('run', '--model', cot, '--input', JSON.stringify(prompt), '--all-positions');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/loop 3 +t0 +t1 +t2 +t0/);
    const bad = looped('run', '--model', cot, '--input', '[0,1]');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/compiled for prompts of 4 tokens/);
    const fast = looped('run', '--model', cot, '--input', JSON.stringify(prompt), '--all-positions', '--interpreter', 'fast64');
    expect(fast.code).toBe(2);
    expect(fast.stderr).toMatch(/does not record traces/);
  });

  it('a model file whose padding names a token outside the vocabulary is refused, naming the field', () => {
    const c = compiled(3);
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...modelToJson(c.model), padding: { promptLength: 4, token: 'nope', count: 3 } }));
    const r = looped('run', '--model', file, '--input', '[0,1,2,0]');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/padding: token "nope" is not in the vocabulary/);
  });
});
