// The construction contract, checked at the door: a construction that comes from a user's file
// (looped verify ./mine.ts) is checked for the shape proofs/construction.ts describes before
// anything runs, so a slip is one sentence naming the field — not a TypeError deep inside verify.
// What a build returns is checked the same way, on the first build.
import { parse as parseFormula } from 'mathjs';
import { UsageError } from '../common/errors.ts';
import { type BuiltConstruction, type Construction, type ParamSpec, type SizeKey, resolveParams } from './construction.ts';

const SIZE_KEYS: readonly SizeKey[] = ['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads', 'headDim', 'bits'];
const PARAM_KINDS: readonly ParamSpec['kind'][] = ['int', 'choice', 'rational', 'text'];

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The value as a Construction, or a UsageError naming the first field that breaks the contract; `where` names the source ("./mine.ts"). */
export function checkConstruction(value: unknown, where: string): Construction {
  const fail = (why: string): never => {
    throw new UsageError(`${where}: ${why}`);
  };
  if (!isRecord(value)) return fail(`the export is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not a construction object`);
  const id = value.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9][\w.-]*$/.test(id)) fail(`the construction's id must be a word of letters, digits, '.', '_' or '-', got ${JSON.stringify(id) ?? String(id)}`);
  const at = `${where}: construction "${String(id)}"`;
  const bad = (why: string): never => {
    throw new UsageError(`${at}: ${why}`);
  };
  for (const field of ['title', 'theorem', 'statement'] as const) if (typeof value[field] !== 'string') bad(`${field} must be a string`);
  if (typeof value.build !== 'function') bad('build must be a function (params) => BuiltConstruction');
  if (!Array.isArray(value.params)) bad('params must be an array of parameter specs (it may be empty)');
  const names = new Set<string>();
  (value.params as unknown[]).forEach((p, k) => {
    if (!isRecord(p) || typeof p.name !== 'string' || p.name === '') bad(`params[${k}] needs a name`);
    const spec = p as Record<string, unknown>;
    const name = String(spec.name);
    if (names.has(name)) bad(`parameter "${name}" is declared twice`);
    names.add(name);
    if (typeof spec.default !== 'string') bad(`parameter "${name}" has no default (a string, as the command line would give it)`);
    if (!(PARAM_KINDS as readonly unknown[]).includes(spec.kind)) {
      bad(`parameter "${name}": kind must be ${PARAM_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(spec.kind) ?? 'nothing'}`);
    }
    if (spec.kind === 'choice' && (!Array.isArray(spec.values) || spec.values.length === 0 || !spec.values.every((v) => typeof v === 'string'))) {
      bad(`parameter "${name}": a choice needs values, a non-empty array of strings`);
    }
    if (spec.auto !== undefined && typeof spec.auto !== 'string') bad(`parameter "${name}": auto must be a string saying what auto stands for`);
    if (typeof spec.describe !== 'string') bad(`parameter "${name}" needs a describe string`);
    for (const bound of ['min', 'max'] as const) {
      const ok = spec.kind === 'rational' ? Number.isFinite(spec[bound]) : Number.isInteger(spec[bound]);
      if (spec[bound] !== undefined && !ok) bad(`parameter "${name}": ${bound} must be a ${spec.kind === 'rational' ? 'finite number' : 'whole number'}`);
    }
  });
  if (!isRecord(value.claimed)) bad('claimed must be an object of size formulas (mathjs expressions, e.g. { loops: "ceil(log2(n))" })');
  for (const [key, formula] of Object.entries(value.claimed as Record<string, unknown>)) {
    if (!(SIZE_KEYS as readonly string[]).includes(key)) bad(`claimed.${key} is not a size (sizes: ${SIZE_KEYS.join(', ')})`);
    if (typeof formula !== 'string') bad(`claimed.${key} must be a formula string`);
    try {
      parseFormula(formula as string);
    } catch (e) {
      bad(`claimed.${key} = ${JSON.stringify(formula)} does not parse as a formula (${(e as Error).message})`);
    }
  }
  const c = value as unknown as Construction;
  try {
    resolveParams(c, {});
  } catch (e) {
    bad(`its defaults do not resolve: ${(e as Error).message}`);
  }
  return c;
}

/** What a build returned, checked for the fields every command reads; `at` names the construction. */
export function checkBuilt(b: unknown, at: string): BuiltConstruction<unknown, unknown> {
  const bad = (why: string): never => {
    throw new UsageError(`${at}: build returned ${why}`);
  };
  if (!isRecord(b)) return bad(`${b === null ? 'null' : typeof b}, not a BuiltConstruction object`);
  if (!isRecord(b.model) || !Array.isArray((b.model as Record<string, unknown>).stages)) bad('no model (a Model from createModel)');
  if (!isRecord(b.sizeScope)) bad('no sizeScope (the numbers the size formulas are evaluated in)');
  for (const fn of ['encode', 'decode', 'reference', 'equal', 'parseInput', 'formatAnswer', 'formatInput', 'arbitrary'] as const) {
    if (typeof b[fn] !== 'function') bad(`no ${fn} function`);
  }
  if (!Array.isArray(b.checks) || b.checks.length === 0) bad('no checks (at least one { label, interpreter, model }: the first is the reference setting)');
  (b.checks as unknown[]).forEach((k, i) => {
    if (!isRecord(k) || typeof k.label !== 'string' || typeof k.interpreter !== 'string' || !isRecord(k.model)) bad(`checks[${i}] that is not { label, interpreter, model }`);
  });
  return b as unknown as BuiltConstruction<unknown, unknown>;
}
