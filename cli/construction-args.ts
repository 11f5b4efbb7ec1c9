// What every command on a construction starts with (build, export, run, counterexample, verify,
// explain): the flags that name it and its parameters, and the construction and its parameters
// resolved against its specs; and the flags of a fast-check run that verify and counterexample share (proofs/construction.ts resolveParams: a bad value names the
// parameter and its range or its values).
import { type Construction, type Params, resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { type OptionSpec, type Parsed, intOption, paramsFrom, stringOption } from './args.ts';

/**
 * --param k=v (repeatable), --construction ID (which export of a construction file, read by
 * cli/construction-file.ts before the command runs) and --json.
 */
export const CONSTRUCTION_FLAGS = {
  param: { type: 'string', multiple: true },
  construction: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;

/** The construction `id` names (a registered id, or a file main() loaded) with the --param values resolved. */
export function constructionWithParams(id: string, values: Parsed['values']): { c: Construction; params: Params } {
  const c = constructionById(id);
  return { c, params: resolveParams(c, paramsFrom(values.param as string[] | undefined)) };
}

/** The --param values resolved against the specs of `c`, for a command that checks other flags between naming it and reading them. */
export function constructionParams(c: Construction, values: Parsed['values']): Params {
  return resolveParams(c, paramsFrom(values.param as string[] | undefined));
}

/** The flags of a fast-check run (verify, counterexample): how many inputs, the seed, and a path to replay. */
export const SEARCH_FLAGS = {
  samples: { type: 'string' },
  seed: { type: 'string' },
  path: { type: 'string' },
} as const satisfies OptionSpec;

/** --samples (1..10^8, `samples` by default), --seed (a 32-bit integer, 42 by default) and --path, checked. */
export function searchOptions(values: Parsed['values'], samples: number): { samples: number; seed: number; path: string | undefined } {
  return {
    samples: intOption(values.samples, 'samples', 1, 100_000_000, samples),
    seed: intOption(values.seed, 'seed', -(2 ** 31), 2 ** 31 - 1, 42),
    path: stringOption(values.path),
  };
}
