// Safetensors → models: the hostile-input-safe reader. parseSafetensors (format.ts) checks the
// container; this module checks the metadata field by field (naming the path of the first bad one),
// every tensor's shape against it, the declared sizes against the budgets before anything is built,
// and every weight (finite; zero in a head's padding).
import { ModelError } from '../../common/errors.ts';
import type { LabeledMatrix } from '../matrix.ts';
import { type Head, type Layer, type Mask, type Mlp, type Model, type PromptPadding, checkMask, createHead, createMlp, createModel, validateModel } from '../model.ts';
import { MODEL_FORMAT } from '../model-file.ts';
import { MAX_DIM, checkDeclaredSizes, checkText, readWeight } from '../model-limits.ts';
import { Space, type SubspaceSpec } from '../space.ts';
import { type Json, fieldPath, parseStrictJson } from '../strict-json.ts';
import { METADATA_FIELDS, type Tensor, fail, parseSafetensors, plainObject, short, tensorName } from './format.ts';
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
