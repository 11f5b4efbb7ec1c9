// Terminal output: colour only on a terminal and never under NO_COLOR, tables that line up, and a
// progress line on stderr that --json runs never see. Text that came from a file or the command
// line is printed with its control characters escaped (safeText), and every printed line passes
// through the same escaping except for the colour codes we add ourselves, so a model name holding
// "\u001b[2J" cannot clear the user's screen. A failed write is an OutputError (exit 3).
import { writeFileSync } from 'node:fs';
import { Chalk, type ChalkInstance } from 'chalk';
import { CONTROL_CHARACTER } from '../simulators/strict-json.ts';

const CONTROL = new RegExp(CONTROL_CHARACTER.source, 'g');

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Untrusted text (a model name, a vocabulary entry, a file path, a token a user typed) made printable: every control character as \u001b. */
export function safeText(text: string): string {
  return text.replace(CONTROL, escapeChar);
}

/**
 * A line as it is written: the colour codes (SGR, ESC [ … m) that chalk adds and the newlines and
 * tabs of our own layout stay; every other control character is escaped. The last line of
 * defence: untrusted strings are escaped by safeText where they are put into the text.
 */
function safeLine(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (m) => (m.length > 1 ? m : escapeChar(m)));
}

/** Output that could not be written (stdout, stderr, an --out file): exit code 3, never 1 (a counterexample). */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** Exit code of a write that failed: its own, so a full disk never reads as "counterexample found" (1) or a usage error (2). */
export const EXIT_OUTPUT = 3;

/** Writes an --out file, or throws an OutputError naming it and the reason (ENOSPC, EACCES, …). */
export function writeOutFile(file: string, data: string | Uint8Array): void {
  try {
    writeFileSync(file, data);
  } catch (e) {
    throw new OutputError(`cannot write ${safeText(file)}: ${(e as NodeJS.ErrnoException).code ?? safeText((e as Error).message)}`);
  }
}

/** A command's --help: the text, or under --json one object {"help": text}. */
export function printHelp(out: Out, text: string): 0 {
  out.print(out.json ? JSON.stringify({ help: text }) : text);
  return 0;
}

export interface Out {
  color: ChalkInstance;
  json: boolean;
  tty: boolean;
  print(text?: string): void;
  error(text: string): void;
  progress(text: string): void;
  endProgress(): void;
}

// One progress line per process, shared by every Out: whichever prints next clears it first.
const progress = { shown: false, at: 0 };

/** Milliseconds since a progress line was last drawn (Infinity when none is shown). */
export function progressAge(): number {
  return progress.shown ? performance.now() - progress.at : Infinity;
}

export function makeOut(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Out {
  const tty = Boolean(stdout.isTTY);
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  const color = new Chalk({ level: tty && !noColor && !json ? 3 : 0 });
  // LOOPED_PROGRESS=1 shows progress on a stderr that is not a terminal (logs, tests).
  const progressOk = (Boolean(stderr.isTTY) || process.env.LOOPED_PROGRESS === '1') && !json;
  const endProgress = () => {
    if (progress.shown) stderr.write('\r\x1b[2K');
    progress.shown = false;
  };
  return {
    color,
    json,
    tty,
    print: (text = '') => {
      endProgress();
      stdout.write(`${safeLine(text)}\n`);
    },
    error: (text) => {
      endProgress();
      stderr.write(`${safeLine(text)}\n`);
    },
    progress(text) {
      if (!progressOk) return;
      stderr.write(`\r\x1b[2K${safeLine(text)}`);
      progress.shown = true;
      progress.at = performance.now();
    },
    endProgress() {
      endProgress();
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

/** JSON that keeps Infinity readable (JSON itself has no Infinity), with DEL and C1 escaped too (JSON.stringify escapes only C0). */
export function toJson(value: unknown): string {
  return safeJson(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
}

/** JSON text with DEL and the C1 controls written as \u escapes; still the same JSON (they occur only inside strings). */
export function safeJson(text: string): string {
  return text.replace(/[\u007f-\u009f]/g, escapeChar);
}
