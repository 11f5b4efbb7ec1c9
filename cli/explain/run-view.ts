// What `looped explain --input` says about one run, as plain data: the construction's first check
// (exact) run with a trace, and loop by loop every residual subspace decoded at every position,
// where each head attended, the lockstep comparison and the readout the state would give.
import type { BuiltConstruction } from '../../proofs/construction.ts';
import { decodeSbin } from '../../proofs/codes.ts';
import { interpreterByName } from '../../simulators/interpreters.ts';
import type { Model } from '../../simulators/model.ts';
import type { Readout, RunResult } from '../../simulators/result.ts';
import type { Subspace } from '../../simulators/space.ts';
import type { Snapshot, Trace } from '../../simulators/trace.ts';
import { maxOf } from '../../simulators/extrema.ts';

/**
 * A construction may expose its own decoders for subspaces (duck-typed: no construction has to):
 * `explainDecoders: { g: (values) => 'S3 element (0 2 1)' }`; null falls back to the generic ones.
 */
export type SubspaceDecoders = Record<string, (values: readonly number[], exact: readonly string[]) => string | null>;

export type CellKind = 'zero' | 'scalar' | 'code' | 'onehot' | 'token' | 'vector' | 'custom';

export interface Cell {
  text: string;
  kind: CellKind;
  /** code: the integer; onehot: the direction's index; token: the token's index in the vocabulary. */
  value?: number;
}

/**
 * Per residual subspace, the vectors the token embedding writes there, each with its token: a
 * subspace holding one of them decodes as that token ("g = [0,2,1]" for a group element's code).
 * The first token wins where two embed alike (an element before the start token).
 */
export type TokenCodes = Map<string, Map<string, { index: number; label: string }>>;

export function tokenCodes(model: Model): TokenCodes {
  const out: TokenCodes = new Map();
  for (const p of model.residual.parts) {
    const byCode = new Map<string, { index: number; label: string }>();
    for (let v = 0; v < model.vocab.dim; v++) {
      const code: string[] = [];
      for (let k = 0; k < p.size; k++) code.push(model.W_E.exactAt(v, p.offset + k).toFraction());
      if (code.every(isZero)) continue;
      const key = code.join(' ');
      if (!byCode.has(key)) byCode.set(key, { index: v, label: model.vocab.labels[v] });
    }
    if (byCode.size > 0) out.set(p.name, byCode);
  }
  return out;
}

export interface HeadAttention {
  stage: number;
  layer: number;
  head: string;
  /** Per query position: the key positions with the top weight, and that weight. */
  targets: { keys: number[]; weight: number }[];
}

export interface LoopState {
  /** 0 is the embedding; loops count from 1 over the whole model. */
  loop: number;
  key: string;
  /** Decoded subspace → one cell per position. */
  state: Record<string, Cell[]>;
  /** Exact residual per position, subspace by subspace. */
  exact: Record<string, string[][]>;
  /** Subspaces that differ from the previous loop's state. */
  changed: string[];
  attention: HeadAttention[];
  /**
   * Per layer with heads: the subspaces its attention changed (hook_resid_mid against the residual
   * before the layer), decoded — the scratch a head writes and the MLP clears shows up here only.
   */
  afterAttention: { stage: number; layer: number; key: string; changed: string[]; state: Record<string, Cell[]> }[];
  lockstep?: { expected: unknown; got: unknown; matches: boolean };
  /** The answer the readout gives from this state, in the construction's notation. */
  readout: { answer: unknown; equalsReference: boolean };
}

export interface RunView {
  check: string;
  interpreter: string;
  input: unknown;
  tokens: number[];
  answer: unknown;
  expected: unknown;
  correct: boolean;
  lockstepDescribe: string | null;
  loops: LoopState[];
  /** First loop whose lockstep state equals the algorithm's last compared state (null: never, or no lockstep). */
  lockstepFinalAt: number | null;
  /** First loop (0 = the embedding) whose readout equals the reference answer. */
  readoutCorrectAt: number | null;
}

const isZero = (s: string) => s === '0' || s === '-0';

/**
 * Decoding, first that applies: the construction's own decoder; 0; a scalar; a one-hot as its
 * direction's label; a vector the token embedding writes into this subspace as that token; a ±1
 * code as its integer (least significant bit first, proofs/codes.ts); else the vector itself.
 */
export function decodeCell(sub: Subspace, values: readonly number[], exact: readonly string[], custom?: SubspaceDecoders, tokens?: TokenCodes): Cell {
  const own = custom?.[sub.name]?.(values, exact);
  if (own !== undefined && own !== null) return { text: own, kind: 'custom' };
  if (exact.every(isZero)) return { text: '0', kind: 'zero' };
  if (sub.size === 1) return { text: exact[0], kind: 'scalar' };
  const nonzero = exact.flatMap((v, k) => (isZero(v) ? [] : [k]));
  if (nonzero.length === 1 && exact[nonzero[0]] === '1') return { text: sub.labels[nonzero[0]], kind: 'onehot', value: nonzero[0] };
  const token = tokens?.get(sub.name)?.get(exact.join(' '));
  if (token) return { text: token.label, kind: 'token', value: token.index };
  if (values.every((v) => v === 1 || v === -1) && sub.size <= 52) {
    const x = decodeSbin(values);
    return { text: String(x), kind: 'code', value: x };
  }
  return { text: `[${exact.join(' ')}]`, kind: 'vector' };
}

function exactRows(snap: Snapshot): string[][] {
  return snap.exact ?? snap.values.map((row) => row.map(String));
}

function decodeSnapshot(model: Model, snap: Snapshot, custom?: SubspaceDecoders, tokens?: TokenCodes): { state: Record<string, Cell[]>; exact: Record<string, string[][]> } {
  const ex = exactRows(snap);
  const state: Record<string, Cell[]> = {};
  const exact: Record<string, string[][]> = {};
  for (const p of model.residual.parts) {
    if (p.size === 0) continue;
    exact[p.name] = ex.map((row) => row.slice(p.offset, p.offset + p.size));
    state[p.name] = snap.values.map((row, i) => decodeCell(p, row.slice(p.offset, p.offset + p.size), exact[p.name][i], custom, tokens));
  }
  return { state, exact };
}

/** The readouts the model would give if it stopped with this residual (logits x·W_U, as the interpreters read them). */
export function readoutsOf(model: Model, snap: Snapshot): Readout[] {
  const n = snap.values.length;
  const positions = model.readout === 'all' ? Array.from({ length: n }, (_, i) => i) : [n - 1];
  const U = model.W_U.rowsSparse();
  const V = model.vocab.dim;
  return positions.map((position) => {
    const logits = new Array<number>(V).fill(0);
    snap.values[position].forEach((x, r) => {
      if (x !== 0) for (const e of U[r]) logits[e.col] += x * e.value;
    });
    const best = maxOf(logits);
    const top = logits.flatMap((v, k) => (v === best ? [k] : []));
    const rest = logits.filter((v) => v !== best);
    return { position, logits, top, token: top.length === 1 ? top[0] : null, margin: top.length > 1 ? 0 : rest.length ? best - maxOf(rest) : Infinity };
  });
}

/** The stage that runs a loop (loops count from 1 over the whole model), or −1. */
function stageOf(model: Model, loop: number): number {
  let first = 1;
  return model.stages.findIndex((s) => {
    const hit = loop >= first && loop < first + s.loops;
    first += s.loops;
    return hit;
  });
}

function afterAttentionOf(model: Model, trace: Trace, loop: number, before: Snapshot, custom?: SubspaceDecoders, tokens?: TokenCodes): LoopState['afterAttention'] {
  const stage = stageOf(model, loop);
  if (stage < 0) return [];
  const out: LoopState['afterAttention'] = [];
  let prev = before;
  model.stages[stage].layers.forEach((layer, l) => {
    const mid = trace.snapshots.get(`loop${loop}.blocks.${l}.hook_resid_mid`);
    const post = trace.snapshots.get(`loop${loop}.blocks.${l}.hook_resid_post`);
    if (mid && layer.heads.length > 0) {
      const a = decodeSnapshot(model, mid, custom, tokens);
      const b = decodeSnapshot(model, prev, custom, tokens);
      const changed = Object.keys(a.exact).filter((k) => JSON.stringify(a.exact[k]) !== JSON.stringify(b.exact[k]));
      out.push({ stage, layer: l, key: mid.key, changed, state: Object.fromEntries(changed.map((k) => [k, a.state[k]])) });
    }
    if (post) prev = post;
  });
  return out;
}

function attentionOf(model: Model, trace: Trace, loop: number): HeadAttention[] {
  const stage = stageOf(model, loop);
  if (stage < 0) return [];
  const out: HeadAttention[] = [];
  model.stages[stage].layers.forEach((layer, l) => {
    for (const h of layer.heads) {
      const pattern = trace.patterns.get(`loop${loop}.blocks.${l}.attn.${h.name}.hook_pattern`);
      if (pattern === undefined) continue;
      const targets = pattern.map((row) => {
        const weight = maxOf(row);
        return { keys: row.flatMap((w, j) => (w === weight && w > 0 ? [j] : [])), weight };
      });
      out.push({ stage, layer: l, head: h.name, targets });
    }
  });
  return out;
}

export function runView(built: BuiltConstruction<unknown, unknown>, inputText: string): RunView {
  const check = built.checks[0];
  const model = check.model;
  const input = built.parseInput(inputText);
  const custom = (built as { explainDecoders?: SubspaceDecoders }).explainDecoders;
  const tokens = tokenCodes(model);
  const r = interpreterByName(check.interpreter).run(model, built.encode(input), { trace: true });
  const trace = r.trace!;
  const expected = built.reference(input);
  const answer = built.decode(r);
  const lock = built.lockstep ? built.lockstep.compare(input, r) : [];
  const finalExpected = lock.length ? JSON.stringify(lock[lock.length - 1].expected) : null;
  const totalLoops = model.stages.reduce((s, st) => s + st.loops, 0);

  const readoutAt = (snap: Snapshot) => {
    const readouts = readoutsOf(model, snap);
    const last = readouts[readouts.length - 1];
    const fake: RunResult = { ...r, readouts, answer: last.token, tie: last.token === null };
    const a = built.decode(fake);
    return { answer: built.formatAnswer(a), equalsReference: built.equal(a, expected) };
  };

  const loops: LoopState[] = [];
  let previous: Record<string, string[][]> | null = null;
  let previousSnap: Snapshot | null = null;
  for (let t = 0; t <= totalLoops; t++) {
    const snap = t === 0 ? trace.get('hook_embed') : trace.afterLoop(t);
    const { state, exact } = decodeSnapshot(model, snap, custom, tokens);
    const prev = previous;
    const changed = prev === null ? Object.keys(exact) : Object.keys(exact).filter((k) => JSON.stringify(exact[k]) !== JSON.stringify(prev[k]));
    const row = lock.find((x) => x.loop === t);
    loops.push({
      loop: t,
      key: snap.key,
      state,
      exact,
      changed,
      attention: t === 0 ? [] : attentionOf(model, trace, t),
      afterAttention: t === 0 || previousSnap === null ? [] : afterAttentionOf(model, trace, t, previousSnap, custom, tokens),
      lockstep: row ? { expected: row.expected, got: row.got, matches: JSON.stringify(row.expected) === JSON.stringify(row.got) } : undefined,
      readout: readoutAt(snap),
    });
    previous = exact;
    previousSnap = snap;
  }
  const finalAt = finalExpected === null ? null : (lock.find((x) => JSON.stringify(x.got) === finalExpected)?.loop ?? null);
  return {
    check: check.label,
    interpreter: r.interpreter,
    input: JSON.parse(built.formatInput(input)) as unknown,
    tokens: r.tokens,
    answer: built.formatAnswer(answer),
    expected: built.formatAnswer(expected),
    correct: built.equal(answer, expected),
    lockstepDescribe: built.lockstep?.describe ?? null,
    loops,
    lockstepFinalAt: finalAt,
    readoutCorrectAt: loops.find((l) => l.readout.equalsReference)?.loop ?? null,
  };
}
