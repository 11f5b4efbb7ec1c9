// Argument parsing shared by the commands: node's parseArgs, with its errors turned into usage
// errors, and `--param k=v` collected into a record. What parseArgs lets pass silently is refused
// here: a flag given twice (it would be last-wins), a parameter given twice, and flags that do not
// apply to the mode a command runs in (notApplicable).
import { parseArgs } from 'node:util';
import { parseBytes, parseCount, setMemoryBudget, setWorkBudget } from '../simulators/budget.ts';
import { UsageError } from '../common/errors.ts';
import { safeText } from './output.ts';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export type OptionValue = string | boolean | string[] | undefined;

export interface Parsed {
  positionals: string[];
  values: Record<string, OptionValue>;
}

/** A negative number: parseArgs would read "-1" after a flag as an option of its own. */
const NEGATIVE = /^-(\d|\.\d)/;

/**
 * `--loops -1` → `--loops=-1`, so a negative value reaches the flag's range check (which names the
 * flag and its range) instead of parseArgs's "argument is ambiguous". Only for string flags, and
 * only before `--`.
 */
function joinNegativeValues(argv: string[], options: OptionSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    const next = argv[i + 1];
    if (name !== undefined && Object.hasOwn(options, name) && options[name].type === 'string' && next !== undefined && NEGATIVE.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Flags every command takes: --help, and the budgets that work is checked against (simulators/budget.ts). */
const GLOBAL_OPTIONS: OptionSpec = { help: { type: 'boolean', short: 'h' }, 'max-memory': { type: 'string' }, 'max-work': { type: 'string' } };

/** Sets the budgets a command line gives (--max-memory 4G, --max-work 1e12) before the command does any work. */
function applyBudgets(values: Parsed['values']): void {
  const memory = stringOption(values['max-memory']);
  if (memory !== undefined) setMemoryBudget(parseBytes(memory, '--max-memory'));
  const work = stringOption(values['max-work']);
  if (work !== undefined) setWorkBudget(parseCount(work, '--max-work'));
}

export function parse(argv: string[], options: OptionSpec, command: string): Parsed {
  const spec: OptionSpec = { ...options, ...GLOBAL_OPTIONS };
  const parsed = (() => {
    try {
      return parseArgs({ args: joinNegativeValues(argv, spec), options: spec, allowPositionals: true, strict: true, tokens: true });
    } catch (e) {
      throw new UsageError(`${command}: ${safeText((e as Error).message.split('\n')[0])} (see looped ${command} --help)`);
    }
  })();
  // parseArgs keeps the last of a repeated flag; a user who wrote two has a mistake we should name.
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || spec[t.name]?.multiple) continue;
    if (seen.has(t.name)) throw new UsageError(`${command}: --${t.name} is given twice; give it once (see looped ${command} --help)`);
    seen.add(t.name);
  }
  const values = parsed.values as Parsed['values'];
  applyBudgets(values);
  return { positionals: parsed.positionals, values };
}

/**
 * `--param group=S3 --param n=4` → { group: 'S3', n: '4' }, in an object without a prototype, so a
 * name like `__proto__` or `constructor` is an own key that resolveParams refuses as unknown
 * instead of reaching Object.prototype. A name given twice is refused (it would be last-wins).
 */
export function paramsFrom(list: string[] | undefined): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes name=value, got "${safeText(item)}"`);
    const name = item.slice(0, eq).trim();
    if (name === '') throw new UsageError(`--param takes name=value, got "${safeText(item)}"`);
    if (Object.hasOwn(out, name)) throw new UsageError(`--param ${safeText(name)} is given twice (${safeText(name)}=${safeText(out[name])}, then ${safeText(item.trim())}); give each parameter once`);
    out[name] = item.slice(eq + 1).trim();
  }
  return out;
}

export function intOption(value: OptionValue, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (typeof value !== 'string' || !/^-?\d+$/.test(value) || v < min || v > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${safeText(String(value))}"`);
  }
  return v;
}

/** A decimal number (1, 0.5, 2e-3) or a fraction p/q; nothing else (Number() would take 0x10, 0b1, " 1"). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FRACTION = /^[+-]?\d+\/\d+$/;

/** A positive finite number written in decimal or as p/q, or a usage error naming the flag. */
export function positiveNumberOption(value: OptionValue, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : String(value);
  let v = NaN;
  if (DECIMAL.test(text)) v = Number(text);
  else if (FRACTION.test(text)) {
    const [p, q] = text.split('/').map(Number);
    v = p / q;
  }
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`--${name} must be a positive decimal number or fraction (like 2, 0.5, 1e-3 or 1/8), got "${safeText(text)}"`);
  return v;
}

export function stringOption(value: OptionValue): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Whether the flag was given (a value, a boolean, or a non-empty list). */
export function given(values: Parsed['values'], name: string): boolean {
  const v = values[name];
  return v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0);
}

/**
 * Refuses flags that the mode does not read: each would otherwise be ignored without a word.
 * `where` completes "--flag does not apply …", e.g. "to a model file (it sets a construction's parameters)".
 */
export function notApplicable(values: Parsed['values'], names: readonly string[], where: string): void {
  const name = names.find((n) => given(values, n));
  if (name !== undefined) throw new UsageError(`--${name} does not apply ${where}`);
}

/** Refuses positionals beyond those a command takes. */
export function noPositionals(positionals: string[], command: string): void {
  if (positionals.length > 0) throw new UsageError(`${command} takes no arguments, got ${positionals.map((p) => `"${safeText(p)}"`).join(' ')}`);
}
