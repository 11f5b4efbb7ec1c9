// A construction from the user's own file in place of a catalogue id (cli/construction-file.ts,
// proofs/contract.ts): every loading failure is one sentence naming the file and what is wrong,
// exit 2, no stack; a good file verifies like a catalogue construction, and a broken one is
// refused with a counterexample.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConstructionFile } from '../cli/construction-file.ts';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { looped } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'looped-construction-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const index = fileURLToPath(new URL('../index.ts', import.meta.url));
const example = readFileSync(fileURLToPath(new URL('../examples/first-token.ts', import.meta.url)), 'utf8').replace("from '../index.ts'", `from ${JSON.stringify(index)}`);

/** Writes a module into the temporary folder and returns its path. */
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const good = file('first-token.ts', example);
/** The example with one edit. */
const edited = (name: string, from: string, to: string) => {
  expect(example).toContain(from);
  return file(name, example.replace(from, to));
};

describe('loading a construction file: each failure names the file and the problem', () => {
  // The contract checks run on what tsc would refuse too (a user may skip the type check, or write
  // JavaScript): these cases are loaded without it, and the type check has its own cases below.
  beforeAll(() => {
    process.env.LOOPED_TYPECHECK = '0';
  });
  afterAll(() => {
    delete process.env.LOOPED_TYPECHECK;
  });

  it.each<[string, () => string, RegExp]>([
    ['a missing file', () => join(dir, 'absent.ts'), /construction file .*absent\.ts: no such file/],
    ['a syntax error', () => file('syntax.mjs', 'export default { id: "x", ;\n'), /construction file .*syntax\.mjs could not be loaded: .+/],
    ['no default export', () => file('named.mjs', 'export const c = 1;\n'), /has no default export: write `export default myConstruction`.*; it exports c/],
    ['a default that is no construction', () => file('number.mjs', 'export default 42;\n'), /the export is number, not a construction object/],
    ['a claimed size that does not parse', () => edited('formula.ts', "width: '2*V + 2'", "width: '2*V +* 2'"), /claimed\.width = "2\*V \+\* 2" does not parse as a formula/],
    ['a claimed key that is no size', () => edited('key.ts', "mlpWidth: '0'", "mlp: '0'"), /claimed\.mlp is not a size \(sizes: layersPerBlock, loops/],
    ['a parameter without a default', () => edited('nodefault.ts', "default: '8', ", ''), /parameter "n" has no default/],
    ['a default out of its own range', () => edited('range.ts', "default: '8'", "default: '9999'"), /its defaults do not resolve: .*n/],
    ['a build that is not a function', () => edited('nobuild.ts', 'build(params) {', 'builder(params) {'), /build must be a function/],
  ])('%s', async (_, make, message) => {
    await expect(loadConstructionFile(make(), undefined)).rejects.toThrow(message);
  });

  it('a TypeScript file is type-checked first: a type or syntax error is one line naming the file, the place and the error', async () => {
    delete process.env.LOOPED_TYPECHECK;
    try {
      await expect(loadConstructionFile(edited('typed.ts', 'const { n, V } = paramValues(ID, PARAMS, params);', 'const { n, V }: { n: number; V: string } = paramValues(ID, PARAMS, params);'), undefined)).rejects.toThrow(
        /construction file .*typed\.ts does not compile: typed\.ts\(\d+,\d+\): error TS2322: Type /,
      );
      await expect(loadConstructionFile(file('syntax.ts', 'export default { id: "x", ;\n'), undefined)).rejects.toThrow(/construction file .*syntax\.ts does not compile: syntax\.ts\(1,\d+\): error TS1\d+/);
      // A contract slip that the types already forbid is caught by tsc, before the contract check.
      await expect(loadConstructionFile(edited('key-typed.ts', "mlpWidth: '0'", "mlp: '0'"), undefined)).rejects.toThrow(/key-typed\.ts does not compile: .*error TS\d+/);
      expect((await loadConstructionFile(good, undefined)).id).toBe('example-first-token');
    } finally {
      process.env.LOOPED_TYPECHECK = '0';
    }
  });

  it('a build that throws, or returns what breaks the contract, is named as the build', async () => {
    const thrower = await loadConstructionFile(edited('throws.ts', 'const vocab =', "if (V > 0) throw new TypeError('oops');\n    const vocab ="), undefined);
    expect(() => thrower.build(resolveParams(thrower, {}))).toThrow(/throws\.ts: construction "example-first-token": build threw TypeError: oops/);
    const noChecks = await loadConstructionFile(edited('nochecks.ts', 'checks: [', 'checks0: ['), undefined);
    expect(() => noChecks.build(resolveParams(noChecks, {}))).toThrow(/build returned no checks/);
  });

  it('an array export needs --construction, which picks by id', async () => {
    const two = file('two.mjs', `import { firstToken } from ${JSON.stringify(good)};\nexport default [firstToken, { ...firstToken, id: 'second' }];\n`);
    await expect(loadConstructionFile(two, undefined)).rejects.toThrow(/exports 2 constructions \(example-first-token, second\): pick one with --construction ID/);
    await expect(loadConstructionFile(two, 'third')).rejects.toThrow(/has no construction "third" \(it has example-first-token, second\)/);
    const c = await loadConstructionFile(two, 'second');
    expect(c.id).toBe('second');
    expect(constructionById(two).id).toBe('second');
  });
});

describe('looped <command> path/to/module', () => {
  it('verifies a good file and refuses a broken one with a counterexample; load errors are one line, exit 2', () => {
    const ok = looped('verify', good, '--samples', '40', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ construction: 'example-first-token', ok: true });
    // The value copies the wrong token direction: a real input shows it.
    const broken = edited('broken.ts', "head.W_O.write('v', 'copy', identity());", "head.W_O.write('v', 'copy', (r: number, c: number) => (c === (r + 1) % V ? 1 : 0));");
    const bad = looped('verify', broken, '--samples', '40', '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { checks: { counterexample: { input: string; replay: string } | null }[] };
    expect(report.checks[0].counterexample?.input).toMatch(/^\[\d/);
    const load = looped('run', join(dir, 'formula.ts'), '--input', '[0]');
    expect(load.code).toBe(2);
    expect(load.stderr.trim().split('\n')).toHaveLength(1);
    expect(load.stderr).toMatch(/looped run: construction file .*formula\.ts: construction "example-first-token": claimed\.width/);
  }, 60_000);
});
