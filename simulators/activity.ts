// What long work is doing right now, for a progress line: a build names itself before it starts,
// and a run reports each loop it enters. The library only reports; the CLI listens (cli/main.ts)
// and draws at most a few lines a second, so reporting costs one function call when nobody listens.
export type ActivityListener = (text: string) => void;

let listener: ActivityListener | null = null;

/** Installs the listener (null removes it); returns the one it replaced. */
export function onActivity(l: ActivityListener | null): ActivityListener | null {
  const before = listener;
  listener = l;
  return before;
}

/** Reports what is happening ("building cot-p-hop", "cot-p-hop: exact, loop 3 of 65"). */
export function activity(text: string | (() => string)): void {
  if (listener) listener(typeof text === 'string' ? text : text());
}
