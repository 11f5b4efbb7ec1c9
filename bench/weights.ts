// Writes a model and a batch of inputs where bench/numpy_forward.py can read them: model.json (the
// structure, and where each array sits) beside weights.bin (every array as raw little-endian
// float64, one after another). Bench-only: the project's model file format lives elsewhere.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabeledMatrix } from '../simulators/matrix.ts';
import { type Model, maxLen } from '../simulators/model.ts';
import { rationalToNumber } from '../simulators/rational.ts';

interface ArrayRef {
  /** Offset in float64 elements into weights.bin. */
  offset: number;
  shape: number[];
}

export interface DumpHeader {
  d: number;
  V: number;
  N: number;
  readout: 'last' | 'all';
  E: ArrayRef;
  P: ArrayRef;
  U: ArrayRef;
  layers: {
    heads: { name: string; kind: 'hard' | 'softmax'; causal: boolean; scale: number; Wq: ArrayRef; Wk: ArrayRef; Wv: ArrayRef; Wo: ArrayRef }[];
    mlp: { Win: ArrayRef; bin: ArrayRef; Wout: ArrayRef; bout: ArrayRef } | null;
  }[];
  stages: { layers: number[]; loops: number }[];
  /** B × n token ids (all inputs have the same length n). */
  tokens: ArrayRef;
}

/** Dumps `model` and `inputs` into `dir`; refuses masked stages (the numpy forward has none). */
export function dumpModel(model: Model, inputs: readonly (readonly number[])[], dir: string): DumpHeader {
  if (model.stages.some((s) => s.mask !== null)) throw new Error('dumpModel: masked stages are not supported by bench/numpy_forward.py');
  const n = inputs[0].length;
  if (inputs.some((x) => x.length !== n)) throw new Error('dumpModel: every input must have the same length');
  const chunks: Float64Array[] = [];
  let offset = 0;
  const put = (data: Float64Array, shape: number[]): ArrayRef => {
    const ref = { offset, shape };
    chunks.push(data);
    offset += data.length;
    return ref;
  };
  const mat = (m: LabeledMatrix) => put(m.data, [m.rows.dim, m.cols.dim]);
  const vec = (m: LabeledMatrix) => put(m.data, [m.cols.dim]);
  const layerIndex = new Map<object, number>();
  const layers: DumpHeader['layers'] = [];
  const stages = model.stages.map((s) => ({
    loops: s.loops,
    layers: s.layers.map((l) => {
      let k = layerIndex.get(l);
      if (k === undefined) {
        k = layers.length;
        layerIndex.set(l, k);
        layers.push({
          heads: l.heads.map((h) => ({
            name: h.name,
            kind: h.kind,
            causal: h.causal,
            scale: rationalToNumber(h.scale),
            Wq: mat(h.W_Q),
            Wk: mat(h.W_K),
            Wv: mat(h.W_V),
            Wo: mat(h.W_O),
          })),
          mlp: l.mlp ? { Win: mat(l.mlp.W_in), bin: vec(l.mlp.b_in.matrix), Wout: mat(l.mlp.W_out), bout: vec(l.mlp.b_out.matrix) } : null,
        });
      }
      return k;
    }),
  }));
  const header: DumpHeader = {
    d: model.residual.dim,
    V: model.vocab.dim,
    N: maxLen(model),
    readout: model.readout,
    E: mat(model.W_E),
    P: mat(model.W_pos),
    U: mat(model.W_U),
    layers,
    stages,
    tokens: put(Float64Array.from(inputs.flat()), [inputs.length, n]),
  };
  const all = new Float64Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  // Float64Array is little-endian on every platform Node runs on here (x86-64, arm64).
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(all.buffer));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(header));
  return header;
}
