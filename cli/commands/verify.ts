import { resolveParams } from '../../proofs/construction.ts';
import { allConstructions, constructionById } from '../../proofs/registry.ts';
import { UsageError } from '../../simulators/errors.ts';
import { type SweepReport, isBatchInterpreter, sweepConstruction } from '../../properties/sweep.ts';
import { type VerifyOptions, type VerifyReport, verifyConstruction } from '../../properties/verify.ts';
import { intOption, paramsFrom, parse, stringOption } from '../args.ts';
import { type Out, fmtNumber, table, toJson } from '../output.ts';

export const verifyHelp = `looped verify <construction> [--param k=v …] [--interpreter NAME] [--samples N] [--seed S] [--path P] [--json]
looped verify <construction> --interpreter fast64|fast32|gpu[:backend] [--samples N | --exhaustive] [--batch B] …
looped verify --all [--samples N] [--seed S] [--json]

Runs the construction's properties: its answer against the reference algorithm on random inputs
under every interpreter setting it declares (exact with hard attention, fixed:s and float64 with
softmax), the per-loop lockstep check, and extra loops where the answer has converged. Prints
samples tried, failures, the smallest margins seen, and built vs claimed sizes. A failure is
shrunk by fast-check and printed with a command that replays it.

With a batched interpreter (fast64, fast32, gpu, gpu:webasm, …) the inputs stream through it in
batches of B while the reference answers are computed on the CPU; every wrong answer is re-run on
the exact interpreter and reported either as a float32 artefact (exact is right) or as a real
counterexample of the construction (exact is wrong too; then shrunk under exact). The report
names the backend that really ran and the rate in inputs per second. --exhaustive runs every
input of a small input space (all words of the construction's lengths) instead of a sample.

Exit codes: 0 all properties hold, 1 a counterexample was found, 2 usage or input error.

Examples:
  looped verify lemma-b4 --param n=32 --samples 500
  looped verify --all`;

export async function verify(argv: string[], out: Out): Promise<number> {
  const { positionals, values } = parse(
    argv,
    {
      param: { type: 'string', multiple: true },
      interpreter: { type: 'string' },
      samples: { type: 'string' },
      seed: { type: 'string' },
      path: { type: 'string' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      batch: { type: 'string' },
      exhaustive: { type: 'boolean' },
    },
    'verify',
  );
  if (values.help) return out.print(verifyHelp), 0;
  const signal = { aborted: false };
  const onSigint = () => {
    signal.aborted = true;
  };
  process.once('SIGINT', onSigint);
  let lastTick = 0;
  const started = new Map<string, number>();
  const options: VerifyOptions = {
    samples: intOption(values.samples, 'samples', 1, 100_000_000, values.all ? 100 : 200),
    seed: intOption(values.seed, 'seed', -(2 ** 31), 2 ** 31 - 1, 42),
    path: stringOption(values.path),
    interpreter: stringOption(values.interpreter),
    signal,
    onProgress: (label, done, total) => {
      const now = performance.now();
      if (!started.has(label)) started.set(label, now);
      if (now - lastTick < 100 && done < total) return;
      lastTick = now;
      const rate = done / Math.max(1e-3, (now - started.get(label)!) / 1000);
      const left = (total - done) / Math.max(rate, 1e-9);
      out.progress(`${label}  ${done}/${total}  ${rate.toFixed(0)}/s  ${left < 1 ? '' : `~${left.toFixed(0)} s left`}`);
    },
  };
  try {
    let reports: VerifyReport[];
    if (values.all) {
      if (positionals.length > 0 || values.param) throw new UsageError('verify --all takes no construction or parameters: it runs every construction at its defaults');
      reports = [];
      for (const c of allConstructions()) {
        if (signal.aborted) break;
        reports.push(await verifyConstruction(c, resolveParams(c, {}), options));
      }
    } else {
      if (positionals.length !== 1) throw new UsageError('verify takes one construction (see looped list), or --all');
      const c = constructionById(positionals[0]);
      const params = resolveParams(c, paramsFrom(values.param as string[] | undefined));
      if (options.interpreter !== undefined && isBatchInterpreter(options.interpreter)) {
        const sweep = await sweepConstruction(c, params, options.interpreter, {
          ...options,
          batch: intOption(values.batch, 'batch', 1, 1 << 20, 256),
          exhaustive: Boolean(values.exhaustive),
        });
        out.endProgress();
        if (out.json) out.print(toJson({ construction: c.id, theorem: c.theorem, params, ok: !sweep.failed, interrupted: signal.aborted, sweep }));
        else printSweep(out, c.id, sweep);
        return sweep.failed ? 1 : signal.aborted ? 130 : 0;
      }
      if (values.exhaustive) throw new UsageError('--exhaustive streams inputs through a batched interpreter: add --interpreter fast64, fast32 or gpu');
      reports = [await verifyConstruction(c, params, options)];
    }
    out.endProgress();
    const ok = reports.every((r) => r.ok);
    if (out.json) out.print(toJson(values.all ? { ok, interrupted: signal.aborted, reports } : { ...reports[0], interrupted: signal.aborted }));
    else if (values.all) printSummary(out, reports);
    else printReport(out, reports[0]);
    if (signal.aborted) out.error('interrupted: the report shows what was checked before Ctrl-C');
    return ok ? (signal.aborted ? 130 : 0) : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

function status(out: Out, failed: boolean): string {
  return failed ? out.color.red('FAIL') : out.color.green('ok');
}

export function printReport(out: Out, r: VerifyReport): void {
  const { color } = out;
  out.print(`${color.bold(r.construction)} (${r.theorem})  ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out.print();
  out.print(
    table(
      r.checks.map((k) => [k.label, k.interpreter, String(k.samples), k.failed ? color.red('1') : '0', fmtNumber(k.minAttentionMargin), fmtNumber(k.minLogitMargin), `${(k.ms / 1000).toFixed(1)} s`, status(out, k.failed)]),
      ['check', 'interpreter', 'samples', 'failures', 'min attn margin', 'min logit margin', 'time', ''],
    ),
  );
  out.print();
  out.print(
    table(
      r.sizes.filter((s) => s.claimed !== null || s.built !== null).map((s) => {
        const over = s.claimed !== null && s.built !== null && s.built > s.claimed;
        return [s.key, s.formula ?? '—', s.claimed === null ? '—' : String(s.claimed), s.built === null ? '—' : over ? color.yellow(String(s.built)) : String(s.built)];
      }),
      ['size', 'claimed formula', 'claimed', 'built'],
    ),
  );
  if (!r.sizesWithinClaim && r.deviations) out.print(color.yellow(`\nsizes above the claim: ${r.deviations}`));
  for (const k of r.checks) {
    const cx = k.counterexample;
    if (!cx) continue;
    out.print();
    out.print(color.red(`counterexample (${k.label}, ${k.interpreter}), shrunk:`));
    out.print(`  input    ${cx.input}`);
    out.print(`  failure  ${cx.message}`);
    out.print(`  seed ${cx.seed}, path ${cx.path}`);
    out.print(`  replay   ${cx.replay}`);
    out.print(`  search   ${cx.replaySearch}`);
  }
}

export function printSummary(out: Out, reports: VerifyReport[]): void {
  const { color } = out;
  const rows = reports.map((r) => {
    const size = (k: string) => String(r.sizes.find((s) => s.key === k)?.built ?? '—');
    const failed = r.checks.filter((k) => k.failed).length;
    const minAttn = Math.min(...r.checks.map((k) => k.minAttentionMargin));
    const minLogit = Math.min(...r.checks.map((k) => k.minLogitMargin));
    return [
      r.construction,
      r.theorem,
      r.ok ? color.green('holds') : color.red(`FAILS (${failed})`),
      `${size('layersPerBlock')}⊗${size('loops')}`,
      size('width'),
      size('mlpWidth'),
      size('heads'),
      String(r.checks.reduce((s, k) => s + k.samples, 0)),
      fmtNumber(minAttn),
      fmtNumber(minLogit),
      `${(r.ms / 1000).toFixed(1)} s`,
    ];
  });
  out.print(table(rows, ['construction', 'theorem', 'status', 'k⊗L', 'width', 'mlp', 'heads', 'samples', 'min attn', 'min logit', 'time']));
  for (const r of reports) for (const k of r.checks) if (k.counterexample) out.print(color.red(`\n${r.construction} / ${k.label}: ${k.counterexample.message}\n  replay: ${k.counterexample.replay}`));
}

function printSweep(out: Out, id: string, r: SweepReport): void {
  const { color } = out;
  out.print(`${color.bold(id)}  sweep on ${color.cyan(r.ranAs)}: ${r.samples} inputs in ${(r.ms / 1000).toFixed(1)} s (${r.inputsPerSecond.toFixed(0)} inputs/s)`);
  out.print(`  wrong answers ${r.failures}: ${r.artefactCount} float artefacts (exact is right), ${r.failures - r.artefactCount} real`);
  out.print(`  smallest margins: attention ${fmtNumber(r.minAttentionMargin)}, logit ${fmtNumber(r.minLogitMargin)}`);
  for (const a of r.artefacts) out.print(color.yellow(`  artefact ${a.input}: ${a.message} (exact margins: attention ${fmtNumber(a.exactMargins.attention)}, logit ${fmtNumber(a.exactMargins.logit)})`));
  const cx = r.counterexample;
  if (cx) {
    out.print(color.red('counterexample of the construction (exact fails too), shrunk:'));
    out.print(`  input    ${cx.input}`);
    out.print(`  failure  ${cx.message}`);
    out.print(`  replay   ${cx.replay}`);
  } else out.print(color.green('  holds on every input'));
}
