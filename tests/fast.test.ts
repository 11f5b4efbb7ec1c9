// The fast CPU path (simulators/fast) against the generic interpreter. fast64 is built to do the
// generic float64's operations in the generic order, and fast32 the generic float32's, so both are
// compared bit for bit; fast32 is also compared with float64 where its margins exceed float32 error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, UnsupportedError } from '../common/errors.ts';
import { DENSE_MIN_DENSITY, compilePlan, padded, panelWidth, toMat } from '../simulators/fast/compile.ts';
import { PARALLEL_MIN_WORK, fast32, fast64, getThreads, lastParallelNote, setParallelMinWork, setThreads } from '../simulators/fast/index.ts';
import { runPlan } from '../simulators/fast/forward.ts';
import { backend, setBackend } from '../simulators/fast/workspace.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { type AttentionKind, type Model, addStage, createHead, createLayer, createMlp, createModel, maskRow, withAttention } from '../simulators/model.ts';
import type { RunResult } from '../simulators/result.ts';
import { space } from '../simulators/space.ts';

const params = { seed: Number(process.env.FC_SEED ?? 42), numRuns: Number(process.env.FC_RUNS ?? 200) };
const float64 = interpreterByName('float64');
const float32 = interpreterByName('float32');

// ---------------------------------------------------------------- random models as plain data

type IntMatrix = number[][];
interface HeadData {
  kind: AttentionKind;
  causal: boolean;
  scale: string;
  Wq: IntMatrix;
  Wk: IntMatrix;
  Wv: IntMatrix;
  Wo: IntMatrix;
}
interface LayerData {
  heads: HeadData[];
  mlp: { Win: IntMatrix; bin: number[]; Wout: IntMatrix; bout: number[] } | null;
}
interface ModelData {
  vocab: number;
  width: number;
  maxLen: number;
  E: IntMatrix;
  P: IntMatrix;
  U: IntMatrix;
  stages: { layers: LayerData[]; loops: number; mask: string | null }[];
  readout: 'last' | 'all';
}

const MASKS = [null, null, 'i >= t', 'mod(i + t, 2) == 0', 'i + t >= len'];

/** Small integer weights; `zeros` is the chance of a zero, so some matrices are dense and some CSR. */
function matrix(rows: number, cols: number, zeros: number): fc.Arbitrary<IntMatrix> {
  const entry = fc.oneof(
    { weight: Math.round(100 * zeros), arbitrary: fc.constant(0) },
    { weight: Math.round(100 * (1 - zeros)), arbitrary: fc.integer({ min: -2, max: 2 }) },
  );
  return fc.array(fc.array(entry, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows });
}
const vector = (n: number) => fc.array(fc.integer({ min: -2, max: 2 }), { minLength: n, maxLength: n });

function modelData(kinds: AttentionKind[], maxLen = 7, minLen = 1): fc.Arbitrary<ModelData> {
  return fc
    .record({
      vocab: fc.integer({ min: 2, max: 5 }),
      width: fc.integer({ min: 1, max: 12 }),
      maxLen: fc.integer({ min: minLen, max: maxLen }),
      zeros: fc.constantFrom(0.2, 0.5, 0.85),
      stages: fc.integer({ min: 1, max: 2 }),
    })
    .chain(({ vocab, width: d, maxLen, zeros, stages }) => {
      const head = fc
        .record({ dqk: fc.integer({ min: 1, max: 3 }), dov: fc.integer({ min: 1, max: 3 }) })
        .chain(({ dqk, dov }) =>
          fc.record({
            kind: fc.constantFrom(...kinds),
            causal: fc.boolean(),
            scale: fc.constantFrom('1', '1', '2', '1/3', '-1/2'),
            Wq: matrix(d, dqk, zeros),
            Wk: matrix(d, dqk, zeros),
            Wv: matrix(d, dov, zeros),
            Wo: matrix(dov, d, zeros),
          }),
        );
      const mlp = fc
        .integer({ min: 1, max: 4 })
        .chain((h) => fc.record({ Win: matrix(d, h, zeros), bin: vector(h), Wout: matrix(h, d, zeros), bout: vector(d) }));
      const layer = fc.record({ heads: fc.array(head, { minLength: 0, maxLength: 3 }), mlp: fc.option(mlp, { freq: 2 }) });
      const stage = fc.record({
        layers: fc.array(layer, { minLength: 1, maxLength: 2 }),
        loops: fc.integer({ min: 0, max: 3 }),
        mask: fc.constantFrom(...MASKS),
      });
      return fc.record({
        vocab: fc.constant(vocab),
        width: fc.constant(d),
        maxLen: fc.constant(maxLen),
        E: matrix(vocab, d, zeros),
        P: matrix(maxLen, d, zeros),
        U: matrix(d, vocab, zeros),
        stages: fc.array(stage, { minLength: stages, maxLength: stages }),
        readout: fc.constantFrom('last' as const, 'all' as const),
      });
    });
}

function buildModel(m: ModelData): Model {
  const residual = space({ res: m.width });
  const model = createModel({
    name: 'random',
    vocab: Array.from({ length: m.vocab }, (_, k) => `t${k}`),
    residual,
    maxLen: m.maxLen,
    readout: m.readout,
  });
  model.W_E.write('vocab', 'res', m.E);
  model.W_pos.write('positions', 'res', m.P);
  model.W_U.write('res', 'vocab', m.U);
  for (const s of m.stages) {
    const layers = s.layers.map((l) => {
      const layer = createLayer();
      l.heads.forEach((h, k) => {
        const head = createHead(residual, { name: `h${k}`, kind: h.kind, causal: h.causal, scale: h.scale, qk: h.Wq[0]?.length ?? 0, ov: h.Wv[0]?.length ?? 0 });
        head.W_Q.write('res', 'qk', h.Wq);
        head.W_K.write('res', 'qk', h.Wk);
        head.W_V.write('res', 'ov', h.Wv);
        head.W_O.write('ov', 'res', h.Wo);
        layer.heads.push(head);
      });
      if (l.mlp) {
        const mlp = createMlp(residual, { name: 'mlp', hidden: l.mlp.bin.length });
        mlp.W_in.write('res', 'hidden', l.mlp.Win);
        mlp.b_in.write('hidden', l.mlp.bin);
        mlp.W_out.write('hidden', 'res', l.mlp.Wout);
        mlp.b_out.write('res', l.mlp.bout);
        layer.mlp = mlp;
      }
      return layer;
    });
    addStage(model, layers, s.loops, s.mask === null ? null : { expr: s.mask });
  }
  return model;
}

/** A model and a batch of 1..8 inputs of mixed lengths. */
function caseArbitrary(kinds: AttentionKind[], maxLen = 7, maxBatch = 8, minLen = 1) {
  return modelData(kinds, maxLen, minLen).chain((m) => {
    const input = (min: number) => fc.array(fc.integer({ min: 0, max: m.vocab - 1 }), { minLength: min, maxLength: m.maxLen });
    // The first input is at least minLen long; the others are any length.
    return fc.record({
      m: fc.constant(m),
      inputs: fc.tuple(input(minLen), fc.array(input(1), { maxLength: maxBatch - 1 })).map(([a, rest]) => [a, ...rest]),
    });
  });
}

/** Everything a result says, as one comparable value (the interpreter name aside). */
function essence(r: RunResult) {
  return { answer: r.answer, tie: r.tie, tokens: r.tokens, readouts: r.readouts.map(({ position, logits, top, token, margin }) => ({ position, logits, top, token, margin })), margins: r.margins };
}

function expectSame(fast: RunResult[], generic: RunResult[], what: string): void {
  expect(fast.length).toBe(generic.length);
  fast.forEach((f, b) => {
    const g = generic[b];
    if (JSON.stringify(essence(f)) !== JSON.stringify(essence(g))) {
      // toEqual gives the readable diff.
      expect({ what, input: b, ...essence(f) }).toEqual({ what, input: b, ...essence(g) });
    }
  });
}

// ---------------------------------------------------------------- properties

describe('fast path against the generic interpreter', () => {
  it('fast64 equals float64 bit for bit: answers, ties, logits, margins and their sites (hard attention)', () => {
    fc.assert(
      fc.property(caseArbitrary(['hard']), ({ m, inputs }) => {
        const model = buildModel(m);
        expectSame(fast64.runBatch!(model, inputs), inputs.map((t) => float64.run(model, t)), 'fast64 vs float64');
      }),
      params,
    );
  }, 30_000);

  it('fast32 equals float32 bit for bit (hard attention)', () => {
    fc.assert(
      fc.property(caseArbitrary(['hard']), ({ m, inputs }) => {
        const model = buildModel(m);
        expectSame(fast32.runBatch!(model, inputs), inputs.map((t) => float32.run(model, t)), 'fast32 vs float32');
      }),
      params,
    );
  }, 30_000);

  it('softmax and mixed models: fast64 equals float64 and fast32 equals float32 bit for bit', () => {
    fc.assert(
      fc.property(caseArbitrary(['softmax', 'hard']), ({ m, inputs }) => {
        const model = buildModel(m);
        expectSame(fast64.runBatch!(model, inputs), inputs.map((t) => float64.run(model, t)), 'fast64 vs float64');
        expectSame(fast32.runBatch!(model, inputs), inputs.map((t) => float32.run(model, t)), 'fast32 vs float32');
      }),
      params,
    );
  }, 30_000);

  it('long sequences (attention strips of 64 rows, lengths off the 4-row blocks) agree bit for bit', () => {
    fc.assert(
      fc.property(caseArbitrary(['hard', 'softmax'], 150, 3, 65), ({ m, inputs }) => {
        const model = buildModel(m);
        expectSame(fast64.runBatch!(model, inputs), inputs.map((t) => float64.run(model, t)), 'fast64 vs float64');
        expectSame(fast32.runBatch!(model, inputs), inputs.map((t) => float32.run(model, t)), 'fast32 vs float32');
      }),
      { ...params, numRuns: Math.max(1, Math.round(params.numRuns / 10)) },
    );
  }, 30_000);

  it('the JavaScript fallback of the panel product gives the same bits as WebAssembly', () => {
    const was = backend();
    try {
      fc.assert(
        fc.property(caseArbitrary(['hard', 'softmax'], 20, 4), ({ m, inputs }) => {
          const model = buildModel(m);
          setBackend('wasm');
          const a64 = fast64.runBatch!(model, inputs);
          const a32 = fast32.runBatch!(model, inputs);
          setBackend('js');
          expectSame(fast64.runBatch!(model, inputs), a64, 'js vs wasm, f64');
          expectSame(fast32.runBatch!(model, inputs), a32, 'js vs wasm, f32');
        }),
        { ...params, numRuns: Math.max(1, Math.round(params.numRuns / 4)) },
      );
    } finally {
      setBackend(was);
    }
  }, 30_000);

  it('a batch split over two threads (worker_threads) gives the same results, in order', () => {
    const was = getThreads();
    setThreads(2);
    setParallelMinWork(0);
    try {
      let split = 0;
      fc.assert(
        fc.property(caseArbitrary(['hard', 'softmax'], 12, 8), ({ m, inputs }) => {
          const model = buildModel(m);
          const par = fast64.runBatch!(model, inputs);
          if (lastParallelNote().startsWith('2 threads')) split++;
          expectSame(par, inputs.map((t) => float64.run(model, t)), 'fast64 on 2 threads vs float64');
          expectSame(fast32.runBatch!(model, inputs), inputs.map((t) => float32.run(model, t)), 'fast32 on 2 threads vs float32');
        }),
        { ...params, numRuns: Math.max(1, Math.round(params.numRuns / 10)) },
      );
      expect(split).toBeGreaterThan(0);
    } finally {
      setThreads(was);
      setParallelMinWork(PARALLEL_MIN_WORK);
    }
  }, 60_000);

  // The error bound: float32 keeps 24 bits, and these models stack at most 6 layers of small
  // integer weights, so an error above 1e-4·(1 + largest |logit|) would mean many thousand ulps.
  // Where both margins exceed it (and no attention site is tied in either precision), float32 must
  // give float64's answers at every readout position.
  it('fast32 answers as float64 does wherever its margins exceed 1e-4·(1 + max |logit|)', () => {
    let checked = 0;
    fc.assert(
      fc.property(caseArbitrary(['hard', 'softmax']), ({ m, inputs }) => {
        const model = buildModel(m);
        const lo = fast32.runBatch!(model, inputs);
        const hi = fast64.runBatch!(model, inputs);
        lo.forEach((a, b) => {
          const h = hi[b];
          const scale = 1 + Math.max(...h.readouts.flatMap((r) => r.logits.map(Math.abs)));
          const tol = 1e-4 * scale;
          const clear = a.margins.logit > tol && a.margins.attentionTies === 0 && h.margins.attentionTies === 0 && a.margins.attention > tol;
          if (!clear) return;
          checked++;
          expect(a.readouts.map((r) => r.token)).toEqual(h.readouts.map((r) => r.token));
        });
      }),
      params,
    );
    expect(checked).toBeGreaterThan(50);
  }, 30_000);
});

// ---------------------------------------------------------------- examples

/** A two-token copy model: one hard head attends to position 0 and copies its token. */
function copyFirstModel(maxLen = 6): Model {
  const residual = space({ tok: 2, one: 1, first: 1 });
  const model = createModel({ name: 'copy-first', vocab: ['a', 'b'], residual, maxLen });
  model.W_E.write('vocab', 'tok', [
    [1, 0],
    [0, 1],
  ]);
  model.W_E.write('vocab', 'one', [[1], [1]]);
  model.W_pos.set(['positions', 0], 'first', 1);
  const head = createHead(residual, { name: 'to-first', qk: 1, ov: 2 });
  head.W_Q.set('one', 'qk', 1);
  head.W_K.set('first', 'qk', 1);
  head.W_V.write('tok', 'ov', [
    [1, 0],
    [0, 1],
  ]);
  head.W_O.write('ov', 'tok', [
    [2, 0],
    [0, 2],
  ]);
  const layer = createLayer();
  layer.heads.push(head);
  addStage(model, [layer], 1);
  model.W_U.write('tok', 'vocab', [
    [1, 0],
    [0, 1],
  ]);
  return model;
}

describe('fast path: contract', () => {
  it('is registered by name in simulators/interpreters.ts', () => {
    expect(interpreterByName('fast64')).toBe(fast64);
    expect(interpreterByName('fast32')).toBe(fast32);
  });

  it('refuses traces with an UnsupportedError that names the generic interpreter to use', () => {
    const model = copyFirstModel();
    expect(() => fast64.run(model, [0, 1], { trace: true })).toThrow(UnsupportedError);
    expect(() => fast64.run(model, [0, 1], { trace: true })).toThrow(/run float64/);
    expect(() => fast32.run(model, [0, 1], { trace: true })).toThrow(/run float32/);
  });

  it('rejects bad inputs as the generic interpreter does', () => {
    const model = copyFirstModel(3);
    expect(() => fast64.run(model, [0, 2])).toThrow(InputError);
    expect(() => fast64.run(model, [])).toThrow(InputError);
    expect(() => fast64.runBatch!(model, [[0], [0, 1, 0, 1]])).toThrow(InputError);
    expect(fast64.runBatch!(model, [])).toEqual([]);
  });

  it('copies the first token (a worked example), one input and a batch alike', () => {
    const model = copyFirstModel();
    const r = fast64.run(model, [1, 0, 0]);
    expect(r.interpreter).toBe('fast64');
    expect(r.answer).toBe(1);
    expect(r.margins.attention).toBe(1);
    expect(fast64.runBatch!(model, [[1, 0, 0], [0], [0, 1]]).map((x) => x.answer)).toEqual([1, 0, 0]);
  });

  it('sees weights edited in place after a run', () => {
    const model = copyFirstModel();
    expect(fast64.run(model, [1, 0]).answer).toBe(1);
    model.W_U.write('tok', 'vocab', [
      [0, 1],
      [1, 0],
    ]);
    expect(fast64.run(model, [1, 0]).answer).toBe(0);
    expect(float64.run(model, [1, 0]).answer).toBe(0);
  });

  it('a model switched to softmax with withAttention gets its own plan', () => {
    const model = copyFirstModel();
    const soft = withAttention(model, 'softmax', 8);
    expectSame(fast64.runBatch!(soft, [[1, 0, 0], [0, 1]]), [float64.run(soft, [1, 0, 0]), float64.run(soft, [0, 1])], 'softmax copy');
  });

  it('cuts a batch into chunks of whole sequences without changing any result', () => {
    fc.assert(
      fc.property(caseArbitrary(['hard', 'softmax']), fc.integer({ min: 1, max: 9 }), ({ m, inputs }, chunk) => {
        const model = buildModel(m);
        const masks = (s: number, t: number, len: number) => maskRow(model.stages[s].mask, t, model.stages[s].loops, len);
        const whole = runPlan(compilePlan('f64', model), inputs, masks, 'fast64');
        const cut = runPlan(compilePlan('f64', model), inputs, masks, 'fast64', chunk);
        expectSame(cut, whole, `chunks of ${chunk} rows`);
      }),
      { ...params, numRuns: 50 },
    );
  });

  it('stores sparse matrices as CSR and dense ones as panel-aligned dense blocks', () => {
    const n = 20;
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    expect(toMat('f64', eye, n, n).kind).toBe('csr'); // density 1/20 < DENSE_MIN_DENSITY
    const full = Float64Array.from({ length: 6 * 11 }, (_, k) => (k % 7) - 3);
    for (const precision of ['f64', 'f32'] as const) {
      const m = toMat(precision, full, 6, 11);
      if (m.kind !== 'dense') throw new Error('expected a dense block');
      const P = panelWidth(precision);
      expect(m.c0 % P).toBe(0);
      expect(m.width % P).toBe(0);
      expect(m.c0 + m.width).toBeLessThanOrEqual(padded(precision, 11));
      expect(m.w.length).toBe(m.rows.length * m.width);
    }
    expect(DENSE_MIN_DENSITY).toBeGreaterThan(0);
  });
});
