// Properties of the engine itself: the interpreters agree, looping equals unrolling, masks freeze
// what they should, CoT decoding is what it says. Tests run them with a fixed seed; `looped
// verify` can run them with more cases.
import fc from 'fast-check';
import { decodeCot } from '../simulators/cot.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { maskRow } from '../simulators/model.ts';
import type { RunResult } from '../simulators/result.ts';
import { type RandomModelOptions, type RandomModelSpec, buildRandomModel, modelAndInputArbitrary } from '../simulators/random-model.ts';
import { maxOf } from '../simulators/extrema.ts';

/**
 * Every value of the exact run (residuals and logits) is k/2^e with e ≤ maxExp and |value| ≤ bound:
 * then float64 and fixed:26 compute every score and product without rounding or saturation, so
 * they must agree with exact to the last bit.
 */
export function exactRunIsRepresentable(r: RunResult, maxExp = 8, bound = 256): boolean {
  const ok = (text: string) => {
    const [num, den = '1'] = text.split('/');
    const d = BigInt(den);
    if ((d & (d - 1n)) !== 0n || d > 1n << BigInt(maxExp)) return false;
    const v = Number(num) / Number(den);
    return Math.abs(v) <= bound;
  };
  const snaps = r.trace ? [...r.trace.snapshots.values()] : [];
  return snaps.every((s) => (s.exact ?? []).every((row) => row.every(ok))) && r.readouts.every((o) => (o.exactLogits ?? []).every(ok));
}

function sameResult(a: RunResult, b: RunResult): string | null {
  if (a.readouts.length !== b.readouts.length) return `readout count ${a.readouts.length} vs ${b.readouts.length}`;
  for (let k = 0; k < a.readouts.length; k++) {
    const x = a.readouts[k];
    const y = b.readouts[k];
    if (x.token !== y.token) return `position ${x.position}: token ${x.token} (${a.interpreter}) vs ${y.token} (${b.interpreter})`;
    for (let v = 0; v < x.logits.length; v++) {
      if (x.logits[v] !== y.logits[v]) return `position ${x.position}: logit ${v} is ${x.logits[v]} (${a.interpreter}) vs ${y.logits[v]} (${b.interpreter})`;
    }
  }
  if (a.margins.attention !== b.margins.attention) return `attention margin ${a.margins.attention} vs ${b.margins.attention}`;
  if (a.margins.attentionTies !== b.margins.attentionTies) return `attention ties ${a.margins.attentionTies} vs ${b.margins.attentionTies}`;
  return null;
}

const HARD_MODELS: RandomModelOptions = { kinds: ['hard'], maxWidth: 4, maxHeadDim: 2, maxStages: 2 };

/** exact, fixed:26, float64 (and any other named interpreter) agree bit for bit on representable runs. */
export function interpretersAgreeOnRepresentableRuns(others: string[] = ['fixed:26', 'float64']): fc.IPropertyWithHooks<[{ spec: RandomModelSpec; tokens: number[] }]> {
  const ex = interpreterByName('exact');
  const rest = others.map(interpreterByName);
  return fc.property(modelAndInputArbitrary(HARD_MODELS), ({ spec, tokens }) => {
    const model = buildRandomModel(spec);
    const want = ex.run(model, tokens, { trace: true });
    fc.pre(exactRunIsRepresentable(want));
    for (const it of rest) {
      const got = it.run(model, tokens);
      const diff = sameResult(want, got);
      if (diff !== null) throw new Error(`exact and ${it.name} differ: ${diff}`);
    }
  });
}

/**
 * Whenever float64's margins exceed what float32 rounding can move (relative 1e-4 of the largest
 * logit, attention gaps likewise) and both see the same attention ties, float32 gives the same
 * answers. A failure here would be a float32 bug, not rounding.
 */
export function float32AgreesWhenMarginsAllow(): fc.IPropertyWithHooks<[{ spec: RandomModelSpec; tokens: number[] }]> {
  const f64 = interpreterByName('float64');
  const f32 = interpreterByName('float32');
  return fc.property(modelAndInputArbitrary({ kinds: ['hard', 'softmax'], maxWidth: 5, maxStages: 2 }), ({ spec, tokens }) => {
    const model = buildRandomModel(spec);
    const a = f64.run(model, tokens);
    const b = f32.run(model, tokens);
    const scale = 1 + maxOf(a.readouts.flatMap((r) => r.logits.map(Math.abs)));
    const tol = 1e-4 * scale;
    fc.pre(a.margins.logit > tol && (a.margins.attention > tol || a.margins.attention === 0) && a.margins.attentionTies === b.margins.attentionTies);
    a.readouts.forEach((r, k) => {
      if (r.token !== b.readouts[k].token) throw new Error(`float32 answered ${b.readouts[k].token}, float64 ${r.token} at position ${r.position} with margin ${a.margins.logit}`);
    });
  });
}

/** The spec with every stage written out loop by loop into one stage of kL layers (weights copied). */
export function unrolledSpec(spec: RandomModelSpec): RandomModelSpec {
  const layers = spec.stages.flatMap((s) => Array.from({ length: s.loops }, () => structuredClone(s.layers)).flat());
  return { ...spec, stages: [{ layers, loops: 1, mask: null }] };
}

/** A (k ⊗ L) model (several stages: middle looping too) equals its unrolled (kL ⊗ 1) copy, exactly. */
export function loopedEqualsUnrolled(): fc.IPropertyWithHooks<[{ spec: RandomModelSpec; tokens: number[] }]> {
  const ex = interpreterByName('exact');
  return fc.property(modelAndInputArbitrary({ ...HARD_MODELS, maxStages: 3 }), ({ spec, tokens }) => {
    const looped = ex.run(buildRandomModel(spec), tokens);
    const flat = ex.run(buildRandomModel(unrolledSpec(spec), 'unrolled'), tokens);
    looped.readouts.forEach((r, k) => {
      const u = flat.readouts[k];
      if (r.exactLogits!.join() !== u.exactLogits!.join()) {
        throw new Error(`position ${r.position}: looped logits [${r.exactLogits}] vs unrolled [${u.exactLogits}]`);
      }
    });
  });
}

export const MASK_EXPRESSIONS = ['i >= t', 'i < t', 'mod(i + t, 2) == 0', 'i + t >= len', 'i == len - 1'];

/** In a masked stage, a position with M^t(i) = 0 leaves loop t exactly as it entered it. */
export function maskedPositionsUnchanged(): fc.IPropertyWithHooks<[{ spec: RandomModelSpec; tokens: number[] }]> {
  const ex = interpreterByName('exact');
  return fc.property(modelAndInputArbitrary({ ...HARD_MODELS, maxStages: 1, masks: MASK_EXPRESSIONS }), ({ spec, tokens }) => {
    const model = buildRandomModel(spec);
    const trace = ex.run(model, tokens, { trace: true }).trace!;
    const stage = model.stages[0];
    let before = trace.get('hook_embed');
    for (let t = 1; t <= stage.loops; t++) {
      const after = trace.afterLoop(t);
      const m = maskRow(stage.mask, t, stage.loops, tokens.length);
      m.forEach((on, i) => {
        if (!on && after.exact![i].join() !== before.exact![i].join()) {
          throw new Error(`loop ${t}, position ${i}: mask is 0 but the residual changed from [${before.exact![i]}] to [${after.exact![i]}]`);
        }
      });
      before = after;
    }
  });
}

/** CoT decoding of m steps equals m calls of the model on the growing prefix. */
export function cotEqualsManualDecoding(interpreter = 'exact'): fc.IPropertyWithHooks<[{ spec: RandomModelSpec; tokens: number[] }, number]> {
  const it = interpreterByName(interpreter);
  return fc.property(
    modelAndInputArbitrary({ ...HARD_MODELS, maxLen: 8, readouts: ['last'] }),
    fc.integer({ min: 1, max: 4 }),
    ({ spec, tokens }, m) => {
      const model = buildRandomModel(spec);
      fc.pre(tokens.length + m - 1 <= spec.maxLen);
      const cot = decodeCot(it, model, tokens, m);
      const seq = [...tokens];
      for (let i = 1; i <= m; i++) {
        const r = it.run(model, seq);
        if (r.answer === null) {
          if (cot.tieAt !== i) throw new Error(`manual decoding tied at step ${i}, CoT reported ${cot.tieAt}`);
          return;
        }
        if (cot.generated[i - 1] !== r.answer) throw new Error(`step ${i}: CoT gave ${cot.generated[i - 1]}, manual ${r.answer}`);
        seq.push(r.answer);
      }
      if (cot.answer !== seq[seq.length - 1] || cot.tieAt !== null) throw new Error(`CoT answer ${cot.answer}, manual ${seq[seq.length - 1]}`);
    },
  );
}
