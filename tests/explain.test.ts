// `looped explain`: called in-process with an Out over fake streams, so the tests read exactly what
// a user would see (with and without colour) and the --json data.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { attendText, explain, explainHelp } from '../cli/commands/explain.ts';
import type { HeadView, MatrixView, ModelView } from '../cli/explain/model-view.ts';
import type { RunView } from '../cli/explain/run-view.ts';
import { makeOut } from '../cli/output.ts';
import { InputError, UsageError } from '../common/errors.ts';

const ANSI = /\x1b\[[0-9;]*m/;

function capture(tty: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean };
  stream.isTTY = tty;
  return { stream, text: () => text };
}

/** Runs explain and returns its exit code and printed text. */
function explainText(args: string[], opts: { tty?: boolean; json?: boolean } = {}): { code: number; text: string } {
  const out = capture(opts.tty ?? false);
  const err = capture(false);
  const code = explain(args, makeOut(opts.json ?? false, out.stream, err.stream));
  return { code, text: out.text() };
}

interface ExplainJson {
  construction: string;
  model: ModelView;
  run?: RunView;
}

function explainJson(args: string[]): { code: number; data: ExplainJson } {
  const { code, text } = explainText([...args, '--json'], { json: true });
  return { code, data: JSON.parse(text) as ExplainJson };
}

const GC = ['group-composition', '--param', 'group=S3', '--param', 'n=4'];
// S3 in one-line notation; the product of these four is [0,2,1] (tests/thm-5-1 checks compose itself).
const GC_INPUT = '[[1,0,2],[0,2,1],[1,2,0],[1,0,2]]';
const PHOP = ['p-hop', '--param', 'p=3'];
const PHOP_INPUT = '[1,0,2,1,0,1,2,0]';

const head = (m: ModelView, name: string): HeadView => m.stages.flatMap((s) => s.layers.flatMap((l) => l.heads)).find((h) => h.name === name)!;
const names = (ts: { subspace: string }[]) => ts.map((t) => t.subspace);

const savedNoColor = process.env.NO_COLOR;
afterEach(() => {
  if (savedNoColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = savedNoColor;
});

describe('looped explain: layout, heads, MLP groups', () => {
  it('lemma-b9-shift: lists every subspace with offset, width and describe, and what the shift head reads and writes', () => {
    const { code, text } = explainText(['lemma-b9-shift', '--param', 'n=6']);
    expect(code).toBe(0);
    expect(text).not.toMatch(ANSI);
    expect(text).toMatch(/^ {2}prev +7 +3 +sbin\(max\(i − 1, 0\)\): the code of the previous position \(queries\)$/m);
    expect(text).toMatch(/^ {2}out +11 +4 +one-hot token read from the chosen position$/m);
    expect(text).toContain('head shift  hard, scale 1, causal');
    expect(text).toContain('Q reads prev, one   K reads pos, one   V reads tok   O writes out');
    expect(text).toContain('vocab → tok: identity ×4');
    // No --input, no run section.
    expect(text).not.toContain('4. Run');
    const { data } = explainJson(['lemma-b9-shift', '--param', 'n=6']);
    expect(data.model.residual.map((p) => [p.name, p.offset, p.size])).toEqual([
      ['tok', 0, 4],
      ['pos', 4, 3],
      ['prev', 7, 3],
      ['one', 10, 1],
      ['out', 11, 4],
    ]);
    expect(data.run).toBeUndefined();
  });

  it("group-composition: head 'first' reads src1 and pos and writes g1; the MLP's groups say what feeds them", () => {
    const { data } = explainJson(GC);
    const first = head(data.model, 'first');
    expect(first.kind).toBe('hard');
    expect(first.causal).toBe(true);
    expect(names(first.reads.W_Q)).toEqual(['src1', 'g1']);
    // Only the constant direction g1[0] of the scratch, not all of g1.
    expect(first.reads.W_Q[1]).toEqual({ subspace: 'g1', directions: ['g1[0]'], whole: false });
    expect(names(first.reads.W_K)).toEqual(['pos', 'g1']);
    expect(names(first.reads.W_V)).toEqual(['g']);
    expect(names(first.writes)).toEqual(['g1']);
    expect(first.role).toMatch(/copies g from position max\(2i−n−1, 0\) into g1/);
    const second = head(data.model, 'second');
    expect(names(second.reads.W_Q)).toEqual(['src2', 'g2']);
    expect(names(second.writes)).toEqual(['g2']);

    const mlp = data.model.stages[0].layers[0].mlp!;
    const pairs = mlp.groups.find((g) => g.name === 'pairs')!;
    expect(pairs.size).toBe(36);
    expect(names(pairs.reads)).toEqual(['g1', 'g2']);
    expect(names(pairs.writes)).toEqual(['g']);
    expect(pairs.biased).toBe(36);
    expect(names(mlp.groups.find((g) => g.name === 'clear.g1.neg')!.writes)).toEqual(['g1']);
    expect(names(mlp.biasWrites)).toEqual(['g1', 'g2']);

    const { text } = explainText(GC);
    expect(text).toContain('stage 0: 1 layer × 2 loops (loops 1–2), no mask');
    expect(text).toContain('Q reads src1, g1[0]   K reads pos, g1[0]   V reads g   O writes g1');
    expect(text).toMatch(/^ {6}pairs +36 +g1, g2 +g +one unit per \(h, h′\)/m);
  });

  it('p-hop (p = 3): three heads with their reads and writes, and the MLP groups of the commit', () => {
    const { data } = explainJson(PHOP);
    expect(data.model.stages[0].loops).toBe(4);
    expect(names(head(data.model, 'shift').writes)).toEqual(['prev']);
    expect(names(head(data.model, 'read').reads.W_Q)).toEqual(['one', 'a']);
    expect(names(head(data.model, 'read').writes)).toEqual(['na', 'nb', 'ntb']);
    const fold = data.model.stages[0].layers[0].mlp!.groups.find((g) => g.name === 'fold')!;
    expect(names(fold.reads)).toEqual(['count', 'fold']);
    expect(names(fold.writes)).toEqual(['fold']);
  });
});

describe('looped explain: folded weights', () => {
  const matrix = (h: { matrices: MatrixView[] }, name: string) => h.matrices.find((m) => m.name === name)!;

  it('collapses zero blocks, summarises the rest, and prints grids only for small general blocks', () => {
    const { data } = explainJson(GC);
    const mlp = data.model.stages[0].layers[0].mlp!;
    const W_in = matrix(mlp, 'W_in');
    // 6 residual subspaces × 7 hidden groups: 8 live blocks, the other 34 folded.
    expect(W_in.blocks.length + W_in.zeroBlocks).toBe(42);
    expect(W_in.zeroBlocks).toBe(34);
    expect(W_in.blocks.every((b) => b.nonzero > 0)).toBe(true);
    const g1Pairs = W_in.blocks.find((b) => b.rows === 'g1' && b.cols === 'pairs')!;
    expect(g1Pairs.summary).toBe('108 nonzero of 108, values {−1, 1}');
    expect(g1Pairs.grid).toBeUndefined(); // 3 × 36: wider than 12
    expect(W_in.blocks.find((b) => b.rows === 'g' && b.cols === 'clear.g.pos')!.summary).toBe('identity ×3');
    expect(W_in.blocks.find((b) => b.rows === 'g' && b.cols === 'clear.g.neg')!.summary).toBe('−identity ×3');
    expect(matrix(mlp, 'b_in').blocks[0].summary).toBe('36 nonzero of 36, values {−7, −5, −3, −1, 1}');
    const first = head(data.model, 'first');
    expect(matrix(first, 'W_V').blocks.map((b) => `${b.rows} → ${b.cols}: ${b.summary}`)).toEqual(['g → v: identity ×3']);
    expect(matrix(first, 'W_O').blocks.map((b) => `${b.rows} → ${b.cols}: ${b.summary}`)).toEqual(['v → g1: identity ×3']);
    const q = matrix(first, 'W_Q').blocks.find((b) => b.rows === 'src1')!;
    expect(q.grid).toEqual([
      ['1', '0', '0', '0', '0', '0'],
      ['0', '0', '1', '0', '0', '0'],
      ['0', '0', '0', '0', '1', '0'],
    ]);
    expect(q.colLabels).toEqual(['code.0', 'one.0', 'code.1', 'one.1', 'code.2', 'one.2']);

    const { text } = explainText(GC);
    expect(text).toContain('W_in 18×54: 234 nonzero in 8 blocks, 34 zero blocks folded');
    expect(text).toContain('g1 → pairs: 108 nonzero of 108, values {−1, 1}');
    // The folded text never prints a 36-row grid: no row labelled with a pair unit.
    expect(text).not.toMatch(/^\s+\[0,1,2\] ∘ \[0,1,2\]/m);
    // --full prints it.
    const full = explainText([...GC, '--full']).text;
    expect(full).toMatch(/^\s+\[0,1,2\] ∘ \[0,1,2\]\s/m);
    expect(full.split('\n').length).toBeGreaterThan(text.split('\n').length + 60);
  });
});

describe('looped explain --input: the run loop by loop', () => {
  it('group-composition: g at position n after the last loop is the product, heads attend to the sources', () => {
    const { code, data } = explainJson([...GC, '--input', GC_INPUT]);
    expect(code).toBe(0);
    const run = data.run!;
    expect(run.correct).toBe(true);
    expect(run.expected).toEqual([0, 2, 1]);
    expect(run.loops.map((l) => l.loop)).toEqual([0, 1, 2]);
    const last = run.loops[2];
    expect(last.state.g[4]).toMatchObject({ text: '[0,2,1]', kind: 'token' });
    expect(last.state.g.slice(0, 4).map((c) => c.text)).toEqual(['[0,1,2]', '[0,1,2]', '[0,1,2]', '[0,1,2]']);
    // Position codes decode as integers: src1 = max(2i − n − 1, 0), src2 = max(2i − n, 0).
    expect(run.loops[0].state.src1.map((c) => c.value)).toEqual([0, 0, 0, 1, 3]);
    expect(run.loops[0].state.src2.map((c) => c.value)).toEqual([0, 0, 0, 2, 4]);
    const firstHead = last.attention.find((a) => a.head === 'first')!;
    expect(firstHead.targets.map((t) => t.keys)).toEqual([[0], [0], [0], [1], [3]]);
    expect(firstHead.targets.every((t) => t.weight === 1)).toBe(true);
    // The heads write the scratch, the MLP puts it back: g1 changes after attention, not over the loop.
    expect(last.afterAttention[0].changed).toEqual(['g1', 'g2']);
    expect(last.changed).toEqual(['g']);
    expect(run.loops.every((l) => l.lockstep === undefined || l.lockstep.matches)).toBe(true);
    expect(run.lockstepFinalAt).toBe(2);
    expect(run.readoutCorrectAt).toBe(2);
    expect(run.loops[1].readout).toEqual({ answer: [2, 1, 0], equalsReference: false });

    const { text } = explainText([...GC, '--input', GC_INPUT]);
    expect(text).toMatch(/^ {2}first attends +0 +0 +0 +1 +3$/m);
    expect(text).toMatch(/^ {2}g after loop +\[0,1,2\] +\[0,1,2\] +\[0,1,2\] +\[0,1,2\] +\[0,2,1\]$/m);
    expect(text).toContain('readout here [0,2,1] = the reference');
    expect(text).toContain("✓ lockstep: the state equals the algorithm's after round 2");
    expect(text).toContain("the state first equals the algorithm's final state after loop 2");
  });

  it('one loop fewer: the answer is wrong, exit code 1, and no loop reaches the reference', () => {
    const { code, data } = explainJson([...GC, '--param', 'loops=1', '--input', GC_INPUT]);
    expect(code).toBe(1);
    expect(data.run!.correct).toBe(false);
    expect(data.run!.readoutCorrectAt).toBeNull();
    expect(data.run!.loops[1].state.g[4].text).toBe('[2,1,0]');
    const { text } = explainText([...GC, '--param', 'loops=1', '--input', GC_INPUT]);
    expect(text).toContain('✗ the reference gives [0,2,1]');
    expect(text).toMatch(/readout: first equals the reference answer \[0,2,1\] never/);
  });

  it('p-hop (p = 3): shift attends to i − 1, pointers decode as integers, lockstep matches every loop', () => {
    const { code, data } = explainJson([...PHOP, '--input', PHOP_INPUT]);
    expect(code).toBe(0);
    const run = data.run!;
    expect(run.loops).toHaveLength(5);
    const shift = run.loops[1].attention.find((a) => a.head === 'shift')!;
    expect(shift.targets.map((t) => t.keys[0])).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect(run.loops[1].state.prev.map((c) => c.text)).toEqual(['0', '0', 'prev:1', 'prev:0', 'prev:2', 'prev:1', 'prev:0', 'prev:1', 'prev:2']);
    // After the search (loop 2) a = b = f, the largest j ≤ i with v_{j−1} = v_i.
    expect(run.loops[2].state.a.map((c) => c.value)).toEqual([0, 0, 0, 0, 2, 3, 5, 4, 6]);
    expect(run.loops.slice(1).every((l) => l.lockstep?.matches === true)).toBe(true);
    expect(run.loops[4].state.b[8].value).toBe(3);
    expect(run.answer).toBe(run.expected);
    expect(run.readoutCorrectAt).toBe(4);
    expect(run.lockstepFinalAt).toBe(4);
  });

  it('lemma-b9-shift: the shifted token appears in out after one loop', () => {
    const { data } = explainJson(['lemma-b9-shift', '--param', 'n=6', '--input', '[0,1,2,3,0,1]']);
    expect(data.run!.loops[1].state.out.map((c) => c.text)).toEqual(['out:0', 'out:0', 'out:1', 'out:2', 'out:3', 'out:0']);
    expect(data.run!.readoutCorrectAt).toBe(1);
    expect(data.run!.lockstepFinalAt).toBeNull(); // no lockstep for a single-loop gadget
  });
});

describe('looped explain: colour, help and errors', () => {
  it('colours a terminal, and never under NO_COLOR or when not a terminal', () => {
    const args = ['lemma-b9-shift', '--param', 'n=6', '--input', '[0,1,2,3,0,1]'];
    delete process.env.NO_COLOR;
    const coloured = explainText(args, { tty: true }).text;
    expect(coloured).toMatch(ANSI);
    expect(coloured).toContain('\x1b[31m−1\x1b[39m'); // negative weights in red
    expect(coloured).toContain('\x1b[32m1\x1b[39m'); // positive in green
    expect(explainText(args, { tty: false }).text).not.toMatch(ANSI);
    process.env.NO_COLOR = '1';
    const plain = explainText(args, { tty: true }).text;
    expect(plain).not.toMatch(ANSI);
    expect(plain.replace(ANSI, '')).toBe(explainText(args, { tty: false }).text);
  });

  it('writes attention targets compactly: ties as runs, the weight when it is not 1', () => {
    expect(attendText({ keys: [3], weight: 1 })).toBe('3');
    expect(attendText({ keys: [1, 4], weight: 0.5 })).toBe('1|4(0.5)');
    expect(attendText({ keys: [0, 1, 2, 3, 4, 5], weight: 1 / 6 })).toBe('0–5(0.167)');
    expect(attendText({ keys: [0, 1, 7], weight: 1 / 3 })).toBe('0|1|7(0.333)');
    expect(attendText({ keys: [], weight: 0 })).toBe('–');
  });

  it('prints its help with an example, and names what is wrong', () => {
    expect(explainText(['--help']).text).toBe(`${explainHelp}\n`);
    expect(explainHelp).toContain('looped explain group-composition');
    expect(() => explainText([])).toThrow(UsageError);
    expect(() => explainText(['no-such'])).toThrow(/unknown construction "no-such"/);
    expect(() => explainText([...GC, '--input', '[[1,0,2]]'])).toThrow(InputError);
    expect(() => explainText([...GC, '--bogus'])).toThrow(UsageError);
  });
});
