import { existsSync } from 'node:fs';
import { type BuiltConstruction, modelFor } from '../../proofs/construction.ts';
import { allConstructions, constructionById } from '../../proofs/registry.ts';
import { isModulePath } from '../construction-file.ts';
import { UsageError } from '../../common/errors.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import { type Model, modelSizes } from '../../simulators/model.ts';
import { saveModel } from '../../simulators/model-file.ts';
import { type ExportResult, type SafetensorsDtype, modelToSafetensors } from '../../simulators/safetensors.ts';
import { type Parsed, notApplicable, parse, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS, constructionParams } from '../construction-args.ts';
import { readModelFile } from '../model-input.ts';
import { type Out, printHelp, safeText, toJson, writeOutFile } from '../output.ts';

export const exportHelp = `looped export <construction | MODEL_FILE> [--param k=v …] [--interpreter NAME]
              --format safetensors|json --out FILE [--dtype float64|float32] [--allow-rounding] [--json]

Writes a construction (built with its parameters) or a model file (looped/1 JSON or safetensors)
in another format:
  safetensors  tensors with TransformerLens names (embed.W_E, pos_embed.W_pos, unembed.W_U,
               stages.{s}.blocks.{l}.attn.W_Q/W_K/W_V [heads, d, d_head], .attn.W_O,
               stages.{s}.blocks.{l}.mlp.W_in/b_in/W_out/b_out); loops, masks, attention kind,
               scale and causality, every subspace label and the vocabulary in __metadata__.
               float64 by default; --dtype float32 halves the size. A weight the dtype cannot
               hold exactly (a rational like 1/3, or most values in float32) is refused unless
               --allow-rounding, which writes the nearest value and says how many were rounded.
  json         the looped/1 model file (what looped build writes): exact rationals, sparse.
--format defaults to the extension of --out (.safetensors or .json). The model of a construction
is its hard-attention one, or the variant it declares for --interpreter (float64: its softmax
model at the scale it is checked with). Both formats load wherever a model file is accepted
(looped run --model FILE), and tools/looped_numpy.py runs a safetensors file with numpy.

Examples:
  looped export group-composition --format safetensors --out s3.safetensors
  looped export p-hop --param p=4 --interpreter float64 --out p4.safetensors --dtype float32
  python3 tools/looped_numpy.py s3.safetensors --input '["#","[1,0,2]","[2,1,0]"]'`;

const DTYPES: Record<string, SafetensorsDtype> = { float64: 'F64', f64: 'F64', F64: 'F64', float32: 'F32', f32: 'F32', F32: 'F32' };

export function exportCommand(argv: string[], out: Out): number {
  const { positionals, values } = parse(
    argv,
    {
      ...CONSTRUCTION_FLAGS,
      interpreter: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string' },
      'allow-rounding': { type: 'boolean' },
    },
    'export',
  );
  if (values.help) return printHelp(out, exportHelp);
  if (positionals.length !== 1) throw new UsageError('export takes one construction (see looped list) or one model file');
  const file = stringOption(values.out);
  if (file === undefined) throw new UsageError('export needs --out FILE');
  const formatText = stringOption(values.format) ?? (/\.safetensors$/i.test(file) ? 'safetensors' : /\.json$/i.test(file) ? 'json' : undefined);
  if (formatText === undefined) throw new UsageError('export needs --format safetensors or --format json (or an --out name ending in .safetensors or .json)');
  if (formatText !== 'safetensors' && formatText !== 'json') throw new UsageError(`--format must be safetensors or json, got "${safeText(formatText)}"`);
  if (formatText === 'json') notApplicable(values, ['allow-rounding'], 'to --format json: it keeps exact rationals, so nothing is rounded');
  const dtypeText = stringOption(values.dtype);
  let dtype: SafetensorsDtype = 'F64';
  if (dtypeText !== undefined) {
    if (!Object.hasOwn(DTYPES, dtypeText)) throw new UsageError(`--dtype must be float64 or float32, got "${safeText(dtypeText)}"`);
    if (formatText === 'json') throw new UsageError('--dtype applies to --format safetensors (the json format keeps exact rationals)');
    dtype = DTYPES[dtypeText];
  }

  const { model, source } = resolveSource(positionals[0], values);
  let bytes: Uint8Array;
  let report: ExportResult | null = null;
  if (formatText === 'safetensors') {
    report = modelToSafetensors(model, { dtype, allowRounding: Boolean(values['allow-rounding']) });
    bytes = report.bytes;
  } else {
    bytes = new TextEncoder().encode(saveModel(model));
  }
  writeOutFile(file, bytes);
  const sizes = modelSizes(model);
  const rounded = report?.rounded ?? { count: 0, examples: [] };
  if (out.json) {
    out.print(
      toJson({
        ...source,
        model: model.name,
        format: formatText,
        dtype: report ? report.dtype : null,
        out: file,
        bytes: bytes.length,
        tensors: report?.tensors ?? null,
        dHead: report?.dHead ?? null,
        rounded,
        sizes,
      }),
    );
  } else {
    const what = report ? `safetensors ${report.dtype}, ${report.tensors} tensors, d_head ${report.dHead}` : 'looped/1 JSON';
    out.print(`wrote ${safeText(file)} (${bytes.length} bytes, ${what}): ${safeText(model.name)} ${sizes.shape}, width ${sizes.width}, ${sizes.parameters} parameters`);
    if (rounded.count > 0) {
      out.error(`warning: ${rounded.count} weight${rounded.count === 1 ? ' was' : 's were'} rounded to ${report!.dtype}: ${rounded.examples.join('; ')}${rounded.count > rounded.examples.length ? '; …' : ''}`);
    }
  }
  return 0;
}

function resolveSource(arg: string, values: Parsed['values']): { model: Model; source: Record<string, unknown> } {
  const isConstruction = allConstructions().some((c) => c.id === arg) || isModulePath(arg);
  if (isConstruction) {
    const c = constructionById(arg);
    const asked = stringOption(values.interpreter);
    if (asked !== undefined) interpreterByName(asked); // an unknown name is refused, not silently the default model
    const params = constructionParams(c, values);
    const built = c.build(params) as BuiltConstruction<unknown, unknown>;
    const interpreter = asked ?? built.checks[0].interpreter;
    return { model: modelFor(built, interpreter), source: { construction: c.id, params, interpreter } };
  }
  if (existsSync(arg)) {
    notApplicable(values, ['param', 'interpreter'], 'to a model file: --param and --interpreter apply to a construction (its parameters, its model variant), and a model file is built already');
    return { model: readModelFile(arg), source: { from: arg } };
  }
  throw new UsageError(`"${safeText(arg)}" is neither a construction (${allConstructions().map((c) => c.id).join(', ')}) nor a model file`);
}
