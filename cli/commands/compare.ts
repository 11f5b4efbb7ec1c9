// `looped compare p-hop`: the same task three ways, each verified on the same inputs — the CoT
// route (a decoder emitting one hop per step), the Theorem 5.4 route (that decoder compiled into
// p + 1 loops) and the direct log-depth routes (Theorem B.12 and Corollary 5.3) — with the depth,
// loops, width and parameters each one needs. The paper's point, made concrete: p CoT steps or
// p + 1 loops against ⌈log2 p⌉ + 2 for the direct construction.
import { nextTurn } from '../../simulators/turns.ts';
import { type BuiltConstruction, type Construction, resolveParams } from '../../proofs/construction.ts';
import { sampleCotPHop } from '../../proofs/cot-tasks/p-hop.ts';
import { constructionById } from '../../proofs/registry.ts';
import { cotMismatch, runAndCompare } from '../../properties/verify.ts';
import { UsageError } from '../../common/errors.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import { type Model, modelSizes } from '../../simulators/model.ts';
import { mulberry32 } from '../../tasks/random.ts';
import { intOption, parse, stringOption } from '../args.ts';
import { type Out, printHelp, table, toJson } from '../output.ts';

export const compareHelp = `looped compare p-hop [--p P] [--n N] [--samples K] [--seed S] [--interpreter NAME] [--json]

p-hop induction (Def. A.1) four ways, each checked on the same K inputs of exactly N tokens drawn
from the paper's sampler (alphabet 4, p hops guaranteed):
  cot        a 3-layer decoder whose greedy CoT emits one hop per step, then the value (p + 1 steps):
             its whole chain of thought must equal the pointer chain find_1..find_p and hop_p(v)
  thm-5.4    that decoder compiled by Theorem 5.4: one block looped p + 1 times on (⊥ v, #^{p+1})
  p-hop      Corollary 5.3: one layer looped ⌈log2 p⌉ + 2 times
  direct     Theorem B.12: a non-looped stack of ⌈log2 p⌉ + 2 layers
For each: layers per pass × passes (loops, or CoT steps), the sequential depth (layers applied one
after another to produce the answer), width, MLP width, heads, parameters, and the inputs checked.
Defaults: p 16, n 64, 20 samples, seed 1, the exact interpreter (float64 and fast64 are faster).
Exit 0 when every route answers every input right, 1 otherwise.

Example:
  looped compare p-hop --p 16`;

interface Route {
  route: string;
  what: string;
  layers: number;
  passes: number;
  passesAre: 'loops' | 'CoT steps';
  depth: number;
  width: number;
  mlpWidth: number;
  heads: number;
  parameters: number;
  checked: number;
  wrong: number;
  firstWrong: string | null;
  seconds: number;
}

function sizesOf(model: Model) {
  const s = modelSizes(model);
  return { layers: s.layersPerBlock, width: s.width, mlpWidth: s.mlpWidth, heads: s.heads, parameters: s.parameters };
}

export async function compare(argv: string[], out: Out): Promise<number> {
  const { positionals, values } = parse(
    argv,
    { p: { type: 'string' }, n: { type: 'string' }, samples: { type: 'string' }, seed: { type: 'string' }, interpreter: { type: 'string' }, json: { type: 'boolean' } },
    'compare',
  );
  if (values.help) return printHelp(out, compareHelp);
  if (positionals.length !== 1 || positionals[0] !== 'p-hop') throw new UsageError('compare takes one task: p-hop (looped compare p-hop --p 16)');
  const p = intOption(values.p, 'p', 1, 64, 16);
  const n = intOption(values.n, 'n', 2, 256, 64);
  const samples = intOption(values.samples, 'samples', 1, 100_000, 20);
  const seed = intOption(values.seed, 'seed', 0, 2 ** 31 - 1, 1);
  const it = interpreterByName(stringOption(values.interpreter) ?? 'exact');
  const rng = mulberry32(seed);
  const inputs = Array.from({ length: samples }, () => sampleCotPHop(rng, { p, n }));

  const routes: Route[] = [];
  const measure = async (base: Omit<Route, 'checked' | 'wrong' | 'firstWrong' | 'seconds'>, check: (v: number[]) => string | null) => {
    const t0 = performance.now();
    let wrong = 0;
    let firstWrong: string | null = null;
    for (let k = 0; k < inputs.length; k++) {
      out.progress(`${base.route}: input ${k + 1}/${inputs.length}`);
      if (k % 4 === 0) await nextTurn();
      const why = check(inputs[k]);
      if (why !== null) {
        wrong++;
        firstWrong ??= `${JSON.stringify(inputs[k])}: ${why}`;
      }
    }
    out.endProgress();
    routes.push({ ...base, checked: inputs.length, wrong, firstWrong, seconds: (performance.now() - t0) / 1000 });
  };
  const build = (id: string) => {
    const con = constructionById(id) as Construction<number[], unknown>;
    return con.build(resolveParams(con, { p: String(p), n: String(n) }));
  };
  // A model route: the registered construction's own encode, decode and reference.
  const looped = async (built: BuiltConstruction<number[], unknown>, route: string, what: string) => {
    const model = built.checks[0].model;
    const z = sizesOf(model);
    const loops = model.stages.reduce((a, s) => a + s.loops, 0);
    await measure({ route, what, ...z, passes: loops, passesAre: 'loops', depth: z.layers * loops }, (v) => {
      try {
        runAndCompare(built, it, model, v);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    });
  };

  // CoT: the decoder's whole chain of thought against the pointer chain; then the same decoder, compiled (Theorem 5.4).
  const cotBuilt = build('cot-p-hop');
  const route = cotBuilt.cot!;
  const dec = sizesOf(route.decoder);
  await measure(
    { route: 'cot', what: `decoder, greedy CoT of p + 1 = ${p + 1} steps (one hop per step)`, ...dec, passes: route.steps, passesAre: 'CoT steps', depth: dec.layers * route.steps },
    (v) => cotMismatch(it, route, v).why,
  );
  await looped(cotBuilt, 'thm-5.4', `the decoder compiled: one block looped p + 1 = ${p + 1} times`);
  await looped(build('p-hop'), 'p-hop', 'Corollary 5.3: one layer looped (pointer doubling)');
  await looped(build('p-hop-direct'), 'direct', 'Theorem B.12: a non-looped stack (pointer doubling)');

  const ok = routes.every((r) => r.wrong === 0);
  if (out.json) {
    out.print(toJson({ task: 'p-hop', p, n, samples, seed, interpreter: it.name, routes, ok }));
    return ok ? 0 : 1;
  }
  const { color } = out;
  out.print(`${color.bold('p-hop')}  p=${p} n=${n}  ${samples} inputs from the paper's sampler (seed ${seed}), interpreter ${it.name}`);
  out.print(
    table(
      routes.map((r) => [
        r.route,
        `${r.layers} × ${r.passes} ${r.passesAre}`,
        String(r.depth),
        String(r.width),
        String(r.mlpWidth),
        String(r.heads),
        String(r.parameters),
        r.wrong === 0 ? color.green(`✓ ${r.checked}/${r.checked}`) : color.red(`✗ ${r.wrong} wrong of ${r.checked}`),
        `${r.seconds.toFixed(1)} s`,
      ]),
      ['route', 'layers × passes', 'depth', 'width', 'MLP width', 'heads', 'parameters', 'verified', 'time'],
    ),
  );
  for (const r of routes) out.print(`  ${color.dim(r.route.padEnd(8))} ${r.what}${r.firstWrong ? `\n           ${color.red(`first wrong: ${r.firstWrong}`)}` : ''}`);
  out.print(color.dim('depth = layers applied one after another to produce the answer (layers per pass × passes).'));
  return ok ? 0 : 1;
}
