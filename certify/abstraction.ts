// What a construction declares so that `looped certify` can prove it for every input: the
// algorithm's state at each position, the residual vector that stands for each state, and the
// algorithm's round as a local rule. The certifier (certify/certify.ts) checks finitely many
// obligations over these sets; docs/certify.md argues why they imply the model equals the
// algorithm on every input. Only single-stage models (one block of layers, looped) are covered.
//
// Boundaries, in one of two modes:
//   'loop-invariant'  `layer` ℓ = 0..k−1: ℓ = 0 is the residual before the block's first layer
//                     (after the embedding, and after every loop), ℓ = 1..k−1 the boundaries between
//                     its layers. States at ℓ = 0 are the loop invariant: the certifier checks that one
//                     loop maps them to themselves, so the proof holds for any number of loops.
//   'unrolled'        `layer` u = 0..kL: boundary u is after u layer applications (loop ⌊u/k⌋ + 1,
//                     layer u mod k); the readout is at u = kL. For gadgets of one loop, whose state
//                     after the loop is not the state before it.
import type { Scalar } from '../simulators/rational.ts';

/** What position i reads in layer ℓ: one position per head (in the layer's head order), and whether its own state enters the rule. */
export interface LocalRule {
  readonly reads: readonly number[];
  readonly own: boolean;
}

/** How the algorithm's rounds are known to compute the reference, for every input. */
export type RoundsProof =
  | {
      /**
       * Proved by the construction's own symbolic run (e.g. over the free monoid of positions):
       * `check(loops, masked)` returns null, or why the rounds fail and an input where they do.
       */
      readonly kind: 'symbolic';
      readonly argument: string;
      check(loops: number): { why: string; input: number[] | null } | null;
    }
  | {
      /**
       * Taken as given (say why); `certify` reports it as trusted, not proved. A `check` that can
       * only refute (a cross-check on one input, say) is still run.
       */
      readonly kind: 'trusted';
      readonly argument: string;
      check?(loops: number): { why: string; input: number[] | null } | null;
    };

export interface Abstraction<S> {
  /** What a state is: "g_i, the element of G that position i holds (Algorithm 2)". */
  readonly describe: string;
  /** How boundaries are numbered (see above); absent: 'loop-invariant'. */
  readonly boundaries?: 'loop-invariant' | 'unrolled';
  /** The sequence length certified: every input of this length over tokens(i) is covered. */
  readonly length: number;
  /** The tokens position i may hold (position 0 of Theorem 5.1 holds only #). */
  tokens(i: number): readonly number[];
  /** The state a token puts position i in. */
  initial(i: number, token: number): S;
  /** Equal for equal states (states are compared and deduplicated by it). */
  key(s: S): string;
  /** A state in words, for messages ("(1 2)", "token 3"). */
  format(s: S): string;
  /** Every state position i may hold at boundary ℓ: a superset of the reachable ones. */
  states(layer: number, i: number): readonly S[];
  /** The residual vector that stands for state s at position i, boundary ℓ (the model's width). */
  canonical(layer: number, i: number, s: S): readonly Scalar[];
  /** What layer ℓ at position i reads. */
  rule(layer: number, i: number): LocalRule;
  /** The state after layer ℓ: own is the position's state when rule.own, else null; read, the states at rule.reads. */
  next(layer: number, i: number, own: S | null, read: readonly S[]): S;
  /** The token the readout must pick at position i (the last, or each with readout 'all') for a final state. */
  answerToken(i: number, s: S): number;
  /** The construction's input (what its reference, formatInput and `looped run --input` take) for model tokens. */
  inputOf(tokens: readonly number[]): unknown;
  /** How the rounds compute the reference. */
  readonly rounds: RoundsProof;
  /**
   * An input on which, before some loop, the given positions hold the given states, where the
   * certifier cannot find one itself (it finds those before loop 1 from the tokens); null if none.
   */
  realize?(want: readonly { position: number; state: S }[]): { input: number[]; loop: number } | null;
}
