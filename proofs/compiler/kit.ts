// The compiler kit: what the compilers of Theorem 5.2 (proofs/thm-5-2/compiler.ts) and Theorem 5.4
// (proofs/thm-5-4/compiler.ts) both do to a source model before and while they build around it —
//
//   unrollSource  the source's stages unrolled to depth L: the Layer at every depth, where the
//                 source's trace names it (loop, layer), and the R distinct Layer objects numbered
//                 in order of first appearance; loop masks refused (both theorems compile unmasked
//                 models);
//   layerSizes    H, d_FF, d_ATTN of a list of layers (the maxima the size claims take);
//   fresh / nameAllocator   subspace names the compiler adds that cannot clash with the source's
//                 (a source subspace called `l` makes ours `l'`);
//   copyInto      a source matrix written into a bigger compiled one, the same labelled
//                 directions (the compiled spaces extend the source's), optionally at a named
//                 subspace of the target (the R MLPs side by side);
//   copyHead / copyMlp   a source head or MLP re-created over the compiled residual, weights copied;
//   optionValue   a compiler option (variant, gate) read by its parameter spec, as a parameter is.
import type { LabeledMatrix } from '../../simulators/matrix.ts';
import { type Head, type Layer, type Mlp, type Model, type Stage, createHead, createMlp } from '../../simulators/model.ts';
import type { Space } from '../../simulators/space.ts';
import { UnsupportedError } from '../../common/errors.ts';
import { type ParamSpec, type ParamValue, type ParamValueOf, readParam } from '../construction.ts';

/** One distinct Layer object of a source (a Layer listed twice, or looped, is one). */
export interface DistinctLayer {
  /** k, its number in order of first appearance (Theorem 5.2's L<k> units, L<k>.<head> heads). */
  index: number;
  layer: Layer;
  /** Where it first appears in the source. */
  stage: number;
  position: number;
  /** The depths (1-based) at which it runs. */
  depths: number[];
}

export interface UnrolledSource {
  /** The Layer at depth t is schedule[t − 1]. */
  schedule: Layer[];
  /** r(t) = r[t − 1], the distinct number of the layer at depth t. */
  r: number[];
  distinct: DistinctLayer[];
  /** For depth t: the source's global loop (1-based) and the layer within the block, as trace keys name them. */
  at: { loop: number; layer: number }[];
}

/**
 * The source's stages unrolled to depth L. `theorem` and `models` word the refusal of a loop mask
 * ("Theorem 5.4 compiles unmasked decoders, but stage 1 of …"); `stage`, called for each stage
 * after its mask is checked, refuses what else the theorem does not cover, in stage order.
 */
export function unrollSource(source: Model, o: { theorem: string; models: string; stage?: (stage: Stage, s: number) => void }): UnrolledSource {
  const schedule: Layer[] = [];
  const at: { loop: number; layer: number }[] = [];
  const index = new Map<Layer, number>();
  const distinct: DistinctLayer[] = [];
  const r: number[] = [];
  let loop = 0;
  source.stages.forEach((stage, s) => {
    if (stage.mask !== null) {
      throw new UnsupportedError(`${o.theorem} compiles unmasked ${o.models}, but stage ${s} of "${source.name}" has the loop mask "${stage.mask.expr}"`);
    }
    o.stage?.(stage, s);
    for (let t = 0; t < stage.loops; t++) {
      loop++;
      stage.layers.forEach((layer, l) => {
        let k = index.get(layer);
        if (k === undefined) {
          k = distinct.length;
          index.set(layer, k);
          distinct.push({ index: k, layer, stage: s, position: l, depths: [] });
        }
        schedule.push(layer);
        at.push({ loop, layer: l });
        r.push(k);
        distinct[k].depths.push(schedule.length);
      });
    }
  });
  return { schedule, r, distinct, at };
}

/** The most heads of a layer, the widest MLP, the widest head (qk or ov) of `layers`; 0 where there are none. */
export function layerSizes(layers: readonly Layer[]): { H: number; dFF: number; dATTN: number } {
  const heads = layers.flatMap((l) => l.heads);
  return {
    H: Math.max(0, ...layers.map((l) => l.heads.length)),
    dFF: Math.max(0, ...layers.map((l) => l.mlp?.hidden.dim ?? 0)),
    dATTN: Math.max(0, ...heads.map((h) => Math.max(h.qk.dim, h.ov.dim))),
  };
}

/** `base`, or base with primes, whichever is not yet a subspace of `space` nor in `taken`. */
export function fresh(space: Space, base: string, taken: readonly string[] = []): string {
  let name = base;
  while (space.has(name) || taken.includes(name)) name += "'";
  return name;
}

/** fresh names in a row: each call returns a name clashing neither with `space` nor with the names it returned before. */
export function nameAllocator(space: Space): (base: string) => string {
  const taken: string[] = [];
  return (base) => {
    const name = fresh(space, base, taken);
    taken.push(name);
    return name;
  };
}

/**
 * Copies every entry of `src` into `dst`, whose row and column spaces extend src's (the same
 * labelled directions at the same offsets, then more), or — for a side named in `at` — hold src's
 * at the offset of that subspace of dst.
 */
export function copyInto(dst: LabeledMatrix, src: LabeledMatrix, at: { rows?: string; cols?: string } = {}): void {
  const r0 = at.rows === undefined ? 0 : dst.rows.range(at.rows).offset;
  const c0 = at.cols === undefined ? 0 : dst.cols.range(at.cols).offset;
  // Without a named target, dst's directions start with src's (the same labels, then more).
  const fits = (outer: Space, inner: Space, offset: number, whole: boolean) =>
    whole ? inner.labels.every((x, i) => outer.labels[i] === x) : outer.dim >= offset + inner.dim;
  if (!fits(dst.rows, src.rows, r0, at.rows === undefined) || !fits(dst.cols, src.cols, c0, at.cols === undefined)) {
    throw new Error(`internal: ${dst.name} does not extend ${src.name}`);
  }
  src.rowsSparse().forEach((row, r) => {
    for (const e of row) dst.setAt(r0 + r, c0 + e.col, e.exact);
  });
}

/** Whether a matrix has an entry that is not 0. */
export const isNonzero = (m: LabeledMatrix): boolean => m.nonzeroCount() > 0;

/**
 * The source head `h` over the compiled `residual` (which extends the source's), its W_Q, W_K, W_V
 * and W_O copied; `as` renames it, gives it another role, or a qk space that extends h's (gate
 * coordinates after the source's).
 */
export function copyHead(residual: Space, h: Head, where: string, as: { name?: string; role?: string; qk?: Space } = {}): Head {
  const c = createHead(residual, { name: as.name ?? h.name, role: as.role ?? h.role, kind: h.kind, scale: h.scale, causal: h.causal, qk: as.qk ?? h.qk, ov: h.ov }, where);
  copyInto(c.W_Q, h.W_Q);
  copyInto(c.W_K, h.W_K);
  copyInto(c.W_V, h.W_V);
  copyInto(c.W_O, h.W_O);
  return c;
}

/** The source MLP `m` over the compiled `residual`, every weight and bias copied. */
export function copyMlp(residual: Space, m: Mlp, where: string): Mlp {
  const c = createMlp(residual, { name: m.name, role: m.role, hidden: m.hidden }, where);
  copyInto(c.W_in, m.W_in);
  copyInto(c.W_out, m.W_out);
  copyInto(c.b_in.matrix, m.b_in.matrix);
  copyInto(c.b_out.matrix, m.b_out.matrix);
  return c;
}

/**
 * A compiler option read by its parameter spec (a choice: one of its values; absent: the spec's
 * default), refused as a construction's parameter is: "parameter variant of Theorem 5.2 must be
 * one of corrected, erratum-3, erratum-4, got "x"".
 */
export function optionValue<const P extends ParamSpec>(compiler: string, spec: P, value: ParamValue | undefined): ParamValueOf<P> {
  return readParam(compiler, spec, value === undefined ? {} : { [spec.name]: value });
}
