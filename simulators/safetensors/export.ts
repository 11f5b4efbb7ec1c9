// Models → safetensors: the model's weights as TransformerLens-named tensors (heads padded to one
// d_head), its labels and structure as __metadata__ (the layout is described in format.ts).
import { ModelError } from '../../common/errors.ts';
import type { LabeledMatrix } from '../matrix.ts';
import type { Mask, Model } from '../model.ts';
import { MODEL_FORMAT, scalarJson, spaceJson } from '../model-file.ts';
import { validateForFile } from '../model-limits.ts';
import { formatRational } from '../rational.ts';
import { type SafetensorsDtype, type TensorOut, tensorName, writeSafetensors } from './format.ts';
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
            scale: scalarJson(h),
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
