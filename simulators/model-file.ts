// Model files ("looped/1"): everything needed to run a model — vocabulary, residual labels,
// embeddings, stages with loop counts and masks, every head and MLP, the readout — as JSON.
// Matrices are sparse lists of [row, col, value]; a value is a JSON number when the entry is
// exactly a double and a rational string ("1/3") when it is not, so exact constructions survive a
// round trip. Loading checks every field and shape and names the first bad one by its path.
import { ModelError } from './errors.ts';
import { LabeledMatrix, type LabeledVector } from './matrix.ts';
import { type Head, type Layer, type Mask, type Mlp, type Model, type PromptPadding, createHead, createMlp, createModel, validateModel } from './model.ts';
import { formatRational, isExactAsDouble, scalarFromJson } from './rational.ts';
import { Space, type SubspaceSpec } from './space.ts';

export const MODEL_FORMAT = 'looped/1';

export type JsonValue = number | string;
export interface MatrixJson {
  shape: [number, number];
  /** [row, col, value] for every nonzero entry. */
  entries: [number, number, JsonValue][];
}
export interface SubspaceJson {
  name: string;
  size: number;
  describe?: string;
  labels?: string[];
}
export interface HeadJson {
  name: string;
  role?: string;
  kind: 'softmax' | 'hard';
  scale: JsonValue;
  causal: boolean;
  qk: SubspaceJson[];
  ov: SubspaceJson[];
  W_Q: MatrixJson;
  W_K: MatrixJson;
  W_V: MatrixJson;
  W_O: MatrixJson;
}
export interface MlpJson {
  name: string;
  role?: string;
  hidden: SubspaceJson[];
  W_in: MatrixJson;
  b_in: MatrixJson;
  W_out: MatrixJson;
  b_out: MatrixJson;
}
export interface LayerJson {
  role?: string;
  heads: HeadJson[];
  mlp: MlpJson | null;
}
export interface StageJson {
  loops: number;
  mask: Mask | null;
  layers: LayerJson[];
}
export interface ModelJson {
  format: typeof MODEL_FORMAT;
  name: string;
  description?: string;
  vocab: string[];
  maxLen: number;
  readout: 'last' | 'all';
  /** Compiled models that read (v, #^m): `looped run --model` appends the padding (Theorem 5.4). */
  padding?: { promptLength: number; token: string; count: number };
  residual: SubspaceJson[];
  W_E: MatrixJson;
  W_pos: MatrixJson;
  W_U: MatrixJson;
  stages: StageJson[];
}

// ---------------------------------------------------------------- saving

function matrixJson(m: LabeledMatrix): MatrixJson {
  const entries: [number, number, JsonValue][] = [];
  m.rowsSparse().forEach((row, r) => {
    for (const e of row) entries.push([r, e.col, m.inexact.has(r * m.cols.dim + e.col) ? formatRational(e.exact) : e.value]);
  });
  return { shape: [m.rows.dim, m.cols.dim], entries };
}

const vectorJson = (v: LabeledVector) => matrixJson(v.matrix);

function spaceJson(s: Space): SubspaceJson[] {
  return s.parts.map((p) => {
    const out: SubspaceJson = { name: p.name, size: p.size };
    if (p.describe) out.describe = p.describe;
    const defaults = p.size === 1 ? [p.name] : Array.from({ length: p.size }, (_, i) => `${p.name}[${i}]`);
    if (p.labels.some((l, i) => l !== defaults[i])) out.labels = [...p.labels];
    return out;
  });
}

export function modelToJson(model: Model): ModelJson {
  validateModel(model);
  return {
    format: MODEL_FORMAT,
    name: model.name,
    description: model.description || undefined,
    vocab: [...model.vocab.labels],
    maxLen: model.positions.dim,
    readout: model.readout,
    padding: model.padding ? { ...model.padding } : undefined,
    residual: spaceJson(model.residual),
    W_E: matrixJson(model.W_E),
    W_pos: matrixJson(model.W_pos),
    W_U: matrixJson(model.W_U),
    stages: model.stages.map((s) => ({
      loops: s.loops,
      mask: s.mask,
      layers: s.layers.map((l) => ({
        role: l.role || undefined,
        heads: l.heads.map((h) => ({
          name: h.name,
          role: h.role || undefined,
          kind: h.kind,
          scale: scalarJson(h),
          causal: h.causal,
          qk: spaceJson(h.qk),
          ov: spaceJson(h.ov),
          W_Q: matrixJson(h.W_Q),
          W_K: matrixJson(h.W_K),
          W_V: matrixJson(h.W_V),
          W_O: matrixJson(h.W_O),
        })),
        mlp: l.mlp
          ? { name: l.mlp.name, role: l.mlp.role || undefined, hidden: spaceJson(l.mlp.hidden), W_in: matrixJson(l.mlp.W_in), b_in: vectorJson(l.mlp.b_in), W_out: matrixJson(l.mlp.W_out), b_out: vectorJson(l.mlp.b_out) }
          : null,
      })),
    })),
  };
}

function scalarJson(h: Head): JsonValue {
  return isExactAsDouble(h.scale) ? h.scale.valueOf() : formatRational(h.scale);
}

export function saveModel(model: Model): string {
  return JSON.stringify(modelToJson(model));
}

// ---------------------------------------------------------------- loading

/** Walks untrusted JSON, naming the path of the first field that is missing or of the wrong type. */
class Reader {
  constructor(private readonly value: unknown, readonly path: string) {}

  fail(what: string): never {
    throw new ModelError(`model file: ${this.path || '(top level)'} ${what}`);
  }
  at(key: string | number): Reader {
    const v = this.value;
    const next = typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
    if (typeof key === 'number') {
      if (!Array.isArray(v)) this.fail('must be an array');
      return new Reader(v[key], next);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail('must be an object');
    return new Reader((v as Record<string, unknown>)[key], next);
  }
  /** The field is present and not null (null stands for "none": no mask, no MLP). */
  has(key: string): boolean {
    const v = this.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const x = (v as Record<string, unknown>)[key];
    return x !== undefined && x !== null;
  }
  array(): Reader[] {
    if (!Array.isArray(this.value)) this.fail(this.value === undefined ? 'is missing (an array)' : 'must be an array');
    return this.value.map((_, i) => this.at(i));
  }
  string(): string {
    if (typeof this.value !== 'string') this.fail(this.value === undefined ? 'is missing (a string)' : `must be a string, got ${JSON.stringify(this.value)}`);
    return this.value;
  }
  optionalString(): string | undefined {
    return this.value === undefined ? undefined : this.string();
  }
  int(min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(v === undefined ? `is missing (a whole number ${min}..${max})` : `must be a whole number in ${min}..${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(this.value === undefined ? 'is missing (true or false)' : `must be true or false, got ${JSON.stringify(this.value)}`);
    return this.value;
  }
  oneOf<T extends string>(options: readonly T[]): T {
    const s = this.string();
    if (!options.includes(s as T)) this.fail(`must be one of ${options.join(', ')}, got "${s}"`);
    return s as T;
  }
  /** A weight: a finite JSON number or a rational string. */
  scalar(): number | string {
    return scalarFromJson(this.value, (message) => this.fail(message), 'weights');
  }
}

function readSpace(r: Reader): Space {
  const parts = r.array().map((p) => {
    const name = p.at('name').string();
    const size = p.at('size').int(0, 1 << 24);
    const spec: SubspaceSpec = { size, describe: p.at('describe').optionalString() };
    if (p.has('labels')) {
      const labels = p.at('labels').array().map((l) => l.string());
      if (labels.length !== size) p.at('labels').fail(`has ${labels.length} labels but size is ${size}`);
      spec.labels = labels;
    }
    return { name, spec };
  });
  try {
    return new Space(parts);
  } catch (e) {
    return r.fail((e as Error).message);
  }
}

function readMatrix(r: Reader, into: LabeledMatrix): void {
  const shape = r.at('shape');
  const rows = shape.at(0).int(0);
  const cols = shape.at(1).int(0);
  if (rows !== into.rows.dim || cols !== into.cols.dim) {
    shape.fail(`is [${rows}, ${cols}] but ${into.name} maps [${into.rows.summary()}] (${into.rows.dim}) to [${into.cols.summary()}] (${into.cols.dim})`);
  }
  for (const e of r.at('entries').array()) {
    const row = e.at(0).int(0, rows - 1);
    const col = e.at(1).int(0, cols - 1);
    into.setAt(row, col, e.at(2).scalar());
  }
}

function readHead(r: Reader, residual: Space, where: string): Head {
  const h = createHead(
    residual,
    {
      name: r.at('name').string(),
      role: r.at('role').optionalString(),
      kind: r.at('kind').oneOf(['softmax', 'hard'] as const),
      scale: r.at('scale').scalar(),
      causal: r.at('causal').boolean(),
      qk: readSpace(r.at('qk')),
      ov: readSpace(r.at('ov')),
    },
    where,
  );
  readMatrix(r.at('W_Q'), h.W_Q);
  readMatrix(r.at('W_K'), h.W_K);
  readMatrix(r.at('W_V'), h.W_V);
  readMatrix(r.at('W_O'), h.W_O);
  return h;
}

function readMlp(r: Reader, residual: Space, where: string): Mlp {
  const m = createMlp(residual, { name: r.at('name').string(), role: r.at('role').optionalString(), hidden: readSpace(r.at('hidden')) }, where);
  readMatrix(r.at('W_in'), m.W_in);
  readMatrix(r.at('b_in'), m.b_in.matrix);
  readMatrix(r.at('W_out'), m.W_out);
  readMatrix(r.at('b_out'), m.b_out.matrix);
  return m;
}

function readPadding(r: Reader): PromptPadding {
  return { promptLength: r.at('promptLength').int(1, 1 << 20), token: r.at('token').string(), count: r.at('count').int(0, 1 << 20) };
}

/** Parses and validates a model file (text or parsed JSON); a ModelError names the first bad field. */
export function loadModel(source: string | unknown): Model {
  let value: unknown = source;
  if (typeof source === 'string') {
    try {
      value = JSON.parse(source);
    } catch (e) {
      throw new ModelError(`model file is not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = new Reader(value, '');
  const format = r.at('format').string();
  if (format !== MODEL_FORMAT) r.at('format').fail(`is "${format}"; this version reads "${MODEL_FORMAT}"`);
  const vocab = r.at('vocab').array().map((t) => t.string());
  if (vocab.length === 0) r.at('vocab').fail('is empty');
  const dup = vocab.find((t, i) => vocab.indexOf(t) !== i);
  if (dup !== undefined) r.at('vocab').fail(`repeats the token "${dup}"`);
  const residual = readSpace(r.at('residual'));
  const model = createModel({
    name: r.at('name').string(),
    description: r.at('description').optionalString(),
    vocab,
    residual,
    maxLen: r.at('maxLen').int(1, 1 << 20),
    readout: r.at('readout').oneOf(['last', 'all'] as const),
    padding: r.has('padding') ? readPadding(r.at('padding')) : undefined,
  });
  readMatrix(r.at('W_E'), model.W_E);
  readMatrix(r.at('W_pos'), model.W_pos);
  readMatrix(r.at('W_U'), model.W_U);
  r.at('stages').array().forEach((sr, s) => {
    const loops = sr.at('loops').int(0, 1 << 20);
    let mask: Mask | null = null;
    if (sr.has('mask')) mask = { expr: sr.at('mask').at('expr').string(), describe: sr.at('mask').at('describe').optionalString() };
    const layers: Layer[] = sr.at('layers').array().map((lr, l) => {
      const heads = lr.at('heads').array().map((hr) => readHead(hr, residual, `stage ${s}, layer ${l}, head '${hr.at('name').string()}'`));
      const mlp = lr.has('mlp') ? readMlp(lr.at('mlp'), residual, `stage ${s}, layer ${l}, mlp`) : null;
      return { heads, mlp, role: lr.at('role').optionalString() ?? '' };
    });
    model.stages.push({ layers, loops, mask });
  });
  validateModel(model); // masks, duplicate head names, and anything the reader does not check
  return model;
}
