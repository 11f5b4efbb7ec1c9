// Prints the README's table of built vs claimed sizes (markdown), from the constructions
// themselves, so the README can be regenerated when a construction changes:
//   npx tsx scripts/sizes-table.ts
import { compareSizes, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { modelSizes } from '../simulators/model.ts';

const rows: [string, Record<string, string>][] = [
  ['lemma-b4', { n: '16' }],
  ['lemma-b4', { n: '1024' }],
  ['lemma-b9-shift', { n: '16' }],
  ['group-composition', { group: 'Z5', n: '64' }],
  ['group-composition', { group: 'S3', n: '8' }],
  ['group-composition', { group: 'D4', n: '64' }],
  ['group-composition', { group: 'S5', n: '64' }],
  ['n-ary-addition', { n: '8' }],
  ['n-ary-addition', { n: '16' }],
  ['n-ary-addition', { n: '32' }],
  ['p-hop-direct', { p: '3', n: '16' }],
  ['p-hop-direct', { p: '16', n: '256' }],
  ['p-hop-direct', { p: '32', n: '256' }],
  ['p-hop', { p: '3', n: '16' }],
  ['p-hop', { p: '16', n: '256' }],
  ['p-hop', { p: '32', n: '256' }],
  ['lemma-b6-argmax', {}],
  ['lemma-b7-decode-embed', {}],
  ['lemma-b8-gate', {}],
  ['lemma-b10-increment', {}],
  ['lemma-b11-comparator', {}],
  ['thm-5.2', {}],
  ['thm-5.2', { layers: '12', distinct: '12' }],
  ['cor-5.3-compiled', { p: '3', n: '16' }],
  ['cor-5.3-compiled', { p: '16', n: '64' }],
  ['cor-5.3-compiled', { p: '43', n: '64' }],
  ['thm-5.4', {}],
  ['thm-5.4', { variant: 'no-masks' }],
  ['cot-automaton', { automaton: 'parity', n: '8' }],
  ['cot-automaton', { automaton: 'S5', n: '4' }],
  ['cot-p-hop', { p: '4', n: '16' }],
  ['cot-p-hop', { p: '16', n: '64' }],
  ['cot-circuit', { kind: 'boolean', gates: '8' }],
  ['cot-circuit', { kind: 'igsm', gates: '8' }],
];

const cell = (built: number | null, claimed: number | null) => {
  if (built === null) return '—';
  if (claimed === null) return String(built);
  return built === claimed ? `${built}` : `${built} / ${claimed}${built > claimed ? ' ⚠' : ''}`;
};

console.log('| construction | parameters | layers × loops | width | MLP width | heads × head size | bits |');
console.log('|---|---|---|---|---|---|---|');
for (const [id, given] of rows) {
  const c = constructionById(id);
  const params = resolveParams(c, given);
  const built = c.build(params);
  const sizes = modelSizes(built.model);
  const s = Object.fromEntries(compareSizes(c, built, sizes).map((r) => [r.key, r]));
  const shown = Object.entries(given).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(
    `| ${id} | ${shown} | ${cell(s.layersPerBlock.built, s.layersPerBlock.claimed)} × ${cell(s.loops.built, s.loops.claimed)} | ${cell(s.width.built, s.width.claimed)} | ${cell(s.mlpWidth.built, s.mlpWidth.claimed)} | ${cell(s.heads.built, s.heads.claimed)} × ${cell(s.headDim.built, s.headDim.claimed)} | ${cell(s.bits.built, s.bits.claimed)} |`,
  );
}
