// Models as safetensors files, with TransformerLens tensor names, and the hostile-input-safe reader.
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
import { ModelError } from '../common/errors.ts';
import type { LabeledMatrix } from './matrix.ts';
import { type Head, type Layer, type Mask, type Mlp, type Model, type PromptPadding, checkMask, createHead, createMlp, createModel, validateModel } from './model.ts';
import { MODEL_FORMAT, type SubspaceJson } from './model-file.ts';
import { MAX_DIM, checkDeclaredSizes, checkText, readWeight, validateForFile } from './model-limits.ts';
import { formatRational, isExactAsDouble } from './rational.ts';
import { Space, type SubspaceSpec } from './space.ts';
import { type Json, fieldPath, parseStrictJson } from './strict-json.ts';

// ---------------------------------------------------------------- the container format

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
export { MAX_DIM };

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

const fail = (what: string): never => {
  throw new ModelError(`safetensors: ${what}`);
};

const plainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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

function short(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

// ---------------------------------------------------------------- models → safetensors

export interface ExportOptions {
  /** F64 (default) or F32. */
  dtype?: SafetensorsDtype;
  /** Round weights the dtype cannot hold exactly instead of refusing (the report names them). */
  allowRounding?: boolean;
}

export interface ExportResult {
  bytes: Uint8Array;
  dtype: SafetensorsDtype;
  /** The common head size the heads are padded to (0 when the model has no heads). */
  dHead: number;
  /** Weights that were rounded to the dtype (only with allowRounding; otherwise export refuses). */
  rounded: { count: number; examples: string[] };
  tensors: number;
}

export const tensorName = {
  embed: 'embed.W_E',
  pos: 'pos_embed.W_pos',
  unembed: 'unembed.W_U',
  attn: (s: number, l: number, w: 'W_Q' | 'W_K' | 'W_V' | 'W_O') => `stages.${s}.blocks.${l}.attn.${w}`,
  mlp: (s: number, l: number, w: 'W_in' | 'b_in' | 'W_out' | 'b_out') => `stages.${s}.blocks.${l}.mlp.${w}`,
};

function spaceJson(s: Space): SubspaceJson[] {
  return s.parts.map((p) => {
    const out: SubspaceJson = { name: p.name, size: p.size };
    if (p.describe) out.describe = p.describe;
    const defaults = p.size === 1 ? [p.name] : Array.from({ length: p.size }, (_, i) => `${p.name}[${i}]`);
    if (p.labels.some((l, i) => l !== defaults[i])) out.labels = [...p.labels];
    return out;
  });
}

/** The model as a safetensors file (see the top of this module for the layout). */
export function modelToSafetensors(model: Model, options: ExportOptions = {}): ExportResult {
  validateForFile(model, 'export:'); // what the reader would refuse is not written
  const dtype = options.dtype ?? 'F64';
  if (dtype !== 'F64' && dtype !== 'F32') throw new ModelError(`export: dtype "${String(dtype)}" is not F64 or F32`);
  const d = model.residual.dim;
  const heads = model.stages.flatMap((s) => s.layers.flatMap((l) => l.heads));
  const dHead = Math.max(0, ...heads.map((h) => Math.max(h.qk.dim, h.ov.dim)));
  const rounded = { count: 0, examples: [] as string[] };
  const roundingCheck = (m: LabeledMatrix, tensor: string) => {
    for (let k = 0; k < m.data.length; k++) {
      const v = m.data[k];
      const exact = m.inexact.get(k);
      let lost = exact !== undefined;
      if (dtype === 'F32' && !lost) {
        const f = Math.fround(v);
        if (!Number.isFinite(f)) {
          throw new ModelError(`export: ${tensor} entry (${m.rows.labels[Math.floor(k / m.cols.dim)]}, ${m.cols.labels[k % m.cols.dim]}) = ${v} overflows F32`);
        }
        lost = f !== v;
      }
      if (!lost) continue;
      rounded.count++;
      if (rounded.examples.length < 5) {
        const r = Math.floor(k / m.cols.dim);
        const c = k % m.cols.dim;
        const value = exact !== undefined ? formatRational(exact) : String(v);
        rounded.examples.push(`${tensor} (${m.rows.labels[r]}, ${m.cols.labels[c]}) = ${value} → ${dtype === 'F32' ? Math.fround(v) : v}`);
      }
    }
  };
  const tensors: TensorOut[] = [];
  const plain = (name: string, m: LabeledMatrix, vector = false) => {
    roundingCheck(m, name);
    tensors.push({ name, shape: vector ? [m.cols.dim] : [m.rows.dim, m.cols.dim], data: m.data });
  };
  plain(tensorName.embed, model.W_E);
  plain(tensorName.pos, model.W_pos);
  plain(tensorName.unembed, model.W_U);
  model.stages.forEach((stage, s) => {
    stage.layers.forEach((layer, l) => {
      const H = layer.heads.length;
      if (H > 0) {
        // W_Q, W_K, W_V: [H, d, d_head] with columns past the head's own size zero; W_O: [H, d_head, d].
        for (const w of ['W_Q', 'W_K', 'W_V'] as const) {
          const data = new Float64Array(H * d * dHead);
          layer.heads.forEach((h, k) => {
            const m = h[w];
            roundingCheck(m, `${tensorName.attn(s, l, w)} head ${k} '${h.name}'`);
            const n = m.cols.dim;
            for (let r = 0; r < d; r++) for (let c = 0; c < n; c++) data[(k * d + r) * dHead + c] = m.data[r * n + c];
          });
          tensors.push({ name: tensorName.attn(s, l, w), shape: [H, d, dHead], data });
        }
        const data = new Float64Array(H * dHead * d);
        layer.heads.forEach((h, k) => {
          roundingCheck(h.W_O, `${tensorName.attn(s, l, 'W_O')} head ${k} '${h.name}'`);
          data.set(h.W_O.data, k * dHead * d); // rows past the head's value size stay zero
        });
        tensors.push({ name: tensorName.attn(s, l, 'W_O'), shape: [H, dHead, d], data });
      }
      if (layer.mlp) {
        plain(tensorName.mlp(s, l, 'W_in'), layer.mlp.W_in);
        plain(tensorName.mlp(s, l, 'b_in'), layer.mlp.b_in.matrix, true);
        plain(tensorName.mlp(s, l, 'W_out'), layer.mlp.W_out);
        plain(tensorName.mlp(s, l, 'b_out'), layer.mlp.b_out.matrix, true);
      }
    });
  });
  if (rounded.count > 0 && !options.allowRounding) {
    throw new ModelError(
      `export: ${rounded.count} weight${rounded.count === 1 ? '' : 's'} cannot be stored exactly as ${dtype} (first: ${rounded.examples[0]}); ` +
        `allow rounding (--allow-rounding) to write the nearest ${dtype}, or use --format json, which keeps exact rationals`,
    );
  }
  const metadata: Record<string, string> = {
    format: MODEL_FORMAT,
    name: model.name,
    description: model.description,
    readout: model.readout,
    vocab: JSON.stringify(model.vocab.labels),
    residual_labels: JSON.stringify(spaceJson(model.residual)),
    stages: JSON.stringify(model.stages.map((s) => ({ loops: s.loops, layers: s.layers.length, mask: maskJson(s.mask), roles: s.layers.map((l) => l.role) }))),
    attention: JSON.stringify(
      model.stages.map((s) =>
        s.layers.map((l) =>
          l.heads.map((h) => ({
            name: h.name,
            role: h.role,
            kind: h.kind,
            scale: isExactAsDouble(h.scale) ? h.scale.valueOf() : formatRational(h.scale),
            causal: h.causal,
            d_qk: h.qk.dim,
            d_ov: h.ov.dim,
            qk: spaceJson(h.qk),
            ov: spaceJson(h.ov),
          })),
        ),
      ),
    ),
    mlp: JSON.stringify(model.stages.map((s) => s.layers.map((l) => (l.mlp ? { name: l.mlp.name, role: l.mlp.role, d_mlp: l.mlp.hidden.dim, hidden: spaceJson(l.mlp.hidden) } : null)))),

  };
  if (model.padding) metadata.padding = JSON.stringify(model.padding);
  return { bytes: writeSafetensors(tensors, metadata, dtype), dtype, dHead, rounded, tensors: tensors.length };
}

function maskJson(mask: Mask | null): Mask | null {
  if (mask === null) return null;
  return mask.describe === undefined ? { expr: mask.expr } : { expr: mask.expr, describe: mask.describe };
}

// ---------------------------------------------------------------- safetensors → models

/** Walks untrusted metadata, naming the path of the first field that is missing or wrong. */
class Meta {
  constructor(
    private readonly value: unknown,
    readonly path: string,
  ) {}

  fail(what: string): never {
    throw new ModelError(`safetensors: ${this.path} ${what}`);
  }
  get raw(): unknown {
    return this.value;
  }
  at(key: string | number): Meta {
    const v = this.value;
    if (typeof key === 'number') {
      if (!Array.isArray(v)) this.fail('must be an array');
      return new Meta(v[key], fieldPath(this.path, key));
    }
    if (!plainObject(v)) this.fail('must be an object');
    return new Meta(Object.hasOwn(v, key) ? v[key] : undefined, fieldPath(this.path, key));
  }
  /** Refuses a field the format does not define (a damaged name must not be skipped silently). */
  only(...fields: string[]): this {
    const v = this.value;
    if (!plainObject(v)) this.fail(v === undefined ? 'is missing (an object)' : `must be an object, got ${short(v)}`);
    for (const key of Object.keys(v as object)) if (!fields.includes(key)) this.at(key).fail(`is not a field of the format here (its fields: ${fields.join(', ')})`);
    return this;
  }
  isNull(): boolean {
    return this.value === null;
  }
  array(length?: number): Meta[] {
    if (!Array.isArray(this.value)) this.fail(this.value === undefined ? 'is missing (an array)' : `must be an array, got ${short(this.value)}`);
    const arr = this.value as unknown[];
    if (length !== undefined && arr.length !== length) this.fail(`has ${arr.length} entries but should have ${length}`);
    return arr.map((_, i) => this.at(i));
  }
  string(): string {
    if (typeof this.value !== 'string') this.fail(this.value === undefined ? 'is missing (a string)' : `must be a string, got ${short(this.value)}`);
    return checkText(this.value as string, (what) => this.fail(what));
  }
  optionalString(): string | undefined {
    return this.value === undefined ? undefined : this.string();
  }
  int(min: number, max: number): number {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(v === undefined ? `is missing (a whole number ${min}..${max})` : `must be a whole number in ${min}..${max}, got ${short(v)}`);
    }
    return v as number;
  }
  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(this.value === undefined ? 'is missing (true or false)' : `must be true or false, got ${short(this.value)}`);
    return this.value as boolean;
  }
  oneOf<T extends string>(options: readonly T[]): T {
    const s = this.string();
    if (!options.includes(s as T)) this.fail(`must be one of ${options.join(', ')}, got "${s}"`);
    return s as T;
  }
}

function metaJson(metadata: Record<string, string>, key: string): Meta {
  const text = metadata[key];
  const root = `__metadata__.${key}`;
  if (text === undefined) fail(`${root} is missing`);
  const value: Json = parseStrictJson(text, fail, { root });
  return new Meta(value, root);
}

function metaString(metadata: Record<string, string>, key: string): string {
  const text = metadata[key];
  if (text === undefined) fail(`__metadata__.${key} is missing`);
  return checkText(text, (what) => fail(`__metadata__.${key} ${what}`));
}

/** Subspaces from metadata; sizes are checked against `dim` BEFORE any label is made. */
function readSpace(m: Meta, dim: number, what: string): Space {
  const parts = m.array();
  const sizes = parts.map((p) => p.at('size').int(0, MAX_DIM));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== dim) m.fail(`sizes add up to ${total} but ${what} is ${dim}`);
  const specs = parts.map((p, k) => {
    p.only('name', 'size', 'describe', 'labels');
    const name = p.at('name').string();
    const spec: SubspaceSpec = { size: sizes[k], describe: p.at('describe').optionalString() };
    const labels = p.at('labels');
    if (labels.raw !== undefined) {
      spec.labels = labels.array(sizes[k]).map((l) => l.string());
    }
    return { name, spec };
  });
  try {
    return new Space(specs);
  } catch (e) {
    return m.fail((e as Error).message);
  }
}

function spaceDim(m: Meta): number {
  return m.array().reduce((a, p) => a + p.at('size').int(0, MAX_DIM), 0);
}

function scaleOf(m: Meta): string | number {
  return readWeight(m.raw, 'a scale', (message) => m.fail(message));
}

/** Reads a model from safetensors bytes; every problem is a ModelError that names the tensor or field. */
export function loadSafetensors(bytes: Uint8Array): Model {
  const file = parseSafetensors(bytes);
  const md = file.metadata;
  for (const key of Object.keys(md)) {
    if (!(METADATA_FIELDS as readonly string[]).includes(key)) fail(`${fieldPath('__metadata__', key)} is not a field of the format (its fields: ${METADATA_FIELDS.join(', ')})`);
  }
  const format = metaString(md, 'format');
  if (format !== MODEL_FORMAT) fail(`__metadata__.format is ${short(format)}; this version reads "${MODEL_FORMAT}"`);
  const name = metaString(md, 'name');
  const description = metaString(md, 'description');
  const readout = metaString(md, 'readout');
  if (readout !== 'last' && readout !== 'all') fail(`__metadata__.readout must be "last" or "all", got ${short(readout)}`);

  const used = new Set<string>();
  const tensor = (tname: string, shape: readonly (number | null)[], what: string): Tensor => {
    const t = file.tensors.get(tname);
    if (t === undefined) return fail(`tensor "${tname}" is missing (${what})`);
    used.add(tname);
    const ok = t.shape.length === shape.length && t.shape.every((x, i) => shape[i] === null || shape[i] === x);
    if (!ok) {
      fail(`tensor "${tname}" has shape [${t.shape.join(', ')}] but the metadata says [${shape.map((x) => x ?? '*').join(', ')}] (${what})`);
    }
    return t;
  };

  const vocabMeta = metaJson(md, 'vocab');
  const vocab = vocabMeta.array().map((t) => t.string());
  if (vocab.length === 0) vocabMeta.fail('is empty');
  if (vocab.length > MAX_DIM) vocabMeta.fail(`has ${vocab.length} tokens, over the limit ${MAX_DIM}`);
  const seen = new Set<string>();
  for (const t of vocab) {
    if (seen.has(t)) vocabMeta.fail(`repeats the token ${short(t)}`);
    seen.add(t);
  }
  const V = vocab.length;
  const residualMeta = metaJson(md, 'residual_labels');
  const d = spaceDim(residualMeta);
  if (d === 0) residualMeta.fail('describe a residual stream of width 0');
  // Shapes first (they are bounded by the file's size), labels after.
  const tE = tensor(tensorName.embed, [V, d], `vocab (${V}) × residual_labels (${d})`);
  const tPos = tensor(tensorName.pos, [null, d], `positions × residual_labels (${d})`);
  const tU = tensor(tensorName.unembed, [d, V], `residual_labels (${d}) × vocab (${V})`);
  const N = tPos.shape[0];
  if (N < 1 || N > MAX_DIM) fail(`tensor "${tensorName.pos}" covers ${N} positions; it must be 1..${MAX_DIM}`);
  const residual = readSpace(residualMeta, d, 'the residual width');
  let padding: PromptPadding | undefined;
  if (md.padding !== undefined) {
    const pm = metaJson(md, 'padding').only('promptLength', 'token', 'count');
    padding = { promptLength: pm.at('promptLength').int(1, MAX_DIM), token: pm.at('token').string(), count: pm.at('count').int(0, MAX_DIM) };
  }
  const stagesMeta = metaJson(md, 'stages').array();
  const attention = metaJson(md, 'attention').array(stagesMeta.length);
  const mlps = metaJson(md, 'mlp').array(stagesMeta.length);
  checkSizes(stagesMeta, attention, mlps, V, d, N);
  const model = createModel({ name, description, vocab, residual, maxLen: N, readout: readout as 'last' | 'all', padding });
  fill(model.W_E, tE, tensorName.embed);
  fill(model.W_pos, tPos, tensorName.pos);
  fill(model.W_U, tU, tensorName.unembed);

  stagesMeta.forEach((sm, s) => {
    sm.only('loops', 'layers', 'mask', 'roles');
    const loops = sm.at('loops').int(0, MAX_DIM);
    const count = sm.at('layers').int(0, MAX_DIM);
    let mask: Mask | null = null;
    const mm = sm.at('mask');
    if (mm.raw === undefined) mm.fail('is missing (null or {expr})');
    if (!mm.isNull()) {
      mm.only('expr', 'describe');
      const describe = mm.at('describe').optionalString();
      mask = describe === undefined ? { expr: mm.at('expr').string() } : { expr: mm.at('expr').string(), describe };
      checkMask(mask, `safetensors: ${mm.at('expr').path}`);
    }
    const roles = sm.at('roles').array(count).map((r) => r.string());
    const headsMeta = attention[s].array(count);
    const mlpMeta = mlps[s].array(count);
    const layers: Layer[] = headsMeta.map((hm, l) => {
      const heads = readHeads(hm, s, l, residual, tensor);
      const mlp = mlpMeta[l].isNull() ? null : readMlp(mlpMeta[l], s, l, residual, tensor);
      return { heads, mlp, role: roles[l] };
    });
    model.stages.push({ layers, loops, mask });
  });
  for (const tname of file.tensors.keys()) {
    if (!used.has(tname)) fail(`tensor "${tname}" is not part of the model the metadata describes`);
  }
  try {
    validateModel(model); // masks, duplicate head names: what the reader does not check itself
  } catch (e) {
    if (e instanceof ModelError) fail(e.message);
    throw e;
  }
  return model;
}

/**
 * The loop counts and layer sizes the metadata declares, against the work budget before anything
 * is built (the weights themselves are bounded by the file: every tensor's bytes are in it).
 */
function checkSizes(stages: Meta[], attention: Meta[], mlps: Meta[], vocab: number, width: number, positions: number): void {
  const declared = stages.map((sm, s) => {
    sm.only('loops', 'layers', 'mask', 'roles');
    const count = sm.at('layers').int(0, MAX_DIM);
    const heads = attention[s].array(count);
    const mlp = mlps[s].array(count);
    return {
      loops: sm.at('loops').int(0, MAX_DIM),
      layers: heads.map((hm, l) => ({
        heads: hm.array().map((h) => {
          h.only('name', 'role', 'kind', 'scale', 'causal', 'd_qk', 'd_ov', 'qk', 'ov');
          return { qk: h.at('d_qk').int(0, MAX_DIM), ov: h.at('d_ov').int(0, MAX_DIM) };
        }),
        mlp: mlp[l].isNull() ? null : mlp[l].only('name', 'role', 'd_mlp', 'hidden').at('d_mlp').int(0, MAX_DIM),
      })),
    };
  });
  checkDeclaredSizes({ vocab, width, positions, stages: declared }, 'safetensors:', {
    W_pos: tensorName.pos,
    stage: (s) => `__metadata__.stages[${s}]`,
    head: (s, l, h) => `__metadata__.attention[${s}][${l}][${h}]`,
    mlp: (s, l) => `__metadata__.mlp[${s}][${l}]`,
  });
}

type TensorGetter = (name: string, shape: readonly (number | null)[], what: string) => Tensor;

function readHeads(m: Meta, s: number, l: number, residual: Space, tensor: TensorGetter): Head[] {
  const list = m.array();
  if (list.length === 0) return [];
  const H = list.length;
  const d = residual.dim;
  const dims = list.map((h) => {
    h.only('name', 'role', 'kind', 'scale', 'causal', 'd_qk', 'd_ov', 'qk', 'ov');
    const qk = spaceDim(h.at('qk'));
    const ov = spaceDim(h.at('ov'));
    if (h.at('d_qk').int(0, MAX_DIM) !== qk) h.at('d_qk').fail(`is ${h.at('d_qk').raw} but the qk subspaces add up to ${qk}`);
    if (h.at('d_ov').int(0, MAX_DIM) !== ov) h.at('d_ov').fail(`is ${h.at('d_ov').raw} but the ov subspaces add up to ${ov}`);
    return { qk, ov };
  });
  const tq = tensor(tensorName.attn(s, l, 'W_Q'), [H, d, null], `${H} heads × residual (${d}) × d_head`);
  const dHead = tq.shape[2];
  if (dHead > MAX_DIM) fail(`tensor "${tensorName.attn(s, l, 'W_Q')}" has d_head ${dHead}, over the limit ${MAX_DIM}`);
  const tk = tensor(tensorName.attn(s, l, 'W_K'), [H, d, dHead], `${H} heads × residual (${d}) × d_head (${dHead})`);
  const tv = tensor(tensorName.attn(s, l, 'W_V'), [H, d, dHead], `${H} heads × residual (${d}) × d_head (${dHead})`);
  const to = tensor(tensorName.attn(s, l, 'W_O'), [H, dHead, d], `${H} heads × d_head (${dHead}) × residual (${d})`);
  return list.map((hm, k) => {
    const { qk, ov } = dims[k];
    const hname = hm.at('name').string();
    const at = `head ${k} '${hname}'`;
    if (qk > dHead) hm.at('qk').fail(`has ${qk} directions but the attn tensors' d_head is ${dHead}`);
    if (ov > dHead) hm.at('ov').fail(`has ${ov} directions but the attn tensors' d_head is ${dHead}`);
    const h = createHead(
      residual,
      {
        name: hname,
        role: hm.at('role').string(),
        kind: hm.at('kind').oneOf(['softmax', 'hard'] as const),
        scale: scaleOf(hm.at('scale')),
        causal: hm.at('causal').boolean(),
        qk: readSpace(hm.at('qk'), qk, 'd_qk'),
        ov: readSpace(hm.at('ov'), ov, 'd_ov'),
      },
      `stage ${s}, layer ${l}, head '${hname}'`,
    );
    fillPadded(h.W_Q, tq, tensorName.attn(s, l, 'W_Q'), at, k, 'cols');
    fillPadded(h.W_K, tk, tensorName.attn(s, l, 'W_K'), at, k, 'cols');
    fillPadded(h.W_V, tv, tensorName.attn(s, l, 'W_V'), at, k, 'cols');
    fillPadded(h.W_O, to, tensorName.attn(s, l, 'W_O'), at, k, 'rows');
    return h;
  });
}

function readMlp(m: Meta, s: number, l: number, residual: Space, tensor: TensorGetter): Mlp {
  const d = residual.dim;
  m.only('name', 'role', 'd_mlp', 'hidden');
  const h = spaceDim(m.at('hidden'));
  if (m.at('d_mlp').int(0, MAX_DIM) !== h) m.at('d_mlp').fail(`is ${m.at('d_mlp').raw} but the hidden subspaces add up to ${h}`);
  const tin = tensor(tensorName.mlp(s, l, 'W_in'), [d, h], `residual (${d}) × d_mlp (${h})`);
  const tbin = tensor(tensorName.mlp(s, l, 'b_in'), [h], `d_mlp (${h})`);
  const tout = tensor(tensorName.mlp(s, l, 'W_out'), [h, d], `d_mlp (${h}) × residual (${d})`);
  const tbout = tensor(tensorName.mlp(s, l, 'b_out'), [d], `residual (${d})`);
  const mname = m.at('name').string();
  const mlp = createMlp(residual, { name: mname, role: m.at('role').string(), hidden: readSpace(m.at('hidden'), h, 'd_mlp') }, `stage ${s}, layer ${l}, mlp '${mname}'`);
  fill(mlp.W_in, tin, tensorName.mlp(s, l, 'W_in'));
  fill(mlp.b_in.matrix, tbin, tensorName.mlp(s, l, 'b_in'));
  fill(mlp.W_out, tout, tensorName.mlp(s, l, 'W_out'));
  fill(mlp.b_out.matrix, tbout, tensorName.mlp(s, l, 'b_out'));
  return mlp;
}

function notFinite(tname: string, m: LabeledMatrix, r: number, c: number, v: number, where = ''): never {
  const row = m.rows.labels[r] === 'bias' ? '' : `${m.rows.labels[r]}, `;
  return fail(`tensor "${tname}"${where ? ` ${where}` : ''} entry (${row}${m.cols.labels[c]}) is ${v}; weights must be finite`);
}

/** Copies a 2-D (or, for a bias, 1-D) tensor into a matrix, refusing NaN and infinities. */
function fill(m: LabeledMatrix, t: Tensor, tname: string): void {
  const nc = m.cols.dim;
  for (let k = 0; k < t.data.length; k++) {
    const v = t.data[k];
    if (!Number.isFinite(v)) notFinite(tname, m, Math.floor(k / nc), k % nc, v);
  }
  m.data.set(t.data);
}

/**
 * Copies head k of a stacked [H, d, d_head] ('cols' padded) or [H, d_head, d] ('rows' padded)
 * tensor into the head's matrix; the padding past the head's true size must be zero.
 */
function fillPadded(m: LabeledMatrix, t: Tensor, tname: string, at: string, k: number, padded: 'rows' | 'cols'): void {
  const [, R, C] = t.shape;
  if (R === 0 || C === 0) return;
  const base = k * R * C;
  const nr = m.rows.dim;
  const nc = m.cols.dim;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const v = t.data[base + r * C + c];
      const inside = r < nr && c < nc;
      if (!inside) {
        if (v !== 0) {
          const where = padded === 'cols' ? `column ${c} (the head's size is ${nc})` : `row ${r} (the head's size is ${nr})`;
          fail(`tensor "${tname}" ${at}: padding ${where} holds ${v}; padding must be zero`);
        }
        continue;
      }
      if (!Number.isFinite(v)) notFinite(tname, m, r, c, v, at);
      m.data[r * nc + c] = v;
    }
  }
}
