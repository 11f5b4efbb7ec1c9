// Corollary 5.3 as the paper derives it: Theorem B.12 (p-hop-direct, a non-looped model of depth
// L = 2 + ⌈log2 p⌉) compiled by Theorem 5.2 (proofs/thm-5-2-loop-one-layer.ts) into ONE layer
// looped L times — the route, built and checked, beside the hand-built Corollary 5.3 (`p-hop`,
// proofs/p-hop/looped.ts), which writes the looped layer directly.
//
// THE INPUT. p-hop-direct already reads [#, v_1..v_m] (its vocabulary has # as the start slot ⊥),
// and Theorem 5.2 puts a NEW token at position 0, so the compiled model reads
//     [<s>, #, v_1, …, v_m]      (<s> = START below; the compiled vocabulary is 0..A−1, #, <s>)
// and its position i + 1 is p-hop-direct's position i. The answer is read where the source reads
// it (the last position; readout=all: every position but the <s>, which is not the source's).
//
// THE CHECKS, each the source's check model compiled by Theorem 5.2:
//   exact    p-hop-direct with hard attention, compiled: the answer is hop_p(v), exactly;
//   fixed:b  p-hop-direct's fixed-point check model (the Lemma B.4 heads softmax, the content
//            search hard), compiled with Theorem 5.2's fixedPoint gates, run in F_b at the bits b
//            the compiler says its gates need (Thm52Compiled.bits): the corollary's "log n bits"
//            measured on the composed model — b is 11..22 where ⌈log2 n⌉ is 3..6 (the gates B, C,
//            and the counter must not saturate), so this is the `bits` row of the size table;
//   float64  p-hop-direct's float64 check model (every head softmax at β = 64·2^s), compiled: the
//            gate B then includes Theorem 5.2's softmax gap (e^{−800} underflows), so the compiled
//            model's softmax weights are the source's.
// Every source is converted with softmaxSharing / positionalSoftmaxSharing, which keep B.12's
// shared round layers shared (withAttention copies every listed layer, which Theorem 5.2 would then
// count as distinct: R = L).
//
// LOCKSTEP. Loop l of the compiled model is depth l of the source, so after loop l the pointers at
// positions 1..m+1 decode to the state of the iterative algorithm after its step l (the same
// decoding as p-hop-direct after layer l: prev after the shift, then a and b of pointer doubling),
// AND Theorem 5.2's own lockstep holds: x is the source's residual after depth l, the layer mask is
// 1_R − e_{r(l+1)}, l = l + 1, and the # of Theorem 5.2 (here <s>) still holds x = 0.
//
// EXTRA LOOPS (they change the answer, and that is Theorem 5.2's doing, not B.12's). After loop L
// the counter is l = L + 1 and the layer mask still selects r(L), the last doubling round, which
// always folds (bit ⌈log2 p⌉ − 1 of p − 1 is its top bit). The MLP gate −C·inactive does not depend
// on l, so only r(L)'s MLP units fire. What the heads do depends on Theorem 5.2's attention gate:
//   gate 'push' (the default): an idle head's position 0 scores A − 2B·l (A = B(2L + 1)) against
//     its other keys' source score − B·l, so it stays idle while B(2L + 1 − l) > M, i.e. for
//     l ≤ 2L: in the loops L + k, k ≤ L, exactly the last folding round runs again —
//     a ← a[a_i], b ← b[a_i], tb ← tb[a_i] with a = f^(2^(R+k−1)) — and after L + k loops
//         b = f^(p + 2^R·(2^k − 1)),  the answer is hop_{p + 2^R(2^k − 1)}(v),  R = ⌈log2 p⌉
//     (p ≥ 2; tested for k = 1..L). p = 1 (shift and search, no round) keeps hop_1: the search
//     runs again and adds onehot(v_f) − onehot(⊥) to tb once more, which leaves its argmax.
//   gate 'position-0' (the notes' gate): an idle head's position 0 scores B(L+1) − B·l, which is 0
//     at l = L + 1 — a Lemma B.4 head's target scores 0 too, so hard attention splits ½–½ between
//     <s> (value 0) and the target — and negative after: every head runs. The state leaves the
//     codes (halves in prev, a, b) and the answer is neither hop_p nor the formula above.
// Either way extraLoopsStable is false: Theorem 5.2 promises the output after exactly L loops; the
// hand-built p-hop is stable (its fold flag stays 0 after loop L).
//
// SIZES. The claim is the corollary's (the same formulas as `p-hop`: paper-notes §3, "looping one
// layer ⌊log2 p⌋ + 2 times, at most 3 heads", d_FF = O(1) as the corollary states it — erratum 8);
// thm52Formula() evaluates Theorem 5.2's own formulas on the B.12 build (d + R + 2, R·d_FF + 3L + 1,
// R·H, d_ATTN). The compiled MLP width is Σ_k d_FF(k) + (layers with b_2 ≠ 0) + 1 + 3·(changes of
// layer between consecutive depths): the O(L) of erratum 8 is 3 units per change of layer, so it
// grows with L exactly when the schedule keeps changing layer — p − 1 with alternating bits
// (p = 3, 6, 11, 22, 43: fold and plain rounds alternate) — and stays at 2 changes (shift → search →
// round) for p a power of two, whose rounds all fold (one layer object, no hat between them).
// Bits: the claim is the corollary's log n (⌈log2 n⌉); built is the fixed:b check's b.
import { evaluate } from 'mathjs';
import { UsageError } from '../../common/errors.ts';
import { MAX_BITS } from '../../simulators/arithmetic/fixed.ts';
import type { Layer, Model, ModelSizes } from '../../simulators/model.ts';
import { modelSizes } from '../../simulators/model.ts';
import { loadModel, saveModel } from '../../simulators/model-file.ts';
import { toRational } from '../../simulators/rational.ts';
import type { RunResult } from '../../simulators/result.ts';
import type { Snapshot } from '../../simulators/trace.ts';
import { type InterpreterCheck, type ChoiceParamSpec, type ClaimedSizes, type Params, type SizeKey, defineConstruction, readParam } from '../construction.ts';
import { type PHopBuilt, type PHopOutput, decodeAnswer } from '../p-hop/built.ts';
import { ALPHABET_PARAM, type PHopConfig, P_PARAM, READOUT_PARAM } from '../p-hop/config.ts';
import { pHopLockstep } from '../p-hop/lockstep.ts';
import { type DirectBuilt, buildDirect } from '../p-hop/direct.ts';
import { buildLooped, pHop } from '../p-hop/looped.ts';
import { CLAIMED as THM52_CLAIMED, type Gate, type Thm52Compiled, VARIANTS, type Variant, compileThm52Info, lockstepRows as thm52LockstepRows, withStart } from '../thm-5-2-loop-one-layer.ts';

const ID = 'cor-5.3-compiled';

/** Theorem 5.2's new token at position 0 (p-hop already uses # for its start slot ⊥). */
export const START = '<s>';

/** n is kept to 64 (p-hop-direct allows 4096): the compiled exact runs carry every source direction plus the gates. */
const N_MAX = 64;

/**
 * The model with every head switched to softmax at `scale`, keeping which layers are the same
 * object (withAttention copies each listed layer, so a round listed three times would become three
 * distinct layers to Theorem 5.2).
 */
export function softmaxSharing(model: Model, scale: number): Model {
  const f = toRational(scale);
  const copies = new Map<Layer, Layer>();
  const copy = (l: Layer): Layer => {
    let c = copies.get(l);
    if (c === undefined) {
      c = { ...l, heads: l.heads.map((h) => ({ ...h, kind: 'softmax' as const, scale: h.scale.mul(f) })) };
      copies.set(l, c);
    }
    return c;
  };
  return { ...model, stages: model.stages.map((s) => ({ ...s, layers: s.layers.map(copy) })) };
}

/**
 * B.12's fixed-point check model (proofs/p-hop/common.ts positionalSoftmax: the Lemma B.4 heads
 * softmax at their own scale, the content search hard), keeping shared layers shared.
 */
export function positionalSoftmaxSharing(model: Model): Model {
  const copies = new Map<Layer, Layer>();
  const copy = (l: Layer): Layer => {
    let c = copies.get(l);
    if (c === undefined) {
      c = { ...l, heads: l.heads.map((h) => (h.name === 'search' ? h : { ...h, kind: 'softmax' as const })) };
      copies.set(l, c);
    }
    return c;
  };
  return { ...model, stages: model.stages.map((s) => ({ ...s, layers: s.layers.map(copy) })) };
}

export interface Cor53Compiled {
  config: PHopConfig;
  /** The B.12 build (hard attention), its depth and distinct layers. */
  direct: DirectBuilt;
  /** Theorem 5.2 applied to the B.12 build (the exact check's model). */
  compiled: Thm52Compiled;
  /** Theorem 5.2 applied to B.12's float64 check model (softmax at its scale). */
  floatCompiled: Thm52Compiled;
  /** Theorem 5.2 with its fixed-point gates applied to B.12's fixed-point check model; run in fixed:<its bits>. */
  fixedCompiled: Thm52Compiled;
}

/** Builds p-hop-direct with the given parameters and compiles it (and its float64 check model) by Theorem 5.2. */
/** Theorem 5.2's attention gate for the exact and float64 compilations (tests compare 'position-0', the notes' gate, on extra loops). */
export interface Cor53Options {
  gate?: Gate;
}

export function compileCor53(params: Params, o: Cor53Options = {}): Cor53Compiled {
  const v = readParam(ID, VARIANT_PARAM, params);
  const rest = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'variant')); // the rest are p-hop-direct's
  const direct = buildDirect({ ...rest, layers: 'auto' });
  const cfg = direct.config;
  if (cfg.n > N_MAX) throw new UsageError(`parameter n of ${ID} is ${cfg.n}, outside its range 1..${N_MAX}`);
  const tag = v === 'corrected' ? '' : ` (${v})`;
  const compiled = compileThm52Info(direct.model, { variant: v, gate: o.gate, startToken: START, name: `${direct.model.name}, compiled by Theorem 5.2${tag}` });
  const floatCompiled = compileThm52Info(softmaxSharing(direct.model, cfg.scale), {
    variant: v,
    gate: o.gate,
    startToken: START,
    name: `${direct.model.name}, softmax at ${cfg.scale}, compiled by Theorem 5.2${tag}`,
  });
  const fixedCompiled = compileThm52Info(positionalSoftmaxSharing(direct.model), {
    variant: v,
    fixedPoint: true,
    startToken: START,
    name: `${direct.model.name}, positional heads softmax, compiled by Theorem 5.2 for F_s${tag}`,
  });
  return { config: cfg, direct, compiled, floatCompiled, fixedCompiled };
}

/** The compiled model's input for v: [<s>, #, v_1..v_m]. */
export function compiledInput(c: Cor53Compiled, v: number[]): number[] {
  return withStart(c.compiled, c.direct.encode(v));
}

/** The run as the source's positions: the readout at <s> (position 0, readout=all) dropped. */
function asSourceRun(run: RunResult): RunResult {
  return { ...run, readouts: run.readouts.filter((r) => r.position > 0) };
}

/** A snapshot of the compiled model as the source's positions (position 0, the <s>, dropped). */
function asSourceSnapshot(snap: Snapshot): Snapshot {
  return { key: snap.key, values: snap.values.slice(1), exact: snap.exact?.slice(1) };
}

/** The numbers both claims are evaluated in: Theorem 5.2's scope of the source (d, R, L, H, dFF, dATTN) and p-hop's (p, n, alphabet, s). */
export function cor53Scope(c: Cor53Compiled): Record<string, number> {
  const { p, n, alphabet, s } = c.config;
  return { ...c.compiled.scope, p, n, alphabet, s };
}

const KEYS: SizeKey[] = ['layersPerBlock', 'loops', 'width', 'mlpWidth', 'heads', 'headDim', 'bits'];

function evaluateAll(claimed: ClaimedSizes, scope: Record<string, number>): Partial<Record<SizeKey, number>> {
  const out: Partial<Record<SizeKey, number>> = {};
  for (const k of KEYS) {
    const f = claimed[k];
    if (f !== undefined) out[k] = Number(evaluate(f, { ...scope }));
  }
  return out;
}

/** Theorem 5.2's size formulas evaluated on the B.12 build (its d, R, L, H, d_FF, d_ATTN). */
export function thm52Formula(c: Cor53Compiled): Partial<Record<SizeKey, number>> {
  return evaluateAll(THM52_CLAIMED, c.compiled.scope);
}

export interface Cor53SizeRow {
  p: number;
  n: number;
  alphabet: number;
  /** Depth of the B.12 build = loops of the compiled model. */
  L: number;
  /** Distinct layers of the B.12 build. */
  R: number;
  /** Changes of layer between consecutive depths: Theorem 5.2 builds one hat (3 units) for each. */
  changes: number;
  compiled: ModelSizes;
  /**
   * The CLI route: `looped export p-hop-direct`, then `looped compile thm-5.2 --source` on the file. A
   * model file lists every layer of a stage as its own object, so there R = L and every depth but
   * the first changes layer: the MLP width is Σ over all L layers + one hat per depth.
   */
  fromFile: ModelSizes;
  /** The hand-built Corollary 5.3 (`p-hop`) at the same p, n, alphabet. */
  handBuilt: ModelSizes;
  /** The B.12 build (`p-hop-direct`). */
  direct: ModelSizes;
  /** The corollary's claim (the same formulas as `p-hop`'s). */
  claim: Partial<Record<SizeKey, number>>;
  /** Theorem 5.2's formulas on B.12's sizes. */
  thm52: Partial<Record<SizeKey, number>>;
  /** Bits of F_s the compiled model's fixed-point gates need (the fixed:b check), and B.12's own s. */
  bits: number;
  sourceBits: number;
}

/** Compiled sizes beside the hand-built Corollary 5.3, B.12, the corollary's claim and Theorem 5.2's formula. */
export function cor53SizeRow(p: number, n: number, alphabet = 4): Cor53SizeRow {
  const c = compileCor53({ p, n, alphabet });
  const hand = buildLooped({ p, n, alphabet });
  return {
    p,
    n,
    alphabet,
    L: c.compiled.scope.L,
    R: c.compiled.scope.R,
    changes: c.compiled.hats.length,
    compiled: modelSizes(c.compiled.model),
    fromFile: modelSizes(compileThm52Info(loadModel(saveModel(c.direct.model)), { startToken: START }).model),
    handBuilt: modelSizes(hand.model),
    direct: modelSizes(c.direct.model),
    claim: evaluateAll(pHop.claimed, cor53Scope(c)),
    thm52: thm52Formula(c),
    bits: c.fixedCompiled.bits,
    sourceBits: c.config.s,
  };
}

export interface Cor53Built extends PHopBuilt {
  compiledCor53: Cor53Compiled;
}

export function buildCor53Compiled(params: Params, o: Cor53Options = {}): Cor53Built {
  const c = compileCor53(params, o);
  const { direct, compiled, floatCompiled, config: cfg } = c;
  const L = compiled.scope.L;
  const algorithm = pHopLockstep(cfg, compiled.model.residual, 'loop', (run, t) => asSourceSnapshot(run.trace!.afterLoop(t)), L);
  const bits = c.fixedCompiled.bits;
  const checks: InterpreterCheck[] = [
    { label: 'exact, hard attention: B.12 compiled by Theorem 5.2 answers hop_p(v)', interpreter: 'exact', model: compiled.model },
    // The bits the fixed-point gates need (sFs); above MAX_BITS fixed:s cannot run, and there is no such check.
    ...(bits <= MAX_BITS
      ? [
          {
            label: `fixed:${bits} (the bits Theorem 5.2's F_s gates need): B.12's fixed-point check model (positional heads softmax, search hard) compiled`,
            interpreter: `fixed:${bits}`,
            model: c.fixedCompiled.model,
          },
        ]
      : []),
    { label: `float64: B.12's softmax check model (every head at scale ${cfg.scale}) compiled by Theorem 5.2`, interpreter: 'float64', model: floatCompiled.model },
  ];
  return {
    config: cfg,
    compiledCor53: c,
    model: compiled.model,
    sizeScope: cor53Scope(c),
    bits: bits <= MAX_BITS ? bits : undefined,
    encode: (v) => compiledInput(c, v),
    decode: (run) => decodeAnswer(cfg, asSourceRun(run)),
    reference: direct.reference,
    equal: direct.equal,
    parseInput: direct.parseInput,
    formatAnswer: direct.formatAnswer,
    formatInput: direct.formatInput,
    arbitrary: direct.arbitrary,
    exhaustive: direct.exhaustive,
    searchArbitrary: direct.searchArbitrary,
    checks,
    lockstep: {
      describe:
        'loop l = depth l of B.12: prev after loop 1, then pointers a, b = pointerDoublingRounds(v, p−1) (b composed with f); ' +
        "and Theorem 5.2's state: x = B.12's residual after depth l, mask 1_R − e_{r(l+1)}, l + 1, x = 0 at <s>",
      compare(v, run: RunResult) {
        const source = direct.encode(v);
        const a = algorithm.compare(v, run);
        const b = thm52LockstepRows(compiled, source, run, 'exact');
        return a.map((row, k) => ({ loop: row.loop, expected: { algorithm: row.expected, thm52: b[k].expected }, got: { algorithm: row.got, thm52: b[k].got } }));
      },
    },
    extraLoopsStable: {
      holds: false,
      why:
        "after loop L Theorem 5.2's counter is L + 1 and its mask still selects the last (folding) round, so each extra loop folds " +
        'again: with the default gate (push) the answer after L + k loops (k ≤ L, p ≥ 2) is hop_{p + 2^R(2^k − 1)}(v), R = ⌈log2 p⌉; ' +
        "with the notes' gate (position-0) inactive heads stop attending to <s> and the state leaves the codes. Theorem 5.2 promises " +
        'the output after exactly L loops (the hand-built p-hop is stable)',
    },
  };
}

const H = 'hand-built `p-hop` (Corollary 5.3 written directly)';

/** Theorem 5.2's compiler variant (thm-5.2's VARIANTS). */
const VARIANT_PARAM: ChoiceParamSpec<'variant', Variant> = {
  name: 'variant',
  describe: "Theorem 5.2's compiler: corrected (default), or exactly as printed: erratum-3 (gate signs swapped), erratum-4 (hat with a factor 0.5)",
  default: 'corrected',
  kind: 'choice',
  values: VARIANTS,
};

export const cor53Compiled = defineConstruction<number[], PHopOutput>({
  id: ID,
  title: 'p-hop induction: Theorem B.12 compiled by Theorem 5.2 (Corollary 5.3 as derived)',
  theorem: 'Corollary 5.3 = Theorem 5.2 ∘ Theorem B.12',
  statement:
    'Corollary 5.3 is Theorem B.12 compiled by Theorem 5.2: the non-looped p-hop model (p-hop-direct, depth L = 2 + ⌈log2 p⌉, ' +
    'R ≤ 4 distinct layers of one head) becomes one layer looped L times with R heads that computes hop_p(v) at the last ' +
    'position. Built here by running the Theorem 5.2 compiler on the B.12 build (and on its softmax check model), on the ' +
    'input [<s>, #, v_1..v_m]: <s> is Theorem 5.2\'s new token, # is B.12\'s start slot. Checked against hop_p (exact; ' +
    'fixed:b at the bits b its fixed-point gates need; float64), loop by loop ' +
    `against the iterative algorithm, and its sizes against the corollary's claim (d_FF = O(1), erratum 8) and the ${H}.`,
  params: [
    P_PARAM,
    { name: 'n', describe: 'longest input v_1..v_n (the compiled model reads <s>, #, v_1..v_n)', default: '16', kind: 'int', min: 1, max: N_MAX },
    ALPHABET_PARAM,
    READOUT_PARAM,
    VARIANT_PARAM,
  ],
  // paper-notes §3, Corollary 5.3: "looping one layer ⌊log2 p⌋ + 2 times, at most 3 heads", with B.12's
  // d = d_FF = d_ATTN = O(1) carried through — the very formulas of the hand-built `p-hop`, whose
  // comment explains the constants (a pointer as one number); erratum 8 is that the mlpWidth
  // claim has no O(L) term.
  claimed: Object.fromEntries(KEYS.filter((k) => pHop.claimed[k] !== undefined).map((k) => [k, pHop.claimed[k]!])) as ClaimedSizes,
  deviations:
    'Loops: L = 2 + ⌈log2 p⌉, B.12\'s depth as built (one more than ⌊log2 p⌋ + 2 unless p is a power of two, see p-hop-direct). ' +
    'Heads: R, the distinct layers of B.12 (shift, search, folding round, plain round): 4 when p − 1 has both set and unset ' +
    'bits, against the claimed 3. Width: d + R + 2 (Theorem 5.2) on B.12\'s d = 6s + 4·alphabet + 5, O(log n) as for B.12. ' +
    'MLP width: Σ_k d_FF(k) + (R − 2 output-bias units) + 1 counter + 3 per change of layer in the schedule — the O(L) of ' +
    'Theorem 5.2 that the corollary\'s O(1) drops (erratum 8); it grows by 3 a loop when fold and plain rounds alternate ' +
    '(p = 3, 6, 11, 22, 43) and is constant in p for p a power of two. Head size: B.12\'s d_ATTN (its value subspaces are the ' +
    'largest; the 2 gate coordinates fit under it). ' +
    'Bits: the claim is log n (⌈log2 n⌉); the compiled model runs in F_b at the b its fixed-point gates need (Theorem 5.2\'s ' +
    'sFs: no gate, counter or score may saturate), 11..22 for p ≤ 64, n ≤ 64 — the B.12 source alone needs max(3, ⌈log2(n+1)⌉). ' +
    'Extra loops change the answer (Theorem 5.2\'s counter runs past L; see proofs/compositions/cor-5-3-compiled.ts).',
  verifyAt: [
    { params: {} },
    { params: { readout: 'all' } },
    // p − 1 = 101: fold, plain, fold — the schedule changes layer at every depth (the most hats).
    { params: { p: '6', n: '12' } },
    { params: { variant: 'erratum-3' }, fails: "erratum 3: Theorem 5.2's attention extras as printed do not send inactive heads to position 0" },
    { params: { variant: 'erratum-4' }, fails: "erratum 4: Theorem 5.2's hat with its factor 0.5 gives a mask of halves" },
  ],
  build: (params) => buildCor53Compiled(params),
});
