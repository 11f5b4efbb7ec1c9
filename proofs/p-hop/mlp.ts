// The MLP pieces of the p-hop constructions: named units that move a freshly read pointer from
// its scratch subspace into place (always, or gated by a flag), written with ReLUs on ±1 codes and
// 0/1 one-hots (see common.ts for the residual layout they act on).
import { type Mlp, type Model, createMlp } from '../../simulators/model.ts';
import type { Selector } from '../../simulators/space.ts';

/**
 * Builds an MLP from unit groups. Each unit is relu(Σ w·x + bias) and writes Σ c·unit into the
 * residual; `bOut` adds constants. Codes are ±1 and one-hots 0/1, so relu(x + 1) = x + 1 and
 * relu(x) = x pass them through exactly: that is how a linear move is written with ReLUs.
 */
export interface Unit {
  label: string;
  in: [Selector, number][];
  bias: number;
  out: [Selector, number][];
}

export function buildMlp(model: Model, name: string, role: string, groups: { name: string; describe: string; units: Unit[] }[], bOut: [Selector, number][] = []): Mlp {
  const hiddenSpec: Record<string, { size: number; describe: string; labels: string[] }> = {};
  for (const g of groups) if (g.units.length > 0) hiddenSpec[g.name] = { size: g.units.length, describe: g.describe, labels: g.units.map((u) => u.label) };
  const mlp = createMlp(model.residual, { name, role, hidden: hiddenSpec }, `${model.name}: mlp '${name}'`);
  for (const g of groups) {
    g.units.forEach((u, k) => {
      for (const [sel, w] of u.in) mlp.W_in.add(sel, [g.name, k], w);
      if (u.bias !== 0) mlp.b_in.set([g.name, k], u.bias);
      for (const [sel, w] of u.out) mlp.W_out.add([g.name, k], sel, w);
    });
  }
  for (const [sel, v] of bOut) mlp.b_out.matrix.add('bias', sel, v);
  return mlp;
}

/** a ← na, na ← 0 for ±1 codes: relu(na + 1) − relu(a + 1) into a, −relu(na + 1) + 1 into na (2 units a bit). */
export function moveCode(model: Model, state: string, scratch: string): { units: Unit[]; bOut: [Selector, number][] } {
  const size = model.residual.get(state).size;
  const units: Unit[] = [];
  const bOut: [Selector, number][] = [];
  for (let b = 0; b < size; b++) {
    units.push({ label: `${scratch}[${b}]+1`, in: [[[scratch, b], 1]], bias: 1, out: [[[state, b], 1], [[scratch, b], -1]] });
    units.push({ label: `${state}[${b}]+1`, in: [[[state, b], 1]], bias: 1, out: [[[state, b], -1]] });
    bOut.push([[scratch, b], 1]);
  }
  return { units, bOut };
}

/** tb ← ntb, ntb ← 0 for 0/1 one-hots: relu(ntb) − relu(tb) into tb, −relu(ntb) into ntb. */
export function moveOneHot(model: Model, state: string, scratch: string): Unit[] {
  const size = model.residual.get(state).size;
  const units: Unit[] = [];
  for (let c = 0; c < size; c++) {
    units.push({ label: `${scratch}[${c}]`, in: [[[scratch, c], 1]], bias: 0, out: [[[state, c], 1], [[scratch, c], -1]] });
    units.push({ label: `${state}[${c}]`, in: [[[state, c], 1]], bias: 0, out: [[[state, c], -1]] });
  }
  return units;
}

/**
 * state ← scratch only when the flag is 1; scratch ← 0 always. For x = scratch − state with
 * |x| ≤ K: relu(x − K(1 − flag)) − relu(−x − K(1 − flag)) is x when flag = 1 and 0 when flag = 0.
 * The clear is relu(scratch + shift) with shift = 1 for codes (±1) and 0 for one-hots (0/1).
 * Partial sums stay within 2K ≤ 4 < B_3, so F_s with s ≥ 3 computes them exactly. 3 units a direction.
 */
export function gatedMove(model: Model, state: string, scratch: string, flag: string, kind: 'code' | 'onehot'): { units: Unit[]; bOut: [Selector, number][] } {
  const size = model.residual.get(state).size;
  const K = kind === 'code' ? 2 : 1;
  const shift = kind === 'code' ? 1 : 0;
  const units: Unit[] = [];
  const bOut: [Selector, number][] = [];
  for (let d = 0; d < size; d++) {
    const st: Selector = [state, d];
    const sc: Selector = [scratch, d];
    units.push({ label: `+(${scratch}−${state})[${d}]·${flag}`, in: [[st, -1], [sc, 1], [flag, K]], bias: -K, out: [[st, 1]] });
    units.push({ label: `−(${scratch}−${state})[${d}]·${flag}`, in: [[st, 1], [sc, -1], [flag, K]], bias: -K, out: [[st, -1]] });
    units.push({ label: `clear ${scratch}[${d}]`, in: [[sc, 1]], bias: shift, out: [[sc, -1]] });
    if (shift !== 0) bOut.push([sc, shift]);
  }
  return { units, bOut };
}
