// `looped explain`: a construction taught in the terminal — its residual layout, what every head
// and MLP group reads and writes, its weights folded into labelled blocks, and with --input a run
// loop by loop. The data comes from cli/explain/ (model-view.ts, run-view.ts); --json prints it.
import type { BuiltConstruction } from '../../proofs/construction.ts';
import { UsageError } from '../../common/errors.ts';
import { modelSizes } from '../../simulators/model.ts';
import { assertJsonDepth } from '../../common/json-depth.ts';
import { intOption, notApplicable, parse, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS, constructionWithParams } from '../construction-args.ts';
import { pageData, renderHtml } from '../explain/html.ts';
import { type BlockView, type HeadView, type MatrixView, type MlpView, type ModelView, GRID_LIMIT, modelView, pretty, touchText } from '../explain/model-view.ts';
import { type Cell, type LoopState, type RunView, runView } from '../explain/run-view.ts';
import { type Out, printHelp, table, toJson, writeOutFile } from '../output.ts';

/** Inputs per check of the verification summary on the --html page. */
export const HTML_SAMPLES = 50;

export const explainHelp = `looped explain <construction> [--param k=v …] [--input '[…]'] [--full] [--json] [--html FILE [--samples N]]

Explains a construction for a reader learning how it works:
  1. the residual stream: every named subspace, its offset, width and what it holds;
  2. every stage (loops, mask) and layer: for each head its kind, scale and causality, which
     subspaces W_Q, W_K, W_V read and which W_O writes, and its role; for the MLP, each group of
     hidden units, its size, what feeds it, what it writes and what it computes;
  3. the weight matrices, labelled and coloured by sign (green +, red −, dim 0) and folded: all-zero
     blocks between subspaces are dropped, every other block gets a one-line summary
     ("identity ×4", "6 nonzero of 18, values {−1, 1}") and its grid when it is at most
     ${GRID_LIMIT}×${GRID_LIMIT} (--full prints every grid);
  4. with --input, the construction's first check (exact) run loop by loop: every subspace decoded
     at every position (a ±1 code as its integer, a one-hot as its label), the position each head
     attended to from each query position, the lockstep comparison with the reference algorithm
     and the first loop where the state, and the readout, reach the answer.
--json prints the same content as data. Colours are off when the output is not a terminal or
NO_COLOR is set. Exit code 1 when the --input run's answer differs from the reference (as for
looped run), 2 on a usage or input error.

--html FILE writes one self-contained page instead (no network needed to open it): heatmaps of
every weight matrix with labelled axes, the residual stream and every head's attention pattern in
every loop with a slider and prev/next buttons, and a verification summary (--samples N inputs per
check, default ${HTML_SAMPLES}, seed 42; 0 skips it). Without --input it runs one sample of the
construction's random inputs (seed 42). Exit code 1 when that run or a check fails.

Examples:
  looped explain group-composition --param group=S3 --param n=4 --html gc.html
  looped explain group-composition --param group=S3 --param n=4 --input '[[1,0,2],[0,2,1],[1,2,0],[1,0,2]]'
  looped explain lemma-b9-shift --param n=6 --json`;

const OPTIONS = {
  ...CONSTRUCTION_FLAGS,
  input: { type: 'string' },
  full: { type: 'boolean' },
  html: { type: 'string' },
  samples: { type: 'string' },
} as const;

/** The command as main.ts runs it: with --html the page (async: it runs the verification), else the terminal explanation. */
export function explainCommand(argv: string[], out: Out): number | Promise<number> {
  const { values } = parse(argv, OPTIONS, 'explain');
  return values.html === undefined || values.help ? explain(argv, out) : explainHtml(argv, out);
}

/** `--html FILE`: writes the page (cli/explain/html.ts) and prints where; --json prints that as data. */
export async function explainHtml(argv: string[], out: Out): Promise<number> {
  const { positionals, values } = parse(argv, OPTIONS, 'explain');
  const file = stringOption(values.html);
  if (file === undefined || file === '') throw new UsageError('--html takes the file to write, e.g. --html explain.html');
  if (positionals.length !== 1) throw new UsageError('explain takes one construction (see looped list), e.g. looped explain lemma-b9-shift --param n=6 --html out.html');
  notApplicable(values, ['full'], 'with --html: the page draws every weight matrix in full already');
  const { c, params } = constructionWithParams(positionals[0], values);
  const samples = intOption(values.samples, 'samples', 0, 1_000_000, HTML_SAMPLES);
  const inputText = stringOption(values.input);
  if (inputText !== undefined) assertJsonDepth(inputText, '--input');
  const data = await pageData(c, params, { inputText, samples, seed: 42 });
  writeOutFile(file, renderHtml(data));
  const ok = data.run.view.correct && (data.verify === null || data.verify.ok);
  if (out.json || values.json) out.print(toJson({ construction: c.id, params, html: file, loops: data.run.loops.length - 1, correct: data.run.view.correct, verified: data.verify?.ok ?? null }));
  else out.print(`wrote ${file}: ${c.id}, ${data.matrices.length} weight matrices, ${data.run.loops.length - 1} loop${data.run.loops.length === 2 ? '' : 's'} of ${JSON.stringify(data.run.view.input)}, verification ${data.verify === null ? 'skipped' : data.verify.ok ? 'held' : 'FAILED'}`);
  return ok ? 0 : 1;
}

export function explain(argv: string[], out: Out): number {
  const { positionals, values } = parse(argv, OPTIONS, 'explain');
  if (values.help) return printHelp(out, explainHelp);
  if (values.html !== undefined) throw new UsageError('--html writes a page asynchronously: run it through explainCommand (looped explain … --html FILE)');
  if (positionals.length !== 1) throw new UsageError('explain takes one construction (see looped list), e.g. looped explain lemma-b9-shift --param n=6');
  notApplicable(values, ['samples'], "without --html: it sets the inputs per check of the --html page's verification summary");
  const { c, params } = constructionWithParams(positionals[0], values);
  const built = c.build(params) as BuiltConstruction<unknown, unknown>;
  const model = built.checks[0].model;
  const view = modelView(model, { full: Boolean(values.full) });
  const inputText = stringOption(values.input);
  if (inputText !== undefined) assertJsonDepth(inputText, '--input');
  const run = inputText === undefined ? undefined : runView(built, inputText);
  const s = modelSizes(model);
  const sizes = { shape: s.shape, layersPerBlock: s.layersPerBlock, loops: s.loops, width: s.width, mlpWidth: s.mlpWidth, heads: s.heads, headDim: s.headDim };
  if (out.json || values.json) {
    out.print(toJson({ construction: c.id, theorem: c.theorem, title: c.title, params, check: built.checks[0].label, sizes, model: view, run }));
    return run === undefined || run.correct ? 0 : 1;
  }
  const { color } = out;
  out.print(`${color.bold(c.id)} (${c.theorem}): ${c.title}  ${color.dim(Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' '))}`);
  out.print(`${color.dim('model')} ${view.name}${view.description ? ` — ${view.description}` : ''}`);
  out.print(`${color.dim('shape')} ${s.shape}   ${color.dim('width')} ${s.width}   ${color.dim('mlp')} ${s.mlpWidth}   ${color.dim('heads')} ${s.heads}×${s.headDim}   ${color.dim('weights of')} ${built.checks[0].label}`);
  printLayout(out, view);
  printStructure(out, view);
  printWeights(out, view, Boolean(values.full));
  if (run) printRun(out, run);
  return run === undefined || run.correct ? 0 : 1;
}

function heading(out: Out, text: string): void {
  out.print();
  out.print(out.color.bold.underline(text));
}

function printLayout(out: Out, view: ModelView): void {
  heading(out, `1. Residual stream (width ${view.width})`);
  out.print(indent(table(view.residual.map((p) => [out.color.cyan(p.name), String(p.offset), String(p.size), p.describe]), ['subspace', 'offset', 'width', 'holds']), 2));
}

function loopsText(first: number, loops: number): string {
  if (loops === 0) return 'no loops';
  return loops === 1 ? `loop ${first}` : `loops ${first}–${first + loops - 1}`;
}

function printStructure(out: Out, view: ModelView): void {
  const { color } = out;
  heading(out, '2. Stages and layers');
  for (const st of view.stages) {
    const mask = st.mask ? `mask ${st.mask.expr}${st.mask.describe ? ` (${st.mask.describe})` : ''}` : 'no mask';
    out.print(`${color.bold(`stage ${st.index}`)}: ${st.layers.length} layer${st.layers.length === 1 ? '' : 's'} × ${st.loops} loop${st.loops === 1 ? '' : 's'} (${loopsText(st.firstLoop, st.loops)}), ${mask}`);
    for (const layer of st.layers) {
      out.print(`  ${color.bold(`layer ${layer.index}`)}${layer.role ? ` — ${layer.role}` : ''}`);
      for (const h of layer.heads) printHead(out, h);
      if (layer.mlp) printMlp(out, layer.mlp);
    }
  }
}

function printHead(out: Out, h: HeadView): void {
  const { color } = out;
  out.print(`    ${color.magenta(`head ${h.name}`)}  ${h.kind}, scale ${h.scale}, ${h.causal ? 'causal' : 'not causal'}, q/k ${h.qk}, v ${h.ov}`);
  if (h.role) out.print(`      ${color.italic(h.role)}`);
  out.print(`      ${color.dim('Q reads')} ${touchText(h.reads.W_Q)}   ${color.dim('K reads')} ${touchText(h.reads.W_K)}   ${color.dim('V reads')} ${touchText(h.reads.W_V)}   ${color.dim('O writes')} ${touchText(h.writes)}`);
}

function printMlp(out: Out, m: MlpView): void {
  const { color } = out;
  out.print(`    ${color.magenta(`mlp ${m.name}`)}  ${m.hidden} hidden units${m.role ? ` — ${color.italic(m.role)}` : ''}`);
  const rows = m.groups.map((g) => [color.cyan(g.name), String(g.size), touchText(g.reads), touchText(g.writes), g.describe]);
  out.print(indent(table(rows, ['group', 'units', 'reads', 'writes', 'computes']), 6));
  if (m.biasWrites.length) out.print(`      ${color.dim('output bias writes')} ${touchText(m.biasWrites)}`);
}

function printWeights(out: Out, view: ModelView, full: boolean): void {
  heading(out, '3. Weights (zero blocks folded)');
  out.print(out.color.bold('embedding and readout'));
  for (const m of view.embedding) printMatrix(out, m, 2, full);
  for (const st of view.stages) {
    for (const layer of st.layers) {
      for (const h of layer.heads) {
        out.print(out.color.bold(`stage ${st.index}, layer ${layer.index}, head ${h.name}`));
        for (const m of h.matrices) printMatrix(out, m, 2, full);
      }
      if (layer.mlp) {
        out.print(out.color.bold(`stage ${st.index}, layer ${layer.index}, mlp ${layer.mlp.name}`));
        for (const m of layer.mlp.matrices) printMatrix(out, m, 2, full);
      }
    }
  }
}

function printMatrix(out: Out, m: MatrixView, at: number, full: boolean): void {
  const pad = ' '.repeat(at);
  const folded = m.zeroBlocks ? `, ${m.zeroBlocks} zero block${m.zeroBlocks === 1 ? '' : 's'} folded` : '';
  out.print(`${pad}${out.color.magenta(m.name)} ${m.shape[0]}×${m.shape[1]}: ${m.nonzero} nonzero in ${m.blocks.length} block${m.blocks.length === 1 ? '' : 's'}${folded}`);
  for (const b of m.blocks) {
    out.print(`${pad}  ${out.color.cyan(`${b.rows} → ${b.cols}`)}: ${b.summary}`);
    // An identity or constant block is said in full by its summary; --full prints its grid anyway.
    if (b.grid && (b.pattern === 'general' || full)) out.print(indent(gridText(out, b), at + 4));
  }
}

/** A block's entries, labelled, coloured by sign (and bold where |v| > 1), zeros as a dim dot. */
function gridText(out: Out, b: BlockView): string {
  const { color } = out;
  const cell = (v: string) => {
    if (v === '0' || v === '-0') return color.dim('·');
    const x = v.startsWith('-') ? -1 : 1;
    const big = Math.abs(Number(v.split('/')[0]) / Number(v.split('/')[1] ?? 1)) > 1;
    const c = x > 0 ? color.green : color.red;
    return big ? c.bold(pretty(v)) : c(pretty(v));
  };
  const rows = b.grid!.map((row, i) => [color.dim(b.rowLabels[i]), ...row.map(cell)]);
  return table(rows, ['', ...b.colLabels.map((l) => color.dim(l))]);
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

function cellText(out: Out, c: Cell, changed: boolean): string {
  const t = c.kind === 'zero' ? out.color.dim('·') : c.text;
  return changed ? out.color.yellow(t) : t;
}

/** "3", "1|4(0.5)", "0–5(0.167)": the key positions with the top weight, runs of them as ranges. */
export function attendText(t: { keys: number[]; weight: number }): string {
  if (t.keys.length === 0) return '–';
  const runs: [number, number][] = [];
  for (const k of t.keys) {
    const last = runs[runs.length - 1];
    if (last && k === last[1] + 1) last[1] = k;
    else runs.push([k, k]);
  }
  const keys = runs.map(([a, b]) => (a === b ? String(a) : b === a + 1 ? `${a}|${b}` : `${a}–${b}`)).join('|');
  const w = t.weight === 1 ? '' : `(${Number(t.weight.toPrecision(3))})`;
  return `${keys}${w}`;
}

/** Positions per table: a long input prints its loop tables in chunks rather than one very wide line. */
export const POSITIONS_PER_TABLE = 16;

function printLoop(out: Out, l: LoopState, first: boolean): void {
  const { color } = out;
  const n = Object.values(l.state)[0]?.length ?? 0;
  out.print(color.bold(l.loop === 0 ? `embedding (${l.key})` : `loop ${l.loop} (${l.key})`));
  const rows: string[][] = [];
  const layers = new Set(l.attention.map((a) => `${a.stage}.${a.layer}`)).size;
  const where = (layer: number) => (layers > 1 ? ` (layer ${layer})` : '');
  for (const a of l.attention) rows.push([color.magenta(`${a.head} attends${where(a.layer)}`), ...a.targets.map(attendText)]);
  for (const m of l.afterAttention) {
    for (const name of m.changed) rows.push([color.cyan(`${name} after attention${where(m.layer)}`), ...m.state[name].map((c) => cellText(out, c, true))]);
  }
  const shown = first ? Object.keys(l.state) : l.changed;
  for (const name of shown) rows.push([color.cyan(first ? name : `${name} after loop`), ...l.state[name].map((c) => cellText(out, c, !first))]);
  for (let from = 0; from < n; from += POSITIONS_PER_TABLE) {
    const to = Math.min(n, from + POSITIONS_PER_TABLE);
    const slice = rows.map(([label, ...cells]) => [label, ...cells.slice(from, to)]);
    out.print(indent(table(slice, ['position', ...Array.from({ length: to - from }, (_, i) => String(from + i))]), 2));
  }
  if (!first) {
    const same = Object.keys(l.state).filter((k) => !l.changed.includes(k));
    if (same.length) out.print(`  ${color.dim(`unchanged by the loop: ${same.join(', ')}`)}`);
  }
  if (l.lockstep) {
    const short = (x: unknown) => {
      const t = JSON.stringify(x);
      return t.length > 240 ? `${t.slice(0, 240)}…` : t;
    };
    if (l.lockstep.matches) out.print(`  ${color.green(`✓ lockstep: the state equals the algorithm's after round ${l.loop}`)}`);
    else out.print(`  ${color.red(`✗ lockstep: after round ${l.loop} the algorithm has ${short(l.lockstep.expected)}, the model ${short(l.lockstep.got)}`)}`);
  }
  const ro = l.readout.equalsReference ? color.green(`${JSON.stringify(l.readout.answer)} = the reference`) : `${JSON.stringify(l.readout.answer)} (not the reference yet)`;
  out.print(`  ${color.dim('readout here')} ${ro}`);
}

function printRun(out: Out, r: RunView): void {
  const { color } = out;
  heading(out, `4. Run on ${JSON.stringify(r.input)} (${r.check})`);
  const mark = r.correct ? color.green('✓ matches the reference') : color.red(`✗ the reference gives ${JSON.stringify(r.expected)}`);
  out.print(`${color.dim('tokens')} ${JSON.stringify(r.tokens)}   ${color.dim('answer')} ${color.bold(JSON.stringify(r.answer))}  ${mark}`);
  out.print(color.dim('Each subspace decoded per position: a one-hot as its label, what a token embeds as that token, a ±1 code as its integer, · for 0; "h attends" gives the key position each query position took (weight if not 1). After the embedding only changed subspaces are shown, in yellow: after each layer\'s attention, and after the whole loop.'));
  r.loops.forEach((l, k) => printLoop(out, l, k === 0));
  out.print();
  if (r.lockstepDescribe) {
    const at = r.lockstepFinalAt === null ? color.red('never') : `after loop ${r.lockstepFinalAt}`;
    out.print(`${color.dim('lockstep')} (${r.lockstepDescribe}): the state first equals the algorithm's final state ${at}`);
  }
  const ro = r.readoutCorrectAt === null ? color.red('never') : r.readoutCorrectAt === 0 ? 'already at the embedding' : `after loop ${r.readoutCorrectAt}`;
  out.print(`${color.dim('readout')}: first equals the reference answer ${JSON.stringify(r.expected)} ${ro} (of ${r.loops.length - 1} loop${r.loops.length === 2 ? '' : 's'})`);
}
