// Mutation testing as a benchmark (not a CI step): StrykerJS mutates the sources of one part —
// a sign, an off-by-one, a comparison, a constant — and runs that part's tests against each
// mutant. A mutant the tests do not notice "survives": either the tests miss a real bug there,
// or the mutant is equivalent (it changes nothing observable). Prints the score per folder and
// every survivor with its place, so each can be killed by a test or explained.
//   npx tsx bench/mutation.ts --part arithmetic      (parts: npx tsx bench/mutation.ts --list)
//   npx tsx bench/mutation.ts --part all             (everything at once: hours on two cores)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** A part: the files mutated and the test files that exercise them (the whole suite is slow). */
const PARTS: Record<string, { mutate: string[]; tests: string[] }> = {
  arithmetic: { mutate: ['simulators/arithmetic/**/*.ts', 'simulators/rational.ts'], tests: ['fixed-point.test.ts', 'exact.test.ts', 'engine.test.ts', 'mutants.test.ts'] },
  budget: { mutate: ['simulators/budget.ts', 'simulators/preflight.ts'], tests: ['budget.test.ts'] },
  model: { mutate: ['simulators/model.ts', 'simulators/matrix.ts', 'simulators/space.ts', 'simulators/forward.ts', 'simulators/cot.ts'], tests: ['model.test.ts', 'engine.test.ts', 'mutants.test.ts', 'padding.test.ts'] },
  files: { mutate: ['simulators/model-file.ts', 'simulators/safetensors/format.ts', 'simulators/safetensors/export.ts', 'simulators/safetensors/import.ts', 'simulators/strict-json.ts', 'simulators/model-limits.ts'], tests: ['model-file.test.ts', 'model-file-hardening.test.ts', 'safetensors-fuzz.test.ts'] },
  fast: { mutate: ['simulators/fast/**/*.ts'], tests: ['fast.test.ts'] },
  gadgets: { mutate: ['proofs/gadgets/**/*.ts', 'proofs/codes.ts'], tests: ['gadgets.test.ts', 'gadget-b6-argmax.test.ts', 'gadget-b7-decode-embed.test.ts', 'gadget-b8-gate.test.ts', 'gadget-b10-increment.test.ts', 'gadget-b11-comparator.test.ts', 'gadget-composition.test.ts', 'gadget-erratum-6-bit-order.test.ts'] },
  'thm-5-1': { mutate: ['proofs/thm-5-1-group-composition.ts'], tests: ['thm-5-1.test.ts'] },
  'p-hop': { mutate: ['proofs/p-hop/**/*.ts'], tests: ['p-hop.test.ts', 'p-hop-softmax.test.ts'] },
  'thm-5-2': { mutate: ['proofs/thm-5-2-loop-one-layer.ts', 'proofs/thm-5-2/**/*.ts', 'proofs/compiler/**/*.ts'], tests: ['thm-5-2.test.ts', 'thm-5-2-fixed.test.ts', 'compiler-kit.test.ts'] },
  'thm-5-4': { mutate: ['proofs/thm-5-4-cot-loops.ts', 'proofs/thm-5-4/**/*.ts'], tests: ['thm-5-4.test.ts', 'thm-5-4b.test.ts', 'thm-5-4-softmax.test.ts', 'thm-5-4-errata.test.ts', 'mutants.test.ts'] },
  'n-ary-addition': { mutate: ['proofs/n-ary-addition.ts'], tests: ['n-ary-addition.test.ts'] },
  compositions: { mutate: ['proofs/compositions/**/*.ts'], tests: ['compose.test.ts'] },
  contract: { mutate: ['proofs/contract.ts', 'proofs/param-readers.ts', 'simulators/regular-file.ts', 'simulators/extrema.ts'], tests: ['construction-file.test.ts', 'table-files.test.ts', 'extrema.test.ts', 'thm-5-1.test.ts'] },
  certify: { mutate: ['certify/**/*.ts'], tests: ['certify.test.ts'] },
  'cot-tasks': { mutate: ['proofs/cot-tasks/**/*.ts'], tests: ['cot-automaton.test.ts', 'cot-p-hop.test.ts', 'cot-circuit.test.ts', 'verify-all.test.ts'] },
};

const args = process.argv.slice(2);
const opt = (name: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 ? args[k + 1] : undefined;
};
if (args.includes('--list') || opt('part') === undefined) {
  for (const [name, p] of Object.entries(PARTS)) console.log(`${name.padEnd(10)} mutates ${p.mutate.join(', ')}; tests ${p.tests.join(', ')}`);
  process.exit(args.includes('--list') ? 0 : 2);
}
const partName = opt('part')!;
const part = partName === 'all' ? { mutate: Object.values(PARTS).flatMap((p) => p.mutate), tests: [] } : PARTS[partName];
if (part === undefined) {
  console.error(`unknown part "${partName}"; parts: ${Object.keys(PARTS).join(', ')}, all`);
  process.exit(2);
}

const report = 'artifacts/mutation/report.json';
const t0 = performance.now();
const run = spawnSync('npx', ['stryker', 'run', '--mutate', part.mutate.join(',')], {
  stdio: 'inherit',
  env: { ...process.env, ...(part.tests.length > 0 ? { LOOPED_TESTS: part.tests.join(',') } : {}) },
});
if (run.status !== 0 || !existsSync(report)) {
  console.error(`stryker exited with ${run.status}; no report at ${report}`);
  process.exit(1);
}

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}
const json = JSON.parse(readFileSync(report, 'utf8')) as { files: Record<string, { mutants: Mutant[] }> };
// Killed and timed-out mutants count as detected; survived and no-coverage as missed; compile
// errors and ignored mutants are not counted (Stryker's own "mutation score").
const byFolder = new Map<string, { detected: number; missed: number }>();
const survivors: string[] = [];
for (const [file, { mutants }] of Object.entries(json.files)) {
  const folder = file.split('/').slice(0, -1).join('/') || '.';
  const f = byFolder.get(folder) ?? { detected: 0, missed: 0 };
  for (const m of mutants) {
    if (m.status === 'Killed' || m.status === 'Timeout') f.detected++;
    else if (m.status === 'Survived' || m.status === 'NoCoverage') {
      f.missed++;
      survivors.push(`${file}:${m.location.start.line}:${m.location.start.column}  ${m.mutatorName}${m.replacement ? ` → ${m.replacement.replace(/\s+/g, ' ').slice(0, 60)}` : ''}  (${m.status})`);
    }
  }
  byFolder.set(folder, f);
}
console.log(`\nmutation score, part ${partName} (${((performance.now() - t0) / 60000).toFixed(1)} min):`);
let detected = 0;
let missed = 0;
for (const [folder, f] of [...byFolder].sort()) {
  detected += f.detected;
  missed += f.missed;
  console.log(`  ${folder.padEnd(28)} ${((100 * f.detected) / Math.max(1, f.detected + f.missed)).toFixed(1)}%  (${f.detected} detected, ${f.missed} missed)`);
}
console.log(`  ${'total'.padEnd(28)} ${((100 * detected) / Math.max(1, detected + missed)).toFixed(1)}%`);
if (survivors.length > 0) console.log(`\nsurvivors (${survivors.length}):\n  ${survivors.join('\n  ')}`);
