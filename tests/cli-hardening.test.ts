// The command line against hostile use (issues #15.6 and #19.4–19.8), on real child processes where
// it is about exit codes or output: repeated flags, failed writes, deep nesting, flags a mode
// ignores, control characters in printed text, and messages that used to mislead.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { paramsFrom } from '../cli/args.ts';
import { safeJson, safeText } from '../cli/output.ts';
import { resolveParams } from '../proofs/construction.ts';
import { allConstructions } from '../proofs/registry.ts';
import { InputError } from '../common/errors.ts';
import { BIN, type CliResult } from './support/cli.ts';

/** The CLI in a child process, asynchronously so that a test can start several at once. */
function run(args: string[], stdio: { stdout?: number; stderr?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', stdio.stdout ?? 'pipe', stdio.stderr ?? 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs the command lines two at a time (the test machines have few cores), results in order. */
async function runAll(cases: string[][]): Promise<CliResult[]> {
  const results: CliResult[] = new Array<CliResult>(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const k = next++;
      results[k] = await run(cases[k]);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/** A usage error as the CLI must print it: exit 2, one line on stderr, no stack. */
function expectUsage(r: CliResult, pattern: RegExp, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(2);
  expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
  expect(r.stderr, what).not.toMatch(/\n\s+at /);
  expect(r.stderr, what).toMatch(pattern);
}

const ESC = '\u001b';
const CSI = '\u009b'; // the C1 form of ESC [
const dir = mkdtempSync(join(tmpdir(), 'looped-hardening-'));
const shift = join(dir, 'shift.json');
const hostile = join(dir, 'hostile.json');
const decoder = join(dir, 'dec.json');
const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;

beforeAll(async () => {
  const [a, b] = await runAll([
    ['build', 'lemma-b9-shift', '--param', 'n=4', '--out', shift],
    ['build', 'random-decoder', '--layers', '2', '--width', '4', '--heads', '1', '--vocab', '3', '--seed', '7', '--out', decoder],
  ]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
  // A model file whose name and a vocabulary entry hold terminal escapes (clear screen, C1 CSI).
  const json = JSON.parse(readFileSync(shift, 'utf8')) as { name: string; vocab: { labels: string[] } | string[] };
  json.name = `${ESC}[2Jevil${CSI}2J`;
  const labels = Array.isArray(json.vocab) ? json.vocab : json.vocab.labels;
  labels[0] = `${ESC}]0;title${String.fromCharCode(7)}`;
  writeFileSync(hostile, JSON.stringify(json));
}, 60_000);

describe('repeated flags and parameters are refused (#15.6)', () => {
  it('names the repeated flag or parameter; __proto__ is an unknown parameter', async () => {
    const [twiceParam, twiceInput, proto, ctor] = await runAll([
      ['run', 'lemma-b4', '--param', 'n=4', '--param', 'n=5', '--input', '[0]'],
      ['run', 'lemma-b4', '--input', '[0]', '--input', '[1]'],
      ['run', 'lemma-b4', '--param', '__proto__=5', '--input', '[0]'],
      ['constructor'],
    ]);
    expectUsage(twiceParam, /--param n is given twice/, 'two --param n');
    expectUsage(twiceInput, /--input is given twice/, 'two --input');
    expectUsage(proto, /lemma-b4 has no parameter "__proto__"/, '--param __proto__');
    expectUsage(ctor, /unknown command "constructor"/, 'looped constructor');
  }, 60_000);

  it('collects parameters into an object without a prototype', () => {
    const p = paramsFrom(['__proto__=5', 'constructor=x']);
    expect(Object.getPrototypeOf(p)).toBeNull();
    expect(Object.keys(p)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('a failed write is one line and exit 3, never a stack or 1 (#19.4)', () => {
  const full = (args: string[], stream: 'stdout' | 'stderr') => {
    const fd = openSync('/dev/full', 'w');
    return run(args, { [stream]: fd }).finally(() => closeSync(fd));
  };

  it('stdout on a full disk', async () => {
    for (const args of [['list'], ['list', '--json'], ['run', 'lemma-b9-shift', '--param', 'n=6', '--input', '[0,1,2,3,0,1]']]) {
      const r = await full(args, 'stdout');
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr.trim().split('\n')).toEqual(['looped: cannot write to stdout: ENOSPC']);
    }
  }, 60_000);

  it('stderr on a full disk', async () => {
    const r = await full(['frobnicate'], 'stderr');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
  }, 30_000);

  it('an --out file on a full disk', async () => {
    const [b, e] = await runAll([
      ['build', 'lemma-b4', '--param', 'n=4', '--out', '/dev/full'],
      ['export', 'lemma-b4', '--param', 'n=4', '--format', 'json', '--out', '/dev/full'],
    ]);
    for (const r of [b, e]) {
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/cannot write \/dev\/full: ENOSPC/);
    }
  }, 60_000);
});

describe('deeply nested input names the field instead of overflowing the stack (#19.5)', () => {
  it('run --input on a construction and on a model file', async () => {
    const [c, m, e] = await runAll([
      ['run', 'lemma-b4', '--input', deep],
      ['run', '--model', shift, '--input', deep],
      ['explain', 'group-composition', '--input', deep],
    ]);
    for (const r of [c, m, e]) expectUsage(r, /--input nests brackets more than 64 deep/, r.stderr);
  }, 60_000);

  it("every construction's parseInput refuses it with an InputError", () => {
    for (const c of allConstructions()) {
      const built = c.build(resolveParams(c, {}));
      for (const text of [deep, `[0,${deep}]`, `{"inputs":${deep}}`]) {
        expect(() => built.parseInput(text), c.id).toThrow(InputError);
        expect(() => built.parseInput(text), c.id).toThrow(/nests brackets more than 64 deep/);
      }
    }
  }, 120_000);
});

describe('flags that a command or mode ignores are refused (#19.6)', () => {
  it('names the flag and why it does not apply', async () => {
    const out = join(dir, 'x.json');
    const cases: [string[], RegExp][] = [
      [['build', 'lemma-b4', '--interpreter', 'bogus', '--out', out], /unknown interpreter "bogus"/],
      [['export', 'lemma-b4', '--interpreter', 'bogus', '--out', out], /unknown interpreter "bogus"/],
      [['build', 'lemma-b4', '--layers', '9', '--out', out], /--layers does not apply to a construction/],
      [['build', 'random-decoder', '--param', 'n=3', '--out', out], /--param does not apply to random-decoder/],
      [['run', '--model', shift, '--param', 'n=3', '--input', '["0"]'], /--param does not apply to --model FILE/],
      [['run', '--model', shift, '--softmax-scale', '2', '--input', '["0"]'], /--softmax-scale does not apply to --model FILE/],
      [['run', 'lemma-b4', '--all-positions', '--input', '[0]'], /--all-positions does not apply to a construction/],
      [['compile', 'thm-5.4', '--source', decoder, '--n', '4', '--steps', '3', '--mlp-gate', '5', '--out', out], /--mlp-gate does not apply to compile thm-5.4/],
      [['compile', 'thm-5.2', '--source', shift, '--steps', '3', '--out', out], /--steps does not apply to compile thm-5.2/],
      [['explain', 'lemma-b4', '--samples', '5'], /--samples does not apply without --html/],
      [['explain', 'lemma-b4', '--full', '--html', join(dir, 'x.html')], /--full does not apply with --html/],
      [['list', 'foo', 'bar'], /list takes no arguments, got "foo" "bar"/],
      [['verify', 'lemma-b4', '--batch', '8'], /--batch does not apply without a batched interpreter/],
      [['verify', '--all', '--path', '3:1'], /--path does not apply to --all/],
      [['export', shift, '--format', 'json', '--allow-rounding', '--out', out], /--allow-rounding does not apply to --format json/],
      [['help', 'bogus'], /unknown command "bogus"/],
    ];
    const results = await runAll(cases.map(([args]) => args));
    results.forEach((r, k) => expectUsage(r, cases[k][1], cases[k][0].join(' ')));
  }, 180_000);
});

describe('text from files and users is printed with control characters escaped (#19.7)', () => {
  it('safeText escapes C0, DEL and C1, and safeJson keeps JSON valid', () => {
    expect(safeText(`a${ESC}[2J\u007f${CSI}\n`)).toBe('a\\u001b[2J\\u007f\\u009b\\u000a');
    expect(JSON.parse(safeJson(JSON.stringify({ s: `x${CSI}` })))).toEqual({ s: `x${CSI}` });
  });

  it('no raw ESC, BEL or CSI reaches the terminal from run, export, compile or an error', async () => {
    const cases = [
      ['run', '--model', hostile, '--input', '["1","2"]'],
      ['run', '--model', hostile, '--input', '["1","2"]', '--json'],
      ['run', '--model', hostile, '--input', '["1","2"]', '--all-positions'],
      ['run', '--model', shift, '--input', `["${ESC}[2J"]`],
      ['run', '--model', shift, '--input', `["${CSI}2J"]`, '--json'],
      ['run', 'lemma-b4', '--input', `["${ESC}[2J"]`],
      ['run', 'lemma-b4', '--param', `n=${ESC}[2J`, '--input', '[0]'],
      ['export', hostile, '--out', join(dir, 'h.safetensors')],
      ['compile', 'thm-5.2', '--source', hostile, '--out', join(dir, 'h52.json')],
      [`${ESC}[2J`],
    ];
    const results = await runAll(cases);
    results.forEach((r, k) => {
      const all = r.stdout + r.stderr;
      expect(all, cases[k].join(' ')).not.toMatch(/[\u001b\u0007\u009b]/);
      expect(r.stderr, cases[k].join(' ')).not.toMatch(/\n\s+at /);
    });
    // The echoed escape is still visible, as text.
    expect(results[3].stderr).toMatch(/\\u001b\[2J/);
    expect(results[9].stderr).toMatch(/unknown command "\\u001b\[2J"/);
  }, 240_000);
});

describe('messages that used to mislead (#19.8)', () => {
  it('build reports the bytes of the file, not the characters of the string', async () => {
    const file = join(dir, 'b9.json');
    const r = await run(['build', 'lemma-b9-shift', '--param', 'n=4', '--out', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(Buffer.byteLength(text)).toBeGreaterThan(text.length); // the labels are not all ASCII
    expect((JSON.parse(r.stdout) as { bytes: number }).bytes).toBe(statSync(file).size);
  }, 30_000);

  it('name the flag and its range; take only decimal numbers; give advice that applies', async () => {
    const out = join(dir, 'y.json');
    const cases: [string[], RegExp][] = [
      [['compile', 'thm-5.4', '--source', decoder, '--n', '4', '--steps', '1000000000000000', '--out', out], /--steps must be a whole number in 1\.\.67108859 .*got "1000000000000000"/],
      [['compile', 'thm-5.4', '--source', decoder, '--n', '4', '--steps', '1e15', '--out', out], /--steps must be a whole number in 1\.\.67108859/],
      [['run', 'lemma-b4', '--loops', '-1', '--input', '[0]'], /--loops must be a whole number from 0 to 100000, got "-1"/],
      [['run', 'lemma-b4', '--softmax-scale', '0x10', '--input', '[0]'], /--softmax-scale must be a positive decimal number or fraction/],
      [['counterexample', 'lemma-b4', '--scale', '0x10'], /--scale must be a positive decimal number or fraction/],
      [
        ['verify', 'thm-5.2', '--param', 'layers=32', '--param', 'distinct=32', '--param', 'width=32', '--param', 'heads=8', '--param', 'hidden=64', '--samples', '1'],
        /lower --param layers/,
      ],
    ];
    const results = await runAll(cases.map(([args]) => args));
    results.forEach((r, k) => {
      expectUsage(r, cases[k][1], cases[k][0].join(' '));
      expect(r.stderr).not.toMatch(/\bs must be|ambiguous|give the gates C and B explicitly/);
    });
  }, 180_000);

  it('--help --json prints the help as JSON', async () => {
    const [top, cmd, help] = await runAll([
      ['--help', '--json'],
      ['run', '--help', '--json'],
      ['help', 'counterexample', '--json'],
    ]);
    expect(top.code).toBe(0);
    expect((JSON.parse(top.stdout) as { help: string }).help).toMatch(/^looped — /);
    expect((JSON.parse(cmd.stdout) as { help: string }).help).toMatch(/^looped run /);
    expect((JSON.parse(help.stdout) as { help: string }).help).toMatch(/threshold searches report counterexamples/);
  }, 60_000);
});
