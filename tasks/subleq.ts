/**
 * SUBLEQ, the one-instruction computer of Giannou et al. 2023 ("Looped Transformers as
 * Programmable Computers"), as a plain interpreter: the reference that examples/subleq.ts is
 * checked against, step by step. It knows nothing of transformers.
 *
 * Semantics this project fixes (../shared/paper-notes.md §5):
 * - a machine has K instructions (a, b, c) with 0 ≤ a, b < M and 0 ≤ c ≤ K, M memory cells and a
 *   program counter pc, which starts at 0;
 * - values are N-bit two's-complement integers, −2^(N−1) … 2^(N−1) − 1;
 * - instruction (a, b, c) does mem[b] ← wrap(mem[b] − mem[a]), then pc ← c if the new mem[b] ≤ 0,
 *   else pc ← pc + 1;
 * - a pc outside 0..K−1 has halted: a step then changes nothing. (Every jump target c and every
 *   pc + 1 is at most K, so a running machine's pc is always in 0..K and a halted one's is K.)
 * - an input value outside the N-bit range is an input error, not wrapped silently.
 */
import { InputError } from '../common/errors.ts';

export type Instruction = readonly [a: number, b: number, c: number];

export interface SubleqInput {
  program: readonly Instruction[];
  mem: readonly number[];
}

export interface SubleqState {
  mem: number[];
  pc: number;
}

export interface SubleqShape {
  /** K: instructions. */
  instructions: number;
  /** M: memory cells. */
  memory: number;
  /** N: bits of a value. */
  bits: number;
}

/** The least and greatest N-bit two's-complement values. */
export function valueRange(bits: number): { min: number; max: number } {
  return { min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 };
}

/** x reduced to the N-bit two's-complement range (x mod 2^N, taken in −2^(N−1) … 2^(N−1) − 1). */
export function wrap(x: number, bits: number): number {
  const m = 2 ** bits;
  const u = ((x % m) + m) % m;
  return u >= m / 2 ? u - m : u;
}

/** Checks an input against the machine's shape; an InputError names the field, the index and the allowed range. */
export function checkInput(input: SubleqInput, shape: SubleqShape): void {
  const { instructions: K, memory: M, bits: N } = shape;
  if (!Array.isArray(input.program) || input.program.length !== K) {
    throw new InputError(`"program" must list exactly K = ${K} instructions, got ${Array.isArray(input.program) ? input.program.length : typeof input.program}`);
  }
  if (!Array.isArray(input.mem) || input.mem.length !== M) {
    throw new InputError(`"mem" must list exactly M = ${M} integers, got ${Array.isArray(input.mem) ? input.mem.length : typeof input.mem}`);
  }
  input.program.forEach((ins, k) => {
    if (!Array.isArray(ins) || ins.length !== 3) throw new InputError(`program[${k}] must be an instruction [a, b, c], got ${JSON.stringify(ins)}`);
    const [a, b, c] = ins;
    const field = (name: string, v: unknown, hi: number) => {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > hi) {
        throw new InputError(`program[${k}]: ${name} = ${JSON.stringify(v)} must be a whole number in 0..${hi}`);
      }
    };
    field('a', a, M - 1);
    field('b', b, M - 1);
    field('c', c, K);
  });
  const { min, max } = valueRange(N);
  input.mem.forEach((v, m) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new InputError(`mem[${m}] = ${JSON.stringify(v)} is not an N = ${N}-bit two's-complement integer (${min}..${max})`);
    }
  });
}

/** One SUBLEQ step; a halted machine (pc outside 0..K−1) is returned unchanged. */
export function step(program: readonly Instruction[], state: SubleqState, bits: number): SubleqState {
  const { pc } = state;
  if (pc < 0 || pc >= program.length) return { mem: [...state.mem], pc };
  const [a, b, c] = program[pc];
  const mem = [...state.mem];
  mem[b] = wrap(mem[b] - mem[a], bits);
  return { mem, pc: mem[b] <= 0 ? c : pc + 1 };
}

/** The rounds: the state after 0, 1, …, T steps (T + 1 states; the first is the input with pc = 0). */
export function rounds(input: SubleqInput, bits: number, steps: number): SubleqState[] {
  const out: SubleqState[] = [{ mem: [...input.mem], pc: 0 }];
  for (let t = 0; t < steps; t++) out.push(step(input.program, out[t], bits));
  return out;
}

/** The state after T steps. */
export function run(input: SubleqInput, bits: number, steps: number): SubleqState {
  let s: SubleqState = { mem: [...input.mem], pc: 0 };
  for (let t = 0; t < steps; t++) s = step(input.program, s, bits);
  return s;
}

/** The number of steps after which the machine has halted (pc = K), or null if it has not within `limit` steps. */
export function haltsAfter(input: SubleqInput, bits: number, limit: number): number | null {
  let s: SubleqState = { mem: [...input.mem], pc: 0 };
  for (let t = 0; t <= limit; t++) {
    if (s.pc >= input.program.length) return t;
    s = step(input.program, s, bits);
  }
  return null;
}
