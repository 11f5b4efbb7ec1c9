// Exact interpreter speed: the hybrid exact type (doubles while provably exact, Fractions
// otherwise) against plain mathjs Fractions, on the same constructions in the same run.
// Run: npx tsx bench/exact.ts
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { exact, exactFractions } from '../simulators/arithmetic/exact.ts';
import type { NumberSystem } from '../simulators/arithmetic/number-system.ts';
import { forward } from '../simulators/forward.ts';
import { mulberry32 } from '../tasks/random.ts';

const workloads: { id: string; params: Record<string, string> }[] = [
  { id: 'lemma-b4', params: { n: '256' } },
  { id: 'lemma-b9-shift', params: { n: '128' } },
];

function time<T>(ns: NumberSystem<T>, run: (ns: NumberSystem<T>) => void, reps: number): number {
  run(ns); // warm up (and convert weights once)
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run(ns);
  return (performance.now() - t0) / reps;
}

console.log('workload                     hybrid ms   Fraction ms   speed-up');
for (const w of workloads) {
  let c;
  try {
    c = constructionById(w.id);
  } catch {
    continue;
  }
  const built = c.build(resolveParams(c, w.params));
  const rng = mulberry32(1);
  const input = built.parseInput(JSON.stringify(Array.from({ length: Number(w.params.n) }, () => Math.floor(rng() * 4))));
  const tokens = built.encode(input);
  const model = built.checks[0].model;
  const hybrid = time(exact, (ns) => void forward(ns, model, tokens), 3);
  const fractions = time(exactFractions, (ns) => void forward(ns, model, tokens), 1);
  console.log(`${`${w.id} ${Object.entries(w.params).map(([k, v]) => `${k}=${v}`).join(' ')}`.padEnd(28)} ${hybrid.toFixed(1).padStart(9)}   ${fractions.toFixed(1).padStart(11)}   ${(fractions / hybrid).toFixed(1)}×`);
}
