// Decoders that solve a real task by chain of thought, and the looped models Theorem 5.4 compiles
// from them. A task module writes ONE non-looped decoder (causal hard-attention heads, readout at
// the last position) whose greedy CoT emits the steps of an iterative algorithm one token at a
// time (an automaton's states, the hops of p-hop, the gate values of a circuit), plus that
// algorithm as the reference. cotTaskConstruction turns it into a registered construction whose
// model is the Theorem 5.4 compilation of the decoder, so `looped verify cot-…` checks, on the
// same inputs:
//   * the decoder's greedy CoT equals the algorithm's trace, token for token (BuiltConstruction.cot);
//   * the looped model's answer equals the algorithm's answer (exact; fixed:s with the softmax SHIFT);
//   * lockstep: after loop t the looped model's positions hold the prompt and trace tokens 1..t.
import type { Arbitrary } from 'fast-check';
import type { Model } from '../../simulators/model.ts';
import { type BuiltConstruction, type ChoiceParamSpec, type Construction, type Params, type VerifySetting, type WordSpace, defineConstruction, readParam } from '../construction.ts';
import { THM54_VARIANTS, THM54_VARIANT_PARAM, type Thm54Compiled, type Thm54Variant, compileThm54Variant, cotPrecondition, lockstepRows, withPads, withSoftmaxShift } from '../thm-5-4-cot-loops.ts';

/** A decoder for one task instance (the parameters fixed), with its reference algorithm. */
export interface CotTaskBuilt<I> {
  /** The non-looped decoder: causal hard-attention heads, readout 'last', no loop masks. */
  decoder: Model;
  /** Prompt length in tokens (the looped model reads exactly n prompt tokens). */
  n: number;
  /** CoT steps m to the answer (= loops of the compiled model). */
  steps: number;
  /** Numbers for the claimed-size formulas (n, p, states, gates, …); the compiler adds L, d, s, … */
  sizeScope: Record<string, number>;
  /** The decoder's prompt for an input: n token indices of the decoder's vocabulary. */
  prompt(input: I): number[];
  /** The algorithm's trace: the `steps` tokens a correct CoT emits; the last one is the answer. */
  trace(input: I): number[];
  parseInput(text: string): I;
  formatInput(input: I): string;
  arbitrary(): Arbitrary<I>;
  exhaustive?: WordSpace;
}

/**
 * A task as a construction's description (id, statement, params; `claimed` sizes for the LOOPED
 * model, as formulas in the task's scope plus the compiler's L, d, H, V, n, m, s, N) whose build
 * returns the decoder; cotTaskConstruction compiles it.
 */
export type CotTask<I> = Omit<Construction<I, CotTaskOutput>, 'build'> & { build(params: Params): CotTaskBuilt<I> };

export interface CotTaskOutput {
  answer: number | null;
}

/** Compiles a task decoder with Theorem 5.4, variant (a) or (b). */
export function compileTask<I>(task: CotTask<I>, t: CotTaskBuilt<I>, variant: Thm54Variant = 'masks'): Thm54Compiled {
  const which = variant === 'masks' ? 'a, loop masks' : 'b, no masks';
  return compileThm54Variant(t.decoder, { n: t.n, m: t.steps, variant, name: `${task.id}: ${t.decoder.name}, CoT in ${t.steps} loops (Theorem 5.4${which})` });
}

/** Which Theorem 5.4 compilation a task construction checks (its own sizes are claimed for variant a). */
const VARIANT_PARAM: ChoiceParamSpec<'variant', Thm54Variant> = {
  name: 'variant',
  describe: `${THM54_VARIANT_PARAM.describe} (wider: the claimed sizes are variant (a)'s)`,
  default: 'masks',
  kind: 'choice',
  values: THM54_VARIANTS,
};

/** Each of the task's verify settings under both compilations (a setting naming its variant is kept as it is). */
function withEveryVariant(settings: readonly VerifySetting[]): VerifySetting[] {
  return settings.flatMap((k) =>
    'variant' in k.params ? [k] : THM54_VARIANTS.map((v) => (v === VARIANT_PARAM.default ? k : { ...k, params: { ...k.params, variant: v } })),
  );
}

export function cotTaskConstruction<I>(task: CotTask<I>): Construction<I, CotTaskOutput> {
  const build = (params: Params): BuiltConstruction<I, CotTaskOutput> => {
    const variant = readParam(task.id, VARIANT_PARAM, params);
    const t = task.build(params);
    const c = compileTask(task, t, variant);
    const labels = c.model.vocab.labels;
    const answerOf = (input: I): number => {
      const tr = t.trace(input);
      if (tr.length !== t.steps) throw new Error(`${task.id}: the reference trace has ${tr.length} tokens, not ${t.steps}`);
      return tr[tr.length - 1];
    };
    return {
      model: c.model,
      sizeScope: { ...t.sizeScope, ...c.scope },
      bits: c.s,
      encode: (input) => withPads(c, t.prompt(input)),
      decode: (run) => ({ answer: run.answer }),
      reference: (input) => ({ answer: answerOf(input) }),
      equal: (a, b) => a.answer === b.answer,
      parseInput: (text) => t.parseInput(text),
      formatInput: (input) => t.formatInput(input),
      formatAnswer: (o) => ({ answer: o.answer === null ? null : labels[o.answer] }),
      arbitrary: () => t.arbitrary(),
      exhaustive: t.exhaustive,
      checks: [
        { label: 'exact, hard attention: the looped answer is the algorithm\'s', interpreter: 'exact', model: c.model },
        { label: `fixed:${c.s}, softmax SHIFT (Lemma B.4 one-hot in F_s)`, interpreter: `fixed:${c.s}`, model: withSoftmaxShift(c.model) },
      ],
      lockstep: {
        describe: 'after loop t, positions 0..n+t−1 hold exactly the prompt and the algorithm\'s trace tokens 1..t',
        compare: (input, run) => lockstepRows(c, t.prompt(input), run, t.trace(input)).map((r) => ({ loop: r.loop, expected: r.expected, got: r.got })),
        trace: 'loops',
      },
      extraLoopsStable: {
        holds: true,
        why: 'loop t > m recomputes only positions i ≥ n + t − 1 ≥ n + m, beyond the input: every state is frozen',
      },
      cot: {
        decoder: t.decoder,
        steps: t.steps,
        prompt: (input) => t.prompt(input),
        trace: (input) => t.trace(input),
        precondition: (cot) => cotPrecondition(c, cot),
      },
    };
  };
  return defineConstruction<I, CotTaskOutput>({
    id: task.id,
    title: task.title,
    theorem: task.theorem,
    statement: task.statement,
    params: [...task.params, VARIANT_PARAM],
    claimed: task.claimed,
    deviations: task.deviations,
    verifyAt: withEveryVariant(task.verifyAt ?? [{ params: {} }]),
    build,
  });
}
