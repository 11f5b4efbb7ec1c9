// Obligation 3: at every position, for every configuration of the states the layer's rule
// reads, the layer (the heads' outputs added to the residual, then the MLP and its residual)
// produces exactly the canonical vector of the rule's next state. Given obligation 2, each head
// outputs W_O W_V of the named position's canonical vector, so the post-attention residual is a
// sum of terms, each a function of one position's state:
//     z(σ) = Σ_T f_T(σ_T) + Σ_u relu(pre_u(σ)) W_out[u] + b_out,   pre_u(σ) = b_u + Σ_T ⟨f_T(σ_T), W_in[:, u]⟩.
// The identity z(σ) = target(σ) over the product of the state sets is split by which states each
// part depends on: a term on the coordinates where it varies, a hidden unit on the terms whose
// varying coordinates it reads, the target on the states its rule reads. Parts that share a
// state form a component; the identity holds for every σ exactly when each component's sum is
// constant and the constants add up to zero — so each component is enumerated alone (S5's
// "g ← g_a ∘ g_b" is 120² pairs, not 120³ triples). Units whose pre-activation is bounded above
// by ≤ 0 over the rest of a component are exactly 0 there and are dropped from the enumeration.
import { UnsupportedError } from '../common/errors.ts';
import type { Configuration } from './report.ts';
import type { Context, StateEntry } from './context.ts';

export interface UpdateOutcome {
  count: number;
  failure: { where: string; why: string; configuration: Configuration } | null;
}

/** A term of the post-attention residual: a function of one variable (a position's state). */
interface Term {
  variable: number;
  /** f(state) − f(first state), per state of the variable's domain (dense, level lz). */
  delta: bigint[][];
  /** Units it moves, each with ⟨delta(state), W_in[:, u]⟩ per state (level lz − 1). */
  units: Map<number, bigint[]>;
  varies: boolean;
  /** Equal for terms with equal deltas (the cache key of its unit table). */
  contentKey: string;
}

/** Caches shared by every position of one layer: head outputs per (head, position, state), unit tables per term content. */
export interface UpdateCache {
  headOut: Map<string, bigint[][]>;
  unitTables: Map<string, Map<number, bigint[]>>;
  /** A component's terms-and-units sum per configuration, by its content: positions that read alike share it. */
  sums: Map<string, bigint[][]>;
}

export function newUpdateCache(): UpdateCache {
  return { headOut: new Map(), unitTables: new Map(), sums: new Map() };
}

const relu = (x: bigint) => (x > 0n ? x : 0n);

export function checkUpdate<S>(ctx: Context<S>, layer: number, i: number, cache: UpdateCache): UpdateOutcome {
  const { ex, abs } = ctx;
  const L = ctx.layerAt(layer);
  const after = ctx.after(layer);
  const rule = abs.rule(layer, i);
  const where = `layer ${layer}, position ${i}`;
  if (rule.reads.length !== L.heads.length) {
    throw new UnsupportedError(`the abstraction's rule at ${where} names ${rule.reads.length} positions; the layer has ${L.heads.length} heads`);
  }
  rule.reads.forEach((t, h) => {
    const last = L.heads[h].head.causal ? i : ctx.n - 1;
    if (!Number.isInteger(t) || t < 0 || t > last) {
      throw new UnsupportedError(`the abstraction's rule at ${where} has head '${L.heads[h].head.name}' read position ${t}, outside 0..${last}`);
    }
  });
  // Variables: the distinct positions whose states the layer sees at i.
  const positions = [...new Set([i, ...rule.reads])];
  const varOf = new Map(positions.map((p, v) => [p, v]));
  const domains: readonly StateEntry<S>[][] = positions.map((p) => ctx.table[layer][p] as StateEntry<S>[]);
  const hasHeads = L.heads.length > 0;
  const lt = hasHeads ? 3 : 1; // level of the post-attention terms
  const lz = L.mlp ? lt + 2 : lt; // level of the layer's output

  // Terms: the position's own canonical vector, and each head's output from the position it reads.
  const termValues: { variable: number; values: bigint[][] }[] = [];
  termValues.push({ variable: varOf.get(i)!, values: domains[varOf.get(i)!].map((e) => ex.lift(e.vec, lt).num as bigint[]) });
  L.heads.forEach((h, hi) => {
    const p = rule.reads[hi];
    const key = `${layer}:${hi}:${p}`;
    let values = cache.headOut.get(key);
    if (values === undefined) {
      values = ctx.table[layer][p].map((e) => {
        const v = ex.times(e.vec, h.V, h.head.ov.dim);
        return ex.times(v, h.O, ctx.d).num as bigint[];
      });
      cache.headOut.set(key, values);
    }
    termValues.push({ variable: varOf.get(p)!, values });
  });
  const liftTo = (x: readonly bigint[], from: number, to: number) => ex.lift({ num: x, level: from }, to).num as bigint[];
  const base = new Array<bigint>(ctx.d).fill(0n); // C0: the post-attention residual at the first configuration (level lt)
  const terms: Term[] = termValues.map(({ variable, values }) => {
    values[0].forEach((x, r) => (base[r] += x));
    const delta = values.map((v) => v.map((x, r) => x - values[0][r]));
    const rows = [...new Set(delta.flatMap((dv) => dv.flatMap((x, r) => (x !== 0n ? [r] : []))))].sort((a, b) => a - b);
    let units = new Map<number, bigint[]>();
    const key = `${rows.join(',')}|${delta.map((dv) => rows.map((r) => dv[r]).join(',')).join(';')}`;
    if (L.mlp && rows.length > 0) {
      const hit = cache.unitTables.get(key);
      if (hit) units = hit;
      else {
        for (const r of rows) {
          for (const { col: u, w } of L.mlp.W_in[r]) {
            let tab = units.get(u);
            if (tab === undefined) units.set(u, (tab = new Array<bigint>(delta.length).fill(0n)));
            for (let s = 0; s < delta.length; s++) if (delta[s][r] !== 0n) tab[s] += delta[s][r] * w;
          }
        }
        for (const [u, tab] of units) if (tab.every((x) => x === 0n)) units.delete(u);
        cache.unitTables.set(key, units);
      }
    }
    return { variable, delta: delta.map((dv) => liftTo(dv, lt, lz)), units, varies: rows.length > 0, contentKey: key };
  });

  // The constant K0 (level lz) and, per hidden unit, its pre-activation at the first configuration.
  const K0 = liftTo(base, lt, lz);
  const preBase: bigint[] = [];
  const unitVars: number[][] = [];
  if (L.mlp) {
    const mlp = L.mlp;
    const pre = ex.add(ex.times({ num: base, level: lt }, mlp.W_in, mlp.hidden), mlp.b_in);
    pre.num.forEach((x) => preBase.push(x));
    for (let u = 0; u < mlp.hidden; u++) unitVars.push([]);
    terms.forEach((t) => t.units.forEach((_, u) => unitVars[u].push(t.variable)));
    const bOut = ex.lift(mlp.b_out, lz).num;
    bOut.forEach((x, r) => (K0[r] += x));
    for (let u = 0; u < mlp.hidden; u++) {
      if (unitVars[u].length > 0) continue;
      const a = relu(preBase[u]);
      if (a !== 0n) for (const { col, w } of mlp.W_out[u]) K0[col] += a * w;
    }
  }

  // The target: the canonical vector of the rule's next state, from the states the rule reads.
  const targetVars = [...new Set([...(rule.own ? [varOf.get(i)!] : []), ...rule.reads.map((p) => varOf.get(p)!)])];
  const targetAt = (pick: (variable: number) => number): { vec: bigint[] } | { missing: string } => {
    const own = rule.own ? domains[varOf.get(i)!][pick(varOf.get(i)!)].state : null;
    const read = rule.reads.map((p) => domains[varOf.get(p)!][pick(varOf.get(p)!)].state);
    const next = abs.next(layer, i, own, read);
    const entry = ctx.byKey[after][i].get(abs.key(next));
    if (entry === undefined) return { missing: abs.format(next) };
    return { vec: ex.lift(entry.vec, lz).num as bigint[] };
  };
  const first = targetAt(() => 0);
  const configuration = (pick: (variable: number) => number): Configuration => ({
    layer,
    states: positions.map((p, v) => ({ position: p, state: abs.format(domains[v][pick(v)].state), key: domains[v][pick(v)].key })),
  });
  if ('missing' in first) {
    return { count: 1, failure: { where, why: `the rule's next state ${first.missing} is not among the states declared at boundary ${after}, position ${i}`, configuration: configuration(() => 0) } };
  }
  first.vec.forEach((x, r) => (K0[r] -= x));

  // Components over the variables: terms that vary, unit groups, the target.
  const parent = positions.map((_, v) => v);
  const find = (v: number): number => (parent[v] === v ? v : (parent[v] = find(parent[v])));
  const join = (vs: readonly number[]) => vs.forEach((v) => (parent[find(v)] = find(vs[0])));
  const used = new Set<number>();
  for (const t of terms) if (t.varies) used.add(t.variable);
  for (const vs of unitVars) if (vs.length > 0) (join(vs), vs.forEach((v) => used.add(v)));
  if (targetVars.length > 0) (join(targetVars), targetVars.forEach((v) => used.add(v)));
  const components = new Map<number, number[]>();
  for (const v of used) components.set(find(v), [...(components.get(find(v)) ?? []), v]);

  interface Component {
    vars: number[];
    terms: Term[];
    units: number[];
    target: boolean;
  }
  const comps: Component[] = [...components.values()].map((vars) => {
    const root = find(vars[0]);
    return {
      vars: vars.sort((a, b) => a - b),
      terms: terms.filter((t) => t.varies && find(t.variable) === root),
      units: unitVars.flatMap((vs, u) => (vs.length > 0 && find(vs[0]) === root ? [u] : [])),
      target: targetVars.length > 0 && find(targetVars[0]) === root,
    };
  });

  // Per unit, the terms that move it: (variable, its move per state of the variable).
  const unitTerms: { variable: number; tab: bigint[] }[][] = [];
  if (L.mlp) for (let u = 0; u < L.mlp.hidden; u++) unitTerms.push([]);
  for (const t of terms) t.units.forEach((tab, u) => unitTerms[u].push({ variable: t.variable, tab }));
  const maxOf = (tab: readonly bigint[]) => tab.reduce((a, b) => (b > a ? b : a));

  /** The unit sums at every assignment, in odometer order over c.vars (last variable fastest). */
  const sumsOf = (c: Component): bigint[][] => {
    const key = [
      c.vars.map((v) => domains[v].length).join('x'),
      ...c.terms.map((t) => `${c.vars.indexOf(t.variable)}:${t.contentKey}`),
      ...terms.filter((t) => t.units.size > 0 && c.vars.includes(t.variable)).map((t) => `u${c.vars.indexOf(t.variable)}:${t.contentKey}`),
      c.units.map((u) => `${u}=${preBase[u]}`).join(','),
    ].join('/');
    const hit = cache.sums.get(key);
    if (hit) return hit;
    const depthOf = new Map(c.vars.map((v, k) => [v, k]));
    // For each unit: its moves by depth, and the largest total move of the variables below each depth.
    const moves = c.units.map((u) => {
      const byDepth: bigint[][][] = c.vars.map(() => []);
      for (const { variable, tab } of unitTerms[u]) byDepth[depthOf.get(variable)!].push(tab);
      const below = new Array<bigint>(c.vars.length + 1).fill(0n);
      for (let k = c.vars.length - 1; k >= 0; k--) below[k] = below[k + 1] + byDepth[k].reduce((m, tab) => m + maxOf(tab), 0n);
      return { u, byDepth, below };
    });
    const out: bigint[][] = [];
    const at = new Map<number, number>();
    // Depth-first over the component's variables, carrying each live unit's partial pre-activation;
    // a unit whose partial plus the largest move still to come is ≤ 0 is exactly 0 below and dropped.
    const visit = (depth: number, alive: readonly number[], partial: readonly bigint[]) => {
      if (depth === c.vars.length) {
        const F = new Array<bigint>(ctx.d).fill(0n);
        for (const t of c.terms) t.delta[at.get(t.variable)!].forEach((x, r) => (F[r] += x));
        if (L.mlp) {
          for (let a = 0; a < alive.length; a++) {
            const value = relu(partial[a]);
            if (value !== 0n) for (const { col, w } of L.mlp.W_out[c.units[alive[a]]]) F[col] += value * w;
          }
        }
        out.push(F);
        return;
      }
      const v = c.vars[depth];
      for (let s = 0; s < domains[v].length; s++) {
        at.set(v, s);
        const nextAlive: number[] = [];
        const nextPartial: bigint[] = [];
        for (let a = 0; a < alive.length; a++) {
          const m = moves[alive[a]];
          let pre = partial[a];
          for (const tab of m.byDepth[depth]) pre += tab[s];
          if (pre + m.below[depth + 1] > 0n) {
            nextAlive.push(alive[a]);
            nextPartial.push(pre);
          }
        }
        visit(depth + 1, nextAlive, nextPartial);
      }
      at.delete(v);
    };
    visit(
      0,
      c.units.map((_, a) => a),
      c.units.map((u) => preBase[u]),
    );
    cache.sums.set(key, out);
    return out;
  };

  // Each component's sum at its first assignment; with K0 they must add up to zero.
  const sums = comps.map(sumsOf);
  const total = K0.slice();
  for (const f of sums) f[0].forEach((x, r) => (total[r] += x));
  if (total.some((x) => x !== 0n)) {
    return { count: 1, failure: { where, why: mismatch(ctx, total, lz), configuration: configuration(() => 0) } };
  }
  // Then every assignment of each component must give its first sum: F_c constant.
  let count = 0;
  for (let ci = 0; ci < comps.length; ci++) {
    const c = comps[ci];
    const at = new Map(c.vars.map((v) => [v, 0]));
    for (let leaf = 0; leaf < sums[ci].length; leaf++) {
      if (leaf > 0) {
        // odometer step: the last variable fastest
        for (let k = c.vars.length - 1; k >= 0; k--) {
          const v = c.vars[k];
          const next = at.get(v)! + 1;
          if (next < domains[v].length) {
            at.set(v, next);
            break;
          }
          at.set(v, 0);
        }
      }
      count++;
      const F = sums[ci][leaf].slice();
      if (c.target) {
        const t = targetAt((v) => at.get(v) ?? 0);
        if ('missing' in t) {
          return { count, failure: { where, why: `the rule's next state ${t.missing} is not among the states declared at boundary ${after}, position ${i}`, configuration: configuration((v) => at.get(v) ?? 0) } };
        }
        t.vec.forEach((x, r) => (F[r] -= x - first.vec[r]));
      }
      if (F.some((x, r) => x !== sums[ci][0][r])) {
        return { count, failure: { where, why: mismatch(ctx, F.map((x, r) => x - sums[ci][0][r]), lz), configuration: configuration((v) => at.get(v) ?? 0) } };
      }
    }
  }
  return { count, failure: null };
}

function mismatch<S>(ctx: Context<S>, diff: readonly bigint[], level: number): string {
  const wrong = diff.flatMap((x, r) => (x !== 0n ? [`${ctx.model.residual.labels[r]} off by ${ctx.ex.formatScalar({ num: x, level })}`] : []));
  return `the layer's output is not the canonical vector of the rule's next state: ${wrong.slice(0, 4).join(', ')}${wrong.length > 4 ? `, … (${wrong.length} coordinates)` : ''}`;
}
