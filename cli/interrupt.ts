// Ctrl-C (SIGINT). bin/looped.mjs installs a SIGINT handler before anything else loads and records
// every Ctrl-C in a shared object (globalThis[Symbol.for('looped.sigint')]). A command that reports
// an interrupted run (reportsInterrupt: verify) claims Ctrl-C with claimInterrupt: it sees one that
// came during start-up, stops at the next batch or sample, prints what it checked (under --json one
// JSON object with "interrupted": true and "ok": null unless a counterexample was already found)
// and exits 130. For any other command, and on a second Ctrl-C, bin/looped.mjs exits 130 itself
// with one line (under --json one JSON object).

/** The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** The record bin/looped.mjs keeps (absent when a command runs in-process, as in the tests). */
export interface SigintRecord {
  /** Ctrl-Cs received so far. */
  count: number;
  /** A command has taken a Ctrl-C into account: the next one ends the process at once. */
  seen: boolean;
}

const KEY = Symbol.for('looped.sigint');

function record(): SigintRecord | undefined {
  return (globalThis as { [KEY]?: SigintRecord })[KEY];
}

/** Whether the command stops on Ctrl-C and reports what it checked (bin/looped.mjs exits 130 for the others). */
export function reportsInterrupt(command: string | undefined): boolean {
  return command === 'verify';
}

/**
 * Claims Ctrl-C for a command: `signal.aborted` becomes true on Ctrl-C, and at once if one came
 * during start-up. Call it before the command's first await; call the function it returns when the
 * command ends.
 */
export function claimInterrupt(signal: { aborted: boolean }): () => void {
  const r = record();
  const on = () => {
    signal.aborted = true;
    if (r) r.seen = true;
  };
  if (r && r.count > 0) on();
  process.on('SIGINT', on);
  return () => void process.removeListener('SIGINT', on);
}
