// Entry of a fast-path worker thread. Plain JavaScript, so Node starts it without a TypeScript
// loader whatever the parent runs under (tsx, vitest, the CLI); it then loads worker.ts through
// tsx's scoped importer (or, in the published build, the compiled worker.js). The shared `state` tells the parent, which waits on it synchronously
// (see parallel.ts), that this thread has died, so the parent never waits for a reply forever.
import { workerData } from 'node:worker_threads';

const state = workerData.state; // Int32Array over a SharedArrayBuffer: [reply ready, alive]
const DEAD = 2;
process.on('exit', () => {
  Atomics.store(state, 1, DEAD);
  Atomics.notify(state, 0);
});
try {
  // Beside worker.js in the published build (dist/); beside worker.ts in the repository.
  const built = new URL('./worker.js', import.meta.url);
  const { existsSync } = await import('node:fs');
  const mod = existsSync(built) ? await import(built.href) : await (await import('tsx/esm/api')).tsImport('./worker.ts', import.meta.url);
  mod.serve(workerData);
} catch (e) {
  process.stderr.write(`looped fast-path worker could not start: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}
