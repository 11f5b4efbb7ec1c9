// The guides of docs/ are executed (tests/support/docs.ts): every code block of every docs/*.md
// runs in a fresh project folder, so a guide that goes stale fails here — and the same runner is
// shown to report stale copies (a wrong expected output, a file that is not what `looped new`
// wrote, a type error, a missing line to replace, a block of a kind it cannot run). `looped new`
// writes the guide's starting file, which verifies out of the box, and refuses what it must.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { newCommand, starterFile } from '../cli/commands/new.ts';
import { BIN, captureOut } from './support/cli.ts';
import { codeBlocks, makeProject, missingLine, runGuide, shellWords } from './support/docs.ts';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const GUIDE = join(DOCS, 'writing-a-construction.md');
const guide = readFileSync(GUIDE, 'utf8');
const guides = readdirSync(DOCS).filter((f) => f.endsWith('.md'));

/** The guide with one exact piece of text replaced (which must be there once). */
function mutated(from: string, to: string): string {
  expect(guide.split(from)).toHaveLength(2);
  return guide.replace(from, to);
}

describe('the guides of docs/ run as written', () => {
  it('there is at least the authoring guide', () => {
    expect(guides).toContain('writing-a-construction.md');
  });

  it.each(guides)('docs/%s: every block runs, type checks and prints what it shows', (name) => {
    const r = runGuide(readFileSync(join(DOCS, name), 'utf8'), `docs/${name}`);
    expect(r.failure).toBeNull();
    expect(r.blocks).toBe(codeBlocks(readFileSync(join(DOCS, name), 'utf8')).length);
  }, 180_000);

  it("the guide's first file is exactly the starting file `looped new mine` writes (one source)", () => {
    const first = codeBlocks(guide).find((b) => b.lang === 'ts');
    expect(first?.body.split('\n')[0]).toBe('// file: mine.ts');
    expect(first?.body.split('\n').slice(1).join('\n')).toBe(starterFile('mine'));
  });
});

describe('the same runner reports a stale guide, naming the block', () => {
  it('an expected output line the command does not print', () => {
    const r = runGuide(mutated('wrote mine.ts: construction "mine"', 'wrote mine.ts: construction "yours"'), 'stale.md');
    expect(r.failure).toMatch(/^stale\.md:\d+: "looped new mine" printed no line "wrote mine\.ts: construction \\"yours\\"/);
    expect(r.blocks).toBe(1);
  }, 60_000);

  it('a file that is not what `looped new` wrote', () => {
    const r = runGuide(mutated("{ name: 'k', describe: 'how far back to read: the loops the claim needs', default: '2'", "{ name: 'k', describe: 'how far back to read: the loops the claim needs', default: '3'"), 'stale.md');
    expect(r.failure).toMatch(/^stale\.md:\d+: mine\.ts as the guide shows it is not what the command wrote: they differ first at its line \d+/);
    expect(r.blocks).toBe(2);
  }, 60_000);

  it('a wrong exit code, a type error, a line to replace that is not there, a block it cannot run', () => {
    // No looped command reaches these: each fails at its first block, within seconds.
    expect(runGuide('```ts\n// file: bad.ts\nexport const x: string = 1;\n```\n', 'bad.md').failure).toMatch(/^bad\.md:1: the files do not type check \(tsc, strict\):\nbad\.ts\(1,14\): error TS2322/);
    expect(runGuide('```ts\n// file: a.ts\nexport const a = 1;\n```\n\n```ts\n// in a.ts, replace the line: export const b = 1;\nexport const b = 2;\n```\n', 'edit.md').failure).toBe(
      'edit.md:6: a.ts has 0 lines "export const b = 1;" to replace; it must have exactly one',
    );
    expect(runGuide('```json\n{}\n```\n', 'kind.md').failure).toMatch(/^kind\.md:1: a code block of kind "json": only ts and sh blocks are run/);
    expect(runGuide('```sh\n$ npm install looped\n```\n', 'cmd.md').failure).toBe('cmd.md:1: only looped commands run here, got "npm install looped"');
    expect(runGuide('```ts\nexport const a = 1;\n```\n', 'head.md').failure).toMatch(/^head\.md:1: a ts block must start with "\/\/ file: NAME\.ts"/);
  }, 30_000);

  it('output matching: order, squashed spaces, … for anything, whole lines', () => {
    const out = 'a   b  1.5 s  ok\nsecond line\n';
    expect(missingLine(['a b … ok', 'second line'], out)).toBeNull();
    expect(missingLine(['second line', 'a b … ok'], out)).toBe('a b … ok');
    expect(missingLine(['a b'], out)).toBe('a b');
    expect(missingLine(['a b … FAIL'], out)).toBe('a b … FAIL');
    expect(shellWords(`looped run ./m.ts --input '[1, 0]' --x="a b"`)).toEqual(['looped', 'run', './m.ts', '--input', '[1, 0]', '--x=a b']);
  });
});

describe('looped new NAME', () => {
  const dir = makeProject();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes NAME.ts with its id, which verifies out of the box; says what it wrote and what to run next', () => {
    const { out, lines } = captureOut();
    expect(newCommand(['mine'], out, dir)).toBe(0);
    expect(lines).toEqual(['wrote mine.ts: construction "mine", the token k back by k loops of a one-position shift', 'next: looped verify ./mine.ts']);
    const text = readFileSync(join(dir, 'mine.ts'), 'utf8');
    expect(text).toBe(starterFile('mine'));
    expect(text).toContain("id: 'mine',");
    const r = spawnSync(process.execPath, [BIN, 'verify', './mine.ts', '--samples', '40', '--json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ construction: 'mine', ok: true });
  }, 60_000);

  it.each<[string, string[], RegExp]>([
    ['an existing file', ['mine'], /^mine\.ts already exists here; it is not overwritten/],
    ['a name with a path in it', ['../escape'], /^NAME "\.\.\/escape" must be 1 to 64 letters, digits, '_' or '-', starting with a letter$/],
    ['a name with the extension', ['two.ts'], /starting with a letter \(without the extension: looped new two\)$/],
    ['a name that starts with a digit', ['2x'], /^NAME "2x" must be/],
    ['no name', [], /^new takes one NAME \(looped new mine\), got none$/],
    ['two names', ['a', 'b'], /^new takes one NAME \(looped new mine\), got "a" "b"$/],
  ])('refuses %s in one line, writing nothing', (_, argv, message) => {
    if (argv[0] === 'mine' && !existsSync(join(dir, 'mine.ts'))) writeFileSync(join(dir, 'mine.ts'), 'export default 1;\n');
    const before = readdirSync(dir).sort();
    const { out } = captureOut();
    expect(() => newCommand(argv, out, dir)).toThrow(message);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('the command line gives exit 2 and one line for a refusal', () => {
    const r = spawnSync(process.execPath, [BIN, 'new', 'bad/name'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`looped new: NAME "bad/name" must be 1 to 64 letters, digits, '_' or '-', starting with a letter`]);
  }, 30_000);
});
