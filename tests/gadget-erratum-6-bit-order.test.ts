// Erratum 6: the bit order each gadget reads (Lemmas B.10 and B.11 disagree; the project uses
// LSB-first), built both ways.
import { describe, expect, it } from 'vitest';
import { sbin } from '../proofs/codes.ts';
import { writeComparator } from '../proofs/gadgets/comparator.ts';
import { writeIncrement } from '../proofs/gadgets/increment.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { addStage, createLayer, createModel } from '../simulators/model.ts';
import { space } from '../simulators/space.ts';

// ================================================================ erratum 6: bit orders

describe('erratum 6: the bit order each gadget reads (Lemmas B.10 and B.11 disagree; the project uses LSB-first)', () => {
  const msb = (x: number, s: number) => [...sbin(x, s)].reverse();

  /** 1[code(i) ≥ code(b)] at every position i for every counter b, the gadget reading `order`, the codes written in `written`. */
  function comparatorMismatches(s: number, order: 'lsb-first' | 'msb-first', written: 'lsb-first' | 'msb-first', interpreter: string): { i: number; b: number }[] {
    const n = 2 ** s;
    const code = written === 'lsb-first' ? sbin : msb;
    const model = createModel({ name: 'order', vocab: [...Array.from({ length: n }, (_, b) => String(b)), 'ge', 'lt'], residual: space({ pos: s, cnt: s, ge: 1, lt: 1 }), maxLen: n, readout: 'all' });
    for (let i = 0; i < n; i++) model.W_pos.write(['positions', i], 'pos', [code(i, s)]);
    for (let b = 0; b < n; b++) model.W_E.write(['vocab', b], 'cnt', [code(b, s)]);
    const layer = createLayer();
    writeComparator(model, layer, { name: 'mask', a: 'pos', b: 'cnt', ge: 'ge', lt: 'lt', bitOrder: order });
    addStage(model, [layer], 1);
    model.W_U.set('ge', ['vocab', n], 1).set('lt', ['vocab', n + 1], 1);
    const it = interpreterByName(interpreter);
    const bad: { i: number; b: number }[] = [];
    for (let b = 0; b < n; b++) {
      const r = it.run(model, new Array<number>(n).fill(b));
      r.readouts.forEach((o, i) => {
        if (o.exactLogits!.slice(n).join() !== (i >= b ? '1,0' : '0,1')) bad.push({ i, b });
      });
    }
    return bad;
  }

  it('comparator MSB-first is exact on codes written MSB-first (s = 1..4, exact and fixed:s)', () => {
    for (let s = 1; s <= 4; s++) for (const k of ['exact', `fixed:${s}`]) expect(comparatorMismatches(s, 'msb-first', 'msb-first', k), `s=${s} ${k}`).toEqual([]);
  });

  it('comparator MSB-first on the state\'s LSB-first codes compares the bit reversals: wrong exactly where the order of rev(i), rev(b) differs from i, b', () => {
    const rev = (x: number, s: number) => parseInt(x.toString(2).padStart(s, '0').split('').reverse().join(''), 2);
    expect(comparatorMismatches(1, 'msb-first', 'lsb-first', 'exact')).toEqual([]); // one bit: its reversal is itself
    for (let s = 2; s <= 4; s++) {
      const bad = comparatorMismatches(s, 'msb-first', 'lsb-first', 'exact');
      const want: { i: number; b: number }[] = [];
      for (let b = 0; b < 2 ** s; b++) for (let i = 0; i < 2 ** s; i++) if (rev(i, s) >= rev(b, s) !== i >= b) want.push({ i, b });
      expect(bad).toEqual(want);
      expect(bad.length).toBeGreaterThan(0);
    }
    // The smallest: s = 2, i = 1 against b = 2: rev gives 2 ≥ 1, so position 1 passes a counter it is below.
    expect(comparatorMismatches(2, 'msb-first', 'lsb-first', 'exact')).toContainEqual({ i: 1, b: 2 });
  });

  /** The counter after one increment, as the codes it should be in `written`, for every c; the gadget reading `order`. */
  function incrementMismatches(s: number, order: 'lsb-first' | 'msb-first', written: 'lsb-first' | 'msb-first', interpreter: string): number[] {
    const code = written === 'lsb-first' ? sbin : msb;
    const n = 2 ** s;
    const model = createModel({ name: 'inc-order', vocab: Array.from({ length: n }, (_, c) => String(c)), residual: space({ cnt: s, ovf: 1 }), maxLen: 1 });
    for (let c = 0; c < n; c++) model.W_E.write(['vocab', c], 'cnt', [code(c, s)]);
    const layer = createLayer();
    writeIncrement(model, layer, { name: 'inc', counter: 'cnt', overflow: 'ovf', bitOrder: order });
    addStage(model, [layer], 1);
    const it = interpreterByName(interpreter);
    const bad: number[] = [];
    for (let c = 0; c < n; c++) {
      const r = it.run(model, [c], { trace: true });
      const got = r.trace!.read(r.trace!.keys().filter((k) => k.endsWith('hook_resid_post')).pop()!, 'cnt', 0);
      if (got.join() !== code((c + 1) % n, s).join()) bad.push(c);
    }
    return bad;
  }

  it('increment MSB-first is exact on codes written MSB-first (s = 2..5, exact and fixed:s); on LSB-first codes it is wrong', () => {
    for (let s = 2; s <= 5; s++) {
      for (const k of ['exact', `fixed:${s}`]) expect(incrementMismatches(s, 'msb-first', 'msb-first', k), `s=${s} ${k}`).toEqual([]);
      expect(incrementMismatches(s, 'lsb-first', 'lsb-first', 'exact')).toEqual([]);
      // On LSB-first codes the MSB-first increment computes rev(rev(c) + 1): right only where that is c + 1 (mod 2^s).
      const n = 2 ** s;
      const rev = (x: number) => parseInt(x.toString(2).padStart(s, '0').split('').reverse().join(''), 2);
      const want = Array.from({ length: n }, (_, c) => c).filter((c) => rev((rev(c) + 1) % n) !== (c + 1) % n);
      expect(incrementMismatches(s, 'msb-first', 'lsb-first', 'exact')).toEqual(want);
      expect(want.length).toBeGreaterThanOrEqual(n - 2);
    }
  });

  it('a bit order other than lsb-first / msb-first is named', () => {
    const model = createModel({ name: 'x', vocab: ['a'], residual: space({ a: 2, b: 2, cnt: 2 }), maxLen: 1 });
    const layer = createLayer();
    expect(() => writeComparator(model, layer, { name: 'c', a: 'a', b: 'b', bitOrder: 'big' as 'msb-first' })).toThrow(/comparator 'c': bitOrder must be lsb-first or msb-first, got "big"/);
    expect(() => writeIncrement(model, layer, { name: 'i', counter: 'cnt', bitOrder: 'le' as 'msb-first' })).toThrow(/increment 'i': bitOrder must be lsb-first or msb-first/);
  });
});
