// Theorem B.12 (Sanford, Hsu, Telgarsky 2024, as cited by the paper): p-hop induction by a
// non-looped transformer of ⌊log2 p⌋ + 2 layers, one head per layer, constant width, log n bits.
//
// Built here (see common.ts for the algorithm, the precision and why the depth is what it is):
//   layer 1      shift head: prev ← v_{i−1}                                   (no MLP)
//   layer 2      content search: a = b = f(i), tb = v_{f(i)}                  (no MLP)
//   layer 3 + l  (l = 0..R−1, R = ⌈log2 p⌉) one Lemma B.4 head reading at a_i:
//                a ← a[a_i]; when bit l of p − 1 is set also b ← b[a_i], tb ← tb[a_i];
//                the MLP moves what the head read from scratch into place.
// A round that folds and one that does not are different weights, so the model has up to four
// distinct layers (shift, search, folding round, plain round); one layer object is reused for
// every round of a kind. Making all rounds one layer needs the round index in the residual
// stream — that is what the looped construction (Corollary 5.3, looped.ts) does.
import { type ParamSpec, type Params, defineConstruction, defineParams, orAuto, readParam } from '../construction.ts';
import { addStage, createLayer, type Layer, type Model } from '../../simulators/model.ts';
import { type PHopBuilt, type PHopOutput, distinctLayerCount, pHopBuilt } from './built.ts';
import { addContentSearch, addPointerRead, addShift, createPHopModel } from './common.ts';
import { type PHopConfig, P_HOP_PARAMS, P_HOP_VERIFY_AT, readConfig } from './config.ts';
import { buildMlp, moveCode, moveOneHot } from './mlp.ts';
import { pHopLockstep } from './lockstep.ts';

const ID = 'p-hop-direct';

/** One doubling round as a layer: read at a; copy a, and b and tb too when it folds. */
function roundLayer(model: Model, cfg: PHopConfig, fold: boolean): Layer {
  const layer = createLayer(fold ? 'round: a ← a[a_i], b ← b[a_i], tb ← tb[a_i] (this bit of p − 1 is set)' : 'round: a ← a[a_i] (this bit of p − 1 is 0)');
  addPointerRead(model, layer, cfg, {
    name: fold ? 'read-fold' : 'read',
    role: fold ? 'reads a, b and tb at the position a_i' : 'reads a at the position a_i',
    query: 'a',
    copies: fold
      ? [
          { name: 'a', from: 'a', to: 'na' },
          { name: 'b', from: 'b', to: 'nb' },
          { name: 'tb', from: 'tb', to: 'ntb' },
        ]
      : [{ name: 'a', from: 'a', to: 'na' }],
  });
  const ma = moveCode(model, 'a', 'na');
  const groups = [{ name: 'move-a', describe: 'a ← na, na ← 0 (codes are ±1, so relu(x + 1) − 1 = x)', units: ma.units }];
  const bOut = [...ma.bOut];
  if (fold) {
    const mb = moveCode(model, 'b', 'nb');
    groups.push({ name: 'move-b', describe: 'b ← nb, nb ← 0', units: mb.units });
    groups.push({ name: 'move-tb', describe: 'tb ← ntb, ntb ← 0 (one-hots are 0/1, so relu(x) = x)', units: moveOneHot(model, 'tb', 'ntb') });
    bOut.push(...mb.bOut);
  }
  layer.mlp = buildMlp(model, fold ? 'commit-fold' : 'commit', 'moves the pointers read by the head into place and clears the scratch', groups, bOut);
  return layer;
}

export interface DirectBuilt extends PHopBuilt {
  /** Layers of the full construction (2 + ⌈log2 p⌉); the model may keep fewer (param layers). */
  fullDepth: number;
  distinctLayers: number;
}

export function buildDirect(params: Params): DirectBuilt {
  const cfg = readConfig(ID, params);
  const { p, n, s, alphabet, rounds } = cfg;
  const fullDepth = 2 + rounds;
  const keep = orAuto(readParam(ID, { ...LAYERS_PARAM, max: fullDepth }, params), () => fullDepth);
  const model = createPHopModel(
    cfg,
    { control: false },
    `p-hop-direct p=${p} n=${n} alphabet=${alphabet}${keep < fullDepth ? ` (first ${keep} of ${fullDepth} layers)` : ''}`,
    `non-looped p-hop (Theorem B.12): shift, content search, then ${rounds} pointer-doubling rounds`,
  );
  const shift = createLayer('shift: prev ← v_{i−1}');
  addShift(model, shift, cfg);
  const search = createLayer('content search: a = b = f(i) = find_1(v, i), tb = v_{f(i)}');
  addContentSearch(model, search, cfg, { code: ['a', 'b'], token: 'tb' });
  let foldLayer: Layer | null = null;
  let plainLayer: Layer | null = null;
  const layers: Layer[] = [shift, search];
  for (let l = 0; l < rounds; l++) {
    const fold = Math.floor((p - 1) / 2 ** l) % 2 === 1;
    if (fold) layers.push((foldLayer ??= roundLayer(model, cfg, true)));
    else layers.push((plainLayer ??= roundLayer(model, cfg, false)));
  }
  addStage(model, layers.slice(0, keep), 1);

  return {
    ...pHopBuilt(cfg, model, {
      depth: { param: 'layers', needed: fullDepth },
      lockstep: pHopLockstep(cfg, model.residual, 'layer', (run, t) => run.trace!.get(`loop1.blocks.${t - 1}.hook_resid_post`), keep),
      sizeScope: { p, n, alphabet, s, L: Math.floor(Math.log2(p)), R: rounds },
      extraLoopsStable: {
        holds: false,
        why:
          'B.12 is not a looped model: its one stage is the whole stack, and running it again would repeat the shift and the ' +
          'search, which add into prev, a, b and tb a second time. Extra loops are a property of the looped version (p-hop).',
      },
    }),
    fullDepth,
    distinctLayers: distinctLayerCount(model),
  };
}

/** Depth: at most 2 + ⌈log2 64⌉ = 8 layers; a build refuses more than its own 2 + ⌈log2 p⌉. */
const LAYERS_PARAM = {
  name: 'layers',
  describe: 'keep only the first k layers (auto = all, 2 + ⌈log2 p⌉, at most that): the weakening "one layer fewer" of the counterexample search',
  default: 'auto',
  kind: 'int',
  min: 1,
  max: 8,
  auto: '2 + ⌈log2 p⌉, all layers',
} as const satisfies ParamSpec;

const PARAMS = defineParams([...P_HOP_PARAMS, LAYERS_PARAM]);

export const pHopDirect = defineConstruction<number[], PHopOutput>({
  id: ID,
  title: 'p-hop induction, non-looped (pointer doubling)',
  theorem: 'Theorem B.12',
  statement:
    'For every p and n there is a non-looped transformer with ⌊log2 p⌋ + 2 layers, one head per layer, at most 3 distinct ' +
    'layers, width, MLP width and head size O(1) and log n bits of precision that computes hop_p(v) = v_{find_p(v, n)} ' +
    '(⊥ when find_p(v, n) = 0) at the last position (Sanford, Hsu, Telgarsky 2024). Built here on [start, v_1..v_m]: a shift ' +
    'head (v_{i−1}), a content-search head (f = find_1, largest matching position by a j·2^{−s} score term), then ⌈log2 p⌉ ' +
    'Lemma B.4 reads at a = f^(2^l) that square a and fold the bits of p − 1 into b, which starts at f.',
  params: PARAMS,
  // paper-notes §3, Corollary 5.3 and Theorem B.12: "a ⌊log2 p⌋ + 2 layer model with log n bits, at
  // most 3 distinct layers, d = d_FF = d_ATTN = O(1), one head". The O(1) comes with no constant, so it
  // is claimed as the constant the same state has when a pointer or position is ONE number of log n
  // bits, as the paper counts it: six pointer/position numbers (sbin(i), sbin(i − 1), a, b and the
  // scratch na, nb), the four one-hot token slots (tok and tb with ⊥, prev, ntb with ⊥: 4·alphabet + 3)
  // and two scalars (the constant, i·2^−s): 4·alphabet + 11; MLP: 2 units a direction moved (write
  // the new value, clear the old) for a and b (one number each) and tb's alphabet + 1 entries:
  // 2·alphabet + 6; a head: its query/key and value with each pointer one number, alphabet + 3. None depends on n or p, so a build whose pointers take s directions
  // exceeds them, by a multiple of s − 1 (see deviations).
  claimed: {
    layersPerBlock: 'floor(log2(p)) + 2',
    loops: '1',
    heads: '1',
    width: '4*alphabet + 11',
    mlpWidth: '2*alphabet + 6',
    headDim: 'alphabet + 3',
    bits: 'ceil(log2(n))',
  },
  deviations:
    'Layers: 2 + ⌈log2 p⌉, which is the claimed ⌊log2 p⌋ + 2 when p is a power of two (p = 1, 2, 4, 8, 16, 32, 64, the ' +
    "paper's p = 16 and 32 included) and ⌊log2 p⌋ + 3 otherwise: after the shift and the search a position holds only f^0 " +
    'and f^1, each positional read composes two held maps, so r reads reach at most f^(2^r); reaching ⌊log2 p⌋ + 2 would need ' +
    'f one layer earlier, i.e. a content search that excludes its own position, which we did not find as a bilinear score in ' +
    'O(log n) bits. Distinct layers: up to 4 (shift, search, folding round, plain round); 3 when the bits of p − 1 are all 1 ' +
    '(p a power of two) — B.12 says at most 3. Width, MLP width, head size: the paper says O(1) with no constant, counting a ' +
    'pointer as one number of log n bits; the claim is that constant for this state (4·alphabet + 11, 2·alphabet + 6, ' +
    'alphabet + 3: each pointer one number). Here a pointer is an s-bit ±1 code (s directions, so Lemma B.4 reads it ' +
    'exactly in F_s), so the build is O(s + alphabet) = O(log n): width 6s + 4·alphabet + 5, MLP width 4s + 2·alphabet + 2, ' +
    'head size 2s + alphabet + 1 — above the O(1) claim by 6(s − 1), 4(s − 1) and 2(s − 1), growing with n (constant in p). ' +
    'Bits: s = max(3, ⌈log2(n + 1)⌉) against the claimed ⌈log2 n⌉: one more when n is a power of two (n + 1 positions with ' +
    'the start slot) and at least 3 so the MLP arithmetic fits in F_s. fixed:s runs the positional heads as softmax (exactly ' +
    'one-hot) but the content search as hard attention (search=hard): in the paper\'s F_s (no max subtraction) no softmax ' +
    'head after the shift layer is exactly one-hot on the last of two matches, at ANY s — the start slot and two matches ' +
    'need an exp range of 2^(2s+2) and F_s holds 2^(2s) (proofs/p-hop/common.ts, SOFTMAX SEARCH). search=softmax runs ' +
    'the best such head (one-hot whenever at most one match precedes i) and fails; "log n bits with softmax" holds here ' +
    'only for a max-subtracting softmax (the float64 check).',
  verifyAt: P_HOP_VERIFY_AT,
  build: buildDirect,
});
