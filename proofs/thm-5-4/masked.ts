// Theorem 5.4 (= B.5), variant (a) with explicit loop masks (Def. B.4): m steps of greedy CoT of
// any L-layer decoder in m loops of one block — the compiler (compileThm54).
//
// Variant (b), without masks, is proofs/thm-5-4/unmasked.ts; the steps both build (state, embedding,
// source layers, readout, decode–encode, SHIFT) are proofs/thm-5-4/compiler.ts; what checks both
// (lockstepRows, withSoftmaxShift, …) proofs/thm-5-4/lockstep.ts, the precondition
// proofs/thm-5-4/precondition.ts, and the registered construction `thm-5.4` (its errata, its
// parameter `variant`: masks (a) or no-masks (b)) proofs/thm-5-4-cot-loops.ts.
//
// SOURCE. A decoder: every head causal, readout 'last', no loop masks; its stages unroll to depth
// L (a Layer object listed twice runs twice; the block below lists it twice, sharing it). Width d
// under the source's own subspace names, vocabulary Σ (|Σ| = V), position embedding θ_PE for at
// least the n + m − 1 positions its CoT reads.
//
// THE LOOPED MODEL reads (v, #^m): n prompt tokens, then m new tokens # (N = n + m positions).
// THE STATE at position i (0-based), width d + 2s + 1 + 4V, s = ⌊log2(n + m)⌋ + 1 bits by default:
//     <source parts> (d)   the source residual stream
//     pos    (s)   sbin(i)                        (position embedding; never written)
//     prev   (s)   sbin(max(i − 1, 0))            (position embedding; never written)
//     one    (1)   the constant 1                 (position embedding; never written)
//     tok    (V)   the one-hot of the token held at i (0 for #): what the readout reads
//     logits (V)   scratch: ℓ = x·W_U, then the one-hot of its argmax; 0 between loops
//     onehot (V), sums (V)   scratch of Lemma B.6/B.7; 0 between loops
// The embedding of (token v, position i) — the state the block must leave at every position it
// fixes — is source θ_TE(v) + θ_PE(i) on the source parts, e_v on tok, the codes, scratch 0 (# is
// 0 on the source parts and on tok; θ_PE(i) is 0 where i is beyond the source's positions).
//
// ONE BLOCK, L + 5 layers, looped m times with the mask of loop t
//     M^t(i) = 1[i − t ≥ n] (1-indexed)  =  `i + 1 - t >= n` (0-based i): positions ≥ n + t − 1
//     (0-based) take the block's output, the others keep their state (Def. B.3);
//   layers 0..L−1   the source's layers, weights copied onto the source parts (they read and
//                   write nothing else);
//   layer L         MLP, units readout.pos/neg (2V): relu(±⟨x, U_v⟩) → logits = x·W_U exactly;
//   layers L+1..L+3 Lemma B.7 (proofs/gadgets/decode-embed.ts, writeDecodeEmbed) with the
//                   identity as θ_TE: logits ← one-hot of argmax ℓ, and the source parts and tok
//                   are CLEARED (set to 0);
//   layer L+4       SHIFT (Lemma B.9): the Lemma B.4 head (addOneHotHead, query prev, key pos)
//                   reads the one-hot in `logits` at position i − 1 and writes it into tok and,
//                   through W_O = θ_TE, the source token embedding into the source parts; its MLP
//                   clears `logits` (relu(ℓ_v), V units) and adds θ_PE(i) back to the source
//                   parts by a lookup on sbin(i): unit k is relu(⟨sbin(k), pos⟩ − (s − 1)·one) =
//                   1[i = k] (N units).
// So at every position the block leaves exactly the embedding of (what position i − 1 predicted,
// i) — including at positions whose prediction was tied (then the k-hot sum of the tied tokens'
// embeddings), which is harmless: those are later positions, recomputed before any is read.
//
// WHY IT SIMULATES (lockstep). Before loop t, positions 0..n+t−2 hold the embeddings of v and of
// CoT tokens 1..t−1. In loop t every position runs the block; position n+t−2 attends (causally)
// only to positions ≤ n+t−2, so its source part after layer L−1 is exactly the source's residual
// at the last position of the prefix of length n+t−1: its argmax is CoT token t, and SHIFT hands
// it to position n+t−1 (0-based), which the mask lets through (n+t−1 + 1 − t ≥ n), while the
// mask keeps every earlier position as it was. After loop t, position n+t−1 holds the embedding
// of CoT token t (the notes' "position n+t", 1-indexed); after loop m the last position does, and
// the readout (tok ↦ its token; # gets 0) answers TF^m(v).
//
// PRECONDITIONS (the property generator filters on them, and says so):
//   * no tie for the top logit at any CoT step, and more: the top logit exceeds every other by at
//     least 2^{−s} (Lemma B.6 on the grid 2^{−s}·Z; under exact arithmetic the logits of a hard-
//     attention model with integer weights are rationals, not on any fixed grid, so the margin is
//     what the argmax needs). With a tie greedy decoding is undefined (decodeCot reports it) and
//     the argmax net returns the sum of the tied one-hots;
//   * hard attention for exact checks (exact arithmetic refuses softmax);
//   * in F_s (fixed:s) every source value within ±B_s and the argmax needs s ≥ 2.
//
// SIZES: layers L + 5 (the claim: L + O(1)); heads max(H, 1) ≤ H + 1; width d + 2s + 1 + 4V. The
// proof's extra width is 3s (erratum 5: "constantly many" in the statement, 3s in the proof, with
// s = ⌊log(n+m)⌋ + 1 — it grows with log(n + m)); this variant needs no code of n + t (the mask
// is explicit), so 2s + 1, plus 4V of token and scratch directions that the paper's Lemma B.7
// leaves inside its MLP. MLP width max(source d_FF, V(V − 1), V + 2(d + 2V), V + N).
//
// SOFTMAX SOURCES. The source's layers are copied as they are, softmax heads and score scales
// included; the only head the compiler adds is SHIFT, hard (Lemma B.4 as hard attention), or as
// softmax (withSoftmaxShift): exactly one-hot in F_s at scale 1 (Lemmas B.1/B.2), in float64 only at
// a scale (float64ShiftScale: 2λB_s ≥ 746, where e^{−2λB_s} underflows to 0). Then the looped model
// runs the source's softmax in the decoder's own arithmetic on the same states (lockstep holds bit
// for bit in float64 and F_s), and the margin precondition is the same: the top-two logit margin
// ≥ 2^{−s}, measured by the decoder in that arithmetic. Softmax weights enter only through the
// source's heads into the logits. Exact arithmetic refuses softmax, so the registered construction
// with attention=softmax takes the decoder's float64 CoT as its reference and float64 as its first
// check (where lockstep runs, comparing doubles for equality); tests/thm-5-4-softmax.test.ts checks
// softmax decoders under float64 and fixed:s (properties/thm-5-4.ts thm54SoftmaxProperty). In F_s
// the source must be representable not only on its CoT but on every state the block gives it: the
// block runs the source's layers at the #s too, where a source softmax can round every exp(score)
// to 0 (a NumericError) although the decoder's CoT never does.
//
import type { Model } from '../../simulators/model.ts';
import { type Thm54Compiled, type Thm54Options, addDecodeLayers, addReadoutLayer, addShiftLayer, finishThm54, sourceParts, startThm54 } from './compiler.ts';

export function compileThm54(source: Model, options: Thm54Options): Thm54Compiled {
  const draft = startThm54(source, options, {
    variant: 'masks',
    name: (k) => `${k.source.name} CoT in ${k.m} loops (Theorem 5.4a, n=${k.n})`,
    describe: (k) =>
      `Theorem 5.4, variant (a): ${k.m} greedy CoT steps of "${k.source.name}" (depth ${k.L}) on a prompt of ${k.n} tokens, as a block of ` +
      `${k.L + 5} layers looped ${k.m} times on (v, ${k.start}^${k.m}) with the loop masks M^t(i) = 1[i − t ≥ n]; s = ${k.s} bits`,
  });
  const { names, n } = draft;
  // Layer L: ℓ = x·W_U into logits.
  addReadoutLayer(draft);
  // Layers L+1..L+3: Lemma B.7 — logits ← one-hot(argmax ℓ); source parts and tok cleared.
  addDecodeLayers(draft, [...sourceParts(draft), names.tok, names.logits]);
  // Layer L+4: SHIFT into tok and, through θ_TE, the source parts; then clear the scratch and add θ_PE(i) back.
  addShiftLayer(draft, {
    to: names.tok,
    embedding: true,
    role: 'SHIFT (Lemma B.9): position i receives the token position i − 1 predicted; θ_PE(i) re-added',
    headRole: 'copies the argmax one-hot of position i − 1 into tok, and its source embedding θ_TE into the source parts',
  });
  return finishThm54(draft, { expr: `i + 1 - t >= ${n}`, describe: `M^t(i) = 1[i − t ≥ ${n}] (1-indexed): positions ≥ n + t are recomputed in loop t` });
}
