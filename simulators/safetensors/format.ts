// The safetensors container and the names looped gives its tensors and metadata: header parse and
// write, dtypes, limits. export.ts turns a model into tensors, import.ts tensors back into a model
// (simulators/safetensors.ts re-exports the public names of all three).
//
// Layout of the file (the safetensors format): 8 bytes, the header length N as a little-endian
// u64; N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {key: string}}; then the byte buffer, offsets relative to its start, tensors little-endian and
// contiguous. Tensor names follow TransformerLens:
//   embed.W_E [V, d]   pos_embed.W_pos [N, d]   unembed.W_U [d, V]
//   stages.{s}.blocks.{l}.attn.W_Q / W_K / W_V [H, d, d_head]   .attn.W_O [H, d_head, d]
//   stages.{s}.blocks.{l}.mlp.W_in [d, d_mlp]  .b_in [d_mlp]  .W_out [d_mlp, d]  .b_out [d]
// Heads of different sizes are padded with zeros to one d_head (the largest query/key or value
// size of any head); their true sizes and labels are in the metadata, and the reader refuses a
// nonzero entry in the padding. A layer without heads has no attn tensors; one without an MLP no
// mlp tensors. `__metadata__` (every value a string, structured ones as JSON text):
//   format "looped/1" · name · description · readout "last" | "all"
//   vocab            JSON array: each token as the string `looped run --model --input` accepts
//   residual_labels  JSON array of subspaces {name, size, describe?, labels?} (labels omitted when
//                    they are the default name[i])
//   stages           JSON array per stage: {loops, layers (count), mask: {expr, describe?} | null, roles}
//   attention        JSON [stage][layer][head]: {name, role, kind, scale, causal, d_qk, d_ov, qk, ov}
//                    (scale a number, or a rational string "1/3" when no double holds it)
//   mlp              JSON [stage][layer]: {name, role, d_mlp, hidden} | null
//   padding          (optional) JSON {promptLength, token, count}: the model reads the prompt
//                    then count × token (Theorem 5.4's (v, #^m)); `looped run --model` appends them
// Weights are F64 by default (a model whose weights are all doubles round-trips exactly) or F32.
// A weight the dtype cannot hold exactly (an exact rational like 1/3 in F64, most values in F32)
// is refused unless `allowRounding`, and then the report counts and names the rounded entries.
import { ModelError } from '../../common/errors.ts';
import { checkText } from '../model-limits.ts';
import { fieldPath, parseStrictJson } from '../strict-json.ts';

export type SafetensorsDtype = 'F64' | 'F32';
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32'];

/** Element sizes of every dtype the safetensors format defines (only F64 and F32 are read). */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, F6_E2M3: 1, F6_E3M2: 1, F4: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, C64: 8, C128: 16,
};

/**
 * The header is at most 100,000,000 bytes (the reference implementation's limit); a larger one
 * is refused before a byte of it is decoded.
 */
export const MAX_HEADER_BYTES = 100_000_000;
/** Largest single dimension the reader accepts (a vocabulary, a width, a head, positions, loops). */
export { MAX_DIM } from '../model-limits.ts';

/** The fields `__metadata__` may hold; any other is refused (a damaged or smuggled field is not skipped). */
export const METADATA_FIELDS = ['format', 'name', 'description', 'readout', 'vocab', 'residual_labels', 'stages', 'attention', 'mlp', 'padding'] as const;

export interface Tensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Row-major values, as doubles (an F32 value is exactly a double). */
  data: Float64Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** In the order of their offsets in the buffer. */
  tensors: Map<string, Tensor>;
}

/** Throws the ModelError for a problem with the file; every message starts "safetensors:". */
export const fail = (what: string): never => {
  throw new ModelError(`safetensors: ${what}`);
};

export const plainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when the bytes look like a safetensors file (a header length that fits, then "{"). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 9) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

/**
 * Reads the container: header, metadata and every tensor, checking each field, dtype, shape and
 * offset. Throws a ModelError naming the problem; never reads outside the file. Values are
 * returned as they are (NaN included): loadSafetensors checks them against the model.
 */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) fail(`the file is truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(`the header length ${n64} is beyond the file (${bytes.length} bytes: at most ${bytes.length - 8} after the length); the file is truncated or not safetensors`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`the header length ${n} is over the limit of ${MAX_HEADER_BYTES.toLocaleString('en-US')} bytes (the reference implementation's)`);
  if (n < 2) fail(`the header length is ${n}; a header is at least "{}"`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  // Strict: a tensor or metadata key given twice is refused (JSON.parse would keep the last).
  // Control characters are checked where the text is read (a metadata value is JSON with its
  // own paths), and here in the names the file gives its tensors and metadata.
  const header = parseStrictJson(text, fail, { what: 'the header', refuseControl: false });
  if (!plainObject(header)) return fail('the header must be a JSON object');
  for (const name of Object.keys(header)) checkText(name, (what) => fail(`the tensor name ${short(name)} ${what}`));

  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  if (Object.hasOwn(header, '__metadata__')) {
    const m = header.__metadata__;
    if (!plainObject(m)) return fail('__metadata__ must be an object of strings');
    for (const [k, v] of Object.entries(m)) {
      checkText(k, (what) => fail(`the __metadata__ key ${short(k)} ${what}`));
      if (typeof v !== 'string') fail(`${fieldPath('__metadata__', k)} must be a string, got ${short(v)}`);
      metadata[k] = v as string;
    }
  }

  const bufferStart = 8 + n;
  const bufferLength = bytes.length - bufferStart;
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const at = `tensor "${name}"`;
    if (!plainObject(value)) return fail(`${at} must be an object {dtype, shape, data_offsets}`);
    for (const key of Object.keys(value)) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(`${fieldPath('', name)} has an unknown field ${short(key)} (its fields: dtype, shape, data_offsets)`);
    }
    const dtype = value.dtype;
    if (typeof dtype !== 'string') return fail(`${at}: dtype is ${dtype === undefined ? 'missing' : `not a string (${short(dtype)})`}`);
    const size = DTYPE_BYTES[dtype];
    if (size === undefined || !Object.hasOwn(DTYPE_BYTES, dtype)) return fail(`${at}: unknown dtype ${short(dtype)}`);
    if (dtype !== 'F64' && dtype !== 'F32') return fail(`${at}: dtype ${dtype} is not supported (looped reads ${SAFETENSORS_DTYPES.join(', ')})`);
    const shape = value.shape;
    if (!Array.isArray(shape)) return fail(`${at}: shape is ${shape === undefined ? 'missing' : `not an array (${short(shape)})`}`);
    let count = 1;
    for (const [k, dim] of shape.entries()) {
      if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0 || dim > 2 ** 32) {
        fail(`${at}: shape[${k}] is ${short(dim)}; a dimension is a whole number in 0..2^32`);
      }
      count *= dim as number;
      if (count > bufferLength) fail(`${at}: shape [${shape.join(', ')}] needs more bytes than the ${bufferLength}-byte buffer holds`);
    }
    const offsets = value.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) return fail(`${at}: data_offsets must be [begin, end], got ${short(offsets)}`);
    const [begin, end] = offsets as unknown[];
    for (const [label, v] of [['begin', begin], ['end', end]] as const) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${at}: data_offsets ${label} is ${short(v)}; it must be a whole number ≥ 0`);
    }
    const b = begin as number;
    const e = end as number;
    if (b > e) fail(`${at}: data_offsets [${b}, ${e}] end before they begin`);
    if (e > bufferLength) fail(`${at}: data_offsets [${b}, ${e}] are out of range: the buffer has ${bufferLength} bytes`);
    if (e - b !== count * size) {
      fail(`${at}: data_offsets [${b}, ${e}] cover ${e - b} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${count * size}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin: b, end: e });
  }
  // The buffer is the tensors, back to back: no overlap, no gap, nothing after the last one.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let k = 1; k < entries.length; k++) {
    const [a, b] = [entries[k - 1], entries[k]];
    if (b.begin < a.end) fail(`tensor "${b.name}" data_offsets [${b.begin}, ${b.end}] overlap tensor "${a.name}" [${a.begin}, ${a.end}]`);
  }
  let pos = 0;
  for (const t of entries) {
    if (t.begin > pos) fail(`the buffer has ${t.begin - pos} bytes at ${pos}..${t.begin} that belong to no tensor (before "${t.name}")`);
    pos = t.end;
  }
  if (pos !== bufferLength) {
    fail(pos < bufferLength ? `the buffer has ${bufferLength - pos} bytes after the last tensor` : `the buffer is ${bufferLength} bytes but the tensors need ${pos}`);
  }
  const tensors = new Map<string, Tensor>();
  for (const t of entries) {
    const count = (t.end - t.begin) / DTYPE_BYTES[t.dtype];
    const data = new Float64Array(count);
    const base = bufferStart + t.begin;
    if (t.dtype === 'F64') for (let k = 0; k < count; k++) data[k] = view.getFloat64(base + 8 * k, true);
    else for (let k = 0; k < count; k++) data[k] = view.getFloat32(base + 4 * k, true);
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data });
  }
  return { metadata, tensors };
}

export interface TensorOut {
  name: string;
  shape: number[];
  data: ArrayLike<number>;
}

/** Writes a safetensors file: tensors in the given order, header padded with spaces to 8 bytes. */
export function writeSafetensors(tensors: readonly TensorOut[], metadata: Record<string, string>, dtype: SafetensorsDtype = 'F64'): Uint8Array {
  const size = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`writeSafetensors: ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + count * size] };
    offset += count * size;
  }
  let text = JSON.stringify(header);
  const raw = new TextEncoder().encode(text);
  const pad = (8 - (raw.length % 8)) % 8;
  if (pad > 0) text += ' '.repeat(pad);
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const t of tensors) {
    for (let k = 0; k < t.data.length; k++, pos += size) {
      if (dtype === 'F64') view.setFloat64(pos, t.data[k], true);
      else view.setFloat32(pos, t.data[k], true);
    }
  }
  return out;
}

/** A value as it appears in an error message: JSON, cut to 60 characters. */
export function short(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Tensor names, after TransformerLens (see the top of this module). */
export const tensorName = {
  embed: 'embed.W_E',
  pos: 'pos_embed.W_pos',
  unembed: 'unembed.W_U',
  attn: (s: number, l: number, w: 'W_Q' | 'W_K' | 'W_V' | 'W_O') => `stages.${s}.blocks.${l}.attn.${w}`,
  mlp: (s: number, l: number, w: 'W_in' | 'b_in' | 'W_out' | 'b_out') => `stages.${s}.blocks.${l}.mlp.${w}`,
};
