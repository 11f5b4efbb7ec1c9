import { paramRange } from '../../proofs/construction.ts';
import { allConstructions } from '../../proofs/registry.ts';
import { knownInterpreters } from '../../simulators/interpreters.ts';
import { noPositionals, parse } from '../args.ts';
import { type Out, printHelp, table, toJson } from '../output.ts';

export const listHelp = `looped list [--json]

Lists the registered constructions with their theorem, parameters (default and range) and the
sizes each claims, as the paper states them; then the interpreters.

Example:
  looped list`;

export function list(argv: string[], out: Out): number {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' } }, 'list');
  if (values.help) return printHelp(out, listHelp);
  noPositionals(positionals, 'list');
  const cs = allConstructions();
  if (out.json) {
    out.print(
      toJson({
        constructions: cs.map((c) => ({ id: c.id, title: c.title, theorem: c.theorem, statement: c.statement, params: c.params, claimed: c.claimed, deviations: c.deviations ?? null })),
        interpreters: knownInterpreters(),
      }),
    );
    return 0;
  }
  const { color } = out;
  for (const c of cs) {
    out.print(`${color.bold(c.id)}  ${color.cyan(c.theorem)}  ${c.title}`);
    for (const p of c.params) {
      const range = paramRange(p);
      out.print(`  --param ${p.name}=${color.green(p.default)}  ${color.dim(`(${range})`)}  ${p.describe}`);
    }
    const claims = Object.entries(c.claimed).map(([k, v]) => `${k} = ${v}`);
    if (claims.length) out.print(`  ${color.dim('claims:')} ${claims.join(', ')}`);
    out.print();
  }
  out.print(color.bold('interpreters'));
  out.print(table(knownInterpreters().map((i) => [`  ${i.name}`, i.describe])));
  return 0;
}
