// The largest and smallest of a list, by a loop. `Math.max(...xs)` passes every element as an
// argument and overflows the stack somewhere above 10^5 elements; vocabularies, positions and
// batches here may each reach 2^20.

/** The largest element; −Infinity for an empty list, NaN if any is NaN, 0 above −0 (as Math.max). */
export function maxOf(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m || Number.isNaN(x) || (x === 0 && Object.is(m, -0))) m = x;
  return m;
}

/** The smallest element; Infinity for an empty list, NaN if any is NaN, −0 below 0 (as Math.min). */
export function minOf(xs: readonly number[]): number {
  let m = Infinity;
  for (const x of xs) if (x < m || Number.isNaN(x) || (Object.is(x, -0) && m === 0)) m = x;
  return m;
}
