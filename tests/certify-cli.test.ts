// `looped certify` as a user runs it (issue #11): S5 at n = 64 certified for 120^64 inputs; the
// errata and one loop fewer refused with an input whose printed `looped run` replay fails; the
// certificate file written, re-checked, and refused when tampered with or shown another model;
// constructions and interpreters it does not cover refused with the reason (exit 2).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellWords } from './support/docs.ts';
import { looped } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'looped-certify-'));

/** Runs the printed replay command (`looped run … --input '…'`). */
function replay(stdout: string) {
  const line = stdout.split('\n').find((l) => l.trim().startsWith('replay: '));
  expect(line, stdout).toBeDefined();
  const words = shellWords(line!.trim().slice('replay: '.length));
  expect(words[0]).toBe('looped');
  return looped(...words.slice(1));
}

describe('looped certify', () => {
  it('certifies group-composition over S5 at n = 64: every one of 120^64 inputs', () => {
    const r = looped('certify', 'group-composition', '--param', 'group=S5', '--param', 'n=64');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/certified: inputs of length 65 over the declared tokens, 120\^64 = 1\.17e\+133/);
    expect(r.stdout).toMatch(/update\s+468,393/);
    expect(r.stdout).toMatch(/rounds\s+1\n\s+rounds, by a symbolic run: Algorithm 2 run over the free monoid/);
  }, 120_000);

  for (const [what, params] of [
    ['erratum 1 (both heads read max(2i−n−1, 0))', ['--param', 'variant=erratum-1']],
    ['erratum 2 (negative queries)', ['--param', 'variant=erratum-2']],
    ['one loop fewer (5 at n = 64)', ['--param', 'n=64', '--param', 'loops=5']],
  ] as const) {
    it(`refuses ${what} with exit 1 and an input whose replay answers wrongly`, () => {
      const r = looped('certify', 'group-composition', ...params);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/refuted/);
      const again = replay(r.stdout);
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/✗ the reference gives/);
    }, 60_000);
  }

  it('writes a certificate that --check accepts, and refuses a tampered one and a different model', () => {
    const cert = join(dir, 'b4.cert.json');
    const r = looped('certify', 'lemma-b4', '--param', 'n=32', '--out', cert, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { verdict: string; inputs: { power: string } };
    expect(report.verdict).toBe('certified');
    const file = JSON.parse(readFileSync(cert, 'utf8')) as { model: { sha256: string }; obligations: { kind: string; count: number }[] };
    expect(file.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(looped('certify', '--check', cert).code).toBe(0);

    const tampered = join(dir, 'tampered.cert.json');
    file.obligations[2].count += 1;
    writeFileSync(tampered, JSON.stringify(file));
    const t = looped('certify', '--check', tampered);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/does not match: the certificate counts \d+ update obligations; re-running counts \d+/);

    const other = join(dir, 'other.json');
    expect(looped('build', 'lemma-b4', '--param', 'n=32', '--param', 'k=3', '--out', other).code).toBe(0);
    const m = looped('certify', '--check', cert, '--model', other);
    expect(m.code).toBe(1);
    expect(m.stdout).toMatch(/does not match: the model's sha256 is [0-9a-f]{64}, but the certificate is for/);
  }, 60_000);

  it('refuses what it does not cover with the reason, exit 2', () => {
    const a = looped('certify', 'thm-5.4');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/thm-5\.4 declares no abstraction for certify.*covered: .*lemma-b4.*group-composition/);
    const b = looped('certify', 'group-composition', '--interpreter', 'fixed:8');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/certify proves the exact check.*under fixed:8/);
    const c = looped('certify', '--check', join(dir, 'missing.json'));
    expect(c.code).toBe(2);
    const bad = join(dir, 'bad.cert.json');
    writeFileSync(bad, '{"format":"something-else"}');
    const d = looped('certify', '--check', bad);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/not a looped certificate: "format" must be "looped-certificate\/1"/);
  }, 60_000);
});
