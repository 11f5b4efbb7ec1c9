// The command as a user runs it: a real process, its stdout, stderr and exit code.
import { describe, expect, it } from 'vitest';
import { looped } from './support/cli.ts';



describe('looped CLI', () => {
  it('lists the constructions with their parameters and claims', () => {
    const r = looped('list', '--json');
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout) as { constructions: { id: string; claimed: Record<string, string> }[] };
    const ids = data.constructions.map((c) => c.id);
    expect(ids).toContain('lemma-b4');
    expect(ids).toContain('lemma-b9-shift');
    expect(data.constructions.find((c) => c.id === 'lemma-b4')!.claimed.layersPerBlock).toBe('1');
  });

  it('runs a construction and prints answer, sizes and margins as JSON', () => {
    const r = looped('run', 'lemma-b9-shift', '--param', 'n=6', '--input', '[0,1,2,3,0,1]', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: number[]; expected: number[]; correct: boolean; sizes: Record<string, number>; margins: { attention: number | string } };
    expect(out.answer).toEqual([0, 0, 1, 2, 3, 0]);
    expect(out.correct).toBe(true);
    expect(Object.keys(out.sizes)).toEqual(['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads', 'headDim']);
    expect(out.sizes.loops).toBe(1);
  });

  it('exits 2 with a one-line message on usage and input errors, never a stack', () => {
    const cases = [
      ['run', 'no-such-construction', '--input', '[0]'],
      ['run', 'lemma-b4', '--param', 'n=0', '--input', '[0]'],
      ['run', 'lemma-b4', '--param', 'V=4', '--input', '[0,9]'],
      ['run', 'lemma-b4', '--input', '[0,'],
      ['run', 'lemma-b4', '--bogus'],
      ['frobnicate'],
    ];
    for (const args of cases) {
      const r = looped(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(looped('run', 'lemma-b4', '--param', 'n=0', '--input', '[0]').stderr).toMatch(/parameter n of lemma-b4 is 0, outside its range 1\.\.1024/);
    expect(looped('run', 'lemma-b4', '--param', 'V=4', '--input', '[0,9]').stderr).toMatch(/9/);
  });

  it('verifies a construction and exits 0 when it holds', () => {
    const r = looped('verify', 'lemma-b9-shift', '--param', 'n=8', '--samples', '30', '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { ok: boolean; checks: { samples: number; failed: boolean }[] };
    expect(rep.ok).toBe(true);
    expect(rep.checks.length).toBeGreaterThanOrEqual(2);
    expect(rep.checks.every((k) => k.samples === 30 && !k.failed)).toBe(true);
  });

  it('exits 1 with a shrunk counterexample and replay command when a check fails', () => {
    // With s = 2 bits, positions 0..7 alias (a 2-bit code covers 4 positions): the lemma fails.
    const r = looped('verify', 'lemma-b4', '--param', 'n=8', '--param', 's=2', '--samples', '100', '--json');
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as { ok: boolean; checks: { failed: boolean; counterexample: { replay: string; input: string } | null }[] };
    expect(rep.ok).toBe(false);
    const cx = rep.checks.find((k) => k.failed)!.counterexample!;
    expect(cx.replay).toMatch(/^looped run lemma-b4 .*--param s=2 .*--input '/);
    const replay = looped('run', 'lemma-b4', '--param', 'n=8', '--param', 's=2', '--input', cx.input, '--json');
    expect(replay.code).toBe(1); // the replayed run answers differently from the reference
  });

  it('finds a shrunk counterexample under a weakening, and its replay reproduces it', () => {
    const r = looped('counterexample', 'lemma-b4', '--param', 'n=16', '--loops', '0', '--json');
    expect(r.code).toBe(1);
    const cx = JSON.parse(r.stdout) as { found: boolean; input: string; replay: string };
    expect(cx.found).toBe(true);
    expect(cx.input).toBe('[0]'); // shrunk to the smallest input
    expect(cx.replay).toContain('--loops 0');
    const args = ['run', 'lemma-b4', '--param', 'n=16', '--loops', '0', '--input', cx.input, '--json'];
    const replay = looped(...args);
    expect(replay.code).toBe(1);
    expect((JSON.parse(replay.stdout) as { correct: boolean }).correct).toBe(false);
  });

  it('exits 0 and says how many inputs were tried when no counterexample is found', () => {
    const r = looped('counterexample', 'lemma-b4', '--param', 'n=8', '--bits', '3', '--samples', '50');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no counterexample fixed:3 \(fixed:3\) in 50 inputs/);
  });

  it('finds the smallest softmax scale that passed, with a counterexample just below it', () => {
    const r = looped('counterexample', 'lemma-b4', '--param', 'n=8', '--smallest-scale', '--samples', '50', '--json');
    // The exit code reports the counterexample below the threshold, as "found" does (see --help).
    expect(r.code).toBe(1);
    const t = JSON.parse(r.stdout) as { smallestScale: number; found: boolean; below: { found: boolean; weakening: { scale: number } } };
    expect(t.found).toBe(true);
    expect(t.smallestScale).toBeGreaterThan(0);
    expect(t.smallestScale).toBeLessThan(1); // scale 1 is the construction's own, and it holds
    expect(t.below.found).toBe(true);
    expect(t.below.weakening.scale).toBeLessThan(t.smallestScale);
  });

  it('builds a model file and runs it with tokens named by the vocabulary', () => {
    const file = `${process.env.TMPDIR ?? '/tmp'}/looped-cli-${process.pid}.json`;
    expect(looped('build', 'lemma-b9-shift', '--param', 'n=4', '--out', file).code).toBe(0);
    const r = looped('run', '--model', file, '--input', '["2","0","1"]', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { readouts: { token: string }[] };
    expect(out.readouts.map((o) => o.token)).toEqual(['2', '2', '0']); // SHIFT
    const bad = looped('run', '--model', file, '--input', '["9"]');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/token "9" at position 0 is not in the vocabulary/);
  });

  it('explains a construction loop by loop, without colour when NO_COLOR is set', () => {
    const r = looped('explain', 'group-composition', '--param', 'group=S3', '--param', 'n=4', '--input', '[[1,0,2],[0,2,1],[1,2,0],[1,0,2]]');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/head first .*hard/);
    expect(r.stdout).toMatch(/O writes g1/);
    expect(r.stdout).toMatch(/readout: first equals the reference answer \[0,2,1\] after loop 2/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('builds a random decoder, compiles it with Theorem 5.4, and the looped run answers its CoT', async () => {
    const dir = process.env.TMPDIR ?? '/tmp';
    const dec = `${dir}/looped-dec-${process.pid}.json`;
    const looped54 = `${dir}/looped-dec54-${process.pid}.json`;
    expect(looped('build', 'random-decoder', '--layers', '2', '--width', '4', '--heads', '1', '--vocab', '3', '--seed', '7', '--out', dec).code).toBe(0);
    expect(looped('compile', 'thm-5.4', '--source', dec, '--steps', '3', '--n', '4', '--out', looped54).code).toBe(0);
    const { readModelFile } = await import('../cli/model-input.ts');
    const { decodeCot } = await import('../simulators/cot.ts');
    const { interpreterByName } = await import('../simulators/interpreters.ts');
    const source = readModelFile(dec);
    const cot = decodeCot(interpreterByName('exact'), source, [0, 1, 2, 1], 3);
    expect(cot.tieAt).toBeNull();
    const r = looped('run', '--model', looped54, '--input', '["t0","t1","t2","t1","#","#","#"]', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { answer: string }).answer).toBe(source.vocab.labels[cot.answer!]);
    expect(looped('build', 'random-decoder', '--layers', '99', '--out', dec).code).toBe(2);
  });
});
