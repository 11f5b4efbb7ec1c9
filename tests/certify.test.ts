// `looped certify` against exhaustive enumeration (issue #11): on every case small enough to run
// every input, the certificate and the enumeration must agree — on the correct builds and on broken
// ones (the errata, one loop fewer, codes one bit short, random single-weight mutations). A
// certificate for a model that answers wrongly on some input would be the worst bug this project
// could have, so the mutation property asserts exactly that direction, with a real failing input.
// LOOPED_RUNS raises the number of mutations (default sized for CI's 2 cores).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupCompositionAbstraction } from '../certify/abstractions/group-composition.ts';
import { readerAbstraction } from '../certify/abstractions/reader.ts';
import { certify } from '../certify/certify.ts';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { buildModel, type Variant } from '../proofs/thm-5-1-group-composition.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { LabeledMatrix } from '../simulators/matrix.ts';
import { type Model, invalidate } from '../simulators/model.ts';
import { compose } from '../tasks/group-composition.ts';
import { type FiniteGroup, parseGroupName } from '../tasks/groups.ts';

const RUNS = Number(process.env.LOOPED_RUNS ?? '60');
const exact = interpreterByName('exact');
const group = (name: string) => parseGroupName(name, () => '');

/** Every input of the model (# then n elements), and the ones it answers wrongly. */
function wrongInputs(model: Model, G: FiniteGroup, n: number): number[][] {
  const wrong: number[][] = [];
  const word = new Array<number>(n).fill(0);
  for (;;) {
    const tokens = [G.order, ...word];
    if (answerIsWrong(model, G, tokens)) wrong.push(tokens);
    let k = n - 1;
    while (k >= 0 && word[k] === G.order - 1) word[k--] = 0;
    if (k < 0) return wrong;
    word[k]++;
  }
}

function answerIsWrong(model: Model, G: FiniteGroup, tokens: number[]): boolean {
  return exact.run(model, tokens).answer !== compose(G, tokens.slice(1));
}

function certifyGroup(model: Model, G: FiniteGroup, n: number) {
  return certify(model, groupCompositionAbstraction(model, G, n), { judge: (tokens) => answerIsWrong(model, G, tokens) });
}

describe('certify group-composition: the verdict equals exhaustive enumeration', () => {
  const cases: { G: string; n: number; variant?: Variant; loops?: number; holds: boolean }[] = [
    { G: 'S3', n: 4, holds: true },
    { G: 'Z3', n: 5, holds: true },
    { G: 'D4', n: 3, holds: true },
    { G: 'Z2', n: 8, holds: true },
    { G: 'S3', n: 4, variant: 'erratum-1', holds: false },
    { G: 'S3', n: 4, variant: 'erratum-2', holds: false },
    { G: 'Z3', n: 5, variant: 'erratum-2', holds: false },
    { G: 'S3', n: 4, loops: 1, holds: false },
    { G: 'Z2', n: 8, loops: 2, holds: false },
  ];
  for (const c of cases) {
    const name = `${c.G}, n = ${c.n}${c.variant ? `, ${c.variant}` : ''}${c.loops !== undefined ? `, ${c.loops} loop(s)` : ''}`;
    it(`${name}: ${c.holds ? 'certified, and every input is right' : 'refuted with an input that fails, and enumeration finds wrong answers'}`, () => {
      const G = group(c.G);
      const model = buildModel({ G, n: c.n, variant: c.variant ?? 'corrected', ...(c.loops !== undefined ? { loops: c.loops } : {}) });
      const wrong = wrongInputs(model, G, c.n);
      const result = certifyGroup(model, G, c.n);
      expect(wrong.length === 0).toBe(c.holds);
      expect(result.verdict).toBe(c.holds ? 'certified' : 'refuted');
      if (!c.holds) {
        expect(result.failure?.input).not.toBeNull();
        expect(result.failure?.fails).toBe(true);
        expect(answerIsWrong(model, G, result.failure!.input!)).toBe(true);
      }
    });
  }

  it('S5 at n = 8 is certified for 120^8 inputs, with every obligation counted', () => {
    const G = group('S5');
    const model = buildModel({ G, n: 8 });
    const result = certifyGroup(model, G, 8);
    expect(result.verdict).toBe('certified');
    expect(result.inputs.power).toBe('120^8');
    expect(result.inputs.count).toBe((120n ** 8n).toString());
    const byKind = Object.fromEntries(result.obligations.map((o) => [o.kind, o]));
    expect(byKind.embedding.count).toBe(8 * 120 + 1);
    expect(byKind.readout.count).toBe(120);
    expect(byKind.readout.minMargin).toBe(2); // b − 2 for the nearest code against b; # scores 0
    expect(byKind.update.count).toBeGreaterThanOrEqual(120 * 120); // position 8 reads positions 7 and 8: every pair
  });

  it('codes one bit short (position codes of ⌈log2 n⌉ bits at n = 4) are refuted at attention, and enumeration agrees', () => {
    const G = group('Z3');
    const n = 4;
    const model = buildModel({ G, n });
    // Position n and position 0 share a code with one bit fewer: rebuild the codes mod 2^(p−1).
    const p = model.residual.range('pos').size;
    for (const name of ['pos', 'src1', 'src2']) {
      const { offset } = model.residual.range(name);
      for (let i = 0; i <= n; i++) model.W_pos.setAt(i, offset + p - 1, -1);
    }
    invalidate(model);
    const wrong = wrongInputs(model, G, n);
    const result = certifyGroup(model, G, n);
    expect(wrong.length).toBeGreaterThan(0);
    expect(result.verdict).toBe('refuted');
    expect(result.failure?.fails).toBe(true);
  });
});

describe('certify never certifies a mutated model that answers wrongly', () => {
  // One weight changed: any entry of any matrix (a nonzero one half the time), by a small step, a sign flip or to zero.
  const cases = [
    { G: 'S3', n: 3 },
    { G: 'Z3', n: 4 },
  ];
  const matrices = (m: Model): LabeledMatrix[] => [
    m.W_E,
    m.W_pos,
    m.W_U,
    ...m.stages[0].layers.flatMap((l) => [...l.heads.flatMap((h) => [h.W_Q, h.W_K, h.W_V, h.W_O]), ...(l.mlp ? [l.mlp.W_in, l.mlp.b_in.matrix, l.mlp.W_out, l.mlp.b_out.matrix] : [])]),
  ];
  const tally = { mutants: 0, wrong: 0, refuted: 0, refutedButRight: 0 };
  for (const c of cases) {
    it(`${c.G}, n = ${c.n}: a certificate implies every input is right; a wrong input implies a refutation whose input fails`, () => {
      const G = group(c.G);
      const count = matrices(buildModel({ G, n: c.n })).length;
      fc.assert(
        fc.property(
          fc.nat({ max: count - 1 }),
          fc.boolean(),
          fc.nat(),
          fc.constantFrom('+1', '-1', '+2', '-2', '+1/2', 'negate', 'zero'),
          (which, nonzero, index, change) => {
            const model = buildModel({ G, n: c.n });
            const M = matrices(model)[which];
            const nz = M.rowsSparse().flatMap((row, r) => row.map((e) => [r, e.col] as const));
            const [r, col] = nonzero && nz.length > 0 ? nz[index % nz.length] : [Math.floor(index / M.cols.dim) % M.rows.dim, index % M.cols.dim];
            const v = M.get(r, col);
            const next = change === 'negate' ? -v : change === 'zero' ? 0 : v + Number(eval(change.replace('+', '')));
            if (next === v) return; // no change: not a mutant
            M.setAt(r, col, next);
            invalidate(model);
            const wrong = wrongInputs(model, G, c.n);
            const result = certifyGroup(model, G, c.n);
            tally.mutants++;
            if (wrong.length > 0) tally.wrong++;
            if (result.verdict !== 'certified') tally.refuted++;
            if (result.verdict !== 'certified' && wrong.length === 0) tally.refutedButRight++;
            if (result.verdict === 'refuted') expect(wrong.length).toBeGreaterThan(0);
            if (wrong.length > 0) {
              expect(result.verdict, `${M.name}[${r}, ${col}] ${v} → ${next}: ${wrong.length} wrong inputs`).toBe('refuted');
              expect(result.failure?.fails).toBe(true);
              expect(answerIsWrong(model, G, result.failure!.input!)).toBe(true);
            }
            if (result.verdict === 'certified') expect(wrong).toEqual([]);
          },
        ),
        { numRuns: RUNS, seed: 20261203 },
      );
      expect(tally.wrong).toBeGreaterThan(0); // the mutations do break models
      if (process.env.LOOPED_RUNS) console.log(`mutants ${tally.mutants}: ${tally.wrong} answer wrongly, ${tally.refuted} not certified (${tally.refutedButRight} of them answer right on every input)`);
    });
  }
});

describe('certify the Lemma B.4 readers: the verdict equals exhaustive enumeration', () => {
  const readerCase = (id: 'lemma-b4' | 'lemma-b9-shift', p: { n: number; s: number; V: number; k?: number }) => {
    const c = constructionById(id);
    const params: Record<string, string> = { n: String(p.n), s: String(p.s), V: String(p.V), ...(p.k !== undefined ? { k: String(p.k) } : {}) };
    const built = c.build(resolveParams(c, params));
    const model = built.checks[0].model;
    const target = id === 'lemma-b4' ? (i: number) => Math.max(i - p.k!, 0) : (i: number) => Math.max(i - 1, 0);
    const abs = readerAbstraction(model, { n: p.n, s: p.s, V: p.V, target, queryName: id === 'lemma-b4' ? 'tgt' : 'prev', claim: 'out_i = x_{t(i)}' });
    const wrongOn = (tokens: number[]) => !built.equal(built.decode(exact.run(model, tokens)), built.reference(tokens as never));
    return { model, abs, wrongOn };
  };
  const all = (n: number, V: number): number[][] => (n === 0 ? [[]] : all(n - 1, V).flatMap((w) => Array.from({ length: V }, (_, v) => [...w, v])));
  const cases = [
    { id: 'lemma-b4', n: 6, s: 3, V: 3, k: 2, holds: true },
    { id: 'lemma-b4', n: 7, s: 2, V: 2, k: 2, holds: false }, // 2-bit codes alias from position 2^2 + 2 = 6
    { id: 'lemma-b4', n: 5, s: 2, V: 3, k: 5, holds: false }, // k ≥ 2^s: position 4 wants 0 and matches itself
    { id: 'lemma-b9-shift', n: 8, s: 3, V: 2, holds: true },
    { id: 'lemma-b9-shift', n: 6, s: 2, V: 2, holds: false }, // position 5 wants 4 and matches 0
  ] as const;
  for (const c of cases) {
    it(`${c.id} n = ${c.n}, s = ${c.s}, V = ${c.V}${'k' in c ? `, k = ${c.k}` : ''}: ${c.holds ? 'certified' : 'refuted with a failing input'}`, () => {
      const { model, abs, wrongOn } = readerCase(c.id, c);
      const wrong = all(c.n, c.V).filter(wrongOn);
      const result = certify(model, abs, { judge: wrongOn });
      expect(wrong.length === 0).toBe(c.holds);
      expect(result.verdict).toBe(c.holds ? 'certified' : 'refuted');
      if (!c.holds) {
        expect(result.failure?.kind).toBe('attention');
        expect(wrongOn(result.failure!.input!)).toBe(true);
      }
    });
  }

  it('random single-weight mutations of lemma-b4: never certified when some input is answered wrongly', () => {
    const p = { n: 4, s: 2, V: 3, k: 1 };
    let broke = 0;
    fc.assert(
      fc.property(fc.nat({ max: 6 }), fc.nat(), fc.constantFrom(1, -1, 2, 0.5, 0), (which, index, change) => {
        const { model, abs, wrongOn } = readerCase('lemma-b4', p);
        const h = model.stages[0].layers[0].heads[0];
        const M = [model.W_E, model.W_pos, model.W_U, h.W_Q, h.W_K, h.W_V, h.W_O][which];
        const nz = M.rowsSparse().flatMap((row, r) => row.map((e) => [r, e.col] as const));
        const [r, col] = index % 2 === 0 && nz.length > 0 ? nz[(index >> 1) % nz.length] : [(index >> 1) % M.rows.dim, index % M.cols.dim];
        const v = M.get(r, col);
        const next = change === 0 ? 0 : change === -1 ? -v : v + change;
        if (next === v) return;
        M.setAt(r, col, next);
        invalidate(model);
        const wrong = all(p.n, p.V).filter(wrongOn);
        const result = certify(model, abs, { judge: wrongOn });
        if (wrong.length > 0) {
          broke++;
          expect(result.verdict, `${M.name}[${r}, ${col}] ${v} → ${next}`).toBe('refuted');
          expect(wrongOn(result.failure!.input!)).toBe(true);
        }
        if (result.verdict === 'certified') expect(wrong).toEqual([]);
      }),
      { numRuns: RUNS, seed: 20261204 },
    );
    expect(broke).toBeGreaterThan(0);
  });
});
