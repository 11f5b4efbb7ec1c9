// Lemma B.10 (binary increment, least significant bit first): exhaustive under exact and fixed:s.
// fast-check seed: FC_SEED (default 42); runs per property: FC_RUNS (default 200).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sbin } from '../proofs/codes.ts';
import { type Construction, allWords } from '../proofs/construction.ts';
import { buildIncrement, lemmaB10Increment } from '../proofs/gadgets/increment.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { withLoops } from '../simulators/model.ts';
import { RUNS, opts, sweep, expectAllPass, claimedRows } from './support/gadgets.ts';

// ================================================================ Lemma B.10

describe('Lemma B.10: binary increment, least significant bit first', () => {
  it('is one layer of 2s units (the paper: O(s) width, constant depth)', () => {
    for (const s of [2, 5, 12]) {
      const b = lemmaB10Increment.build({ s });
      for (const [key, row] of Object.entries(claimedRows(lemmaB10Increment as Construction, b))) expect(row.built, key).toBe(row.claimed);
    }
  });

  it('maps every counter c to (c + 1) mod 2^s for s = 2..8, exact and fixed:s; 2^s − 1 wraps to 0 and raises overflow', () => {
    for (let s = 2; s <= 8; s++) {
      const b = lemmaB10Increment.build({ s });
      expectAllPass(b, () => allWords(b.exhaustive!), 2 ** s);
      const top1 = interpreterByName(`fixed:${s}`).run(b.model, [2 ** s - 1]);
      expect(b.decode(top1)).toEqual({ counter: 0, overflow: true });
      expect(top1.answer).toBe(0); // the argmax token is the incremented counter
    }
  });

  it(`holds on random counters for s = 12, 20, 26 (${RUNS} runs each, the edges 0, 2^s − 2, 2^s − 1 included)`, () => {
    for (const s of [12, 20, 26]) {
      const arb = fc.oneof(fc.integer({ min: 0, max: 2 ** s - 1 }), fc.constantFrom(0, 2 ** s - 2, 2 ** s - 1, 2 ** (s - 1) - 1));
      fc.assert(
        fc.property(arb, (c) => {
          const b = buildIncrement({ s, counters: [c] });
          for (const k of b.checks) expect(b.decode(interpreterByName(k.interpreter).run(k.model, [0])), k.interpreter).toEqual(b.reference([0]));
        }),
        opts,
      );
    }
  });

  it('looped L times it counts: c + L mod 2^s, with ⌊(c + L)/2^s⌋ in the overflow direction (the Theorem 5.4 counter)', () => {
    const s = 4;
    const b = buildIncrement({ s });
    const exact = interpreterByName('exact');
    for (const L of [0, 1, 5, 16, 23]) {
      const looped = withLoops(b.model, [L]);
      for (let c = 0; c < 16; c++) {
        const p = b.harness.probe(exact.run(looped, [c]));
        expect(p.counter).toEqual(sbin((c + L) % 16, s).map(String));
        expect(p.overflow).toEqual([String(Math.floor((c + L) / 16))]);
      }
    }
  });

  it('needs s ≥ 2 in F_s: in F_1 the update −2 rounds to −3/2 and the counter 1 becomes −1/2', () => {
    const b = buildIncrement({ s: 1 });
    expect(sweep(b, 'exact', allWords(b.exhaustive!)).count).toBe(0);
    expect(b.harness.probe(interpreterByName('fixed:1').run(b.model, [1])).counter).toEqual(['-1/2']);
  });

  it('a wrong bias (−2 instead of −1 on the carry into bit 1) is caught exactly on the counters that carry into bit 1', () => {
    const s = 4;
    const b = lemmaB10Increment.build({ s });
    b.model.stages[0].layers[0].mlp!.b_in.set(['inc.down', 1], -2);
    for (const interpreter of ['exact', `fixed:${s}`]) {
      const r = sweep(b, interpreter, allWords(b.exhaustive!));
      expect(r.count).toBe(4); // c ≡ 3 mod 4
      for (const f of r.first) expect(f.input[0] % 4).toBe(3);
    }
  });
});
