// What the p-hop constructions hand back besides the model: input checks and parsing, the answer
// as decoded from the readout and as the reference computes it, the input arbitraries, the
// weakenings of the counterexample search, and `pHopBuilt`, which assembles them (with the checks
// and the lockstep) into the BuiltConstruction both constructions return.
import fc from 'fast-check';
import { InputError } from '../../common/errors.ts';
import type { Model } from '../../simulators/model.ts';
import type { RunResult } from '../../simulators/result.ts';
import { hopAllPositions, hopP, pHopArbitrary } from '../../tasks/p-hop.ts';
import type { BuiltConstruction, Lockstep } from '../construction.ts';
import { echoItem, parseJsonArray } from '../input-parsing.ts';
import { pHopChecks } from './common.ts';
import { type PHopConfig, statedScale } from './config.ts';

/** What both constructions' build returns: the usual BuiltConstruction plus the parsed configuration. */
export interface PHopBuilt extends BuiltConstruction<number[], PHopOutput> {
  config: PHopConfig;
}

/** The answer at one position: a token, null for ⊥, or the tied tokens when the readout ties. */
export type Answer = number | null | { tie: (number | null)[] };
/** readout=last: the answer at the last position; readout=all: one per position 0..m. */
export type PHopOutput = Answer | Answer[];

export function checkTokens(cfg: PHopConfig, v: readonly number[]): void {
  if (v.length > cfg.n) throw new InputError(`${cfg.id}: the input has ${v.length} tokens but the model was built for n = ${cfg.n} (use --param n=${v.length})`);
  v.forEach((x, k) => {
    if (!Number.isInteger(x) || x < 0 || x >= cfg.alphabet) {
      throw new InputError(`${cfg.id}: token v_${k + 1} = ${x} is outside the alphabet 0..${cfg.alphabet - 1}`);
    }
  });
}

export function parseTokens(cfg: PHopConfig, text: string): number[] {
  const v = parseJsonArray(text, {
    where: cfg.id,
    expected: `tokens 0..${cfg.alphabet - 1}`,
    example: '[0,1,2,0]',
    item: (x, k) => {
      if (typeof x !== 'number') throw new Error(`item ${k} of the input is ${echoItem(x)}; expected a token 0..${cfg.alphabet - 1}`);
      return x;
    },
  });
  checkTokens(cfg, v);
  return v;
}

export function decodeAnswer(cfg: PHopConfig, run: RunResult): PHopOutput {
  const one = (k: number): Answer => {
    const r = run.readouts[k];
    if (r.token === null) return { tie: r.top.map((t) => (t === cfg.alphabet ? null : t)) };
    return r.token === cfg.alphabet ? null : r.token;
  };
  if (cfg.readout === 'last') return one(run.readouts.length - 1);
  return run.readouts.map((_, k) => one(k));
}

export function referenceAnswer(cfg: PHopConfig, v: readonly number[]): PHopOutput {
  return cfg.readout === 'last' ? hopP(v, cfg.p) : hopAllPositions(v, cfg.p);
}

export const sameAnswer = (x: PHopOutput, y: PHopOutput): boolean => JSON.stringify(x) === JSON.stringify(y);

/** Uniform token sequences of length minLength..n (they shrink toward short sequences of small tokens). */
export function uniformInputs(n: number, alphabet: number, minLength = 0): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { minLength, maxLength: n, size: 'max' });
}

/**
 * The counterexample search's weakenings as the constructions' own parameters: loops → `loops`
 * (p-hop) or `layers` (p-hop-direct, whose one stage loops once: it keeps its first L layers);
 * scale → `scale`, the softmax scale of the float64 check (every head). Bits stay the search's
 * fixed:s on the fixed-point check.
 */
export function pHopWeaken(cfg: PHopConfig, depth: { param: 'loops' | 'layers'; needed: number }): NonNullable<PHopBuilt['weaken']> {
  return (w) => {
    if (w.kind === 'loops') {
      const claim = depth.param === 'loops' ? `loops (the construction loops ${depth.needed})` : `layers (the construction has ${depth.needed})`;
      return { params: { [depth.param]: w.loops }, describe: `${w.loops} ${claim}` };
    }
    if (w.kind === 'scale') return { params: { scale: w.scale }, describe: `float64 softmax at scale ${w.scale} (the stated scale is ${statedScale(cfg.s)})` };
    return null;
  };
}

/**
 * Inputs for the checks: half uniform sequences of length 0..n (they shrink to short, small
 * sequences), half the paper's distribution (p hops guaranteed to exist, via pHopArbitrary).
 */
export function inputArbitrary(cfg: PHopConfig): fc.Arbitrary<number[]> {
  const uniform = uniformInputs(cfg.n, cfg.alphabet);
  if (cfg.n < 2) return uniform;
  const paper = pHopArbitrary({ n: { min: 2, max: cfg.n }, p: cfg.p, alphabet: cfg.alphabet, guaranteed: true }).map((x) => x.v);
  return fc.oneof(uniform, paper);
}

/** Distinct layer objects in a model (a stage may list one layer object several times). */
export function distinctLayerCount(model: Model): number {
  return new Set(model.stages.flatMap((s) => s.layers)).size;
}

/** What differs between the two constructions' BuiltConstruction: the depth parameter and its count, the lockstep, the sizeScope and extra-loop stability. */
export interface PHopBuiltParts {
  depth: { param: 'loops' | 'layers'; needed: number };
  lockstep: Lockstep<number[]>;
  sizeScope: Record<string, number>;
  extraLoopsStable: NonNullable<PHopBuilt['extraLoopsStable']>;
}

/**
 * The Built both constructions return for a model on [start, v_1..v_m]: the input is v (the start
 * token is added here), the answer hop_p (readout last) or hop_p of every prefix (readout all).
 */
export function pHopBuilt(cfg: PHopConfig, model: Model, parts: PHopBuiltParts): PHopBuilt {
  const { n, alphabet, s } = cfg;
  return {
    config: cfg,
    model,
    sizeScope: parts.sizeScope,
    bits: s,
    encode(v) {
      checkTokens(cfg, v);
      return [alphabet, ...v];
    },
    decode: (run) => decodeAnswer(cfg, run),
    reference: (v) => referenceAnswer(cfg, v),
    equal: sameAnswer,
    parseInput: (text) => parseTokens(cfg, text),
    formatAnswer: (a) => a,
    formatInput: (v) => JSON.stringify(v),
    arbitrary: () => inputArbitrary(cfg),
    exhaustive: { symbols: alphabet, minLength: 0, maxLength: n },
    searchArbitrary: () => uniformInputs(n, alphabet),
    weaken: pHopWeaken(cfg, parts.depth),
    checks: pHopChecks(model, cfg),
    lockstep: parts.lockstep,
    extraLoopsStable: parts.extraLoopsStable,
  };
}
