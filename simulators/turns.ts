// Long work on the main thread gives the event loop a turn now and then, so that Ctrl-C (a signal
// handler), timers and progress lines get through, and it looks at an abort flag between pieces.

/** Something a long run looks at between pieces of work: once `aborted` is true it stops. */
export interface AbortFlag {
  readonly aborted: boolean;
}

/** One turn of the event loop: pending signal handlers, timers and I/O callbacks run. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Turns at most every `ms` milliseconds: `due()` yields only when that long has passed since the last turn, `now()` always. */
export function turnTimer(ms = 50): { now(): Promise<void>; due(): Promise<void> } {
  let last = performance.now();
  const now = async () => {
    await nextTurn();
    last = performance.now();
  };
  return { now, due: () => (performance.now() - last > ms ? now() : Promise.resolve()) };
}
