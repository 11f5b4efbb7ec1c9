/**
 * Finite groups as Cayley tables: the input alphabet of the group-composition task (Theorem 5.1).
 *
 * Elements are the integers 0..order-1; `mul(a, b)` is a∘b. Every group carries readable element
 * names so that traces, counterexamples and the CLI can show "s r1" or "[1,0,2]" instead of 4.
 *
 * Size limits. Theorem 5.1's MLP has one hidden unit per pair of elements (|G|² units), so a group
 * much larger than a few thousand elements cannot be built as a model at all. Every constructor
 * therefore accepts orders up to MAX_GROUP_ORDER = 4096, and the Cayley table (`table`) is built
 * lazily, only when someone asks for it. User-supplied tables stop at MAX_TABLE_ORDER = 512,
 * because checking associativity visits every triple (512³ ≈ 1.3·10^8 lookups, well under a second).
 */
import { readFileSync } from 'node:fs';
import { tableObject } from './table-file.ts';

export const MAX_GROUP_ORDER = 4096;
export const MAX_CYCLIC_M = MAX_GROUP_ORDER;
/** D_m has order 2m. */
export const MAX_DIHEDRAL_M = MAX_GROUP_ORDER / 2;
/** S_6 has 720 elements; 5 keeps the |G|² MLP of Theorem 5.1 at 14 400 units. */
export const MAX_SYMMETRIC_K = 5;
export const MAX_TABLE_ORDER = 512;

/** Which construction produced a group; parseElement uses it to read element text. */
export type GroupFamily =
  | { readonly kind: 'cyclic'; readonly m: number }
  | { readonly kind: 'dihedral'; readonly m: number }
  | { readonly kind: 'symmetric'; readonly k: number }
  | { readonly kind: 'product'; readonly left: FiniteGroup; readonly right: FiniteGroup }
  | { readonly kind: 'table' };

export interface FiniteGroup {
  readonly name: string;
  readonly order: number;
  readonly identity: number;
  readonly elementNames: readonly string[];
  /** a∘b. Arguments are not range-checked here (hot path); use assertElement at the boundary. */
  readonly mul: (a: number, b: number) => number;
  readonly inverse: (a: number) => number;
  /** table[a][b] = a∘b, built on first access. */
  readonly table: number[][];
  readonly family: GroupFamily;
}

/** A user-supplied Cayley table that is not a group, or a table file that cannot be read. */
export class GroupTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroupTableError';
  }
}

interface GroupSpec {
  name: string;
  order: number;
  identity: number;
  elementNames: string[];
  mul: (a: number, b: number) => number;
  inverse: (a: number) => number;
  family: GroupFamily;
}

/** Wraps a spec so that `table` is computed once, on demand, and the functions are bound. */
function makeGroup(spec: GroupSpec): FiniteGroup {
  let table: number[][] | undefined;
  return {
    name: spec.name,
    order: spec.order,
    identity: spec.identity,
    elementNames: spec.elementNames,
    mul: spec.mul,
    inverse: spec.inverse,
    family: spec.family,
    get table(): number[][] {
      if (table === undefined) {
        table = Array.from({ length: spec.order }, (_, a) =>
          Array.from({ length: spec.order }, (_, b) => spec.mul(a, b)),
        );
      }
      return table;
    },
  };
}

function requireIntegerInRange(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Built-in families
// ---------------------------------------------------------------------------------------------

/** Z_m, 1 ≤ m ≤ 4096: element k is named "k", identity 0, a∘b = (a + b) mod m. */
export function cyclic(m: number): FiniteGroup {
  requireIntegerInRange('cyclic(m): m', m, 1, MAX_CYCLIC_M);
  return makeGroup({
    name: `Z${m}`,
    order: m,
    identity: 0,
    elementNames: Array.from({ length: m }, (_, k) => String(k)),
    mul: (a, b) => (a + b) % m,
    inverse: (a) => (m - a) % m,
    family: { kind: 'cyclic', m },
  });
}

/**
 * D_m, the symmetries of a regular m-gon, order 2m, for 1 ≤ m ≤ 2048 (D_1 ≅ Z_2 and D_2 is the
 * Klein four-group; both are allowed because the formulas below stay valid).
 *
 * Index k (0 ≤ k < m) is the rotation r^k, named "r<k>"; index m + k is the reflection s r^k,
 * named "s r<k>". The identity is "r0" (index 0). The products follow from s² = e and
 * r^a s = s r^(−a), reading s r^k as the map x ↦ s(r^k(x)) on vertices x ∈ Z_m with r(x) = x + 1
 * and s(x) = −x:
 *   r^a ∘ r^b = r^(a+b)        r^a ∘ s r^b = s r^(b−a)
 *   s r^a ∘ r^b = s r^(a+b)    s r^a ∘ s r^b = r^(b−a)
 */
export function dihedral(m: number): FiniteGroup {
  requireIntegerInRange('dihedral(m): m', m, 1, MAX_DIHEDRAL_M);
  const mod = (x: number): number => ((x % m) + m) % m;
  const names: string[] = [];
  for (let k = 0; k < m; k++) names.push(`r${k}`);
  for (let k = 0; k < m; k++) names.push(`s r${k}`);
  return makeGroup({
    name: `D${m}`,
    order: 2 * m,
    identity: 0,
    elementNames: names,
    mul: (x, y) => {
      const xReflects = x >= m;
      const yReflects = y >= m;
      const a = xReflects ? x - m : x;
      const b = yReflects ? y - m : y;
      if (!xReflects && !yReflects) return mod(a + b);
      if (!xReflects && yReflects) return m + mod(b - a);
      if (xReflects && !yReflects) return m + mod(a + b);
      return mod(b - a);
    },
    // Reflections are involutions; a rotation's inverse is the opposite rotation.
    inverse: (x) => (x >= m ? x : mod(-x)),
    family: { kind: 'dihedral', m },
  });
}

/** All permutations of 0..k-1 in lexicographic order of their one-line notation. */
function permutationsLex(k: number): number[][] {
  const out: number[][] = [];
  const current: number[] = [];
  const used = new Array<boolean>(k).fill(false);
  const extend = (): void => {
    if (current.length === k) {
      out.push(current.slice());
      return;
    }
    for (let x = 0; x < k; x++) {
      if (used[x]) continue;
      used[x] = true;
      current.push(x);
      extend();
      current.pop();
      used[x] = false;
    }
  };
  extend();
  return out;
}

/**
 * S_k, 1 ≤ k ≤ 5: permutations of 0..k-1 in one-line notation, named like "[1,0,2]".
 * Elements are numbered in lexicographic order of that notation, so the identity [0,1,…,k-1] is
 * element 0 and for S_3 the order is [0,1,2], [0,2,1], [1,0,2], [1,2,0], [2,0,1], [2,1,0].
 * Composition is that of functions: (a∘b)(x) = a(b(x)).
 */
export function symmetric(k: number): FiniteGroup {
  requireIntegerInRange('symmetric(k): k', k, 1, MAX_SYMMETRIC_K);
  const perms = permutationsLex(k);
  const order = perms.length;
  const index = new Map<string, number>();
  perms.forEach((p, i) => index.set(p.join(','), i));
  const lookup = (p: number[]): number => {
    const i = index.get(p.join(','));
    if (i === undefined) throw new Error(`internal: ${p.join(',')} is not a permutation of 0..${k - 1}`);
    return i;
  };
  const products = new Int32Array(order * order);
  const inverses = new Int32Array(order);
  for (let a = 0; a < order; a++) {
    const pa = perms[a];
    for (let b = 0; b < order; b++) {
      const pb = perms[b];
      products[a * order + b] = lookup(pb.map((x) => pa[x]));
    }
    const inv = new Array<number>(k);
    pa.forEach((image, x) => {
      inv[image] = x;
    });
    inverses[a] = lookup(inv);
  }
  return makeGroup({
    name: `S${k}`,
    order,
    identity: 0,
    elementNames: perms.map((p) => `[${p.join(',')}]`),
    mul: (a, b) => products[a * order + b],
    inverse: (a) => inverses[a],
    family: { kind: 'symmetric', k },
  });
}

/**
 * G × H with componentwise product. The pair (g, h) is element g·|H| + h (lexicographic order)
 * and is named "(g,h)" from the factors' names; the name of the group is "<G>x<H>". Nested
 * products associate to the left: Z2xZ2xZ3 is (Z2 × Z2) × Z3, with names like "((0,1),2)".
 */
export function directProduct(G: FiniteGroup, H: FiniteGroup): FiniteGroup {
  const order = G.order * H.order;
  if (order > MAX_GROUP_ORDER) {
    throw new RangeError(
      `directProduct(${G.name}, ${H.name}): order ${G.order}·${H.order} = ${order} exceeds the maximum ${MAX_GROUP_ORDER}`,
    );
  }
  const h = H.order;
  const names: string[] = [];
  for (let a = 0; a < G.order; a++) {
    for (let b = 0; b < h; b++) names.push(`(${G.elementNames[a]},${H.elementNames[b]})`);
  }
  return makeGroup({
    name: `${G.name}x${H.name}`,
    order,
    identity: G.identity * h + H.identity,
    elementNames: names,
    mul: (x, y) => G.mul(Math.floor(x / h), Math.floor(y / h)) * h + H.mul(x % h, y % h),
    inverse: (x) => G.inverse(Math.floor(x / h)) * h + H.inverse(x % h),
    family: { kind: 'product', left: G, right: H },
  });
}

// ---------------------------------------------------------------------------------------------
// User-supplied tables
// ---------------------------------------------------------------------------------------------

/** The JSON shape of a table file: table[a][b] = a∘b, elements optionally named. */
export interface GroupTableJson {
  name?: string;
  elements?: string[];
  table: number[][];
}

/**
 * Builds a group from a Cayley table, refusing anything that is not a group. The checks run in
 * the order shape → closure → identity → inverses → associativity, each scanning elements (or
 * triples) in increasing order, so the error names the first failure in that order.
 *
 * `json` may be the parsed object or JSON text; `source` (a file name) prefixes every message.
 */
export function fromTable(json: unknown, options: { source?: string } = {}): FiniteGroup {
  const fail = (message: string): never => {
    throw new GroupTableError(options.source === undefined ? message : `${options.source}: ${message}`);
  };
  const record = tableObject(json, fail, 'a group table must be a JSON object { "name"?: string, "elements"?: string[], "table": number[][] }');
  const rawTable = record['table'];
  if (!Array.isArray(rawTable) || rawTable.length === 0) {
    return fail('field "table" must be a non-empty array of rows (table[a][b] = a∘b)');
  }
  const order = rawTable.length;
  if (order > MAX_TABLE_ORDER) {
    fail(`field "table" has ${order} rows; tables are limited to ${MAX_TABLE_ORDER} elements`);
  }

  let name = 'table';
  if (record['name'] !== undefined) {
    if (typeof record['name'] !== 'string' || record['name'].trim() === '') {
      fail('field "name" must be a non-empty string');
    }
    name = (record['name'] as string).trim();
  }

  let names: string[] = Array.from({ length: order }, (_, i) => String(i));
  if (record['elements'] !== undefined) {
    const raw = record['elements'];
    if (!Array.isArray(raw)) return fail('field "elements" must be an array of strings');
    if (raw.length !== order) {
      fail(`field "elements" has ${raw.length} names but the table has ${order} rows`);
    }
    const seen = new Map<string, number>();
    names = raw.map((entry: unknown, i: number) => {
      if (typeof entry !== 'string' || entry.trim() === '') {
        return fail(`field "elements": entry ${i} must be a non-empty string`);
      }
      const trimmed = entry.trim();
      const earlier = seen.get(trimmed);
      if (earlier !== undefined) fail(`field "elements": name "${trimmed}" is used by elements ${earlier} and ${i}`);
      seen.set(trimmed, i);
      return trimmed;
    });
  }
  const label = (i: number): string => names[i];

  // Shape and closure: a square table whose entries are element indices.
  const flat = new Int32Array(order * order);
  rawTable.forEach((row: unknown, a: number) => {
    if (!Array.isArray(row)) return fail(`field "table": row ${a} is not an array`);
    if (row.length !== order) {
      fail(`field "table": row ${a} has ${row.length} entries but the table has ${order} rows (it must be square)`);
    }
    row.forEach((entry: unknown, b: number) => {
      if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 0 || entry >= order) {
        fail(
          `not closed: table[${a}][${b}] = ${JSON.stringify(entry)} is not an element (expected an integer from 0 to ${order - 1})`,
        );
      }
      flat[a * order + b] = entry as number;
    });
  });
  const mul = (a: number, b: number): number => flat[a * order + b];

  // Identity: the first e with e∘x = x∘e = x for all x (there is at most one).
  let identity = -1;
  let firstCandidateFailure = '';
  for (let e = 0; e < order && identity < 0; e++) {
    let ok = true;
    for (let x = 0; x < order && ok; x++) {
      if (mul(e, x) !== x) {
        ok = false;
        if (e === 0) firstCandidateFailure = `${label(0)}∘${label(x)} = ${label(mul(e, x))}`;
      } else if (mul(x, e) !== x) {
        ok = false;
        if (e === 0) firstCandidateFailure = `${label(x)}∘${label(0)} = ${label(mul(x, e))}`;
      }
    }
    if (ok) identity = e;
  }
  if (identity < 0) {
    fail(`no identity element: no e has e∘x = x∘e = x for every x (element ${label(0)} fails: ${firstCandidateFailure})`);
  }

  // Inverses: two-sided, checked before associativity (which would imply two-sidedness).
  const inverses = new Int32Array(order);
  for (let a = 0; a < order; a++) {
    let found = -1;
    for (let b = 0; b < order && found < 0; b++) {
      if (mul(a, b) === identity && mul(b, a) === identity) found = b;
    }
    if (found < 0) {
      fail(`element ${label(a)} has no inverse: no b has ${label(a)}∘b = b∘${label(a)} = ${label(identity)} (the identity)`);
    }
    inverses[a] = found;
  }

  // Associativity: every triple, in lexicographic order.
  for (let a = 0; a < order; a++) {
    for (let b = 0; b < order; b++) {
      const ab = mul(a, b);
      for (let c = 0; c < order; c++) {
        const left = mul(ab, c);
        const right = mul(a, mul(b, c));
        if (left !== right) {
          fail(
            `not associative: (${label(a)}∘${label(b)})∘${label(c)} = ${label(left)} but ${label(a)}∘(${label(b)}∘${label(c)}) = ${label(right)}`,
          );
        }
      }
    }
  }

  return makeGroup({
    name,
    order,
    identity,
    elementNames: names,
    mul,
    inverse: (a) => inverses[a],
    family: { kind: 'table' },
  });
}

// ---------------------------------------------------------------------------------------------
// Names of groups
// ---------------------------------------------------------------------------------------------

const ACCEPTED_GROUP_FORMS =
  `accepted forms: Z<m> (cyclic, 1 ≤ m ≤ ${MAX_CYCLIC_M}), D<m> (dihedral of order 2m, 1 ≤ m ≤ ${MAX_DIHEDRAL_M}), ` +
  `S<k> (symmetric, 1 ≤ k ≤ ${MAX_SYMMETRIC_K}), products of these joined by "x" like Z2xS3 ` +
  `(order ≤ ${MAX_GROUP_ORDER}), and table:<file.json> (a Cayley table, at most ${MAX_TABLE_ORDER} elements)`;

function parseFactor(spec: string, factor: string): FiniteGroup {
  const match = /^([ZDS])_?(\d+)$/.exec(factor);
  const bad = (why: string): never => {
    throw new Error(`unknown group "${spec}": ${why}; ${ACCEPTED_GROUP_FORMS}`);
  };
  if (match === null) return bad(`"${factor}" is not a group name`);
  const size = Number(match[2]);
  switch (match[1]) {
    case 'Z':
      if (size < 1 || size > MAX_CYCLIC_M) bad(`Z${match[2]} is out of range`);
      return cyclic(size);
    case 'D':
      if (size < 1 || size > MAX_DIHEDRAL_M) bad(`D${match[2]} is out of range`);
      return dihedral(size);
    default:
      if (size < 1 || size > MAX_SYMMETRIC_K) bad(`S${match[2]} is out of range`);
      return symmetric(size);
  }
}

/**
 * Reads a group the way the CLI receives it: "Z12", "D4", "S3", "Z2xS3" (left-associated
 * products, an optional "_" after the letter: "Z_12"), or "table:<file.json>" (the whole spec; the
 * file is read with `readFile`, by default from disk as UTF-8).
 */
export function parseGroupName(spec: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): FiniteGroup {
  const trimmed = spec.trim();
  if (trimmed.startsWith('table:')) {
    const path = trimmed.slice('table:'.length).trim();
    if (path === '') throw new Error(`group "${spec}": table: needs a file name, like table:my-group.json`);
    let text: string;
    try {
      text = readFile(path);
    } catch (e) {
      throw new GroupTableError(`cannot read group table file ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return fromTable(text, { source: path });
  }
  if (trimmed === '') throw new Error(`empty group name; ${ACCEPTED_GROUP_FORMS}`);
  const factors = trimmed.split(/\s*[x×]\s*/);
  let group = parseFactor(spec, factors[0]);
  for (const factor of factors.slice(1)) {
    const next = parseFactor(spec, factor);
    if (group.order * next.order > MAX_GROUP_ORDER) {
      throw new Error(`group "${spec}" has order ${group.order * next.order}, above the maximum ${MAX_GROUP_ORDER}; ${ACCEPTED_GROUP_FORMS}`);
    }
    group = directProduct(group, next);
  }
  return group;
}

// ---------------------------------------------------------------------------------------------
// Elements as text
// ---------------------------------------------------------------------------------------------

/** Throws unless `a` is an element index of G; `where` says which input it came from. */
export function assertElement(G: FiniteGroup, a: number, where = 'element'): void {
  if (!Number.isInteger(a) || a < 0 || a >= G.order) {
    throw new RangeError(`${where} = ${a} is not an element of ${G.name} (elements are the integers 0..${G.order - 1})`);
  }
}

/** The element's display name. */
export function formatElement(G: FiniteGroup, a: number): string {
  assertElement(G, a);
  return G.elementNames[a];
}

const nameIndexCache = new WeakMap<FiniteGroup, Map<string, number>>();

function nameIndex(G: FiniteGroup): Map<string, number> {
  let index = nameIndexCache.get(G);
  if (index === undefined) {
    index = new Map(G.elementNames.map((n, i) => [n, i] as [string, number]));
    nameIndexCache.set(G, index);
  }
  return index;
}

/** Splits "(x,y)" at its top-level comma; undefined unless there are exactly two parts. */
function splitPair(text: string): [string, string] | undefined {
  if (!text.startsWith('(') || !text.endsWith(')')) return undefined;
  const inner = text.slice(1, -1);
  let depth = 0;
  let comma = -1;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      if (comma >= 0) return undefined;
      comma = i;
    }
  }
  if (comma < 0) return undefined;
  return [inner.slice(0, comma).trim(), inner.slice(comma + 1).trim()];
}

/**
 * Reads an element the way the CLI receives it. Every group accepts its own element names
 * (surrounding spaces ignored). Besides:
 * - Z_m: a decimal integer 0..m-1;
 * - D_m: "e", "r<k>", "s", "s r<k>", "sr<k>" with 0 ≤ k < m;
 * - S_k: a JSON array in one-line notation, spaces allowed: "[1, 0, 2]";
 * - G×H: "(g,h)" with g, h in the factors' own syntax.
 */
export function parseElement(G: FiniteGroup, text: string): number {
  const trimmed = text.trim();
  const byName = nameIndex(G).get(trimmed);
  if (byName !== undefined) return byName;
  const bad = (expected: string): never => {
    throw new Error(`"${text}" is not an element of ${G.name}: expected ${expected}`);
  };
  const family = G.family;
  switch (family.kind) {
    case 'cyclic': {
      const expected = `an integer from 0 to ${family.m - 1}`;
      if (!/^\+?\d+$/.test(trimmed)) return bad(expected);
      const value = Number(trimmed);
      if (value >= family.m) return bad(expected);
      return value;
    }
    case 'dihedral': {
      const m = family.m;
      const expected = `r<k> (rotation) or s r<k> (reflection) with 0 ≤ k ≤ ${m - 1}, or e, or s`;
      const match = /^(?:(s)\s*\*?\s*)?(?:r\s*(\d+))?$/.exec(trimmed);
      if (trimmed === 'e') return 0;
      if (match === null || trimmed === '') return bad(expected);
      const reflects = match[1] !== undefined;
      const k = match[2] === undefined ? 0 : Number(match[2]);
      if (k >= m) return bad(expected);
      return reflects ? m + k : k;
    }
    case 'symmetric': {
      const k = family.k;
      const expected = `a permutation of 0..${k - 1} in one-line notation, like [${Array.from({ length: k }, (_, i) => (i + 1) % k).join(',')}]`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        return bad(expected);
      }
      if (!Array.isArray(parsed) || parsed.length !== k) return bad(`${expected} (${k} entries)`);
      const seen = new Set<number>();
      for (const x of parsed) {
        if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= k) return bad(`${expected} (entry ${JSON.stringify(x)} is not in 0..${k - 1})`);
        if (seen.has(x)) return bad(`${expected} (${x} appears twice)`);
        seen.add(x);
      }
      const index = nameIndex(G).get(`[${(parsed as number[]).join(',')}]`);
      if (index === undefined) throw new Error(`internal: permutation ${trimmed} missing from ${G.name}`);
      return index;
    }
    case 'product': {
      const pair = splitPair(trimmed);
      const expected = `a pair (g,h) with g in ${family.left.name} and h in ${family.right.name}`;
      if (pair === undefined) return bad(expected);
      let g: number;
      let h: number;
      try {
        g = parseElement(family.left, pair[0]);
        h = parseElement(family.right, pair[1]);
      } catch (e) {
        return bad(`${expected}; ${e instanceof Error ? e.message : String(e)}`);
      }
      return g * family.right.order + h;
    }
    case 'table': {
      const shown = G.elementNames.slice(0, 8).map((n) => JSON.stringify(n)).join(', ');
      return bad(`one of the element names ${shown}${G.order > 8 ? ', …' : ''}`);
    }
  }
}

