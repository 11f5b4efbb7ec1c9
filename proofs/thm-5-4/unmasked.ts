// Theorem 5.4 (= B.5), variant (b): m steps of greedy CoT of any L-layer decoder in m loops of one
// block WITHOUT loop masks (the looped model's stage has mask null). The comparator of Lemma B.11,
// the counter of Lemma B.10 and the control gate of Lemma B.8, inside the block, do what variant
// (a)'s masks M^t(i) = 1[i − t ≥ n] (1-indexed) do: in loop t only positions i ≥ n + t − 1
// (0-based) take the block's output; every other position ends the loop as it began.
//
// SOURCE, INPUT, PRECONDITIONS: as variant (a) (proofs/thm-5-4/masked.ts) — a decoder (causal
// heads, readout 'last'), input (v, #^m), no CoT step with a top-two logit margin below 2^{−s},
// hard attention for exact checks, in F_s every source value within ±B_s. Nothing more: see THE
// GATE'S CONSTANT.
//
// THE STATE at position i: variant (a)'s d + 2s + 1 + 4V directions, then
//     cnt     (s)  sbin(n + t − 1) during loop t, at EVERY position: the embedding writes sbin(n)
//                  (loop 1) through θ_PE; the block adds 1 once a loop; no gate restores it
//     wrap    (1)  how many times the counter has wrapped past 2^s − 1 (0 while t ≤ m; EXTRA LOOPS)
//     M, Mnot (1+1) scratch: M = 1[i ≥ n + t − 1] and Mnot = 1 − M (0 between loops)
// Width d + 3s + 4 + 4V. The proof's d + 3s counts three codes (erratum 5): sbin(i), sbin(i − 1)
// and the counter's; the 4 are the constant 1, the wrap count, M and Mnot, and the 4V are variant
// (a)'s token one-hot and Lemma B.6/B.7 scratch.
//
// ONE BLOCK, L + 5 layers, looped m times, no mask:
//   layers 0..L−1   the source's layers, as (a);
//   layer L         the readout MLP of (a) and, in the same MLP, the comparator (Lemma B.11):
//                   M = 1[sbin(i) ≥ cnt], Mnot = 1[sbin(i) < cnt], and the increment (Lemma B.10):
//                   cnt ← cnt + 1, its carry out into wrap. Both read the counter before the
//                   increment, so in loop t, M = 1[i ≥ n + t − 1]: variant (a)'s mask;
//   layers L+1..L+3 Lemma B.7, as (a), except that tok is NOT cleared (it still holds the token the
//                   position began the loop with); layer L+1's MLP also holds the mask at 0 once
//                   the counter has wrapped: M ← relu(M − wrap), Mnot ← Mnot + M − relu(M − wrap);
//   layer L+4       SHIFT writes the one-hot predicted at position i − 1 into the scratch `onehot`
//                   (not into tok, and no θ_TE: the source parts are 0 here, Lemma B.7 cleared
//                   them). Its MLP clears `logits` and adds θ_PE(i) back (as (a)) and GATES
//                   (Lemma B.8 in place, x = onehot, y = to = tok, complement form):
//                   tok ← M ? onehot : tok, clearing onehot, M and Mnot. The gate's units write
//                   θ_TE of their output into the source parts too: tok after the gate is a sum
//                   of gate units with weights ±1, so θ_TE(tok) is the same units through θ_TE.
//
// WHY IT IS VARIANT (a). Between loops every position holds a TOKEN STATE: source parts θ_TE(τ) +
// θ_PE(i), tok = τ, the codes, scratch 0, the counter — where τ is a one-hot (0 for #; after a tie
// or a margin below 2^{−s}, some vector in [0, 1]^V). The embedding is one; variant (a)'s block
// leaves one everywhere (τ = what position i − 1 predicted); and a token state is a function of τ
// and i. So keeping a position's state means keeping its tok: the gate chooses between two
// V-vectors — the tok the position began with (no layer before the gate writes tok) and the new
// one-hot — and the last MLP rebuilds the rest, θ_TE(tok) + θ_PE(i), at every position. By induction
// on t, after every loop every position holds exactly what variant (a) leaves there, on every
// subspace (a) has, and cnt = sbin(n + t). No copy of the source parts is kept: that would cost
// d + V more directions (the source parts and tok) and a gate whose constant must bound the
// source's embeddings — this one needs no bound on the source at all.
//
// THE GATE'S CONSTANT. Lemma B.8 is exact for |x|, |y| ≤ 2^g (inclusive). Interval arithmetic on
// its inputs: x = onehot is a convex combination (SHIFT's attention) of Lemma B.6 outputs
// 2^s·relu(2^{−s} − Σ_u relu(ℓ_u − ℓ_v)) ∈ [0, 1]; y = tok is the embedding's one-hot ∈ {0, 1}, or
// an earlier gate output (x or y, by induction in [0, 1]). So every gate input is in [0, 1] for
// EVERY source: the decode–encode layers stand between the source's activations and the gate.
// GATE_BITS = 1 (2^1 = 2 ≥ 1); `gateBits` overrides it. writeGate takes g in 1..26, so no constant
// below the bound can be built (its range is inclusive: even 2^0 = 1 would do); a patched constant
// 1/2 breaks the simulation (tests/thm-5-4b.test.ts finds a shrunk counterexample). In F_s a
// g ≥ s rounds 2^g to B_s ≥ 1, still enough.
//
// IN THE FIXED POINT F_s: the comparator's sums stay within 2^s − 1 ≤ B_s (comparator.ts), the
// increment needs s ≥ 2 (increment.ts; the argmax needs it too), the gate and the hold units see
// values in [0, 1]. As for variant (a), the interpreter's bits must be at least the codes' s.
//
// EXTRA LOOPS. In loop t > m the counter n + t − 1 ≥ n + m is past every position: M = 0
// everywhere and every position is rebuilt from its own tok, unchanged. The counter's s bits wrap
// after 2^s − n loops; Lemma B.10's carry out of the top bit goes into `wrap`, and from then on the
// hold units keep M at 0, so any number of extra loops changes nothing but cnt and wrap. (Without
// them, the loop after the wrap sees the counter at 0 and recomputes every position.)
//
// SIZES: layers L + 5 (as (a)); heads max(H, 1) ≤ H + 1; width d + 3s + 4 + 4V; MLP width the
// largest of the source's d_FF, 2V + 2 + 2s (readout, comparator, increment), V(V − 1) + 2 (argmax
// and hold), V + 2(d + V) (embed, clears), V + N + 4V + 2(2V + 2) (clear, θ_PE lookup, gate and its clears).
//
// ERRATUM 6 (options comparatorBitOrder, incrementBitOrder; the registered variant erratum-6):
// every code in the state — sbin(i) from the embedding, the counter's sbin(n) — is least
// significant bit first, and so are both gadgets by default. The notes say only that Lemmas B.10
// and B.11 print opposite orders, not which prints which; a gadget reading MSB-first here is that
// slip composed as this module composes the two (comparator MSB-first is the registered choice).
// tests/thm-5-4-errata.test.ts shows both assignments fail, shrunk.
import { UsageError } from '../../common/errors.ts';
import type { Model } from '../../simulators/model.ts';
import { type Scalar, toRational } from '../../simulators/rational.ts';
import { embedPositionCodes } from '../codes.ts';
import { type BitOrder, writeComparator } from '../gadgets/comparator.ts';
import { writeGate } from '../gadgets/gate.ts';
import { writeIncrement } from '../gadgets/increment.ts';
import { addUnits } from '../gadgets/units.ts';
import { type Thm54Compiled, type Thm54Options, addDecodeLayers, addReadoutLayer, addShiftLayer, finishThm54, sourceParts, startThm54 } from './compiler.ts';

/** The gate's constant 2^g: every gate input lies in [0, 1] (see the header), so g = 1. */
export const GATE_BITS = 1;

export interface Thm54UnmaskedOptions extends Thm54Options {
  /** Exponent g of the gate's constant 2^g (Lemma B.8), 1..26; default GATE_BITS. */
  gateBits?: number;
  /**
   * ERRATUM 6 ONLY: the bit order in which the comparator (Lemma B.11) and the increment (Lemma
   * B.10) read the codes; both default to 'lsb-first', the order of every code in the state.
   * Opposite orders are the two lemmas composed as printed (see ERRATA in the header).
   */
  comparatorBitOrder?: BitOrder;
  incrementBitOrder?: BitOrder;
}

/** Theorem 5.4, variant (b): the block of variant (a) with the loop mask replaced by comparator, counter and gate. */
export function compileThm54Unmasked(source: Model, options: Thm54UnmaskedOptions): Thm54Compiled {
  const g = options.gateBits ?? GATE_BITS;
  if (!Number.isInteger(g) || g < 1 || g > 26) throw new UsageError(`Theorem 5.4 (b): the gate exponent gateBits must be a whole number in 1..26 (the gate's constant is 2^gateBits), got ${g}`);
  const n = options.n;
  if (options.codeBits !== undefined) throw new UsageError('Theorem 5.4 (b): codeBits (erratum 5) is for variant masks; the comparator needs codes of s bits');
  const draft = startThm54(source, options, {
    variant: 'no-masks',
    extra: (s) => ({
      cnt: { size: s, describe: 'sbin(n + t − 1) in loop t, at every position: the loop counter (Lemma B.10), sbin(n) from the embedding' },
      wrap: { size: 1, describe: 'how many times the counter has wrapped past 2^s − 1 (0 while t ≤ m); once ≥ 1, M is held at 0' },
      M: { size: 1, describe: 'scratch: M = 1[i ≥ n + t − 1] (Lemma B.11; 0 between loops)' },
      Mnot: { size: 1, describe: 'scratch: 1 − M, the gate\'s complement (0 between loops)' },
    }),
    name: (k) => `${k.source.name} CoT in ${k.m} loops (Theorem 5.4b, n=${k.n})`,
    describe: (k) =>
      `Theorem 5.4, variant (b): ${k.m} greedy CoT steps of "${k.source.name}" (depth ${k.L}) on a prompt of ${k.n} tokens, as a block of ` +
      `${k.L + 5} layers looped ${k.m} times on (v, ${k.start}^${k.m}) WITHOUT loop masks: a comparator on a counter (Lemmas B.10, B.11) and a ` +
      `gate (Lemma B.8, constant 2^${g}) keep positions i < n + t − 1 in loop t; s = ${k.s} bits`,
  });
  const { model, s, names } = draft;
  const counter = draft.extra.cnt;
  const wrap = draft.extra.wrap;
  const mask = draft.extra.M;
  const maskNot = draft.extra.Mnot;
  names.counter = counter;
  names.wrap = wrap;
  names.mask = mask;
  names.maskNot = maskNot;
  // The counter starts at n at every position (loop 1 keeps positions < n).
  embedPositionCodes(model, counter, s, () => n);

  // Layer L: readout; M = 1[i ≥ counter] and 1 − M; counter + 1 (both read the counter before it moves).
  const readout = addReadoutLayer(draft);
  readout.role += '; the mask M = 1[i ≥ n + t − 1] from the counter (Lemma B.11), and the counter advanced (Lemma B.10)';
  writeComparator(model, readout, { name: 'mask', a: names.pos, b: counter, ge: mask, lt: maskNot, bitOrder: options.comparatorBitOrder });
  writeIncrement(model, readout, { name: 'count', counter, overflow: wrap, bitOrder: options.incrementBitOrder });

  // Layers L+1..L+3: Lemma B.7; tok is kept (it is what the gate restores). Layer L+1 also holds M at 0 after a wrap.
  const decode = addDecodeLayers(draft, [...sourceParts(draft), names.logits]);
  const hold = addUnits(model, decode[0], {
    'mask.hold': { size: 2, labels: ['relu(M − wrap)', 'relu(M)'], describe: 'M ← relu(M − wrap): 0 once the counter has wrapped; Mnot gets the difference' },
  }, 'hold the mask at 0 after the counter wraps');
  hold.W_in.set(mask, ['mask.hold', 0], 1);
  hold.W_in.set(wrap, ['mask.hold', 0], -1);
  hold.W_out.set(['mask.hold', 0], mask, 1);
  hold.W_out.set(['mask.hold', 0], maskNot, -1);
  hold.W_in.set(mask, ['mask.hold', 1], 1);
  hold.W_out.set(['mask.hold', 1], mask, -1);
  hold.W_out.set(['mask.hold', 1], maskNot, 1);

  // Layer L+4: SHIFT into the scratch onehot; clear logits, θ_PE(i) back; the gate on tok, and θ_TE of its output.
  const { layer: shift } = addShiftLayer(draft, {
    to: names.onehot,
    embedding: false,
    role: 'SHIFT (Lemma B.9) into scratch; gate (Lemma B.8): tok ← M ? what position i − 1 predicted : tok; θ_TE(tok) + θ_PE(i) rebuilt',
    headRole: 'copies the argmax one-hot of position i − 1 into the scratch onehot (the gate decides whether it is kept)',
  });
  writeGate(model, shift, { name: 'gate', x: names.onehot, y: names.tok, mask, maskNot, to: names.tok, s: g, clear: [names.tok, names.onehot, mask, maskNot] });
  const mlp = shift.mlp!;
  const embedRows = source.W_E.rowsSparse();
  for (const [group, sign] of [['gate.x.pos', 1], ['gate.x.neg', -1], ['gate.y.pos', 1], ['gate.y.neg', -1]] as const) {
    for (let v = 0; v < draft.V; v++) {
      const unit = mlp.hidden.index(group, v);
      for (const e of embedRows[v]) mlp.W_out.setAt(unit, e.col, sign === 1 ? e.exact : e.exact.neg());
    }
  }
  return finishThm54(draft, null, { gateBits: g });
}

// ---------------------------------------------------------------- weakened on purpose

function expectUnmasked(c: Thm54Compiled, what: string): void {
  if (c.variant !== 'no-masks') throw new UsageError(`${what}: the model is Theorem 5.4 variant ${c.variant}; only variant no-masks has a gate and a counter`);
}

/**
 * Sets the gate's constant to K IN PLACE — every −2^g weight of M and 1 − M into the gate's units
 * becomes −K — so that a constant below the bound 1 (which writeGate cannot build) can be run and
 * seen to fail. Call invalidate(c.model) before running it again if it was validated already.
 */
export function setGateConstant(c: Thm54Compiled, K: Scalar): void {
  expectUnmasked(c, 'setGateConstant');
  const mlp = c.model.stages[0].layers[c.scope.L + 4].mlp!;
  const k = toRational(K).neg();
  for (let v = 0; v < c.scope.V; v++) {
    for (const group of ['gate.x.pos', 'gate.x.neg']) mlp.W_in.set(c.names.maskNot!, [group, v], k);
    for (const group of ['gate.y.pos', 'gate.y.neg']) mlp.W_in.set(c.names.mask!, [group, v], k);
  }
}

/**
 * Removes, IN PLACE, what holds the mask at 0 after the counter wraps (the wrap count's weight
 * into relu(M − wrap)): then the loop after the counter passes 2^s − 1 sees it at 0 and recomputes
 * every position — why the block keeps the wrap count. Call invalidate(c.model) as above.
 */
export function dropWrapHold(c: Thm54Compiled): void {
  expectUnmasked(c, 'dropWrapHold');
  c.model.stages[0].layers[c.scope.L + 1].mlp!.W_in.set(c.names.wrap!, ['mask.hold', 0], 0);
}
