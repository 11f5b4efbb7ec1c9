// The memory and work budgets every command checks before it builds or runs something, so work
// that cannot fit is refused up front (exit 2, naming the estimate, the budget and what to lower)
// instead of filling the heap or running for an hour without a word.
//
// Memory: by default the smaller of three quarters of the machine's free memory and the
// JavaScript heap limit (exact values and labels live on the heap; typed arrays do not, but a
// model that needs more than the heap limit in weights alone is too big to run here anyway).
// `--max-memory 2G` sets it. Work: multiply-adds, weighted by how much slower the interpreter's
// number system is than a double; `--max-work 1e12` sets it.
import { freemem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { ResourceError, UsageError } from '../common/errors.ts';

let memoryLimit: number | null = null;
let workLimit: number | null = null;

/** The default work budget in weighted multiply-adds: about a quarter of an hour of exact arithmetic here. */
export const DEFAULT_MAX_WORK = 1e12;

export function defaultMemoryBudget(): number {
  return Math.floor(Math.min(0.75 * freemem(), getHeapStatistics().heap_size_limit));
}

/** The memory budget in bytes. */
export function memoryBudget(): number {
  return memoryLimit ?? defaultMemoryBudget();
}

/** The work budget in weighted multiply-adds. */
export function workBudget(): number {
  return workLimit ?? DEFAULT_MAX_WORK;
}

/** Sets the budgets (null restores the default); the CLI's --max-memory and --max-work. */
export function setMemoryBudget(bytes: number | null): void {
  memoryLimit = bytes;
}
export function setWorkBudget(ops: number | null): void {
  workLimit = ops;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40 };

/** "512M", "4G", "1.5GiB", "1000000" → bytes (binary units); a usage error naming the flag otherwise. */
export function parseBytes(text: string, flag = '--max-memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!(bytes >= 1) || !Number.isFinite(bytes)) {
    throw new UsageError(`${flag} takes a size like 512M, 4G or 1000000 (bytes), got ${JSON.stringify(text)}`);
  }
  return Math.floor(bytes);
}

/** "1e12", "500000000" → a positive count; a usage error naming the flag otherwise. */
export function parseCount(text: string, flag = '--max-work'): number {
  const v = /^\s*\d+(?:\.\d+)?(?:e\d+)?\s*$/i.test(text) ? Number(text) : NaN;
  if (!(v >= 1) || !Number.isFinite(v)) throw new UsageError(`${flag} takes a positive number like 1e12, got ${JSON.stringify(text)}`);
  return v;
}

export function formatBytes(n: number): string {
  if (n < 2 ** 10) return `${Math.round(n)} B`;
  const [unit, size] = n < 2 ** 20 ? ['KiB', 2 ** 10] : n < 2 ** 30 ? ['MiB', 2 ** 20] : n < 2 ** 40 ? ['GiB', 2 ** 30] : ['TiB', 2 ** 40];
  const v = n / size;
  return `${v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ${unit}`;
}

export function formatCount(n: number): string {
  return n < 1e6 ? String(Math.round(n)) : n.toExponential(1).replace('e+', 'e');
}

/**
 * Refuses memory that does not fit: `what` names the thing ("the weights of group-composition",
 * "stages[0].layers[0].mlp.W_in (39 × 1,000,000)"), `lower` what the user can change.
 */
export function requireMemory(bytes: number, what: string, lower?: string): void {
  const limit = memoryBudget();
  if (!(bytes <= limit)) {
    throw new ResourceError(`${what} needs about ${formatBytes(bytes)}, over the memory budget of ${formatBytes(limit)} (set it with --max-memory)${lower ? `; lower ${lower}` : ''}`);
  }
}

/** Refuses work that does not fit, in weighted multiply-adds. */
export function requireWork(ops: number, what: string, lower?: string): void {
  const limit = workBudget();
  if (!(ops <= limit)) {
    throw new ResourceError(`${what} needs about ${formatCount(ops)} weighted multiply-adds, over the work budget of ${formatCount(limit)} (set it with --max-work)${lower ? `; lower ${lower}` : ''}`);
  }
}

// Allocation accounting: every weight matrix charges its bytes before it is allocated, and the
// running total of one scope (a build, a load) is held against the memory budget. A scope knows
// what the user can lower, so a refusal deep inside a builder still names the parameters.
interface Scope {
  what: string;
  lower?: string;
  bytes: number;
}
const scopes: Scope[] = [];

/** Runs `fn` as one accounted unit of work: "building group-composition", lower "group=Z1000 or n". */
export function withMemoryScope<T>(what: string, lower: string | undefined, fn: () => T): T {
  scopes.push({ what, lower, bytes: 0 });
  try {
    return fn();
  } finally {
    scopes.pop();
  }
}

/** Charges an allocation of `bytes` (named by `item`) to the open scopes, refusing it when the total does not fit. */
export function chargeMemory(bytes: number, item: string): void {
  const limit = memoryBudget();
  if (scopes.length === 0) {
    requireMemory(bytes, item);
    return;
  }
  for (const s of scopes) {
    if (s.bytes + bytes > limit) {
      const total = s.bytes + bytes;
      throw new ResourceError(
        `${s.what} needs more than ${formatBytes(total)} (stopped at ${item}, ${formatBytes(bytes)}), over the memory budget of ${formatBytes(limit)} (set it with --max-memory)${s.lower ? `; lower ${s.lower}` : ''}`,
      );
    }
  }
  for (const s of scopes) s.bytes += bytes;
}
