// What `looped certify` returns: the verdict, how many inputs it covers, each kind of obligation
// with its count and smallest margin, and — when an obligation fails — where, why, and an input.

export type ObligationKind = 'embedding' | 'attention' | 'update' | 'readout' | 'rounds';

export interface ObligationTally {
  kind: ObligationKind;
  /** Local checks discharged (a configuration of states, a query against the keys, a token at a position). */
  count: number;
  /** The smallest score gap (attention) or logit gap (readout) seen; null where the check is an equality. */
  minMargin: number | null;
}

/** The states a failing obligation was checked at: before loop `loop`'s layer `layer`, position → state. */
export interface Configuration {
  layer: number;
  states: { position: number; state: string; key: string }[];
}

export interface Failure {
  kind: ObligationKind;
  /** "layer 0, position 5, head first". */
  where: string;
  why: string;
  configuration: Configuration | null;
  /** Model tokens: ones that reach the configuration where `reaches`, else ones found by searching for a wrong answer. */
  input: number[] | null;
  /** Whether the input reaches the failing configuration (before loop `loop`). */
  reaches: boolean;
  loop: number | null;
  /** Whether a run of the input was seen to give a wrong answer (else only its intermediate state is wrong). */
  fails: boolean;
}

/**
 * certified: every obligation holds, so the model answers right on every input covered.
 * refuted: an obligation fails and an input was found on which the model answers wrongly.
 * unproved: an obligation fails but no input with a wrong answer was found (the model departs
 * from the algorithm's states somewhere, or the declared state sets are larger than what is
 * reachable); not a certificate, and not a counterexample.
 */
export type Verdict = 'certified' | 'refuted' | 'unproved';

export interface CertifyResult {
  verdict: Verdict;
  /** Every input of the length over the declared tokens: the count as decimal text and as a product of powers ("120^64"). */
  inputs: { count: string; power: string };
  obligations: ObligationTally[];
  rounds: { kind: 'symbolic' | 'trusted'; argument: string };
  failure: Failure | null;
  seconds: number;
}
