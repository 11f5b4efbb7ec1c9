// cot-automaton: the one-layer decoder whose greedy CoT runs a finite automaton, one state per step,
// against the automaton's run (exhaustively for parity, by fast-check for groups and tables), its
// margin (Theorem 5.4's precondition), the registered construction (the Theorem 5.4 compilation)
// under verifyConstruction, a corrupted transition that must be caught, and the refusals.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides the run counts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cotAutomatonTask, buildAutomatonTask } from '../proofs/cot-tasks/automaton.ts';
import { type CotTask, type CotTaskBuilt, cotTaskConstruction } from '../proofs/cot-tasks/task.ts';
import { allWords, type Construction, resolveParams, wordCount } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { fcParams } from '../properties/config.ts';
import { sweepConstruction } from '../properties/sweep.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { fast64 } from '../simulators/fast/index.ts';
import { aboveClaim, thm54PaperSizes } from './support/thm54-claims.ts';
import { decodeCot } from '../simulators/cot.ts';
import { InputError, UsageError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { modelSizes } from '../simulators/model.ts';
import { parseAutomatonName, runAutomaton } from '../tasks/automata.ts';
import { compose } from '../tasks/group-composition.ts';
import { parseGroupName } from '../tasks/groups.ts';

const exact = interpreterByName('exact');
const dir = mkdtempSync(join(tmpdir(), 'cot-automaton-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a transition table and returns its `automaton` parameter. */
function tableParam(name: string, json: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(json));
  return `table:${path}`;
}

/** Residues mod 3 of a number read in binary, most significant bit first. */
const mod3 = {
  name: 'binary mod 3',
  symbols: ['0', '1'],
  states: ['r0', 'r1', 'r2'],
  start: 'r0',
  delta: { r0: { 0: 'r0', 1: 'r1' }, r1: { 0: 'r2', 1: 'r0' }, r2: { 0: 'r1', 1: 'r2' } },
};

/** The decoder's CoT on `word`: it must be the trace, with every step's top logit ahead by exactly 1. */
function expectCotIsTrace(t: CotTaskBuilt<number[]>, word: number[]): void {
  const cot = decodeCot(exact, t.decoder, t.prompt(word), t.steps);
  expect(cot.tieAt).toBeNull();
  expect(cot.generated).toEqual(t.trace(word));
  for (const step of cot.steps) expect(step.margins.logit).toBe(1);
}

const cache = new Map<string, CotTaskBuilt<number[]>>();
const built = (automaton: string, n: number) => {
  const key = `${automaton}/${n}`;
  let t = cache.get(key);
  if (t === undefined) cache.set(key, (t = cotAutomatonTask.build({ automaton, n })));
  return t;
};

describe('cot-automaton: the decoder\'s greedy CoT is the automaton\'s run', () => {
  it('parity, every word of length 1..8 (510 words)', () => {
    let words = 0;
    for (let n = 1; n <= 8; n++) {
      const t = built('parity', n);
      for (const w of allWords(t.exhaustive!)) {
        expectCotIsTrace(t, w);
        words++;
      }
    }
    expect(words).toBe(510);
  });

  it('groups (S3, D4, Z5, Z2xS3) and a transition table, random words of length 1..7', () => {
    const table = tableParam('mod3.json', mod3);
    const names = ['S3', 'D4', 'Z5', 'Z2xS3', table];
    const cases = fc.record({ k: fc.integer({ min: 0, max: names.length - 1 }), n: fc.integer({ min: 1, max: 7 }), seed: fc.integer() });
    fc.assert(
      fc.property(cases, ({ k, n, seed }) => {
        const t = built(names[k], n);
        const [w] = fc.sample(t.arbitrary(), { numRuns: 1, seed });
        expectCotIsTrace(t, w);
      }),
      fcParams(120),
    );
  });

  it('the word problem of a group answers compose(G, word), the group-composition reference', () => {
    for (const name of ['S3', 'D4', 'Z2xS3']) {
      const G = parseGroupName(name);
      const t = built(name, 5);
      fc.assert(
        fc.property(t.arbitrary(), (w) => {
          const cot = decodeCot(exact, t.decoder, t.prompt(w), t.steps);
          expect(t.decoder.vocab.labels[cot.answer!]).toBe(G.elementNames[compose(G, w)]);
        }),
        fcParams(20),
      );
    }
  });

  it('S5, n = 4: shared tokens (V = 120), the CoT on 60 words, the compiled looped model on 150 (fast64) and 4 (exact)', () => {
    const c = constructionById('cot-automaton');
    const b = c.build(resolveParams(c, { automaton: 'S5', n: '4' }));
    const t = b.cot!;
    expect(t.decoder.vocab.dim).toBe(120);
    expect(modelSizes(t.decoder)).toMatchObject({ layersPerBlock: 1, width: 370, mlpWidth: 14520 });
    expect(modelSizes(b.model)).toMatchObject({ layersPerBlock: 6, loops: 4, width: 859, mlpWidth: 14520, heads: 1 });
    const S5 = parseGroupName('S5');
    const words = fc.sample(b.arbitrary(), { numRuns: 150, seed: 7 }) as number[][];
    // The decoder's CoT under exact arithmetic (about 40 ms a word).
    for (const w of words.slice(0, 60)) expect(decodeCot(exact, t.decoder, t.prompt(w), t.steps).generated).toEqual(t.trace(w));
    // The looped model (width 859, 14 520 MLP units): batched in fast64 — float64 with hard attention,
    // exact on these small dyadic weights — on all 150, and exact on a few (about 0.8 s each).
    const fastRuns = fast64.runBatch(b.model, words.map((w) => b.encode(w)));
    words.forEach((w, k) => expect(b.model.vocab.labels[fastRuns[k].answer!], `word ${k}`).toBe(S5.elementNames[compose(S5, w)]));
    expect(Math.min(...fastRuns.map((r) => r.margins.attention))).toBeGreaterThan(0);
    for (const w of words.slice(0, 4)) {
      const r = exact.run(b.model, b.encode(w));
      expect(b.model.vocab.labels[r.answer!]).toBe(S5.elementNames[compose(S5, w)]);
    }
  });
});

describe('cot-automaton: the registered construction (Theorem 5.4 compilation)', () => {
  it("verifyConstruction passes for parity n = 8 and a transition table (every word by fast64, 100 samples exact); sizes against Theorem 5.4's claim", async () => {
    const c = constructionById('cot-automaton');
    for (const params of [{ automaton: 'parity', n: '8' }, { automaton: tableParam('mod3.json', mod3), n: '5' }]) {
      const p = resolveParams(c, params);
      // Every word of the input space (parity: 2^8 words; the table: 2^5), answers only, batched.
      const all = await sweepConstruction(c, p, 'fast64', { exhaustive: true });
      expect(all.failed, all.counterexample?.message).toBe(false);
      expect(all.samples).toBe(wordCount(c.build(p).exhaustive!));
      // Lockstep, the decoder's CoT against the trace, and extra loops under exact arithmetic.
      const rep = await verifyConstruction(c, p, { samples: 100 });
      for (const k of rep.checks) expect(k.failed, `${k.label}: ${k.counterexample?.message}`).toBe(false);
      expect(rep.checks.some((k) => k.label.includes('greedy CoT'))).toBe(true);
      expect(rep.checks.some((k) => k.label.startsWith('lockstep'))).toBe(true);
      expect(rep.ok).toBe(true);
      // The claim is Theorem 5.4's for this decoder, loops Merrill & Sabharwal's |x| + 1 (paper-notes §5).
      const b = c.build(p);
      const n = Number(p.n);
      const paper = { ...thm54PaperSizes(b.cot!.decoder, n, n), loops: n + 1 };
      for (const row of rep.sizes) expect({ key: row.key, claimed: row.claimed }).toEqual({ key: row.key, claimed: paper[row.key] ?? null });
      // Built: n loops, L + 5 layers (within); width d + 2s + 1 + 4V, above the proof's d + 3s — reported, not hidden.
      const by = Object.fromEntries(rep.sizes.map((r) => [r.key, r]));
      expect([by.loops.built, by.layersPerBlock.built]).toEqual([n, paper.layersPerBlock! - 1]);
      expect(aboveClaim(rep.sizes)).toContain('width');
      expect(rep.sizesWithinClaim).toBe(false);
      // Hard attention everywhere, and no head of the compiled model ties (even at the pads).
      for (const k of rep.checks.filter((x) => x.minAttentionMargin !== Infinity)) expect(k.minAttentionMargin).toBeGreaterThan(0);
    }
  });

  it('sizes: parity n = 8 compiles to (6 ⊗ 8) of width 49', () => {
    const c = constructionById('cot-automaton');
    const parity = c.build(resolveParams(c, { automaton: 'parity', n: '8' }));
    expect(modelSizes(parity.model)).toMatchObject({ layersPerBlock: 6, loops: 8, width: 49, heads: 1 });
    expect(modelSizes(parity.cot!.decoder)).toMatchObject({ layersPerBlock: 1, width: 22, mlpWidth: 6 });
  });

  it('a corrupted transition (δ(odd, 1) = odd) is caught by the CoT check and by the looped answer', async () => {
    const broken: CotTask<number[]> = {
      ...cotAutomatonTask,
      build(params) {
        const t = cotAutomatonTask.build(params);
        const mlp = t.decoder.stages[0].layers[0].mlp!;
        const unit = 1 * 2 + 1; // step unit (q = odd, a = 1)
        mlp.W_out.set(['step', unit], ['next', 0], 0);
        mlp.W_out.set(['step', unit], ['next', 1], 1);
        return t;
      },
    };
    const c = cotTaskConstruction(broken) as Construction;
    const rep = await verifyConstruction(c, { automaton: 'parity', n: 4 }, { samples: 60 });
    expect(rep.ok).toBe(false);
    const cot = rep.checks.find((k) => k.label.includes('greedy CoT'))!;
    expect(cot.failed).toBe(true);
    expect(cot.counterexample!.message).toMatch(/CoT step \d of the decoder emits odd but the algorithm's trace has even/);
    // Shrunk to the smallest word that takes the broken transition: a 1 (even → odd), then a 1.
    expect(JSON.parse(cot.counterexample!.input)).toEqual([0, 0, 1, 1]);
    expect(rep.checks[0].failed).toBe(true);
  });
});

describe('cot-automaton: refusals name the problem', () => {
  const c = constructionById('cot-automaton');
  const build = (params: Record<string, string>) => c.build(resolveParams(c, params));

  it('a transition table that is not total, and other bad tables, are UsageErrors naming the field', () => {
    const partial = tableParam('partial.json', { ...mod3, delta: { ...mod3.delta, r2: { 0: 'r1' } } });
    expect(() => build({ automaton: partial })).toThrow(UsageError);
    expect(() => build({ automaton: partial })).toThrow(/parameter automaton of cot-automaton: .*partial\.json: field "delta\.r2": the transition from "r2" on symbol "1" is missing \(the automaton must be total\)/);
    expect(() => build({ automaton: tableParam('start.json', { ...mod3, start: 'r7' }) })).toThrow(/field "start": "r7" is not one of the states/);
    expect(() => build({ automaton: `table:${join(dir, 'absent.json')}` })).toThrow(/cannot read automaton table file/);
    expect(() => build({ automaton: 'S6' })).toThrow(/unknown automaton "S6" \(unknown group "S6": S6 is out of range\)/);
    const pad = tableParam('pad.json', { symbols: ['0', '1'], states: ['#', 'x'], start: '#', delta: { '#': { 0: '#', 1: 'x' }, x: { 0: 'x', 1: '#' } } });
    expect(() => build({ automaton: pad })).toThrow(/names a symbol or state "#", the token Theorem 5.4 appends/);
  });

  it('bad parameters are UsageErrors naming the parameter and its range', () => {
    expect(() => build({ n: '0' })).toThrow(/parameter n of cot-automaton is 0, outside its range 1\.\.64/);
    expect(() => cotAutomatonTask.build({ automaton: 'parity', n: 65 })).toThrow(UsageError);
  });

  it('bad inputs are InputErrors naming the symbol or the length', () => {
    const b = build({ automaton: 'D4', n: '3' });
    expect(b.formatInput(b.parseInput('["r1", "s r2", "e"]'))).toBe('["r1","s r2","r0"]');
    expect(() => b.parseInput('["r1", "s r2", "x"]')).toThrow(InputError);
    expect(() => b.parseInput('["r1", "s r2", "x"]')).toThrow(/symbol 3 is "x", not a symbol of D4 \(symbols: "r0", "r1"/);
    expect(() => b.parseInput('["r1", "s r2"]')).toThrow(/built for words of n = 3 symbols but the input has 2 \(use --param n=2\)/);
    expect(() => b.parseInput('{"r1": 1}')).toThrow(/must be a JSON array of 3 symbols of D4/);
    expect(() => b.parseInput('[1,')).toThrow(InputError);
    expect(() => b.encode([0, 1, 8])).toThrow(/symbol 3 of the input is 8, not a symbol index of D4 \(0\.\.7\)/);
  });

  it('the CLI prints one line, no stack, for a table that is not total', () => {
    const partial = tableParam('partial.json', { ...mod3, delta: { ...mod3.delta, r1: { 1: 'r0' } } });
    const bin = fileURLToPath(new URL('../bin/looped.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'run', 'cot-automaton', '--param', `automaton=${partial}`, '--param', 'n=2', '--input', '[0,1]'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/the transition from "r1" on symbol "0" is missing/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('cot-automaton: the reference is the automaton of tasks/automata.ts', () => {
  it('buildAutomatonTask(A, n).trace is the run, as tokens', () => {
    const A = parseAutomatonName('parity');
    const t = buildAutomatonTask(A, 3);
    expect(t.trace([1, 1, 0]).map((k) => t.decoder.vocab.labels[k])).toEqual(runAutomaton(A, [1, 1, 0]).map((q) => A.states[q]));
    expect(t.prompt([1, 1, 0])).toEqual([1, 1, 0]);
    // Tokens: symbols first, then the states that are not symbols.
    expect(t.decoder.vocab.labels).toEqual(['0', '1', 'even', 'odd']);
  });
});
