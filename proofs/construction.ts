// A theorem is data plus a builder: its statement, the sizes it claims as mathjs formulas in its
// parameters, and build(params), which returns the model with everything needed to check it
// (input encoding, answer decoding, the reference algorithm, random inputs).
import type { Arbitrary } from 'fast-check';
import { evaluate } from 'mathjs';
import { UsageError } from '../common/errors.ts';
import type { Abstraction } from '../certify/abstraction.ts';
import type { CotResult } from '../simulators/cot.ts';
import type { Model, ModelSizes } from '../simulators/model.ts';
import { type Rational, parseRational } from '../simulators/rational.ts';
import type { RunResult } from '../simulators/result.ts';

export type ParamValue = number | string;
/** Parameters as the command line gives them after resolveParams: whole numbers as numbers, everything else as its text. */
export type Params = Record<string, ParamValue>;

interface ParamSpecBase<N extends string> {
  name: N;
  describe: string;
  /** Default as the CLI would receive it. */
  default: string;
  /** Allowed forms, for help and errors ("Z<m>, D<m>, S<k>, table:<file.json>"); derived from the spec where absent. */
  forms?: string;
}

/**
 * Whole numbers in [min, max]. With `auto` (what it stands for, in words: "⌈log2 n⌉"), the word
 * `auto` is allowed too and reaches the build as the literal 'auto', which resolves it (orAuto):
 * the value it stands for is the construction's to compute, from the other parameters.
 */
export interface IntParamSpec<N extends string = string> extends ParamSpecBase<N> {
  kind: 'int';
  min?: number;
  max?: number;
  auto?: string;
}

/** One of a list of words (variants, attention kinds); `looped verify --all` must cover every one (tests/verify-all.test.ts). */
export interface ChoiceParamSpec<N extends string = string, V extends string = string> extends ParamSpecBase<N> {
  kind: 'choice';
  values: readonly V[];
}

/** An exact rational (1, 0.05, 3/64; simulators/rational.ts parseRational), optionally positive or in [min, max]; `auto` as for int. */
export interface RationalParamSpec<N extends string = string> extends ParamSpecBase<N> {
  kind: 'rational';
  positive?: boolean;
  min?: number;
  max?: number;
  auto?: string;
}

/** Free text the construction parses itself (a group name, a table file). */
export interface TextParamSpec<N extends string = string> extends ParamSpecBase<N> {
  kind: 'text';
}

export type ParamSpec = IntParamSpec | ChoiceParamSpec | RationalParamSpec | TextParamSpec;

/** The typed value of one spec: a choice's words, number (| 'auto'), Rational (| 'auto'), or text. */
export type ParamValueOf<P> = P extends { kind: 'choice'; values: readonly (infer V)[] }
  ? V
  : P extends { kind: 'int'; auto: string }
    ? number | 'auto'
    : P extends { kind: 'int' }
      ? number
      : P extends { kind: 'rational'; auto: string }
        ? Rational | 'auto'
        : P extends { kind: 'rational' }
          ? Rational
          : string;

/** The typed values of a list of specs, by name (what paramValues returns). */
export type ParamValues<S extends readonly ParamSpec[]> = { [P in S[number] as P['name']]: ParamValueOf<P> };

/**
 * Declares a construction's parameters keeping their names, kinds and choice values as literal
 * types, so paramValues(id, PARAMS, params) is typed ({ n: number; variant: 'corrected' | … }).
 */
export function defineParams<const S extends readonly ParamSpec[]>(specs: S): S {
  return specs;
}

/** What a parameter allows, in words: "1..64", "auto, 0..64", "corrected, erratum-1", a rational's forms. */
export function paramRange(p: ParamSpec): string {
  if (p.forms !== undefined) return p.forms;
  switch (p.kind) {
    case 'int':
      return `${p.auto !== undefined ? 'auto, ' : ''}${p.min ?? '-∞'}..${p.max ?? '∞'}`;
    case 'choice':
      return p.values.join(', ');
    case 'rational':
      return `${p.auto !== undefined ? 'auto, or ' : ''}${rationalWhat(p)} (1, 0.05, 3/64)`;
    case 'text':
      return 'text';
  }
}

function rationalWhat(p: RationalParamSpec): string {
  const bounds = p.min !== undefined || p.max !== undefined ? ` in ${p.min ?? '-∞'}..${p.max ?? '∞'}` : '';
  return `${p.positive ? 'a positive number' : 'a number'}${bounds}`;
}

/** "a or b", "one of a, b, c". */
function choiceWords(values: readonly string[]): string {
  return values.length === 2 ? `${values[0]} or ${values[1]}` : values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
}

/**
 * One parameter's value from its raw form (CLI text, or a number a caller passed to build), the
 * default where absent. Errors name the parameter, the construction and the range or the values.
 * `style` 'cli' words a whole number out of range as resolveParams always has ("is 0, outside its
 * range 1..32"); 'build' as the builders' readers have ("must be a whole number in 1..32, got 0").
 */
function parseParam(id: string, p: ParamSpec, raw: ParamValue | undefined, style: 'cli' | 'build'): number | string | Rational {
  const value = raw ?? p.default;
  const text = String(value).trim();
  const shown = typeof value === 'number' ? String(value) : `"${value}"`;
  const head = `parameter ${p.name} of ${id}`;
  switch (p.kind) {
    case 'int': {
      if (p.auto !== undefined && text === 'auto') return 'auto';
      const range = `${p.min ?? '-∞'}..${p.max ?? '∞'}`;
      const what = `${p.auto !== undefined ? 'auto or ' : ''}a whole number in ${range}`;
      const v = typeof value === 'number' ? value : Number(text);
      if (!Number.isSafeInteger(v) || (typeof value === 'string' && !/^-?\d+$/.test(text))) throw new UsageError(`${head} must be ${what}, got ${shown}`);
      if ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) {
        throw new UsageError(style === 'cli' ? `${head} is ${v}, outside its range ${range}${p.auto !== undefined ? ' (or auto)' : ''}` : `${head} must be ${what}, got ${shown}`);
      }
      return v;
    }
    case 'choice':
      if (!(p.values as readonly string[]).includes(text)) throw new UsageError(`${head} must be ${choiceWords(p.values)}, got "${String(value)}"`);
      return text;
    case 'rational': {
      if (p.auto !== undefined && text === 'auto') return 'auto';
      const what = `${p.auto !== undefined ? 'auto or ' : ''}${rationalWhat(p)} (1, 0.05, 3/64)`;
      let r: Rational;
      try {
        r = parseRational(text);
      } catch {
        throw new UsageError(`${head} must be ${what}, got ${shown}`);
      }
      const below = p.positive === true && (r.s < 0n || r.n === 0n);
      const outside = (p.min !== undefined && r.compare(p.min) < 0) || (p.max !== undefined && r.compare(p.max) > 0);
      if (below || outside) throw new UsageError(`${head} must be ${what}, got ${shown}`);
      return r;
    }
    case 'text':
      return String(value);
  }
}

/**
 * One parameter read by its spec, typed: what a builder calls for a parameter whose spec it
 * adjusts at build time (a maximum that depends on another parameter).
 */
export function readParam<const P extends ParamSpec>(id: string, spec: P, params: Params): ParamValueOf<P> {
  return parseParam(id, spec, params[spec.name], 'build') as ParamValueOf<P>;
}

/**
 * The parameters read by their specs, typed by name (defineParams keeps the names): what build()
 * starts with. It takes CLI text or numbers (a test's build({ n: 8 }), a weakening's { loops: 3 }),
 * fills the defaults, and refuses a bad value naming the parameter and its range or its values.
 */
export function paramValues<const S extends readonly ParamSpec[]>(id: string, specs: S, params: Params): ParamValues<S> {
  const out: Record<string, number | string | Rational> = {};
  for (const p of specs) out[p.name] = parseParam(id, p, params[p.name], 'build');
  return out as ParamValues<S>;
}

/** An `auto` parameter's value: the number given, or the construction's own (computed only when asked). */
export function orAuto<T>(value: T | 'auto', auto: () => T): T {
  return value === 'auto' ? auto() : value;
}

/** Size claims as mathjs expressions in the construction's numeric scope (BuiltConstruction.sizeScope). */
export type SizeKey = 'layersPerBlock' | 'loops' | 'width' | 'mlpWidth' | 'heads' | 'headDim' | 'bits';
export type ClaimedSizes = Partial<Record<SizeKey, string>>;

/** One interpreter setting a construction must hold under (exact, fixed:s with softmax, float64 with a scale). */
export interface InterpreterCheck {
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

export interface BuiltConstruction<I, O> {
  model: Model;
  /** Numbers the size formulas are evaluated in (n, G, p, s, …). */
  sizeScope: Record<string, number>;
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
  checks: InterpreterCheck[];
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
  /**
   * What `looped certify` proves the model against (certify/abstraction.ts): the algorithm's state
   * per position, the canonical residual of each state, each layer as a local rule. Given the
   * model certified (the exact check, or a model file of the same layout).
   */
  abstraction?(model: Model): Abstraction<unknown>;
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
export function modelFor(built: BuiltConstruction<unknown, unknown>, interpreter: string): Model {
  const family = interpreterFamily;
  const pick = (pred: (k: InterpreterCheck) => boolean) => built.checks.find(pred)?.model;
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
  params: readonly ParamSpec[];
  claimed: ClaimedSizes;
  /** Where the built sizes differ from the claim, and why. */
  deviations?: string;
  /**
   * The settings `looped verify --all` must cover: every variant, and the parameters where a
   * bug would show that the defaults cannot reach (absent: the defaults only). The first is the
   * defaults, `{ params: {} }`.
   */
  verifyAt?: VerifySetting[];
  /**
   * The settings `looped certify --all` certifies (each must be certified, or, marked `fails`,
   * refuted); absent: the construction declares no abstraction.
   */
  certifyAt?: VerifySetting[];
  build(params: Params): BuiltConstruction<I, O>;
  /**
   * The memory that building and running it takes, estimated from the parameters alone, where a
   * parameter can make it too big to fit (group-composition's |G|² MLP units): checked before the
   * build starts, so such work is refused at once rather than after a long build.
   */
  estimate?(params: Params): { bytes: number; what: string };
}

/**
 * A construction, checked against the contract with its input and answer types I and O: what a
 * construction module exports (`export const mine = defineConstruction<number[], number>({ … })`).
 * The object literal is typed in context (build's BuiltConstruction<I, O>, encode's input), and the result
 * goes into a Construction[] (the registry, a construction file's default export) with no cast.
 */
export function defineConstruction<I, O>(c: Construction<I, O>): Construction<I, O> {
  return c;
}

/**
 * What the user can lower when work does not fit: the parameters given away from their defaults
 * ("group=Z1000"), else every whole-number parameter that is not left at auto.
 */
export function lowerHint(c: Pick<Construction, 'params'>, params: Params): string {
  const changed = c.params.filter((p) => params[p.name] !== undefined && String(params[p.name]) !== p.default);
  const numeric = c.params.filter((p) => p.kind === 'int' && params[p.name] !== 'auto');
  const named = (changed.length > 0 ? changed : numeric).map((p) => `${p.name}=${String(params[p.name])}`);
  return named.length > 0 ? named.join(' or ') : 'its parameters';
}

/**
 * Parses `k=v` parameters against the specs, filling defaults; names the parameter and its range
 * or its values on error. Whole numbers come back as numbers; `auto`, choices, rationals (checked,
 * as given) and text as their text, so the result prints back as `--param` flags.
 */
export function resolveParams(c: Pick<Construction, 'id' | 'params'>, given: Record<string, string>): Params {
  const out: Params = {};
  for (const key of Object.keys(given)) {
    if (!c.params.some((p) => p.name === key)) {
      const known = c.params.map((p) => p.name).join(', ') || '(none)';
      throw new UsageError(`${c.id} has no parameter "${key}" (parameters: ${known})`);
    }
  }
  for (const p of c.params) {
    const v = parseParam(c.id, p, given[p.name], 'cli');
    out[p.name] = typeof v === 'object' ? (given[p.name] ?? p.default).trim() : v;
  }
  return out;
}

export interface SizeRow {
  key: SizeKey;
  formula: string | null;
  claimed: number | null;
  built: number | null;
}

/** Built sizes beside the claimed formulas evaluated in the construction's sizeScope. */
export function compareSizes(c: Construction, built: { sizeScope: Record<string, number>; bits?: number }, sizes: ModelSizes): SizeRow[] {
  const keys: SizeKey[] = ['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads', 'headDim', 'bits'];
  return keys.map((key) => {
    const formula = c.claimed[key] ?? null;
    let claimed: number | null = null;
    if (formula !== null) {
      const v: unknown = evaluate(formula, { ...built.sizeScope });
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
