import { writeFileSync } from 'node:fs';
import { type Built, modelFor, resolveParams } from '../../proofs/construction.ts';
import { constructionById } from '../../proofs/registry.ts';
import { UsageError } from '../../simulators/errors.ts';
import { modelSizes } from '../../simulators/model.ts';
import { modelToJson } from '../../simulators/model-file.ts';
import { paramsFrom, parse, stringOption } from '../args.ts';
import { type Out, toJson } from '../output.ts';

export const buildHelp = `looped build <construction> [--param k=v …] [--interpreter NAME] --out FILE [--json]

Builds the construction and writes its model file (format looped/1: JSON, sparse matrices, exact
rationals as strings, every subspace label). The model is the construction's hard-attention one,
or the variant it declares for --interpreter (e.g. fixed:4 for its softmax variant).

Example:
  looped build lemma-b4 --param n=16 --out b4.json && looped run --model b4.json --input '["1","2","3"]'`;

export function build(argv: string[], out: Out): number {
  const { positionals, values } = parse(argv, { param: { type: 'string', multiple: true }, interpreter: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } }, 'build');
  if (values.help) return out.print(buildHelp), 0;
  if (positionals.length !== 1) throw new UsageError('build takes one construction (see looped list)');
  const file = stringOption(values.out);
  if (file === undefined) throw new UsageError('build needs --out FILE');
  const c = constructionById(positionals[0]);
  const params = resolveParams(c, paramsFrom(values.param as string[] | undefined));
  const built = c.build(params) as Built<unknown, unknown>;
  const model = modelFor(built, stringOption(values.interpreter) ?? built.checks[0].interpreter);
  const text = JSON.stringify(modelToJson(model));
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const sizes = modelSizes(model);
  if (out.json) out.print(toJson({ construction: c.id, params, out: file, bytes: text.length, sizes }));
  else out.print(`wrote ${file} (${text.length} bytes): ${c.id} ${sizes.shape}, width ${sizes.width}, ${sizes.parameters} parameters`);
  return 0;
}
