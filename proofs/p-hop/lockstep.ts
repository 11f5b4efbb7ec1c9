// The p-hop lockstep check: after every step (a loop of p-hop, a layer of p-hop-direct) the
// residual must hold the state of pointer doubling (tasks/p-hop.ts), read by subspace name.
import type { Lockstep } from '../construction.ts';
import type { RunResult } from '../../simulators/result.ts';
import type { Space } from '../../simulators/space.ts';
import { type Snapshot, Trace } from '../../simulators/trace.ts';
import { pointerDoublingRounds } from '../../tasks/p-hop.ts';
import { decodeSbin } from '../codes.ts';
import type { PHopConfig } from './config.ts';

/** A code subspace's values as the integer its sbin code stands for, or its raw values when they are not exactly ±1. */
export function asCode(vals: readonly number[]): number | string {
  if (!vals.every((x) => x === 1 || x === -1)) return `not a code: [${vals.join(', ')}]`;
  return decodeSbin(vals);
}

/** A one-hot letter subspace's values as the letter, null when empty, or its raw values. */
export function asLetter(vals: readonly number[]): number | null | string {
  if (vals.every((x) => x === 0)) return null;
  const ones = vals.flatMap((x, k) => (x === 1 ? [k] : []));
  if (ones.length === 1 && vals.every((x) => x === 0 || x === 1)) return ones[0];
  return `not one-hot: [${vals.join(', ')}]`;
}

/**
 * The states the model must hold, by step: step 1 (the shift) holds prev = v_{i−1}; step 2 + k
 * (the search for k = 0, round k − 1 after) holds a = R[k].a and b = f∘R[k].b, where R are the
 * rounds of pointerDoublingRounds(v, p − 1) and f = find_1 (see the module comment of common.ts).
 */
export function expectedStates(v: readonly number[], p: number): { prev: (number | null)[]; pointers: { a: number[]; b: number[] }[] } {
  const pd = pointerDoublingRounds(v, p - 1);
  return {
    prev: pd.previous,
    pointers: pd.rounds.map((r) => ({ a: r.a, b: r.b.map((x) => pd.f[x]) })),
  };
}

/**
 * The lockstep check on snapshots taken after each step (loop or layer, depending on the model).
 * `snapshotAfter` may hand back a snapshot of its own making (Corollary 5.3 compiled drops the
 * compiled model's extra position), so the states are read from the snapshots it returns, by
 * name, through a Trace over `residual`.
 */
export function pHopLockstep(cfg: PHopConfig, residual: Space, what: 'loop' | 'layer', snapshotAfter: (run: RunResult, step: number) => Snapshot, steps: number): Lockstep<number[]> {
  return {
    describe: `${what} by ${what}: prev, then pointers a, b = pointerDoublingRounds(v, p−1) (b composed with f)`,
    compare(v, run) {
      const exp = expectedStates(v, cfg.p);
      const positions = Array.from({ length: v.length + 1 }, (_, i) => i);
      const rows: { loop: number; expected: unknown; got: unknown }[] = [];
      for (let t = 1; t <= steps; t++) {
        const trace = new Trace(residual);
        const key = `step${t}`;
        trace.snapshots.set(key, snapshotAfter(run, t));
        const read = (name: string) => positions.map((i) => trace.read(key, name, i));
        if (t === 1) {
          rows.push({ loop: t, expected: { prev: exp.prev }, got: { prev: read('prev').map(asLetter) } });
        } else {
          const e = exp.pointers[t - 2];
          rows.push({ loop: t, expected: { a: e.a, b: e.b }, got: { a: read('a').map(asCode), b: read('b').map(asCode) } });
        }
      }
      return rows;
    },
  };
}
