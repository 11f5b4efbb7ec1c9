// The certifier's working set: the model's layers in exact form and, for every boundary ℓ and
// position i, the declared states with their canonical residual vectors (exact, level 1).
import { UnsupportedError } from '../common/errors.ts';
import type { Model } from '../simulators/model.ts';
import { type Rational, toRational } from '../simulators/rational.ts';
import type { Abstraction } from './abstraction.ts';
import { Exact, type ExactVector, commonDenominator } from './exact.ts';
import { type ExactLayer, exactLayer, modelRationals } from './exact-model.ts';

export interface StateEntry<S> {
  readonly state: S;
  readonly key: string;
  readonly vec: ExactVector;
}

export interface Context<S> {
  readonly model: Model;
  readonly abs: Abstraction<S>;
  readonly ex: Exact;
  readonly layers: readonly ExactLayer[];
  /** Layer applications the obligations cover: k (loop-invariant) or k·L (unrolled). */
  readonly steps: number;
  /** The model layer applied at step u. */
  layerAt(u: number): ExactLayer;
  /** The boundary after step u: (u + 1) mod k, or u + 1 unrolled. */
  after(u: number): number;
  /** The boundary the readout reads: 0, or k·L unrolled. */
  readonly final: number;
  readonly d: number;
  readonly n: number;
  /** table[ℓ][i]: the states at boundary ℓ, position i, with their canonical vectors. */
  readonly table: readonly (readonly (readonly StateEntry<S>[])[])[];
  /** table[ℓ][i] by state key. */
  readonly byKey: readonly (readonly Map<string, StateEntry<S>>[])[];
}

/** Refuses what the method does not cover, with the reason. */
export function coverable(model: Model, n: number): void {
  if (model.stages.length !== 1) {
    throw new UnsupportedError(`certify covers models of one stage (one block, looped); "${model.name}" has ${model.stages.length}`);
  }
  const stage = model.stages[0];
  if (stage.mask !== null) throw new UnsupportedError(`certify does not cover masked stages yet ("${model.name}" masks its loops: ${stage.mask.expr})`);
  for (const layer of stage.layers) {
    for (const h of layer.heads) {
      if (h.kind !== 'hard') {
        throw new UnsupportedError(`certify proves hard attention exactly; head '${h.name}' is ${h.kind} (certify the construction's exact check, whose heads are hard)`);
      }
    }
  }
  if (n > model.positions.dim) throw new UnsupportedError(`the abstraction covers ${n} positions but the model's position embedding covers ${model.positions.dim}`);
}

export function buildContext<S>(model: Model, abs: Abstraction<S>): Context<S> {
  const n = abs.length;
  coverable(model, n);
  const d = model.residual.dim;
  const k = model.stages[0].layers.length;
  const unrolled = abs.boundaries === 'unrolled';
  const L = model.stages[0].loops;
  const boundaryCount = unrolled ? k * L + 1 : k;
  const raw: { state: S; key: string; values: Rational[] }[][][] = [];
  for (let l = 0; l < boundaryCount; l++) {
    const row: { state: S; key: string; values: Rational[] }[][] = [];
    for (let i = 0; i < n; i++) {
      const seen = new Set<string>();
      const entries = abs.states(l, i).map((state) => {
        const key = abs.key(state);
        if (seen.has(key)) throw new UnsupportedError(`the abstraction lists state ${abs.format(state)} twice at boundary ${l}, position ${i}`);
        seen.add(key);
        const values = abs.canonical(l, i, state).map((v) => toRational(v));
        if (values.length !== d) {
          throw new UnsupportedError(`the canonical vector of ${abs.format(state)} at boundary ${l}, position ${i} has ${values.length} entries; the residual has ${d}`);
        }
        return { state, key, values };
      });
      if (entries.length === 0) throw new UnsupportedError(`the abstraction declares no state at boundary ${l}, position ${i}`);
      row.push(entries);
    }
    raw.push(row);
  }
  const canonicalRationals = function* () {
    for (const row of raw) for (const cell of row) for (const e of cell) yield* e.values;
  };
  const D = commonDenominator(canonicalRationals(), commonDenominator(modelRationals(model)));
  const ex = new Exact(D);
  const table = raw.map((row) => row.map((cell) => cell.map((e) => ({ state: e.state, key: e.key, vec: ex.vector(e.values) }))));
  const byKey = table.map((row) => row.map((cell) => new Map(cell.map((e) => [e.key, e]))));
  const layers = model.stages[0].layers.map((layer) => exactLayer(ex, layer));
  return {
    model,
    abs,
    ex,
    layers,
    steps: unrolled ? k * L : k,
    layerAt: (u) => layers[u % k],
    after: (u) => (unrolled ? u + 1 : (u + 1) % k),
    final: unrolled ? k * L : 0,
    d,
    n,
    table,
    byKey,
  };
}
