// The three interpreter settings a hard-attention construction whose heads are one-hot by Lemma
// B.4 is checked under (Theorem 5.1, n-ary addition): exact with hard attention (the reference);
// the paper's F_s with softmax at the scale 1 its scores already carry (one-hot exactly in F_s);
// float64 with softmax at a given scale, whose off-target weights are small but not zero. Each
// label says why the setting holds, in the construction's own terms.
import { type Model, withAttention } from '../simulators/model.ts';
import type { Rational } from '../simulators/rational.ts';
import type { InterpreterCheck } from './construction.ts';

export interface ThreeChecks {
  /** The bits s of the fixed:s check. */
  bits: number;
  /** Why softmax is one-hot in F_s ("scores 0 or −B_s; MLP sums within B_s"). */
  fixedWhy: string;
  /** The softmax scale β of the float64 check (the construction's `scale` parameter). */
  floatScale: Rational;
  /** What bounds the float64 error ("off-target weight ≤ e^{−2·scale·B_p} each"). */
  floatWhy: string;
}

/** exact (hard), fixed:s (softmax), float64 (softmax at floatScale): the first is the reference. */
export function exactFixedFloatChecks(model: Model, o: ThreeChecks): InterpreterCheck[] {
  return [
    { label: 'exact, hard attention', interpreter: 'exact', model },
    { label: `fixed:${o.bits}, softmax (${o.fixedWhy})`, interpreter: `fixed:${o.bits}`, model: withAttention(model, 'softmax') },
    {
      label: `float64, softmax at scale ${o.floatScale.toFraction()} (${o.floatWhy})`,
      interpreter: 'float64',
      model: withAttention(model, 'softmax', o.floatScale),
    },
  ];
}
