// Two ways the tests drive the command line: `looped(...)` runs the real command in a child
// process (stdout, stderr and exit code as a user sees them); `captureOut()` gives a command
// function an Out that records its lines, for in-process checks that need no process start.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Chalk } from 'chalk';
import type { Out } from '../../cli/output.ts';

export const BIN = fileURLToPath(new URL('../../bin/looped.mjs', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function looped(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** An Out without colour or progress whose printed and error lines land in `lines`. */
export function captureOut(json = false): { out: Out; lines: string[] } {
  const lines: string[] = [];
  const out: Out = {
    color: new Chalk({ level: 0 }),
    json,
    tty: false,
    print: (t = '') => void lines.push(t),
    error: (t) => void lines.push(t),
    progress: () => {},
    endProgress: () => {},
  };
  return { out, lines };
}
