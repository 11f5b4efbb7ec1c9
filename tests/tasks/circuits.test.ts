// Circuits (tasks/circuits.ts): the reference evaluation on hand-checked circuits and against a
// recursive evaluation from the definition, validation errors, the prompt serialisation and its
// inverse, the text form, and the samplers (seeded, valid, of the depth asked for).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../../properties/config.ts';
import { InputError } from '../../common/errors.ts';
import {
  type Circuit,
  type CircuitFamily,
  booleanFamily,
  circuitArbitrary,
  circuitDepth,
  circuitFamily,
  circuitVocabulary,
  evaluateCircuit,
  formatCircuit,
  gateDepths,
  gatePositions,
  igsmFamily,
  layeredCircuitArbitrary,
  parseCircuit,
  parsePrompt,
  promptLength,
  sampleBooleanCircuit,
  sampleCircuit,
  sampleIgsm,
  serialiseCircuit,
  structuralCircuitArbitrary,
  validateCircuit,
  valuePosition,
} from '../../tasks/circuits.ts';
import { mulberry32 } from '../../tasks/random.ts';

const bool = booleanFamily();
const z7 = igsmFamily(7);

/** The value of a node straight from the definition: recursion on the arguments, no table. */
function valueOf(family: CircuitFamily, c: Circuit, node: number): number {
  const k = c.inputs.length;
  if (node < k) return c.inputs[node];
  const gate = c.gates[node - k];
  const [a, b] = gate.args.map((x) => valueOf(family, c, x));
  switch (gate.op) {
    case 'AND': return a && b ? 1 : 0;
    case 'OR': return a || b ? 1 : 0;
    case 'XOR': return a !== b ? 1 : 0;
    case 'NOT': return a === 0 ? 1 : 0;
    case '+': return (a + b) % family.q;
    case '-': return (a - b + family.q) % family.q;
    case '*': return (a * b) % family.q;
  }
  throw new Error(`no op ${gate.op}`);
}

describe('reference evaluation', () => {
  it('a hand-checked Boolean circuit: half adder and a NOT', () => {
    // x = (1, 1, 0); g0 = x0 AND x1 = 1 (carry), g1 = x0 XOR x1 = 0 (sum), g2 = NOT g1 = 1,
    // g3 = g2 OR x2 = 1, g4 = g0 XOR g3 = 0.
    const c: Circuit = {
      inputs: [1, 1, 0],
      gates: [
        { op: 'AND', args: [0, 1] },
        { op: 'XOR', args: [0, 1] },
        { op: 'NOT', args: [4] },
        { op: 'OR', args: [5, 2] },
        { op: 'XOR', args: [3, 6] },
      ],
    };
    expect(evaluateCircuit(bool, c)).toEqual([1, 0, 1, 1, 0]);
    expect(gateDepths(bool, c)).toEqual([1, 1, 2, 3, 4]);
    expect(circuitDepth(bool, c)).toBe(4);
  });

  it('a hand-checked i-GSM problem mod 7', () => {
    // Constants 3, 5, 6. g0 = 3 + 5 = 8 ≡ 1, g1 = g0 · 6 = 6, g2 = 3 − g1 = −3 ≡ 4, g3 = g2 · g2 = 16 ≡ 2.
    const c: Circuit = {
      inputs: [3, 5, 6],
      gates: [
        { op: '+', args: [0, 1] },
        { op: '*', args: [3, 2] },
        { op: '-', args: [0, 4] },
        { op: '*', args: [5, 5] },
      ],
    };
    expect(evaluateCircuit(z7, c)).toEqual([1, 6, 4, 2]);
  });

  it('equals the recursive evaluation from the definition on random circuits of both kinds', () => {
    const shapes = fc.record({ inputs: fc.integer({ min: 1, max: 5 }), gates: fc.integer({ min: 1, max: 12 }) });
    for (const family of [bool, z7, igsmFamily(5)]) {
      fc.assert(
        fc.property(shapes.chain((shape) => circuitArbitrary(family, shape)), (c) => {
          const k = c.inputs.length;
          expect(evaluateCircuit(family, c)).toEqual(c.gates.map((_, g) => valueOf(family, c, k + g)));
        }),
        fcParams(150),
      );
    }
  });
});

describe('validation: an InputError naming the problem', () => {
  const good = (): Circuit => ({ inputs: [1, 0], gates: [{ op: 'AND', args: [0, 1] }, { op: 'NOT', args: [2] }] });
  const bad = (edit: (c: Circuit) => void): Circuit => {
    const c = good();
    edit(c);
    return c;
  };

  it('accepts a well-formed circuit', () => {
    expect(() => validateCircuit(bool, good(), { inputs: 2, gates: 2 })).not.toThrow();
  });

  it.each([
    ['an argument pointing forward', (c: Circuit) => void (c.gates[0].args[1] = 3), /gate g0, argument 2 refers to g1, which is not an input or an earlier gate \(gate g0 may use x0\.\.x1\)/],
    ['an argument pointing at its own gate', (c: Circuit) => void (c.gates[1].args[0] = 3), /gate g1, argument 1 refers to g1/],
    ['an unknown op', (c: Circuit) => void (c.gates[1].op = 'NAND'), /gate g1: unknown op "NAND"; the ops are AND, OR, XOR, NOT \(Boolean circuit\)/],
    ['a wrong number of arguments', (c: Circuit) => void (c.gates[1].args = [0, 1]), /gate g1 \(NOT\) takes 1 argument, got 2/],
    ['an input value out of range', (c: Circuit) => void (c.inputs[1] = 2), /input x1 is 2; values are 0\.\.1 \(Boolean circuit\)/],
    ['a negative argument', (c: Circuit) => void (c.gates[0].args[0] = -1), /gate g0, argument 1 is -1, not a node/],
    ['no gates', (c: Circuit) => void (c.gates = []), /at least one gate/],
  ])('%s', (_what, edit, message) => {
    const c = bad(edit);
    expect(() => validateCircuit(bool, c)).toThrow(InputError);
    expect(() => validateCircuit(bool, c)).toThrow(message);
    expect(() => evaluateCircuit(bool, c)).toThrow(message);
  });

  it('a value out of Z_7, and a circuit of another shape than the decoder\'s', () => {
    expect(() => validateCircuit(z7, { inputs: [7], gates: [{ op: '+', args: [0, 0] }] })).toThrow(/input x0 is 7; values are 0\.\.6 \(i-GSM DAG over Z_7\)/);
    expect(() => validateCircuit(bool, good(), { inputs: 3, gates: 2 })).toThrow(/2 inputs; this decoder was built for exactly 3/);
    expect(() => validateCircuit(bool, good(), { inputs: 2, gates: 4 })).toThrow(/2 gates; this decoder was built for exactly 4/);
  });
});

describe('the serialisation', () => {
  const shape = { inputs: 3, gates: 4 };

  it('lays out k + 3G tokens: inputs, then op and two arguments per gate; values at fixed positions', () => {
    const c: Circuit = { inputs: [1, 0, 1], gates: [{ op: 'NOT', args: [2] }, { op: 'AND', args: [0, 3] }, { op: 'XOR', args: [4, 1] }, { op: 'OR', args: [5, 4] }] };
    const vocab = circuitVocabulary(bool, shape);
    expect(vocab.labels).toEqual(['0', '1', 'AND', 'OR', 'XOR', 'NOT', 'x0', 'x1', 'x2', 'g0', 'g1', 'g2', '_']);
    const prompt = serialiseCircuit(bool, shape, c);
    expect(promptLength(shape)).toBe(15);
    expect(prompt.map((t) => vocab.labels[t])).toEqual(['1', '0', '1', 'NOT', 'x2', '_', 'AND', 'x0', 'g0', 'XOR', 'g1', 'x1', 'OR', 'g2', 'g1']);
    expect(gatePositions(shape, 2)).toEqual({ op: 9, arg1: 10, arg2: 11 });
    expect([0, 1, 2, 3, 4, 5, 6].map((j) => valuePosition(shape, j))).toEqual([0, 1, 2, 15, 16, 17, 18]);
    expect(parsePrompt(bool, shape, prompt)).toEqual(c);
    expect(parsePrompt(bool, shape, prompt.map((t) => vocab.labels[t]))).toEqual(c);
  });

  it('prompt and text form round-trip on random circuits of both kinds', () => {
    for (const family of [bool, z7]) {
      fc.assert(
        fc.property(circuitArbitrary(family, shape), (c) => {
          expect(parsePrompt(family, shape, serialiseCircuit(family, shape, c))).toEqual(c);
          expect(parseCircuit(family, formatCircuit(family, c), shape)).toEqual(c);
        }),
        fcParams(100),
      );
    }
  });

  it('the text form is readable JSON', () => {
    const c: Circuit = { inputs: [3, 5], gates: [{ op: '+', args: [0, 1] }, { op: '*', args: [2, 2] }] };
    expect(formatCircuit(z7, c)).toBe('{"inputs":[3,5],"gates":[["+","x0","x1"],["*","g0","g0"]]}');
  });

  it.each([
    ['a prompt of the wrong length', '["1","0","1","NOT","x2","_"]', /has n = 15 tokens \(k \+ 3G\), got 6/],
    ['a token outside the vocabulary', '["1","0","1","NOT","x2","_","AND","x0","g0","XOR","g1","x1","OR","g7","g1"]', /token "g7" at position 13 is not in the vocabulary/],
    ['a token index outside the vocabulary', '[1,0,1,5,8,12,2,6,9,4,10,7,3,11,99]', /token 99 at position 14 is not in the vocabulary/],
    ['an op where a value belongs', '["1","AND","1","NOT","x2","_","AND","x0","g0","XOR","g1","x1","OR","g2","g1"]', /position 1 should hold the value of input x1 \(0\.\.1\), but holds "AND"/],
    ['a value where an op belongs', '["1","0","1","1","x2","_","AND","x0","g0","XOR","g1","x1","OR","g2","g1"]', /position 3 should hold the op of gate g0/],
    ['a value where an argument belongs', '["1","0","1","NOT","x2","_","AND","0","g0","XOR","g1","x1","OR","g2","g1"]', /position 7 should hold argument 1 of gate g1/],
    ['a second argument for NOT', '["1","0","1","NOT","x2","x1","AND","x0","g0","XOR","g1","x1","OR","g2","g1"]', /position 5: gate g0 \(NOT\) takes one argument/],
    ['an argument pointing forward', '["1","0","1","NOT","x2","_","AND","x0","g2","XOR","g1","x1","OR","g2","g1"]', /gate g1, argument 2 refers to g2, which is not an input or an earlier gate/],
    ['an object with a forward argument', '{"inputs":[1,0,1],"gates":[["AND","x0","g0"],["NOT","x0"],["OR","x0","x1"],["OR","x0","x1"]]}', /gate g0, argument 2 refers to g0/],
    ['an object naming a missing input', '{"inputs":[1,0,1],"gates":[["AND","x0","x3"],["NOT","x0"],["OR","x0","x1"],["OR","x0","x1"]]}', /names x3, but the circuit has 3 inputs/],
    ['an object with an unknown op', '{"inputs":[1,0,1],"gates":[["IMPLIES","x0","x1"],["NOT","x0"],["OR","x0","x1"],["OR","x0","x1"]]}', /unknown op "IMPLIES"/],
    ['not JSON', '{"inputs":', /a circuit is JSON/],
  ])('%s is an InputError', (_what, text, message) => {
    expect(() => parseCircuit(bool, text, shape)).toThrow(InputError);
    expect(() => parseCircuit(bool, text, shape)).toThrow(message);
  });
});

describe('samplers', () => {
  it('are reproducible from a seed and give valid circuits of the asked size', () => {
    const a = sampleBooleanCircuit(mulberry32(7), { inputs: 4, gates: 10 });
    expect(sampleBooleanCircuit(mulberry32(7), { inputs: 4, gates: 10 })).toEqual(a);
    expect(sampleBooleanCircuit(mulberry32(8), { inputs: 4, gates: 10 })).not.toEqual(a);
    expect(a.inputs).toHaveLength(4);
    expect(a.gates).toHaveLength(10);
    expect(() => validateCircuit(bool, a, { inputs: 4, gates: 10 })).not.toThrow();
    const b = sampleIgsm(mulberry32(7), { inputs: 3, gates: 8, depth: 4 });
    expect(() => validateCircuit(z7, b, { inputs: 3, gates: 8 })).not.toThrow();
    expect(b.gates.every((g) => ['+', '-', '*'].includes(g.op))).toBe(true);
  });

  it('a chosen depth is the circuit\'s depth, and the gates come level by level', () => {
    fc.assert(
      fc.property(
        fc.record({ inputs: fc.integer({ min: 1, max: 4 }), gates: fc.integer({ min: 1, max: 14 }), seed: fc.integer(), kind: fc.constantFrom('boolean', 'igsm' as const) }).chain((r) =>
          fc.record({ depth: fc.integer({ min: 1, max: r.gates }) }).map((d) => ({ ...r, ...d })),
        ),
        ({ inputs, gates, seed, kind, depth }) => {
          const family = circuitFamily(kind);
          const c = sampleCircuit(family, mulberry32(seed), { inputs, gates, depth });
          validateCircuit(family, c, { inputs, gates });
          const d = gateDepths(family, c);
          expect(Math.max(...d)).toBe(depth);
          expect(d[d.length - 1]).toBe(depth); // the answer is on the deepest level
          d.forEach((x, g) => g > 0 && expect(x).toBeGreaterThanOrEqual(d[g - 1]));
        },
      ),
      fcParams(200),
    );
  });

  it('depth = gates is a chain through every gate; depth 1 reads only inputs', () => {
    const chain = sampleIgsm(mulberry32(3), { inputs: 2, gates: 6, depth: 6 });
    expect(gateDepths(z7, chain)).toEqual([1, 2, 3, 4, 5, 6]);
    const flat = sampleBooleanCircuit(mulberry32(3), { inputs: 2, gates: 6, depth: 1 });
    expect(flat.gates.every((g) => g.args.every((a) => a < 2))).toBe(true);
  });

  it('use every op, and restrict to the ones asked for', () => {
    const seen = new Set<string>();
    const rng = mulberry32(11);
    for (let r = 0; r < 20; r++) for (const g of sampleBooleanCircuit(rng, { inputs: 2, gates: 5 }).gates) seen.add(g.op);
    expect([...seen].sort()).toEqual(['AND', 'NOT', 'OR', 'XOR']);
    const mul = sampleIgsm(mulberry32(1), { inputs: 2, gates: 6, ops: ['*'] });
    expect(mul.gates.every((g) => g.op === '*')).toBe(true);
    expect(() => sampleIgsm(mulberry32(1), { inputs: 2, gates: 6, depth: 7 })).toThrow(/depth must be a whole number in 1\.\.6/);
  });

  it('the arbitraries give valid circuits of the shape, and the structural one shrinks to all zeros', () => {
    const shape = { inputs: 2, gates: 5 };
    for (const family of [bool, z7]) {
      for (const arb of [structuralCircuitArbitrary(family, shape), layeredCircuitArbitrary(family, shape)]) {
        fc.assert(fc.property(arb, (c) => validateCircuit(family, c, shape)), fcParams(50));
      }
    }
    const r = fc.check(fc.property(structuralCircuitArbitrary(z7, shape), () => false), fcParams(10));
    expect(r.counterexample?.[0]).toEqual({ inputs: [0, 0], gates: Array.from({ length: 5 }, () => ({ op: '+', args: [0, 0] })) });
  });
});
