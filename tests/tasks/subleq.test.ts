// The SUBLEQ reference interpreter (tasks/subleq.ts) on hand-checked programs, and its laws on
// random ones: wrap is two's complement, a halted machine is a fixed point, rounds agree with run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SubleqInput, checkInput, haltsAfter, rounds, run, step, wrap } from '../../tasks/subleq.ts';

const SEED = 23;

describe('wrap: N-bit two\'s complement', () => {
  it('maps into −2^(N−1)..2^(N−1)−1 modulo 2^N', () => {
    expect(wrap(8, 4)).toBe(-8);
    expect(wrap(7, 4)).toBe(7);
    expect(wrap(-9, 4)).toBe(7);
    expect(wrap(-8, 4)).toBe(-8);
    expect(wrap(0, 1)).toBe(0);
    expect(wrap(1, 1)).toBe(-1);
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 8 }), (x, n) => {
        const w = wrap(x, n);
        return w >= -(2 ** (n - 1)) && w < 2 ** (n - 1) && (((x - w) % 2 ** n) + 2 ** n) % 2 ** n === 0;
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('step on hand-checked programs', () => {
  it('subtracts, then branches on ≤ 0 or falls through', () => {
    const program = [[0, 1, 2], [2, 3, 0], [1, 1, 4], [0, 0, 0]] as const;
    // mem[1] = −2 − 3 = −5 ≤ 0 → pc 2; mem[1] = −5 − (−5) = 0 ≤ 0 → pc 4 = K: halted.
    const s1 = step(program, { mem: [3, -2, 5, 7], pc: 0 }, 4);
    expect(s1).toEqual({ mem: [3, -5, 5, 7], pc: 2 });
    const s2 = step(program, s1, 4);
    expect(s2).toEqual({ mem: [3, 0, 5, 7], pc: 4 });
    expect(step(program, s2, 4)).toEqual(s2);
    // A positive result falls through: mem[3] = 7 − 5 = 2 > 0 → pc + 1.
    expect(step(program, { mem: [3, -2, 5, 7], pc: 1 }, 4)).toEqual({ mem: [3, -2, 5, 2], pc: 2 });
  });

  it('wraps the difference: 7 − (−1) = 8 is −8 in 4 bits, so it branches', () => {
    expect(step([[0, 1, 0]], { mem: [-1, 7], pc: 0 }, 4)).toEqual({ mem: [-1, -8], pc: 0 });
    // −8 − 1 = −9 wraps to 7 > 0: falls through to pc 1 = K.
    expect(step([[0, 1, 0]], { mem: [1, -8], pc: 0 }, 4)).toEqual({ mem: [1, 7], pc: 1 });
  });

  it('a = b clears the cell and always jumps (x − x = 0 ≤ 0)', () => {
    expect(step([[1, 1, 0], [0, 0, 0]], { mem: [5, -3], pc: 0 }, 4)).toEqual({ mem: [5, 0], pc: 0 });
  });
});

const arbInput = (K: number, M: number, N: number): fc.Arbitrary<SubleqInput> =>
  fc.record({
    program: fc.array(fc.tuple(fc.integer({ min: 0, max: M - 1 }), fc.integer({ min: 0, max: M - 1 }), fc.integer({ min: 0, max: K })), { minLength: K, maxLength: K }),
    mem: fc.array(fc.integer({ min: -(2 ** (N - 1)), max: 2 ** (N - 1) - 1 }), { minLength: M, maxLength: M }),
  });

describe('laws on random programs', () => {
  it('rounds(T)[t] is run(t), values stay in range, pc stays in 0..K, halted states are fixed', () => {
    fc.assert(
      fc.property(arbInput(4, 3, 3), fc.integer({ min: 0, max: 12 }), (input, T) => {
        const rs = rounds(input, 3, T);
        expect(rs).toHaveLength(T + 1);
        for (let t = 0; t <= T; t++) {
          expect(rs[t]).toEqual(run(input, 3, t));
          expect(rs[t].pc).toBeGreaterThanOrEqual(0);
          expect(rs[t].pc).toBeLessThanOrEqual(4);
          for (const v of rs[t].mem) expect(v >= -4 && v <= 3).toBe(true);
          if (t > 0 && rs[t - 1].pc === 4) expect(rs[t]).toEqual(rs[t - 1]);
        }
        const h = haltsAfter(input, 3, T);
        if (h !== null) expect(rs[h].pc).toBe(4);
        else expect(rs[T].pc).toBeLessThan(4);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('does not modify its input', () => {
    const input = { program: [[0, 1, 0]] as const, mem: [1, 2] };
    run(input, 4, 5);
    expect(input.mem).toEqual([1, 2]);
  });
});

describe('checkInput names what is wrong', () => {
  const shape = { instructions: 2, memory: 2, bits: 3 };
  const ok = { program: [[0, 1, 2], [1, 0, 0]] as const, mem: [3, -4] };
  it('accepts a valid input', () => expect(() => checkInput(ok, shape)).not.toThrow());
  it.each([
    [{ ...ok, mem: [4, 0] }, /mem\[0\] = 4 is not an N = 3-bit .*-4\.\.3/],
    [{ ...ok, mem: [0, -5] }, /mem\[1\] = -5/],
    [{ ...ok, mem: [0.5, 0] }, /mem\[0\] = 0\.5/],
    [{ ...ok, mem: [0] }, /exactly M = 2 integers, got 1/],
    [{ ...ok, program: [[0, 1, 2]] }, /exactly K = 2 instructions, got 1/],
    [{ ...ok, program: [[0, 2, 0], [0, 0, 0]] }, /program\[0\]: b = 2 must be a whole number in 0\.\.1/],
    [{ ...ok, program: [[0, 0, 0], [0, 0, 3]] }, /program\[1\]: c = 3 must be a whole number in 0\.\.2/],
    [{ ...ok, program: [[0, 0], [0, 0, 0]] }, /program\[0\] must be an instruction \[a, b, c\]/],
  ])('refuses %j', (input, message) => {
    expect(() => checkInput(input as SubleqInput, shape)).toThrow(message);
  });
});
