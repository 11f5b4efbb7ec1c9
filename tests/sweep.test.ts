import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allWords, resolveParams, wordCount } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { GpuInterpreter } from '../gpu/index.ts';
import { sweepConstruction } from '../properties/sweep.ts';
import { fast64, getThreads, lastParallelNote, PARALLEL_MIN_WORK, setParallelMinWork, setThreads } from '../simulators/fast/index.ts';
import { interpreterByName, registerInterpreter } from '../simulators/interpreters.ts';
import type { RunResult } from '../simulators/result.ts';

// An interpreter that answers like float64 except at the last readout position of inputs whose
// first token is 1, where it reports a tie: a stand-in for a batched path with a rounding bug.
registerInterpreter('test-flaky', 'float64 that ties when the first token is 1', () => {
  const f = interpreterByName('float64');
  return {
    name: 'test-flaky',
    run: (model, tokens) => {
      const r = f.run(model, tokens);
      if (tokens[0] !== 1) return r;
      const last = r.readouts[r.readouts.length - 1];
      return { ...r, answer: null, tie: true, readouts: [...r.readouts.slice(0, -1), { ...last, token: null }] };
    },
  };
});

const b4 = () => constructionById('lemma-b4');

describe('batched verification sweep', () => {
  const b4 = constructionById('lemma-b4');

  it('streams every sample through the batched interpreter and finds nothing on a correct construction', async () => {
    const r = await sweepConstruction(b4, resolveParams(b4, { n: '16' }), 'fast64', { samples: 300, batch: 64 });
    expect(r.samples).toBe(300);
    expect(r.failures).toBe(0);
    expect(r.failed).toBe(false);
    expect(r.ranAs).toBe('fast64');
    expect(r.minLogitMargin).toBeGreaterThan(0);
  });

  it('classifies wrong answers that exact does not reproduce as artefacts, not counterexamples', async () => {
    const r = await sweepConstruction(b4, resolveParams(b4, { n: '8' }), 'test-flaky', { samples: 200, batch: 50 });
    expect(r.failures).toBeGreaterThan(0);
    expect(r.artefactCount).toBe(r.failures);
    expect(r.failed).toBe(false);
    expect(r.artefacts[0].input.startsWith('[1')).toBe(true);
  });

  it('reports a real counterexample, shrunk under exact, when the construction itself is wrong', async () => {
    const g = constructionById('group-composition');
    const r = await sweepConstruction(g, resolveParams(g, { group: 'Z5', n: '6', variant: 'erratum-1' }), 'fast64', { samples: 200 });
    expect(r.failures).toBeGreaterThan(0);
    expect(r.failed).toBe(true);
    expect(r.counterexample!.replay).toMatch(/looped run group-composition .*--param variant=erratum-1 .*--interpreter exact --input/);
    // Shrunk under exact: erratum 1 shows with one or two non-identity elements.
    const input = JSON.parse(r.counterexample!.input) as number[];
    expect(input.filter((x) => x !== 0).length).toBeLessThanOrEqual(2);
  });

  it('walks every input of a finite space with --exhaustive, and refuses one that is too large', async () => {
    const g = constructionById('group-composition');
    const r = await sweepConstruction(g, resolveParams(g, { group: 'S3', n: '4' }), 'fast64', { exhaustive: true, batch: 100 });
    expect(r.samples).toBe(6 ** 4);
    expect(r.failures).toBe(0);
    const words = [...allWords({ symbols: 3, minLength: 1, maxLength: 2 })];
    expect(words).toEqual([[0], [1], [2], [0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]]);
    expect(wordCount({ symbols: 3, minLength: 1, maxLength: 2 })).toBe(12);
    await expect(sweepConstruction(g, resolveParams(g, { group: 'S5', n: '16' }), 'fast64', { exhaustive: true })).rejects.toThrow(/1\.85e\+33 inputs, more than/);
  });

  it('finds erratum 1 on an exhaustive sweep, every failure real', async () => {
    const g = constructionById('group-composition');
    const r = await sweepConstruction(g, resolveParams(g, { group: 'Z2', n: '3', variant: 'erratum-1' }), 'fast64', { exhaustive: true });
    expect(r.samples).toBe(8);
    expect(r.failures).toBeGreaterThan(0);
    expect(r.artefactCount).toBe(0);
    expect(r.failed).toBe(true);
  });
});

describe('stopping a sweep (Ctrl-C sets the signal)', () => {
  const g = constructionById('group-composition');

  it('stops within a sub-batch of the signal and reports how many inputs it checked', async () => {
    const signal = { aborted: false };
    let setAt = 0;
    let timer: NodeJS.Timeout | undefined;
    // Set 300 ms after the first sub-batch is checked, as a Ctrl-C in the middle of a sweep.
    const onProgress = () => {
      timer ??= setTimeout(() => {
        signal.aborted = true;
        setAt = performance.now();
      }, 300);
    };
    const r = await sweepConstruction(g, resolveParams(g, { group: 'S5', n: '16' }), 'fast64', { samples: 1_000_000, signal, onProgress });
    const after = performance.now() - setAt;
    expect(r.interrupted).toBe(true);
    expect(r.samples).toBeGreaterThan(0);
    expect(r.samples).toBeLessThan(1_000_000);
    expect(r.failed).toBe(false);
    expect(after).toBeLessThan(2000);
  }, 30_000);

  it('checks nothing when the signal is already set, and says so', async () => {
    const r = await sweepConstruction(g, resolveParams(g, { group: 'S3', n: '4' }), 'fast32', { samples: 1000, signal: { aborted: true } });
    expect(r.samples).toBe(0);
    expect(r.interrupted).toBe(true);
  });

  it('checks the same inputs whatever sizes the sub-batches take', async () => {
    const p = resolveParams(b4(), { n: '8' });
    const a = await sweepConstruction(b4(), p, 'test-flaky', { samples: 300, batch: 128, seed: 7 });
    const b = await sweepConstruction(b4(), p, 'test-flaky', { samples: 300, batch: 128, seed: 7 });
    expect(a.interrupted).toBe(false);
    expect(a.samples).toBe(300);
    expect({ failures: b.failures, artefacts: b.artefacts }).toEqual({ failures: a.failures, artefacts: a.artefacts });
  });

  it('gpu runBatchAsync looks at the signal before every chunk and returns the finished prefix', async () => {
    const built = b4().build(resolveParams(b4(), { n: '8' })) as unknown as { checks: { model: Parameters<typeof fast64.runBatch>[0] }[]; arbitrary(): fc.Arbitrary<unknown>; encode(x: unknown): number[] };
    const model = built.checks[0].model;
    const inputs = fc.sample(built.arbitrary(), { seed: 5, numRuns: 6 }).map((x) => built.encode(x));
    const gi = new GpuInterpreter({ backend: 'cpu', maxChunk: 1 });
    const want = (await gi.runBatchAsync(model, inputs)).map((r) => r.readouts.map((o) => o.token));
    let reads = 0;
    const part = await gi.runBatchAsync(model, inputs, { signal: { get aborted() { return ++reads > 3; } } });
    expect(part.map((r) => r.readouts.map((o) => o.token))).toEqual(want.slice(0, part.length));
    expect(part.length).toBeLessThan(inputs.length);
    expect(await gi.runBatchAsync(model, inputs, { signal: { aborted: true } })).toEqual([]);
  }, 60_000);

  it('fast runBatchAsync gives runBatch\'s results; stopped, a prefix of them; its abandoned workers are replaced', async () => {
    // Slow where worker threads take long to start (each loads the fast path through tsx): this
    // test waits for two, the first and the one that replaces the abandoned worker.
    const was = getThreads();
    setThreads(2);
    setParallelMinWork(0);
    try {
      const built = b4().build(resolveParams(b4(), { n: '16' })) as unknown as { checks: { model: Parameters<typeof fast64.runBatch>[0] }[]; arbitrary(): fc.Arbitrary<unknown>; encode(x: unknown): number[] };
      const model = built.checks[0].model;
      // 600 inputs of 16 positions: more than one chunk of 4096 rows on the calling thread.
      const inputs = fc.sample(built.arbitrary(), { seed: 3, numRuns: 600 }).map((x) => built.encode(x));
      const tokens = (rs: RunResult[]) => rs.map((r) => r.readouts.map((o) => o.token));
      const want = tokens(fast64.runBatch(model, inputs)); // waits for the worker to start serving
      expect(tokens(await fast64.runBatchAsync(model, inputs))).toEqual(want);
      expect(await fast64.runBatchAsync(model, inputs, { signal: { aborted: true } })).toEqual([]);
      // A signal that is set once the first chunk has run (the worker has its share by then).
      let reads = 0;
      const part = await fast64.runBatchAsync(model, inputs, { signal: { get aborted() { return ++reads > 1; } } });
      expect(part.length).toBeGreaterThan(0);
      expect(part.length).toBeLessThan(inputs.length);
      expect(lastParallelNote()).toMatch(/^stopped by the signal/);
      expect(tokens(part)).toEqual(want.slice(0, part.length));
      // The next runs, synchronous and not, are whole and right (a fresh worker where one was abandoned).
      expect(tokens(fast64.runBatch(model, inputs))).toEqual(want);
      expect(lastParallelNote()).toMatch(/^2 threads/);
      expect(tokens(await fast64.runBatchAsync(model, inputs))).toEqual(want);
    } finally {
      setThreads(was);
      setParallelMinWork(PARALLEL_MIN_WORK);
    }
  }, 120_000);
});
