// Reading a model file and a raw token input for `looped run --model` and friends. A model file is
// either looped/1 JSON (looped build, looped export --format json) or safetensors (looped export
// --format safetensors); the content decides, not the file name.
import { readFileSync } from 'node:fs';
import { InputError, ModelError, UsageError } from '../simulators/errors.ts';
import type { Model } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';
import { loadSafetensors, looksLikeSafetensors } from '../simulators/safetensors.ts';

export type ModelFileFormat = 'json' | 'safetensors';

/** Which format the bytes are in: safetensors (a header length that fits, then "{"), else JSON ("{" first). */
export function sniffModelFormat(bytes: Uint8Array, path = ''): ModelFileFormat {
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  let k = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) k = 3; // a UTF-8 byte-order mark
  while (k < bytes.length && (bytes[k] === 0x20 || bytes[k] === 0x09 || bytes[k] === 0x0a || bytes[k] === 0x0d)) k++;
  if (bytes[k] === 0x7b) return 'json';
  // Neither: a damaged file. Let the name pick the reader, so its error says what is wrong.
  if (/\.safetensors$/i.test(path)) return 'safetensors';
  if (/\.json$/i.test(path)) return 'json';
  throw new ModelError(`model file${path ? ` ${path}` : ''} is neither a looped/1 JSON model file nor a safetensors file (${bytes.length} bytes)`);
}

/** A model from the bytes of a model file in either format. */
export function loadModelBytes(bytes: Uint8Array, path = ''): Model {
  if (sniffModelFormat(bytes, path) === 'safetensors') return loadSafetensors(bytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelError(`model file${path ? ` ${path}` : ''} is not valid UTF-8 JSON`);
  }
  return loadModel(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

export function readModelFile(path: string): Model {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read model file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return loadModelBytes(bytes, path);
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
