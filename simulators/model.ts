// The model: embeddings, stages of looped blocks, heads and MLPs, and the readout — exactly the
// residual network of the paper's Section 5 (no layer norm, no 1/√d scaling, causal softmax or
// average-hard attention, ReLU MLPs, per-loop masks of Def. B.3/B.4).
import { InputError, ModelError } from '../common/errors.ts';
import { checkMask } from './mask.ts';
import { LabeledMatrix, LabeledVector } from './matrix.ts';
import { type Rational, type Scalar, rationalToNumber, toRational } from './rational.ts';
import { Space, type SubspaceSpec, labeledSpace, space } from './space.ts';

export type AttentionKind = 'softmax' | 'hard';

export interface Head {
  readonly name: string;
  /** One line on what the head does ("copies g_j from the first source position"). */
  readonly role: string;
  readonly kind: AttentionKind;
  /** Scores are scale·⟨q_i, k_j⟩; the paper uses no 1/√d, so the default is 1. */
  readonly scale: Rational;
  readonly causal: boolean;
  /** The query/key space and the value space of the head (they may differ in size). */
  readonly qk: Space;
  readonly ov: Space;
  readonly W_Q: LabeledMatrix; // residual → qk   (q_i = x_i W_Q)
  readonly W_K: LabeledMatrix; // residual → qk
  readonly W_V: LabeledMatrix; // residual → ov
  readonly W_O: LabeledMatrix; // ov → residual
}

export interface Mlp {
  readonly name: string;
  readonly role: string;
  /** Hidden units, grouped into named subspaces that say what each group computes. */
  readonly hidden: Space;
  readonly W_in: LabeledMatrix; // residual → hidden
  readonly b_in: LabeledVector; // hidden
  readonly W_out: LabeledMatrix; // hidden → residual
  readonly b_out: LabeledVector; // residual
}

/** Attention (the sum of its heads) then MLP, each with its residual connection; either may be absent. */
export interface Layer {
  readonly heads: Head[];
  mlp: Mlp | null;
  role: string;
}

/**
 * M^t(i) of Def. B.3/B.4 as a mathjs expression, true where position i is recomputed in loop t.
 * Scope: i (0-based position), t (1-based loop within the stage), T (loops of the stage),
 * len (sequence length). Example for Thm 5.4 with n = 5: "i + 1 - t >= 5".
 */
export interface Mask {
  readonly expr: string;
  readonly describe?: string;
}

/** A block of layers applied `loops` times: (k ⊗ L) is one stage; (4 ⊗ 1,4,1) is three. */
export interface Stage {
  readonly layers: Layer[];
  loops: number;
  mask: Mask | null;
}

export type ReadoutMode = 'last' | 'all';

/**
 * The input a model was compiled for, when it is not just the user's prompt: Theorem 5.4's looped
 * model reads (v, #^m), n prompt tokens then m copies of a start token. `looped run --model`
 * appends the padding itself, so the user gives v only.
 */
export interface PromptPadding {
  /** n: the prompt length the model was compiled for. */
  readonly promptLength: number;
  /** The vocabulary entry appended (#). */
  readonly token: string;
  /** m: how many are appended. */
  readonly count: number;
}

export interface Model {
  readonly name: string;
  readonly description: string;
  readonly vocab: Space;
  readonly residual: Space;
  readonly positions: Space;
  readonly W_E: LabeledMatrix; // vocab → residual
  readonly W_pos: LabeledMatrix; // positions → residual
  readonly W_U: LabeledMatrix; // residual → vocab
  readonly stages: Stage[];
  readout: ReadoutMode;
  /** Set on compiled models whose input is the prompt plus padding (Theorem 5.4); absent otherwise. */
  padding?: PromptPadding;
}

export interface ModelSpec {
  name: string;
  description?: string;
  vocab: readonly string[];
  residual: Space;
  /** Longest sequence the position embedding covers. */
  maxLen: number;
  readout?: ReadoutMode;
  padding?: PromptPadding;
}

export function createModel(spec: ModelSpec): Model {
  if (spec.vocab.length === 0) throw new ModelError(`model "${spec.name}": the vocabulary is empty`);
  if (new Set(spec.vocab).size !== spec.vocab.length) throw new ModelError(`model "${spec.name}": the vocabulary repeats a token`);
  if (!Number.isInteger(spec.maxLen) || spec.maxLen < 1) {
    throw new ModelError(`model "${spec.name}": maxLen is ${spec.maxLen}; it must be a whole number ≥ 1`);
  }
  const vocab = labeledSpace('vocab', spec.vocab, 'one direction per token');
  const positions = labeledSpace('positions', Array.from({ length: spec.maxLen }, (_, i) => `pos${i}`), 'one row per position');
  return {
    name: spec.name,
    description: spec.description ?? '',
    vocab,
    residual: spec.residual,
    positions,
    W_E: new LabeledMatrix('embed.W_E', vocab, spec.residual),
    W_pos: new LabeledMatrix('pos_embed.W_pos', positions, spec.residual),
    W_U: new LabeledMatrix('unembed.W_U', spec.residual, vocab),
    stages: [],
    readout: spec.readout ?? 'last',
    ...(spec.padding ? { padding: spec.padding } : {}),
  };
}

export function maxLen(model: Model): number {
  return model.positions.dim;
}

export interface HeadSpec {
  name: string;
  role?: string;
  kind?: AttentionKind;
  scale?: Scalar;
  causal?: boolean;
  qk: Space | number | Record<string, number | SubspaceSpec>;
  /** Defaults to the query/key space's shape. */
  ov?: Space | number | Record<string, number | SubspaceSpec>;
}

function asSpace(s: Space | number | Record<string, number | SubspaceSpec>, name: string): Space {
  if (s instanceof Space) return s;
  if (typeof s === 'number') return space({ [name]: s });
  return space(s);
}

/** A head with zero weights, to be written between named subspaces. `where` names it in errors. */
export function createHead(residual: Space, spec: HeadSpec, where = `head '${spec.name}'`): Head {
  const qk = asSpace(spec.qk, 'qk');
  const ov = spec.ov === undefined ? qk : asSpace(spec.ov, 'ov');
  return {
    name: spec.name,
    role: spec.role ?? '',
    kind: spec.kind ?? 'hard',
    scale: toRational(spec.scale ?? 1),
    causal: spec.causal ?? true,
    qk,
    ov,
    W_Q: new LabeledMatrix(`${where} W_Q`, residual, qk),
    W_K: new LabeledMatrix(`${where} W_K`, residual, qk),
    W_V: new LabeledMatrix(`${where} W_V`, residual, ov),
    W_O: new LabeledMatrix(`${where} W_O`, ov, residual),
  };
}

export interface MlpSpec {
  name: string;
  role?: string;
  hidden: Space | number | Record<string, number | SubspaceSpec>;
}

export function createMlp(residual: Space, spec: MlpSpec, where = `mlp '${spec.name}'`): Mlp {
  const hidden = asSpace(spec.hidden, 'hidden');
  return {
    name: spec.name,
    role: spec.role ?? '',
    hidden,
    W_in: new LabeledMatrix(`${where} W_in`, residual, hidden),
    b_in: new LabeledVector(`${where} b_in`, hidden),
    W_out: new LabeledMatrix(`${where} W_out`, hidden, residual),
    b_out: new LabeledVector(`${where} b_out`, residual),
  };
}

export function createLayer(role = ''): Layer {
  return { heads: [], mlp: null, role };
}

export function addStage(model: Model, layers: Layer[], loops: number, mask: Mask | null = null): Stage {
  const stage: Stage = { layers, loops, mask };
  model.stages.push(stage);
  return stage;
}

// ---------------------------------------------------------------- validation

const validated = new WeakSet<Model>();

/** Checks every shape, loop count and mask; throws a ModelError naming the first problem. */
function validatePadding(model: Model, p: PromptPadding): void {
  const where = `model "${model.name}": padding`;
  if (!Number.isInteger(p.promptLength) || p.promptLength < 1) throw new ModelError(`${where}: promptLength is ${p.promptLength}; it must be a whole number ≥ 1`);
  if (!Number.isInteger(p.count) || p.count < 0) throw new ModelError(`${where}: count is ${p.count}; it must be a whole number ≥ 0`);
  if (!model.vocab.labels.includes(p.token)) throw new ModelError(`${where}: token "${p.token}" is not in the vocabulary`);
  if (p.promptLength + p.count > model.positions.dim) {
    throw new ModelError(`${where}: ${p.promptLength} prompt tokens + ${p.count} × "${p.token}" need ${p.promptLength + p.count} positions; the model has ${model.positions.dim}`);
  }
}

/**
 * The model's input for a user's prompt: the prompt itself, or, for a model with padding, the
 * prompt of exactly promptLength tokens followed by the padding. A prompt that already ends in
 * the full padding is accepted as it is.
 */
export function paddedInput(model: Model, prompt: readonly number[]): number[] {
  const p = model.padding;
  if (p === undefined) return [...prompt];
  const pad = model.vocab.labels.indexOf(p.token);
  if (prompt.length === p.promptLength + p.count && prompt.slice(p.promptLength).every((t) => t === pad)) return [...prompt];
  if (prompt.length !== p.promptLength) {
    throw new InputError(
      `"${model.name}" was compiled for prompts of ${p.promptLength} tokens (it appends ${p.count} × "${p.token}" itself); got ${prompt.length} tokens`,
    );
  }
  const at = prompt.indexOf(pad);
  if (at >= 0) throw new InputError(`token "${p.token}" at position ${at} is the padding token, which the prompt may not contain`);
  return [...prompt, ...new Array<number>(p.count).fill(pad)];
}

export function validateModel(model: Model): void {
  const residual = model.residual;
  const expect = (m: LabeledMatrix, rows: Space, cols: Space, where: string) => {
    const bad = (got: Space, want: Space, side: string) =>
      new ModelError(
        `${where}: ${m.name} ${side} are [${got.summary()}] (${got.dim}) but should be [${want.summary()}] (${want.dim})`,
      );
    if (!m.rows.equals(rows)) throw bad(m.rows, rows, 'rows');
    if (!m.cols.equals(cols)) throw bad(m.cols, cols, 'columns');
    for (let k = 0; k < m.data.length; k++) {
      if (!Number.isFinite(m.data[k])) {
        const r = Math.floor(k / m.cols.dim);
        const c = k % m.cols.dim;
        throw new ModelError(`${where}: ${m.name} entry (${m.rows.labels[r]}, ${m.cols.labels[c]}) is ${m.data[k]}; weights must be finite`);
      }
    }
  };
  expect(model.W_E, model.vocab, residual, 'embedding');
  expect(model.W_pos, model.positions, residual, 'position embedding');
  expect(model.W_U, residual, model.vocab, 'readout');
  if (model.padding !== undefined) validatePadding(model, model.padding);
  if (model.stages.length === 0) {
    // A model with no stages is legal (embedding straight to readout) but almost always a mistake
    // in a construction; it is allowed so unit tests can check the embedding alone.
  }
  model.stages.forEach((stage, s) => {
    if (!Number.isInteger(stage.loops) || stage.loops < 0) {
      throw new ModelError(`stage ${s}: loops is ${stage.loops}; it must be a whole number ≥ 0`);
    }
    if (stage.mask !== null) checkMask(stage.mask, `stage ${s}`);
    stage.layers.forEach((layer, l) => {
      const where = `stage ${s}, layer ${l}`;
      const names = new Set<string>();
      for (const h of layer.heads) {
        const at = `${where}, head '${h.name}'`;
        if (names.has(h.name)) throw new ModelError(`${at}: two heads in one layer share the name '${h.name}'`);
        names.add(h.name);
        if (h.kind !== 'softmax' && h.kind !== 'hard') throw new ModelError(`${at}: attention kind "${String(h.kind)}" is not softmax or hard`);
        if (!Number.isFinite(rationalToNumber(h.scale))) throw new ModelError(`${at}: scale is not finite`);
        expect(h.W_Q, residual, h.qk, at);
        expect(h.W_K, residual, h.qk, at);
        expect(h.W_V, residual, h.ov, at);
        expect(h.W_O, h.ov, residual, at);
      }
      if (layer.mlp) {
        const at = `${where}, mlp '${layer.mlp.name}'`;
        expect(layer.mlp.W_in, residual, layer.mlp.hidden, at);
        expect(layer.mlp.b_in.matrix, layer.mlp.b_in.matrix.rows, layer.mlp.hidden, at);
        expect(layer.mlp.W_out, layer.mlp.hidden, residual, at);
        expect(layer.mlp.b_out.matrix, layer.mlp.b_out.matrix.rows, residual, at);
      }
    });
  });
  validated.add(model);
}

/** Validates once per model object (interpreters call this before every run). */
export function ensureValid(model: Model): void {
  if (!validated.has(model)) validateModel(model);
}

/** Call after editing a validated model in place, so the next run checks it again. */
export function invalidate(model: Model): void {
  validated.delete(model);
}

// Masks live in mask.ts; these are the names the rest of the code imports from here.
export { MAX_MASK_LENGTH, checkMask, maskRow } from './mask.ts';

// ---------------------------------------------------------------- sizes and transforms

export interface ModelSizes {
  layersPerBlock: number;
  loops: number;
  width: number;
  mlpWidth: number;
  heads: number;
  headDim: number;
  /** Σ layers × loops over stages: the depth of the unrolled model. */
  depth: number;
  distinctLayers: number;
  /** "(1 ⊗ 3)" or "(4 ⊗ 1,4,1)". */
  shape: string;
  parameters: number;
}

export function modelSizes(model: Model): ModelSizes {
  const layers = model.stages.flatMap((s) => s.layers);
  const heads = layers.flatMap((l) => l.heads);
  const k = model.stages.map((s) => s.layers.length);
  const sameK = k.every((x) => x === k[0]);
  const count = (m: LabeledMatrix) => m.data.length;
  const params =
    count(model.W_E) +
    count(model.W_pos) +
    count(model.W_U) +
    heads.reduce((s, h) => s + count(h.W_Q) + count(h.W_K) + count(h.W_V) + count(h.W_O), 0) +
    layers.reduce((s, l) => s + (l.mlp ? count(l.mlp.W_in) + count(l.mlp.W_out) + l.mlp.b_in.dim + l.mlp.b_out.dim : 0), 0);
  return {
    layersPerBlock: Math.max(0, ...k),
    loops: model.stages.reduce((s, st) => s + st.loops, 0),
    width: model.residual.dim,
    mlpWidth: Math.max(0, ...layers.map((l) => l.mlp?.hidden.dim ?? 0)),
    heads: Math.max(0, ...layers.map((l) => l.heads.length)),
    headDim: Math.max(0, ...heads.map((h) => Math.max(h.qk.dim, h.ov.dim))),
    depth: model.stages.reduce((s, st) => s + st.layers.length * st.loops, 0),
    // A stage may list the same Layer object several times (weights shared), so count objects.
    distinctLayers: new Set(layers).size,
    shape: sameK && k.length > 0 ? `(${k[0]} ⊗ ${model.stages.map((s) => s.loops).join(',')})` : `(${model.stages.map((s) => `${s.layers.length}⊗${s.loops}`).join(', ')})`,
    parameters: params,
  };
}

/** The same weights with other loop counts per stage (one loop fewer, extra loops, …). */
export function withLoops(model: Model, loops: readonly number[]): Model {
  if (loops.length !== model.stages.length) {
    throw new ModelError(`withLoops: the model has ${model.stages.length} stages but ${loops.length} loop counts were given`);
  }
  return { ...model, stages: model.stages.map((s, i) => ({ ...s, loops: loops[i] })) };
}

/** The (kL ⊗ 1) model: every stage's block written out once per loop, sharing weight objects. */
export function unroll(model: Model): Model {
  if (model.stages.some((s) => s.mask !== null)) {
    // An unrolled masked stage would need a per-layer-group mask; masks are per block, so refuse.
    throw new ModelError('unroll: a stage with a loop mask cannot be unrolled into one block');
  }
  const layers = model.stages.flatMap((s) => Array.from({ length: s.loops }, () => s.layers).flat());
  return { ...model, stages: [{ layers, loops: 1, mask: null }] };
}

/**
 * The same model with every head switched to another attention kind and its score scale
 * multiplied by `scaleFactor` — how a hard-attention construction is run as a softmax model
 * ("softmax with scale β"), sharing all weight matrices.
 */
export function withAttention(model: Model, kind: AttentionKind, scaleFactor: Scalar = 1): Model {
  const f = toRational(scaleFactor);
  return {
    ...model,
    stages: model.stages.map((s) => ({
      ...s,
      layers: s.layers.map((l) => ({ ...l, heads: l.heads.map((h) => ({ ...h, kind, scale: h.scale.mul(f) })) })),
    })),
  };
}
