// A strict TypeScript consumer of the installed package (tests/package.test.ts copies it, and
// examples/first-token.ts with its import pointed at 'looped', into a folder outside the
// repository, type-checks both with tsc --noEmit against the shipped .d.ts, and runs them with tsx).
import { type VerifyReport, interpreterByName, resolveParams, verifyConstruction } from 'looped';
import firstToken from './first-token.js';

const params = resolveParams(firstToken, { n: '10', V: '5' });
const built = firstToken.build(params);
const answer: number | null = built.decode(interpreterByName('float64').run(built.checks[2].model, built.encode([3, 1, 4, 1])));
const report: VerifyReport = await verifyConstruction(firstToken, params, { samples: 100, seed: 3 });
console.log(JSON.stringify({ answer, ok: report.ok, checks: report.checks.map((k) => [k.interpreter, k.samples, k.failed]), sizes: report.sizes.map((s) => [s.key, s.claimed, s.built]) }));
