// Argument parsing shared by the commands: node's parseArgs, with its errors turned into usage
// errors, and `--param k=v` collected into a record.
import { parseArgs } from 'node:util';
import { UsageError } from '../simulators/errors.ts';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface Parsed {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

export function parse(argv: string[], options: OptionSpec, command: string): Parsed {
  try {
    const { positionals, values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { positionals, values: values as Parsed['values'] };
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see looped ${command} --help)`);
  }
}

/** `--param group=S3 --param n=4` → { group: 'S3', n: '4' }. */
export function paramsFrom(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes name=value, got "${item}"`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

export function intOption(value: string | boolean | string[] | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (typeof value !== 'string' || !/^-?\d+$/.test(value) || v < min || v > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${String(value)}"`);
  }
  return v;
}

export function stringOption(value: string | boolean | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
