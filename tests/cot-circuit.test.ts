// cot-circuit (proofs/cot-tasks/circuit.ts): circuit evaluation by chain of thought, one gate per
// step. The decoder's greedy CoT (exact, hard attention) against the reference evaluation, token
// for token with a top-two logit margin of exactly 1, on random Boolean circuits and i-GSM DAGs
// of several shapes; its sizes; the registered construction (the Theorem 5.4 compilation: looped
// answer, fixed:s, lockstep, CoT, extra loops) through verifyConstruction; decoders with a wrong
// op-table entry caught with shrunk counterexamples; bad inputs.
// fast-check seed: FC_SEED (default 42); FC_RUNS overrides every run count below.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type OpTableTamper, buildCircuitDecoder, cotCircuitTask, describeGate } from '../proofs/cot-tasks/circuit.ts';
import { type CotTask, cotTaskConstruction } from '../proofs/cot-tasks/task.ts';
import { type Construction, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { fcParams } from '../properties/config.ts';
import { verifyConstruction } from '../properties/verify.ts';
import { aboveClaim, thm54PaperSizes } from './support/thm54-claims.ts';
import { decodeCot } from '../simulators/cot.ts';
import { InputError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, modelSizes } from '../simulators/model.ts';
import {
  type Circuit,
  type CircuitFamily,
  type CircuitShape,
  booleanFamily,
  circuitArbitrary,
  circuitFamily,
  evaluateCircuit,
  igsmFamily,
  serialiseCircuit,
  structuralCircuitArbitrary,
} from '../tasks/circuits.ts';
import { looped } from './support/cli.ts';

const exact = interpreterByName('exact');
const bool = booleanFamily();
const z7 = igsmFamily(7);

/** Decoders built once per (family, shape). */
const decoders = new Map<string, Model>();
function decoderFor(family: CircuitFamily, shape: CircuitShape): Model {
  const key = `${family.kind}:${family.q}:${shape.inputs}:${shape.gates}`;
  let m = decoders.get(key);
  if (m === undefined) {
    m = buildCircuitDecoder(family, shape).model;
    decoders.set(key, m);
  }
  return m;
}

/** The first CoT step (1-based) where the decoder differs from the reference, or null; a right CoT must have logit margin exactly 1 and no attention tie. */
function cotMismatch(model: Model, family: CircuitFamily, shape: CircuitShape, c: Circuit): number | null {
  const want = evaluateCircuit(family, c);
  const cot = decodeCot(exact, model, serialiseCircuit(family, shape, c), shape.gates);
  const k = want.findIndex((v, t) => cot.generated[t] !== v);
  if (k >= 0 || cot.tieAt !== null) return cot.tieAt ?? k + 1;
  cot.steps.forEach((r) => {
    expect(r.readouts[r.readouts.length - 1].margin).toBe(1);
    expect(r.margins.attentionTies).toBe(0);
  });
  return null;
}

describe('the decoder\'s greedy CoT is the circuit\'s evaluation, one gate per step', () => {
  it.each([
    ['Boolean circuits, 3 inputs, 6 gates', bool, { inputs: 3, gates: 6 }],
    ['i-GSM DAGs mod 7, 3 constants, 6 gates', z7, { inputs: 3, gates: 6 }],
  ])('%s (exact, hard attention; top logit ahead by exactly 1)', (_what, family, shape) => {
    const model = decoderFor(family, shape);
    let deep = 0;
    fc.assert(
      fc.property(circuitArbitrary(family, shape), (c) => {
        expect(cotMismatch(model, family, shape, c)).toBeNull();
        if (c.gates.some((g, i) => g.args.includes(shape.inputs + i - 1))) deep++;
      }),
      fcParams(80),
    );
    expect(deep).toBeGreaterThan(10); // many circuits use the gate just computed (a serial chain)
  });

  it('on random shapes: 1..4 inputs, 1..8 gates, both kinds, i-GSM mod 3, 5, 7', () => {
    const cases = fc
      .record({
        family: fc.constantFrom(bool, z7, igsmFamily(3), igsmFamily(5)),
        shape: fc.record({ inputs: fc.integer({ min: 1, max: 4 }), gates: fc.integer({ min: 1, max: 8 }) }),
      })
      .chain(({ family, shape }) => circuitArbitrary(family, shape).map((c) => ({ family, shape, c })));
    fc.assert(
      fc.property(cases, ({ family, shape, c }) => {
        expect(cotMismatch(decoderFor(family, shape), family, shape, c)).toBeNull();
      }),
      fcParams(60),
    );
  });

  it('has the sizes the module states: depth 2, 3 heads, width 4q + 2·ops + 7σ + 1, one MLP unit per (op, a, b)', () => {
    for (const [family, units] of [[bool, 3 * 4 + 2], [z7, 3 * 49]] as const) {
      const d = buildCircuitDecoder(family, { inputs: 3, gates: 8 });
      const sz = modelSizes(d.model);
      expect(d.n).toBe(3 + 3 * 8);
      expect(d.sigma).toBe(6); // positions 0..n+G−1 = 0..34
      expect(sz.depth).toBe(2);
      expect(sz.heads).toBe(3);
      expect(sz.width).toBe(4 * family.q + 2 * family.ops.length + 7 * d.sigma + 1);
      expect(sz.mlpWidth).toBe(units);
      expect(d.model.vocab.dim).toBe(family.q + family.ops.length + (3 + 8 - 1) + 1);
    }
  });
});

describe('the registered construction (Theorem 5.4 compilation)', () => {
  it.each([
    ['boolean', {}],
    ['igsm', { kind: 'igsm' }],
  ])("verifyConstruction holds for kind=%s on 120 circuits: looped answer (exact, fixed:s), lockstep, CoT, extra loops; sizes against Theorem 5.4's claim", async (_kind, given) => {
    const c = constructionById('cot-circuit');
    const params = resolveParams(c, given as Record<string, string>);
    const rep = await verifyConstruction(c, params, { samples: 120, seed: 42 });
    expect(rep.checks.every((k) => k.samples === 120)).toBe(true);
    expect(rep.checks.map((k) => [k.label, k.failed, k.counterexample?.message])).toEqual(rep.checks.map((k) => [k.label, false, undefined]));
    expect(rep.checks.map((k) => k.label).join('\n')).toMatch(/greedy CoT[\s\S]*lockstep|lockstep[\s\S]*greedy CoT/);
    expect(rep.checks.length).toBe(5);
    expect(rep.ok).toBe(true);
    // No head ties anywhere, not even at the positions that still hold #.
    for (const k of rep.checks) expect(k.minAttentionMargin, k.label).toBeGreaterThan(1);
    // The claim is Theorem 5.4's for this decoder, loops Li et al.'s G (one gate per step), from the decoder's sizes.
    const route = c.build(params).cot!;
    const gates = Number(params.gates);
    const paper = { ...thm54PaperSizes(route.decoder, Number(params.inputs) + 3 * gates, route.steps), loops: gates };
    for (const row of rep.sizes) expect({ key: row.key, claimed: row.claimed }).toEqual({ key: row.key, claimed: paper[row.key] ?? null });
    // Width d + 2s + 1 + 4V, above the proof's d + 3s: the size check reports it.
    expect(aboveClaim(rep.sizes)).toEqual(['width']);
    expect(rep.sizesWithinClaim).toBe(false);
    expect(rep.sizes.find((r) => r.key === 'layersPerBlock')!.built).toBe(7);
    expect(rep.sizes.find((r) => r.key === 'loops')!.built).toBe(4);
  });

  it('an i-GSM DAG of 8 gates: the looped model (7 layers, 8 loops) answers the last gate on a hand-checked problem', () => {
    const c = constructionById('cot-circuit');
    const built = c.build(resolveParams(c, { kind: 'igsm', gates: '8' }));
    // 3, 5, 6; g0 = 3+5 = 1, g1 = g0·6 = 6, g2 = 3−g1 = 4, g3 = g2·g2 = 2, g4 = g3+g1 = 1, g5 = g4−x1 = 3, g6 = g5·g5 = 2, g7 = g6+g2 = 6.
    const input = built.parseInput('{"inputs":[3,5,6],"gates":[["+","x0","x1"],["*","g0","x2"],["-","x0","g1"],["*","g2","g2"],["+","g3","g1"],["-","g4","x1"],["*","g5","g5"],["+","g6","g2"]]}');
    const run = exact.run(built.model, built.encode(input));
    expect(built.formatAnswer(built.decode(run))).toEqual({ answer: '6' });
    expect(modelSizes(built.model).layersPerBlock).toBe(7);
    expect(modelSizes(built.model).loops).toBe(8);
  });
});

/** The task with a decoder whose op table has one wrong entry. */
function brokenTask(tamper: OpTableTamper): CotTask<Circuit> {
  return {
    ...cotCircuitTask,
    id: 'cot-circuit-broken',
    build(params) {
      const t = cotCircuitTask.build(params);
      const family = circuitFamily(params.kind as 'boolean' | 'igsm');
      const shape = { inputs: Number(params.inputs), gates: Number(params.gates) };
      return { ...t, decoder: buildCircuitDecoder(family, shape, { tamper }).model };
    },
  };
}

describe('a decoder with a wrong op-table entry is caught, with a shrunk counterexample', () => {
  it('Boolean, XOR(1, 1) = 1: the shrunk circuit fails at an XOR of two 1s, all else minimal', () => {
    const shape = { inputs: 3, gates: 4 };
    const model = buildCircuitDecoder(bool, shape, { tamper: { op: 'XOR', a: 1, b: 1, value: 1 } }).model;
    const r = fc.check(fc.property(structuralCircuitArbitrary(bool, shape), (c) => cotMismatch(model, bool, shape, c) === null), fcParams(200));
    expect(r.failed).toBe(true);
    const c = r.counterexample![0];
    const step = cotMismatch(model, bool, shape, c)!;
    const gate = c.gates[step - 1];
    const values = [...c.inputs, ...evaluateCircuit(bool, c)];
    expect(gate.op, describeGate(c, step - 1)).toBe('XOR');
    expect(gate.args.map((a) => values[a])).toEqual([1, 1]);
    // Shrunk: every gate the failing one does not depend on is AND(x0, x0), the smallest gate,
    // and every input it does not read is 0.
    const k = shape.inputs;
    const needed = new Set<number>([k + step - 1]);
    for (let g = step - 1; g >= 0; g--) if (needed.has(k + g)) c.gates[g].args.forEach((a) => needed.add(a));
    c.gates.forEach((g, i) => needed.has(k + i) || expect(g).toEqual({ op: 'AND', args: [0, 0] }));
    c.inputs.forEach((v, j) => needed.has(j) || expect(v).toBe(0));
  });

  it('i-GSM, 0 + 0 = 3: shrinks to the all-zero circuit, failing at CoT step 1', () => {
    const shape = { inputs: 3, gates: 4 };
    const model = buildCircuitDecoder(z7, shape, { tamper: { op: '+', a: 0, b: 0, value: 3 } }).model;
    const r = fc.check(fc.property(structuralCircuitArbitrary(z7, shape), (c) => cotMismatch(model, z7, shape, c) === null), fcParams(200));
    expect(r.failed).toBe(true);
    expect(r.counterexample![0]).toEqual({ inputs: [0, 0, 0], gates: Array.from({ length: 4 }, () => ({ op: '+', args: [0, 0] })) });
  });

  it('through verifyConstruction: the CoT check and lockstep fail, naming the step and the tokens', async () => {
    const c = cotTaskConstruction(brokenTask({ op: 'XOR', a: 1, b: 1, value: 1 })) as Construction;
    const rep = await verifyConstruction(c, resolveParams(c, {}), { samples: 40, seed: 42 });
    expect(rep.ok).toBe(false);
    const cot = rep.checks.find((k) => k.label.includes('greedy CoT'))!;
    expect(cot.failed).toBe(true);
    expect(cot.counterexample!.message).toMatch(/^CoT step \d of the decoder emits 1 but the algorithm's trace has 0$/);
    expect(cot.counterexample!.replaySearch).toMatch(/^looped verify cot-circuit-broken .* --seed \d+ --path '[\d:]*'$/);
    expect(rep.checks.find((k) => k.label.startsWith('lockstep'))!.failed).toBe(true);
  });
});

describe('bad inputs are InputErrors naming the problem', () => {
  const c = constructionById('cot-circuit');
  const built = c.build(resolveParams(c, {}));

  it.each([
    ['an argument pointing forward', '{"inputs":[1,0,1],"gates":[["AND","x0","g1"],["NOT","x0"],["OR","x0","x1"],["OR","x0","x1"]]}', /gate g0, argument 2 refers to g1, which is not an input or an earlier gate/],
    ['a token outside the vocabulary', '["1","0","1","NOT","x2","_","AND","x0","g0","XOR","g1","x1","OR","y2","g1"]', /token "y2" at position 13 is not in the vocabulary/],
    ['a prompt of the wrong length', '["1","0","1","NOT","x2","_"]', /a prompt for 3 inputs and 4 gates has n = 15 tokens \(k \+ 3G\), got 6/],
    ['a circuit of the wrong size', '{"inputs":[1,0],"gates":[["AND","x0","x1"]]}', /the circuit has 2 inputs; this decoder was built for exactly 3/],
    ['a value outside {0, 1}', '{"inputs":[1,0,2],"gates":[["AND","x0","x1"],["NOT","x0"],["OR","x0","x1"],["OR","x0","x1"]]}', /input x2 is 2; values are 0\.\.1/],
  ])('%s', (_what, text, message) => {
    expect(() => built.parseInput(text)).toThrow(InputError);
    expect(() => built.parseInput(text)).toThrow(message);
  });

  it('encode refuses a circuit that is not of the decoder\'s shape', () => {
    const small: Circuit = { inputs: [1], gates: [{ op: 'NOT', args: [0] }] };
    expect(() => built.encode(small)).toThrow(InputError);
    expect(() => built.encode({ inputs: [1, 0, 1], gates: [{ op: 'NOT', args: [5] }, { op: 'NOT', args: [0] }, { op: 'NOT', args: [0] }, { op: 'NOT', args: [0] }] })).toThrow(/refers to g2/);
  });

  it('bad parameters are UsageErrors naming the parameter', () => {
    expect(() => c.build(resolveParams(c, { kind: 'ternary' }))).toThrow(/parameter kind of cot-circuit must be boolean or igsm/);
    expect(() => c.build(resolveParams(c, { mod: '5' }))).toThrow(/a Boolean circuit is over \{0, 1\}/);
    expect(() => resolveParams(c, { gates: '0' })).toThrow(/parameter gates of cot-circuit is 0, outside its range 1\.\.32/);
  });

  it('`looped run` answers, and names a bad input in one line', () => {
    const ok = looped('run', 'cot-circuit', '--param', 'kind=igsm', '--param', 'gates=2', '--input', '{"inputs":[3,5,6],"gates":[["+","x0","x1"],["*","g0","x2"]]}', '--json');
    expect(ok.stderr).toBe('');
    const out = JSON.parse(ok.stdout) as { answer: { answer: string }; correct: boolean };
    expect(out.answer).toEqual({ answer: '6' });
    expect(out.correct).toBe(true);
    const bad = looped('run', 'cot-circuit', '--input', '{"inputs":[1,0,1],"gates":[["AND","x0","g3"],["NOT","x0"],["OR","x0","x1"],["OR","x0","x1"]]}');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/gate g0, argument 2 refers to g3/);
  });
});
