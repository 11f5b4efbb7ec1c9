// What both model-file formats (looped/1 JSON and safetensors) accept, checked by both readers
// and both writers, so a file `export` writes is a file `run` reads:
//   - every dimension (vocabulary, residual width, positions, a head's sizes, an MLP's width, loops)
//     is at most MAX_DIM, a ModelError naming the field;
//   - the sizes a file declares are checked against the memory budget BEFORE anything is
//     allocated (dense weights and labels), and the work of one run on one position (loops ×
//     layers × multiply-adds) against the work budget: a 436-byte file can declare a terabyte
//     of weights or a billion loops, and is refused up front (a ResourceError naming the largest part);
//   - a file is at most modelFileLimit() bytes;
//   - text a file carries (names, vocabulary, labels, roles, descriptions, masks) holds no control
//     characters: it is printed, and a file must not smuggle terminal escapes;
//   - a weight written as a string is an exact rational (3, -3/4, 0.125) whose value a double can hold.
import { formatBytes, memoryBudget, requireMemory, requireWork } from './budget.ts';
import { ModelError } from '../common/errors.ts';
import { type Model, checkMask, validateModel } from './model.ts';
import { PER_LAYER, PER_POSITION_LAYER } from './preflight.ts';
import { parseRational } from './rational.ts';
import { controlCharacter } from './strict-json.ts';

/** Largest single dimension a model file may declare (a vocabulary, a width, a head, positions, loops). */
export const MAX_DIM = 1 << 20;

/** Model files are read up to an eighth of the memory budget (parsing JSON takes several times the text). */
export const MODEL_FILE_BUDGET_FRACTION = 8;

/** The largest model file read, in bytes: the memory budget (--max-memory) / 8. */
export function modelFileLimit(): number {
  return Math.floor(memoryBudget() / MODEL_FILE_BUDGET_FRACTION);
}

/** The sentence an oversized file's error ends with. */
export function modelFileLimitText(): string {
  return `the limit of ${formatBytes(modelFileLimit())} (1/${MODEL_FILE_BUDGET_FRACTION} of the memory budget; raise it with --max-memory)`;
}

/** The sizes a file declares, read before any space or matrix is built. */
export interface DeclaredSizes {
  vocab: number;
  width: number;
  positions: number;
  stages: { loops: number; layers: { heads: { qk: number; ov: number }[]; mlp: number | null }[] }[];
}

// Bytes of one direction's label (the string and its places in the label arrays), and of one
// matrix or head object beyond its numbers; work of one loop and one layer beyond multiply-adds
// (mask evaluation, the residual copy): the run-time preflight's figures, so a stage of empty
// layers still counts.
const LABEL_BYTES = 64;
const OBJECT_BYTES = 256;
const PER_LOOP_OPS = PER_POSITION_LAYER;
const PER_LAYER_OPS = PER_LAYER;

const n = (x: number) => x.toLocaleString('en-US');

/**
 * Refuses declared sizes that cannot fit, before allocation: `prefix` starts the message
 * ("model file:", "safetensors:"), the parts are named by their fields.
 */
export function checkDeclaredSizes(sizes: DeclaredSizes, prefix: string, names: { W_pos: string; stage: (s: number) => string; head: (s: number, l: number, h: number) => string; mlp: (s: number, l: number) => string }): void {
  const { vocab: V, width: d, positions: N } = sizes;
  let largest = { what: '', bytes: -1 };
  let total = 0;
  const part = (what: string, bytes: number) => {
    total += bytes;
    if (bytes > largest.bytes) largest = { what, bytes };
  };
  part(`the embedding and unembedding (vocab × residual width = ${n(V)} × ${n(d)}, twice)`, 16 * V * d + LABEL_BYTES * (V + d) + 2 * OBJECT_BYTES);
  part(`${names.W_pos} (maxLen × residual width = ${n(N)} × ${n(d)})`, 8 * N * d + LABEL_BYTES * N + OBJECT_BYTES);
  let ops = d * V + 2 * d;
  let busiest = { what: '', ops: -1 };
  sizes.stages.forEach((stage, s) => {
    let perLoop = PER_LOOP_OPS;
    stage.layers.forEach((layer, l) => {
      perLoop += PER_LAYER_OPS + d;
      layer.heads.forEach(({ qk, ov }, h) => {
        part(`${names.head(s, l, h)} (residual width ${n(d)} × qk ${n(qk)}, ov ${n(ov)})`, 8 * d * (2 * qk + 2 * ov) + LABEL_BYTES * (qk + ov) + 4 * OBJECT_BYTES);
        perLoop += d * (2 * qk + 2 * ov) + qk + ov;
      });
      if (layer.mlp !== null) {
        const h = layer.mlp;
        part(`${names.mlp(s, l)} (residual width ${n(d)} × hidden ${n(h)})`, 8 * (2 * d * h + h + d) + LABEL_BYTES * h + 4 * OBJECT_BYTES);
        perLoop += 2 * d * h + h + d;
      }
    });
    const stageOps = perLoop * stage.loops;
    ops += stageOps;
    if (stageOps > busiest.ops) busiest = { what: `${names.stage(s)} (${n(stage.loops)} loops × ${n(stage.layers.length)} layer${stage.layers.length === 1 ? '' : 's'})`, ops: stageOps };
  });
  requireMemory(total, `${prefix} the model this file declares (largest part: ${largest.what})`, 'the sizes the file declares');
  requireWork(ops, `${prefix} one run of the model this file declares, on a single position (${n(sizes.stages.length)} stages; busiest: ${busiest.what})`, 'the loop counts');
}

/** Refuses a string holding a control character; `fail` names the field. */
export function checkText(s: string, fail: (what: string) => never): string {
  const bad = controlCharacter(s);
  if (bad !== undefined) fail(`holds the control character ${bad}; text in a model file may not hold control characters`);
  return s;
}

const RATIONAL = /^[+-]?\d+(?:\/\d+)?$/;
const DECIMAL = /^[+-]?(?:\d+\.\d*|\.\d+)$/;
/** Longest weight string accepted (an exact rational's numerator and denominator together). */
export const MAX_RATIONAL_LENGTH = 2000;

/** A weight from a file: a finite number, or a string holding an exact rational a double can hold. `fail` names the field. */
export function readWeight(v: unknown, what: string, fail: (message: string) => never): number | string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(`is ${v}; ${what} must be finite`);
    return v;
  }
  if (typeof v !== 'string') return fail(v === undefined ? 'is missing (a number or a rational string like "3/4")' : `must be a number or a rational string like "3/4", got ${typeof v === 'object' ? (Array.isArray(v) ? 'an array' : v === null ? 'null' : 'an object') : typeof v}`);
  const shown = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v.length > MAX_RATIONAL_LENGTH) fail(`is a string of ${v.length} characters, over the limit of ${MAX_RATIONAL_LENGTH} for a rational`);
  if (!RATIONAL.test(v) && !DECIMAL.test(v)) fail(`${shown} is not a rational number: write it as 3, -3/4 or 0.125 (no exponent; a double may be a JSON number)`);
  let x: number;
  try {
    x = parseRational(v).valueOf();
  } catch (e) {
    return fail((e as Error).message.split('\n')[0]);
  }
  if (!Number.isFinite(x)) fail(`${shown} is beyond the range of a double; ${what} must be finite`);
  return v;
}

/**
 * The checks a reader applies, applied to a model about to be written (looped/1 JSON or
 * safetensors), so a writer never writes what its reader refuses. `prefix` starts the message.
 */
export function validateForFile(model: Model, prefix: string): void {
  const fail = (where: string) => (what: string): never => {
    throw new ModelError(`${prefix} ${where} ${what}`);
  };
  const dim = (value: number, where: string) => {
    if (value > MAX_DIM) fail(where)(`is ${n(value)}, over the limit of ${n(MAX_DIM)}`);
  };
  checkText(model.name, fail('the name'));
  checkText(model.description, fail('the description'));
  const space = (sp: { parts: readonly { name: string; describe: string; labels: readonly string[] }[]; dim: number }, where: string) => {
    dim(sp.dim, `${where} (its width)`);
    for (const p of sp.parts) {
      checkText(p.name, fail(`${where} subspace name`));
      checkText(p.describe, fail(`${where} subspace "${p.name}" describe`));
      for (const l of p.labels) checkText(l, fail(`${where} subspace "${p.name}" label`));
    }
  };
  space(model.vocab, 'the vocabulary');
  space(model.residual, 'the residual');
  dim(model.positions.dim, 'maxLen');
  if (model.padding) checkText(model.padding.token, fail('the padding token'));
  model.stages.forEach((st, s) => {
    dim(st.loops, `stage ${s} loops`);
    if (st.mask !== null) {
      checkMask(st.mask, `${prefix} stage ${s}`);
      if (st.mask.describe !== undefined) checkText(st.mask.describe, fail(`stage ${s} mask describe`));
    }
    st.layers.forEach((layer, l) => {
      const at = `stage ${s}, layer ${l}`;
      checkText(layer.role, fail(`${at} role`));
      for (const h of layer.heads) {
        checkText(h.name, fail(`${at} head name`));
        checkText(h.role, fail(`${at}, head '${h.name}' role`));
        space(h.qk, `${at}, head '${h.name}' qk`);
        space(h.ov, `${at}, head '${h.name}' ov`);
      }
      if (layer.mlp) {
        checkText(layer.mlp.name, fail(`${at} mlp name`));
        checkText(layer.mlp.role, fail(`${at}, mlp '${layer.mlp.name}' role`));
        space(layer.mlp.hidden, `${at}, mlp '${layer.mlp.name}' hidden`);
      }
    });
  });
  checkDeclaredSizes(
    {
      vocab: model.vocab.dim,
      width: model.residual.dim,
      positions: model.positions.dim,
      stages: model.stages.map((st) => ({ loops: st.loops, layers: st.layers.map((l) => ({ heads: l.heads.map((h) => ({ qk: h.qk.dim, ov: h.ov.dim })), mlp: l.mlp ? l.mlp.hidden.dim : null })) })),
    },
    prefix,
    { W_pos: 'the position embedding', stage: (s) => `stage ${s}`, head: (s, l, h) => `stage ${s}, layer ${l}, head ${h}`, mlp: (s, l) => `stage ${s}, layer ${l}, mlp` },
  );
  validateModel(model);
}
