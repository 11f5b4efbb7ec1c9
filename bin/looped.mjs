#!/usr/bin/env node
// The `looped` command. The project is TypeScript run through tsx's loader, so there is no build
// step between a change and the command that checks it.
import { register } from 'tsx/esm/api';

register();
// `looped verify … | head`: the reader went away, which is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
