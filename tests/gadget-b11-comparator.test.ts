// Lemma B.11 (comparator 1[a ≥ b] on binary codes, least significant bit first): exhaustive under
// exact and fixed:s.
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { embedPositionCodes, sbin } from '../proofs/codes.ts';
import { type Construction, allWords } from '../proofs/construction.ts';
import { buildComparator, lemmaB11Comparator, writeComparator } from '../proofs/gadgets/comparator.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { addStage, createLayer, createModel } from '../simulators/model.ts';
import { space } from '../simulators/space.ts';
import { RUNS, opts, sweep, expectAllPass, claimedRows } from './support/gadgets.ts';

// ================================================================ Lemma B.11

describe('Lemma B.11: comparator 1[a ≥ b] on binary codes, least significant bit first', () => {
  it('is one layer of 2 units', () => {
    for (const s of [1, 4, 12]) {
      const b = lemmaB11Comparator.build({ s });
      for (const [key, row] of Object.entries(claimedRows(lemmaB11Comparator as Construction, b))) expect(row.built, key).toBe(row.claimed);
    }
  });

  it('is exact on every pair (a, b) for s = 1..6 under exact and fixed:s; the argmax token says ≥ or <', () => {
    for (let s = 1; s <= 6; s++) {
      const b = lemmaB11Comparator.build({ s });
      expectAllPass(b, () => allWords(b.exhaustive!), 4 ** s);
    }
    const b = lemmaB11Comparator.build({ s: 4 });
    const label = (a: number, c: number) => b.model.vocab.labels[interpreterByName('fixed:4').run(b.model, [a, c]).answer!];
    expect([label(9, 9), label(9, 10), label(15, 0), label(0, 15)]).toEqual(['→ge', '→lt', '→ge', '→lt']);
  });

  it(`holds on random pairs for s = 12, 20, 26 (${RUNS} runs each, a = b and a = b ± 1 included)`, () => {
    for (const s of [12, 20, 26]) {
      const code = fc.integer({ min: 0, max: 2 ** s - 1 });
      const arb = fc.oneof(
        fc.tuple(code, code),
        code.chain((a) => fc.tuple(fc.constant(a), fc.constantFrom(a, Math.max(0, a - 1), Math.min(2 ** s - 1, a + 1)))),
        fc.constant([2 ** s - 1, 0] as [number, number]),
      );
      fc.assert(
        fc.property(arb, ([a, c]) => {
          const b = buildComparator({ s, codes: a === c ? [a] : [a, c] });
          const input = a === c ? [0, 0] : [0, 1];
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, input)), k.interpreter).toBe(a >= c);
        }),
        opts,
      );
    }
  });

  it('as Theorem 5.4 uses it: 1[i ≥ b] with i from the position code, at every position, for every b (s = 1..5)', () => {
    for (let s = 1; s <= 5; s++) {
      const n = 2 ** s;
      const model = createModel({
        name: 'position-vs-counter',
        vocab: [...Array.from({ length: n }, (_, b) => String(b)), 'ge', 'lt'],
        residual: space({ pos: s, cnt: s, ge: 1, lt: 1 }),
        maxLen: n,
        readout: 'all',
      });
      embedPositionCodes(model, 'pos', s);
      for (let b = 0; b < n; b++) model.W_E.write(['vocab', b], 'cnt', [sbin(b, s)]);
      const layer = createLayer();
      writeComparator(model, layer, { name: 'mask', a: 'pos', b: 'cnt', ge: 'ge', lt: 'lt' });
      addStage(model, [layer], 1);
      model.W_U.set('ge', ['vocab', n], 1).set('lt', ['vocab', n + 1], 1);
      for (const interpreter of ['exact', `fixed:${s}`]) {
        const it = interpreterByName(interpreter);
        for (let b = 0; b < n; b++) {
          const r = it.run(model, new Array<number>(n).fill(b));
          expect(r.readouts.map((o) => o.exactLogits!.slice(n))).toEqual(r.readouts.map((_, i) => (i >= b ? ['1', '0'] : ['0', '1'])));
        }
      }
    }
  });

  it('a wrong bias (0 instead of −1) is caught exactly on the pairs with a < b', () => {
    const s = 3;
    const b = lemmaB11Comparator.build({ s });
    b.model.stages[0].layers[0].mlp!.b_in.set(['cmp.lt', 1], 0);
    for (const interpreter of ['exact', 'fixed:3']) {
      const r = sweep(b, interpreter, allWords(b.exhaustive!));
      expect(r.count).toBe((8 * 7) / 2);
      for (const f of r.first) expect(f.input[0]).toBeLessThan(f.input[1]);
    }
  });

  it('the mirror form relu(a − b + 1) − relu(a − b) saturates in F_s at a = 2^s − 1, b = 0, and only there', () => {
    const s = 3;
    const b = buildComparator({ s });
    const mlp = b.model.stages[0].layers[0].mlp!;
    // Negate the pre-activations (a − b instead of b − a), biases +1 and 0, and read ge = u − w directly.
    for (const [part, sign] of [['a', 1], ['tok', -1]] as const) {
      for (let k = 0; k < s; k++) for (const u of [0, 1]) mlp.W_in.set([part, k], ['cmp.lt', u], sign * 2 ** (k - 1));
    }
    mlp.b_in.set(['cmp.lt', 0], 1).set(['cmp.lt', 1], 0);
    mlp.W_out.set(['cmp.lt', 0], 'ge', 1).set(['cmp.lt', 1], 'ge', -1).set(['cmp.lt', 0], 'lt', -1).set(['cmp.lt', 1], 'lt', 1);
    mlp.b_out.set('ge', 0).set('lt', 1);
    expect(sweep(b, 'exact', allWords(b.exhaustive!)).count).toBe(0);
    const r = sweep(b, 'fixed:3', allWords(b.exhaustive!));
    expect(r.count).toBe(1);
    expect(r.first[0].input).toEqual([7, 0]);
    expect(b.harness.probe(interpreterByName('fixed:3').run(b.model, [7, 0])).ge).toEqual(['7/8']);
  });
});
