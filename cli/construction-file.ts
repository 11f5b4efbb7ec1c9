// `looped run|verify|counterexample|explain|build|export path/to/module.(ts|mts|mjs|js)`: a
// construction from the user's own file. The module's default export is a construction, or an
// array of them (`--construction ID` picks one). main() loads it before the command runs and
// registers it under the argument as given, so the commands look it up like a catalogue id.
// TypeScript files are type-checked first (strict, with the TypeScript the user's project has,
// else this package's own where it has one; only errors in the user's files are reported;
// LOOPED_TYPECHECK=0 skips it), then loaded through tsx; what breaks the construction contract is caught here, by field.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Construction } from '../proofs/construction.ts';
import { checkBuilt, checkConstruction } from '../proofs/contract.ts';
import { registerConstruction } from '../proofs/registry.ts';
import { InputError, ModelError, NumericError, ResourceError, UnsupportedError, UsageError } from '../common/errors.ts';
import { safeText } from './output.ts';

/** The commands whose first argument may be a construction module. */
export const FILE_COMMANDS: ReadonlySet<string> = new Set(['run', 'verify', 'counterexample', 'explain', 'build', 'export', 'certify']);

const MODULE_PATH = /\.(ts|mts|mjs|js)$/i;

export function isModulePath(arg: string): boolean {
  return MODULE_PATH.test(arg) && !arg.startsWith('-');
}

/** The value of `--construction ID` (or `--construction=ID`) in argv, if given. */
function pickedId(argv: readonly string[]): string | undefined {
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--construction') return argv[k + 1];
    if (argv[k].startsWith('--construction=')) return argv[k].slice('--construction='.length);
  }
  return undefined;
}

/** Loads and registers every construction module named in a command's arguments (normally one). */
export async function preloadConstructionFiles(argv: readonly string[]): Promise<void> {
  const files = argv.filter(isModulePath);
  const pick = pickedId(argv);
  if (pick !== undefined && files.length === 0) throw new UsageError('--construction ID picks one construction of a construction file (looped verify ./mine.ts --construction ID); no .ts, .mjs or .js file is named');
  for (const arg of files) await loadConstructionFile(arg, pick);
}

/** Imports `path` and registers the construction it exports (checked against the contract) under `path`. */
export async function loadConstructionFile(path: string, pick: string | undefined): Promise<Construction> {
  const where = `construction file ${safeText(path)}`;
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UsageError(`${where}: no such file`);
  if (!statSync(abs).isFile()) throw new UsageError(`${where}: not a regular file`);
  if (/\.m?ts$/i.test(abs) && process.env.LOOPED_TYPECHECK !== '0') {
    const error = typeError(abs);
    if (error !== null) throw new UsageError(`${where} does not compile: ${safeText(error)}`);
  }
  let mod: Record<string, unknown>;
  try {
    const url = pathToFileURL(abs).href;
    mod = /\.m?ts$/i.test(abs) ? ((await (await import('tsx/esm/api')).tsImport(url, import.meta.url)) as Record<string, unknown>) : ((await import(url)) as Record<string, unknown>);
  } catch (e) {
    throw new UsageError(`${where} could not be loaded: ${firstLine(e)}`);
  }
  // tsx hands a TypeScript module's default export through as `default`, sometimes nested once more.
  let exported: unknown = mod.default;
  if (exported !== null && typeof exported === 'object' && !Array.isArray(exported) && 'default' in exported && !('build' in exported)) exported = (exported as { default: unknown }).default;
  if (exported === undefined) {
    const named = Object.keys(mod).filter((k) => k !== 'default');
    throw new UsageError(`${where} has no default export: write \`export default myConstruction\` (or an array of constructions)${named.length > 0 ? `; it exports ${named.join(', ')}` : ''}`);
  }
  const list = Array.isArray(exported) ? exported.map((x, k) => checkConstruction(x, `${where}, default export [${k}]`)) : [checkConstruction(exported, where)];
  let chosen: Construction;
  if (pick !== undefined) {
    const found = list.find((c) => c.id === pick);
    if (found === undefined) throw new UsageError(`${where} has no construction "${safeText(pick)}" (it has ${list.map((c) => c.id).join(', ')})`);
    chosen = found;
  } else if (list.length === 1) {
    chosen = list[0];
  } else {
    throw new UsageError(`${where} exports ${list.length} constructions (${list.map((c) => c.id).join(', ')}): pick one with --construction ID`);
  }
  return registerConstruction(path, guarded(chosen, where, path));
}

/** The construction with its build checked: what it returns against the contract, and a throw that is not one of ours named as the build's. */
function guarded(c: Construction, where: string, source: string): Construction {
  const at = `${where}: construction "${c.id}"`;
  return {
    ...c,
    source,
    build(params) {
      let b: unknown;
      try {
        b = c.build(params);
      } catch (e) {
        if (e instanceof UsageError || e instanceof InputError || e instanceof ModelError || e instanceof ResourceError || e instanceof NumericError || e instanceof UnsupportedError) throw e;
        throw new UsageError(`${at}: build threw ${firstLine(e)}`);
      }
      return checkBuilt(b, at) as ReturnType<Construction['build']>;
    },
  };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  return safeText(text.split('\n')[0]);
}

/**
 * The first type error tsc reports in the file at `abs` (strict, --noEmit), or null: none, or no
 * TypeScript compiler to be found (the user's project's, else this package's). Errors in other
 * files it imports — the package's own sources, say — are not the user's and are not reported.
 */
function typeError(abs: string): string | null {
  let tsc: string | undefined;
  for (const from of [abs, fileURLToPath(import.meta.url)]) {
    try {
      // The package's exports map hides bin/; its package.json is exported, and bin/tsc sits beside it.
      tsc = resolve(dirname(createRequire(from).resolve('typescript/package.json')), 'bin', 'tsc');
      break;
    } catch {
      // not resolvable from there
    }
  }
  if (tsc === undefined) return null;
  const options = ['--noEmit', '--pretty', 'false', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--allowImportingTsExtensions', '--skipLibCheck'];
  const r = spawnSync(process.execPath, [tsc, ...options, abs], { cwd: dirname(abs), encoding: 'utf8' });
  const name = basename(abs);
  return (r.stdout ?? '').split('\n').find((line) => line.startsWith(`${name}(`)) ?? null;
}
