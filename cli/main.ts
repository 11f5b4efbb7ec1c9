// `looped`: verify, run and list constructions of looped transformers.
// Exit codes: 0 holds, 1 counterexample found (or a run whose answer differs from the reference),
// 2 usage or input error, 3 output that could not be written (bin/looped.mjs handles stdout and
// stderr, OutputError an --out file), 130 interrupted by Ctrl-C (cli/interrupt.ts). Errors print
// one line with control characters escaped, never a stack (LOOPED_DEBUG=1 shows it).
import { build, buildHelp } from './commands/build.ts';
import { certifyCommand, certifyHelp } from './commands/certify.ts';
import { compare, compareHelp } from './commands/compare.ts';
import { compile, compileHelp } from './commands/compile.ts';
import { explainCommand, explainHelp } from './commands/explain.ts';
import { exportCommand, exportHelp } from './commands/export.ts';
import { counterexample, counterexampleHelp } from './commands/counterexample.ts';
import { list, listHelp } from './commands/list.ts';
import { newCommand, newHelp } from './commands/new.ts';
import { run, runHelp } from './commands/run.ts';
import { verify, verifyHelp } from './commands/verify.ts';
import { EXIT_OUTPUT, OutputError, makeOut, printHelp, progressAge, safeJson, safeText } from './output.ts';
import { onActivity } from '../simulators/activity.ts';
import { UsageError } from '../common/errors.ts';
import { FILE_COMMANDS, preloadConstructionFiles } from './construction-file.ts';

const HELP = `looped — build, run and check the constructions of looped-transformer theorems

Usage: looped <command> [options]

Commands:
  list            the constructions, their parameters and claimed sizes; the interpreters
  run             run a construction (or a model file) on one input: answer, reference, margins, trace
  verify          check a construction (or --all) against its reference algorithm on many inputs
  certify         prove a construction for EVERY input of its length (docs/certify.md), or refute it
                  with an input; write (--out) or re-check (--check) a certificate
  explain         teach a construction: residual layout, what every head and MLP unit reads and writes,
                  its weights folded by subspace, and with --input a run loop by loop
  build           write a construction's model file (JSON, exact rationals, labelled subspaces)
  export          write a construction or model file as safetensors (TransformerLens names) or looped/1 JSON
  compile         Theorem 5.2: compile a model file into one layer looped L times;
                  Theorem 5.4: compile a decoder into m loops that compute its m-step chain of thought
  compare         one task several ways (p-hop: CoT, CoT compiled into loops, direct log depth), all verified
  counterexample  search for the smallest failing input under a weakened claim (fewer loops, bits, scale)
  new             write NAME.ts, a small construction that verifies out of the box (docs/writing-a-construction.md)

Run looped <command> --help for its options and an example.

Every command takes --max-memory SIZE (default: the smaller of 3/4 of free memory and the
JavaScript heap limit) and --max-work N (weighted multiply-adds, default 1e12): work estimated
above either is refused before it starts.

Exit codes: 0 holds, 1 counterexample found, 2 usage or input error (including work over budget),
3 output could not be written (stdout, stderr or an --out file: a full disk, a closed descriptor),
130 interrupted (Ctrl-C; verify first prints what it checked, under --json as one JSON object).`;

const commands: Record<string, { help: string; run: (argv: string[], json: boolean) => number | Promise<number> }> = {
  list: { help: listHelp, run: (a, j) => list(a, makeOut(j)) },
  run: { help: runHelp, run: (a, j) => run(a, makeOut(j)) },
  verify: { help: verifyHelp, run: (a, j) => verify(a, makeOut(j)) },
  certify: { help: certifyHelp, run: (a, j) => certifyCommand(a, makeOut(j)) },
  counterexample: { help: counterexampleHelp, run: (a, j) => counterexample(a, makeOut(j)) },
  build: { help: buildHelp, run: (a, j) => build(a, makeOut(j)) },
  compile: { help: compileHelp, run: (a, j) => compile(a, makeOut(j)) },
  compare: { help: compareHelp, run: (a, j) => compare(a, makeOut(j)) },
  export: { help: exportHelp, run: (a, j) => exportCommand(a, makeOut(j)) },
  explain: { help: explainHelp, run: (a, j) => explainCommand(a, makeOut(j)) },
  new: { help: newHelp, run: (a, j) => newCommand(a, makeOut(j)) },
};

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = makeOut(json);
  // Long work names itself on the progress line at once, and then at most twice a second, never
  // over a command's own progress line while that one is being updated.
  onActivity((text) => {
    if (progressAge() >= 500) out.progress(`${text} …`);
  });
  const [name, ...rest] = argv;
  // Own keys only: `looped constructor` is an unknown command, not Object.prototype's.
  const known = (n: string | undefined) => (n !== undefined && Object.hasOwn(commands, n) ? commands[n] : undefined);
  const unknown = (n: string) => new UsageError(`unknown command "${n}"; commands: ${Object.keys(commands).join(', ')} (looped --help)`);
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      // `looped help run` is `looped run --help`; anything else after help would be ignored, so it is refused.
      const topics = rest.filter((a) => a !== '--json');
      if (topics.length > 1) throw new UsageError(`help takes one command at most, got ${topics.map((t) => `"${t}"`).join(' ')}`);
      if (topics.length === 1 && known(topics[0]) === undefined) throw unknown(topics[0]);
      printHelp(out, topics.length === 1 ? known(topics[0])!.help : HELP);
      return name === undefined ? 2 : 0;
    }
    const command = known(name);
    if (command === undefined) throw unknown(name);
    // A construction module in place of an id (looped verify ./mine.ts) is loaded first, so the
    // commands look it up like a catalogue id.
    if (FILE_COMMANDS.has(name)) await preloadConstructionFiles(rest);
    return await command.run(rest, json);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (process.env.LOOPED_DEBUG) out.error(err.stack ?? err.message);
    if (json) out.print(safeJson(JSON.stringify({ error: err.message, kind: err.name })));
    else out.error(`looped ${safeText(name ?? '')}: ${safeText(err.message)}`);
    return err instanceof OutputError ? EXIT_OUTPUT : 2;
  }
}
