// maxOf / minOf agree with Math.max / Math.min where those work, and keep working on lists long
// enough to overflow the stack through argument spreading (vocabularies and positions reach 2^20).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxOf, minOf } from '../simulators/extrema.ts';

describe('maxOf and minOf', () => {
  it('equal Math.max and Math.min on short lists (NaN and ±Infinity included)', () => {
    const value = fc.oneof(fc.double(), fc.constant(Number.NaN), fc.constant(Infinity), fc.constant(-Infinity), fc.constant(0), fc.constant(-0), fc.integer());
    fc.assert(
      fc.property(fc.array(value, { maxLength: 40 }), (xs) => {
        expect(Object.is(maxOf(xs), Math.max(...xs))).toBe(true);
        expect(Object.is(minOf(xs), Math.min(...xs))).toBe(true);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('handle 2^20 elements, where spreading into Math.max throws', () => {
    const xs = Array.from({ length: 1 << 20 }, (_, i) => ((i * 7919) % 1000003) - 500000);
    expect(() => Math.max(...xs)).toThrow(RangeError);
    expect(maxOf(xs)).toBe(xs.reduce((a, b) => (b > a ? b : a)));
    expect(minOf(xs)).toBe(xs.reduce((a, b) => (b < a ? b : a)));
  });
});
