#!/usr/bin/env node
// The `looped` command. The project is TypeScript run through tsx's loader, so there is no build
// step between a change and the command that checks it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
