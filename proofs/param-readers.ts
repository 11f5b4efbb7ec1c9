// The specs of the parameters several constructions share the same way: `loops` (auto, or a loop
// count that weakens or over-runs the claim) and `scale` (the softmax scale of the float64 check).
// They are read like every other parameter, by paramValues (proofs/construction.ts), whose errors
// name the construction, the parameter and its range.
import type { IntParamSpec, Params, RationalParamSpec, Weakening } from './construction.ts';

/** The most loops a `loops` parameter may ask for. */
export const MAX_LOOPS_PARAM = 64;

/**
 * The spec of `loops`: auto (the construction's own count, `auto` in words: "⌈log2 n⌉"), or a
 * whole number 0..64. paramValues gives `number | 'auto'`; orAuto(loops, () => count) resolves it.
 */
export function loopsParamSpec(auto: string): IntParamSpec<'loops'> & { auto: string } {
  return {
    name: 'loops',
    describe: `loops of the block; auto = ${auto}, the claim. A number overrides it (fewer loops is how a counterexample is replayed)`,
    default: 'auto',
    kind: 'int',
    min: 0,
    max: MAX_LOOPS_PARAM,
    auto,
  };
}

/** The spec of `scale`: a positive rational (1, 0.05, 3/64), `fallback` by default; paramValues gives a Rational. */
export function scaleParamSpec(fallback: string): RationalParamSpec<'scale'> {
  return {
    name: 'scale',
    describe: 'softmax scale β of the float64 check (scores β·⟨q, k⟩); a smaller β is how a counterexample is replayed',
    default: fallback,
    kind: 'rational',
    positive: true,
    forms: 'a positive number: 1, 0.05, 3/64',
  };
}

/**
 * The weakenings of a construction whose `loops` and `scale` parameters express them (Theorem 5.1,
 * n-ary addition): as built (`none` says what that is), fewer loops (`claim`: the claimed count in
 * words), a smaller float64 softmax scale (`scale`: the stated one); fewer bits is not a parameter.
 * A weakened run then replays as a plain `looped run --param …`.
 */
export function loopsAndScaleWeakening(w: Weakening, what: { none: string; claim: string; scale: string }): { params: Params; describe: string } | null {
  switch (w.kind) {
    case 'none':
      return { params: {}, describe: what.none };
    case 'loops':
      return { params: { loops: w.loops }, describe: `${w.loops} loop${w.loops === 1 ? '' : 's'} (the claim is ${what.claim})` };
    case 'bits':
      return null;
    case 'scale':
      return { params: { scale: String(w.scale) }, describe: `softmax in float64 at scale ${w.scale} (the stated scale is ${what.scale})` };
  }
}
