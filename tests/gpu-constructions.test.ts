// The GPU interpreter against the float32 CPU interpreter on every registered construction, at
// its default parameters, through gpu.js's cpu backend (the same kernel source the GPU runs):
// the hard-attention model and every softmax variant the construction checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../proofs/construction.ts';
import { allConstructions } from '../proofs/registry.ts';
import { interpreterByName } from '../simulators/interpreters.ts';

describe('gpu (cpu backend) equals float32 on every registered construction', () => {
  const gpu = interpreterByName('gpu:cpu');
  const f32 = interpreterByName('float32');
  for (const c of allConstructions()) {
    it(c.id, () => {
      const built = c.build(resolveParams(c, {}));
      const inputs = fc.sample(built.arbitrary(), { seed: 42, numRuns: 6 }).map((x) => built.encode(x));
      const models = [built.checks[0].model, ...built.checks.filter((k) => k.interpreter !== 'exact').map((k) => k.model)];
      for (const model of models) {
        const got = gpu.runBatch!(model, inputs);
        inputs.forEach((tokens, j) => {
          const want = f32.run(model, tokens);
          expect(got[j].interpreter).toBe('gpu(cpu)');
          expect(got[j].readouts.map((r) => r.token)).toEqual(want.readouts.map((r) => r.token));
          expect(got[j].readouts.map((r) => r.logits)).toEqual(want.readouts.map((r) => r.logits));
        });
      }
    });
  }
});
