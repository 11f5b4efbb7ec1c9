import { evaluate as mathEvaluate } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { decodeCot } from '../simulators/cot.ts';
import { interpreterByName } from '../simulators/interpreters.ts';
import { LabeledMatrix, identity } from '../simulators/matrix.ts';
import {
  type Model,
  addStage,
  createHead,
  createLayer,
  createMlp,
  createModel,
  invalidate,
  maskRow,
  modelSizes,
  validateModel,
  withAttention,
} from '../simulators/model.ts';
import { space } from '../simulators/space.ts';

/** Position i reads the token at position i−1 (position 0 reads itself): the SHIFT of Def. B.5. */
function shiftModel(): Model {
  const R = space({ tok: 3, pos: 4, prev: 3 });
  const m = createModel({ name: 'shift', vocab: ['a', 'b', 'c'], residual: R, maxLen: 4, readout: 'all' });
  m.W_E.write('vocab', 'tok', identity());
  m.W_pos.write('positions', 'pos', identity());
  const h = createHead(R, { name: 'prev', qk: { want: 4 }, ov: { copy: 3 } });
  for (let i = 0; i < 4; i++) h.W_Q.set(`pos[${i}]`, `want[${Math.max(i - 1, 0)}]`, 1);
  h.W_K.write('pos', 'want', identity());
  h.W_V.write('tok', 'copy', identity());
  h.W_O.write('copy', 'prev', identity());
  const layer = createLayer('shift');
  layer.heads.push(h);
  addStage(m, [layer], 1);
  m.W_U.write('prev', 'vocab', identity());
  return m;
}

describe('named subspaces and labelled matrices', () => {
  it('labels every direction and addresses subspaces by name', () => {
    const R = space({ tok: 2, pos: 3, one: 1 });
    expect(R.dim).toBe(6);
    expect(R.labels).toEqual(['tok[0]', 'tok[1]', 'pos[0]', 'pos[1]', 'pos[2]', 'one']);
    expect(R.index('pos', 2)).toBe(4);
    expect(() => R.get('ptr')).toThrow(/no subspace "ptr".*tok, pos, one/);
    expect(() => R.range('pos[3]')).toThrow(/pos\[3\] is out of range/);
  });

  it('refuses a block whose shape does not match its subspaces, naming both', () => {
    const R = space({ a: 2, b: 3 });
    const W = new LabeledMatrix('layer 0, head x, W_Q', R, R);
    expect(() => W.write('a', 'b', identity())).toThrow(/layer 0, head x, W_Q: identity from "a" \(2\) to "b" \(3\)/);
    expect(() => W.write('a', 'b', [[1, 2]])).toThrow(/is 1×2 but the subspaces are 2×3/);
  });

  it('refuses NaN and infinite weights, naming the entry', () => {
    const R = space({ a: 2 });
    const W = new LabeledMatrix('mlp W_in', R, R);
    expect(() => W.set('a[0]', 'a[1]', NaN)).toThrow(/mlp W_in: entry \(a\[0\], a\[1\]\) is NaN/);
    expect(() => W.set('a[0]', 'a[1]', Infinity)).toThrow(/Infinity/);
  });

  it('keeps rationals that a double cannot hold exactly', () => {
    const R = space({ a: 1 });
    const W = new LabeledMatrix('W', R, R).set('a', 'a', '1/3');
    expect(W.exactAt(0, 0).toFraction()).toBe('1/3');
    expect(W.isDyadic()).toBe(false);
  });
});

describe('model validation and inputs', () => {
  it('names the layer, head and subspaces of a matrix on the wrong space', () => {
    const m = shiftModel();
    const other = space({ tok: 3, pos: 5, prev: 3 });
    const h = m.stages[0].layers[0].heads[0];
    (h as { W_Q: LabeledMatrix }).W_Q = new LabeledMatrix("head 'prev' W_Q", other, h.qk);
    invalidate(m);
    expect(() => validateModel(m)).toThrow(/stage 0, layer 0, head 'prev': head 'prev' W_Q rows are \[tok\(3\), pos\(5\), prev\(3\)\] \(11\) but should be \[tok\(3\), pos\(4\), prev\(3\)\] \(10\)/);
  });

  it('refuses a NaN that reached the weights through the raw data', () => {
    const m = shiftModel();
    m.W_U.data[3] = NaN;
    invalidate(m);
    expect(() => interpreterByName('float64').run(m, [0])).toThrow(/readout: unembed.W_U entry .* is NaN/);
  });

  it('refuses tokens outside the vocabulary and sequences longer than the positions', () => {
    const m = shiftModel();
    const f = interpreterByName('exact');
    expect(() => f.run(m, [0, 3])).toThrow(/token 3 at position 1 is outside the vocabulary 0..2/);
    expect(() => f.run(m, [0, 1, 2, 0, 1])).toThrow(/5 tokens but the position embedding covers 4/);
    expect(() => f.run(m, [])).toThrow(/empty/);
    expect(() => f.run(m, [0.5])).toThrow(/outside the vocabulary/);
  });

  it('refuses a bad mask expression and a negative loop count', () => {
    const m = shiftModel();
    m.stages[0].mask = { expr: 'i >=' };
    invalidate(m);
    expect(() => validateModel(m)).toThrow(/stage 0: mask "i >=" is not a valid expression/);
    m.stages[0].mask = null;
    m.stages[0].loops = -1;
    invalidate(m);
    expect(() => validateModel(m)).toThrow(/stage 0: loops is -1/);
  });

  it('refuses a mask outside the mask grammar before anything of it runs, in one line naming the stage', () => {
    for (const [expr, why] of [
      ['process.exit(7)', /stage 0: mask "process\.exit\(7\)" calls "process\.exit", which is not a mask function/],
      ['f(x)=x', /stage 0: mask "f\(x\)=x" defines a function/],
      ['import({pi: 4}, {override: true})', /calls "import", which is not a mask function/],
      ['x > 1', /uses "x", which is not defined/],
      ['"yes"', /holds the constant/],
      [`${'('.repeat(40)}i${')'.repeat(40)} > 0`, /nests brackets more than 32 deep/],
      ['i >= 0 or '.repeat(200) + 'true', /characters long, over the limit of 1000/],
    ] as const) {
      const m = shiftModel();
      m.stages[0].mask = { expr };
      invalidate(m);
      let message = '';
      try {
        validateModel(m);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, expr).toMatch(why);
      expect(message.split('\n'), expr).toHaveLength(1);
    }
    expect(mathEvaluate('pi')).toBe(Math.PI); // import(...) never ran
    // What only evaluation can tell is one line too, with the position and loop.
    expect(() => maskRow({ expr: 'i + t' }, 1, 2, 3, 'stage 0 mask')).toThrow(/^stage 0 mask: mask "i \+ t" gave 2 at i=1, t=1; it must be true\/false or 0\/1$/);
    expect(() => maskRow({ expr: 'sqrt(i - 5) > 1' }, 1, 2, 3, 'stage 0 mask')).toThrow(/^stage 0 mask: mask "sqrt\(i - 5\) > 1" cannot be evaluated at i=0, t=1: [^\n]*$/);
    expect(maskRow({ expr: 'isPrime(i + t) or 1 < i < 4' }, 1, 2, 5)).toEqual([false, true, true, true, true]);
  });
});

describe('interpreters on a hand-checked model', () => {
  it('computes SHIFT at every position under every number system', () => {
    for (const name of ['exact', 'fixed:8', 'float64', 'float32']) {
      const r = interpreterByName(name).run(shiftModel(), [2, 0, 1, 1]);
      expect(r.readouts.map((o) => o.token), name).toEqual([2, 2, 0, 1]);
      expect(r.margins.attention).toBe(1); // ⟨e_{i−1}, e_{i−1}⟩ − ⟨e_{i−1}, e_j⟩
      expect(r.margins.logit).toBe(1);
    }
  });

  it('refuses softmax under exact arithmetic instead of approximating', () => {
    const soft = withAttention(shiftModel(), 'softmax');
    expect(() => interpreterByName('exact').run(soft, [0, 1])).toThrow(/exact interpreter cannot compute softmax \(stage 0, layer 0, head 'prev'\)/);
    const r = interpreterByName('float64').run(soft, [0, 1]);
    expect(r.readouts[1].token).toBe(0); // softmax with gap 1 still puts most weight on the right key
  });

  it('reports a tie for the top logit instead of breaking it', () => {
    const m = shiftModel();
    m.W_U.set('prev[0]', 'vocab[1]', 1); // token a now scores a and b equally
    invalidate(m);
    const r = interpreterByName('exact').run(m, [0, 0]);
    expect(r.readouts[1].top).toEqual([0, 1]);
    expect(r.readouts[1].token).toBeNull();
    expect(r.answer).toBeNull();
    expect(r.tie).toBe(true);
    expect(r.margins.logit).toBe(0);
  });

  it('averages tied keys under hard attention, exactly', () => {
    const R = space({ tok: 2, avg: 1 });
    const m = createModel({ name: 'mean', vocab: ['0', '1'], residual: R, maxLen: 3 });
    m.W_E.set('vocab[1]', 'tok[1]', 1);
    const h = createHead(R, { name: 'uniform', qk: 1, ov: 1 }); // all scores 0: every key ties
    h.W_V.set('tok[1]', 'ov', 1);
    h.W_O.set('ov', 'avg', 1);
    const layer = createLayer();
    layer.heads.push(h);
    addStage(m, [layer], 1);
    m.W_U.set('avg', 'vocab[1]', 1);
    const r = interpreterByName('exact').run(m, [1, 0, 0], { trace: true });
    expect(r.readouts[0].exactLogits).toEqual(['0', '1/3']);
    expect(r.trace!.read('loop1.blocks.0.hook_resid_mid', 'avg', 2)).toEqual([1 / 3]);
    expect(r.trace!.patterns.get('loop1.blocks.0.attn.uniform.hook_pattern')![2]).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(r.margins.attentionTies).toBe(2); // positions 1 and 2 average tied keys
  });

  it('records the residual after the embedding and every attention and MLP of every loop', () => {
    const m = shiftModel();
    const mlp = createMlp(m.residual, { name: 'noop', hidden: 1 });
    m.stages[0].layers[0].mlp = mlp;
    m.stages[0].loops = 2;
    invalidate(m);
    const r = interpreterByName('exact').run(m, [0, 1, 2], { trace: true });
    expect(r.trace!.keys()).toEqual([
      'hook_embed',
      'loop1.blocks.0.hook_resid_mid',
      'loop1.blocks.0.hook_resid_post',
      'loop2.blocks.0.hook_resid_mid',
      'loop2.blocks.0.hook_resid_post',
    ]);
    expect(r.trace!.read('hook_embed', 'tok', 1)).toEqual([0, 1, 0]);
    expect(r.trace!.read('loop1.blocks.0.hook_resid_mid', 'prev', 2)).toEqual([0, 1, 0]);
    expect(r.trace!.read('loop2.blocks.0.hook_resid_mid', 'prev', 2)).toEqual([0, 2, 0]); // copied twice
  });

  it('expresses middle looping (4 ⊗ 1,4,1) and reports its sizes', () => {
    const m = shiftModel();
    const block = () => Array.from({ length: 4 }, () => createLayer());
    m.stages.length = 0;
    addStage(m, block(), 1);
    addStage(m, block(), 4);
    addStage(m, block(), 1);
    invalidate(m);
    const s = modelSizes(m);
    expect(s.shape).toBe('(4 ⊗ 1,4,1)');
    expect(s.depth).toBe(24);
    expect(s.distinctLayers).toBe(12);
    expect(s.loops).toBe(6);
  });

  it('decodes CoT greedily and stops at a tie', () => {
    const m = shiftModel();
    m.readout = 'last';
    const cot = decodeCot(interpreterByName('exact'), m, [1, 2], 2);
    expect(cot.generated).toEqual([1, 2]); // shift of (1,2) ends in 1; then of (1,2,1) in 2
    expect(() => decodeCot(interpreterByName('exact'), m, [1, 2], 4)).toThrow(/needs 5 positions; the model has 4/);
  });

  it('sees weights edited after a run (no stale converted weights)', () => {
    const m = shiftModel();
    const f = interpreterByName('float64');
    expect(f.run(m, [0, 1]).readouts[1].token).toBe(0);
    m.W_U.write('prev', 'vocab', [[0, 1, 0], [1, 0, 0], [0, 0, 1]]); // swap tokens a and b in the readout
    expect(f.run(m, [0, 1]).readouts[1].token).toBe(1);
  });
});
