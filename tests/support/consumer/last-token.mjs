// A plain JavaScript consumer of the installed package (tests/package.test.ts copies it into a
// folder outside the repository): it builds, runs and verifies the construction of
// last-token-construction.mjs, verifies a broken copy (which must be refused with an input), and
// prints the outcomes as one JSON line.
import { interpreterByName, resolveParams, verifyConstruction } from 'looped';
import { lastToken } from './last-token-construction.mjs';

const params = resolveParams(lastToken, { V: '5' });
const built = lastToken.build(params);
const run = interpreterByName('fast64').run(built.model, [1, 4, 2]);
const report = await verifyConstruction(lastToken, params, { samples: 50, seed: 1 });
// A broken copy (the readout reads the wrong token) must be refused.
const broken = {
  ...lastToken,
  build(p) {
    const b = lastToken.build(p);
    b.model.W_U.set(['tok', 0], ['vocab', 0], 0).set(['tok', 0], ['vocab', 1], 1);
    return b;
  },
};
const refused = await verifyConstruction(broken, params, { samples: 50, seed: 1 });
process.stdout.write(
  JSON.stringify({ answer: run.answer, ok: report.ok, checks: report.checks.map((k) => [k.interpreter, k.samples, k.failed]), brokenOk: refused.ok, brokenInput: refused.checks[0].counterexample?.input ?? null }) + '\n',
);
