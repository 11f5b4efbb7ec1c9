// Model files ("looped/1"): everything needed to run a model — vocabulary, residual labels,
// embeddings, stages with loop counts and masks, every head and MLP, the readout — as JSON.
// Matrices are sparse lists of [row, col, value]; a value is a JSON number when the entry is
// exactly a double and a rational string ("1/3") when it is not, so exact constructions survive a
// round trip. Loading checks every field and shape and names the first bad one by its path; it
// refuses unknown and repeated fields at every level, and checks the declared sizes against the
// budgets before it allocates (simulators/model-limits.ts).
import { ModelError, ResourceError } from '../common/errors.ts';
import { LabeledMatrix, type LabeledVector } from './matrix.ts';
import { type Head, type Layer, type Mask, type Mlp, type Model, type PromptPadding, checkMask, createHead, createMlp, createModel, validateModel } from './model.ts';
import { MAX_DIM, checkDeclaredSizes, checkText, modelFileLimit, modelFileLimitText, readWeight, validateForFile } from './model-limits.ts';
import { formatRational, isExactAsDouble } from './rational.ts';
import { Space, type SubspaceSpec } from './space.ts';
import { fieldPath, parseStrictJson } from './strict-json.ts';

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

/**
 * A space as the files write it (looped/1 JSON and the safetensors metadata): its subspaces, with
 * labels only where they differ from the default name[i].
 */
export function spaceJson(s: Space): SubspaceJson[] {
  return s.parts.map((p) => {
    const out: SubspaceJson = { name: p.name, size: p.size };
    if (p.describe) out.describe = p.describe;
    const defaults = p.size === 1 ? [p.name] : Array.from({ length: p.size }, (_, i) => `${p.name}[${i}]`);
    if (p.labels.some((l, i) => l !== defaults[i])) out.labels = [...p.labels];
    return out;
  });
}

/** The model as looped/1 JSON, refused (a ModelError) where the reader would refuse the file. */
export function modelToJson(model: Model): ModelJson {
  validateForFile(model, 'model file (writing):');
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

/** A head's scale as the files write it: a number when a double holds it exactly, else "p/q". */
export function scalarJson(h: Head): JsonValue {
  return isExactAsDouble(h.scale) ? h.scale.valueOf() : formatRational(h.scale);
}

export function saveModel(model: Model): string {
  return JSON.stringify(modelToJson(model));
}

// ---------------------------------------------------------------- loading

/** Walks untrusted JSON, naming the path of the first field that is missing, unknown or of the wrong type. */
class Reader {
  constructor(
    private readonly value: unknown,
    readonly path: string,
  ) {}

  fail(what: string): never {
    throw new ModelError(`model file: ${this.path || '(top level)'} ${what}`);
  }
  get raw(): unknown {
    return this.value;
  }
  at(key: string | number): Reader {
    const v = this.value;
    const next = fieldPath(this.path, key);
    if (typeof key === 'number') {
      if (!Array.isArray(v)) this.fail('must be an array');
      return new Reader(v[key], next);
    }
    if (!isObject(v)) this.fail('must be an object');
    // Own fields only: a parsed object may come from JSON.parse, whose objects inherit `constructor`.
    return new Reader(Object.hasOwn(v, key) ? v[key] : undefined, next);
  }
  /** Refuses a field the format does not define (a misspelt or smuggled one must not be skipped silently). */
  only(what: string, fields: readonly string[]): this {
    const v = this.value;
    if (!isObject(v)) this.fail(v === undefined ? `is missing (${what})` : `must be an object (${what})`);
    for (const key of Object.keys(v)) {
      if (!fields.includes(key)) this.at(key).fail(`is not a field of ${what} (its fields: ${fields.join(', ')})`);
    }
    return this;
  }
  /** The field is present and not null (null stands for "none": no mask, no MLP). */
  has(key: string): boolean {
    const v = this.value;
    if (!isObject(v) || !Object.hasOwn(v, key)) return false;
    const x = v[key];
    return x !== undefined && x !== null;
  }
  array(): Reader[] {
    if (!Array.isArray(this.value)) this.fail(this.value === undefined ? 'is missing (an array)' : 'must be an array');
    return this.value.map((_, i) => this.at(i));
  }
  /** An array of exactly `length` items (a shape, a matrix entry). */
  tuple(length: number, what: string): Reader[] {
    const items = this.array();
    if (items.length !== length) this.fail(`must be ${what}, got ${items.length} item${items.length === 1 ? '' : 's'}`);
    return items;
  }
  length(): number {
    if (!Array.isArray(this.value)) this.fail(this.value === undefined ? 'is missing (an array)' : 'must be an array');
    return this.value.length;
  }
  string(): string {
    if (typeof this.value !== 'string') this.fail(this.value === undefined ? 'is missing (a string)' : `must be a string, got ${describe(this.value)}`);
    return checkText(this.value, (what) => this.fail(what));
  }
  optionalString(): string | undefined {
    return this.value === undefined ? undefined : this.string();
  }
  int(min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(v === undefined ? `is missing (a whole number ${min}..${max})` : `must be a whole number in ${min}..${max}, got ${describe(v)}`);
    }
    return v;
  }
  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(this.value === undefined ? 'is missing (true or false)' : `must be true or false, got ${describe(this.value)}`);
    return this.value;
  }
  oneOf<T extends string>(options: readonly T[]): T {
    const s = this.string();
    if (!options.includes(s as T)) this.fail(`must be one of ${options.join(', ')}, got ${describe(s)}`);
    return s as T;
  }
  /** A weight: a finite JSON number or a rational string. */
  scalar(what = 'weights'): number | string {
    return readWeight(this.value, what, (message) => this.fail(message));
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value in an error message: short, and never a deep structure (stringifying one recurses). */
function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isObject(v)) return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

const SUBSPACE_FIELDS = ['name', 'size', 'describe', 'labels'] as const;
const MATRIX_FIELDS = ['shape', 'entries'] as const;

/** The width of a list of subspaces, checking each size, before any label is made. */
function spaceWidth(r: Reader): number {
  let total = 0;
  for (const p of r.array()) total += p.only('a subspace', SUBSPACE_FIELDS).at('size').int(0, MAX_DIM);
  if (total > MAX_DIM) r.fail(`declares a width of ${total.toLocaleString('en-US')}, over the limit of ${MAX_DIM.toLocaleString('en-US')}`);
  return total;
}

function readSpace(r: Reader): Space {
  spaceWidth(r);
  const parts = r.array().map((p) => {
    const name = p.at('name').string();
    const size = p.at('size').int(0, MAX_DIM);
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
  r.only('a matrix', MATRIX_FIELDS);
  const shape = r.at('shape');
  const [rowsR, colsR] = shape.tuple(2, '[rows, cols]');
  const rows = rowsR.int(0);
  const cols = colsR.int(0);
  if (rows !== into.rows.dim || cols !== into.cols.dim) {
    shape.fail(`is [${rows}, ${cols}] but ${into.name} maps [${into.rows.summary()}] (${into.rows.dim}) to [${into.cols.summary()}] (${into.cols.dim})`);
  }
  // Each (row, col) once: two entries for one place would make the file say two things.
  const seen = new Map<number, number>();
  r.at('entries')
    .array()
    .forEach((e, k) => {
      const [rowR, colR, valueR] = e.tuple(3, '[row, col, value]');
      const row = rowR.int(0, rows - 1);
      const col = colR.int(0, cols - 1);
      const at = row * cols + col;
      const before = seen.get(at);
      if (before !== undefined) e.fail(`repeats row ${row}, col ${col} of entries[${before}]; each entry appears once`);
      seen.set(at, k);
      into.setAt(row, col, valueR.scalar());
    });
}

const HEAD_FIELDS = ['name', 'role', 'kind', 'scale', 'causal', 'qk', 'ov', 'W_Q', 'W_K', 'W_V', 'W_O'] as const;
const MLP_FIELDS = ['name', 'role', 'hidden', 'W_in', 'b_in', 'W_out', 'b_out'] as const;
const LAYER_FIELDS = ['role', 'heads', 'mlp'] as const;
const STAGE_FIELDS = ['loops', 'mask', 'layers'] as const;
const MASK_FIELDS = ['expr', 'describe'] as const;
const PADDING_FIELDS = ['promptLength', 'token', 'count'] as const;
const MODEL_FIELDS = ['format', 'name', 'description', 'vocab', 'maxLen', 'readout', 'padding', 'residual', 'W_E', 'W_pos', 'W_U', 'stages'] as const;

function readHead(r: Reader, residual: Space, where: string): Head {
  r.only('a head', HEAD_FIELDS);
  const h = createHead(
    residual,
    {
      name: r.at('name').string(),
      role: r.at('role').optionalString(),
      kind: r.at('kind').oneOf(['softmax', 'hard'] as const),
      scale: r.at('scale').scalar('a scale'),
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
  r.only('an MLP', MLP_FIELDS);
  const m = createMlp(residual, { name: r.at('name').string(), role: r.at('role').optionalString(), hidden: readSpace(r.at('hidden')) }, where);
  readMatrix(r.at('W_in'), m.W_in);
  readMatrix(r.at('b_in'), m.b_in.matrix);
  readMatrix(r.at('W_out'), m.W_out);
  readMatrix(r.at('b_out'), m.b_out.matrix);
  return m;
}

function readPadding(r: Reader): PromptPadding {
  r.only('the padding', PADDING_FIELDS);
  return { promptLength: r.at('promptLength').int(1, MAX_DIM), token: r.at('token').string(), count: r.at('count').int(0, MAX_DIM) };
}

/**
 * Every size the file declares, checked field by field and then against the memory and work
 * budgets, before any space or matrix is built (a few hundred bytes can declare terabytes).
 */
function checkSizes(r: Reader): void {
  const stages = r.at('stages').array().map((sr) => {
    sr.only('a stage', STAGE_FIELDS);
    return {
      loops: sr.at('loops').int(0, MAX_DIM),
      layers: sr.at('layers').array().map((lr) => {
        lr.only('a layer', LAYER_FIELDS);
        const heads = lr.at('heads').array().map((hr) => ({ qk: spaceWidth(hr.only('a head', HEAD_FIELDS).at('qk')), ov: spaceWidth(hr.at('ov')) }));
        return { heads, mlp: lr.has('mlp') ? spaceWidth(lr.at('mlp').only('an MLP', MLP_FIELDS).at('hidden')) : null };
      }),
    };
  });
  const vocab = r.at('vocab').length();
  if (vocab > MAX_DIM) r.at('vocab').fail(`has ${vocab.toLocaleString('en-US')} tokens, over the limit of ${MAX_DIM.toLocaleString('en-US')}`);
  const width = spaceWidth(r.at('residual'));
  checkDeclaredSizes({ vocab, width, positions: r.at('maxLen').int(1, MAX_DIM), stages }, 'model file:', {
    W_pos: 'W_pos',
    stage: (s) => `stages[${s}]`,
    head: (s, l, h) => `stages[${s}].layers[${l}].heads[${h}]`,
    mlp: (s, l) => `stages[${s}].layers[${l}].mlp`,
  });
}

/**
 * Parses and validates a model file (text or parsed JSON); a ModelError names the first bad field
 * (a ResourceError the sizes that do not fit the budget). Text is parsed by the strict parser:
 * repeated keys are refused and objects have no prototype.
 */
export function loadModel(source: string | unknown): Model {
  let value: unknown = source;
  if (typeof source === 'string') {
    if (source.length > modelFileLimit()) throw new ResourceError(`model file: ${source.length.toLocaleString('en-US')} characters is over ${modelFileLimitText()}`);
    value = parseStrictJson(source, (message) => {
      throw new ModelError(`model file: ${message}`);
    });
  }
  const r = new Reader(value, '');
  r.only('a looped/1 model file', MODEL_FIELDS);
  const format = r.at('format').string();
  if (format !== MODEL_FORMAT) r.at('format').fail(`is ${describe(format)}; this version reads "${MODEL_FORMAT}"`);
  checkSizes(r);
  const vocab = r.at('vocab').array().map((t) => t.string());
  if (vocab.length === 0) r.at('vocab').fail('is empty');
  const dup = vocab.find((t, i) => vocab.indexOf(t) !== i);
  if (dup !== undefined) r.at('vocab').fail(`repeats the token ${describe(dup)}`);
  const residual = readSpace(r.at('residual'));
  const model = createModel({
    name: r.at('name').string(),
    description: r.at('description').optionalString(),
    vocab,
    residual,
    maxLen: r.at('maxLen').int(1, MAX_DIM),
    readout: r.at('readout').oneOf(['last', 'all'] as const),
    padding: r.has('padding') ? readPadding(r.at('padding')) : undefined,
  });
  readMatrix(r.at('W_E'), model.W_E);
  readMatrix(r.at('W_pos'), model.W_pos);
  readMatrix(r.at('W_U'), model.W_U);
  r.at('stages').array().forEach((sr, s) => {
    const loops = sr.at('loops').int(0, MAX_DIM);
    let mask: Mask | null = null;
    if (sr.has('mask')) {
      const mr = sr.at('mask').only('a mask', MASK_FIELDS);
      const describeText = mr.at('describe').optionalString();
      mask = describeText === undefined ? { expr: mr.at('expr').string() } : { expr: mr.at('expr').string(), describe: describeText };
      checkMask(mask, `model file: ${mr.at('expr').path}`);
    }
    const layers: Layer[] = sr.at('layers').array().map((lr, l) => {
      const heads = lr.at('heads').array().map((hr) => readHead(hr, residual, `stage ${s}, layer ${l}, head '${hr.at('name').string()}'`));
      const mlp = lr.has('mlp') ? readMlp(lr.at('mlp'), residual, `stage ${s}, layer ${l}, mlp`) : null;
      return { heads, mlp, role: lr.at('role').optionalString() ?? '' };
    });
    model.stages.push({ layers, loops, mask });
  });
  validateModel(model); // duplicate head names, and anything the reader does not check
  return model;
}
