// `looped`: verify, run and list constructions of looped transformers.
// Exit codes: 0 holds, 1 counterexample found (or a run whose answer differs from the reference),
// 2 usage or input error. Errors print one line, never a stack (LOOPED_DEBUG=1 shows it).
import { build, buildHelp } from './commands/build.ts';
import { compare, compareHelp } from './commands/compare.ts';
import { compile, compileHelp } from './commands/compile.ts';
import { explainCommand, explainHelp } from './commands/explain.ts';
import { exportCommand, exportHelp } from './commands/export.ts';
import { counterexample, counterexampleHelp } from './commands/counterexample.ts';
import { list, listHelp } from './commands/list.ts';
import { run, runHelp } from './commands/run.ts';
import { verify, verifyHelp } from './commands/verify.ts';
import { makeOut } from './output.ts';
// Batched interpreters register themselves on import: fast64/fast32 and gpu[:backend].
import '../simulators/fast/index.ts';
import '../gpu/index.ts';
import { UsageError } from '../simulators/errors.ts';

const HELP = `looped — build, run and check the constructions of looped-transformer theorems

Usage: looped <command> [options]

Commands:
  list            the constructions, their parameters and claimed sizes; the interpreters
  run             run a construction (or a model file) on one input: answer, reference, margins, trace
  verify          check a construction (or --all) against its reference algorithm on many inputs
  explain         teach a construction: residual layout, what every head and MLP unit reads and writes,
                  its weights folded by subspace, and with --input a run loop by loop
  build           write a construction's model file (JSON, exact rationals, labelled subspaces)
  export          write a construction or model file as safetensors (TransformerLens names) or looped/1 JSON
  compile         Theorem 5.2: compile a model file into one layer looped L times;
                  Theorem 5.4: compile a decoder into m loops that compute its m-step chain of thought
  compare         one task several ways (p-hop: CoT, CoT compiled into loops, direct log depth), all verified
  counterexample  search for the smallest failing input under a weakened claim (fewer loops, bits, scale)

Run looped <command> --help for its options and an example.

Exit codes: 0 holds, 1 counterexample found, 2 usage or input error.`;

const commands: Record<string, { help: string; run: (argv: string[], json: boolean) => number | Promise<number> }> = {
  list: { help: listHelp, run: (a, j) => list(a, makeOut(j)) },
  run: { help: runHelp, run: (a, j) => run(a, makeOut(j)) },
  verify: { help: verifyHelp, run: (a, j) => verify(a, makeOut(j)) },
  counterexample: { help: counterexampleHelp, run: (a, j) => counterexample(a, makeOut(j)) },
  build: { help: buildHelp, run: (a, j) => build(a, makeOut(j)) },
  compile: { help: compileHelp, run: (a, j) => compile(a, makeOut(j)) },
  compare: { help: compareHelp, run: (a, j) => compare(a, makeOut(j)) },
  export: { help: exportHelp, run: (a, j) => exportCommand(a, makeOut(j)) },
  explain: { help: explainHelp, run: (a, j) => explainCommand(a, makeOut(j)) },
};

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = makeOut(json);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.print(rest[0] && commands[rest[0]] ? commands[rest[0]].help : HELP);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"; commands: ${Object.keys(commands).join(', ')} (looped --help)`);
    return await command.run(rest, json);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (process.env.LOOPED_DEBUG) out.error(err.stack ?? err.message);
    if (json) out.print(JSON.stringify({ error: err.message, kind: err.name }));
    else out.error(`looped ${name}: ${err.message}`);
    return 2;
  }
}
