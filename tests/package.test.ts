// The published package, as a user gets it: `npm pack` (which builds dist/ through the prepack
// script), installed into a folder outside the repository, then used from a plain Node.js ESM file
// and from a strict TypeScript project type-checked against the shipped .d.ts — each writes a
// construction through `looped` alone, builds, runs and verifies it — and the installed `looped`
// command. Installing needs the npm registry (CI has it: it runs npm ci first).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const support = join(root, 'tests', 'support', 'consumer');
const work = mkdtempSync(join(tmpdir(), 'looped-package-'));
const consumer = join(work, 'consumer');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let tarball = '';
let files: string[] = [];

function sh(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const pack = sh('npm', ['pack', '--json', '--pack-destination', work], root);
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info.filename);
  files = info.files.map((f) => f.path);
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], consumer);
  expect(install.status, install.stderr).toBe(0);
}, 240_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the npm package', () => {
  it('ships the built JavaScript and types, the command and the README, and no TypeScript sources or tests', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/simulators/fast/worker.js', 'dist/simulators/fast/worker.mjs', 'bin/looped.mjs', 'README.md', 'package.json']) expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.some((f) => f.startsWith('tests/') || f.startsWith('bench/'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules', 'looped', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(manifest.exports)).toEqual(['.', './package.json']);
  });

  it('works from a plain Node.js ESM file: a construction written through `looped` builds, runs, verifies, and a broken copy is refused', () => {
    for (const f of ['last-token.mjs', 'last-token-construction.mjs']) copyFileSync(join(support, f), join(consumer, f));
    const r = sh(process.execPath, ['last-token.mjs'], consumer);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: number; ok: boolean; checks: [string, number, boolean][]; brokenOk: boolean; brokenInput: string | null };
    expect(out.answer).toBe(2);
    expect(out.ok).toBe(true);
    expect(out.checks).toEqual([
      ['exact', 50, false],
      ['float64', 50, false],
    ]);
    expect(out.brokenOk).toBe(false);
    expect(JSON.parse(out.brokenInput!)).toContain(0);
  });

  it('type-checks a strict TypeScript project against the shipped types, which catch a wrong type, and runs it', () => {
    const source = readFileSync(join(root, 'examples', 'first-token.ts'), 'utf8');
    expect(source).toContain("from '../index.ts'");
    // The example imports the entry point only; pointed at the package, it is a user's file.
    writeFileSync(join(consumer, 'first-token.ts'), source.replace("from '../index.ts'", "from 'looped'"));
    copyFileSync(join(support, 'run-first-token.ts'), join(consumer, 'run-first-token.ts'));
    const config = (files: string[]) =>
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files });
    writeFileSync(join(consumer, 'tsconfig.json'), config(['run-first-token.ts']));
    const check = sh(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    writeFileSync(join(consumer, 'wrong.ts'), "import { verifyConstruction } from 'looped';\nconst r: string = verifyConstruction;\nexport { r };\n");
    writeFileSync(join(consumer, 'tsconfig.wrong.json'), config(['wrong.ts']));
    const wrong = sh(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], consumer);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(2,7\): error TS2322/);
    const r = sh(process.execPath, [join(consumer, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'run-first-token.ts'], consumer);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: number; ok: boolean; checks: [string, number, boolean][]; sizes: [string, number, number][] };
    expect(out.answer).toBe(3);
    expect(out.ok).toBe(true);
    expect(out.checks.map((k) => k[0])).toEqual(['exact', 'fixed:2', 'float64']);
    for (const [key, claimed, built] of out.sizes) expect(built, key).toBe(claimed);
  });

  it('installs the looped command, which runs the compiled files (no TypeScript loader needed)', () => {
    const bin = join(consumer, 'node_modules', 'looped', 'bin', 'looped.mjs');
    const r = sh(process.execPath, [bin, 'verify', 'lemma-b4', '--param', 'n=8', '--samples', '20', '--json'], consumer);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
    const fast = sh(process.execPath, [bin, 'verify', 'lemma-b4', '--interpreter', 'fast64', '--samples', '300', '--json'], consumer);
    expect(fast.status, fast.stderr).toBe(0);
    expect((JSON.parse(fast.stdout) as { sweep: { samples: number; failures: number } }).sweep).toMatchObject({ samples: 300, failures: 0 });
  });

  it('verifies a construction file of the consumer\'s own (`npx looped verify ./first-token.ts`), TypeScript and JavaScript, and names a slip in one', () => {
    // first-token.ts was written by the TypeScript test above (the example, importing 'looped').
    const npx = sh('npx', ['--no-install', 'looped', 'verify', './first-token.ts', '--samples', '30', '--json'], consumer);
    expect(npx.status, npx.stderr).toBe(0);
    expect(JSON.parse(npx.stdout)).toMatchObject({ construction: 'example-first-token', ok: true });
    const js = sh('npx', ['--no-install', 'looped', 'verify', './last-token-construction.mjs', '--samples', '30', '--json'], consumer);
    expect(js.status, js.stderr).toBe(0);
    expect(JSON.parse(js.stdout)).toMatchObject({ construction: 'consumer-last-token', ok: true });
    // `looped new` from the package writes the guide's starting file, which verifies out of the box.
    const made = sh('npx', ['--no-install', 'looped', 'new', 'starter'], consumer);
    expect(made.status, made.stderr).toBe(0);
    const starter = sh('npx', ['--no-install', 'looped', 'verify', './starter.ts', '--samples', '30', '--json'], consumer);
    expect(starter.status, starter.stderr).toBe(0);
    expect(JSON.parse(starter.stdout)).toMatchObject({ construction: 'starter', ok: true });
    // A contract slip in the user's file is one line, exit 2, naming the file and the field.
    writeFileSync(join(consumer, 'slip.mjs'), "import { lastToken } from './last-token-construction.mjs';\nexport default { ...lastToken, claimed: { width: 'V +' } };\n");
    const slip = sh('npx', ['--no-install', 'looped', 'verify', './slip.mjs'], consumer);
    expect(slip.status).toBe(2);
    expect(slip.stderr.trim().split('\n')).toHaveLength(1);
    expect(slip.stderr).toMatch(/construction file \.\/slip\.mjs: construction "consumer-last-token": claimed\.width = "V \+" does not parse/);
  });
});
