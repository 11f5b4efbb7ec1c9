import { modelFor, type BuiltConstruction } from '../../proofs/construction.ts';
import { UsageError } from '../../common/errors.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import { assertJsonDepth } from '../../common/json-depth.ts';
import { latentRows } from '../../simulators/latent.ts';
import { type Model, type ModelSizes, modelSizes, paddedInput, withAttention, withLoops } from '../../simulators/model.ts';
import type { RunResult } from '../../simulators/result.ts';
import { type Parsed, intOption, notApplicable, parse, positiveNumberOption, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS, constructionWithParams } from '../construction-args.ts';
import { parseTokens, readModelFile } from '../model-input.ts';
import { type Out, fmtNumber, printHelp, safeText, toJson } from '../output.ts';

export const runHelp = `looped run <construction> [--param k=v …] --input '[…]' [--interpreter NAME] [--trace] [--json]
                          [--loops L] [--softmax-scale β]
looped run --model FILE --input '[…]' [--interpreter NAME] [--all-positions] [--trace] [--json]

Builds the construction, runs it on one input and prints the answer beside the reference
algorithm's, the sizes and the margins (the gap between the best and second-best attention score
anywhere, and between the top two logits). --trace prints the residual stream, decoded by
subspace, after the embedding and after every attention and MLP of every loop.

Interpreters: exact (default; hard attention), fixed:<s>, float64, float32, fast64, fast32, gpu.
A softmax interpreter runs the construction's softmax variant where it declares one.
--loops L runs every stage L times instead of the claimed count; --softmax-scale β runs the
hard-attention construction as a softmax model with every score multiplied by β. These are the
weakenings \`looped counterexample\` searches under, so its replay commands use them.

With --model, FILE is a model file — looped/1 JSON (looped build … --out FILE) or safetensors
(looped export …), told apart by content — and the input is a JSON array of tokens, each a
vocabulary entry as a string or an index as a number. A model compiled by \`looped compile thm-5.4\`
records the prompt length n and the padding it reads: give the prompt v of n tokens and the run
appends #^m itself (the answer is TF^m(v), the source's m-th CoT token). --all-positions prints
what the readout says at every position after every loop: for a Theorem 5.4 model, the prompt
and the chain of thought so far, one more token per loop (the latent thoughts).

Examples:
  looped run lemma-b9-shift --param n=6 --input '[0,1,2,3,0,1]'
  looped run lemma-b4 --param n=8 --input '[3,1,2,0,1,1,2,3]' --interpreter fixed:5 --json
  looped build random-decoder --layers 2 --width 4 --heads 1 --vocab 3 --seed 7 --out dec.json
  looped compile thm-5.4 --source dec.json --n 4 --steps 3 --out cot.json
  looped run --model cot.json --input '[0,1,2,0]' --all-positions`;

export function run(argv: string[], out: Out): number {
  const { positionals, values } = parse(
    argv,
    {
      ...CONSTRUCTION_FLAGS,
      input: { type: 'string' },
      interpreter: { type: 'string' },
      trace: { type: 'boolean' },
      loops: { type: 'string' },
      'softmax-scale': { type: 'string' },
      model: { type: 'string' },
      'all-positions': { type: 'boolean' },
    },
    'run',
  );
  if (values.help) return printHelp(out, runHelp);
  const modelPath = stringOption(values.model);
  if (modelPath !== undefined) {
    if (positionals.length > 0) throw new UsageError('run takes either a construction or --model FILE, not both');
    notApplicable(values, ['param'], "to --model FILE: it sets a construction's parameters, and a model file is built already");
    notApplicable(values, ['softmax-scale'], "to --model FILE: it runs a construction's hard-attention model as softmax; a model file's attention is its own");
    return runModelFile(out, modelPath, values);
  }
  notApplicable(values, ['all-positions'], 'to a construction: it prints the readout at every position of a model file (looped run --model FILE)');
  if (positionals.length !== 1) throw new UsageError('run takes one construction (see looped list), e.g. looped run lemma-b4 --input …');
  const { c, params } = constructionWithParams(positionals[0], values);
  const inputText = stringOption(values.input);
  if (inputText === undefined) throw new UsageError(`run needs --input, e.g. --input '${'[…]'}' (see looped run --help)`);
  assertJsonDepth(inputText, '--input');
  const scale = positiveNumberOption(values['softmax-scale'], 'softmax-scale');
  const loops = values.loops === undefined ? undefined : intOption(values.loops, 'loops', 0, 100_000, 0);
  const built = c.build(params) as BuiltConstruction<unknown, unknown>;
  const input = built.parseInput(inputText);
  const interpreterName = stringOption(values.interpreter) ?? built.checks[0].interpreter;
  const interpreter = interpreterByName(interpreterName);
  let model = modelFor(built, interpreterName);
  if (scale !== undefined) model = withAttention(built.checks[0].model, 'softmax', scale);
  if (loops !== undefined) model = withLoops(model, model.stages.map(() => loops));
  const r = interpreter.run(model, built.encode(input), { trace: Boolean(values.trace) });
  const answer = built.decode(r);
  const expected = built.reference(input);
  const correct = built.equal(answer, expected);
  const sizes = modelSizes(model);
  if (out.json) {
    out.print(
      toJson({
        construction: c.id,
        theorem: c.theorem,
        params,
        interpreter: r.interpreter,
        sizes: sizesJson(sizes),
        input: JSON.parse(built.formatInput(input)) as unknown,
        tokens: r.tokens,
        answer: built.formatAnswer(answer),
        expected: built.formatAnswer(expected),
        correct,
        margins: r.margins,
        readouts: r.readouts.map((o) => ({ position: o.position, token: o.token, top: o.top, margin: o.margin })),
        trace: r.trace ? Object.fromEntries([...r.trace.snapshots].map(([k, s]) => [k, s.exact ?? s.values])) : undefined,
      }),
    );
    return correct ? 0 : 1;
  }
  const { color } = out;
  out.print(`${color.bold(c.id)} (${c.theorem})  ${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out.print(`${color.dim('interpreter')} ${r.interpreter}   ${color.dim('shape')} ${sizes.shape}   ${color.dim('width')} ${sizes.width}   ${color.dim('mlp')} ${sizes.mlpWidth}   ${color.dim('heads')} ${sizes.heads}×${sizes.headDim}`);
  out.print(`${color.dim('input    ')} ${safeText(built.formatInput(input))}`);
  const mark = correct ? color.green('✓ matches the reference') : color.red(`✗ the reference gives ${JSON.stringify(built.formatAnswer(expected))}`);
  out.print(`${color.dim('answer   ')} ${color.bold(safeText(JSON.stringify(built.formatAnswer(answer))))}  ${safeText(mark)}`);
  out.print(`${color.dim('margins  ')} ${describeMargins(r)}`);
  if (r.trace) printTrace(out, model, r);
  return correct ? 0 : 1;
}

/** The sizes `run --json` reports, in the order the README lists them. */
function sizesJson(s: ModelSizes) {
  return { layersPerBlock: s.layersPerBlock, loops: s.loops, width: s.width, mlpWidth: s.mlpWidth, heads: s.heads, headDim: s.headDim };
}

export function describeMargins(r: RunResult): string {
  const m = r.margins;
  const at = m.attentionSite ? ` (loop ${m.attentionSite.loop}, layer ${m.attentionSite.layer}, head ${m.attentionSite.head}, position ${m.attentionSite.position})` : '';
  const ties = m.attentionTies ? `, ${m.attentionTies} tied sites` : '';
  return `attention ${fmtNumber(m.attention)}${at}${ties}; logit ${fmtNumber(m.logit)}`;
}

function printTrace(out: Out, model: Model, r: RunResult): void {
  const trace = r.trace!;
  for (const [key, snap] of trace.snapshots) {
    out.print(out.color.cyan(key));
    snap.values.forEach((row, i) => {
      const parts = model.residual.parts
        .map((p) => {
          const vals = row.slice(p.offset, p.offset + p.size);
          if (vals.every((v) => v === 0)) return null;
          const text = snap.exact ? snap.exact[i].slice(p.offset, p.offset + p.size) : vals.map(fmtNumber);
          return `${safeText(p.name)}=[${text.join(' ')}]`; // a model file's subspace label
        })
        .filter((x): x is string => x !== null);
      out.print(`  ${String(i).padStart(3)}  ${parts.join('  ')}`);
    });
  }
}

function runModelFile(out: Out, path: string, values: Parsed['values']): number {
  const inputText = stringOption(values.input);
  if (inputText === undefined) throw new UsageError('run needs --input, a JSON array of tokens');
  const loops = values.loops === undefined ? undefined : intOption(values.loops, 'loops', 0, 100_000, 0);
  const model = readModelFile(path);
  const tokens = paddedInput(model, parseTokens(model, inputText));
  const latent = Boolean(values['all-positions']);
  const interpreter = interpreterByName(stringOption(values.interpreter) ?? (model.stages.some((s) => s.layers.some((l) => l.heads.some((h) => h.kind === 'softmax'))) ? 'float64' : 'exact'));
  const run = loops === undefined ? model : withLoops(model, model.stages.map(() => loops));
  const r = interpreter.run(run, tokens, { trace: values.trace ? true : latent ? 'loops' : false });
  const name = (t: number | null) => (t === null ? null : model.vocab.labels[t]);
  const rows = latent ? latentRows(run, r) : undefined;
  const sizes = modelSizes(run);
  if (out.json) {
    out.print(
      toJson({
        model: model.name,
        interpreter: r.interpreter,
        sizes: sizesJson(sizes),
        tokens: r.tokens,
        answer: name(r.answer),
        tie: r.tie,
        margins: r.margins,
        readouts: r.readouts.map((o) => ({ position: o.position, token: name(o.token), top: o.top.map(name), logits: o.logits, margin: o.margin })),
        padding: model.padding,
        allPositions: rows?.map((row) => ({ loop: row.loop, tokens: row.tokens.map(name) })),
        trace: values.trace && r.trace ? Object.fromEntries([...r.trace.snapshots].map(([k, s]) => [k, s.exact ?? s.values])) : undefined,
      }),
    );
    return 0;
  }
  const { color } = out;
  // The model's name and vocabulary come from the file: printed with control characters escaped.
  const shown = (t: number | null) => (t === null ? 'tie' : safeText(String(name(t))));
  out.print(`${color.bold(safeText(model.name))}  ${color.dim('interpreter')} ${r.interpreter}   ${color.dim('shape')} ${sizes.shape}   ${color.dim('width')} ${sizes.width}`);
  out.print(`${color.dim('answer   ')} ${color.bold(r.tie ? `tie between ${r.readouts[r.readouts.length - 1].top.map(shown).join(', ')}` : r.answer === null ? 'null' : shown(r.answer))}`);
  if (model.readout === 'all') out.print(`${color.dim('per position')} ${r.readouts.map((o) => shown(o.token)).join(' ')}`);
  out.print(`${color.dim('margins  ')} ${describeMargins(r)}`);
  if (model.padding) out.print(`${color.dim('input    ')} the prompt (${model.padding.promptLength} tokens) + ${model.padding.count} × ${safeText(model.padding.token)}, appended`);
  if (rows) {
    out.print(color.dim('readout at every position (after the embedding, then after each loop):'));
    const cells = rows.map((row) => row.tokens.map(shown));
    const w = Math.max(3, ...cells.flat().map((c) => c.length));
    out.print(`${'position'.padEnd(9)} ${tokens.map((_, i) => String(i).padStart(w)).join(' ')}`);
    rows.forEach((row, k) => out.print(`${(row.loop === 0 ? 'embed' : `loop ${row.loop}`).padEnd(9)} ${cells[k].map((c) => c.padStart(w)).join(' ')}`));
  }
  if (values.trace && r.trace) printTrace(out, run, r);
  return 0;
}
