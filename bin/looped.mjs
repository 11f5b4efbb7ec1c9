#!/usr/bin/env node
// The `looped` command. In the repository it runs the TypeScript sources through tsx's loader, so
// there is no build step between a change and the command that checks it; an installed package
// runs its compiled dist/.
import { existsSync, writeSync } from 'node:fs';

// Ctrl-C from the first moment, before tsx and the command load (cli/interrupt.ts): every one is
// recorded; verify claims them and reports what it checked (exit 130), even for one that came
// during start-up, and a second Ctrl-C ends it here. During start-up of any other command it ends
// here too (exit 130, one line; under --json one JSON object); once such a command runs, this
// handler is removed so that Ctrl-C kills it at once as usual, even inside a synchronous loop.
const sigint = { count: 0, seen: false };
globalThis[Symbol.for('looped.sigint')] = sigint;
let started = false;
let reports = false;
const exitInterrupted = () => {
  const json = process.argv.includes('--json');
  try {
    if (json) writeSync(1, `${JSON.stringify({ error: 'interrupted (Ctrl-C)', kind: 'Interrupted', interrupted: true })}\n`);
    else writeSync(2, 'looped: interrupted\n');
  } catch {
    // the exit code alone says it
  }
  process.exit(130);
};
const onSigint = () => {
  sigint.count++;
  if (sigint.seen || (started && !reports)) exitInterrupted();
};
process.on('SIGINT', onSigint);

// From the repository: the TypeScript sources through tsx. From an installed package (npm pack):
// the compiled dist/, which is all the tarball holds.
const fromSource = existsSync(new URL('../cli/main.ts', import.meta.url));
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
}
// `looped verify … | head`: the reader went away, which is not an error of ours. Any other failed
// write (`> /dev/full`: ENOSPC) is one line on stderr, where it can still be written, and exit 3
// (cli/output.ts EXIT_OUTPUT): never a stack, never 1, which means "counterexample found".
for (const [stream, name] of [[process.stdout, 'stdout'], [process.stderr, 'stderr']]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    try {
      writeSync(2, `looped: cannot write to ${name}: ${e.code ?? String(e.message).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}\n`);
    } catch {
      // stderr is the stream that failed: the exit code alone says it.
    }
    process.exit(3);
  });
}
const cli = fromSource ? '../cli/' : '../dist/cli/';
const { main } = await import(`${cli}main.${fromSource ? 'ts' : 'js'}`);
const { reportsInterrupt } = await import(`${cli}interrupt.${fromSource ? 'ts' : 'js'}`);
reports = reportsInterrupt(process.argv[2]);
started = true;
if (!reports) {
  if (sigint.count > 0) exitInterrupted();
  process.removeListener('SIGINT', onSigint);
}
process.exitCode = await main(process.argv.slice(2));
