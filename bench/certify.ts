// Certify throughput (issue #11): the time to certify Theorem 5.1 over S5 at n = 64 (120^64 inputs)
// and Lemma B.4 at n = 256, obligations per second, and — as the baseline measured in the same run
// — how long exhaustive enumeration would take at the exact interpreter's measured rate.
//   npx tsx bench/certify.ts            (S5 at n = 64; about half a minute on two cores)
//   npx tsx bench/certify.ts --quick    (S3 at n = 16)
import { readerAbstraction } from '../certify/abstractions/reader.ts';
import { groupCompositionAbstraction } from '../certify/abstractions/group-composition.ts';
import { certify } from '../certify/certify.ts';
import type { Abstraction } from '../certify/abstraction.ts';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { buildModel } from '../proofs/thm-5-1-group-composition.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import type { Model } from '../simulators/model.ts';
import { parseGroupName } from '../tasks/groups.ts';

const quick = process.argv.includes('--quick');
const exact = interpreterByName('exact');

function measure<S>(label: string, model: Model, abs: Abstraction<S>): void {
  const r = certify(model, abs);
  const obligations = r.obligations.reduce((s, o) => s + o.count, 0);
  // Baseline: exact runs per second on random inputs of the same model.
  const t0 = performance.now();
  let runs = 0;
  while (performance.now() - t0 < 2000) {
    const tokens = Array.from({ length: abs.length }, (_, i) => {
      const choices = abs.tokens(i);
      return choices[Math.floor(Math.random() * choices.length)];
    });
    exact.run(model, tokens);
    runs++;
  }
  const perSecond = runs / ((performance.now() - t0) / 1000);
  const enumerateSeconds = Number(r.inputs.count) / perSecond;
  const years = enumerateSeconds / (365.25 * 24 * 3600);
  console.log(
    `${label.padEnd(34)} ${r.verdict.padEnd(9)} ${r.inputs.power.padEnd(8)} ${obligations.toLocaleString('en-US').padStart(9)} obligations in ${r.seconds.toFixed(2).padStart(6)} s ` +
      `(${Math.round(obligations / r.seconds).toLocaleString('en-US')}/s); exhaustive at ${perSecond.toFixed(0)} exact runs/s: ` +
      `${years > 1 ? `${years.toExponential(1)} years` : `${enumerateSeconds.toFixed(0)} s`} (${(enumerateSeconds / r.seconds).toExponential(1)}× longer)`,
  );
}

const G = parseGroupName(quick ? 'S3' : 'S5', () => '');
const n = quick ? 16 : 64;
const group = buildModel({ G, n });
measure(`group-composition ${G.name} n=${n}`, group, groupCompositionAbstraction(group, G, n));

const b4 = constructionById('lemma-b4');
const N = quick ? 32 : 256;
const s = Math.ceil(Math.log2(N));
const built = b4.build(resolveParams(b4, { n: String(N), s: String(s), V: '8', k: '3' }));
const reader = built.checks[0].model;
measure(`lemma-b4 n=${N} V=8 k=3`, reader, readerAbstraction(reader, { n: N, s, V: 8, target: (i) => Math.max(i - 3, 0), queryName: 'tgt', claim: 'out_i = x_{max(i−3, 0)}' }));
