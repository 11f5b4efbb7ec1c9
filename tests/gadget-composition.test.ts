// The ReLU gadgets of Lemmas B.6–B.11 together: the three mask gadgets composed into Theorem 5.4's
// "mask without a mask"; the registry builds all five; their inputs parse and bad ones are named.
import { describe, expect, it } from 'vitest';
import { embedPositionCodes } from '../proofs/codes.ts';
import { resolveParams } from '../proofs/construction.ts';
import { lemmaB6Argmax } from '../proofs/gadgets/argmax.ts';
import { writeComparator } from '../proofs/gadgets/comparator.ts';
import { lemmaB8Gate, writeGate } from '../proofs/gadgets/gate.ts';
import { writeIncrement } from '../proofs/gadgets/increment.ts';
import { addUnits } from '../proofs/gadgets/units.ts';
import { constructionById } from '../proofs/registry.ts';
import { ModelError } from '../common/errors.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { addStage, createLayer, createModel } from '../simulators/model.ts';
import { space } from '../simulators/space.ts';

// ================================================================ composition

describe('composing the writers: Theorem 5.4 without an explicit mask', () => {
  // One block looped T times over positions 0..N−1 (counter starting at n, from the position embedding):
  //   layer 1: comparator M = 1[i ≥ counter], 1 − M   ∥  increment counter   (two gadgets, one MLP)
  //   layer 2: the "original layer": nx = state + 1
  //   layer 3: gate state ← M ? nx : state, clearing nx, M and 1 − M for the next loop
  // is the same as the block `state += 1` under the explicit mask M^t(i) = 1[i ≥ n + t − 1].
  function build(s: number, n: number, N: number) {
    const model = createModel({
      name: 'masked-by-gadgets',
      vocab: ['·', 'state'],
      residual: space({ pos: s, cnt: s, wrap: 1, M: 1, Mnot: 1, nx: 1, state: 1 }),
      maxLen: N,
      readout: 'all',
    });
    embedPositionCodes(model, 'pos', s);
    embedPositionCodes(model, 'cnt', s, () => n);
    const [l1, l2, l3] = [createLayer('mask and counter'), createLayer('the block'), createLayer('gate')];
    writeComparator(model, l1, { name: 'cmp', a: 'pos', b: 'cnt', ge: 'M', lt: 'Mnot' });
    writeIncrement(model, l1, { name: 'inc', counter: 'cnt', overflow: 'wrap' });
    const block = addUnits(model, l2, { step: { size: 1, describe: 'state + 1' } }, 'the original layer');
    block.W_in.set('state', ['step', 0], 1);
    block.b_in.set(['step', 0], 1);
    block.W_out.set(['step', 0], 'nx', 1);
    writeGate(model, l3, { name: 'gate', x: 'nx', y: 'state', mask: 'M', maskNot: 'Mnot', to: 'state', s, clear: ['state', 'nx', 'M', 'Mnot'] });
    model.W_U.set('state', ['vocab', 1], 1);
    return { model, layers: [l1, l2, l3] };
  }

  it('two gadgets share one MLP through addUnits; a repeated group name is refused', () => {
    const { layers } = build(4, 3, 8);
    expect(layers[0].mlp!.hidden.parts.map((p) => p.name)).toEqual(['cmp.lt', 'inc.down', 'inc.up']);
    expect(layers[0].mlp!.role).toBe('comparator cmp: 1[a ≥ b] and 1[a < b]; increment inc: c ← c + 1 mod 2^s');
    const again = build(4, 3, 8);
    expect(() => writeIncrement(again.model, again.layers[0], { name: 'inc', counter: 'cnt' })).toThrow(ModelError);
    expect(() => writeIncrement(again.model, again.layers[0], { name: 'inc', counter: 'cnt' })).toThrow(/unit group "inc.down" is already there/);
  });

  it('equals the explicitly masked block at every position after every loop count, under exact and fixed:s', () => {
    const s = 5;
    const N = 12;
    for (const n of [0, 3, 7]) {
      for (const T of [1, 2, 5]) {
        const gated = build(s, n, N);
        addStage(gated.model, gated.layers, T);
        const masked = createModel({ name: 'masked', vocab: ['·', 'state'], residual: space({ state: 1 }), maxLen: N, readout: 'all' });
        const l = createLayer();
        const mlp = addUnits(masked, l, { step: 1 }, 'state += 1');
        mlp.b_in.set(['step', 0], 1);
        mlp.W_out.set(['step', 0], 'state', 1);
        addStage(masked, [l], T, { expr: `i >= ${n} + t - 1` });
        masked.W_U.set('state', ['vocab', 1], 1);
        for (const interpreter of ['exact', `fixed:${s}`]) {
          const it = interpreterByName(interpreter);
          const tokens = new Array<number>(N).fill(0);
          const got = it.run(gated.model, tokens).readouts.map((r) => r.exactLogits![1]);
          const want = it.run(masked, tokens).readouts.map((r) => r.exactLogits![1]);
          expect(got, `${interpreter} n=${n} T=${T}`).toEqual(want);
          expect(got).toEqual(Array.from({ length: N }, (_, i) => String(Math.max(0, Math.min(T, i - n + 1)))));
        }
      }
    }
  });
});

describe('registry and inputs', () => {
  it('registers the five lemmas and builds each at its defaults', () => {
    for (const id of ['lemma-b6-argmax', 'lemma-b7-decode-embed', 'lemma-b8-gate', 'lemma-b10-increment', 'lemma-b11-comparator']) {
      const c = constructionById(id);
      const b = c.build(resolveParams(c, {}));
      expect(b.checks.map((k) => k.interpreter)).toEqual(['exact', `fixed:${b.bits}`]);
      expect(b.extraLoopsStable?.holds).toBe(false);
    }
  });

  it('parses token ids or labels, and names a bad token and a bad position', () => {
    const g = lemmaB8Gate.build({ d: 1, s: 2, r: 'auto', form: 'complement' });
    const input = g.parseInput('["1/2", "-15/4", "M=1"]');
    expect(g.parseInput(g.formatInput(input))).toEqual(input);
    expect(() => g.parseInput('["1/2", "M=1", "M=1"]')).toThrow(/position 1 must hold a value of x or y, not a mask token/);
    expect(() => g.parseInput('["1/2", "-1", "1/2"]')).toThrow(/position 2 must hold the mask, M=0 or M=1/);
    expect(() => g.parseInput('["1/8", "1", "M=0"]')).toThrow(/"1\/8" at position 0 is not an input token label/);
    expect(() => g.parseInput('[0, 1]')).toThrow(/exactly 3 tokens, got 2/);
    expect(() => lemmaB6Argmax.build({ d: 2, s: 8, r: 5000 })).toThrow(/parameter r of lemma-b6-argmax is 5000: 10001 tokens is more than 8191/);
    expect(() => lemmaB8Gate.build({ d: 1, s: 2, r: 'auto', form: 'printed' })).toThrow(/parameter form of lemma-b8-gate must be complement or bias/);
  });
});
