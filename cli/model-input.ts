// Reading a model file and a raw token input for `looped run --model` and friends. A model file is
// either looped/1 JSON (looped build, looped export --format json) or safetensors (looped export
// --format safetensors); the content decides, not the file name.
import { InputError, ModelError } from '../common/errors.ts';
import { readRegularFile } from '../simulators/regular-file.ts';
import type { Model } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';
import { loadSafetensors, looksLikeSafetensors } from '../simulators/safetensors.ts';
import { assertJsonDepth } from '../common/json-depth.ts';
import { safeText } from './output.ts';

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

/**
 * A model file, read up to modelFileLimit() (1/8 of the memory budget, raised with --max-memory);
 * only a regular file is read (simulators/regular-file.ts), so a FIFO or /dev/zero is refused.
 */
export function readModelFile(path: string): Model {
  return loadModelBytes(readRegularFile(path, `model file ${path}`), path);
}

/**
 * A JSON array of tokens: vocabulary entries as strings, or indices as numbers. The nesting is
 * bounded before parsing (an item is echoed in an error, and 5,000 nested brackets would overflow
 * the stack there); what is echoed is shortened and has its control characters escaped.
 */
export function parseTokens(model: Model, text: string): number[] {
  assertJsonDepth(text, '--input');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`--input must be a JSON array of tokens, like ["#","1","2"] or [0,1,2]; got ${echo(text)}`);
  }
  if (!Array.isArray(value)) throw new InputError('--input must be a JSON array of tokens');
  const vocab = model.vocab.labels;
  return value.map((t: unknown, i) => {
    if (typeof t === 'number') return t; // range is checked by the interpreter, with the position named
    if (typeof t === 'string') {
      const k = vocab.indexOf(t);
      if (k < 0) throw new InputError(`--input: token ${echo(t)} at position ${i} is not in the vocabulary (${vocab.slice(0, 12).map((v) => safeText(v)).join(', ')}${vocab.length > 12 ? ', …' : ''})`);
      return k;
    }
    throw new InputError(`--input: token at position ${i} must be a string or a number, got ${echo(JSON.stringify(t) ?? String(t), false)}`);
  });
}

/** User text in an error: at most 80 characters, quoted as JSON unless `quote` is false, control characters escaped. */
function echo(text: string, quote = true): string {
  const short = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return safeText(quote ? JSON.stringify(short) : short);
}
