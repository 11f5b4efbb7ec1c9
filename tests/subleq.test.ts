// SUBLEQ as a looped transformer (examples/subleq.ts), checked three ways against the reference
// interpreter in tasks/subleq.ts — final state on random programs (halting, early-halting,
// looping), lockstep after every loop, extra loops after halting — under exact, fixed:s at the
// claimed bits and float64 softmax at scale 64; counterexamples for too few loops, too few bits and
// too small a scale; and broken variants that each check must refuse.
// LOOPED_RUNS raises the samples (default sized for CI's 2 cores).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BuiltConstruction,
  type Construction,
  type Model,
  type Params,
  type SubleqInput,
  constructionById,
  fc,
  interpreterByName,
  resolveParams,
  searchCounterexample,
  verifyConstruction,
  withLoops,
} from '../index.ts';
import subleq, { subleqBits } from '../examples/subleq.ts';
import { haltsAfter, run as reference } from '../tasks/subleq.ts';
import { looped } from './support/cli.ts';

const RUNS = Number(process.env.LOOPED_RUNS ?? '40');
const SEED = 1108;
type Answer = { mem: (number | null)[]; pc: number | null };
type B = BuiltConstruction<SubleqInput, Answer>;

const params = (given: Record<string, string> = {}): Params => resolveParams(subleq as Construction, given);
const build = (given: Record<string, string> = {}): B => subleq.build(params(given));

describe('registration and claims', () => {
  it('is registered as subleq and listed by `looped list`', () => {
    expect(constructionById('subleq').title).toBe(subleq.title);
    const r = looped('list');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^subleq\s/m);
  });

  it('builds within every claimed size at every verify setting, and at K = M = 16, N = 8', async () => {
    for (const given of [...(subleq.verifyAt ?? []).map((s) => s.params), { instructions: '16', memory: '16', bits: '8', steps: '32' }]) {
      const r = await verifyConstruction(subleq as Construction, params(given), { samples: 1, interpreter: 'exact' });
      for (const row of r.sizes) if (row.claimed !== null && row.built !== null) expect(row.built, `${row.key} at ${JSON.stringify(given)}`).toBeLessThanOrEqual(row.claimed);
      // Width, MLP width, head size and bits are this construction's own bounds: they are met exactly.
      for (const key of ['width', 'mlpWidth', 'headDim', 'bits', 'loops'] as const) {
        const row = r.sizes.find((s) => s.key === key)!;
        expect(row.built, key).toBe(row.claimed);
      }
    }
  });

  it('the bits formula is the code\'s (a regression guard on both)', () => {
    for (const [K, M, N] of [[1, 1, 1], [4, 4, 4], [16, 16, 8], [5, 6, 6], [16, 1, 1]]) {
      const b = subleq.build(params({ instructions: String(K), memory: String(M), bits: String(N) }));
      expect(b.bits).toBe(subleqBits(K, M, N));
    }
  });
});

describe('verify: answers, lockstep under exact, fixed:s and float64', () => {
  for (const setting of subleq.verifyAt ?? []) {
    it(`holds at ${JSON.stringify(setting.params)}`, async () => {
      const r = await verifyConstruction(subleq as Construction, params(setting.params), { samples: Math.min(RUNS, setting.samples ?? RUNS), seed: SEED });
      expect(r.checks.map((c) => c.label)).toEqual(expect.arrayContaining([expect.stringMatching(/^exact/), expect.stringMatching(/^fixed:/), expect.stringMatching(/^float64/), expect.stringMatching(/^lockstep/)]));
      for (const c of r.checks) expect(c.counterexample, c.label).toBeNull();
      expect(r.ok).toBe(true);
    }, 60_000);
  }

  it('the random programs include ones that halt early, halt late and never halt', () => {
    const b = build();
    const sample = fc.sample(b.arbitrary(), { numRuns: 300, seed: SEED });
    const halts = sample.map((x) => haltsAfter(x, 4, 8));
    expect(halts.filter((h) => h !== null && h <= 2).length).toBeGreaterThan(20);
    expect(halts.filter((h) => h !== null && h > 2).length).toBeGreaterThan(5);
    expect(halts.filter((h) => h === null).length).toBeGreaterThan(50);
    // The looping ones cannot halt at all: their last instruction is (z, z, c) with c < K and every c < K.
    expect(halts.filter((h) => h === null && haltsAfter(sample[halts.indexOf(h)], 4, 200) === null).length).toBeGreaterThan(0);
  });
});

/** The exact model of a fresh build with `edit` applied before any run. */
function mutated(edit: (m: Model) => void, given: Record<string, string> = {}): { built: B; model: Model } {
  const built = build(given);
  const model = built.checks[0].model;
  edit(model);
  return { built, model };
}

function firstFailure(inputs: fc.Arbitrary<SubleqInput>, check: (input: SubleqInput) => boolean): SubleqInput | null {
  const out = fc.check(fc.property(inputs, check), { seed: SEED, numRuns: 300 });
  return out.failed ? out.counterexample![0] : null;
}

describe('each check refuses a broken variant with a shrunk input', () => {
  const exact = interpreterByName('exact');

  it('answers: without the zero test (le = sign bit only) a difference of 0 does not branch', () => {
    const { built, model } = mutated((m) => m.stages[0].layers[2].mlp!.W_out.set('zero', 'le', 0));
    const bad = firstFailure(built.arbitrary(), (input) => built.equal(built.decode(exact.run(model, built.encode(input))), built.reference(input)));
    expect(bad).not.toBeNull();
    // Shrunk: a program whose first step subtracts equal values (e.g. a cell from itself).
    const [a, b] = bad!.program[0];
    expect(a === b || bad!.mem[a] === bad!.mem[b]).toBe(true);
  });

  it('lockstep: without the borrow into bit 1 the per-loop state departs from the interpreter state', () => {
    // The borrow into bit 1 removed: 1 − 0 style subtractions are right, 0 − 1 is not.
    const { built, model } = mutated((m) => m.stages[0].layers[1].mlp!.W_out.set(['bD', 0], ['brw', 0], 0));
    const ls = built.lockstep!;
    const bad = firstFailure(built.arbitrary(), (input) => {
      const r = exact.run(model, built.encode(input), { trace: 'loops' });
      return ls.compare(input, r).every((row) => JSON.stringify(row.expected) === JSON.stringify(row.got));
    });
    expect(bad).not.toBeNull();
    const rows = ls.compare(bad!, exact.run(model, built.encode(bad!), { trace: 'loops' }));
    expect(rows.some((row) => JSON.stringify(row.expected) !== JSON.stringify(row.got))).toBe(true);
  });

  it('extra loops after halting change nothing — and a sentinel that jumps back to 0 is caught', () => {
    const built = build();
    const more = withLoops(built.model, [8 + 5]);
    const halting = built.arbitrary().filter((x) => haltsAfter(x, 4, 8) !== null);
    fc.assert(
      fc.property(halting, (input) => {
        expect(built.decode(exact.run(more, built.encode(input)))).toEqual(reference(input, 4, 8));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The broken variant: the halt sentinel's c is 0 instead of K, so a halted machine restarts.
    const broken = build();
    const haltTok = broken.model.vocab.labels.indexOf('halt');
    broken.model.W_E.write(['vocab', haltTok], 'fc', [[-1, -1, -1]]);
    const moreBroken = withLoops(broken.model, [8 + 5]);
    const out = fc.check(
      fc.property(halting, (input) => broken.equal(broken.decode(exact.run(moreBroken, broken.encode(input))), reference(input, 4, 8))),
      { seed: SEED, numRuns: 300 },
    );
    expect(out.failed).toBe(true);
  });
});

describe('counterexamples: too few loops, too few bits, too small a scale', () => {
  const c = constructionById('subleq');
  it('one loop fewer fails on a program still running at step T', () => {
    const r = searchCounterexample(c, params(), { kind: 'loops', loops: 7 }, { samples: 200, seed: SEED });
    expect(r.found).toBe(true);
    expect(haltsAfter(JSON.parse(r.input!) as SubleqInput, 4, 7)).toBeNull();
    expect(r.replay).toMatch(/looped run subleq .*--loops 7/);
  });

  it('one bit fewer than claimed fails; the claimed bits pass', () => {
    const s = build().bits!;
    const below = searchCounterexample(c, params(), { kind: 'bits', bits: s - 1 }, { samples: 200, seed: SEED });
    expect(below.found).toBe(true);
    expect(below.replay).toContain(`--interpreter fixed:${s - 1}`);
    const at = searchCounterexample(c, params(), { kind: 'bits', bits: s }, { samples: RUNS, seed: SEED });
    expect(at.found).toBe(false);
  });

  it('a softmax scale of 2 fails, 64 holds', () => {
    const small = searchCounterexample(c, params(), { kind: 'scale', scale: 2 }, { samples: 200, seed: SEED });
    expect(small.found).toBe(true);
    expect(small.replay).toContain('--softmax-scale 2');
    expect(searchCounterexample(c, params(), { kind: 'scale', scale: 64 }, { samples: RUNS, seed: SEED }).found).toBe(false);
  });
});

describe('looped run / explain', () => {
  const input = '{"program":[[0,1,2],[2,3,0],[1,1,4],[0,0,0]],"mem":[3,-2,5,7]}';
  it('run --json answers the SUBLEQ semantics', () => {
    const r = looped('run', 'subleq', '--input', input, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: unknown; correct: boolean };
    expect(out.answer).toEqual({ mem: [3, 0, 5, 7], pc: 4 });
    expect(out.correct).toBe(true);
  });

  it('bad input names what is wrong', () => {
    const r = looped('run', 'subleq', '--input', '{"program":[[0,1,2],[2,3,0],[1,1,4],[0,0,0]],"mem":[3,-2,5,8]}');
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/mem\[3\] = 8 is not an N = 4-bit two's-complement integer \(-8\.\.7\)/);
    const r2 = looped('run', 'subleq', '--input', '{"program":[[0,0,5]],"mem":[1]}', '--param', 'instructions=1', '--param', 'memory=1');
    expect(r2.stderr + r2.stdout).toMatch(/program\[0\]: c = 5 must be a whole number in 0\.\.1/);
    const r3 = looped('run', 'subleq', '--input', '{"prog":[]}');
    expect(r3.stderr + r3.stdout).toMatch(/unknown field "prog"/);
  });

  it('explain shows the memory and pc after every loop (terminal and HTML)', () => {
    const r = looped('explain', 'subleq', '--input', input);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/lockstep/);
    expect(r.stdout).toContain('"mem":[3,-5,5,7]');
    expect(r.stdout).toContain('"pc":2');
    const file = join(mkdtempSync(join(tmpdir(), 'subleq-')), 'x.html');
    const h = looped('explain', 'subleq', '--input', input, '--html', file, '--samples', '3');
    expect(h.code, h.stderr).toBe(0);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('subleq');
    expect(page).toMatch(/lockstep/);
  }, 60_000);
});

describe('the paper-sized machine K = M = 16, N = 8, T = 32 (fast64)', () => {
  it('answers as the interpreter on random programs', () => {
    const built = build({ instructions: '16', memory: '16', bits: '8', steps: '32' });
    const it64 = interpreterByName('fast64');
    const model = built.checks[2].model;
    const inputs = fc.sample(built.arbitrary(), { numRuns: Math.max(8, Math.floor(RUNS / 4)), seed: SEED });
    const runs = it64.runBatch!(model, inputs.map((x) => built.encode(x)));
    runs.forEach((r, k) => expect(built.decode(r)).toEqual(reference(inputs[k], 8, 32)));
  }, 60_000);
});
