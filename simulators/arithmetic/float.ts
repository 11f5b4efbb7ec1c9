// IEEE doubles, and single precision with every operation rounded by Math.fround (so float32 here
// means what a float32 kernel computes, up to the order of additions). Softmax subtracts the
// largest score first, the stable form every framework uses.
import type { NumberSystem } from './number-system.ts';

function floatSystem(name: string, round: (x: number) => number): NumberSystem<number> {
  return {
    name,
    zero: 0,
    one: 1,
    fromWeight: (value) => round(value),
    fromInt: (k) => round(k),
    add: (a, b) => round(a + b),
    mul: (a, b) => round(a * b),
    div: (a, b) => round(a / b),
    relu: (a) => (a > 0 ? a : 0),
    cmp: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    isZero: (a) => a === 0,
    toNumber: (a) => a,
    softmax(scores) {
      let max = -Infinity;
      for (const s of scores) if (s > max) max = s;
      const e = scores.map((s) => round(Math.exp(round(s - max))));
      let sum = 0;
      for (const x of e) sum = round(sum + x);
      return e.map((x) => round(x / sum));
    },
  };
}

export const float64: NumberSystem<number> = floatSystem('float64', (x) => x);
export const float32: NumberSystem<number> = floatSystem('float32', Math.fround);
