// `looped certify`: a proof that a model computes its construction's algorithm on every input of a
// length, by a simulation argument (docs/certify.md). The construction declares an abstraction
// (certify/abstraction.ts); the certifier discharges, in exact arithmetic:
//   1 embedding  every token at every position embeds as the canonical vector of its initial state;
//   2 attention  every head attends to exactly the position the rule names, whatever the others hold;
//   3 update     every layer maps every configuration the rule reads to the next state's canonical vector;
//   4 readout    every final state's canonical vector reads out as its answer token;
//   5 rounds     the algorithm's rounds, as many as the model loops, compute the reference.
// 1–3 make "position i holds the canonical vector of the algorithm's state" an invariant of every
// layer and loop; 4 and 5 turn it into the answer. A failure names the obligation and, where it
// can, an input that reaches the failing configuration and a run of it that answers wrongly.
import { UnsupportedError } from '../common/errors.ts';
import type { Model } from '../simulators/model.ts';
import type { Abstraction } from './abstraction.ts';
import { checkAttention } from './attention.ts';
import { type Context, buildContext } from './context.ts';
import type { ExactVector } from './exact.ts';
import { exactRows } from './exact-model.ts';
import type { CertifyResult, Configuration, Failure, ObligationKind, ObligationTally } from './report.ts';
import { checkUpdate, newUpdateCache } from './update.ts';

export interface CertifyOptions {
  /**
   * Whether a model run of these tokens gives a wrong answer (the construction's encode, run,
   * decode and reference): used to turn a failing obligation into a counterexample.
   */
  judge?(tokens: number[]): boolean;
  /** Seed of the random completions tried when the first input reaching a failure answers right. */
  seed?: number;
}

type Tally = Record<ObligationKind, ObligationTally>;

export function certify<S>(model: Model, abs: Abstraction<S>, options: CertifyOptions = {}): CertifyResult {
  const t0 = performance.now();
  const ctx = buildContext(model, abs);
  const tally: Tally = {
    embedding: { kind: 'embedding', count: 0, minMargin: null },
    attention: { kind: 'attention', count: 0, minMargin: null },
    update: { kind: 'update', count: 0, minMargin: null },
    readout: { kind: 'readout', count: 0, minMargin: null },
    rounds: { kind: 'rounds', count: 0, minMargin: null },
  };
  const finish = (failure: Failure | null): CertifyResult => ({
    verdict: failure === null ? 'certified' : failure.fails ? 'refuted' : 'unproved',
    inputs: inputCount(abs),
    // A margin with no competitor (one visible key, one token) is infinite: null, as JSON would write it.
    obligations: Object.values(tally).map((o) => ({ ...o, minMargin: o.minMargin !== null && Number.isFinite(o.minMargin) ? o.minMargin : null })),
    rounds: { kind: abs.rounds.kind, argument: abs.rounds.argument },
    failure,
    seconds: (performance.now() - t0) / 1000,
  });
  const fail = (kind: ObligationKind, where: string, why: string, configuration: Configuration | null): CertifyResult => {
    const found = realize(ctx, configuration, options);
    return finish({ kind, where, why, configuration, input: found?.input ?? null, reaches: found?.reaches ?? false, loop: found?.loop ?? null, fails: found?.fails ?? false });
  };

  const embedded = checkEmbedding(ctx, tally.embedding);
  if (embedded) return fail('embedding', embedded.where, embedded.why, embedded.configuration);

  for (let layer = 0; layer < ctx.steps; layer++) {
    const att = checkAttention(ctx, layer);
    tally.attention.count += att.count;
    if (att.count > 0) tally.attention.minMargin = Math.min(tally.attention.minMargin ?? Infinity, att.minMargin);
    if (att.failure) return fail('attention', att.failure.where, att.failure.why, att.failure.configuration);
    const cache = newUpdateCache();
    for (let i = 0; i < ctx.n; i++) {
      const up = checkUpdate(ctx, layer, i, cache);
      tally.update.count += up.count;
      if (up.failure) return fail('update', up.failure.where, up.failure.why, up.failure.configuration);
    }
  }

  const read = checkReadout(ctx, tally.readout);
  if (read) return fail('readout', read.where, read.why, read.configuration);

  tally.rounds.count = 1;
  if (abs.rounds.check) {
    const bad = abs.rounds.check(model.stages[0].loops);
    if (bad) {
      const fails = bad.input !== null && (options.judge?.(bad.input) ?? false);
      return finish({ kind: 'rounds', where: `${model.stages[0].loops} loop(s)`, why: bad.why, configuration: null, input: bad.input, reaches: false, loop: null, fails });
    }
  }
  return finish(null);
}

function checkEmbedding<S>(ctx: Context<S>, tally: ObligationTally): { where: string; why: string; configuration: Configuration } | null {
  const { ex, abs, model } = ctx;
  const E = exactRows(ex, model.W_E);
  const P = exactRows(ex, model.W_pos);
  for (let i = 0; i < ctx.n; i++) {
    for (const token of abs.tokens(i)) {
      if (!Number.isInteger(token) || token < 0 || token >= model.vocab.dim) {
        throw new UnsupportedError(`the abstraction lets position ${i} hold token ${token}, outside the vocabulary 0..${model.vocab.dim - 1}`);
      }
      tally.count++;
      const state = abs.initial(i, token);
      const entry = ctx.byKey[0][i].get(abs.key(state));
      const where = `position ${i}, token ${model.vocab.labels[token]}`;
      const configuration: Configuration = { layer: 0, states: [{ position: i, state: abs.format(state), key: abs.key(state) }] };
      if (entry === undefined) return { where, why: `the initial state ${abs.format(state)} is not among the states declared at position ${i}`, configuration };
      const x = new Array<bigint>(ctx.d).fill(0n);
      for (const row of [E[token], P[i]]) for (const { col, w } of row) x[col] += w;
      if (!ex.equal({ num: x, level: 1 }, entry.vec)) {
        return { where, why: `the embedding is not the canonical vector of ${abs.format(state)}: ${differences(ctx, { num: x, level: 1 }, entry.vec)}`, configuration };
      }
    }
  }
  return null;
}

function checkReadout<S>(ctx: Context<S>, tally: ObligationTally): { where: string; why: string; configuration: Configuration } | null {
  const { ex, abs, model } = ctx;
  const U = exactRows(ex, model.W_U);
  const V = model.vocab.dim;
  const positions = model.readout === 'all' ? Array.from({ length: ctx.n }, (_, i) => i) : [ctx.n - 1];
  for (const i of positions) {
    for (const e of ctx.table[ctx.final][i]) {
      tally.count++;
      const logits = ex.times(e.vec, U, V);
      const want = abs.answerToken(i, e.state);
      const others = logits.num.filter((_, t) => t !== want);
      const best = others.reduce((a, b) => (b > a ? b : a), others[0] ?? 0n);
      const gap = others.length === 0 ? Infinity : ex.toNumber({ num: logits.num[want] - best, level: logits.level });
      tally.minMargin = Math.min(tally.minMargin ?? Infinity, gap);
      if (gap <= 0) {
        const rival = logits.num.findIndex((x, t) => t !== want && x === best);
        return {
          where: `readout at position ${i}`,
          why: `state ${abs.format(e.state)} should read out as ${model.vocab.labels[want]}, but ${model.vocab.labels[rival]} scores ${ex.toNumber({ num: best, level: logits.level })} ≥ ${ex.toNumber({ num: logits.num[want], level: logits.level })}`,
          configuration: { layer: ctx.final, states: [{ position: i, state: abs.format(e.state), key: e.key }] },
        };
      }
    }
  }
  return null;
}

/** The coordinates where two vectors differ, by label: "src2[0] is -1, not 1". */
export function differences<S>(ctx: Context<S>, got: ExactVector, want: ExactVector): string {
  const { ex } = ctx;
  const level = Math.max(got.level, want.level);
  const [g, w] = [ex.lift(got, level), ex.lift(want, level)];
  const wrong = g.num.flatMap((x, r) =>
    x !== w.num[r] ? [`${ctx.model.residual.labels[r]} is ${ex.formatScalar({ num: x, level })}, not ${ex.formatScalar({ num: w.num[r], level })}`] : [],
  );
  return `${wrong.slice(0, 4).join('; ')}${wrong.length > 4 ? `; … (${wrong.length} coordinates)` : ''}`;
}

/** Every input the certificate covers: Π |tokens(i)|, and as powers ("120^64"). */
function inputCount<S>(abs: Abstraction<S>): { count: string; power: string } {
  let count = 1n;
  const runs: [number, number][] = [];
  for (let i = 0; i < abs.length; i++) {
    const m = abs.tokens(i).length;
    count *= BigInt(m);
    if (m === 1) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] === m) last[1]++;
    else runs.push([m, 1]);
  }
  const merged = new Map<number, number>();
  for (const [m, c] of runs) merged.set(m, (merged.get(m) ?? 0) + c);
  const power = [...merged].map(([m, c]) => (c === 1 ? `${m}` : `${m}^${c}`)).join(' · ') || '1';
  return { count: count.toString(), power };
}

/** Inputs to try: every one where there are at most ENUMERATE_LIMIT, else a seeded random sample. */
const ENUMERATE_LIMIT = 20_000;
const SAMPLE = 2_000;
/** The most model runs spent judging candidates (each is an exact run of the whole model). */
const JUDGE_LIMIT = 200;

function* candidates<S>(abs: Abstraction<S>, seed: number): Generator<number[]> {
  const choices = Array.from({ length: abs.length }, (_, i) => abs.tokens(i));
  const total = choices.reduce((p, c) => p * c.length, 1);
  if (total <= ENUMERATE_LIMIT) {
    const at = new Array<number>(abs.length).fill(0);
    for (;;) {
      yield at.map((k, i) => choices[i][k]);
      let k = abs.length - 1;
      while (k >= 0 && at[k] === choices[k].length - 1) at[k--] = 0;
      if (k < 0) return;
      at[k]++;
    }
  }
  let state = seed >>> 0 || 1;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let s = 0; s < SAMPLE; s++) yield choices.map((c) => c[Math.floor(random() * c.length)]);
}

/** The loop (1-based) before which the rounds, run on these tokens, hold the configuration's states; null if none. */
function reachesAt<S>(ctx: Context<S>, tokens: readonly number[], configuration: Configuration): number | null {
  const { abs } = ctx;
  const k = ctx.layers.length;
  const unrolled = abs.boundaries === 'unrolled';
  let states = tokens.map((t, i) => abs.initial(i, t));
  const loops = ctx.model.stages[0].loops;
  // Step u applies layer u mod k in loop ⌊u/k⌋ + 1; its boundary is u (unrolled) or u mod k.
  for (let u = 0; u <= k * loops; u++) {
    const boundary = unrolled ? u : u % k;
    if (boundary === configuration.layer && configuration.states.every(({ position, key }) => abs.key(states[position]) === key)) return Math.floor(u / k) + 1;
    if (u === k * loops) break;
    states = states.map((s, i) => {
      const rule = abs.rule(boundary, i);
      return abs.next(boundary, i, rule.own ? s : null, rule.reads.map((p) => states[p]));
    });
  }
  return null;
}

/**
 * An input for a failing obligation: one whose rounds reach the failing configuration (and whose
 * run, preferably, answers wrongly), found among every input or a seeded sample of them; else one
 * whose run answers wrongly, found by search; else null.
 */
function realize<S>(ctx: Context<S>, configuration: Configuration | null, options: CertifyOptions): { input: number[]; reaches: boolean; loop: number | null; fails: boolean } | null {
  const judge = options.judge ?? (() => false);
  const seed = options.seed ?? 1;
  let judged = 0;
  let reaching: { input: number[]; loop: number } | null = null;
  if (configuration !== null) {
    for (const input of candidates(ctx.abs, seed)) {
      const loop = reachesAt(ctx, input, configuration);
      if (loop === null) continue;
      reaching ??= { input, loop };
      if (judged++ < JUDGE_LIMIT && judge(input)) return { input, reaches: true, loop, fails: true };
      if (judged >= JUDGE_LIMIT) break;
    }
    if (reaching === null && ctx.abs.realize) {
      const states = configuration.states.map(({ position, key }) => ctx.table[configuration.layer][position].find((e) => e.key === key)!.state);
      const found = ctx.abs.realize(configuration.states.map(({ position }, k) => ({ position, state: states[k] })));
      if (found) {
        if (judge(found.input)) return { input: found.input, reaches: true, loop: found.loop, fails: true };
        reaching = found;
      }
    }
  }
  if (options.judge) {
    judged = 0;
    for (const input of candidates(ctx.abs, seed + 1)) {
      if (judged++ >= JUDGE_LIMIT) break;
      if (judge(input)) return { input, reaches: false, loop: null, fails: true };
    }
  }
  return reaching ? { ...reaching, reaches: true, fails: false } : null;
}
