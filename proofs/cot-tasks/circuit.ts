// Circuit evaluation by chain of thought, ONE GATE PER STEP (Li, Liu, Zhou, Ma 2024: CoT with T
// steps evaluates any circuit of size T; attention fetches a gate's inputs by binary code match
// and the MLP evaluates the gate), for Boolean circuits and i-GSM-style DAGs over Z_q (tasks/
// circuits.ts), as a decoder that Theorem 5.4 compiles into a looped model.
//
// THE TASK. A circuit with k inputs and G gates, serialised as in tasks/circuits.ts: n = k + 3G
// prompt tokens (the input values, then per gate its op and two argument tokens, "_" for a missing
// second argument), and CoT step t (t = 1..G) emits the value of gate g = t − 1, which then sits at
// position n + g. The answer is the value of the last gate.
//
// THE DECODER is built for fixed k and G (and the family: its values 0..q−1 and ops), depth 2, 3
// heads, hard attention, integer weights except the B_σ of the one-hot heads. Positions 0..n+G−1,
// coded with σ = bitsFor(n + G) bits (all distinct: Lemma B.4's condition) — one position more
// than the CoT reads, so that the compiled model's last position has θ_PE too. Position i with
// n − 1 ≤ i ≤ n + G − 2 is where gate g = i − n + 1 is computed: its readout is CoT token g + 1,
// placed at position i + 1 = n + g. STATE at position i (residual, width 4q + 2·ops + 7σ + 1):
//     val    (q)    one-hot of a value token held at i (an input value, or a gate value of the CoT)
//     optok  (ops)  one-hot of an op token held at i
//     addr   (σ)    for a node token x_j / g_j: sbin(valuePosition(j)), where that node's value sits
//                   (j for an input, n + j for gate j); for every other token ("_", values, ops):
//                   sbin(0), a position every position can read
//     pos    (σ)    sbin(i)                                         (θ_PE)
//     q.op, q.a, q.b (σ each)  sbin of the positions of gate g's op and argument tokens,
//                   k + 3g, k + 3g + 1, k + 3g + 2, for g = i − n + 1; sbin(0) at the positions
//                   i < n − 1 and i = n + G − 1, which compute nothing   (θ_PE)
//     one    (1)    the constant 1                                  (θ_PE)
//     op     (ops)  written by layer 1: one-hot of gate g's op
//     a.addr, b.addr (σ each)  written by layer 1: the addr codes of gate g's argument tokens
//     a.val, b.val (q each)    written by layer 2: one-hot values of gate g's arguments
//     out    (q)    written by layer 2's MLP: the logits of the values; W_U reads it
// LAYER 1 (fetch the gate), three Lemma B.4 heads (addOneHotHead, key pos): query q.op copies
//   optok into op, q.a copies addr into a.addr, q.b copies addr into b.addr. No MLP.
// LAYER 2 (fetch the arguments, evaluate), two Lemma B.4 heads (key pos): query a.addr copies val
//   into a.val, query b.addr copies val into b.val. MLP, one unit per op o and argument values
//   (a, b) (per (o, a) for a one-argument op):
//       relu(op[o] + a.val[a] + b.val[b] − 2·one)   (relu(op[o] + a.val[a] − one) for arity 1),
//   which is 1 exactly when o, a, b are gate g's op and argument values and 0 otherwise (every
//   term is a 0/1 one-hot entry); it adds 1 to out[o(a, b)].
//
// WHY IT IS RIGHT. At position i = n + g − 1 the prefix holds the prompt and the CoT values of
// gates 0..g−1 at positions n..n+g−1 (induction on g). The targets k + 3g..k + 3g + 2 ≤ n − 1 ≤ i
// are in the causal window and have codes unlike every other position, so hard attention reads
// exactly them: op = e_{op(g)}, a.addr and b.addr are the codes of the argument nodes' value
// positions. Gate g's arguments are inputs (positions < k) or earlier gates h < g (positions
// n + h ≤ n + g − 1 = i), so those positions are in the window too and hold value tokens: a.val,
// b.val are the one-hots of the argument values (for a one-argument op b.val is whatever position
// 0 holds, and its units ignore b.val). So exactly one unit fires, out = e_{op(a, b)}, and the
// logits are 1 for the correct value and 0 for every other token: the top logit beats the rest by
// 1 ≥ 2^{−s}, the margin Theorem 5.4 needs, at every step and on every circuit.
// NO HEAD EVER TIES, at any position, in the decoder or in the compiled model (whose positions
// hold # before the CoT reaches them): every query is a code — θ_PE's targets, or an addr read
// from some token, and every token carries one — of a position ≤ i, and codes are distinct. So
// the attention margin reported is the lemma's 2B_σ, not 0.
//
// PRECONDITIONS: a circuit of exactly k inputs and G gates of the family (tasks/circuits.ts
// validates it: ops, values 0..q−1, every argument an input or an earlier gate). Nothing else: the
// margin holds unconditionally.
//
// SIZES of the decoder: L = 2 layers, H = 3 heads (head size max(2σ, ops, σ, q)), width
// 4q + 2·ops + 7σ + 1, MLP width (binary ops)·q² + (unary ops)·q, vocabulary
// V = q + ops + (k + G − 1) + 1 (values, ops, one node token per node an argument can name, "_").
// The looped model (Theorem 5.4a, proofs/thm-5-4-cot-loops.ts): L + 5 = 7 layers, G loops, width
// d + 2s + 1 + 4V with s = ⌊log2(n + G)⌋ + 1, heads 3, MLP width max(units, V(V − 1),
// V + 2(d + 2V), V + n + G) — V(V − 1), the argmax of Lemma B.6, dominates.
import { UsageError } from '../../common/errors.ts';
import { type Model, addStage, createLayer, createModel } from '../../simulators/model.ts';
import { space } from '../../simulators/space.ts';
import {
  type Circuit,
  type CircuitFamily,
  type CircuitKind,
  type CircuitShape,
  MAX_MODULUS,
  circuitArbitrary,
  circuitFamily,
  circuitVocabulary,
  evaluateCircuit,
  formatCircuit,
  gatePositions,
  nodeName,
  parseCircuit,
  promptLength,
  serialiseCircuit,
  validateCircuit,
  valuePosition,
} from '../../tasks/circuits.ts';
import { bitsFor, embedConstantOne, embedPositionCodes, sbin } from '../codes.ts';
import { defineParams, orAuto, paramValues } from '../construction.ts';
import { addOneHotHead } from '../gadgets/lemma-b4.ts';
import { addUnits } from '../gadgets/units.ts';
import { CLAIMED as THM54_CLAIMED } from '../thm-5-4-cot-loops.ts';
import type { CotTask, CotTaskBuilt } from './task.ts';

const ID = 'cot-circuit';

/** A deliberately wrong entry of the op table (for tests that the checks catch a broken decoder). */
export interface OpTableTamper {
  op: string;
  a: number;
  /** Ignored for a one-argument op. */
  b: number;
  /** The value the unit (op, a, b) votes for instead of op(a, b). */
  value: number;
}

export interface CircuitDecoderOptions {
  tamper?: OpTableTamper;
}

export interface CircuitDecoder {
  model: Model;
  family: CircuitFamily;
  shape: CircuitShape;
  /** Prompt length k + 3G. */
  n: number;
  /** CoT steps: G. */
  steps: number;
  /** Bits of the decoder's position codes: bitsFor(n + G). */
  sigma: number;
  /** MLP units of the op table. */
  units: number;
}

/** The depth-2 decoder whose greedy CoT emits the value of every gate of a circuit of this shape. */
export function buildCircuitDecoder(family: CircuitFamily, shape: CircuitShape, options: CircuitDecoderOptions = {}): CircuitDecoder {
  const { q, ops } = family;
  const k = shape.inputs;
  const G = shape.gates;
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`${ID}: a circuit needs at least one input (the first gate's arguments), got ${k}`);
  if (!Number.isInteger(G) || G < 1) throw new UsageError(`${ID}: a circuit needs at least one gate, got ${G}`);
  const n = promptLength(shape);
  const positions = n + G;
  const sigma = bitsFor(positions);
  const vocab = circuitVocabulary(family, shape);
  const opLabels = ops.map((o) => o.name);
  const valueLabels = (p: string) => Array.from({ length: q }, (_, v) => `${p}[${v}]`);
  const residual = space({
    val: { size: q, labels: valueLabels('val'), describe: 'one-hot of the value token held here (an input value or a CoT gate value)' },
    optok: { size: ops.length, labels: opLabels.map((o) => `optok[${o}]`), describe: 'one-hot of the op token held here' },
    addr: { size: sigma, describe: 'for a node token: sbin of the position where that node\'s value sits (j for x_j, n + j for g_j); sbin(0) for every other token' },
    pos: { size: sigma, describe: 'sbin(i): the position code (the key of every head)' },
    'q.op': { size: sigma, describe: 'sbin(k + 3g): where the op of gate g = i − n + 1 sits (θ_PE; sbin(0) where no gate is computed)' },
    'q.a': { size: sigma, describe: 'sbin(k + 3g + 1): where its first argument token sits' },
    'q.b': { size: sigma, describe: 'sbin(k + 3g + 2): where its second argument token sits' },
    one: { size: 1, describe: 'the constant 1' },
    op: { size: ops.length, labels: opLabels.map((o) => `op[${o}]`), describe: 'layer 1: one-hot of gate g\'s op' },
    'a.addr': { size: sigma, describe: 'layer 1: the code of the position holding the first argument\'s value' },
    'b.addr': { size: sigma, describe: 'layer 1: the code of the position holding the second argument\'s value' },
    'a.val': { size: q, labels: valueLabels('a.val'), describe: 'layer 2: one-hot of the first argument\'s value' },
    'b.val': { size: q, labels: valueLabels('b.val'), describe: 'layer 2: one-hot of the second argument\'s value' },
    out: { size: q, labels: valueLabels('out'), describe: 'layer 2 MLP: logits of the values (1 at op(a, b), 0 elsewhere)' },
  });
  const model = createModel({
    name: `${ID} ${family.kind}${family.kind === 'igsm' ? ` mod ${q}` : ''} k=${k} G=${G}${options.tamper ? ' (tampered op table)' : ''}`,
    description:
      `a depth-2 decoder whose greedy CoT evaluates a ${family.title} of ${k} inputs and ${G} gates one gate per step: ` +
      'layer 1 fetches the gate\'s op and argument tokens from their fixed positions, layer 2 fetches the argument values ' +
      'and an MLP with one unit per (op, a, b) votes for op(a, b)',
    vocab: vocab.labels,
    residual,
    maxLen: positions,
    readout: 'last',
  });

  // Token embedding.
  for (let v = 0; v < q; v++) model.W_E.set(['vocab', vocab.value(v)], ['val', v], 1);
  ops.forEach((o, x) => model.W_E.set(['vocab', vocab.op(o.name)], ['optok', x], 1));
  vocab.labels.forEach((_, t) => {
    const j = vocab.nodeOf(t);
    model.W_E.write(['vocab', t], 'addr', [sbin(j === null ? 0 : valuePosition(shape, j), sigma)]);
  });
  // Position embedding: sbin(i), the targets of the gate computed at i, and 1.
  const gateAt = (i: number): number | null => (i >= n - 1 && i - n + 1 < G ? i - n + 1 : null);
  const target = (field: 'op' | 'arg1' | 'arg2') => (i: number) => {
    const g = gateAt(i);
    return g === null ? 0 : gatePositions(shape, g)[field];
  };
  embedPositionCodes(model, 'pos', sigma);
  embedPositionCodes(model, 'q.op', sigma, target('op'));
  embedPositionCodes(model, 'q.a', sigma, target('arg1'));
  embedPositionCodes(model, 'q.b', sigma, target('arg2'));
  embedConstantOne(model, 'one');

  const head = (layer: ReturnType<typeof createLayer>, name: string, role: string, query: string, from: string, to: string) =>
    addOneHotHead(model, layer, { name, role, bits: sigma, query, key: 'pos', one: 'one', from, to });

  const fetch = createLayer('fetch the gate: its op and its two argument tokens\' addresses, from positions k + 3g, +1, +2');
  head(fetch, 'op', 'reads the op token of gate g (position k + 3g) into op', 'q.op', 'optok', 'op');
  head(fetch, 'arg1', 'reads the first argument token of gate g: the code of where its value sits, into a.addr', 'q.a', 'addr', 'a.addr');
  head(fetch, 'arg2', 'reads the second argument token of gate g (or _) into b.addr', 'q.b', 'addr', 'b.addr');

  const evaluate = createLayer('fetch the argument values and evaluate the gate: one MLP unit per (op, a, b)');
  head(evaluate, 'val1', 'reads the value of the first argument (at a.addr) into a.val', 'a.addr', 'val', 'a.val');
  head(evaluate, 'val2', 'reads the value of the second argument (at b.addr) into b.val', 'b.addr', 'val', 'b.val');
  type Unit = { label: string; op: number; a: number; b: number | null; value: number };
  const table: Unit[] = [];
  ops.forEach((o, x) => {
    for (let a = 0; a < q; a++) {
      if (o.arity === 1) table.push({ label: `${o.name}(${a})=${o.apply(a, 0)}`, op: x, a, b: null, value: o.apply(a, 0) });
      else for (let b = 0; b < q; b++) table.push({ label: `${o.name}(${a},${b})=${o.apply(a, b)}`, op: x, a, b, value: o.apply(a, b) });
    }
  });
  const t = options.tamper;
  if (t !== undefined) {
    const x = ops.findIndex((o) => o.name === t.op);
    const u = table.find((e) => e.op === x && e.a === t.a && (e.b === null || e.b === t.b));
    if (u === undefined || !Number.isInteger(t.value) || t.value < 0 || t.value >= q) throw new UsageError(`${ID}: no op-table entry ${t.op}(${t.a}, ${t.b}) → ${t.value} to tamper with`);
    u.value = t.value;
    u.label = `${u.label.slice(0, u.label.indexOf('='))}=${t.value} (tampered)`;
  }
  const mlp = addUnits(model, evaluate, {
    table: { size: table.length, labels: table.map((u) => u.label), describe: 'relu(op[o] + a.val[a] + b.val[b] − 2) = 1 iff the gate is o(a, b): votes for o(a, b)' },
  }, 'the op table: the unit of (op, a, b) fires exactly on that gate and adds 1 to out[op(a, b)]');
  table.forEach((u, h) => {
    mlp.W_in.set(['op', u.op], ['table', h], 1);
    mlp.W_in.set(['a.val', u.a], ['table', h], 1);
    if (u.b !== null) mlp.W_in.set(['b.val', u.b], ['table', h], 1);
    mlp.W_in.set('one', ['table', h], u.b === null ? -1 : -2);
    mlp.W_out.set(['table', h], ['out', u.value], 1);
  });
  addStage(model, [fetch, evaluate], 1);
  for (let v = 0; v < q; v++) model.W_U.set(['out', v], ['vocab', vocab.value(v)], 1);
  return { model, family, shape, n, steps: G, sigma, units: table.length };
}

// ---------------------------------------------------------------- the task

const KINDS = ['boolean', 'igsm'] as const satisfies readonly CircuitKind[];

const PARAMS = defineParams([
  { name: 'kind', describe: 'boolean (AND, OR, XOR, NOT over {0, 1}) or igsm (+, −, × mod q: i-GSM\'s arithmetic DAGs)', default: 'boolean', kind: 'choice', values: KINDS },
  { name: 'inputs', describe: 'k: inputs (the leaves: input bits, or the given constants of an i-GSM problem)', default: '3', kind: 'int', min: 1, max: 16 },
  { name: 'gates', describe: 'G: gates = CoT steps = loops of the compiled model', default: '4', kind: 'int', min: 1, max: 32 },
  {
    name: 'mod',
    describe: `q: the modulus of kind=igsm (auto = 7, the paper's i-GSM); a Boolean circuit is over {0, 1} (auto = 2)`,
    default: 'auto',
    kind: 'int',
    min: 2,
    max: MAX_MODULUS,
    auto: '7 for kind=igsm, 2 for boolean',
    forms: `auto, or a whole number 2..${MAX_MODULUS} (kind=igsm)`,
  },
]);

function familyParam(kind: CircuitKind, mod: number | 'auto'): CircuitFamily {
  const q = orAuto<number | undefined>(mod, () => undefined);
  if (kind === 'boolean' && q !== undefined && q !== 2) throw new UsageError(`parameter mod of ${ID}: a Boolean circuit is over {0, 1}, so mod is auto or 2, got ${q}`);
  return circuitFamily(kind, q);
}

export const cotCircuitTask: CotTask<Circuit> = {
  id: ID,
  title: 'Circuit evaluation by chain of thought, one gate per step (Boolean circuits, i-GSM DAGs mod q)',
  theorem: 'Theorem 5.4 on circuit evaluation (CoT: one gate per step, Li et al. 2024)',
  statement:
    'A circuit of k inputs and G gates in topological order (Boolean: AND, OR, XOR, NOT; i-GSM: +, −, × mod 7), written ' +
    'as k + 3G tokens (inputs, then op and two argument tokens per gate), is evaluated by the greedy CoT of a depth-2 ' +
    'decoder with 3 hard-attention heads, one gate per step (Li, Liu, Zhou, Ma 2024): layer 1 fetches gate g\'s op and ' +
    'argument tokens from their fixed positions by Lemma B.4 attention, each argument token carrying the code of the ' +
    'position where that node\'s value sits; layer 2 fetches the argument values and an MLP with one unit per (op, a, b) ' +
    'votes for op(a, b), so the top logit beats every other by 1. Theorem 5.4 compiles the decoder into a block of L + 5 ' +
    'layers looped G times whose answer is the value of the last gate.',
  params: PARAMS,
  // Theorem 5.4's claim (thm-5.4's CLAIMED: L + 6 layers, width d + 3s, MLP max(d_FF, V²), H + 1 heads,
  // ⌊log2(n + m)⌋ + 1 bits) in this decoder's L, d, H, d_FF and V, and the loops Li et al. state
  // (paper-notes §5: "CoT with T steps evaluates any boolean circuit of size T, one gate per step").
  claimed: { ...THM54_CLAIMED, loops: 'G' },
  deviations:
    'Li et al. build one decoder for every circuit up to a size, with the gate index and node codes computed in the ' +
    'residual stream; this decoder is built for a fixed number of inputs and gates, so the positions of gate g\'s tokens ' +
    'are in θ_PE(i), and every node an argument can name has its own token carrying the code of its value\'s position ' +
    '(V grows with k + G, and the compiled model\'s width with 4V and its argmax MLP with V(V − 1)). Claims: Theorem ' +
    '5.4\'s for this decoder (L = 2, its width d, MLP width d_FF = one unit per (op, a, b)), loops Li et al.\'s G. Built: ' +
    'width d + 2s + 1 + 4V against the proof\'s d + 3s (see thm-5.4), above it by 4V + 1 − s; L + 5 layers, within ' +
    'L + 6; MLP width the larger of d_FF and the compiler\'s units (V(V − 1) argmax units within V², clearing and θ_PE ' +
    'lookup units beside them). Head size: Theorem 5.4 states none.',
  verifyAt: [{ params: {} }, { params: { kind: 'igsm' } }],
  build(params): CotTaskBuilt<Circuit> {
    const { kind, inputs, gates, mod } = paramValues(ID, PARAMS, params);
    const family = familyParam(kind, mod);
    const shape = { inputs, gates };
    const built = buildCircuitDecoder(family, shape);
    const binary = family.ops.filter((o) => o.arity === 2).length;
    return {
      decoder: built.model,
      n: built.n,
      steps: built.steps,
      sizeScope: { q: family.q, ops: family.ops.length, k: shape.inputs, G: shape.gates, sigma: built.sigma, units: built.units, binary },
      prompt: (c) => serialiseCircuit(family, shape, c),
      trace: (c) => {
        validateCircuit(family, c, shape);
        return evaluateCircuit(family, c);
      },
      parseInput: (text) => parseCircuit(family, text, shape),
      formatInput: (c) => formatCircuit(family, c),
      arbitrary: () => circuitArbitrary(family, shape),
    };
  },
};

/** "g2 = XOR(x0, g1)": one gate as text (for test messages and explanations). */
export function describeGate(c: Circuit, g: number): string {
  const k = c.inputs.length;
  const gate = c.gates[g];
  return `g${g} = ${gate.op}(${gate.args.map((a) => nodeName(k, a)).join(', ')})`;
}
