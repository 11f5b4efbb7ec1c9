// A theorem is data plus a builder: its statement, the sizes it claims as mathjs formulas in its
// parameters, and build(params), which returns the model with everything needed to check it
// (input encoding, answer decoding, the reference algorithm, random inputs).
import type { Arbitrary } from 'fast-check';
import { evaluate } from 'mathjs';
import { UsageError } from '../common/errors.ts';
import type { CotResult } from '../simulators/cot.ts';
import type { Model, ModelSizes } from '../simulators/model.ts';
import type { RunResult } from '../simulators/result.ts';

export type ParamValue = number | string;
export type Params = Record<string, ParamValue>;

export interface ParamSpec {
  name: string;
  describe: string;
  /** Default as the CLI would receive it. */
  default: string;
  /** Whole numbers in [min, max]; `kind: 'text'` parameters are parsed by the construction. */
  kind: 'int' | 'text';
  min?: number;
  max?: number;
  /** Allowed forms, for help and errors ("Z<m>, D<m>, S<k>, table:<file.json>"). */
  forms?: string;
}

/** Size claims as mathjs expressions in the construction's numeric scope. */
export type SizeKey = 'layersPerBlock' | 'loops' | 'width' | 'mlpWidth' | 'heads' | 'headDim' | 'bits';
export type ClaimedSizes = Partial<Record<SizeKey, string>>;

/** One interpreter setting a construction must hold under (exact, fixed:s with softmax, float64 with a scale). */
export interface Check {
  label: string;
  interpreter: string;
  model: Model;
}

/** Lockstep: per-loop states of the model against per-round states of the algorithm. */
export interface Lockstep<I> {
  /** How many loops the model runs (states compared after loops 1..loops). */
  describe: string;
  /** The algorithm's state after round t (t = 1..rounds) and the model's decoded state after loop t. */
  compare(input: I, run: RunResult): { loop: number; expected: unknown; got: unknown }[];
  /** 'loops' where compare reads only Trace.afterLoop: the run then records loop ends only. */
  trace?: 'loops';
}

/**
 * A claim weakened, as the counterexample search takes it (properties/counterexample.ts): the
 * construction as built, run with L loops, its fixed-point check with s bits, or its softmax at scale β.
 */
export type Weakening = { kind: 'none' } | { kind: 'loops'; loops: number } | { kind: 'bits'; bits: number } | { kind: 'scale'; scale: number };

/** Every word of `minLength..maxLength` symbols from 0..symbols−1: a finite input space. */
export interface WordSpace {
  symbols: number;
  minLength: number;
  maxLength: number;
}

export function wordCount(w: WordSpace): number {
  let total = 0;
  for (let L = w.minLength; L <= w.maxLength; L++) total += w.symbols ** L;
  return total;
}

/** The words of a WordSpace, shortest first, each length in lexicographic order. */
export function* allWords(w: WordSpace): Generator<number[]> {
  for (let L = w.minLength; L <= w.maxLength; L++) {
    const word = new Array<number>(L).fill(0);
    for (;;) {
      yield [...word];
      let k = L - 1;
      while (k >= 0 && word[k] === w.symbols - 1) word[k--] = 0;
      if (k < 0) break;
      word[k]++;
    }
  }
}

export interface Built<I, O> {
  model: Model;
  /** Numbers the size formulas are evaluated in (n, G, p, s, …). */
  scope: Record<string, number>;
  /** Precision bits the theorem allows, when it names them (for fixed:s checks). */
  bits?: number;
  encode(input: I): number[];
  decode(run: RunResult): O;
  reference(input: I): O;
  equal(a: O, b: O): boolean;
  /** Parses the CLI's --input (JSON text); a bad input is an InputError naming the position and why. */
  parseInput(text: string): I;
  /** The answer as the CLI prints it in JSON (a group element in the input's notation, null for ⊥). */
  formatAnswer(answer: O): unknown;
  /** The input as JSON text that parseInput accepts, so a printed counterexample can be replayed. */
  formatInput(input: I): string;
  arbitrary(): Arbitrary<I>;
  /**
   * The whole input space, where the inputs are words over a finite alphabet (I = number[]):
   * `verify --exhaustive` runs every one of them instead of a random sample.
   */
  exhaustive?: WordSpace;
  /** The interpreter settings to verify under; the first is the reference one (exact). */
  checks: Check[];
  /**
   * Interpreter families ('fixed', 'float', 'exact') the construction declares no check for at
   * these parameters because the theorem says nothing there, and why (Theorem 5.2 on a source
   * whose own F_s run is 0/0). `verify --interpreter` of such a family refuses with the reason
   * instead of running a model the theorem makes no claim about.
   */
  unchecked?: Partial<Record<InterpreterFamily, string>>;
  lockstep?: Lockstep<I>;
  /** Whether extra loops leave a converged answer unchanged, and why (tested where true). */
  extraLoopsStable?: { holds: boolean; why: string };
  /**
   * A weakening in the construction's own parameters, where they express it (loops → { loops },
   * scale → { scale } of the float64 check; p-hop-direct: loops → { layers }), with what it changes
   * in words. The counterexample search rebuilds with them, so a plain `looped run --param …`
   * replays a failure; absent or null, the search transforms the model (withLoops, withAttention).
   */
  weaken?(w: Weakening): { params: Params; describe: string } | null;
  /** Inputs for counterexample searches, where they should differ from arbitrary() (ones that shrink to small failures). */
  searchArbitrary?(): Arbitrary<I>;
  /**
   * Where the model is a compilation of a chain-of-thought decoder (proofs/cot-tasks): the
   * decoder, whose greedy CoT `looped verify` checks against the algorithm's trace too.
   */
  cot?: CotRoute<I>;
}

/** A non-looped decoder whose greedy CoT of `steps` tokens should equal an algorithm's trace. */
export interface CotRoute<I> {
  decoder: Model;
  steps: number;
  /** The decoder's prompt for an input. */
  prompt(input: I): number[];
  /** The algorithm's trace: the `steps` tokens a correct CoT emits (the last is the answer). */
  trace(input: I): number[];
  /** A condition the CoT must meet besides equality (Theorem 5.4's margin), with the reason when it fails. */
  precondition?(cot: CotResult): { ok: boolean; why: string };
}

export type InterpreterFamily = 'fixed' | 'exact' | 'float';

/** fixed:<s> → 'fixed', exact → 'exact', every float interpreter (float64/32, fast, gpu) → 'float'. */
export function interpreterFamily(name: string): InterpreterFamily {
  return name.startsWith('fixed') ? 'fixed' : name === 'exact' ? 'exact' : 'float';
}

/** The model a run under `interpreter` uses: the construction's own check for it, else one of the same family, else the first. */
export function modelFor(built: Built<unknown, unknown>, interpreter: string): Model {
  const family = interpreterFamily;
  const pick = (pred: (k: Check) => boolean) => built.checks.find(pred)?.model;
  return pick((k) => k.interpreter === interpreter) ?? pick((k) => family(k.interpreter) === family(interpreter)) ?? built.checks[0].model;
}

/**
 * A parameter setting that `looped verify --all` runs (CLI text; parameters not named take their
 * defaults). `fails` marks a setting that must NOT hold — the construction exactly as a paper
 * printed it (an erratum variant) — and says why: there a counterexample is the expected outcome,
 * and a setting that holds fails the run.
 */
export interface VerifySetting {
  params: Record<string, string>;
  fails?: string;
  /**
   * Marks a setting at the size the paper itself uses (its Table 1: S5 words of n = 64, p-hop at
   * n = 256 with p = 16 and 32), and says where the size comes from. `looped verify --all` runs
   * these too (that is `npm run verify`); `--small` leaves them out (the tests use it).
   */
  paper?: string;
  /** The most samples a check of this setting draws, where a paper-size run is slow (exact arithmetic). */
  samples?: number;
}

export interface Construction<I = unknown, O = unknown> {
  id: string;
  /**
   * Where a construction loaded from a user's file came from, as the command line named it
   * (`./mine.ts`): replay commands name it instead of the id, which no catalogue knows.
   */
  source?: string;
  title: string;
  /** "Lemma B.4", "Theorem 5.1". */
  theorem: string;
  /** One paragraph. */
  statement: string;
  params: ParamSpec[];
  claimed: ClaimedSizes;
  /** Where the built sizes differ from the claim, and why. */
  deviations?: string;
  /**
   * The settings `looped verify --all` must cover: every variant, and the parameters where a
   * bug would show that the defaults cannot reach (absent: the defaults only). The first is the
   * defaults, `{ params: {} }`.
   */
  verifyAt?: VerifySetting[];
  build(params: Params): Built<I, O>;
  /**
   * The memory that building and running it takes, estimated from the parameters alone, where a
   * parameter can make it too big to fit (group-composition's |G|² MLP units): checked before the
   * build starts, so such work is refused at once rather than after a long build.
   */
  estimate?(params: Params): { bytes: number; what: string };
}

/**
 * What the user can lower when work does not fit: the parameters given away from their defaults
 * ("group=Z1000"), else every numeric parameter.
 */
export function lowerHint(c: Construction, params: Params): string {
  const changed = c.params.filter((p) => params[p.name] !== undefined && String(params[p.name]) !== p.default);
  const named = (changed.length > 0 ? changed : c.params.filter((p) => p.kind === 'int')).map((p) => `${p.name}=${String(params[p.name])}`);
  return named.length > 0 ? named.join(' or ') : 'its parameters';
}

/** Parses `k=v` parameters against the specs, filling defaults; names the parameter and its range on error. */
export function resolveParams(c: Construction, given: Record<string, string>): Params {
  const out: Params = {};
  for (const key of Object.keys(given)) {
    if (!c.params.some((p) => p.name === key)) {
      const known = c.params.map((p) => p.name).join(', ') || '(none)';
      throw new UsageError(`${c.id} has no parameter "${key}" (parameters: ${known})`);
    }
  }
  for (const p of c.params) {
    const text = given[p.name] ?? p.default;
    if (p.kind === 'int') {
      const v = Number(text);
      const range = `${p.min ?? '-∞'}..${p.max ?? '∞'}`;
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(v)) {
        throw new UsageError(`parameter ${p.name} of ${c.id} must be a whole number in ${range}, got "${text}"`);
      }
      if ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) {
        throw new UsageError(`parameter ${p.name} of ${c.id} is ${v}, outside its range ${range}`);
      }
      out[p.name] = v;
    } else {
      out[p.name] = text;
    }
  }
  return out;
}

export interface SizeRow {
  key: SizeKey;
  formula: string | null;
  claimed: number | null;
  built: number | null;
}

/** Built sizes beside the claimed formulas evaluated in the construction's scope. */
export function compareSizes(c: Construction, built: { scope: Record<string, number>; bits?: number }, sizes: ModelSizes): SizeRow[] {
  const keys: SizeKey[] = ['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads', 'headDim', 'bits'];
  return keys.map((key) => {
    const formula = c.claimed[key] ?? null;
    let claimed: number | null = null;
    if (formula !== null) {
      const v: unknown = evaluate(formula, { ...built.scope });
      claimed = typeof v === 'number' ? v : Number(v);
    }
    const b = key === 'bits' ? built.bits ?? null : sizes[key];
    return { key, formula, claimed, built: b };
  });
}

/** How a command line names the construction: its file where it came from one, else its id. */
export function commandName(c: Pick<Construction, 'id' | 'source'>): string {
  return c.source ?? c.id;
}
