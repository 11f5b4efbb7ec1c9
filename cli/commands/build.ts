import { type BuiltConstruction, modelFor } from '../../proofs/construction.ts';
import { constructionById } from '../../proofs/registry.ts';
import { randomDecoder } from '../../proofs/thm-5-4/random-decoder.ts';
import { UsageError } from '../../common/errors.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import { type Model, modelSizes } from '../../simulators/model.ts';
import { modelToJson } from '../../simulators/model-file.ts';
import { type Parsed, intOption, notApplicable, parse, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS, constructionParams } from '../construction-args.ts';
import { type Out, printHelp, safeText, toJson, writeOutFile } from '../output.ts';

/** The flags that size random-decoder; a construction is sized by its --param instead. */
const DECODER_SIZE_FLAGS = ['layers', 'width', 'heads', 'hidden', 'vocab', 'seed', 'max-len'] as const;

export const buildHelp = `looped build <construction> [--param k=v …] [--interpreter NAME] --out FILE [--json]
looped build <cot-task> [--param k=v …] --decoder --out FILE
looped build random-decoder --layers L --width d --heads H --vocab V --seed S [--hidden h] [--max-len N] --out FILE

Builds the construction and writes its model file (format looped/1: JSON, sparse matrices, exact
rationals as strings, every subspace label). The model is the construction's hard-attention one,
or the variant it declares for --interpreter (e.g. fixed:4 for its softmax variant).

For a chain-of-thought task (cot-automaton, cot-p-hop, cot-circuit) the construction is the
Theorem 5.4 looped model; --decoder writes the non-looped decoder it was compiled from instead, to
run with CoT or to compile yourself (looped compile thm-5.4 --source FILE --n N --steps M).

random-decoder writes a random non-looped decoder (causal hard-attention heads, small integer
weights, readout at the last position) named by its seed, for experiments with the compilers
(looped compile thm-5.2 | thm-5.4) and CoT decoding.

Examples:
  looped build lemma-b4 --param n=16 --out b4.json && looped run --model b4.json --input '["1","2","3"]'
  looped build random-decoder --layers 2 --width 4 --heads 1 --vocab 3 --seed 7 --out dec.json
  looped build cot-automaton --param automaton=parity --param n=8 --decoder --out parity.json`;

function randomDecoderModel(values: Parsed['values']): Model {
  const layers = intOption(values.layers, 'layers', 1, 32, 2);
  return randomDecoder({
    layers,
    distinct: layers,
    width: intOption(values.width, 'width', 1, 64, 4),
    heads: intOption(values.heads, 'heads', 0, 8, 1),
    hidden: intOption(values.hidden, 'hidden', 0, 256, 4),
    vocab: intOption(values.vocab, 'vocab', 2, 256, 3),
    maxLen: intOption(values['max-len'], 'max-len', 1, 4096, 16),
    seed: intOption(values.seed, 'seed', 0, 2 ** 31 - 1, 1),
    attention: 'hard',
  });
}

export function build(argv: string[], out: Out): number {
  const { positionals, values } = parse(
    argv,
    {
      ...CONSTRUCTION_FLAGS,
      interpreter: { type: 'string' },
      out: { type: 'string' },
      layers: { type: 'string' },
      width: { type: 'string' },
      heads: { type: 'string' },
      hidden: { type: 'string' },
      vocab: { type: 'string' },
      seed: { type: 'string' },
      'max-len': { type: 'string' },
      decoder: { type: 'boolean' },
    },
    'build',
  );
  if (values.help) return printHelp(out, buildHelp);
  if (values.decoder && positionals[0] === 'random-decoder') throw new UsageError('--decoder is for the cot-… tasks; random-decoder writes a decoder already');
  if (positionals.length !== 1) throw new UsageError('build takes one construction (see looped list) or random-decoder');
  const file = stringOption(values.out);
  if (file === undefined) throw new UsageError('build needs --out FILE');
  let model: Model;
  let what: { construction: string; params: unknown };
  if (positionals[0] === 'random-decoder') {
    notApplicable(values, ['param'], 'to random-decoder: its size is set by --layers, --width, --heads, --hidden, --vocab, --seed, --max-len');
    notApplicable(values, ['interpreter'], 'to random-decoder: it has one hard-attention model, no variants to choose from');
    model = randomDecoderModel(values);
    what = { construction: 'random-decoder', params: { layers: values.layers, width: values.width, heads: values.heads, hidden: values.hidden, vocab: values.vocab, seed: values.seed } };
  } else {
    const c = constructionById(positionals[0]);
    notApplicable(values, DECODER_SIZE_FLAGS, `to a construction: it sizes random-decoder; ${c.id} is sized by --param (see looped list)`);
    if (values.decoder) notApplicable(values, ['interpreter'], 'with --decoder: the decoder is one hard-attention model, no variants to choose from');
    const interpreter = stringOption(values.interpreter);
    if (interpreter !== undefined) interpreterByName(interpreter); // an unknown name is refused, not silently the default model
    const params = constructionParams(c, values);
    const built = c.build(params) as BuiltConstruction<unknown, unknown>;
    if (values.decoder) {
      if (!built.cot) throw new UsageError(`--decoder: ${c.id} is not compiled from a chain-of-thought decoder (the cot-… tasks are)`);
      model = built.cot.decoder;
    } else {
      model = modelFor(built, interpreter ?? built.checks[0].interpreter);
    }
    what = { construction: c.id, params, ...(values.decoder ? { decoder: true, steps: built.cot?.steps } : {}) };
  }
  const text = JSON.stringify(modelToJson(model));
  writeOutFile(file, text);
  // The file's size: UTF-8 bytes, not UTF-16 code units (labels like ⊥ or ∘ take more than one byte).
  const bytes = Buffer.byteLength(text, 'utf8');
  const sizes = modelSizes(model);
  if (out.json) out.print(toJson({ ...what, out: file, bytes, sizes }));
  else out.print(`wrote ${safeText(file)} (${bytes} bytes): ${safeText(model.name)} ${sizes.shape}, width ${sizes.width}, ${sizes.parameters} parameters`);
  return 0;
}
