// Ctrl-C on a real child process (issues #15.5 and #19.1): `looped verify` stops within a second or
// two whatever the interpreter (fast64, fast32 and gpu:cpu sweeps, the exact fast-check search,
// --all), prints what it checked (under --json exactly one JSON object, "interrupted": true and
// "ok": null) and exits 130, also when the signal comes while the command is still loading.
//
// The runs are sized to take many minutes uninterrupted (S5 with n = 64, a hundred thousand
// samples), so a test that passes has seen the stop. Start-up alone takes seconds on a loaded
// machine, so the signal is sent a measured start-up time plus a margin after the spawn, or on
// the first progress line (LOOPED_PROGRESS=1), or (start-up) a fraction of a second after the
// spawn: node itself needs a moment before bin/looped.mjs installs its handler, and a signal that
// comes earlier kills it outright, so that case is retried a little later.
import { spawn, spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './support/cli.ts';

/** How long after the signal the process may take to exit (the aim is one or two seconds; the machine may be loaded). */
const STOP_MS = 3000;

interface Stopped {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From the signal to the exit. */
  afterSignalMs: number;
}

type When = { afterMs: number } | { stderr: RegExp };

/** Spawns `looped args…`, sends SIGINT when `when` says, and resolves when the child has exited. */
function interrupt(args: string[], when: When, env: Record<string, string> = {}): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    let sentAt = 0;
    const send = () => {
      if (sentAt !== 0) return;
      sentAt = performance.now();
      child.kill('SIGINT');
      // One that ignores Ctrl-C (as before the fix) would run for minutes: end it, and fail below.
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if ('stderr' in when && when.stderr.test(stderr)) send();
    });
    if ('afterMs' in when) setTimeout(send, when.afterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, afterSignalMs: sentAt === 0 ? NaN : performance.now() - sentAt });
    });
  });
}

/**
 * A Ctrl-C while the command is still loading: sent 150 ms after the spawn, and again later in a
 * fresh run while the signal keeps arriving before node has run the first line of bin/looped.mjs.
 */
async function interruptAtStartup(args: string[]): Promise<Stopped> {
  let r: Stopped | undefined;
  for (const ms of [150, 300, 600, 1200]) {
    r = await interrupt(args, { afterMs: ms });
    if (!(r.signal === 'SIGINT' && r.stdout === '' && r.stderr === '')) return r;
  }
  return r!;
}

/** The interrupted --json contract: exit 130, stdout exactly one JSON object, interrupted, not proven. */
function interruptedJson(r: Stopped, stopMs = STOP_MS): Record<string, unknown> {
  expect(r.signal, `killed by the signal itself; stderr: ${r.stderr}`).toBeNull();
  expect(r.code, `stderr: ${r.stderr}`).toBe(130);
  const body = JSON.parse(r.stdout) as Record<string, unknown>; // two objects, or none, do not parse
  expect(typeof body).toBe('object');
  expect(body.interrupted).toBe(true);
  expect(body.ok).toBeNull();
  expect(r.afterSignalMs).toBeLessThan(stopMs);
  return body;
}

const S5 = ['group-composition', '--param', 'group=S5', '--param', 'n=64'];
const MANY = 100_000;

describe('Ctrl-C during looped verify', () => {
  /** Wall time of a verify that does almost nothing: what start-up costs on this machine now. */
  let startupMs = 0;
  beforeAll(() => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, 'verify', 'lemma-b4', '--param', 'n=2', '--samples', '1', '--json'], { encoding: 'utf8' });
    startupMs = performance.now() - t0;
    expect(r.status, r.stderr).toBe(0);
  }, 60_000);
  const midRun = () => ({ afterMs: startupMs + 1500 });

  for (const interpreter of ['fast64', 'fast32', 'gpu:cpu']) {
    it(`stops a ${interpreter} sweep, prints one JSON object with what it checked, exits 130`, async () => {
      const r = await interrupt(['verify', ...S5, '--samples', String(MANY), '--interpreter', interpreter, '--json'], midRun());
      const body = interruptedJson(r);
      const sweep = body.sweep as { samples: number; interrupted: boolean; interpreter: string; failed: boolean };
      expect(sweep.interpreter).toBe(interpreter);
      expect(sweep.samples).toBeLessThan(MANY);
      expect(sweep.failed).toBe(false);
    }, 60_000);
  }

  it('stops a sweep seen running (first progress line), text output says interrupted, exits 130', async () => {
    const r = await interrupt(['verify', ...S5, '--samples', String(MANY), '--interpreter', 'fast64'], { stderr: /sweep \(fast64\)\s+[1-9]\d*\/100000/ }, { LOOPED_PROGRESS: '1' });
    expect(r.code, r.stderr).toBe(130);
    expect(r.afterSignalMs).toBeLessThan(STOP_MS);
    const checked = Number(/no wrong answer on the (\d+) inputs checked \(not proven\)/.exec(r.stdout)?.[1]);
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThan(MANY);
    expect(r.stdout).not.toMatch(/holds on every input/);
    expect(r.stderr).toMatch(new RegExp(`interrupted: ${checked} of the inputs were checked`));
  }, 60_000);

  it('stops the exact fast-check search (one sample takes about a second), exits 130 with ok null', async () => {
    const r = await interrupt(['verify', ...S5, '--samples', '1000', '--json'], midRun());
    const body = interruptedJson(r);
    const checks = body.checks as { samples: number; failed: boolean }[];
    expect(checks.every((k) => !k.failed)).toBe(true);
    expect(checks.reduce((s, k) => s + k.samples, 0)).toBeLessThan(1000);
  }, 60_000);

  it('stops verify --all, exits 130 with ok null', async () => {
    const r = await interrupt(['verify', '--all', '--samples', String(MANY), '--json'], midRun());
    const body = interruptedJson(r);
    expect(Array.isArray(body.reports)).toBe(true);
  }, 60_000);

  it('a Ctrl-C during start-up still gives one JSON object, empty, and exit 130', async () => {
    const r = await interruptAtStartup(['verify', ...S5, '--samples', '1000', '--json']);
    // Loading the command is not interruptible; what follows it must be at once.
    const body = interruptedJson(r, startupMs + STOP_MS);
    expect(body.construction).toBe('group-composition');
    expect(body.checks).toEqual([]);
  }, 60_000);

  it('any other command still ends at once on Ctrl-C, even inside a synchronous search', async () => {
    const r = await interrupt(['counterexample', ...S5, '--loops', '6', '--samples', String(MANY), '--json'], midRun());
    expect(r.signal === 'SIGINT' || r.code === 130, `code ${r.code}, signal ${r.signal}`).toBe(true);
    expect(r.afterSignalMs).toBeLessThan(STOP_MS);
  }, 60_000);

  it('any other command interrupted during start-up: exit 130, under --json one JSON object', async () => {
    const r = await interruptAtStartup(['counterexample', ...S5, '--loops', '6', '--samples', String(MANY), '--json']);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ interrupted: true, kind: 'Interrupted' });
  }, 60_000);

  it('a Ctrl-C during start-up without --json: one line on stderr, nothing on stdout, exit 130', async () => {
    const r = await interruptAtStartup(['verify', ...S5, '--samples', '1000']);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual(['looped verify: interrupted (Ctrl-C) before anything was checked']);
  }, 60_000);
});
