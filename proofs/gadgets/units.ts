// What the ReLU gadgets of Lemmas B.6–B.11 share: adding named groups of hidden units to a
// layer's MLP (so several gadgets can sit side by side in one layer, and a later compiler can
// stack them), and checks on the subspaces a writer is given that name the gadget and the field.
//
// A gadget writer never owns a layer: it is handed the layers it writes into, adds its own unit
// groups (named `<gadget name>.<group>`) to each layer's MLP, and writes its weights between the
// caller's named residual subspaces and those units. Two gadgets in one layer are two sets of
// unit groups in one MLP; a gadget of k layers is written into k consecutive layers.
import { ModelError } from '../../common/errors.ts';
import { type Layer, type Mlp, type Model, createMlp } from '../../simulators/model.ts';
import { type Selector, type SubspaceSpec, space } from '../../simulators/space.ts';

/**
 * The MLP of `layer` with the unit groups `groups` appended to its hidden space. A layer without
 * an MLP gets a new one; a layer with one gets a wider copy that keeps every weight already
 * written (earlier groups keep their offsets), and `layer.mlp` is replaced by it. A group name
 * the MLP already has is an error naming it.
 */
export function addUnits(model: Model, layer: Layer, groups: Record<string, number | SubspaceSpec>, role: string): Mlp {
  const old = layer.mlp;
  if (old === null) {
    const mlp = createMlp(model.residual, { name: 'mlp', role, hidden: space(groups) });
    layer.mlp = mlp;
    return mlp;
  }
  for (const name of Object.keys(groups)) {
    if (old.hidden.has(name)) throw new ModelError(`mlp '${old.name}': a unit group "${name}" is already there (two gadgets with one name in one layer?)`);
  }
  const wider = createMlp(model.residual, { name: old.name, role: old.role ? `${old.role}; ${role}` : role, hidden: old.hidden.extend(groups) });
  // Appending keeps the old units' flat indices, so every entry copies to the same (row, col).
  old.W_in.rowsSparse().forEach((row, r) => row.forEach((e) => wider.W_in.setAt(r, e.col, e.exact)));
  old.W_out.rowsSparse().forEach((row, r) => row.forEach((e) => wider.W_out.setAt(r, e.col, e.exact)));
  old.b_in.matrix.rowsSparse()[0].forEach((e) => wider.b_in.setAt(e.col, e.exact));
  old.b_out.matrix.rowsSparse()[0].forEach((e) => wider.b_out.setAt(e.col, e.exact));
  layer.mlp = wider;
  return wider;
}

/** Each direction a selector covers, as a selector of its own subspace (`["x", 2]`), in order. */
export function directions(model: Model, sel: Selector): Selector[] {
  const r = model.residual.range(sel);
  const out: Selector[] = [];
  for (let k = 0; k < r.size; k++) {
    const at = r.offset + k;
    const part = model.residual.parts.find((p) => p.offset <= at && at < p.offset + p.size)!;
    out.push([part.name, at - part.offset]);
  }
  return out;
}

/** The number of residual directions a selector covers. */
export function sizeOf(model: Model, sel: Selector): number {
  return model.residual.range(sel).size;
}

/** Throws a ModelError naming the gadget, the field and the subspace when the size is not `size`. */
export function expectSize(model: Model, where: string, field: string, sel: Selector, size: number): void {
  const r = model.residual.range(sel);
  if (r.size !== size) throw new ModelError(`${where}: ${field} "${r.what}" has ${r.size} directions but should have ${size}`);
}

/** Throws when two of the named fields cover a common residual direction (a gadget's scratch must not alias its inputs). */
export function expectDisjoint(model: Model, where: string, fields: Record<string, Selector | undefined>): void {
  const given = Object.entries(fields).filter((e): e is [string, Selector] => e[1] !== undefined);
  for (let a = 0; a < given.length; a++) {
    for (let b = a + 1; b < given.length; b++) {
      const ra = model.residual.range(given[a][1]);
      const rb = model.residual.range(given[b][1]);
      if (ra.offset < rb.offset + rb.size && rb.offset < ra.offset + ra.size) {
        throw new ModelError(`${where}: ${given[a][0]} "${ra.what}" and ${given[b][0]} "${rb.what}" overlap; they must be separate subspaces`);
      }
    }
  }
}

/** Throws unless exactly `count` layers were given. */
export function expectLayers(where: string, layers: readonly Layer[], count: number): void {
  if (layers.length !== count) throw new ModelError(`${where}: the gadget is ${count} layer${count === 1 ? '' : 's'} deep but ${layers.length} were given`);
}

/** Throws unless s is a whole number of bits in 1..26 (the fixed point F_s the interpreters have). */
export function expectBits(where: string, s: number): void {
  if (!Number.isInteger(s) || s < 1 || s > 26) throw new ModelError(`${where}: s must be a whole number of bits in 1..26, got ${s}`);
}
