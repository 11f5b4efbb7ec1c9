// Reading a model file and a raw token input for `looped run --model` and friends. A model file is
// either looped/1 JSON (looped build, looped export --format json) or safetensors (looped export
// --format safetensors); the content decides, not the file name.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { formatBytes } from '../simulators/budget.ts';
import { InputError, ModelError, ResourceError, UsageError } from '../simulators/errors.ts';
import { modelFileLimit, modelFileLimitText } from '../simulators/model-limits.ts';
import type { Model } from '../simulators/model.ts';
import { loadModel } from '../simulators/model-file.ts';
import { loadSafetensors, looksLikeSafetensors } from '../simulators/safetensors.ts';
import { assertJsonDepth } from '../simulators/json-depth.ts';
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

export function readModelFile(path: string): Model {
  return loadModelBytes(readBounded(path), path);
}

/**
 * The bytes of a model file, read up to modelFileLimit() (1/8 of the memory budget, raised with
 * --max-memory). Only a regular file is read: it is opened non-blocking and checked with fstat
 * before any read, so a FIFO is refused instead of waiting for a writer, and /dev/zero instead
 * of being read forever; a file that grows past the limit while it is read stops at the limit.
 */
function readBounded(path: string): Uint8Array {
  const limit = modelFileLimit();
  const cannot = (e: unknown) => new UsageError(`cannot read model file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw cannot(e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a file';
      throw new UsageError(`model file ${path} is ${kind}, not a regular file`);
    }
    const over = (size: string) => new ResourceError(`model file ${path} is ${size}, over ${modelFileLimitText()}`);
    if (st.size > limit) throw over(formatBytes(st.size));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, 0) + 65536, limit + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        throw cannot(e);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw over(`more than ${formatBytes(limit)} (it grew while it was read)`);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
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
