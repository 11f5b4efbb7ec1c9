/**
 * Circuit evaluation, the serial problem that chain of thought solves one gate per step (Li, Liu,
 * Zhou, Ma 2024), in two families:
 *   * Boolean circuits over {0, 1}: AND, OR, XOR (two arguments) and NOT (one);
 *   * i-GSM-style arithmetic DAGs over Z_q (q = 7 in the paper's i-GSM): +, −, × mod q.
 *
 * A circuit has k inputs and G gates. Its NODES are numbered 0..k+G−1: node j < k is input j
 * (named x_j), node k + g is gate g (named g_g). Gates are listed in topological order: every
 * argument of gate g is an input or an EARLIER gate, a node < k + g. Inputs are the leaves: the
 * input bits of a Boolean circuit, the given constants of an i-GSM problem ("there are 3 apples").
 * The reference evaluation returns the value of every gate, in order — exactly the chain of
 * thought a correct decoder emits, one token per gate; the answer is the last gate's value.
 *
 * THE SERIALISATION (one, fixed; what the decoders of proofs/cot-tasks/circuit.ts read). For a
 * shape (k, G) the prompt has n = k + 3G tokens:
 *     positions 0..k−1          the input values x_0..x_{k−1} (value tokens)
 *     positions k+3g, +1, +2    gate g: its op token, then its argument tokens (node tokens;
 *                               a one-argument op has the pad token "_" as its second argument)
 * and the CoT then writes gate g's value at position n + g. So node j's value always sits at a
 * fixed position, valuePosition(j): j for an input, n + g for gate g.
 * Vocabulary, in this order: the values 0..q−1 (token index = value, so a trace of values IS a
 * trace of tokens), the op tokens, one node token per node an argument can name (x_0..x_{k−1},
 * g_0..g_{G−2}: the last gate is never an argument), and "_".
 */
import fc from 'fast-check';
import { InputError } from '../common/errors.ts';
import { mulberry32, randomInt, type Rng } from './random.ts';
import { assertJsonDepth } from '../common/json-depth.ts';

export type CircuitKind = 'boolean' | 'igsm';

export interface OpSpec {
  /** The op's token in the prompt ("AND", "+"). */
  readonly name: string;
  readonly arity: 1 | 2;
  readonly describe: string;
  /** The op on values 0..q−1 (b is 0 for a one-argument op). */
  apply(a: number, b: number): number;
}

/** The values (0..q−1) and the ops a circuit may use. */
export interface CircuitFamily {
  readonly kind: CircuitKind;
  readonly q: number;
  readonly ops: readonly OpSpec[];
  /** "Boolean circuit", "i-GSM DAG over Z_7". */
  readonly title: string;
}

export interface Gate {
  /** An op name of the family. */
  op: string;
  /** Node indices (0..k−1 inputs, k + h gate h), one per argument of the op; all < k + g for gate g. */
  args: number[];
}

export interface Circuit {
  /** Input values, each in 0..q−1. */
  inputs: number[];
  /** In topological order. */
  gates: Gate[];
}

/** A circuit size a decoder is built for: k inputs and G gates. */
export interface CircuitShape {
  inputs: number;
  gates: number;
}

export const MAX_MODULUS = 16;

export function booleanFamily(): CircuitFamily {
  return {
    kind: 'boolean',
    q: 2,
    title: 'Boolean circuit',
    ops: [
      { name: 'AND', arity: 2, describe: 'a ∧ b', apply: (a, b) => a & b },
      { name: 'OR', arity: 2, describe: 'a ∨ b', apply: (a, b) => a | b },
      { name: 'XOR', arity: 2, describe: 'a ⊕ b', apply: (a, b) => a ^ b },
      { name: 'NOT', arity: 1, describe: '¬a', apply: (a) => 1 - a },
    ],
  };
}

/** i-GSM's arithmetic: +, −, × mod q (the paper's q = 7). */
export function igsmFamily(q = 7): CircuitFamily {
  if (!Number.isInteger(q) || q < 2 || q > MAX_MODULUS) throw new RangeError(`igsmFamily: the modulus must be a whole number in 2..${MAX_MODULUS}, got ${q}`);
  const mod = (x: number) => ((x % q) + q) % q;
  return {
    kind: 'igsm',
    q,
    title: `i-GSM DAG over Z_${q}`,
    ops: [
      { name: '+', arity: 2, describe: `a + b mod ${q}`, apply: (a, b) => mod(a + b) },
      { name: '-', arity: 2, describe: `a − b mod ${q}`, apply: (a, b) => mod(a - b) },
      { name: '*', arity: 2, describe: `a · b mod ${q}`, apply: (a, b) => mod(a * b) },
    ],
  };
}

export function circuitFamily(kind: CircuitKind, q?: number): CircuitFamily {
  if (kind === 'boolean') {
    if (q !== undefined && q !== 2) throw new RangeError(`a Boolean circuit is over {0, 1} (q = 2), not q = ${q}`);
    return booleanFamily();
  }
  return igsmFamily(q ?? 7);
}

/** "x2" for an input, "g3" for a gate. */
export function nodeName(k: number, node: number): string {
  return node < k ? `x${node}` : `g${node - k}`;
}

// ---------------------------------------------------------------- validation and evaluation

function opOf(family: CircuitFamily, name: unknown, where: string): OpSpec {
  const op = family.ops.find((o) => o.name === name);
  if (op === undefined) {
    throw new InputError(`${where}: unknown op ${JSON.stringify(name)}; the ops are ${family.ops.map((o) => o.name).join(', ')} (${family.title})`);
  }
  return op;
}

/**
 * Throws an InputError naming the first problem: a value outside 0..q−1, an unknown op, the wrong
 * number of arguments, an argument that is not an input or an earlier gate, or (with `shape`) a
 * circuit of another size than the decoder's.
 */
export function validateCircuit(family: CircuitFamily, c: Circuit, shape?: CircuitShape): void {
  if (c === null || typeof c !== 'object' || !Array.isArray(c.inputs) || !Array.isArray(c.gates)) {
    throw new InputError('a circuit is { inputs: [values], gates: [[op, args…], …] }');
  }
  const k = c.inputs.length;
  if (shape !== undefined) {
    if (k !== shape.inputs) throw new InputError(`the circuit has ${k} inputs; this decoder was built for exactly ${shape.inputs}`);
    if (c.gates.length !== shape.gates) throw new InputError(`the circuit has ${c.gates.length} gates; this decoder was built for exactly ${shape.gates}`);
  }
  c.inputs.forEach((v, j) => {
    if (!Number.isInteger(v) || v < 0 || v >= family.q) throw new InputError(`input x${j} is ${JSON.stringify(v)}; values are 0..${family.q - 1} (${family.title})`);
  });
  if (c.gates.length === 0) throw new InputError('a circuit needs at least one gate (its answer is the value of the last gate)');
  c.gates.forEach((gate, g) => {
    const where = `gate g${g}`;
    if (gate === null || typeof gate !== 'object' || !Array.isArray(gate.args)) throw new InputError(`${where} is not { op, args }`);
    const op = opOf(family, gate.op, where);
    if (gate.args.length !== op.arity) {
      throw new InputError(`${where} (${op.name}) takes ${op.arity} argument${op.arity === 1 ? '' : 's'}, got ${gate.args.length}`);
    }
    const self = k + g;
    gate.args.forEach((a, r) => {
      if (!Number.isInteger(a) || a < 0) throw new InputError(`${where}, argument ${r + 1} is ${JSON.stringify(a)}, not a node`);
      if (a >= self) {
        const allowed = g === 0 ? `x0..x${k - 1}` : `x0..x${k - 1} and g0..g${g - 1}`;
        throw new InputError(`${where}, argument ${r + 1} refers to ${nodeName(k, a)}, which is not an input or an earlier gate (${where} may use ${allowed})`);
      }
    });
  });
}

/** The value of every gate, in order: the chain of thought of the evaluation (its last entry is the answer). */
export function evaluateCircuit(family: CircuitFamily, c: Circuit): number[] {
  validateCircuit(family, c);
  const values = [...c.inputs];
  for (const gate of c.gates) {
    const op = opOf(family, gate.op, 'gate');
    values.push(op.apply(values[gate.args[0]], op.arity === 2 ? values[gate.args[1]] : 0));
  }
  return values.slice(c.inputs.length);
}

/** Depth of every gate (an input has depth 0; a gate one more than its deepest argument). */
export function gateDepths(family: CircuitFamily, c: Circuit): number[] {
  validateCircuit(family, c);
  const depth = c.inputs.map(() => 0);
  for (const gate of c.gates) depth.push(1 + Math.max(...gate.args.map((a) => depth[a])));
  return depth.slice(c.inputs.length);
}

/** Depth of the circuit: the longest path from an input to a gate. */
export function circuitDepth(family: CircuitFamily, c: Circuit): number {
  return Math.max(...gateDepths(family, c));
}

// ---------------------------------------------------------------- the serialisation

export interface CircuitVocabulary {
  labels: string[];
  /** Token of a value v (= v). */
  value(v: number): number;
  op(name: string): number;
  /** Token naming node j as an argument (j < k + G − 1). */
  node(j: number): number;
  pad: number;
  /** The node a token names, or null when it is not a node token. */
  nodeOf(token: number): number | null;
}

export function promptLength(shape: CircuitShape): number {
  return shape.inputs + 3 * shape.gates;
}

/** Prompt positions of gate g's op token and argument tokens. */
export function gatePositions(shape: CircuitShape, g: number): { op: number; arg1: number; arg2: number } {
  const op = shape.inputs + 3 * g;
  return { op, arg1: op + 1, arg2: op + 2 };
}

/** Where node j's value sits in prompt + CoT: position j for an input, n + g for gate g. */
export function valuePosition(shape: CircuitShape, node: number): number {
  return node < shape.inputs ? node : promptLength(shape) + node - shape.inputs;
}

/** Nodes an argument can name: every node but the last gate. */
export function nodeTokenCount(shape: CircuitShape): number {
  return shape.inputs + shape.gates - 1;
}

export function circuitVocabulary(family: CircuitFamily, shape: CircuitShape): CircuitVocabulary {
  const { q, ops } = family;
  const k = shape.inputs;
  const nodes = nodeTokenCount(shape);
  const labels = [
    ...Array.from({ length: q }, (_, v) => String(v)),
    ...ops.map((o) => o.name),
    ...Array.from({ length: nodes }, (_, j) => nodeName(k, j)),
    '_',
  ];
  const firstNode = q + ops.length;
  return {
    labels,
    value: (v) => v,
    op: (name) => q + ops.findIndex((o) => o.name === name),
    node: (j) => firstNode + j,
    pad: firstNode + nodes,
    nodeOf: (t) => (t >= firstNode && t < firstNode + nodes ? t - firstNode : null),
  };
}

/** The decoder's prompt: n = k + 3G token indices (validates the circuit against the shape first). */
export function serialiseCircuit(family: CircuitFamily, shape: CircuitShape, c: Circuit): number[] {
  validateCircuit(family, c, shape);
  const vocab = circuitVocabulary(family, shape);
  const tokens = c.inputs.map((v) => vocab.value(v));
  for (const gate of c.gates) {
    tokens.push(vocab.op(gate.op), vocab.node(gate.args[0]), gate.args.length === 2 ? vocab.node(gate.args[1]) : vocab.pad);
  }
  return tokens;
}

/**
 * The circuit a prompt spells (token indices or labels), the inverse of serialiseCircuit; an
 * InputError names the position and what should be there.
 */
export function parsePrompt(family: CircuitFamily, shape: CircuitShape, tokens: readonly (number | string)[]): Circuit {
  const vocab = circuitVocabulary(family, shape);
  const n = promptLength(shape);
  if (tokens.length !== n) {
    throw new InputError(`a prompt for ${shape.inputs} inputs and ${shape.gates} gates has n = ${n} tokens (k + 3G), got ${tokens.length}`);
  }
  const index = tokens.map((t, p) => {
    const i = typeof t === 'string' ? vocab.labels.indexOf(t) : Number.isInteger(t) && t >= 0 && t < vocab.labels.length ? t : -1;
    if (i < 0) throw new InputError(`token ${JSON.stringify(t)} at position ${p} is not in the vocabulary (${vocab.labels.join(' ')})`);
    return i;
  });
  const label = (p: number) => JSON.stringify(vocab.labels[index[p]]);
  const inputs = index.slice(0, shape.inputs).map((t, p) => {
    if (t >= family.q) throw new InputError(`position ${p} should hold the value of input x${p} (0..${family.q - 1}), but holds ${label(p)}`);
    return t;
  });
  const gates: Gate[] = [];
  for (let g = 0; g < shape.gates; g++) {
    const at = gatePositions(shape, g);
    const op = family.ops.find((o) => vocab.op(o.name) === index[at.op]);
    if (op === undefined) throw new InputError(`position ${at.op} should hold the op of gate g${g} (${family.ops.map((o) => o.name).join(', ')}), but holds ${label(at.op)}`);
    const arg = (p: number, r: number): number => {
      const node = vocab.nodeOf(index[p]);
      if (node === null) throw new InputError(`position ${p} should hold argument ${r} of gate g${g} (a node x… or g…), but holds ${label(p)}`);
      return node;
    };
    const args = [arg(at.arg1, 1)];
    if (op.arity === 2) args.push(arg(at.arg2, 2));
    else if (index[at.arg2] !== vocab.pad) throw new InputError(`position ${at.arg2}: gate g${g} (${op.name}) takes one argument, so its second slot holds "_", not ${label(at.arg2)}`);
    gates.push({ op: op.name, args });
  }
  const c = { inputs, gates };
  validateCircuit(family, c, shape);
  return c;
}

// ---------------------------------------------------------------- text form

/** `{"inputs":[1,0],"gates":[["AND","x0","x1"],["NOT","g0"]]}`: what formatCircuit writes and parseCircuit reads. */
export function formatCircuit(family: CircuitFamily, c: Circuit): string {
  const k = c.inputs.length;
  return JSON.stringify({ inputs: c.inputs, gates: c.gates.map((g) => [g.op, ...g.args.map((a) => nodeName(k, a))]) });
}

function parseNode(k: number, x: unknown, where: string): number {
  const m = typeof x === 'string' ? /^([xg])(\d+)$/.exec(x) : null;
  if (m === null) throw new InputError(`${where} is ${JSON.stringify(x)}; an argument names a node: an input x0..x${k - 1} or a gate g0, g1, …`);
  const j = Number(m[2]);
  if (m[1] === 'g') return k + j;
  if (j >= k) throw new InputError(`${where} names ${x}, but the circuit has ${k} inputs (x0..x${k - 1})`);
  return j;
}

/**
 * Parses the object form (formatCircuit) or a JSON array of prompt tokens (labels or indices, as
 * the decoder reads them); with `shape`, also checks the size. Every problem is an InputError.
 */
export function parseCircuit(family: CircuitFamily, text: string, shape?: CircuitShape): Circuit {
  assertJsonDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`a circuit is JSON: {"inputs":[…],"gates":[["op","x0","g1"],…]} or an array of prompt tokens; got ${JSON.stringify(text)}`);
  }
  if (Array.isArray(value)) {
    if (shape === undefined) throw new InputError('a circuit given as prompt tokens needs the shape (inputs, gates) it was written for');
    return parsePrompt(family, shape, value as (number | string)[]);
  }
  if (value === null || typeof value !== 'object') throw new InputError('a circuit is {"inputs":[…],"gates":[…]}');
  const o = value as { inputs?: unknown; gates?: unknown };
  if (!Array.isArray(o.inputs)) throw new InputError('the circuit\'s "inputs" must be an array of values');
  if (!Array.isArray(o.gates)) throw new InputError('the circuit\'s "gates" must be an array of [op, argument, …]');
  const k = o.inputs.length;
  const gates = o.gates.map((raw: unknown, g): Gate => {
    if (!Array.isArray(raw) || raw.length === 0) throw new InputError(`gate g${g} must be [op, argument, …]`);
    const [op, ...args] = raw as unknown[];
    if (typeof op !== 'string') throw new InputError(`gate g${g}: the op must be a string, got ${JSON.stringify(op)}`);
    return { op, args: args.map((a, r) => parseNode(k, a, `gate g${g}, argument ${r + 1}`)) };
  });
  const c: Circuit = { inputs: o.inputs as number[], gates };
  validateCircuit(family, c, shape);
  return c;
}

// ---------------------------------------------------------------- samplers

export interface SampleOptions {
  inputs: number;
  gates: number;
  /**
   * The depth of the DAG, 1..gates. Given, the gates are spread over `depth` levels (each level at
   * least one gate, in level order); a gate on level ℓ takes one argument from level ℓ − 1 (level
   * 0 = the inputs) and the others from any lower level, so the circuit has exactly this depth.
   * Absent, every argument is any earlier node, uniformly.
   */
  depth?: number;
  /** Restrict to these ops (default: all of the family's). */
  ops?: readonly string[];
}

/** A random circuit of the family: uniform inputs, ops, and a DAG of the chosen shape. */
export function sampleCircuit(family: CircuitFamily, rng: Rng, o: SampleOptions): Circuit {
  const { inputs: k, gates: G, depth } = o;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`sampleCircuit: inputs must be a whole number ≥ 1, got ${k}`);
  if (!Number.isInteger(G) || G < 1) throw new RangeError(`sampleCircuit: gates must be a whole number ≥ 1, got ${G}`);
  if (depth !== undefined && (!Number.isInteger(depth) || depth < 1 || depth > G)) {
    throw new RangeError(`sampleCircuit: depth must be a whole number in 1..${G} (one level per gate at most), got ${depth}`);
  }
  const ops = o.ops === undefined ? family.ops : o.ops.map((name) => opOf(family, name, 'sampleCircuit'));
  if (ops.length === 0) throw new RangeError('sampleCircuit: no ops to choose from');
  const inputs = Array.from({ length: k }, () => randomInt(rng, family.q));
  // level[g]: the level of gate g (1..depth), nondecreasing; every level gets at least one gate.
  let level: number[];
  if (depth === undefined) level = [];
  else {
    const extra = Array.from({ length: G - depth }, () => 1 + randomInt(rng, depth));
    level = [...Array.from({ length: depth }, (_, l) => l + 1), ...extra].sort((a, b) => a - b);
  }
  // Nodes below level l: the inputs and the gates on levels 1..l−1 (gates are in level order).
  const nodesBelow = (l: number) => k + level.filter((x) => x < l).length;
  const gates: Gate[] = [];
  for (let g = 0; g < G; g++) {
    const op = ops[randomInt(rng, ops.length)];
    let args: number[];
    if (depth === undefined) {
      args = Array.from({ length: op.arity }, () => randomInt(rng, k + g));
    } else {
      const l = level[g];
      const lo = l === 1 ? 0 : nodesBelow(l - 1);
      const hi = nodesBelow(l); // nodes < hi are on levels < l
      const deep = lo + randomInt(rng, hi - lo);
      args = [deep, ...Array.from({ length: op.arity - 1 }, () => randomInt(rng, hi))];
      if (args.length === 2 && randomInt(rng, 2) === 1) args.reverse();
    }
    gates.push({ op: op.name, args });
  }
  return { inputs, gates };
}

export function sampleBooleanCircuit(rng: Rng, o: SampleOptions): Circuit {
  return sampleCircuit(booleanFamily(), rng, o);
}

/** An i-GSM-style problem: k given constants, G derived quantities (+, −, × mod q) of the chosen depth. */
export function sampleIgsm(rng: Rng, o: SampleOptions & { q?: number }): Circuit {
  return sampleCircuit(igsmFamily(o.q ?? 7), rng, o);
}

// ---------------------------------------------------------------- fast-check

/**
 * Circuits of one shape, drawn structurally so fast-check shrinks them: inputs towards 0, each op
 * towards the family's first, each argument towards x0.
 */
export function structuralCircuitArbitrary(family: CircuitFamily, shape: CircuitShape): fc.Arbitrary<Circuit> {
  const k = shape.inputs;
  const gate = (g: number) =>
    fc
      .record({ op: fc.integer({ min: 0, max: family.ops.length - 1 }), a: fc.integer({ min: 0, max: k + g - 1 }), b: fc.integer({ min: 0, max: k + g - 1 }) })
      .map(({ op, a, b }): Gate => {
        const spec = family.ops[op];
        return { op: spec.name, args: spec.arity === 2 ? [a, b] : [a] };
      });
  return fc.record({
    inputs: fc.array(fc.integer({ min: 0, max: family.q - 1 }), { minLength: k, maxLength: k }),
    gates: fc.tuple(...Array.from({ length: shape.gates }, (_, g) => gate(g))),
  });
}

/** Circuits of one shape from sampleCircuit with a random depth (1..G) and seed: deep chains as well as shallow DAGs. */
export function layeredCircuitArbitrary(family: CircuitFamily, shape: CircuitShape): fc.Arbitrary<Circuit> {
  return fc
    .record({ depth: fc.integer({ min: 1, max: shape.gates }), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }) })
    .map(({ depth, seed }) => sampleCircuit(family, mulberry32(seed), { inputs: shape.inputs, gates: shape.gates, depth }));
}

/** Both: structural circuits (they shrink well) and layered ones of every depth. */
export function circuitArbitrary(family: CircuitFamily, shape: CircuitShape): fc.Arbitrary<Circuit> {
  return fc.oneof(structuralCircuitArbitrary(family, shape), layeredCircuitArbitrary(family, shape));
}
