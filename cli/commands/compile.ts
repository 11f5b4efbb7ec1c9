import { withMemoryScope } from '../../simulators/budget.ts';
import type { ChoiceParamSpec } from '../../proofs/construction.ts';
import { VARIANT_OPTION, compileThm52Info, thm52, thm52Sizes } from '../../proofs/thm-5-2-loop-one-layer.ts';
import { THM54_VARIANT_PARAM, compileThm54Variant, thm54, thm54Sizes } from '../../proofs/thm-5-4-cot-loops.ts';
import { UsageError } from '../../common/errors.ts';
import { modelSizes } from '../../simulators/model.ts';
import { modelToJson } from '../../simulators/model-file.ts';
import { parseRational } from '../../simulators/rational.ts';
import { notApplicable, parse, stringOption } from '../args.ts';
import { readModelFile } from '../model-input.ts';
import { type Out, fmtNumber, printHelp, safeText, table, toJson, writeOutFile } from '../output.ts';

export const compileHelp = `looped compile thm-5.2 --source FILE --out FILE [--variant V] [--mlp-gate C] [--attention-gate B]
                       [--start-token T] [--json]
looped compile thm-5.4 --source FILE --steps M --n N --out FILE [--variant masks|no-masks] [--bits S]
                       [--gate-bits G] [--start-token T] [--json]

Theorem 5.2: compiles a model file (format looped/1, stages without loop masks) of depth L with R
distinct layers into ONE layer looped L times that gives the same output distribution on the input
(#, v) as the source on v: the same logit for every source token, exactly under exact arithmetic.
# is a new token (the source vocabulary must not have it; --start-token names another). Prints the sizes built beside the
claimed ones (width d + R + 2, MLP width R·d_FF + O(L), R·H heads of size d_ATTN).

The gates C (MLP) and B (attention) are derived from interval bounds on the source's activations
(the theorem's "bounded activations"); --mlp-gate and --attention-gate override them (a value below
the derived one is reported as a warning). --variant erratum-3 or erratum-4 builds the construction
exactly as the paper prints it (attention gate signs; hat factor 0.5), which does not simulate.

In a model file every layer of a stage is its own object, so R counts each listed layer once (a
stage looped k times still shares its layers across its k loops).

Theorem 5.4: compiles a decoder (causal heads, readout last, no loop masks) of depth L into a block
of L + 5 layers looped M times on (v, #^M), |v| = N, whose answer is TF^M(v), the greedy CoT of the
decoder, provided no CoT step has a tie (top-two logit margin ≥ 2^-S). Loop t recomputes only
positions ≥ n + t (1-indexed); after it, position n + t holds the embedding of CoT token t. S
(default ⌊log2(N + M)⌋ + 1) is the bits of the position codes and of the argmax grid.
  --variant masks (default, variant a): the stage has the loop masks M^t(i) = 1[i − t ≥ n].
  --variant no-masks (variant b): no mask; a comparator on a counter sbin(n + t − 1) (Lemmas B.11,
    B.10) and a gate (Lemma B.8) keep the earlier positions' tokens inside the block. Width
    d + 3S + 4 + 4|Σ| (variant a: d + 2S + 1 + 4|Σ|); the same states after every loop. Every gate
    input is in [0, 1], whatever the source, so any gate constant 2^G ≥ 1 works: G = 1 by default,
    --gate-bits G overrides it (1..26).

The compiled model file records N and the padding, so \`looped run --model FILE --input '[v]'\`
takes the prompt v alone and appends #^M itself (--all-positions shows the CoT, loop by loop).

Examples:
  looped build lemma-b9-shift --param n=6 --out shift.json
  looped compile thm-5.2 --source shift.json --out looped.json
  looped run --model looped.json --input '["#",0,1,2,3]'
  looped build cot-automaton --param automaton=parity --param n=8 --decoder --out parity.json
  looped compile thm-5.4 --source parity.json --n 8 --steps 8 --out parity-loops.json
  looped run --model parity-loops.json --input '["1","0","1","1","0","0","1","0"]' --all-positions`;

const COMPILERS = ['thm-5.2', 'thm-5.4'];

export function compile(argv: string[], out: Out): number {
  const { positionals, values } = parse(
    argv,
    {
      source: { type: 'string' },
      out: { type: 'string' },
      variant: { type: 'string' },
      'mlp-gate': { type: 'string' },
      'attention-gate': { type: 'string' },
      'start-token': { type: 'string' },
      steps: { type: 'string' },
      n: { type: 'string' },
      bits: { type: 'string' },
      'gate-bits': { type: 'string' },
      json: { type: 'boolean' },
    },
    'compile',
  );
  if (values.help) return printHelp(out, compileHelp);
  if (positionals.length !== 1) throw new UsageError(`compile takes one theorem: ${COMPILERS.join(' or ')} (see looped compile --help)`);
  const which = positionals[0];
  if (which === 'thm-5.4') {
    notApplicable(values, ['mlp-gate', 'attention-gate'], "to compile thm-5.4: the gates C and B are Theorem 5.2's (compile thm-5.2)");
    return compileThm54Command(values, out);
  }
  if (which !== 'thm-5.2') throw new UsageError(`compile: unknown theorem "${safeText(which)}"; known: ${COMPILERS.join(', ')}`);
  notApplicable(values, ['steps', 'n', 'bits', 'gate-bits'], 'to compile thm-5.2: it is a flag of compile thm-5.4 (Theorem 5.2 loops the source as deep as it is)');
  const sourcePath = stringOption(values.source);
  if (sourcePath === undefined) throw new UsageError('compile thm-5.2 needs --source FILE (a model file, e.g. from looped build … --out FILE)');
  const file = stringOption(values.out);
  if (file === undefined) throw new UsageError('compile thm-5.2 needs --out FILE');
  const variant = choiceFlag(stringOption(values.variant), 'variant', VARIANT_OPTION);
  const gate = (flag: string): string | undefined => {
    const v = stringOption(values[flag]);
    if (v === undefined) return undefined;
    let ok = false;
    try {
      ok = parseRational(v).valueOf() > 0;
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--${flag} must be a positive number or rational like 512 or 3/2, got "${safeText(v)}"`);
    return v;
  };
  const C = gate('mlp-gate');
  const B = gate('attention-gate');

  const source = readModelFile(sourcePath);
  const c = withMemoryScope('compiling Theorem 5.2', 'the source model (its width, depth or heads)', () =>
    compileThm52Info(source, { variant, C, B, startToken: stringOption(values['start-token']) }),
  );
  const text = JSON.stringify(modelToJson(c.model));
  writeOutFile(file, text);
  const bytes = Buffer.byteLength(text, 'utf8'); // the file's size, not the string's length in UTF-16 units
  const sizes = thm52Sizes(c);
  const built = modelSizes(c.model);
  const gates = {
    C: c.C.toFraction(),
    B: c.B.toFraction(),
    D: c.D.toFraction(),
    derived: c.derived && { C: c.derived.C, B: c.derived.B, D: c.derived.D, maxPreActivation: c.derived.bounds.maxPre, maxActivation: c.derived.bounds.maxActivation, maxLogit: c.derived.bounds.maxLogit },
  };
  if (out.json) {
    out.print(
      toJson({
        theorem: 'Theorem 5.2',
        variant,
        source: sourcePath,
        out: file,
        bytes,
        scope: c.scope,
        schedule: c.analysis.r,
        gates,
        sizes,
        shape: built.shape,
        parameters: built.parameters,
        deviations: thm52.deviations ?? null,
        warnings: c.warnings,
      }),
    );
    return 0;
  }
  const { color } = out;
  const { L, R, d, H, dFF, dATTN } = c.scope;
  out.print(`wrote ${safeText(file)} (${bytes} bytes): ${color.bold('Theorem 5.2')}${variant === 'corrected' ? '' : color.yellow(` (${variant}, as printed)`)}, one layer looped ${L} times`);
  out.print(`${color.dim('source ')} ${safeText(source.name)}: depth L = ${L}, R = ${R} distinct layers, d = ${d}, H = ${H}, d_FF = ${dFF}, d_ATTN = ${dATTN}; runs r(1..L) = ${c.analysis.r.map((k) => `L${k}`).join(' ') || '(none)'}`);
  const derived = c.derived ? ` (derived from the activation bounds: pre-activations ≤ ${fmtNumber(c.derived.bounds.maxPre)}, |activations| ≤ ${fmtNumber(c.derived.bounds.maxActivation)}, |logits| ≤ ${fmtNumber(c.derived.bounds.maxLogit)})` : '';
  out.print(`${color.dim('gates  ')} C = ${gates.C} (MLP), B = ${gates.B} (attention), D = ${gates.D} (# logit −D·(L+1))${derived}`);
  out.print();
  out.print(
    table(
      sizes
        .filter((s) => s.formula !== null)
        .map((s) => {
          const over = s.claimed !== null && s.built !== null && s.built > s.claimed;
          return [s.key, s.formula ?? '—', s.claimed === null ? '—' : fmtNumber(s.claimed), s.built === null ? '—' : over ? color.yellow(String(s.built)) : String(s.built)];
        }),
      ['size', 'claimed formula', 'claimed', 'built'],
    ),
  );
  if (sizes.some((s) => s.claimed !== null && s.built !== null && s.built > s.claimed)) out.print(color.dim(`\n${thm52.deviations}`));
  for (const w of c.warnings) out.error(`warning: ${w}`);
  const softmax = c.model.stages[0].layers[0].heads.some((h) => h.kind === 'softmax');
  if (softmax) out.print(color.dim(`\nThe source has softmax heads: run the compiled model under float64 (exact refuses softmax); B leaves every wrong-side weight below e^−800, which is 0 in float64.`));
  const startLabel = safeText(c.model.vocab.labels[c.startToken]);
  out.print(`\nrun it: looped run --model ${safeText(file)} --input '["${startLabel}", …]' (the source's input, with ${startLabel} first)`);
  return 0;
}

/** A flag whose value is one of a choice spec's values (absent: the spec's default); refused naming the flag, after `where`. */
function choiceFlag<V extends string>(value: string | undefined, flag: string, spec: ChoiceParamSpec<string, V>, where = ''): V {
  if (value === undefined) return spec.default as V;
  if (!(spec.values as readonly string[]).includes(value)) throw new UsageError(`${where}--${flag} must be one of ${spec.values.join(', ')}, got "${safeText(value)}"`);
  return value as V;
}

function wholeOption(values: Record<string, unknown>, flag: string, min: number, max: number, why = ''): number | undefined {
  const v = stringOption(values[flag] as string | undefined);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!/^\d+$/.test(v) || x < min || x > max) throw new UsageError(`--${flag} must be a whole number in ${min}..${max}${why}, got "${safeText(v)}"`);
  return x;
}

/** The most bits a position code may have: the fixed point F_s of the interpreters goes to s = 26. */
const MAX_BITS = 26;

function compileThm54Command(values: Record<string, unknown>, out: Out): number {
  // n + m positions must have distinct codes of s bits: 2^s ≥ n + m, and the default s
  // (⌊log2(n + m)⌋ + 1) is at most 26, so n + m < 2^26. Checked here so the error names the flag.
  const bits = wholeOption(values, 'bits', 1, MAX_BITS);
  const positions = bits === undefined ? 2 ** MAX_BITS - 1 : 2 ** bits;
  const fit = bits === undefined ? ` (n + steps positions must fit ${MAX_BITS}-bit position codes: n + steps < 2^${MAX_BITS})` : ` (n + steps positions must fit the ${bits}-bit position codes of --bits ${bits}: n + steps ≤ 2^${bits})`;
  const n = wholeOption(values, 'n', 1, positions - 1, fit);
  const steps = wholeOption(values, 'steps', 1, positions - (n ?? 1), n === undefined ? fit : `${fit.slice(0, -1)}, with --n ${n})`);
  if (steps === undefined || n === undefined) {
    throw new UsageError('compile thm-5.4 needs --steps M (CoT steps = loops) and --n N (prompt length)');
  }
  const variant = choiceFlag(stringOption(values.variant as string | undefined), 'variant', THM54_VARIANT_PARAM, 'compile thm-5.4: ');
  const gateBits = wholeOption(values, 'gate-bits', 1, MAX_BITS);
  if (gateBits !== undefined && variant !== 'no-masks') throw new UsageError('compile thm-5.4: --gate-bits is for --variant no-masks (variant masks has no gate)');
  const sourcePath = stringOption(values.source as string | undefined);
  if (sourcePath === undefined) throw new UsageError('compile thm-5.4 needs --source FILE (a decoder model file, e.g. from looped build … --out FILE)');
  const file = stringOption(values.out as string | undefined);
  if (file === undefined) throw new UsageError('compile thm-5.4 needs --out FILE');
  const source = readModelFile(sourcePath);
  const c = withMemoryScope('compiling Theorem 5.4', '--n, --steps or the source model', () =>
    compileThm54Variant(source, { n, m: steps, s: bits, startToken: stringOption(values['start-token'] as string | undefined), variant, gateBits }),
  );
  const text = JSON.stringify(modelToJson(c.model));
  writeOutFile(file, text);
  const bytes = Buffer.byteLength(text, 'utf8');
  const sizes = thm54Sizes(c);
  const built = modelSizes(c.model);
  const start = c.model.vocab.labels[c.startToken];
  const label = variant === 'masks' ? 'a' : 'b';
  if (out.json) {
    out.print(
      toJson({
        theorem: `Theorem 5.4 (${label})`,
        variant,
        source: sourcePath,
        out: file,
        bytes,
        scope: c.scope,
        mask: c.model.stages[0].mask?.expr ?? null,
        ...(c.gateBits !== undefined ? { gateBits: c.gateBits } : {}),
        sizes,
        shape: built.shape,
        parameters: built.parameters,
        deviations: thm54.deviations ?? null,
      }),
    );
    return 0;
  }
  const { color } = out;
  const { L, d, H, V, s } = c.scope;
  const how =
    c.variant === 'masks'
      ? `with the masks ${c.model.stages[0].mask?.expr}`
      : `without loop masks (comparator on the counter sbin(n + t − 1), gate constant 2^${c.gateBits})`;
  out.print(`wrote ${safeText(file)} (${bytes} bytes): ${color.bold(`Theorem 5.4 (${label})`)}, a block of ${built.layersPerBlock} layers looped ${steps} times ${how}`);
  out.print(`${color.dim('source ')} ${safeText(source.name)}: depth L = ${L}, d = ${d}, H = ${H}, |Σ| = ${V}; prompt n = ${n}, m = ${steps} CoT steps, s = ${s} bits`);
  out.print(`${color.dim('precondition')} no CoT step may have a tie: the top logit must beat every other by ≥ 2^-${s}`);
  out.print();
  out.print(
    table(
      sizes.map((r) => {
        const over = r.claimed !== null && r.built !== null && r.built > r.claimed;
        return [r.key, r.formula ?? '—', r.claimed === null ? '—' : fmtNumber(r.claimed), r.built === null ? '—' : over ? color.yellow(String(r.built)) : String(r.built)];
      }),
      ['size', 'claimed formula', 'claimed', 'built'],
    ),
  );
  if (sizes.some((r) => r.claimed !== null && r.built !== null && r.built > r.claimed)) out.print(color.dim(`\n${thm54.deviations}`));
  out.print(`\nrun it: looped run --model ${safeText(file)} --input '[…the ${n} prompt tokens]' (run appends the ${steps} × "${safeText(start)}" padding itself)`);
  return 0;
}
