// `looped new NAME`: writes NAME.ts, the starting file of docs/writing-a-construction.md — a small
// looped construction that verifies out of the box — into the current folder. The text is
// cli/templates/construction.ts.txt with its id set to NAME; the guide's test checks that the
// guide's first complete file is exactly what `looped new mine` writes, so the two cannot drift.
// The template is plain text (not .ts) because it imports 'looped', which resolves in a user's
// project, not inside this repository; scripts/build-package.mjs copies it into dist/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../common/errors.ts';
import { parse } from '../args.ts';
import { type Out, printHelp, safeText, toJson } from '../output.ts';

export const newHelp = `looped new NAME [--json]

Writes NAME.ts into the current folder: a small looped construction (the token k back, by k
loops of a one-position shift) that verifies out of the box, with its id set to NAME. It is the
starting file of docs/writing-a-construction.md, which grows it step by step (a lockstep check,
a weakening, a counterexample search). NAME is a word of letters, digits, '_' or '-' that starts
with a letter; an existing NAME.ts is never overwritten.

Example:
  looped new mine
  looped verify ./mine.ts`;

/** Letters, digits, '_' and '-', starting with a letter: a file name and a construction id alike. */
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const PLACEHOLDER = '__NAME__';

/** The template's text (in the repository cli/templates/, in the package dist/cli/templates/). */
export function templateText(): string {
  return readFileSync(new URL('../templates/construction.ts.txt', import.meta.url), 'utf8');
}

/** The starting file for NAME, exactly as `looped new NAME` writes it. */
export function starterFile(name: string): string {
  const text = templateText();
  if (text.split(PLACEHOLDER).length !== 2) throw new Error(`cli/templates/construction.ts.txt must name ${PLACEHOLDER} exactly once (the id)`);
  return text.replace(PLACEHOLDER, name);
}

export function newCommand(argv: string[], out: Out, cwd = process.cwd()): number {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' } }, 'new');
  if (values.help) return printHelp(out, newHelp);
  if (positionals.length !== 1) throw new UsageError(`new takes one NAME (looped new mine), got ${positionals.length === 0 ? 'none' : positionals.map((p) => `"${safeText(p)}"`).join(' ')}`);
  const name = positionals[0];
  if (!NAME.test(name)) {
    const hint = /\.(ts|mts|js|mjs)$/i.test(name) && NAME.test(name.replace(/\.\w+$/, '')) ? ` (without the extension: looped new ${name.replace(/\.\w+$/, '')})` : '';
    throw new UsageError(`NAME "${safeText(name)}" must be 1 to 64 letters, digits, '_' or '-', starting with a letter${hint}`);
  }
  const file = `${name}.ts`;
  const path = resolve(join(cwd, file));
  if (existsSync(path)) throw new UsageError(`${file} already exists here; it is not overwritten (remove it or pick another NAME)`);
  // 'wx' fails if the file appeared since the check: never overwrite.
  try {
    writeFileSync(path, starterFile(name), { flag: 'wx' });
  } catch (e) {
    throw new UsageError(`could not write ${file}: ${safeText((e as Error).message.split('\n')[0])}`);
  }
  const next = `looped verify ./${file}`;
  if (out.json) out.print(toJson({ wrote: file, construction: name, next }));
  else {
    out.print(`wrote ${file}: construction "${name}", the token k back by k loops of a one-position shift`);
    out.print(`next: ${next}`);
  }
  return 0;
}
