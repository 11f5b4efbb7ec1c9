// Readers for the parameters several constructions share the same way: `loops` (auto, or a loop
// count that weakens or over-runs the claim) and `scale` (the softmax scale of the float64 check).
// Each names the construction, the parameter and its range when the value is wrong.
import { UsageError } from '../common/errors.ts';
import { type Rational, parseRational } from '../simulators/rational.ts';
import type { ParamSpec, Params } from './construction.ts';

/** The most loops a `loops` parameter may ask for. */
export const MAX_LOOPS_PARAM = 64;

/** `loops`: 'auto' (absent) is the construction's own count `auto`; otherwise a whole number 0..64. */
export function loopsParam(id: string, params: Params, auto: number): number {
  const raw = params.loops ?? 'auto';
  if (raw === 'auto') return auto;
  const v = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_LOOPS_PARAM || (typeof raw === 'string' && !/^\s*\d+\s*$/.test(raw))) {
    throw new UsageError(`parameter loops of ${id} must be auto or a whole number in 0..${MAX_LOOPS_PARAM}, got "${String(raw)}"`);
  }
  return v;
}

/** `scale`: a positive rational (1, 0.05, 3/64), `fallback` when absent. */
export function scaleParam(id: string, params: Params, fallback: string): Rational {
  const raw = String(params.scale ?? fallback);
  let scale: Rational;
  try {
    scale = parseRational(raw);
  } catch {
    throw new UsageError(`parameter scale of ${id} must be a positive number (1, 0.05, 3/64), got "${raw}"`);
  }
  if (scale.s < 0n || scale.n === 0n) throw new UsageError(`parameter scale of ${id} must be positive, got "${raw}"`);
  return scale;
}

/** The spec of `loops`, read by loopsParam; `auto` says what the construction's own count is ("⌈log2 n⌉"). */
export function loopsParamSpec(auto: string): ParamSpec {
  return {
    name: 'loops',
    describe: `loops of the block; auto = ${auto}, the claim. A number overrides it (fewer loops is how a counterexample is replayed)`,
    default: 'auto',
    kind: 'text',
    forms: `auto, or a whole number 0..${MAX_LOOPS_PARAM}`,
  };
}

/** The spec of `scale`, read by scaleParam. */
export function scaleParamSpec(fallback: string): ParamSpec {
  return {
    name: 'scale',
    describe: 'softmax scale β of the float64 check (scores β·⟨q, k⟩); a smaller β is how a counterexample is replayed',
    default: fallback,
    kind: 'text',
    forms: 'a positive number: 1, 0.05, 3/64',
  };
}
