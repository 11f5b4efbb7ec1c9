// Terminal output: colour only on a terminal and never under NO_COLOR, tables that line up, and a
// progress line on stderr that --json runs never see.
import { Chalk, type ChalkInstance } from 'chalk';

export interface Out {
  color: ChalkInstance;
  json: boolean;
  tty: boolean;
  print(text?: string): void;
  error(text: string): void;
  progress(text: string): void;
  endProgress(): void;
}

export function makeOut(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Out {
  const tty = Boolean(stdout.isTTY);
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  const color = new Chalk({ level: tty && !noColor && !json ? 3 : 0 });
  let progressShown = false;
  const progressOk = Boolean(stderr.isTTY) && !json;
  return {
    color,
    json,
    tty,
    print: (text = '') => stdout.write(`${text}\n`),
    error: (text) => stderr.write(`${text}\n`),
    progress(text) {
      if (!progressOk) return;
      stderr.write(`\r\x1b[2K${text}`);
      progressShown = true;
    },
    endProgress() {
      if (progressShown) stderr.write('\r\x1b[2K');
      progressShown = false;
    },
  };
}

/** Columns padded to their widest cell (ANSI colour codes do not count towards width). */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  const widths = all[0]?.map((_, c) => Math.max(...all.map((r) => plain(r[c] ?? '').length))) ?? [];
  const line = (r: string[]) => r.map((cell, c) => cell + ' '.repeat(widths[c] - plain(cell).length)).join('  ').trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  return out.join('\n');
}

/** A margin as a short number: ∞ when there was nothing to compare. */
export function fmtNumber(x: number): string {
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '-∞';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? x.toFixed(4).replace(/\.?0+$/, '') : x.toExponential(3);
}

/** JSON that keeps Infinity readable (JSON itself has no Infinity). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
}
