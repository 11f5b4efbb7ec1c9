// Builds the published files: dist/ holds JavaScript with .d.ts types for the public entry point
// (index.ts), the CLI and the fast path's worker. `npm pack` runs it (the prepack script), so a
// tarball always holds a fresh build; the repository itself runs from source (tsx) without it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  process.stderr.write('build: TypeScript is not installed here (run npm ci first)\n');
  process.exit(1);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// Plain JavaScript that is not compiled: the worker thread's entry (simulators/fast/parallel.ts
// starts it by URL), which loads worker.js beside it in dist/ and worker.ts through tsx in the repository.
copyFileSync(join(root, 'simulators', 'fast', 'worker.mjs'), join(dist, 'simulators', 'fast', 'worker.mjs'));
// Plain text that is not compiled: `looped new`'s starting file (cli/commands/new.ts reads it by URL).
mkdirSync(join(dist, 'cli', 'templates'), { recursive: true });
copyFileSync(join(root, 'cli', 'templates', 'construction.ts.txt'), join(dist, 'cli', 'templates', 'construction.ts.txt'));
process.stdout.write(`build: wrote ${dist}\n`);
