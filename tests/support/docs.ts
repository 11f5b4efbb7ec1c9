// Runs a guide of docs/: every fenced code block of a markdown file, in order, in a fresh project
// folder where `looped` is installed (a stand-in package that re-exports the repository's own
// index.ts, so the blocks run against the sources, not a build). The conventions, which each
// guide states for its readers:
//   ```ts  first line `// file: NAME.ts`: the whole file NAME.ts (the header line is not part of it),
//          created or replacing an earlier one. Where a shell command wrote NAME.ts (looped new),
//          the block must be exactly what it wrote: the guide shows that file, so it cannot drift.
//          first line `// in NAME.ts, replace the line: TEXT`: the rest of the block replaces the
//          one line of NAME.ts whose trimmed text is TEXT (there must be exactly one).
//          After each block, every file so far is type checked by the repository's tsc, strict.
//   ```sh  `$ looped …` runs bin/looped.mjs in the folder; the lines after it, up to the next `$`,
//          are its output: each must match a line of stdout or stderr, in order, with runs of
//          spaces as one and `…` (with the spaces beside it) standing for anything; `# exit N` is the exit code it must give
//          (0 when absent); other `# ` lines are comments. No other command is allowed.
// Any other kind of block is refused, so nothing in a guide goes unrun.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from './cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = join(ROOT, 'index.ts');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

export interface CodeBlock {
  lang: string;
  /** 1-based line of the opening fence. */
  line: number;
  body: string;
}

/** The fenced code blocks of a markdown text (``` fences; the info string's first word is the language). */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let k = 0; k < lines.length; k++) {
    const open = /^```(\S*)/.exec(lines[k]);
    if (open === null) continue;
    const start = k;
    const body: string[] = [];
    for (k++; k < lines.length && !/^```\s*$/.test(lines[k]); k++) body.push(lines[k]);
    if (k >= lines.length) throw new Error(`line ${start + 1}: a code block that is never closed`);
    blocks.push({ lang: open[1], line: start + 1, body: body.join('\n') + '\n' });
  }
  return blocks;
}

/** Splits a command line into words: whitespace separates, '…' and "…" quote. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|([^\s'"]+)/g;
  let word: string | null = null;
  let last = 0;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const part = m[1] ?? m[2] ?? m[3];
    // Adjacent pieces (--input='[1]') join into one word.
    if (word !== null && m.index === last) word += part;
    else {
      if (word !== null) words.push(word);
      word = part;
    }
    last = m.index + m[0].length;
  }
  if (word !== null) words.push(word);
  return words;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** An output line of a guide as a pattern: spaces squashed, `…` matching anything, the whole line. */
function linePattern(expected: string): RegExp {
  const parts = squash(expected).split(/\s*…\s*/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/** Where the expected lines fail to appear, in order, among the output lines (null: all found). */
export function missingLine(expected: readonly string[], output: string): string | null {
  const lines = output.split('\n').map(squash);
  let at = 0;
  for (const e of expected) {
    const re = linePattern(e);
    while (at < lines.length && !re.test(lines[at])) at++;
    if (at >= lines.length) return e;
    at++;
  }
  return null;
}

export interface GuideRun {
  /** The first problem, naming the block's line; null when every block ran as the guide says. */
  failure: string | null;
  /** How many blocks ran (up to and including a failing one). */
  blocks: number;
}

/** A project folder with `looped` installed as a stand-in for the repository's own sources. */
export function makeProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'looped-guide-'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'guide-project', private: true, type: 'module' }, null, 2)}\n`);
  const pkg = join(dir, 'node_modules', 'looped');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), `${JSON.stringify({ name: 'looped', type: 'module', exports: { '.': './index.ts' } })}\n`);
  writeFileSync(join(pkg, 'index.ts'), `export * from ${JSON.stringify(INDEX)};\n`);
  return dir;
}

/** The repository's tsc, strict, over the given files of the project; the errors, or null. */
function typecheck(dir: string, files: readonly string[]): string | null {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
    },
    files,
  };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(config, null, 2)}\n`);
  const r = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: dir });
  if (r.status === 0) return null;
  // Only the errors in the guide's own files: the repository's sources, which the files import,
  // are the repository's own type check's business (and may be mid-edit while this runs).
  const ours: string[] = [];
  let keep = false;
  for (const line of `${r.stdout}${r.stderr}`.split('\n')) {
    const at = /^(\S+?)\(\d+,\d+\): error/.exec(line);
    if (at !== null) keep = !at[1].startsWith('..') && !at[1].startsWith('/');
    else if (!/^\s/.test(line)) keep = false;
    if (keep) ours.push(line);
  }
  if (ours.length > 0) return ours.join('\n');
  return /error TS/.test(`${r.stdout}${r.stderr}`) ? null : `tsc exited ${r.status}: ${`${r.stdout}${r.stderr}`.trim()}`;
}

/** The .ts files of the folder (not node_modules) with their text. */
function tsFiles(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );
}

const FILE_NAME = /^[A-Za-z0-9][\w.-]*\.ts$/;

/** Runs every block of a guide in a fresh project folder; stops at the first problem. */
export function runGuide(markdown: string, where = 'guide'): GuideRun {
  const dir = makeProject();
  let blocks = 0;
  try {
    /** Files a shell command wrote, as it wrote them, until a block has shown them. */
    const byCommand = new Map<string, string>();
    for (const block of codeBlocks(markdown)) {
      blocks++;
      const at = `${where}:${block.line}`;
      const fail = (why: string): GuideRun => ({ failure: `${at}: ${why}`, blocks });
      if (block.lang === 'ts') {
        const [header, ...rest] = block.body.split('\n');
        const whole = /^\/\/ file: (\S+)$/.exec(header);
        const edit = /^\/\/ in (\S+), replace the line: (.+)$/.exec(header);
        const name = whole?.[1] ?? edit?.[1];
        if (name === undefined) return fail(`a ts block must start with "// file: NAME.ts" or "// in NAME.ts, replace the line: TEXT", got ${JSON.stringify(header)}`);
        if (!FILE_NAME.test(name)) return fail(`"${name}" is not a file name of this folder (NAME.ts)`);
        const path = join(dir, name);
        const text = rest.join('\n');
        if (whole) {
          const written = byCommand.get(name);
          if (written !== undefined && written !== text) {
            const k = text.split('\n').findIndex((l, i) => l !== written.split('\n')[i]);
            return fail(`${name} as the guide shows it is not what the command wrote: they differ first at its line ${k + 1} (${JSON.stringify(written.split('\n')[k] ?? '(end)')} was written)`);
          }
          writeFileSync(path, text);
        } else {
          if (!existsSync(path)) return fail(`${name} does not exist yet`);
          const lines = readFileSync(path, 'utf8').split('\n');
          const target = edit![2].trim();
          const hits = lines.flatMap((l, i) => (l.trim() === target ? [i] : []));
          if (hits.length !== 1) return fail(`${name} has ${hits.length} lines "${target}" to replace; it must have exactly one`);
          lines.splice(hits[0], 1, ...text.replace(/\n$/, '').split('\n'));
          writeFileSync(path, lines.join('\n'));
        }
        byCommand.delete(name);
        const errors = typecheck(dir, [...tsFiles(dir).keys()]);
        if (errors !== null) return fail(`the files do not type check (tsc, strict):\n${errors}`);
      } else if (block.lang === 'sh') {
        const lines = block.body.replace(/\n$/, '').split('\n');
        if (!lines[0].startsWith('$ ')) return fail('a sh block starts with a "$ looped …" command');
        for (let k = 0; k < lines.length; ) {
          const command = lines[k].slice(2);
          const words = shellWords(command);
          if (words[0] !== 'looped') return fail(`only looped commands run here, got "${command}"`);
          const expected: string[] = [];
          let exit = 0;
          for (k++; k < lines.length && !lines[k].startsWith('$ '); k++) {
            const exitLine = /^# exit (\d+)$/.exec(lines[k]);
            if (exitLine) exit = Number(exitLine[1]);
            else if (!lines[k].startsWith('# ') && lines[k].trim() !== '') expected.push(lines[k]);
          }
          const before = tsFiles(dir);
          const r = spawnSync(process.execPath, [BIN, ...words.slice(1)], { encoding: 'utf8', cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
          const output = `${r.stdout}\n${r.stderr}`;
          if (r.status !== exit) return fail(`"${command}" exited ${r.status} (the guide says ${exit}):\n${output.trim()}`);
          const missing = missingLine(expected, output);
          if (missing !== null) return fail(`"${command}" printed no line ${JSON.stringify(missing)} (in the guide's order); it printed:\n${output.trim()}`);
          for (const [f, t] of tsFiles(dir)) if (before.get(f) !== t) byCommand.set(f, t);
        }
      } else {
        return fail(`a code block of kind "${block.lang || '(none)'}": only ts and sh blocks are run, so no other kind may appear`);
      }
    }
    return { failure: null, blocks };
  } finally {
    rmSync(resolve(dir), { recursive: true, force: true });
  }
}
