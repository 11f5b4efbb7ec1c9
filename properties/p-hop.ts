// Properties for the p-hop constructions (Theorem B.12 as `p-hop-direct`, Corollary 5.3 as
// `p-hop`), which the tests and `looped verify` run:
//   answersProperty / lockstepProperty / extraLoopsProperty   fast-check properties over inputs
//   uniformInputs / paperSamplerInputs                         the two input distributions
// Counterexample searches under a weakening (one loop or layer fewer, fewer bits, a smaller
// softmax scale) are the generic ones of properties/counterexample.ts: the constructions say how
// their own parameters express a weakening (pHopWeaken in proofs/p-hop/built.ts).
import fc from 'fast-check';
import type { InterpreterCheck } from '../proofs/construction.ts';
import type { PHopBuilt } from '../proofs/p-hop/built.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type Model, withLoops } from '../simulators/model.ts';
import { paperPHopSampler } from '../tasks/p-hop.ts';
import { mulberry32 } from '../tasks/random.ts';

// ---------------------------------------------------------------- inputs

export { uniformInputs } from '../proofs/p-hop/built.ts';

/** Exactly n tokens drawn by the paper's sampler (uniform, conditioned on p hops existing), from a seed. */
export function paperSamplerInputs(n: number, p: number, alphabet: number, options: { nonTrivial?: boolean } = {}): fc.Arbitrary<number[]> {
  return fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 })).map((seed) => paperPHopSampler(mulberry32(seed), n, p, alphabet, options));
}

// ---------------------------------------------------------------- properties

function describeAnswer(x: unknown): string {
  return JSON.stringify(x);
}

/** The decoded answer equals the reference (hop_p, or hop_p of every prefix) under one check. */
export function answersProperty(built: PHopBuilt, check: InterpreterCheck, inputs: fc.Arbitrary<number[]>): fc.IProperty<[number[]]> {
  const it = interpreterByName(check.interpreter);
  return fc.property(inputs, (v) => {
    const run = it.run(check.model, built.encode(v));
    const got = built.decode(run);
    const want = built.reference(v);
    if (!built.equal(got, want)) throw new Error(`${check.label}: the model answers ${describeAnswer(got)}, hop_p gives ${describeAnswer(want)}`);
  });
}

/** After every loop (or layer) the decoded pointers equal the doubling algorithm's (exact check). */
export function lockstepProperty(built: PHopBuilt, inputs: fc.Arbitrary<number[]>): fc.IProperty<[number[]]> {
  const ls = built.lockstep!;
  const check = built.checks[0];
  const it = interpreterByName(check.interpreter);
  return fc.property(inputs, (v) => {
    const run = it.run(check.model, built.encode(v), { trace: true });
    for (const row of ls.compare(v, run)) {
      if (JSON.stringify(row.expected) !== JSON.stringify(row.got)) {
        throw new Error(`after step ${row.loop} the model holds ${JSON.stringify(row.got)} but the algorithm ${JSON.stringify(row.expected)}`);
      }
    }
  });
}

/** Looping `extra` more times leaves the answer equal to the reference (exact check). */
export function extraLoopsProperty(built: PHopBuilt, extra: number, inputs: fc.Arbitrary<number[]>): fc.IProperty<[number[]]> {
  const base = built.checks[0].model;
  const more: Model = withLoops(base, base.stages.map((s) => s.loops + extra));
  const it = interpreterByName('exact');
  return fc.property(inputs, (v) => {
    const got = built.decode(it.run(more, built.encode(v)));
    const want = built.reference(v);
    if (!built.equal(got, want)) throw new Error(`with ${extra} extra loops the model answers ${describeAnswer(got)}, hop_p gives ${describeAnswer(want)}`);
  });
}
