import { UsageError } from '../../common/errors.ts';
import { type SweepReport, isBatchInterpreter, sweepConstruction } from '../../properties/sweep.ts';
import { type VerifyOptions, type VerifyReport, asExpected, settingText, verifyAll, verifyConstruction } from '../../properties/verify.ts';
import { intOption, notApplicable, parse, stringOption } from '../args.ts';
import { CONSTRUCTION_FLAGS, SEARCH_FLAGS, constructionWithParams, searchOptions } from '../construction-args.ts';
import { EXIT_INTERRUPTED, claimInterrupt } from '../interrupt.ts';
import { type Out, fmtNumber, printHelp, table, toJson } from '../output.ts';

export const verifyHelp = `looped verify <construction> [--param k=v …] [--interpreter NAME] [--samples N] [--seed S] [--path P] [--json]
looped verify <construction> --interpreter fast64|fast32|gpu[:backend] [--samples N | --exhaustive] [--batch B] …
looped verify --all [--small] [--samples N] [--seed S] [--json]

Runs the construction's properties: its answer against the reference algorithm on random inputs
under every interpreter setting it declares (exact with hard attention, fixed:s and float64 with
softmax), the per-loop lockstep check, and extra loops where the answer has converged. Prints
samples tried, failures, the smallest margins seen, and built vs claimed sizes. A failure is
shrunk by fast-check and printed with a command that replays it.

With a batched interpreter (fast64, fast32, gpu, gpu:webasm, …) the inputs stream through it in
batches of B (default 256, each run in pieces of at most B that take about 0.3 s, so progress
and Ctrl-C get through) while the reference answers are computed on the CPU; every wrong answer
is re-run on the exact interpreter and reported either as a float32 artefact (exact is right) or
as a real counterexample of the construction (exact is wrong too; then shrunk under exact). The
report names the backend that really ran and the rate in inputs per second. --exhaustive runs
every input of a small input space (all words of the construction's lengths) instead of a
sample.

--all runs every construction at every parameter setting it declares (its verifyAt: every variant,
and the settings where a bug shows that the defaults cannot reach), one row a setting. A setting
marked to fail (the construction exactly as the paper printed it) counts as expected when a check
finds a counterexample, and fails the run when every check holds. Settings marked "paper" are
the sizes the paper itself reports (S5 words of n = 64; p-hop with p = 16 and 32 at n = 256): they
run with fewer samples (exact arithmetic at those sizes is slow) and take a few minutes in all;
--small leaves them out.

Ctrl-C stops at the next batch or sample (within about a second) and prints what was checked,
marked interrupted; under --json one JSON object with "interrupted": true and "ok": null (not
proven) unless a counterexample was already found ("ok": false, exit 1).

Exit codes: 0 all properties hold, 1 a counterexample was found, 2 usage or input error,
130 interrupted (Ctrl-C) with no counterexample found so far.

Examples:
  looped verify lemma-b4 --param n=32 --samples 500
  looped verify --all`;

export async function verify(argv: string[], out: Out): Promise<number> {
  const { positionals, values } = parse(
    argv,
    {
      ...CONSTRUCTION_FLAGS,
      interpreter: { type: 'string' },
      ...SEARCH_FLAGS,
      all: { type: 'boolean' },
      small: { type: 'boolean' },
      batch: { type: 'string' },
      exhaustive: { type: 'boolean' },
    },
    'verify',
  );
  if (values.help) return printHelp(out, verifyHelp);
  const signal = { aborted: false };
  let lastTick = 0;
  const started = new Map<string, number>();
  const options: VerifyOptions = {
    ...searchOptions(values, values.all ? 100 : 200),
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
  // Before the first await: a Ctrl-C during start-up is already set here (cli/interrupt.ts).
  const releaseInterrupt = claimInterrupt(signal);
  try {
    // Ctrl-C during start-up: without --json one line; under --json the run goes on with the
    // signal set, so it checks nothing and prints the usual report, empty, marked interrupted.
    if (signal.aborted && !out.json) {
      out.error('looped verify: interrupted (Ctrl-C) before anything was checked');
      return EXIT_INTERRUPTED;
    }
    let reports: VerifyReport[];
    if (values.all) {
      if (positionals.length > 0 || values.param) throw new UsageError('verify --all takes no construction or parameters: it runs every construction at every setting it declares');
      notApplicable(values, ['batch', 'exhaustive'], 'to --all: it runs each construction unbatched, on samples (sweep one construction with --interpreter fast64, fast32 or gpu)');
      notApplicable(values, ['path'], 'to --all: a --path replays one fast-check run of one construction (the replay command a failure prints)');
      reports = await verifyAll({ ...options, small: Boolean(values.small) });
    } else {
      if (positionals.length !== 1) throw new UsageError('verify takes one construction (see looped list), or --all');
      notApplicable(values, ['small'], 'without --all: it leaves the paper-size settings out of verify --all');
      const { c, params } = constructionWithParams(positionals[0], values);
      if (options.interpreter !== undefined && isBatchInterpreter(options.interpreter)) {
        notApplicable(values, ['path'], 'to a batched sweep: it draws its inputs by --seed, batch by batch (--path replays a fast-check run of an unbatched interpreter)');
        if (values.exhaustive) notApplicable(values, ['samples'], 'with --exhaustive: every input of the input space is run');
        const sweep = await sweepConstruction(c, params, options.interpreter, {
          ...options,
          batch: intOption(values.batch, 'batch', 1, 1 << 20, 256),
          exhaustive: Boolean(values.exhaustive),
        });
        out.endProgress();
        // Interrupted: "ok" is null (not proven) unless a counterexample was already found.
        if (out.json) out.print(toJson({ construction: c.id, theorem: c.theorem, params, ok: sweep.failed ? false : signal.aborted ? null : true, interrupted: signal.aborted, sweep }));
        else printSweep(out, c.id, sweep, signal.aborted);
        if (signal.aborted && !out.json) out.error(`interrupted: ${sweep.samples} of the inputs were checked before Ctrl-C`);
        return sweep.failed ? 1 : signal.aborted ? EXIT_INTERRUPTED : 0;
      }
      if (values.exhaustive) throw new UsageError('--exhaustive streams inputs through a batched interpreter: add --interpreter fast64, fast32 or gpu');
      notApplicable(values, ['batch'], 'without a batched interpreter: add --interpreter fast64, fast32 or gpu');
      reports = [await verifyConstruction(c, params, options)];
    }
    out.endProgress();
    const ok = reports.every(asExpected);
    // Interrupted: "ok" is null (not proven) unless a check already failed; so is the "ok" of the
    // report it stopped in (the reports before it are complete).
    const okJson = !ok ? false : signal.aborted ? null : true;
    const stoppedIn = (r: VerifyReport, i: number) => (signal.aborted && i === reports.length - 1 && r.ok ? { ...r, ok: null } : r);
    if (out.json) out.print(toJson(values.all ? { ok: okJson, interrupted: signal.aborted, reports: reports.map(stoppedIn) } : { ...reports[0], ok: okJson, interrupted: signal.aborted }));
    else if (values.all) printSummary(out, reports);
    else printReport(out, reports[0]);
    if (signal.aborted) out.error('interrupted: the report shows what was checked before Ctrl-C');
    return ok ? (signal.aborted ? EXIT_INTERRUPTED : 0) : 1;
  } finally {
    releaseInterrupt();
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
    const expectFail = r.setting?.fails != null;
    const verdict = expectFail
      ? r.setting!.asExpected ? color.green(`fails as expected (${failed})`) : color.red('HOLDS: expected to fail')
      : r.ok ? color.green('holds') : color.red(`FAILS (${failed})`);
    return [
      r.construction,
      (settingText(r.setting?.given ?? {}) || 'defaults') + (r.setting?.paper ? ' (paper)' : ''),
      r.theorem,
      verdict,
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
  out.print(table(rows, ['construction', 'setting', 'theorem', 'status', 'k⊗L', 'width', 'mlp', 'heads', 'samples', 'min attn', 'min logit', 'time']));
  for (const r of reports) {
    const at = `${r.construction}${r.setting && Object.keys(r.setting.given).length > 0 ? ` (${settingText(r.setting.given)})` : ''}`;
    if (r.setting?.fails != null) {
      if (!r.setting.asExpected) out.print(color.red(`\n${at}: expected to fail (${r.setting.fails}), but every check held`));
      continue;
    }
    for (const k of r.checks) if (k.counterexample) out.print(color.red(`\n${at} / ${k.label}: ${k.counterexample.message}\n  replay: ${k.counterexample.replay}`));
  }
}

function printSweep(out: Out, id: string, r: SweepReport, interrupted = false): void {
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
  } else if (interrupted) out.print(color.yellow(`  interrupted: no wrong answer on the ${r.samples} inputs checked (not proven)`));
  else out.print(color.green('  holds on every input'));
}
