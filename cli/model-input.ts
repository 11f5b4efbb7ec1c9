// Reading a model file and a raw token input for `looped run --model` and friends. A model file is
// either looped/1 JSON (looped build, looped export --format json) or safetensors (looped export
// --format safetensors); the content decides, not the file name.
import { ModelError } from '../common/errors.ts';
import { readRegularFile } from '../simulators/regular-file.ts';
import type { Model } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';
import { loadSafetensors, looksLikeSafetensors } from '../simulators/safetensors.ts';
import { parseJsonArray, tokenItem } from '../proofs/input-parsing.ts';

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
 * A JSON array of tokens: vocabulary entries as strings, or indices as numbers (their range is
 * checked by the interpreter, with the position named). proofs/input-parsing.ts bounds the nesting
 * before parsing and shortens and escapes what it echoes.
 */
export function parseTokens(model: Model, text: string): number[] {
  return parseJsonArray(text, { what: '--input', expected: 'tokens', example: '["#","1","2"] or [0,1,2]', item: tokenItem(model.vocab.labels, { numbers: 'any' }) });
}
