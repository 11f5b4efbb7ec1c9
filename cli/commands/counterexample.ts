import { UsageError } from '../../common/errors.ts';
import { type SearchResult, type Threshold, type Weakening, fewestPassingBits, searchCounterexample, smallestPassingScale } from '../../properties/counterexample.ts';
import { intOption, parse, positiveNumberOption, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS, SEARCH_FLAGS, constructionWithParams, searchOptions } from '../construction-args.ts';
import { type Out, printHelp, safeText, toJson } from '../output.ts';

export const counterexampleHelp = `looped counterexample <construction> [--param k=v …] (--loops L | --bits s | --scale β | --fewest-bits | --smallest-scale)
                      [--samples N] [--seed S] [--path P] [--inputs search|checks] [--json]

Searches for an input on which the construction, under a weakened condition, answers differently
from its reference algorithm, and prints the smallest one fast-check shrinks to, with a command
that replays it:
  --loops L         L loops instead of the claimed count (e.g. one loop fewer), exact arithmetic;
                    p-hop-direct, which is not looped, keeps its first L layers
  --bits s          the fixed-point variant under fixed:s (softmax as the paper computes it)
  --scale β         the construction as a float64 softmax model with every score multiplied by β
  (none)            the construction as built, e.g. --param variant=erratum-1 (as the paper printed it)
  --fewest-bits     scan s = 1, 2, … for the fewest bits that passed every sample
  --smallest-scale  bisect for the smallest softmax scale that passed every sample
Where a construction has a parameter for the weakening (loops, layers, scale), the failing run is
rebuilt from it, so the replay is a plain \`looped run <construction> --param …\`. --seed and --path
repeat fast-check's search; --inputs checks draws the inputs \`looped verify\` checks instead of
the construction's search inputs (p-hop: uniform sequences, which shrink to the shortest).

Exit codes: 1 a counterexample was found, 0 none within the sample budget (the count is printed),
2 usage error. The threshold searches report counterexamples the same way, not the threshold: 1
when their output holds one (the failing run just below the threshold, or every value failed and
there is no threshold), 0 when the first probe already passed (no counterexample anywhere). Their
--json has "found" to say the same, beside the threshold itself (null when none passed).

Examples:
  looped counterexample lemma-b4 --param n=16 --bits 2
  looped counterexample lemma-b4 --param n=16 --smallest-scale --samples 200`;

export function counterexample(argv: string[], out: Out): number {
  const { positionals, values } = parse(
    argv,
    {
      ...CONSTRUCTION_FLAGS,
      loops: { type: 'string' },
      bits: { type: 'string' },
      scale: { type: 'string' },
      'fewest-bits': { type: 'boolean' },
      'smallest-scale': { type: 'boolean' },
      ...SEARCH_FLAGS,
      inputs: { type: 'string' },
    },
    'counterexample',
  );
  if (values.help) return printHelp(out, counterexampleHelp);
  if (positionals.length !== 1) throw new UsageError('counterexample takes one construction (see looped list)');
  const { c, params } = constructionWithParams(positionals[0], values);
  const chosen = ['loops', 'bits', 'scale', 'fewest-bits', 'smallest-scale'].filter((k) => values[k] !== undefined);
  if (chosen.length > 1) throw new UsageError(`choose one of --loops, --bits, --scale, --fewest-bits, --smallest-scale (got ${chosen.map((k) => `--${k}`).join(', ')})`);
  const o = {
    ...searchOptions(values, 1000),
    inputs: inputsOption(stringOption(values.inputs)),
  };
  if (values['fewest-bits'] || values['smallest-scale']) {
    const bits = Boolean(values['fewest-bits']);
    const t = bits ? fewestPassingBits(c, params, o) : smallestPassingScale(c, params, o);
    // Exit 1 exactly when the output shows a counterexample, as in the other modes (see --help).
    const found = t.value === null || t.below?.found === true;
    printThreshold(out, bits ? 'bits' : 'scale', t, o.samples, found);
    return found ? 1 : 0;
  }
  let w: Weakening = { kind: 'none' };
  if (values.loops !== undefined) w = { kind: 'loops', loops: intOption(values.loops, 'loops', 0, 100_000, 0) };
  if (values.bits !== undefined) w = { kind: 'bits', bits: intOption(values.bits, 'bits', 1, 26, 1) };
  const scale = positiveNumberOption(values.scale, 'scale');
  if (scale !== undefined) w = { kind: 'scale', scale };
  const r = searchCounterexample(c, params, w, o);
  printSearch(out, r);
  return r.found ? 1 : 0;
}

function inputsOption(text: string | undefined): 'search' | 'checks' | undefined {
  if (text === undefined || text === 'search' || text === 'checks') return text;
  throw new UsageError(`--inputs must be search or checks, got "${safeText(text)}"`);
}

function describe(w: Weakening): string {
  switch (w.kind) {
    case 'none':
      return 'as built';
    case 'loops':
      return `${w.loops} loops`;
    case 'bits':
      return `fixed:${w.bits}`;
    case 'scale':
      return `softmax scale ${w.scale}`;
  }
}

function printSearch(out: Out, r: SearchResult): void {
  if (out.json) return out.print(toJson(r));
  const { color } = out;
  if (!r.found) {
    out.print(`${color.green('no counterexample')} ${describe(r.weakening)} (${r.interpreter}) in ${r.tried} inputs (seed ${r.seed})`);
    return;
  }
  out.print(`${color.red('counterexample')} ${describe(r.weakening)} (${r.interpreter}), found after ${r.tried} inputs and shrunk:`);
  out.print(`  input    ${r.input}`);
  out.print(`  failure  ${r.message}`);
  out.print(`  seed ${r.seed}, path ${r.path}`);
  out.print(`  replay   ${r.replay}`);
}

function printThreshold(out: Out, what: 'bits' | 'scale', t: Threshold, samples: number, found: boolean): void {
  if (out.json) return out.print(toJson({ [what === 'bits' ? 'fewestBits' : 'smallestScale']: t.value, found, samples, probes: t.probes, below: t.below }));
  const { color } = out;
  const probes = t.probes.map((p) => `${what === 'bits' ? p.value : p.value.toPrecision(4)}${p.passed ? '✓' : '✗'}`).join(' ');
  if (t.value === null) out.print(color.red(`no ${what === 'bits' ? 'bit count' : 'scale'} in range passed all ${samples} samples`));
  else out.print(`${what === 'bits' ? 'fewest bits' : 'smallest scale'} that passed all ${samples} samples: ${color.bold(what === 'bits' ? String(t.value) : t.value.toPrecision(4))}`);
  out.print(color.dim(`  probes: ${probes}`));
  if (t.below) printSearch(out, t.below);
}
