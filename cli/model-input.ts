// Reading a model file and a raw token input for `looped run --model` and friends.
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../simulators/errors.ts';
import type { Model } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';

export function readModelFile(path: string): Model {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read model file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return loadModel(text);
}

/** A JSON array of tokens: vocabulary entries as strings, or indices as numbers. */
export function parseTokens(model: Model, text: string): number[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`--input must be a JSON array of tokens, like ["#","1","2"] or [0,1,2]; got ${JSON.stringify(text)}`);
  }
  if (!Array.isArray(value)) throw new InputError('--input must be a JSON array of tokens');
  const vocab = model.vocab.labels;
  return value.map((t: unknown, i) => {
    if (typeof t === 'number') return t; // range is checked by the interpreter, with the position named
    if (typeof t === 'string') {
      const k = vocab.indexOf(t);
      if (k < 0) throw new InputError(`token "${t}" at position ${i} is not in the vocabulary (${vocab.slice(0, 12).join(', ')}${vocab.length > 12 ? ', …' : ''})`);
      return k;
    }
    throw new InputError(`token at position ${i} must be a string or a number, got ${JSON.stringify(t)}`);
  });
}
