// Corollary 5.3: p-hop induction by ONE layer looped O(log p) times (the paper: ⌊log2 p⌋ + 2
// loops of one layer with at most 3 heads, from Theorem B.12 through Theorem 5.2).
//
// One layer with three heads, all of them active in every loop:
//   shift   reads v_{i−1} into prev (Lemma B.4 aimed at i − 1);
//   search  the content search of common.ts, copying the difference sbin(j) + 1, onehot(v_j) − ⊥
//           into the scratch na, nb, ntb;
//   read    a Lemma B.4 read at a_i, copying a, b, tb into the same scratch na, nb, ntb.
// and one MLP that commits the scratch: a ← na always, b ← nb and tb ← ntb when the fold flag is
// 1; clears the scratch; clears prev after every loop but the first; adds 1 to the loop counter;
// and sets the fold flag for the next loop from the counter.
//
// Loop by loop (t = 1, 2, …; T = ⌈log2 p⌉ + 2 loops in all):
//   t = 1  a = sbin(0) everywhere, so `read` reads the start slot and copies the start values
//          (a ← a: nothing changes); prev is empty, so `search` falls back to the start slot and
//          adds 0; `shift` fills prev, and the MLP keeps it (keep = 1).
//   t = 2  `search` sees prev and adds sbin(f(i)) + 1 onto the start values `read` copied:
//          na = nb = sbin(f(i)), ntb = v_{f(i)}; the fold flag is 1, so a = b = f, tb = v_f.
//          The MLP clears prev (and will after every loop from now on), so `search` is idle
//          from loop 3 on: it falls back to the start slot and adds 0.
//   t ≥ 3  round l = t − 3 of common.ts: a ← a[a_i]; b, tb ← b[a_i], tb[a_i] when bit l of p − 1
//          is set (the fold flag).
// The loop counter `count` (loops completed) selects what each loop does through the fold flag:
// the MLP writes fold ← F(count + 2), the flag of the next loop, where F is 1 at loop 2 and at the
// loops 3 + l with bit l of p − 1 set, and 0 from loop T + 1 on. F is a sum of integer-interval
// indicators, 4 ReLUs per run of consecutive loops, so the MLP grows with p (erratum 8: d_FF is
// O(1) + O(L), not O(1)).
//
// EXTRA LOOPS. After loop T the fold flag stays 0 and prev stays empty, so b and tb never change
// again (a keeps squaring, which is harmless): the answer is stable under any number of extra
// loops, in exact arithmetic. In fixed:s the largest pre-activation of the schedule in loop t is
// count + 1 = t, so the schedule is exact while t < B_s = 2^s − 2^{−s}, i.e. in the first
// 2^s − 1 loops. That covers every flag the algorithm needs (the flag of loop T is written in loop
// T − 1 ≤ 7 = 2^3 − 1, as T ≤ 8 for p ≤ 64), but not unboundedly many extra loops: those are
// checked in exact arithmetic.
import { type Params, defineConstruction, defineParams, orAuto, readParam } from '../construction.ts';
import { addStage, createLayer, type Model } from '../../simulators/model.ts';
import type { Selector } from '../../simulators/space.ts';
import { type PHopBuilt, type PHopOutput, pHopBuilt } from './built.ts';
import { addContentSearch, addPointerRead, addShift, createPHopModel } from './common.ts';
import { type PHopConfig, P_HOP_PARAMS, P_HOP_VERIFY_AT, readConfig } from './config.ts';
import { type Unit, buildMlp, gatedMove, moveCode } from './mlp.ts';
import { pHopLockstep } from './lockstep.ts';

const ID = 'p-hop';

/** The loops (1-based) in which the fold flag is 1: loop 2 and loop 3 + l for each set bit l of p − 1. */
export function foldLoops(p: number, rounds: number): number[] {
  const out = [2];
  for (let l = 0; l < rounds; l++) if (Math.floor((p - 1) / 2 ** l) % 2 === 1) out.push(3 + l);
  return out;
}

/** Maximal runs [u, v] of consecutive integers in a sorted list. */
export function runsOf(xs: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const x of xs) {
    const last = runs[runs.length - 1];
    if (last && x === last[1] + 1) last[1] = x;
    else runs.push([x, x]);
  }
  return runs;
}

function controlMlp(model: Model, cfg: PHopConfig) {
  const { alphabet: A, p, rounds } = cfg;
  const ma = moveCode(model, 'a', 'na');
  const mb = gatedMove(model, 'b', 'nb', 'fold', 'code');
  const mtb = gatedMove(model, 'tb', 'ntb', 'fold', 'onehot');
  const prevUnits: Unit[] = Array.from({ length: A }, (_, c) => ({
    label: `clear prev[${c}] unless keep`,
    in: [
      [['prev', c], 1],
      ['keep', -1],
    ],
    bias: 0,
    out: [[['prev', c], -1]],
  }));
  const keepUnits: Unit[] = [{ label: 'keep → 0', in: [['keep', 1]], bias: 0, out: [['keep', -1]] }];
  // fold ← F(count + 2): minus the old flag, plus Σ over runs [u, v] of 1[u ≤ x ≤ v] with x = count + 2,
  // 1[x ≥ u] = relu(x − u + 1) − relu(x − u) on integers (exactly 0 below u − 1 and 1 from u on).
  const foldUnits: Unit[] = [{ label: 'old fold', in: [['fold', 1]], bias: 0, out: [['fold', -1]] }];
  const step = (at: number, sign: number) => {
    foldUnits.push({ label: `loop ≥ ${at}: +`, in: [['count', 1]], bias: 2 - at + 1, out: [['fold', sign]] });
    foldUnits.push({ label: `loop ≥ ${at}: −`, in: [['count', 1]], bias: 2 - at, out: [['fold', -sign]] });
  };
  const runs = runsOf(foldLoops(p, rounds));
  for (const [u, v] of runs) {
    step(u, 1);
    step(v + 1, -1);
  }
  const mlp = buildMlp(
    model,
    'commit',
    'commits what the heads read (a always; b and tb when fold = 1), clears the scratch, runs the loop counter and the fold schedule',
    [
      { name: 'move-a', describe: 'a ← na, na ← 0', units: ma.units },
      { name: 'move-b', describe: 'b ← nb when fold = 1; nb ← 0', units: mb.units },
      { name: 'move-tb', describe: 'tb ← ntb when fold = 1; ntb ← 0', units: mtb.units },
      { name: 'prev', describe: 'prev ← 0 after every loop but the first, so the search is idle from loop 3 on', units: prevUnits },
      { name: 'keep', describe: 'keep ← 0 after loop 1', units: keepUnits },
      { name: 'fold', describe: `fold ← 1 exactly in loops ${foldLoops(p, rounds).join(', ')} (runs ${runs.map(([u, v]) => (u === v ? `${u}` : `${u}–${v}`)).join(', ')})`, units: foldUnits },
    ],
    [...ma.bOut, ...mb.bOut, ...mtb.bOut, ['count', 1] as [Selector, number]],
  );
  return { mlp, runs: runs.length };
}

export interface LoopedBuilt extends PHopBuilt {
  /** Loops the algorithm needs, 2 + ⌈log2 p⌉ (the model may run another number: param loops). */
  neededLoops: number;
}

export function buildLooped(params: Params): LoopedBuilt {
  const cfg = readConfig(ID, params);
  const { p, n, s, alphabet, rounds } = cfg;
  const needed = 2 + rounds;
  const loops = orAuto(readParam(ID, LOOPS_PARAM, params), () => needed);
  const model = createPHopModel(
    cfg,
    { control: true },
    `p-hop p=${p} n=${n} alphabet=${alphabet}${loops !== needed ? ` (${loops} loops)` : ''}`,
    `looped p-hop (Corollary 5.3): one layer with three heads, looped ${loops} times (${needed} needed)`,
  );
  const layer = createLayer('shift, content search and one pointer-doubling read; the MLP commits by the loop counter');
  addShift(model, layer, cfg);
  addContentSearch(model, layer, cfg, { code: ['na', 'nb'], token: 'ntb' });
  addPointerRead(model, layer, cfg, {
    name: 'read',
    role: 'reads a, b and tb at the position a_i',
    query: 'a',
    copies: [
      { name: 'a', from: 'a', to: 'na' },
      { name: 'b', from: 'b', to: 'nb' },
      { name: 'tb', from: 'tb', to: 'ntb' },
    ],
  });
  const { mlp, runs } = controlMlp(model, cfg);
  layer.mlp = mlp;
  addStage(model, [layer], loops);

  return {
    ...pHopBuilt(cfg, model, {
      depth: { param: 'loops', needed },
      lockstep: pHopLockstep(cfg, model.residual, 'loop', (run, t) => run.trace!.afterLoop(t), Math.min(loops, needed)),
      sizeScope: { p, n, alphabet, s, L: Math.floor(Math.log2(p)), R: rounds, runs },
      extraLoopsStable: {
        holds: true,
        why: 'from loop 2 + ⌈log2 p⌉ + 1 on the fold flag is 0 and prev is empty, so b and tb never change (a keeps squaring, harmlessly)',
      },
    }),
    neededLoops: needed,
  };
}

const LOOPS_PARAM = {
  name: 'loops',
  describe: 'loops to run (auto = 2 + ⌈log2 p⌉, what the algorithm needs); fewer is the weakening "one loop fewer", more shows stability',
  default: 'auto',
  kind: 'int',
  min: 0,
  max: 1000,
  auto: '2 + ⌈log2 p⌉, what the algorithm needs',
} as const;

const PARAMS = defineParams([...P_HOP_PARAMS, LOOPS_PARAM]);

export const pHop = defineConstruction<number[], PHopOutput>({
  id: ID,
  title: 'p-hop induction, one layer looped (pointer doubling)',
  theorem: 'Corollary 5.3',
  statement:
    'p-hop induction is computed by one transformer layer with at most 3 heads looped ⌊log2 p⌋ + 2 times (Theorem B.12 ' +
    'through Theorem 5.2). Built here directly: one layer whose three heads are the shift, the content search and a Lemma ' +
    'B.4 pointer read, and whose MLP commits what they read according to a loop counter in the residual stream; looped ' +
    '2 + ⌈log2 p⌉ times on [start, v_1..v_m] it answers hop_p(v) at the last position (⊥ as the start token), and more ' +
    'loops change nothing.',
  params: PARAMS,
  // paper-notes §3, Corollary 5.3: "looping one layer ⌊log2 p⌋ + 2 times, at most 3 heads", Theorem
  // B.12 through Theorem 5.2 ("width d+R+2, MLP width R·d_FF + O(L), R·H heads of size d_ATTN"), and
  // erratum 8: "Cor. 5.3 claims d_FF = O(1)". With B.12's O(1) taken as the constants of
  // p-hop-direct (4·alphabet + 11, 2·alphabet + 6, alphabet + 3; a pointer as one number) and R = 3
  // distinct layers: width (4·alphabet + 11) + 3 + 2; MLP width the O(1) the corollary claims, R·d_FF
  // = 3(2·alphabet + 6) with no O(L) term (erratum 8 is that this term is missing); head size d_ATTN.
  // None depends on n or p.
  claimed: {
    layersPerBlock: '1',
    loops: 'floor(log2(p)) + 2',
    heads: '3',
    width: '4*alphabet + 16',
    mlpWidth: '3*(2*alphabet + 6)',
    headDim: 'alphabet + 3',
    bits: 'ceil(log2(n))',
  },
  deviations:
    'Loops: 2 + ⌈log2 p⌉, the claimed ⌊log2 p⌋ + 2 when p is a power of two and one more otherwise, for the reason given ' +
    'for Theorem B.12 (p-hop-direct): after the shift and the search only f^0 and f^1 are held, and each loop of reads at ' +
    'most doubles the largest power. The O(1) sizes are claimed as p-hop-direct\'s constants through Theorem 5.2 (width ' +
    '4·alphabet + 16, MLP width 3(2·alphabet + 6), head size alphabet + 3; a pointer as one number). Built with s-bit ' +
    'pointer codes: width 6s + 4·alphabet + 8 (the B.12 model\'s plus 3: counter, keep flag, fold flag; within Theorem ' +
    '5.2\'s d + R + 2 for the built d), head size 2s + alphabet + 1, both O(log n); MLP width 5s + 4·alphabet + 5 plus 4 ' +
    'units per run of consecutive folding loops, which grows with p as well (erratum 8: d_FF is O(1) + O(L), not O(1)). ' +
    'Bits: s = max(3, ⌈log2(n + 1)⌉) as for B.12; fixed:s keeps the content search hard (search=hard); search=softmax ' +
    'runs it as softmax and fails, at every s (see common.ts, SOFTMAX SEARCH).',
  verifyAt: P_HOP_VERIFY_AT,
  build: buildLooped,
});
