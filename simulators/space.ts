// The residual stream (and every other vector space of a model: head spaces, MLP hidden units,
// the vocabulary) is a list of named subspaces. Each direction gets a label such as `pos[3]`, so a
// weight matrix is written between names, never between raw offsets, and the labels travel into
// traces, explanations and exports.

import { chargeMemory } from './budget.ts';

export interface SubspaceSpec {
  size: number;
  /** What the subspace holds, in one line (shown by `looped explain`). */
  describe?: string;
  /** Labels of the individual directions; default `name[i]` (or just `name` when size is 1). */
  labels?: string[];
}

export interface Subspace {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly describe: string;
  readonly labels: readonly string[];
}

/** Addresses one subspace (`"pos"`), or one direction of it (`"pos[3]"` or `["pos", 3]`). */
export type Selector = string | readonly [string, number];

export class Space {
  readonly dim: number;
  readonly parts: readonly Subspace[];
  readonly labels: readonly string[];
  private readonly byName: Map<string, Subspace>;

  constructor(parts: readonly { name: string; spec: SubspaceSpec }[]) {
    const built: Subspace[] = [];
    const byName = new Map<string, Subspace>();
    let offset = 0;
    for (const { name, spec } of parts) {
      if (!/^[A-Za-z_][A-Za-z0-9_.:'-]*$/.test(name)) {
        throw new Error(`subspace name "${name}" must start with a letter and use letters, digits, _ . : ' -`);
      }
      if (byName.has(name)) throw new Error(`subspace "${name}" is declared twice`);
      if (!Number.isInteger(spec.size) || spec.size < 0) {
        throw new Error(`subspace "${name}" has size ${spec.size}; a size is a whole number ≥ 0`);
      }
      // A label is a short string (about 48 bytes on the heap): charged before they are made, so a
      // subspace of 2^40 directions is refused by the memory budget instead of hanging here.
      if (spec.labels === undefined) chargeMemory(48 * spec.size, `subspace "${name}" (${spec.size.toLocaleString('en-US')} directions)`);
      const labels = spec.labels ?? defaultLabels(name, spec.size);
      if (labels.length !== spec.size) {
        throw new Error(`subspace "${name}" has size ${spec.size} but ${labels.length} labels`);
      }
      const sub: Subspace = { name, offset, size: spec.size, describe: spec.describe ?? '', labels };
      built.push(sub);
      byName.set(name, sub);
      offset += spec.size;
    }
    this.dim = offset;
    this.parts = built;
    this.byName = byName;
    this.labels = built.flatMap((p) => p.labels);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): Subspace {
    const sub = this.byName.get(name);
    if (sub === undefined) {
      const known = this.parts.map((p) => p.name).join(', ') || '(none)';
      throw new Error(`no subspace "${name}" (this space has: ${known})`);
    }
    return sub;
  }

  /** The offsets a selector covers: a whole subspace, or the one direction it names. */
  range(selector: Selector): { offset: number; size: number; what: string } {
    const [name, index] = parseSelector(selector);
    const sub = this.get(name);
    if (index === undefined) return { offset: sub.offset, size: sub.size, what: name };
    if (!Number.isInteger(index) || index < 0 || index >= sub.size) {
      throw new Error(`direction ${name}[${index}] is out of range: "${name}" has ${sub.size} directions`);
    }
    return { offset: sub.offset + index, size: 1, what: sub.labels[index] };
  }

  /** Index of one direction. */
  index(name: string, i = 0): number {
    return this.range([name, i]).offset;
  }

  /** A new space with more subspaces after these ones (offsets of the old ones are unchanged). */
  extend(spec: Record<string, number | SubspaceSpec>): Space {
    return new Space([...this.specs(), ...normalise(spec)]);
  }

  specs(): { name: string; spec: SubspaceSpec }[] {
    return this.parts.map((p) => ({
      name: p.name,
      spec: { size: p.size, describe: p.describe || undefined, labels: [...p.labels] },
    }));
  }

  /** Same names, sizes and labels (two spaces built separately can still be equal). */
  equals(other: Space): boolean {
    if (this === other) return true;
    if (this.dim !== other.dim || this.parts.length !== other.parts.length) return false;
    return this.parts.every((p, k) => {
      const q = other.parts[k];
      return p.name === q.name && p.size === q.size && p.labels.every((l, i) => l === q.labels[i]);
    });
  }

  /** "tok(4), pos(6)": a short description used in error messages. */
  summary(): string {
    return this.parts.map((p) => `${p.name}(${p.size})`).join(', ') || '(empty)';
  }
}

function defaultLabels(name: string, size: number): string[] {
  if (size === 1) return [name];
  return Array.from({ length: size }, (_, i) => `${name}[${i}]`);
}

function normalise(spec: Record<string, number | SubspaceSpec>): { name: string; spec: SubspaceSpec }[] {
  return Object.entries(spec).map(([name, s]) => ({ name, spec: typeof s === 'number' ? { size: s } : s }));
}

function parseSelector(selector: Selector): [string, number | undefined] {
  if (typeof selector !== 'string') return [selector[0], selector[1]];
  const m = /^(.*)\[(\d+)\]$/.exec(selector);
  return m ? [m[1], Number(m[2])] : [selector, undefined];
}

/** `space({ tok: 4, pos: 6, scratch: { size: 3, describe: 'temporary copies' } })`. */
export function space(spec: Record<string, number | SubspaceSpec>): Space {
  return new Space(normalise(spec));
}

/** A space whose directions are named one by one (a vocabulary, the groups of MLP units). */
export function labeledSpace(name: string, labels: readonly string[], describe?: string): Space {
  return new Space([{ name, spec: { size: labels.length, labels: [...labels], describe } }]);
}
