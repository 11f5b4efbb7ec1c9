// SUBLEQ as a looped transformer (Giannou et al. 2023, "Looped Transformers as Programmable
// Computers"), written through the public entry point only: one looped block executes one SUBLEQ
// instruction per loop — read the instruction at pc, read its two operands, subtract on ±1 codes,
// write the difference back, branch — between named subspaces.
//
// Layout: the columns (positions) are the paper's matrix X,
//   0                  the scratchpad (token #);
//   1 … M              memory cell m at position 1 + m (token v<u>: the N-bit code of mem[m]);
//   M + 1              Z, a memory cell that always holds 0 (address M);
//   M + 2 … M + K + 1  instruction k at position M + 2 + k (token i<a>_<b>_<c>);
//   M + K + 2          the halt sentinel, instruction K = (Z, Z, K).
// Every column carries its address as a ±1 code (maddr for memory cells, iaddr for instructions)
// and a copy of pc and of the working registers. All columns run the same computation on the same
// values (the reads are exact matches of codes, the same in every column), so every copy of pc
// stays equal to the scratchpad's; memory columns then keep the difference only where their
// address is b. This replicated scratchpad replaces the paper's write-back head from the scratch
// column to the memory (see deviations). The sentinel makes halting a fixed point of the block:
// at pc = K the block runs Z ← Z − Z = 0 ≤ 0, so pc ← K and nothing changes, with no gating.
//
// The block (4 layers; the registers are emptied at the end of each loop):
//   L1 attention 'fetch': query pc, key iaddr → copies the instruction's a, b, c into ia, ib, ic.
//      MLP 'carry': cry_i = [pc's bits below i are all 1] (for pc + 1).
//   L2 attention 'read_a', 'read_b': query ia / ib, key maddr → copy val into ra / rb.
//      MLP 'borrow': brw_i = [low i bits of mem[b] < low i bits of mem[a]] (linear in the codes,
//      one step unit pair each); diff = how many bits differ; msum = how many bits of the column's
//      maddr equal ib; inc = code of pc + 1.
//   L3 MLP 'subtract': bit i of mem[b] − mem[a] is the parity of b_i + a_i + brw_i; nv = its code;
//      le = [new value ≤ 0] = sign bit + [mem[a] = mem[b]].
//   L4 MLP 'write, branch, clear': val += [maddr = ib]·(nv − val); pc += le·(ic − pc) + (1 − le)·(inc − pc)
//      (products of a 0/1 gate and a difference in [−2, 2] as relu(x + 2(g−1)) − relu(−x + 2(g−1)));
//      every register r −= relu(r) − relu(−r).
// Attention scores are 0 at the matching column and ≤ −1 elsewhere (query code ⌢ 1s against key
// code ⌢ −1s, as Lemma B.4 does), so hard attention is exact, softmax at scale B_s in F_s is exactly
// one-hot (exp(−B_s) rounds to 0), and float64 at scale 64 leaks at most e^−64 per column.
import {
  type Model,
  type RunResult,
  InputError,
  MIN_BITS,
  type SubleqInput,
  type SubleqState,
  addStage,
  assertJsonDepth,
  bitsFor,
  checkSubleqInput,
  createHead,
  createLayer,
  createMlp,
  createModel,
  defineConstruction,
  defineParams,
  fc,
  identity,
  paramValues,
  runSubleq,
  sbin,
  space,
  subleqRounds,
  subleqValueRange,
  writeGatedPass,
} from '../index.ts';

type Answer = { mem: (number | null)[]; pc: number | null };

/** Bits s of F_s the argument needs: B_s = 2^s − 2^−s at least the largest magnitude any value reaches (below). */
export function subleqBits(K: number, M: number, N: number): number {
  const P = bitsFor(K + 1);
  const Q = bitsFor(M + 1);
  // Largest magnitudes: the borrow sums D_i < 2^(N−1); the readout's pc logits at a memory
  // column, −(N + 2P + 1); the write gate 2(msum − Q) ± 2 ≥ −(2Q + 2). Scores are saturated anyway.
  const V = Math.max(2 ** (N - 1), N + 2 * P + 1, 2 * Q + 2);
  // The least s with 2^s − 2^−s ≥ V is ceil(log2(V + 1)) for a whole V ≥ 1.
  return Math.max(MIN_BITS, Math.ceil(Math.log2(V + 1)));
}

const P_ = 'ceil(log2(K+1))';
const Q_ = 'ceil(log2(M+1))';

const PARAMS = defineParams([
  { name: 'instructions', describe: 'K, instructions in the program', default: '4', kind: 'int', min: 1, max: 16 },
  { name: 'memory', describe: 'M, memory cells', default: '4', kind: 'int', min: 1, max: 16 },
  { name: 'bits', describe: "N, bits of a two's-complement value", default: '4', kind: 'int', min: 1, max: 8 },
  { name: 'steps', describe: 'T, steps executed (loops)', default: '8', kind: 'int', min: 0, max: 64 },
]);

export const subleq = defineConstruction<SubleqInput, Answer>({
  id: 'subleq',
  title: 'SUBLEQ: a looped transformer that executes one instruction per loop (Giannou et al. 2023)',
  theorem: 'Giannou et al. 2023',
  statement:
    'For K instructions, M memory cells of N-bit two\'s-complement values and T steps, one 4-layer block looped T times, on the columns ' +
    '(scratchpad, M cells, a zero cell, K instructions, a halt sentinel), each carrying its address as a ±1 code, answers the SUBLEQ machine\'s memory and pc after T steps: ' +
    'instruction (a, b, c) does mem[b] ← wrap(mem[b] − mem[a]), then pc ← c if the new mem[b] ≤ 0, else pc + 1; a pc outside 0..K−1 has halted. ' +
    'Each loop reads the instruction at pc and its operands by matching address codes, subtracts on ±1 codes with a borrow-lookahead MLP, writes back and branches; ' +
    'the halt sentinel (Z, Z, K) makes a halted machine a fixed point. Exact under hard attention; in F_s at the bits stated with softmax at scale B_s; in float64 at scale 64.',
  params: PARAMS,
  claimed: {
    // The notes give "about 10 layers per instruction" for Giannou et al.'s block: claimed as 10.
    layersPerBlock: '10',
    loops: 'T',
    // The notes give no width formula for the paper; these are the bounds of the argument above
    // (P = ceil(log2(K+1)) bits of pc, Q = ceil(log2(M+1)) bits of a memory address), see deviations.
    width: `6*${P_} + 5*${Q_} + 5*N + 3`,
    mlpWidth: `10*N + 10*${P_} + 4*${Q_} + 2`,
    heads: '2',
    headDim: `max(2*${Q_} + ${P_}, 2*${P_}, N)`,
    bits: `ceil(log2(max(2^(N-1), N + 2*${P_} + 1, 2*${Q_} + 2) + 1))`,
  },
  deviations:
    'The notes restate Giannou et al. only as "about 10 layers per instruction" and give no width formula; layersPerBlock is claimed as 10 and the build uses 4 ' +
    '(the subtraction is one borrow-lookahead layer plus one parity layer, and the branch shares the write-back MLP). Width, MLP width, head size and bits are claimed ' +
    'from this construction\'s own argument (the formulas count its subspaces, written from the layout, not read off the build). ' +
    'The scratchpad is replicated: every column carries pc and the registers and computes the same step, so no write-back head from the scratch column is needed; ' +
    'memory columns keep the new value only where their address is b. Error correction: the reads are exactly one-hot in exact, fixed:s (scale B_s) and, to float64 ' +
    'rounding, at scale 64, and the registers are emptied every loop, so no re-binarisation of the stored codes is built; at small scales the leak accumulates (the scale counterexample).',
  verifyAt: [
    { params: {} },
    { params: { instructions: '1', memory: '1', bits: '1', steps: '3' } },
    { params: { instructions: '3', memory: '2', bits: '2', steps: '6' } },
    { params: { instructions: '5', memory: '6', bits: '6', steps: '12' }, samples: 30 },
  ],
  build(params) {
    const { instructions: K, memory: M, bits: N, steps: T } = paramValues('subleq', PARAMS, params);
    const P = bitsFor(K + 1); // pc ∈ 0..K
    const Q = bitsFor(M + 1); // memory addresses 0..M (M is the zero cell Z)
    const bits = subleqBits(K, M, N);
    const { min, max } = subleqValueRange(N);
    const len = M + K + 3;
    const memPos = (m: number) => 1 + m;
    const insPos = (k: number) => M + 2 + k;

    // Vocabulary: '#', one token per N-bit code, one per pc value (read out at the scratchpad),
    // one per instruction, and the halt sentinel.
    const vTok = (u: number) => 1 + u;
    const pTok = (p: number) => 1 + 2 ** N + p;
    const iTok = (a: number, b: number, c: number) => 1 + 2 ** N + (K + 1) + (a * M + b) * (K + 1) + c;
    const haltTok = 1 + 2 ** N + (K + 1) + M * M * (K + 1);
    const vocab = ['#'];
    for (let u = 0; u < 2 ** N; u++) vocab.push(`v${u}`);
    for (let p = 0; p <= K; p++) vocab.push(`pc${p}`);
    for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) for (let c = 0; c <= K; c++) vocab.push(`i${a}_${b}_${c}`);
    vocab.push('halt');

    const residual = space({
      one: { size: 1, describe: 'constant 1' },
      scr: { size: 1, describe: '1 at the scratchpad column' },
      pc: { size: P, describe: 'program counter, ±1 code (a copy in every column)' },
      maddr: { size: Q, describe: 'address of a memory column, ±1 code' },
      iaddr: { size: P, describe: 'address of an instruction column, ±1 code' },
      fa: { size: Q, describe: 'instruction field a' },
      fb: { size: Q, describe: 'instruction field b' },
      fc: { size: P, describe: 'instruction field c' },
      val: { size: N, describe: 'memory value, ±1 code of its N-bit two\'s complement' },
      ia: { size: Q, describe: 'register: a of the fetched instruction' },
      ib: { size: Q, describe: 'register: b of the fetched instruction' },
      ic: { size: P, describe: 'register: c of the fetched instruction' },
      ra: { size: N, describe: 'register: mem[a]' },
      rb: { size: N, describe: 'register: mem[b]' },
      cry: { size: P - 1, describe: 'register: carry into bit i of pc + 1 (i = 1..P−1), 0/1' },
      inc: { size: P, describe: 'register: code of pc + 1' },
      brw: { size: N - 1, describe: 'register: borrow into bit i of mem[b] − mem[a] (i = 1..N−1), 0/1' },
      diff: { size: 1, describe: 'register: how many bits of mem[a] and mem[b] differ' },
      msum: { size: 1, describe: "register: how many bits of this column's address equal b" },
      nv: { size: N, describe: 'register: code of wrap(mem[b] − mem[a])' },
      le: { size: 1, describe: 'register: 1 when the new value is ≤ 0' },
    });
    const registers = ['ia', 'ib', 'ic', 'ra', 'rb', 'cry', 'inc', 'brw', 'diff', 'msum', 'nv', 'le'];
    const regDim = registers.reduce((s, r) => s + residual.get(r).size, 0);
    const col = (c: readonly number[]) => c.map((x) => [x]);
    const row = (c: readonly number[]) => [[...c]];
    const ones = (n: number, v: number) => [new Array<number>(n).fill(v)];

    const make = (kind: 'hard' | 'softmax', scale: number): Model => {
      const model = createModel({ name: `subleq K=${K} M=${M} N=${N} T=${T}`, vocab, residual, maxLen: len, readout: 'all' });
      // Embedding: tokens carry contents, positions carry addresses, flags and the initial pc = 0.
      for (let u = 0; u < 2 ** N; u++) model.W_E.write(['vocab', vTok(u)], 'val', row(sbin(u, N)));
      const fields = (t: number, a: number, b: number, c: number) => {
        model.W_E.write(['vocab', t], 'fa', row(sbin(a, Q)));
        model.W_E.write(['vocab', t], 'fb', row(sbin(b, Q)));
        model.W_E.write(['vocab', t], 'fc', row(sbin(c, P)));
      };
      for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) for (let c = 0; c <= K; c++) fields(iTok(a, b, c), a, b, c);
      fields(haltTok, M, M, K);
      for (let i = 0; i < len; i++) {
        model.W_pos.set(['positions', i], 'one', 1);
        model.W_pos.write(['positions', i], 'pc', row(sbin(0, P)));
      }
      model.W_pos.set(['positions', 0], 'scr', 1);
      for (let m = 0; m <= M; m++) model.W_pos.write(['positions', memPos(m)], 'maddr', row(sbin(m, Q)));
      for (let k = 0; k <= K; k++) model.W_pos.write(['positions', insPos(k)], 'iaddr', row(sbin(k, P)));

      // L1: fetch the instruction at pc; carries of pc + 1.
      const l1 = createLayer('fetch the instruction at pc');
      const fetch = createHead(residual, {
        name: 'fetch',
        role: 'reads the instruction column whose address is pc; copies its a, b, c into ia, ib, ic',
        kind,
        scale,
        causal: false,
        qk: { code: P, ones: P },
        ov: { a: Q, b: Q, c: P },
      });
      fetch.W_Q.write('pc', 'code', identity());
      fetch.W_Q.write('one', 'ones', ones(P, 1));
      fetch.W_K.write('iaddr', 'code', identity());
      fetch.W_K.write('one', 'ones', ones(P, -1));
      fetch.W_V.write('fa', 'a', identity());
      fetch.W_V.write('fb', 'b', identity());
      fetch.W_V.write('fc', 'c', identity());
      fetch.W_O.write('a', 'ia', identity());
      fetch.W_O.write('b', 'ib', identity());
      fetch.W_O.write('c', 'ic', identity());
      l1.heads.push(fetch);
      if (P > 1) {
        const carry = createMlp(residual, { name: 'carry', role: 'cry_i = relu(Σ_{j<i} pc_j − (i − 1)): 1 exactly when pc\'s bits below i are all 1', hidden: { cry: P - 1 } });
        for (let i = 1; i < P; i++) {
          carry.W_in.write('pc', ['cry', i - 1], (j) => (j < i ? 1 : 0));
          carry.b_in.set(['cry', i - 1], -(i - 1));
        }
        carry.W_out.write('cry', 'cry', identity());
        l1.mlp = carry;
      }

      // L2: read the operands; borrows, differing bits, the write address test, pc + 1.
      const l2 = createLayer('read mem[a] and mem[b]');
      for (const [name, reg, out] of [['read_a', 'ia', 'ra'], ['read_b', 'ib', 'rb']] as const) {
        const h = createHead(residual, {
          name,
          role: `reads the memory column whose address is ${reg}; copies its value into ${out}`,
          kind,
          scale,
          causal: false,
          qk: { code: Q, ones: Q },
          ov: { v: N },
        });
        h.W_Q.write(reg, 'code', identity());
        h.W_Q.write('one', 'ones', ones(Q, 1));
        h.W_K.write('maddr', 'code', identity());
        h.W_K.write('one', 'ones', ones(Q, -1));
        h.W_V.write('val', 'v', identity());
        h.W_O.write('v', out, identity());
        l2.heads.push(h);
      }
      const borrow = createMlp(residual, {
        name: 'borrow',
        role: 'borrow lookahead of mem[b] − mem[a], differing bits, address match with b, pc + 1',
        hidden: {
          bD: { size: N - 1, describe: 'relu(D_i), D_i = Σ_{j<i} 2^(j−1)(ra_j − rb_j) = (low i bits of a) − (low i bits of b)' },
          bD1: { size: N - 1, describe: 'relu(D_i − 1)' },
          ne: { size: 2 * N, describe: 'relu(ra_i − rb_i), relu(rb_i − ra_i)' },
          eq: { size: 2 * Q, describe: 'relu(maddr_j + ib_j − 1), relu(−maddr_j − ib_j − 1): bit j of the address equals b' },
          i0: { size: 2, describe: 'relu(pc_0), relu(−pc_0): bit 0 of pc + 1 is not bit 0 of pc' },
          iu: { size: P - 1, describe: 'relu(s_i), s_i = (pc_i + 1)/2 + cry_i' },
          iu1: { size: P - 1, describe: 'relu(s_i − 1)' },
        },
      });
      for (let i = 1; i < N; i++) {
        for (const unit of ['bD', 'bD1'] as const) {
          borrow.W_in.write('ra', [unit, i - 1], (j) => (j < i ? 2 ** (j - 1) : 0));
          borrow.W_in.write('rb', [unit, i - 1], (j) => (j < i ? -(2 ** (j - 1)) : 0));
        }
        borrow.b_in.set(['bD1', i - 1], -1);
        borrow.W_out.set(['bD', i - 1], ['brw', i - 1], 1);
        borrow.W_out.set(['bD1', i - 1], ['brw', i - 1], -1);
      }
      for (let i = 0; i < N; i++) {
        borrow.W_in.set(['ra', i], ['ne', 2 * i], 1);
        borrow.W_in.set(['rb', i], ['ne', 2 * i], -1);
        borrow.W_in.set(['rb', i], ['ne', 2 * i + 1], 1);
        borrow.W_in.set(['ra', i], ['ne', 2 * i + 1], -1);
      }
      borrow.W_out.write('ne', 'diff', col(new Array<number>(2 * N).fill(0.5)));
      for (let j = 0; j < Q; j++) {
        borrow.W_in.set(['maddr', j], ['eq', 2 * j], 1);
        borrow.W_in.set(['ib', j], ['eq', 2 * j], 1);
        borrow.b_in.set(['eq', 2 * j], -1);
        borrow.W_in.set(['maddr', j], ['eq', 2 * j + 1], -1);
        borrow.W_in.set(['ib', j], ['eq', 2 * j + 1], -1);
        borrow.b_in.set(['eq', 2 * j + 1], -1);
      }
      borrow.W_out.write('eq', 'msum', col(new Array<number>(2 * Q).fill(1)));
      borrow.W_in.set(['pc', 0], ['i0', 0], 1);
      borrow.W_in.set(['pc', 0], ['i0', 1], -1);
      borrow.W_out.set(['i0', 0], ['inc', 0], -1);
      borrow.W_out.set(['i0', 1], ['inc', 0], 1);
      for (let i = 1; i < P; i++) {
        for (const unit of ['iu', 'iu1'] as const) {
          borrow.W_in.set(['pc', i], [unit, i - 1], 0.5);
          borrow.W_in.set(['cry', i - 1], [unit, i - 1], 1);
        }
        borrow.b_in.set(['iu', i - 1], 0.5);
        borrow.b_in.set(['iu1', i - 1], -0.5);
        // xor = relu(s) − 2 relu(s − 1) on s ∈ {0, 1, 2}; the code is 2·xor − 1.
        borrow.W_out.set(['iu', i - 1], ['inc', i], 2);
        borrow.W_out.set(['iu1', i - 1], ['inc', i], -4);
        borrow.b_out.set(['inc', i], -1);
      }
      l2.mlp = borrow;

      // L3: the difference bits (parity of b_i + a_i + borrow_i) and the ≤ 0 test.
      const l3 = createLayer('subtract');
      const sub = createMlp(residual, {
        name: 'subtract',
        role: 'bit i of mem[b] − mem[a] = parity(b_i + a_i + brw_i); le = sign bit + [mem[a] = mem[b]]',
        hidden: {
          s0: { size: N, describe: 'relu(s_i), s_i = (rb_i + 1)/2 + (ra_i + 1)/2 + brw_i' },
          s1: { size: N, describe: 'relu(s_i − 1)' },
          s2: { size: N, describe: 'relu(s_i − 2)' },
          zero: { size: 1, describe: 'relu(1 − diff): 1 exactly when mem[a] = mem[b], i.e. the difference is 0' },
        },
      });
      for (let i = 0; i < N; i++) {
        ['s0', 's1', 's2'].forEach((unit, t) => {
          sub.W_in.set(['rb', i], [unit, i], 0.5);
          sub.W_in.set(['ra', i], [unit, i], 0.5);
          if (i > 0) sub.W_in.set(['brw', i - 1], [unit, i], 1);
          sub.b_in.set([unit, i], 1 - t);
        });
        // parity = relu(s) − 2 relu(s − 1) + 2 relu(s − 2) on s ∈ {0..3}; the code is 2·parity − 1.
        sub.W_out.set(['s0', i], ['nv', i], 2);
        sub.W_out.set(['s1', i], ['nv', i], -4);
        sub.W_out.set(['s2', i], ['nv', i], 4);
        sub.b_out.set(['nv', i], -1);
      }
      sub.W_out.set(['s0', N - 1], 'le', 1);
      sub.W_out.set(['s1', N - 1], 'le', -2);
      sub.W_out.set(['s2', N - 1], 'le', 2);
      sub.W_in.set('diff', 'zero', -1);
      sub.b_in.set('zero', 1);
      sub.W_out.set('zero', 'le', 1);
      l3.mlp = sub;

      // L4: write back, branch, empty the registers.
      const l4 = createLayer('write back, branch, clear the registers');
      const wb = createMlp(residual, {
        name: 'write-branch-clear',
        role: 'val += [maddr = b](nv − val); pc += le(c − pc) + (1 − le)(pc + 1 − pc); registers ← 0',
        hidden: {
          wp: { size: N, describe: 'relu((nv_i − val_i) + 2(msum − Q))' },
          wn: { size: N, describe: 'relu(−(nv_i − val_i) + 2(msum − Q))' },
          jp: { size: P, describe: 'relu((ic_i − pc_i) + 2(le − 1))' },
          jn: { size: P, describe: 'relu(−(ic_i − pc_i) + 2(le − 1))' },
          np: { size: P, describe: 'relu((inc_i − pc_i) − 2 le)' },
          nn: { size: P, describe: 'relu(−(inc_i − pc_i) − 2 le)' },
          cp: { size: regDim, describe: 'relu(r) for every register direction r' },
          cn: { size: regDim, describe: 'relu(−r)' },
        },
      });
      // Each is Lemma B.8's gated pass relu(d + g) − relu(−d + g) of a difference d ∈ [−2, 2]: the
      // gate g is 2(msum − Q) (0 exactly at the column whose address is b), 2(le − 1) or −2·le.
      for (let i = 0; i < N; i++) {
        writeGatedPass(wb, { pos: ['wp', i], neg: ['wn', i], signal: [[['nv', i], 1], [['val', i], -1]], gate: [['msum', 2]], bias: -2 * Q, to: ['val', i] });
      }
      for (let i = 0; i < P; i++) {
        writeGatedPass(wb, { pos: ['jp', i], neg: ['jn', i], signal: [[['ic', i], 1], [['pc', i], -1]], gate: [['le', 2]], bias: -2, to: ['pc', i] });
        writeGatedPass(wb, { pos: ['np', i], neg: ['nn', i], signal: [[['inc', i], 1], [['pc', i], -1]], gate: [['le', -2]], to: ['pc', i] });
      }
      let at = 0;
      for (const r of registers) {
        const size = residual.get(r).size;
        for (let i = 0; i < size; i++, at++) {
          const dir = [r, i] as const;
          wb.W_in.set(dir, ['cp', at], 1);
          wb.W_in.set(dir, ['cn', at], -1);
          wb.W_out.set(['cp', at], dir, -1);
          wb.W_out.set(['cn', at], dir, 1);
        }
      }
      l4.mlp = wb;

      addStage(model, [l1, l2, l3, l4], T);

      // Readout at every column: memory columns argmax to their value's token, the scratchpad to
      // its pc's token (pc logits get −C off the scratchpad, C = N + P + 1 above any value logit).
      const C = N + P + 1;
      for (let u = 0; u < 2 ** N; u++) model.W_U.write('val', ['vocab', vTok(u)], col(sbin(u, N)));
      for (let p = 0; p <= K; p++) {
        model.W_U.write('pc', ['vocab', pTok(p)], col(sbin(p, P)));
        model.W_U.set('one', ['vocab', pTok(p)], -C);
        model.W_U.set('scr', ['vocab', pTok(p)], C);
      }
      // '#' scores 1/2 off the scratchpad: below every memory column's value logit (≥ 1) and above
      // the 0 logits of the instruction columns, so every column has one argmax (no tie, margin ≥ 1/2).
      model.W_U.set('one', ['vocab', 0], 0.5);
      model.W_U.set('scr', ['vocab', 0], -0.5);
      return model;
    };

    const hard = make('hard', 1);
    const B = 2 ** bits - 2 ** -bits;
    const toU = (x: number) => (x < 0 ? x + 2 ** N : x);
    const toSigned = (u: number) => (u >= 2 ** (N - 1) ? u - 2 ** N : u);
    const decodeCode = (v: readonly number[]) => {
      // A code entry within 1/2 of ±1 reads as that bit; anything else is no code (null).
      let u = 0;
      for (let b = v.length - 1; b >= 0; b--) {
        const x = v[b];
        if (Math.abs(x - 1) < 0.5) u = 2 * u + 1;
        else if (Math.abs(x + 1) < 0.5) u = 2 * u;
        else return null;
      }
      return u;
    };
    const decode = (run: RunResult): Answer => {
      const tokenAt = (i: number) => run.readouts.find((r) => r.position === i)?.token ?? null;
      const mem = Array.from({ length: M }, (_, m) => {
        const t = tokenAt(memPos(m));
        return t !== null && t >= vTok(0) && t < vTok(2 ** N) ? toSigned(t - vTok(0)) : null;
      });
      const t = tokenAt(0);
      return { mem, pc: t !== null && t >= pTok(0) && t <= pTok(K) ? t - pTok(0) : null };
    };
    const equal = (a: Answer, b: Answer) => a.pc === b.pc && a.mem.length === b.mem.length && a.mem.every((x, m) => x === b.mem[m]);

    // Random programs: unconstrained ones, ones that jump to K early (halting), and ones whose
    // last instruction always jumps back (Z-free: mem[b] − mem[b] = 0 ≤ 0) and never halt.
    const value = fc.integer({ min, max });
    const addr = fc.integer({ min: 0, max: M - 1 });
    const target = fc.integer({ min: 0, max: K });
    const instr = fc.tuple(addr, addr, target);
    const anyProgram = fc.record({ program: fc.array(instr, { minLength: K, maxLength: K }), mem: fc.array(value, { minLength: M, maxLength: M }) });
    const halting = fc.record({
      program: fc.array(fc.tuple(addr, addr, fc.oneof(fc.constant(K), target)), { minLength: K, maxLength: K }),
      mem: fc.array(value, { minLength: M, maxLength: M }),
    });
    const looping = fc
      .record({
        program: fc.array(fc.tuple(addr, addr, fc.integer({ min: 0, max: K - 1 })), { minLength: K, maxLength: K }),
        mem: fc.array(value, { minLength: M, maxLength: M }),
        z: addr,
      })
      .map(({ program, mem, z }) => ({ program: [...program.slice(0, K - 1), [z, z, program[K - 1][2]] as const], mem }));
    const arbitrary = () => fc.oneof(anyProgram, halting, looping) as fc.Arbitrary<SubleqInput>;

    return {
      model: hard,
      sizeScope: { K, M, N, T, P, Q },
      bits,
      encode(input) {
        checkSubleqInput(input, { instructions: K, memory: M, bits: N });
        return [0, ...input.mem.map((x) => vTok(toU(x))), vTok(0), ...input.program.map(([a, b, c]) => iTok(a, b, c)), haltTok];
      },
      decode,
      reference: (input) => runSubleq(input, N, T),
      equal,
      parseInput(text) {
        assertJsonDepth(text, '--input');
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new InputError(`--input is not JSON: ${(e as Error).message}`);
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new InputError('--input must be a JSON object {"program": [[a, b, c], …], "mem": [integers]}');
        }
        const o = value as Record<string, unknown>;
        const extra = Object.keys(o).filter((k) => k !== 'program' && k !== 'mem');
        if (extra.length > 0) throw new InputError(`--input has unknown field "${extra[0]}" (fields: program, mem)`);
        const input = { program: o.program, mem: o.mem } as SubleqInput;
        checkSubleqInput(input, { instructions: K, memory: M, bits: N });
        return input;
      },
      formatAnswer: (answer) => answer,
      formatInput: (input) => JSON.stringify({ program: input.program, mem: input.mem }),
      arbitrary,
      checks: [
        { label: 'exact, hard attention', interpreter: 'exact', model: hard },
        { label: `fixed:${bits}, softmax at scale B_s = ${B}`, interpreter: `fixed:${bits}`, model: make('softmax', B) },
        { label: 'float64, softmax at scale 64', interpreter: 'float64', model: make('softmax', 64) },
      ],
      lockstep: {
        describe: `after loop t the memory and pc decode to the interpreter's after t steps (t = 1..${T})`,
        trace: 'loops',
        compare(input, run) {
          const want = subleqRounds(input, N, T);
          const trace = run.trace;
          if (trace === undefined) throw new Error('lockstep needs a traced run');
          const out: { loop: number; expected: unknown; got: unknown }[] = [];
          for (let t = 1; t <= T; t++) {
            const snap = trace.afterLoop(t);
            const read = (sub: string, i: number) => {
              const { offset, size } = residual.range(sub);
              return snap.values[i].slice(offset, offset + size);
            };
            const mem = Array.from({ length: M }, (_, m) => {
              const u = decodeCode(read('val', memPos(m)));
              return u === null ? null : toSigned(u);
            });
            const got: SubleqState | { mem: (number | null)[]; pc: number | null } = { mem, pc: decodeCode(read('pc', 0)) };
            out.push({ loop: t, expected: want[t], got });
          }
          return out;
        },
      },
      extraLoopsStable: {
        holds: false,
        why: 'a program still running after T steps keeps running; once halted (pc = K) further loops change nothing (the sentinel is a fixed point; tests/subleq.test.ts checks it on halting programs)',
      },
      weaken(w) {
        // Loops, bits and scale are not parameters of this construction: the search weakens the
        // model itself (withLoops keeps the reference at T steps; fixed:s with fewer bits; the
        // float64 check's softmax at a smaller scale λ), so the replay is `looped run … --loops/--softmax-scale`.
        void w;
        return null;
      },
    };
  },
});

export default subleq;
