// Every construction at the top of its parameter ranges either runs, showing progress all along,
// or is refused at once with a one-line error (issue: work that cannot fit is refused up front).
// Each setting runs the real command in a child process for a few seconds: by then it must have
// exited cleanly or be drawing its progress line, and no stretch of silence may exceed 5 s.
import { spawn } from 'node:child_process';
import { evaluate } from 'mathjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { allConstructions } from '../proofs/registry.ts';
import { BIN } from './support/cli.ts';

/** Every int parameter at its max, and text parameters whose forms give a numeric range at theirs. */
function maximaOf(id: string): string[] {
  const c = allConstructions().find((x) => x.id === id)!;
  const scope: Record<string, number> = {};
  for (const p of c.params) if (p.kind === 'int' && p.max !== undefined) scope[p.name] = p.max;
  const args = Object.entries(scope).map(([k, v]) => `${k}=${v}`);
  for (const p of c.params) {
    const m = p.kind === 'text' ? /whole number (-?\d+)\s*\.\.\s*([^\s,;]+)/.exec(p.forms ?? '') : null;
    if (!m) continue;
    try {
      const v = Number(evaluate(m[2].replace(/−/g, '-').replace(/⌈log2 p⌉/g, 'ceil(log2(p))'), { ...scope }));
      if (Number.isSafeInteger(v)) args.push(`${p.name}=${v}`);
    } catch {
      // a range the test cannot read (2^(2s)−1): the extra settings below cover it
    }
  }
  return args;
}

const settings: { id: string; params: string[] }[] = [
  ...allConstructions().map((c) => ({ id: c.id, params: maximaOf(c.id) })),
  { id: 'group-composition', params: ['group=Z1000', 'n=4'] },
  { id: 'group-composition', params: ['group=Z4096', 'n=256'] },
  { id: 'group-composition', params: ['group=S5', 'n=256'] },
  { id: 'lemma-b6-argmax', params: ['d=8', 's=26', 'r=4095'] },
  { id: 'cot-automaton', params: ['automaton=S5', 'n=64', 'variant=no-masks'] },
  { id: 'cot-circuit', params: ['kind=igsm', 'inputs=16', 'gates=32', 'mod=16', 'variant=no-masks'] },
];

interface Observation {
  code: number | null;
  stderr: string;
  /** Milliseconds from spawn to the first byte on stderr (progress or error). */
  first: number;
  /** The longest silence on stderr after the first byte, while the process ran. */
  longestGap: number;
  /** Milliseconds from spawn to exit (or to the kill). */
  elapsed: number;
}

function observe(args: string[], watchMs: number): Promise<Observation> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', LOOPED_PROGRESS: '1' } });
    let stderr = '';
    let first = Infinity;
    let last = NaN;
    let longestGap = 0;
    child.stderr.on('data', (b: Buffer) => {
      const now = performance.now() - start;
      if (first === Infinity) first = now;
      else longestGap = Math.max(longestGap, now - last);
      last = now;
      stderr += b.toString();
    });
    child.stdout.resume();
    const timer = setTimeout(() => {
      longestGap = Math.max(longestGap, performance.now() - start - last);
      child.kill('SIGKILL');
    }, watchMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, first, longestGap, elapsed: performance.now() - start });
    });
  });
}

/** The lines a terminal would show at the end: each progress redraw (\r ESC[2K) replaces what came before on its line. */
function finalLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.split('\r\x1b[2K').pop()!.trim())
    .filter((line) => line !== '' && !line.endsWith('…'));
}

// Node and tsx alone take 1–3 s to start here, more on a loaded machine: the 5 s are counted from
// the time a command that does no work (verify --help) takes to answer, measured in the same run,
// and a refusal's 5 s from the first line the command writes when it starts work.
let startup = 0;
beforeAll(async () => {
  const o = await observe(['verify', '--help'], 30_000);
  startup = o.code === 0 ? o.elapsed : 0;
}, 40_000);

describe('parameters at their maxima: run with progress, or refused at once', () => {
  for (const s of settings) {
    it(`${s.id} ${s.params.join(' ')}`, async () => {
      const o = await observe(['verify', s.id, ...s.params.flatMap((p) => ['--param', p]), '--samples', '1'], startup + 8000);
      // The first line ("building …", or the refusal) comes as soon as the command starts work:
      // within 6 s of what start-up alone takes (other test files load the machine meanwhile).
      expect(o.first - startup, `nothing on stderr within 6 s of start-up (${startup.toFixed(0)} ms):\n${o.stderr}`).toBeLessThan(6000);
      expect(o.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // never a stack trace
      if (o.code === null) {
        // Still running when killed: it must have kept the progress line moving.
        expect(o.longestGap, `silent for ${o.longestGap.toFixed(0)} ms:\n${o.stderr.slice(-400)}`).toBeLessThan(5000);
        expect(o.stderr).toMatch(/…/);
      } else if (o.code === 2) {
        // Refused within 5 s of starting work.
        expect(o.elapsed - o.first, o.stderr).toBeLessThan(5000);
        // A refusal: one line naming what does not fit (or the parameter that is out of range).
        const lines = finalLines(o.stderr);
        expect(lines, o.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^looped verify: /);
      } else {
        expect([0, 1]).toContain(o.code);
      }
    }, 60_000);
  }

  it('refuses group-composition Z1000 up front, naming the estimate, the budget and what to lower', async () => {
    const o = await observe(['run', 'group-composition', '--param', 'group=Z1000', '--param', 'n=4', '--input', '[0,0,0,0]'], 15000);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/needs about [\d.]+ GiB, over the memory budget of .* \(set it with --max-memory\); lower group=Z1000/);
  }, 20_000);

  it('--max-memory sets the budget: a small model refused under 1M runs under the default', async () => {
    const args = ['run', 'lemma-b4', '--param', 'n=256', '--input', JSON.stringify(Array.from({ length: 256 }, (_, i) => i % 4))];
    const small = await observe([...args, '--max-memory', '1M'], 15000);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/over the memory budget of 1\.0 MiB/);
    const fine = await observe(args, 15000);
    expect(fine.code).toBe(0);
  }, 40_000);

  it('--max-work refuses a run whose estimated arithmetic is over it', async () => {
    const o = await observe(['run', 'lemma-b4', '--param', 'n=8', '--input', '[0,1,2,3,0,1,2,3]', '--max-work', '100'], 15000);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/weighted multiply-adds, over the work budget of 100 \(set it with --max-work\)/);
  }, 20_000);
});
