// `looped certify`: prove a construction for every input of its length (certify/, docs/certify.md),
// write the certificate, or re-check one.
import { UnsupportedError, UsageError } from '../../common/errors.ts';
import type { Abstraction } from '../../certify/abstraction.ts';
import { type Certificate, compareCertificate, makeCertificate, parseCertificate } from '../../certify/certificate.ts';
import { certify } from '../../certify/certify.ts';
import type { CertifyResult } from '../../certify/report.ts';
import { type BuiltConstruction, type Construction, type Params, commandName, modelFor, resolveParams } from '../../proofs/construction.ts';
import { allConstructions, constructionById } from '../../proofs/registry.ts';
import { paramFlags, shellQuote } from '../../properties/verify.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import type { Model } from '../../simulators/model.ts';
import { readRegularFile } from '../../simulators/regular-file.ts';
import { parse, paramsFrom, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS } from '../construction-args.ts';
import { readModelFile } from '../model-input.ts';
import { type Out, fmtNumber, printHelp, safeText, table, toJson, writeOutFile } from '../output.ts';

export const certifyHelp = `looped certify <construction> [--param k=v …] [--interpreter exact] [--out cert.json] [--json]
looped certify --check cert.json [--model FILE] [--json]
looped certify --all [--json]

Proves that the model answers right on EVERY input of its length, not a sample: a simulation proof,
layer by layer (docs/certify.md). The construction declares an abstraction — the algorithm's state at
each position, the residual vector that stands for each state, and each layer as a local rule — and
certify discharges, in exact arithmetic, that the embedding puts every token into its state's
vector, that every head attends exactly to the position its rule names whatever the others hold,
that every layer maps every configuration its rule reads to the next state's vector, that the
readout decodes every final state, and that the rounds compute the reference (by a symbolic run,
or stated as trusted). It prints how many inputs that covers, the obligations of each kind with
the smallest margins, and the time.

When an obligation fails it names it, the states it failed at, and an input: one whose rounds reach
those states and whose run answers wrongly (refuted), with a \`looped run\` command that shows it; if
no input with a wrong answer is found the verdict is "unproved" — neither a certificate nor a
counterexample. A construction the method does not cover (softmax, masked loops, rules chosen by
content) is refused with the reason, never certified by sampling.

--out writes a certificate (the model's sha256, parameters, interpreter, every obligation's count
and margin); --check re-runs its obligations against the construction rebuilt from its parameters,
or against --model FILE, and refuses it if the model's hash or any count differs.
--all certifies every setting the catalogue declares (certifyAt) and prints one table.

Exit codes: 0 certified (or checked), 1 refuted, unproved, or a certificate that does not match,
2 usage or input error, or a construction certify does not cover.

Examples:
  looped certify group-composition --param group=S5 --param n=64
  looped certify group-composition --param n=64 --param loops=5
  looped certify lemma-b4 --param n=256 --out b4.cert.json && looped certify --check b4.cert.json`;

const CHECKABLE = ['exact'];

interface Subject {
  c: Construction;
  params: Params;
  given: Record<string, string>;
  built: BuiltConstruction<unknown, unknown>;
  model: Model;
  abs: Abstraction<unknown>;
}

function subject(c: Construction, given: Record<string, string>, model?: Model): Subject {
  const params = resolveParams(c, given);
  const built = c.build(params);
  if (built.abstraction === undefined) {
    const covered = allConstructions().filter((x) => x.certifyAt !== undefined).map((x) => x.id);
    throw new UnsupportedError(`${c.id} declares no abstraction for certify (its build has no \`abstraction\`); covered: ${covered.join(', ')}`);
  }
  const m = model ?? modelFor(built, 'exact');
  return { c, params, given, built, model: m, abs: built.abstraction(m) };
}

function run(s: Subject): CertifyResult {
  const exact = interpreterByName('exact');
  const judge = (tokens: number[]) => {
    const input = s.abs.inputOf(tokens);
    return !s.built.equal(s.built.decode(exact.run(s.model, tokens)), s.built.reference(input));
  };
  return certify(s.model, s.abs, { judge });
}

export function certifyCommand(argv: string[], out: Out): number {
  const { positionals, values } = parse(
    argv,
    { ...CONSTRUCTION_FLAGS, interpreter: { type: 'string' }, out: { type: 'string' }, check: { type: 'string' }, model: { type: 'string' }, all: { type: 'boolean' } },
    'certify',
  );
  if (values.help) return printHelp(out, certifyHelp);
  const interpreter = stringOption(values.interpreter) ?? 'exact';
  if (!CHECKABLE.includes(interpreter)) {
    interpreterByName(interpreter); // an unknown name is a usage error listing the known ones
    throw new UnsupportedError(
      `certify proves the exact check (hard attention, exact rationals); under ${interpreter} the precision obligations (score gaps for which exp rounds to 0, sums within B_s) are not implemented yet`,
    );
  }
  const check = stringOption(values.check);
  if (check !== undefined) return checkCertificate(check, stringOption(values.model), positionals, out);
  if (values.model !== undefined) throw new UsageError('--model goes with --check (certify a construction by its id, or re-check a certificate against a model file)');
  if (values.all) {
    if (positionals.length > 0) throw new UsageError('certify --all takes no construction');
    return certifyAll(out);
  }
  if (positionals.length !== 1) throw new UsageError('certify needs one construction (looped list shows them), or --check FILE, or --all');
  const s = subject(constructionById(positionals[0]), paramsFrom(values.param as string[] | undefined));
  const result = run(s);
  const file = stringOption(values.out);
  if (file !== undefined) writeOutFile(file, `${JSON.stringify(makeCertificate({ construction: commandName(s.c), params: s.given, interpreter, model: s.model }, result), null, 2)}\n`);
  if (out.json) out.print(toJson({ construction: s.c.id, params: s.given, interpreter, ...result, replay: replay(s, result), ...(file ? { out: file } : {}) }));
  else printResult(out, s, result, file);
  return result.verdict === 'certified' ? 0 : 1;
}

function replay(s: Subject, result: CertifyResult): string | null {
  const input = result.failure?.input;
  if (!input) return null;
  return `looped run ${commandName(s.c)} ${paramFlags(s.params)} --interpreter exact --input ${shellQuote(s.built.formatInput(s.abs.inputOf(input)))}`.replace(/\s+/g, ' ');
}

function obligationRows(result: CertifyResult): string[][] {
  return result.obligations.map((o) => [o.kind, o.count.toLocaleString('en-US'), o.minMargin === null ? '' : fmtNumber(o.minMargin)]);
}

function printResult(out: Out, s: Subject, result: CertifyResult, file: string | undefined): void {
  const c = out.color;
  const params = Object.entries(s.params).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  out.print(`certify ${safeText(s.c.id)} (${s.c.theorem}) ${safeText(params)}, exact`);
  out.print(`  states: ${s.abs.describe}`);
  const verdict = result.verdict === 'certified' ? c.green('certified') : result.verdict === 'refuted' ? c.red('refuted') : c.yellow('unproved');
  out.print(`  ${verdict}: inputs of length ${s.abs.length} over the declared tokens, ${result.inputs.power} = ${bigText(result.inputs.count)}`);
  out.print(
    table(
      obligationRows(result).map((r) => r.map((x) => `  ${x}`)),
      ['  obligation', '  count', '  smallest margin'],
    ),
  );
  out.print(`  rounds, ${result.rounds.kind === 'symbolic' ? 'by a symbolic run' : 'TRUSTED (not proved by certify)'}: ${result.rounds.argument}`);
  const f = result.failure;
  if (f) {
    out.print(`  ${f.kind} fails at ${f.where}: ${safeText(f.why)}`);
    if (f.configuration) out.print(`  the states there: ${f.configuration.states.map((x) => `position ${x.position} = ${safeText(x.state)}`).join(', ')}`);
    if (f.input) {
      const how = f.reaches ? `its rounds reach those states before loop ${f.loop}` : f.kind === 'rounds' ? 'built from the symbolic run of the rounds' : 'found by searching for a wrong answer';
      out.print(`  input: ${safeText(s.built.formatInput(s.abs.inputOf(f.input)))} (${how}; ${f.fails ? 'the model answers it wrongly' : 'the model still answers it right'})`);
      out.print(`  replay: ${safeText(replay(s, result) ?? '')}`);
    } else out.print('  no input reaching those states was found');
  }
  if (file) out.print(`  wrote the certificate to ${safeText(file)}`);
  out.print(`  ${result.seconds.toFixed(2)} s`);
}

/** "1.17e+133" for a count too long to read, the digits otherwise. */
function bigText(count: string): string {
  if (count.length <= 15) return Number(count).toLocaleString('en-US');
  let exponent = count.length - 1;
  let mantissa = (Number(count.slice(0, 17)) / 10 ** Math.min(16, count.length - 1)).toFixed(2);
  if (mantissa === '10.00') [mantissa, exponent] = ['1.00', exponent + 1];
  return `${mantissa}e+${exponent}`;
}

function checkCertificate(file: string, modelFile: string | undefined, positionals: string[], out: Out): number {
  if (positionals.length > 0) throw new UsageError('certify --check takes the certificate file, not a construction');
  const cert: Certificate = parseCertificate(new TextDecoder().decode(readRegularFile(file, `certificate ${file}`)), file);
  const model = modelFile === undefined ? undefined : readModelFile(modelFile);
  const s = subject(constructionById(cert.construction), cert.params, model);
  const result = run(s);
  const problem = compareCertificate(cert, s.model, result);
  if (out.json) out.print(toJson({ certificate: file, ok: problem === null, problem, verdict: result.verdict, inputs: result.inputs, obligations: result.obligations }));
  else if (problem === null) out.print(`${safeText(file)}: checked — ${result.verdict}, ${result.inputs.power} inputs, every obligation re-run with the same counts (${result.seconds.toFixed(2)} s)`);
  else out.print(`${safeText(file)}: ${out.color.red('does not match')}: ${safeText(problem)}`);
  return problem === null ? 0 : 1;
}

function certifyAll(out: Out): number {
  const rows: string[][] = [];
  const report: unknown[] = [];
  let ok = true;
  for (const c of allConstructions()) {
    for (const setting of c.certifyAt ?? []) {
      out.progress(`certify ${c.id} ${Object.entries(setting.params).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      const s = subject(c, setting.params);
      const result = run(s);
      const expected = setting.fails === undefined ? result.verdict === 'certified' : result.verdict === 'refuted';
      ok &&= expected;
      const by = Object.fromEntries(result.obligations.map((o) => [o.kind, o]));
      const margins = ['attention', 'readout'].map((k) => (by[k].minMargin === null ? '–' : fmtNumber(by[k].minMargin))).join(' / ');
      const params = Object.entries(setting.params).map(([k, v]) => `${k}=${v}`).join(' ') || '(defaults)';
      rows.push([
        c.id,
        params,
        result.inputs.power,
        `${by.embedding.count}·${by.attention.count}·${by.update.count}·${by.readout.count}`,
        margins,
        `${result.seconds.toFixed(1)} s`,
        `${result.verdict}${setting.fails === undefined ? '' : ' (expected: refuted)'}${expected ? '' : ' ✗'}`,
      ]);
      report.push({ construction: c.id, params: setting.params, expected: setting.fails === undefined ? 'certified' : 'refuted', ...result });
    }
  }
  if (out.json) out.print(toJson({ ok, settings: report }));
  else {
    out.print(table(rows, ['construction', 'parameters', 'inputs', 'obligations E·A·U·R', 'margins A / R', 'time', 'verdict']));
    out.print(ok ? 'every setting as expected' : out.color.red('some setting is not as expected (✗)'));
  }
  return ok ? 0 : 1;
}
